/**
 * One broker of the embedded cluster: a loopback TCP listener and, per
 * accepted connection, a loop that reads request frames, dispatches them to
 * the handlers and writes the response frames back. Requests of one
 * connection are served one at a time, in order, as Kafka does (a held Fetch
 * holds the connection's later requests too).
 *
 * @module
 */

import { compile } from "../protocol/codec.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { decodeRequestHeader, responseHeaderFlexible } from "../protocol/frame.ts";
import type { Reader } from "../protocol/reader.ts";
import { inRange, parseVersions } from "../protocol/schema.ts";
import { Writer } from "../protocol/writer.ts";
import { overwriteErrorCodes, sleep } from "./faults.ts";
import type { Handler, RequestContext } from "./api_handler.ts";
import { advertisedVersions, API_VERSIONS_KEY, HANDLERS } from "./handlers.ts";
import type { ClusterState } from "./state.ts";
import { acceptedVersions } from "./versions.ts";

/** Largest request frame accepted (Kafka's socket.request.max.bytes default). */
const MAX_REQUEST_SIZE = 100 * 1024 * 1024;

/** One listening broker. */
export class Broker {
  /** Node id. */
  readonly nodeId: number;
  /** Host clients connect to. */
  readonly host: string;
  /** Port clients connect to. */
  readonly port: number;
  readonly #listener: Deno.TcpListener;
  readonly #state: ClusterState;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #acceptLoop: Promise<void> | undefined;

  private constructor(nodeId: number, listener: Deno.TcpListener, state: ClusterState) {
    this.nodeId = nodeId;
    this.#listener = listener;
    this.#state = state;
    const addr = listener.addr as Deno.NetAddr;
    this.host = addr.hostname;
    this.port = addr.port;
  }

  /** Starts listening on `port` (default: a free loopback port). */
  static listen(nodeId: number, state: ClusterState, hostname = "127.0.0.1", port = 0): Broker {
    const listener = Deno.listen({ hostname, port });
    const broker = new Broker(nodeId, listener, state);
    broker.#acceptLoop = broker.#accept();
    return broker;
  }

