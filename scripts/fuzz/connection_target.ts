/**
 * In-process fuzz target "connection": our {@linkcode Connection} against a
 * loopback fake broker that answers each request with damaged bytes built
 * from the captured response to that request: mutated frames, wrong
 * correlation ids, impossible or lying size prefixes, frames cut short
 * (then EOF or silence), frames split into many small writes, frames larger
 * than the read buffer, duplicated answers, a damaged ApiVersions answer at
 * connect.
 *
 * A case passes when the request resolves or rejects with one of our typed
 * errors within a bounded time, and the connection's read loop ends after
 * `close()`. Cases are told apart on the broker side by the client id.
 *
 * @module
 */

import { Connection } from "../../src/net/connection.ts";
import { KafkaError } from "../../src/protocol/errors.ts";
import { decodeRequestHeader } from "../../src/protocol/frame.ts";
import { FrameReader } from "../../tests/_proxy.ts";
import { type CaseReport, describe, FuzzFailure } from "./decoder_targets.ts";
import { concat, mutateBytes } from "./mutators.ts";
import type { Rng } from "../../src/util/random.ts";
import type { GoldenPair } from "./seeds.ts";

/** What the fake broker writes for one request: byte runs, each after a pause. */
interface Reply {
  /** Chunks written in order. */
  chunks: Uint8Array[];
  /** Pause before each chunk, ms. */
  pauseMs: number;
  /** After the chunks: close the connection, or keep it open and silent. */
  then: "close" | "silent" | "serve";
}

/** How one case answers: a function of the request's correlation id. */
type Plan = (correlationId: number) => Reply;

const REQUEST_TIMEOUT_MS = 150;
const MAX_FRAME_BYTES = 1 << 20;
// A case that has not settled by then hangs: the client's own timeouts
// (request, connect) are far shorter.
const CASE_DEADLINE_MS = 5000;

function sized(body: Uint8Array, size = body.length): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setInt32(0, size);
  out.set(body, 4);
  return out;
}

function withCorrelationId(frame: Uint8Array, id: number): Uint8Array {
  const out = frame.slice();
  if (out.length >= 4) new DataView(out.buffer).setInt32(0, id);
  return out;
}

function splitInto(rng: Rng, bytes: Uint8Array, pieces: number): Uint8Array[] {
  const cuts = Array.from({ length: pieces - 1 }, () => rng.int(bytes.length + 1)).sort((a, b) =>
    a - b
  );
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  return out.filter((c) => c.length > 0);
}

/** The fake broker: one listener, plans looked up by the request's client id. */
export class FakeBroker {
  readonly #listener: Deno.TcpListener;
  readonly #plans = new Map<string, Plan>();
  readonly #conns = new Set<Deno.Conn>();
  readonly #accepting: Promise<void>;
  readonly #serving = new Set<Promise<void>>();

  /** Listens on a free loopback port. */
  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Registers how requests from `clientId` are answered. */
  plan(clientId: string, plan: Plan): void {
    this.#plans.set(clientId, plan);
  }

