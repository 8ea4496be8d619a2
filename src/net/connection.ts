/**
 * One TCP connection to one broker: length-prefixed framing, correlation ids,
 * several requests in flight, per-request timeouts, and ApiVersions
 * negotiation on connect; optionally TLS (`tls`) and SASL authentication
 * right after ApiVersions (`sasl`), repeated before the session lifetime the
 * broker announced ends (KIP-368).
 *
 * A broker answers the requests of one connection one at a time, in order, so
 * pipelining only hides latency; callers open separate connections for traffic
 * that must not queue behind a long-polling Fetch (heartbeats, group calls).
 *
 * @module
 */

import { ApiVersionsApi } from "../protocol/messages/api_versions.ts";
import { CorruptDataError, KafkaError } from "../protocol/errors.ts";
import { decodeResponse, encodeRequest, peekCorrelationId } from "../protocol/frame.ts";
import type { ApiSchema } from "../protocol/schema.ts";
import { ourVersions } from "../protocol/version_caps.ts";
import { ErrorCode, errorName } from "../protocol/error_codes.ts";
import {
  ConnectionError,
  RebootstrapRequiredError,
  RequestTimeoutError,
  TlsError,
  UnsupportedVersionError,
} from "./errors.ts";
import { apiRecorder } from "./api_record.ts";
import { authenticate, type SaslConfig } from "./sasl/authenticate.ts";
import { connectTls, isTlsFailure, type TlsConfig } from "./tls.ts";

/** Options of {@linkcode Connection.connect}. */
export interface ConnectionOptions {
  /** Broker host name or address. */
  host: string;
  /** Broker port. */
  port: number;
  /** Sent in every request header. @default "sluice" */
  clientId?: string;
  /** Time allowed for the TCP connect and ApiVersions exchange. @default 10000 */
  connectTimeoutMs?: number;
  /** Default time allowed for a response. @default 30000 */
  requestTimeoutMs?: number;
  /** Largest response frame accepted; larger ones are corrupt. @default 256 MiB */
  maxFrameBytes?: number;
  /** Skip the ApiVersions exchange (tests of raw framing). @default false */
  skipApiVersions?: boolean;
  /** Connect with TLS (verifying the broker's certificate for `host`). */
  tls?: TlsConfig;
  /** Authenticate with SASL after ApiVersions. */
  sasl?: SaslConfig;
  /**
   * The broker we mean to reach, from metadata: sent in ApiVersions v5+
   * (KIP-1242), whose broker answers REBOOTSTRAP_REQUIRED when it is another
   * node or belongs to another cluster (an address reused after a cluster
   * was replaced). Left out for bootstrap addresses, which may be any node.
   */
  expect?: { clusterId: string | null; nodeId: number };
}

/** Options of one request. */
export interface RequestOptions {
  /** Version to use; by default the highest both sides support. */
  version?: number;
  /** Time allowed for this response; defaults to the connection's. */
  timeoutMs?: number;
  /** Part of a (re-)authentication: written ahead of requests held back meanwhile. */
  auth?: boolean;
  /** Expected encoded size in bytes (a Produce request's record bytes), to allocate once. */
  sizeHint?: number;
}

interface Pending {
  api: ApiSchema;
  version: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const READ_CHUNK = 64 * 1024;

/** A connection to one broker. Create with {@linkcode Connection.connect}. */
export class Connection {
  /** `host:port` of the broker. */
  readonly broker: string;
  readonly #conn: Deno.Conn;
  readonly #clientId: string;
  readonly #tls: boolean;
  readonly #sasl: SaslConfig | undefined;
  #authWriting: Promise<void> = Promise.resolve();
  #reauthAt = 0;
  #reauthTimer: ReturnType<typeof setTimeout> | undefined;
  #reauthing = false;
  #authentications = 0;
  readonly #requestTimeoutMs: number;
  readonly #maxFrameBytes: number;
  readonly #pending = new Map<number, Pending>();
  #nextCorrelationId = 1;
  #writing: Promise<void> = Promise.resolve();
  #closed: Error | null = null;
  #versions = new Map<number, { min: number; max: number }>();
  /** Test instrumentation (SLUICE_API_RECORD_DIR); null when off. */
  readonly #recorder = apiRecorder();
  /** Resolves when the read loop has ended (closed or failed). */
  readonly done: Promise<void>;