  /** `host:port`. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Number of open client connections. */
  get connectionCount(): number {
    return this.#conns.size;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // listener closed
      }
      if (this.#abort.signal.aborted) {
        conn.close();
        return;
      }
      conn.setNoDelay(true);
      this.#conns.add(conn);
      const task = this.#serve(conn).finally(() => {
        this.#conns.delete(conn);
        this.#tasks.delete(task);
      });
      this.#tasks.add(task);
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const sizeBuf = new Uint8Array(4);
    try {
      for (;;) {
        if (!await readFull(conn, sizeBuf)) return;
        const size = new DataView(sizeBuf.buffer).getInt32(0);
        if (size < 8 || size > MAX_REQUEST_SIZE) return;
        const frame = new Uint8Array(size);
        if (!await readFull(conn, frame)) return;
        const response = await this.#handle(frame, (conn.remoteAddr as Deno.NetAddr).hostname);
        if (response === "close") return;
        if (response !== null) await writeAll(conn, response);
      }
    } catch {
      // Connection reset or closed by close(): nothing to answer.
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  /** Answers one request frame: the response frame, null (no response), or "close". */
  async #handle(frame: Uint8Array, clientHost: string): Promise<Uint8Array | null | "close"> {
    const header = decodeRequestHeader(frame);
    const handler: Handler | undefined = HANDLERS.get(header.apiKey);
    if (!handler) return "close"; // as Kafka does for an unknown API
    const { api } = handler;
    // Served and advertised: a version outside what ApiVersions lists is
    // refused even when the cluster could decode it (an older broker).
    const accepted = acceptedVersions(handler.versions, this.#state.advertised.get(api.apiKey));
    if (accepted === null || !inRange(accepted, header.apiVersion)) {
      // As Kafka: a version it does not take closes the connection, except
      // ApiVersions, answered UNSUPPORTED_VERSION in the v0 format with the
      // versions it lists, so that the client retries with one of them.
      if (header.apiKey !== API_VERSIONS_KEY) return "close";
      const listed = advertisedVersions(handler, this.#state);
      return frame0(header.correlationId, false, (w) =>
        compile(api.response, 0).encode(w, {
          errorCode: ErrorCode.UNSUPPORTED_VERSION,
          apiKeys: [{
            apiKey: API_VERSIONS_KEY,
            minVersion: listed.min,
            maxVersion: listed.max,
          }],
        }));
    }
    const reader: Reader = header.reader;
    if (inRange(parseVersions(api.request.flexibleVersions), header.apiVersion)) {
      // Request header v2: skip its tagged fields.
      const n = reader.uvarint();
      for (let i = 0; i < n; i++) {
        reader.uvarint();
        reader.skip(reader.uvarint());
      }
    }
    const body = compile(api.request, header.apiVersion).decode(reader);
    // Fault injection: the first matching interception rule, then latency.
    const observed = {
      atMs: performance.now(),
      broker: this.nodeId,
      apiKey: header.apiKey,
      version: header.apiVersion,
      clientId: header.clientId,
      body,
    };
    const rule = this.#state.faults.match(header.apiKey, this.nodeId, observed);
    const action = rule?.action;
    if (action && "drop" in action) return "close";
    if (rule && action && "hang" in action) {
      await waitAbort(AbortSignal.any([rule.removedSignal, this.#abort.signal]));
      if (this.#abort.signal.aborted) return "close";
    }
    const injectError = action && "errorCode" in action ? action.errorCode : undefined;
    if (injectError !== undefined && typeof body.maxWaitMs === "number") body.maxWaitMs = 0;
    const ctx: RequestContext = {
      state: this.#state,
      nodeId: this.nodeId,
      version: header.apiVersion,
      clientId: header.clientId,
      clientHost: `/${clientHost}`,
      signal: this.#abort.signal,
    };
    let result = await handler.handle(body, ctx);
    if (result !== null && injectError !== undefined) {
      result = overwriteErrorCodes(result, injectError);
    }
    if (result !== null && action && "rewrite" in action) {
      action.rewrite(result as Record<string, unknown>, body);
    }
    if (action && "delayMs" in action) await sleep(action.delayMs, this.#abort.signal);
    await sleep(this.#state.faults.latencyMs, this.#abort.signal);
    if (this.#abort.signal.aborted) return "close";
    if (result === null) return null;
    const out = frame0(
      header.correlationId,
      responseHeaderFlexible(api, header.apiVersion),
      (w) => compile(api.response, header.apiVersion).encode(w, result),
    );
    if (action && "mutate" in action) {
      const mutated = action.mutate(out, observed);
      return mutated.length === 0 ? null : mutated;
    }
    return out;
  }

  /** Stops listening, closes every connection and waits for their loops to end. */
  async close(): Promise<void> {
    this.#abort.abort();
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await this.#acceptLoop;
    await Promise.allSettled([...this.#tasks]);
  }
}

function waitAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

function frame0(
  correlationId: number,
  flexibleHeader: boolean,
  body: (w: Writer) => void,
): Uint8Array {
  const w = new Writer(256);
  w.int32(0);
  w.int32(correlationId);
  if (flexibleHeader) w.uvarint(0);
  body(w);
  w.patchInt32(0, w.pos - 4);
  return w.bytes();
}

/** Fills `buf`; false on a clean end of stream before the first byte. */
async function readFull(conn: Deno.Conn, buf: Uint8Array): Promise<boolean> {
  let off = 0;
  while (off < buf.length) {
    const n = await conn.read(buf.subarray(off));
    if (n === null) {
      if (off === 0) return false;
      throw new Error("connection closed mid-frame");
    }
    off += n;
  }
  return true;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}