  /** Forgets a case's plan. */
  forget(clientId: string): void {
    this.#plans.delete(clientId);
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      this.#conns.add(conn);
      const task = this.#serve(conn).finally(() => {
        this.#conns.delete(conn);
        this.#serving.delete(task);
        try {
          conn.close();
        } catch {
          // closed already
        }
      });
      this.#serving.add(task);
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const frames = new FrameReader(conn);
    try {
      for (;;) {
        const request = await frames.next();
        if (request === null) return;
        const h = decodeRequestHeader(request);
        const plan = this.#plans.get(h.clientId ?? "");
        if (!plan) return;
        const reply = plan(h.correlationId);
        for (const chunk of reply.chunks) {
          if (reply.pauseMs > 0) await new Promise((r) => setTimeout(r, reply.pauseMs));
          let off = 0;
          while (off < chunk.length) off += await conn.write(chunk.subarray(off));
        }
        if (reply.then === "close") return;
        if (reply.then === "silent") {
          // Hold the connection open, reading (and ignoring) until the client closes.
          while (await frames.next() !== null) { /* ignore */ }
          return;
        }
      }
    } catch {
      // The client closed or reset: the case is over.
    }
  }

  /** Closes the listener and every connection; waits for the loops. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
    await this.#accepting;
    await Promise.allSettled([...this.#serving]);
  }
}

/** Builds a case's plan: how the broker damages its answers. */
function makePlan(
  rng: Rng,
  g: GoldenPair,
  apiVersions: GoldenPair,
  negotiate: boolean,
): { plan: Plan; what: string } {
  const kind = rng.int(10);
  const good = (id: number) => sized(withCorrelationId(g.response, id));
  let first = true;
  const withNegotiation = (plan: Plan, what: string): { plan: Plan; what: string } => {
    if (!negotiate) return { plan, what };
    // The ApiVersions answer: damaged in a third of the cases, intact otherwise.
    const damage = rng.chance(0.33) ? mutateBytes(rng, apiVersions.response) : null;
    return {
      plan: (id) => {
        if (first) {
          first = false;
          const body = withCorrelationId(damage?.bytes ?? apiVersions.response, id);
          return { chunks: [sized(body)], pauseMs: 0, then: "serve" };
        }
        return plan(id);
      },
      what: `${damage ? `ApiVersions ${damage.what}; then ` : ""}${what}`,
    };
  };
  switch (kind) {
    case 0:
    case 1: {
      // A damaged frame (correlation id kept, unless the damage hit it).
      const m = mutateBytes(rng, g.response);
      const then = rng.pick(["serve", "close", "silent"] as const);
      return withNegotiation((id) => ({
        chunks: [sized(withCorrelationId(m.bytes, id))],
        pauseMs: 0,
        then,
      }), `frame ${m.what}, then ${then}`);
    }
    case 2: {
      const delta = rng.pick([1, -1, 1000, 0x40000000]);
      return withNegotiation((id) => ({
        chunks: [sized(withCorrelationId(g.response, (id + delta) | 0))],
        pauseMs: 0,
        then: "serve",
      }), `correlation id off by ${delta}`);
    }
    case 3: {
      const size = rng.pick([-1, 0, 3, MAX_FRAME_BYTES + 1, 0x7fffffff, -0x80000000]);
      return withNegotiation((id) => ({
        chunks: [sized(withCorrelationId(g.response, id), size)],
        pauseMs: 0,
        then: "serve",
      }), `size prefix ${size}`);
    }
    case 4: {
      // The size prefix promises more than is sent.
      const extra = rng.pick([1, 7, 100, 70_000]);
      const then = rng.pick(["close", "silent"] as const);
      return withNegotiation((id) => {
        const body = withCorrelationId(g.response, id);
        return { chunks: [sized(body, body.length + extra)], pauseMs: 0, then };
      }, `size prefix ${extra} bytes too large, then ${then}`);
    }
    case 5: {
      const cut = rng.range(0, g.response.length + 3);
      const then = rng.pick(["close", "silent"] as const);
      return withNegotiation((id) => ({
        chunks: [sized(withCorrelationId(g.response, id)).subarray(0, cut)],
        pauseMs: 0,
        then,
      }), `frame cut after ${cut} bytes, then ${then}`);
    }
    case 6: {
      // Intact or damaged, in many small writes with pauses.
      const damaged = rng.chance(0.5) ? mutateBytes(rng, g.response) : null;
      const pieces = rng.range(2, 12);
      return withNegotiation((id) => ({
        chunks: splitInto(rng, sized(withCorrelationId(damaged?.bytes ?? g.response, id)), pieces),
        pauseMs: rng.range(0, 2),
        then: "serve",
      }), `${damaged ? `frame ${damaged.what}` : "intact frame"} in ${pieces} writes`);
    }
    case 7: {
      // Larger than the connection's 64 KiB read buffer: trailing garbage.
      const pad = rng.bytes(rng.range(65_536, 140_000));
      const split = rng.chance(0.5);
      return withNegotiation((id) => {
        const frame = sized(concat(withCorrelationId(g.response, id), pad));
        return { chunks: split ? splitInto(rng, frame, 5) : [frame], pauseMs: 0, then: "serve" };
      }, `frame with ${pad.length} trailing random bytes${split ? ", split" : ""}`);
    }
    case 8: {
      // The answer twice: the second has no request left to match.
      return withNegotiation((id) => ({
        chunks: [good(id), good(id)],
        pauseMs: 0,
        then: "serve",
      }), "the answer sent twice");
    }
    default: {
      const then = rng.pick(["close", "silent"] as const);
      return withNegotiation(() => ({ chunks: [], pauseMs: 0, then }), `no answer, then ${then}`);
    }
  }
}

/** Settles `p` or reports a hang after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    id = setTimeout(() => reject(new FuzzFailure(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(id);
  }
}

/** One case of the connection target (`index` names the case on the wire). */
export async function connectionCase(
  rng: Rng,
  index: number,
  broker: FakeBroker,
  golden: readonly GoldenPair[],
): Promise<CaseReport> {
  // The broker's answer to ApiVersions at the version a connection asks first.
  const apiVersions = golden.find((g) => g.name === "api_versions_v5");
  if (!apiVersions) throw new Error("the golden fixtures lack api_versions_v5");
  const g = rng.pick(golden);
  const negotiate = rng.chance(0.25);
  const { plan, what } = makePlan(rng, g, apiVersions, negotiate);
  const clientId = `fuzz-${index}`;
  broker.plan(clientId, plan);
  let outcome: CaseReport["outcome"] = "accepted";
  let conn: Connection | undefined;
  try {
    await within(
      (async () => {
        try {
          conn = await Connection.connect({
            host: "127.0.0.1",
            port: broker.port,
            clientId,
            connectTimeoutMs: 500,
            requestTimeoutMs: REQUEST_TIMEOUT_MS,
            maxFrameBytes: MAX_FRAME_BYTES,
            skipApiVersions: !negotiate,
          });
          // Negotiation may have lowered nothing: send at the captured version.
          await conn.send(g.api, g.request, { version: g.version });
        } catch (e) {
          if (!(e instanceof KafkaError)) {
            throw new FuzzFailure(`${g.name} over a connection: untyped ${describe(e)}`, {
              cause: e,
            });
          }
          outcome = "rejected";
        }
      })(),
      CASE_DEADLINE_MS,
      `${g.name} over a connection`,
    );
    const c = conn as Connection | undefined;
    if (c) {
      c.close();
      await within(c.done, CASE_DEADLINE_MS, "the read loop after close()");
    }
  } finally {
    (conn as Connection | undefined)?.close();
    broker.forget(clientId);
  }
  return { target: "connection", input: g.name, what, outcome };
}
