/**
 * A recording TCP proxy for Kafka connections, and the raw framing it needs.
 *
 * The proxy listens on loopback and forwards every connection to one broker,
 * recording each frame (the bytes after the int32 size prefix) in both
 * directions. A client learns broker addresses from Metadata and
 * FindCoordinator responses and would then connect to the broker directly,
 * around the proxy; so the proxy rewrites those two responses (decoded and
 * re-encoded with our codec) to name itself instead of the broker. The
 * recorded response frames are the broker's original bytes.
 *
 * Used by `scripts/capture_golden.ts` to record the requests Kafka's own Java
 * client writes.
 *
 * @module
 */

import { compile } from "../src/protocol/codec.ts";
import { responseHeaderFlexible } from "../src/protocol/frame.ts";
import { API_BY_KEY } from "../src/protocol/apis.ts";
import { Reader } from "../src/protocol/reader.ts";
import { Writer } from "../src/protocol/writer.ts";

/** Reads size-prefixed Kafka frames from a byte stream. */
export class FrameReader {
  #conn: Deno.Conn;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;

  /** Reads frames from `conn`. */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next frame without its size prefix, or null at a clean end of stream. */
  async next(): Promise<Uint8Array | null> {
    if (!(await this.#fill(4))) return null;
    const b = this.#buf;
    const s = this.#start;
    const size = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) | 0;
    if (size < 0 || size > 256 * 1024 * 1024) throw new Error(`Bad frame size ${size}`);
    if (!(await this.#fill(4 + size))) throw new Error("Stream ended inside a frame");
    const frame = this.#buf.slice(this.#start + 4, this.#start + 4 + size);
    this.#start += 4 + size;
    return frame;
  }

  async #fill(n: number): Promise<boolean> {
    while (this.#end - this.#start < n) {
      if (this.#buf.length - this.#start < n) {
        const grown = new Uint8Array(Math.max(this.#buf.length * 2, n));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#end -= this.#start;
        this.#start = 0;
        this.#buf = grown;
      } else if (this.#buf.length - this.#end < n - (this.#end - this.#start)) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      let got: number | null;
      try {
        got = await this.#conn.read(this.#buf.subarray(this.#end));
      } catch (e) {
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.ConnectionReset) {
          got = null;
        } else throw e;
      }
      if (got === null) {
        if (this.#end === this.#start) return false;
        throw new Error("Stream ended inside a frame");
      }
      this.#end += got;
    }
    return true;
  }
}

/** Writes `frame` with its int32 size prefix. */
export async function writeFrame(conn: Deno.Conn, frame: Uint8Array): Promise<void> {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setInt32(0, frame.length);
  out.set(frame, 4);
  let off = 0;
  while (off < out.length) off += await conn.write(out.subarray(off));
}

/** One frame the proxy forwarded. */
export interface RecordedFrame {
  /** Which proxied connection (1, 2, … in accept order). */
  connection: number;
  /** "request": client to broker; "response": broker to client. */
  direction: "request" | "response";
  /** API key of the request (for a response: of the request it answers). */
  apiKey: number;
  /** API version of the request. */
  apiVersion: number;
  /** Correlation id. */
  correlationId: number;
  /** Client id from the request header. */
  clientId: string | null;
  /** The frame as the sender wrote it, size prefix excluded. */
  bytes: Uint8Array;
}

/** Options of {@linkcode startRecordingProxy}. */
export interface ProxyOptions {
  /** The broker to forward to. */
  upstream: { hostname: string; port: number };
  /**
   * Rewrite broker addresses in Metadata and FindCoordinator responses to the
   * proxy's own, so the client keeps talking through the proxy.
   * @default {true}
   */
  rewriteAddresses?: boolean;
  /**
   * Called for each response before it is forwarded; true closes both
   * connections instead (the broker did the work, the client never hears):
   * for tests of retries after a lost answer.
   */
  cutResponse?: (response: { apiKey: number; apiVersion: number }) => boolean;
}

/** A running recording proxy. */
export interface RecordingProxy {
  /** The loopback port the proxy listens on. */
  readonly port: number;
  /** Every frame forwarded so far, in the order they were read. */
  readonly frames: RecordedFrame[];
  /** Stops listening and closes every proxied connection. */
  close(): Promise<void>;
}

const METADATA_KEY = 3;
const FIND_COORDINATOR_KEY = 10;

/** Starts a proxy on 127.0.0.1 (a free port) that records every frame. */
export function startRecordingProxy(options: ProxyOptions): RecordingProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const frames: RecordedFrame[] = [];
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const rewrite = options.rewriteAddresses ?? true;
  let count = 0;

  const close = (c: Deno.Conn) => {
    if (conns.delete(c)) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
  };

  const serve = async (client: Deno.Conn, id: number) => {
    let broker: Deno.Conn;
    try {
      broker = await Deno.connect(options.upstream);
    } catch {
      close(client);
      return;
    }
    conns.add(broker);
    const pending = new Map<
      number,
      { apiKey: number; apiVersion: number; clientId: string | null }
    >();
    const upstream = (async () => {
      const frames_ = new FrameReader(client);
      for (;;) {
        const frame = await frames_.next();
        if (frame === null) break;
        const h = requestHeader(frame);
        pending.set(h.correlationId, h);
        frames.push({ connection: id, direction: "request", ...h, bytes: frame });
        await writeFrame(broker, frame);
      }
    })();
    const downstream = (async () => {
      const frames_ = new FrameReader(broker);
      for (;;) {
        const frame = await frames_.next();
        if (frame === null) break;
        const correlationId = new DataView(frame.buffer, frame.byteOffset).getInt32(0);
        const req = pending.get(correlationId);
        pending.delete(correlationId);
        let out = frame;
        if (req) {
          frames.push({
            connection: id,
            direction: "response",
            correlationId,
            ...req,
            bytes: frame,
          });
          if (rewrite) out = rewriteAddresses(req.apiKey, req.apiVersion, frame, port);
          if (options.cutResponse?.(req)) break;
        }
        await writeFrame(client, out);
      }
    })();
    // Whichever side ends first ends the other too.
    await Promise.race([upstream, downstream]).catch(() => {});
    close(client);
    close(broker);
    await Promise.allSettled([upstream, downstream]);
  };

  const accepting = (async () => {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await listener.accept();
      } catch {
        return;
      }
      conns.add(client);
      const task = serve(client, ++count);
      tasks.add(task);
      task.finally(() => tasks.delete(task));
    }
  })();

  return {
    port,
    frames,
    async close() {
      listener.close();
      await accepting;
      for (const c of [...conns]) close(c);
      await Promise.allSettled([...tasks]);
    },
  };
}

function requestHeader(
  frame: Uint8Array,
): { apiKey: number; apiVersion: number; correlationId: number; clientId: string | null } {
  const r = new Reader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const n = r.int16();
  const clientId = n < 0 ? null : r.utf8(n);
  return { apiKey, apiVersion, correlationId, clientId };
}

interface Addressed {
  host: string;
  port: number;
}

/**
 * Points every broker address of a Metadata or FindCoordinator response at the
 * proxy (127.0.0.1:`port`). Other responses are returned as they are.
 */
export function rewriteAddresses(
  apiKey: number,
  apiVersion: number,
  frame: Uint8Array,
  port: number,
): Uint8Array {
  if (apiKey !== METADATA_KEY && apiKey !== FIND_COORDINATOR_KEY) return frame;
  const api = API_BY_KEY.get(apiKey)!;
  const compiled = compile(api.response, apiVersion);
  const r = new Reader(frame);
  const correlationId = r.int32();
  const flexibleHeader = responseHeaderFlexible(api, apiVersion);
  if (flexibleHeader) {
    const n = r.uvarint();
    for (let i = 0; i < n; i++) {
      r.uvarint();
      r.skip(r.uvarint());
    }
  }
  const body = compiled.decode(r);
  const point = (a: Addressed) => {
    a.host = "127.0.0.1";
    a.port = port;
  };
  if (apiKey === METADATA_KEY) {
    for (const b of body.brokers as Addressed[]) point(b);
  } else {
    if (typeof body.host === "string" && body.host !== "") point(body as unknown as Addressed);
    for (const c of body.coordinators as (Addressed & { nodeId: number })[]) {
      if (c.nodeId >= 0) point(c);
    }
  }
  const w = new Writer(frame.length + 64);
  w.int32(correlationId);
  if (flexibleHeader) w.uvarint(0);
  compiled.encode(w, body);
  return w.bytes().slice();
}