  private constructor(conn: Deno.Conn, broker: string, opts: ConnectionOptions) {
    this.#conn = conn;
    this.broker = broker;
    this.#tls = opts.tls !== undefined;
    this.#sasl = opts.sasl;
    this.#clientId = opts.clientId ?? "sluice";
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#maxFrameBytes = opts.maxFrameBytes ?? 256 * 1024 * 1024;
    this.done = this.#readLoop();
  }

  /** Opens a connection, negotiates API versions and authenticates (when configured). */
  static async connect(opts: ConnectionOptions): Promise<Connection> {
    const broker = `${opts.host}:${opts.port}`;
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ConnectionError(broker, `no connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    const connecting: Promise<Deno.Conn> = opts.tls
      ? connectTls(opts.host, opts.port, opts.tls)
      : Deno.connect({ hostname: opts.host, port: opts.port });
    let conn: Deno.Conn;
    try {
      conn = await Promise.race([connecting, timeout]);
    } catch (e) {
      clearTimeout(timer);
      // A connect that completes after the timeout must not leak a socket.
      connecting.then((c) => c.close(), () => {});
      if (e instanceof KafkaError) throw e;
      throw new ConnectionError(broker, describeSocketError(e), { cause: e });
    }
    clearTimeout(timer);
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    const c = new Connection(conn, broker, opts);
    if (!opts.skipApiVersions) {
      try {
        await c.#negotiate(timeoutMs, opts.expect);
        if (opts.sasl) await c.#authenticate(timeoutMs);
      } catch (e) {
        c.#fail(e instanceof Error ? e : new Error(String(e)));
        throw e;
      }
    }
    return c;
  }

  /**
   * Successful SASL authentications on this connection: 1 after connecting
   * with `sasl`, one more per re-authentication (KIP-368); 0 without SASL.
   */
  get authentications(): number {
    return this.#authentications;
  }

  /** True once closed, by us or by the broker. */
  get closed(): boolean {
    return this.#closed !== null;
  }

  /** The broker's supported version range of an API key, if it has one. */
  brokerVersions(apiKey: number): { min: number; max: number } | undefined {
    return this.#versions.get(apiKey);
  }

  /** The highest version of `api` both this client and the broker speak. */
  version(api: ApiSchema): number {
    const ours = ourVersions(api);
    const theirs = this.#versions.get(api.apiKey);
    const max = Math.min(ours.max, theirs?.max ?? -1);
    if (!theirs || max < Math.max(ours.min, theirs.min)) {
      throw new UnsupportedVersionError(
        this.broker,
        api.name,
        `${ours.min}-${ours.max}`,
        theirs ? `${theirs.min}-${theirs.max}` : "none",
      );
    }
    return max;
  }

  /** Sends a request and resolves with the decoded response body. */
  send<Req, Res>(api: ApiSchema<Req, Res>, body: Req, opts: RequestOptions = {}): Promise<Res> {
    if (this.#closed) return Promise.reject(this.#closed);
    // Between requests, as Java's client: a due re-authentication goes first.
    if (!opts.auth && this.#reauthAt !== 0 && Date.now() >= this.#reauthAt) this.#reauthenticate();
    let version: number;
    let frame: Uint8Array;
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = (this.#nextCorrelationId + 1) | 0;
    try {
      version = opts.version ?? this.version(api);
      frame = encodeRequest(
        api,
        version,
        correlationId,
        this.#clientId,
        body as object,
        opts.sizeHint,
      );
    } catch (e) {
      return Promise.reject(e);
    }
    const timeoutMs = opts.timeoutMs ?? this.#requestTimeoutMs;
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.#pending.delete(correlationId)) return;
        this.#recorder?.failure(this.broker, api, version, "timeout");
        reject(new RequestTimeoutError(this.broker, api.name, timeoutMs));
        // The response may still come; the stream position is unknown to
        // nobody, but Kafka's Java client closes here too, and so do we: a
        // late response would otherwise hold its buffer forever.
        this.#fail(
          new ConnectionError(this.broker, `closed after a ${api.name} request timed out`),
        );
      }, timeoutMs);
      this.#pending.set(correlationId, {
        api,
        version,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer,
      });
      const write = (chain: Promise<void>) =>
        chain.then(() => this.#writeAll(frame)).catch((e) => this.#fail(this.#socketError(e)));
      if (opts.auth && this.#reauthing) this.#authWriting = write(this.#authWriting);
      else this.#writing = write(this.#writing);
    });
  }

  /**
   * Sends a request the broker does not answer (Produce with acks 0);
   * resolves once written.
   */
  async sendWithoutResponse<Req>(
    api: ApiSchema<Req, unknown>,
    body: Req,
    opts: { sizeHint?: number } = {},
  ): Promise<void> {
    if (this.#closed) throw this.#closed;
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = (this.#nextCorrelationId + 1) | 0;
    const frame = encodeRequest(
      api,
      this.version(api),
      correlationId,
      this.#clientId,
      body as object,
      opts.sizeHint,
    );
    const written = this.#writing.then(() => this.#writeAll(frame));
    this.#writing = written.catch((e) => this.#fail(this.#socketError(e)));
    await written.catch((e) => {
      throw this.#socketError(e);
    });
  }

  /** Closes the socket; pending requests fail with a ConnectionError. */
  close(): void {
    this.#fail(new ConnectionError(this.broker, "connection closed by the client"), true);
  }

  async #writeAll(frame: Uint8Array): Promise<void> {
    let off = 0;
    while (off < frame.length) {
      if (this.#closed) throw this.#closed;
      off += await this.#conn.write(frame.subarray(off));
    }
  }

  async #authenticate(timeoutMs: number): Promise<void> {
    const transport = {
      broker: this.broker,
      brokerVersions: (apiKey: number) => this.brokerVersions(apiKey),
      send: <Req, Res>(api: ApiSchema<Req, Res>, body: Req, opts: RequestOptions = {}) =>
        this.send(api, body, { ...opts, auth: true }),
    };
    const { sessionLifetimeMs } = await authenticate(transport, this.#sasl!, timeoutMs);
    this.#authentications++;
    clearTimeout(this.#reauthTimer);
    this.#reauthAt = 0;
    if (sessionLifetimeMs > 0 && !this.#closed) {
      // KIP-368: the broker closes the connection once the session ends;
      // re-authenticate at 85-95% of it (Java's window), on a timer so that
      // an idle connection stays usable, and checked before each request in
      // case the event loop was busy when the timer was due.
      const after = Math.floor(sessionLifetimeMs * (0.85 + 0.1 * Math.random()));
      this.#reauthAt = Date.now() + after;
      this.#reauthTimer = setTimeout(() => this.#reauthenticate(), after);
    }
  }

  /**
   * Re-authenticates in place (KIP-368): requests already written complete
   * as usual (the broker answers in order), new ones wait until it is done.
   * A failure fails the connection with that error.
   */
  #reauthenticate(): void {
    if (this.#reauthing || this.#closed) return;
    this.#reauthing = true;
    this.#reauthAt = 0;
    clearTimeout(this.#reauthTimer);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    // Authentication requests follow what was already queued; the rest wait.
    this.#authWriting = this.#writing;
    this.#writing = this.#writing.then(() => gate);
    this.#authenticate(this.#requestTimeoutMs).catch((e) => {
      this.#fail(e instanceof Error ? e : new Error(String(e)));
    }).finally(() => {
      this.#reauthing = false;
      release();
    });
  }

  #socketError(e: unknown): Error {
    if (e instanceof KafkaError) return e;
    if (this.#tls && isTlsFailure(e)) {
      return new TlsError(this.broker, e instanceof Error ? e.message : String(e), { cause: e });
    }
    return new ConnectionError(this.broker, describeSocketError(e), { cause: e });
  }

  async #negotiate(
    timeoutMs: number,
    expect: ConnectionOptions["expect"],
  ): Promise<void> {
    const body = {
      clientSoftwareName: "sluice",
      clientSoftwareVersion: "0.1.0",
      clusterId: expect?.clusterId ?? null,
      nodeId: expect?.nodeId ?? -1,
    };
    // Our newest version first. A broker that does not speak it answers
    // UNSUPPORTED_VERSION in the v0 layout with its own range of ApiVersions
    // (KIP-511), and we ask again at the highest version both speak.
    const ours = ourVersions(ApiVersionsApi);
    let res = await this.send(ApiVersionsApi, body, { version: ours.max, timeoutMs });
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION && res.apiKeys.length > 0) {
      const theirs = res.apiKeys.find((k) => k.apiKey === ApiVersionsApi.apiKey);
      const v = Math.min(ours.max, theirs?.maxVersion ?? 0);
      res = await this.send(ApiVersionsApi, body, { version: v, timeoutMs });
    }
    if (res.errorCode === ErrorCode.REBOOTSTRAP_REQUIRED) {
      throw new RebootstrapRequiredError(
        this.broker,
        `it is not node ${expect?.nodeId} of cluster ${expect?.clusterId} any more`,
      );
    }
    if (res.errorCode !== 0) {
      throw new ConnectionError(
        this.broker,
        `ApiVersions failed with ${errorName(res.errorCode)} (${res.errorCode})`,
      );
    }
    for (const k of res.apiKeys) {
      this.#versions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
    }
    this.#recorder?.versions(
      this.broker,
      res.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion] as const),
    );
  }

  #fail(err: Error, byClient = false): void {
    if (this.#closed) return;
    this.#closed = err;
    clearTimeout(this.#reauthTimer);
    this.#reauthAt = 0;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      // Unanswered because the connection broke (a broker that cannot parse
      // a request closes it); not when we closed it ourselves.
      if (!byClient) this.#recorder?.failure(this.broker, p.api, p.version, "connection lost");
      p.reject(err);
    }
    this.#pending.clear();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  #dispatch(frame: Uint8Array): void {
    const id = peekCorrelationId(frame);
    const p = this.#pending.get(id);
    if (!p) {
      throw new CorruptDataError(
        `Broker ${this.broker} sent a response with unknown correlation id ${id}`,
      );
    }
    this.#pending.delete(id);
    clearTimeout(p.timer);
    let body: unknown;
    try {
      body = decodeResponse(p.api, p.version, frame);
    } catch (e) {
      this.#recorder?.failure(this.broker, p.api, p.version, "undecodable");
      p.reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    this.#recorder?.response(this.broker, p.api, p.version, body);
    p.resolve(body);
  }

  #frameSize(buf: Uint8Array, at: number): number {
    const size = ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) | 0;
    if (
      (size < 4 || size > this.#maxFrameBytes) && !this.#tls && buf[at] === 0x15 &&
      buf[at + 1] === 3
    ) {
      // A TLS alert record (content type 21, version 3.x): the broker speaks TLS.
      throw new ConnectionError(
        this.broker,
        "the broker answered with TLS (an alert record): this is a TLS listener, set the tls option",
      );
    }
    if (size < 4 || size > this.#maxFrameBytes) {
      throw new CorruptDataError(
        `Broker ${this.broker} sent a frame of ${size} bytes (allowed: 4 to ${this.#maxFrameBytes})`,
      );
    }
    return size;
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(READ_CHUNK);
    let start = 0;
    let end = 0;
    try {
      while (true) {
        // Whole frames already in the chunk buffer.
        while (end - start >= 4) {
          const size = this.#frameSize(buf, start);
          if (end - start - 4 < size) break;
          this.#dispatch(buf.slice(start + 4, start + 4 + size));
          start += 4 + size;
        }
        if (end - start >= 4) {
          // A frame larger than what is buffered: read the rest straight into
          // one buffer of its exact size (one buffer per response, no copies).
          const size = this.#frameSize(buf, start);
          const frame = new Uint8Array(size);
          let filled = end - start - 4;
          frame.set(buf.subarray(start + 4, end));
          start = end = 0;
          while (filled < size) {
            const n = await this.#conn.read(frame.subarray(filled));
            if (n === null) {
              throw new ConnectionError(this.broker, "broker closed the connection mid-response");
            }
            filled += n;
          }
          this.#dispatch(frame);
          continue;
        }
        if (start > 0) {
          buf.copyWithin(0, start, end);
          end -= start;
          start = 0;
        }
        const n = await this.#conn.read(buf.subarray(end));
        if (n === null) {
          const why = this.#pending.size > 0 || end > 0
            ? "broker closed the connection with requests in flight"
            : "broker closed the connection";
          throw new ConnectionError(this.broker, why);
        }
        end += n;
      }
    } catch (e) {
      if (this.#closed) return;
      this.#fail(this.#socketError(e));
    }
  }
}

function describeSocketError(e: unknown): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (e instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (e instanceof Deno.errors.TimedOut) return "timed out";
  if (e instanceof Deno.errors.NotFound) return "host not found";
  if (e instanceof Deno.errors.BadResource) return "connection closed";
  return e instanceof Error ? e.message : String(e);
}
