/**
 * End-to-end fuzz target "e2e": a real {@linkcode Consumer} reading a topic
 * of the embedded cluster while the cluster answers some of its requests
 * (Fetch mostly; also Metadata, ListOffsets, ApiVersions and, in group
 * mode, the group APIs) with damaged bytes, through the `mutate` fault
 * action.
 *
 * Per case: no hang (the case settles within a deadline and `close()`
 * returns), nothing but our typed errors ends the stream, every record
 * delivered is the one produced at its offset (key, value, headers), and
 * the stream either reaches the end of what was produced or ends with a
 * typed error. When only Fetch responses were damaged, "the end" means
 * every record from offset 0; when a non-checksummed answer (ListOffsets,
 * OffsetFetch) was damaged, the consumer may legitimately have trusted a
 * wrong start offset, so it must reach the last record from wherever it
 * started.
 *
 * The damage is what checksums and framing exist to catch: bit flips, byte
 * sets, huge lengths, truncation, lying size prefixes, wrong correlation
 * ids, wrong CRCs. Two kinds are left to the in-process targets because no
 * client can tell them from data: damage behind a recomputed CRC, and a
 * changed batch base offset (outside Kafka's CRC, so the bytes that hold
 * it are restored after each mutation here).
 *
 * @module
 */

import {
  consoleLogger,
  Consumer,
  type ConsumerOptions,
  type LogLevel,
  type RecordBatch,
} from "../../mod.ts";
import { EmbeddedCluster, type Interception } from "../../testing.ts";
import type { ObservedRequest } from "../../src/testing/faults.ts";
import { Cluster } from "../../src/net/cluster.ts";
import { produce } from "../../src/net/admin.ts";
import { compile } from "../../src/protocol/codec.ts";
import { KafkaError } from "../../src/protocol/errors.ts";
import { decodeResponse, responseHeaderFlexible } from "../../src/protocol/frame.ts";
import type { FetchResponse } from "../../src/protocol/messages/fetch.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { type CaseReport, describe, FuzzFailure } from "./decoder_targets.ts";
import {
  batchBounds,
  batchHeaderFieldUnsigned,
  bitFlips,
  byteSets,
  hugeLength,
  type Mutation,
  type Mutator,
  splice,
  truncate,
  weighted,
  wrongCrc,
} from "./mutators.ts";
import type { Rng } from "../../src/util/random.ts";
import { API_BY_KEY } from "../../src/protocol/apis.ts";
import { decodeAssignment } from "../../src/protocol/consumer_protocol.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const CASE_DEADLINE_MS = 20_000;
const CLOSE_DEADLINE_MS = 10_000;
// After damage no client can detect, the consumer gets this long to reach the end.
const SILENT_DEADLINE_MS = 5_000;
const LOG_LEVEL = Deno.env.get("FUZZ_LOG") as LogLevel | undefined;

/** The embedded cluster and an admin client shared by every e2e case of a run. */
export class E2eHarness {
  /** The cluster. */
  readonly cluster: EmbeddedCluster;
  /** For topics and produce. */
  readonly admin: Cluster;

  private constructor(cluster: EmbeddedCluster) {
    this.cluster = cluster;
    this.admin = new Cluster({ brokers: cluster.bootstrap.split(",") });
  }

  /** Starts a 2-broker embedded cluster. */
  static async start(): Promise<E2eHarness> {
    return new E2eHarness(await EmbeddedCluster.start({ brokers: 2 }));
  }

  /** Stops everything. */
  async close(): Promise<void> {
    await this.admin.close();
    await this.cluster.close();
  }
}

/** Where the batches' base offsets sit in a Fetch response frame (size prefix included). */
function baseOffsetRanges(frame: Uint8Array, version: number): Array<[number, number]> {
  const api = API_BY_KEY.get(1)!;
  const body = frame.subarray(4);
  const res = decodeResponse(api, version, body) as FetchResponse;
  const out: Array<[number, number]> = [];
  for (const t of res.responses) {
    for (const p of t.partitions) {
      if (!p.records) continue;
      const at = p.records.byteOffset - frame.byteOffset;
      for (const [s] of batchBounds(p.records)) out.push([at + s, at + s + 8]);
    }
  }
  return out;
}

const FRAME_MUTATORS: ReadonlyArray<readonly [Mutator, number]> = [
  [bitFlips, 4],
  [byteSets, 3],
  [hugeLength, 3],
  [truncate, 2],
  [splice, 1],
];

const RECORD_MUTATORS: ReadonlyArray<readonly [Mutator, number]> = [
  [bitFlips, 3],
  [byteSets, 2],
  [hugeLength, 2],
  [truncate, 1],
  [wrongCrc, 2],
  [batchHeaderFieldUnsigned, 2],
];

/** Damages one response frame (size prefix included); `protect` bytes are restored. */
function damage(rng: Rng, frame: Uint8Array, request: ObservedRequest): Mutation {
  const kind = rng.int(10);
  if (kind === 0) {
    const out = frame.slice();
    const view = new DataView(out.buffer);
    const delta = rng.pick([1, -1, 77, 0x10000]);
    if (out.length >= 8) view.setInt32(4, view.getInt32(4) + delta);
    return { bytes: out, what: `correlation id off by ${delta}` };
  }
  if (kind === 1) {
    const out = frame.slice();
    const size = rng.pick([-1, 0, 2, out.length + 10, 0x7fffffff]);
    new DataView(out.buffer).setInt32(0, size);
    return { bytes: out, what: `size prefix ${size}` };
  }
  let protect: Array<[number, number]> = [];
  if (request.apiKey === 1) {
    protect = baseOffsetRanges(frame, request.version);
    if (kind >= 6 && protect.length > 0) return damageRecords(rng, frame, request.version);
  }
  const m = weighted(rng, FRAME_MUTATORS)(rng, frame.subarray(4));
  const bytes = new Uint8Array(4 + m.bytes.length);
  bytes.set(m.bytes, 4);
  new DataView(bytes.buffer).setInt32(0, m.bytes.length);
  if (m.bytes.length === frame.length - 4) {
    for (const [s, e] of protect) bytes.set(frame.subarray(s, e), s);
  }
  return { bytes, what: `frame ${m.what}` };
}

/** Damages the record data of one partition of a Fetch response; re-encodes validly around it. */
function damageRecords(rng: Rng, frame: Uint8Array, version: number): Mutation {
  const api = API_BY_KEY.get(1)!;
  const res = decodeResponse(api, version, frame.subarray(4)) as FetchResponse;
  const parts = res.responses.flatMap((t) => t.partitions).filter((p) => p.records?.length);
  const p = rng.pick(parts);
  const original = p.records!.slice();
  const m = weighted(rng, RECORD_MUTATORS)(rng, original);
  // Base offsets stay (outside the CRC); only same-length damage can be aligned.
  if (m.bytes.length === original.length) {
    for (const [s] of batchBounds(original)) m.bytes.set(original.subarray(s, s + 8), s);
  }
  p.records = m.bytes;
  const w = new Writer(frame.length + 64);
  w.int32(0);
  w.int32(new DataView(frame.buffer, frame.byteOffset).getInt32(4));
  if (responseHeaderFlexible(api, version)) w.uvarint(0);
  compile(api.response, version).encode(w, res);
  w.patchInt32(0, w.pos - 4);
  return { bytes: w.bytes(), what: `records: ${m.what}` };
}

/**
 * Whether a damaged answer can be told from a real one: "detected" when it
 * does not decode (or its frame or correlation id is wrong), "records" when
 * only record data differs (the CRC's job), "silent" when it decodes into
 * other values the consumer has no way to doubt (an offset, an assignment,
 * a leader, a throttle time: Kafka checksums none of them).
 */
function classify(frame: Uint8Array, damaged: Uint8Array, request: ObservedRequest): Damage {
  const api = API_BY_KEY.get(request.apiKey)!;
  const size = (b: Uint8Array) =>
    b.length >= 4 ? new DataView(b.buffer, b.byteOffset).getInt32(0) : -1;
  if (size(damaged) !== damaged.length - 4 || damaged.length < 8) return "detected";
  if (size(frame.subarray(4)) !== size(damaged.subarray(4))) return "detected"; // correlation id
  let theirs: Record<string, unknown>;
  try {
    theirs = decodeResponse(api, request.version, damaged.subarray(4)) as Record<string, unknown>;
    if (request.apiKey === 14) decodeAssignment(theirs.assignment as Uint8Array);
  } catch {
    return "detected";
  }
  const ours = decodeResponse(api, request.version, frame.subarray(4));
  const plain = (v: unknown) =>
    JSON.stringify(
      v,
      (k, x) =>
        k === "records"
          ? null
          : typeof x === "bigint"
          ? `${x}n`
          : x instanceof Uint8Array
          ? [...x]
          : x,
    );
  if (plain(ours) !== plain(theirs)) return "silent";
  return request.apiKey === 1 ? "records" : "detected";
}

type Damage = "detected" | "records" | "silent";

interface Produced {
  key: string;
  value: string;
  headers: string;
}

const headersOf = (hs: ReadonlyArray<{ key: string; value: Uint8Array | null }>) =>
  hs.map((h) => `${h.key}=${h.value === null ? "~" : dec.decode(h.value)}`).join(",");

/** Reads a stream until `done()` or an end; bounded by the case deadline. */
async function readAll(
  consumer: Consumer,
  onBatch: (b: RecordBatch) => void,
  done: () => boolean,
  deadline: () => number,
): Promise<{ ended: "complete" | "error" | "closed" | "timeout"; error?: unknown }> {
  const reader = consumer.readable.getReader();
  // A read that outlives one poll stays pending for the next: no batch is lost.
  let pending: Promise<ReadableStreamReadResult<RecordBatch>> | undefined;
  try {
    while (!done()) {
      const left = deadline() - Date.now();
      if (left <= 0) return { ended: "timeout" };
      if (pending === undefined) {
        pending = reader.read();
        pending.catch(() => {});
      }
      let id: ReturnType<typeof setTimeout> | undefined;
      const poll = new Promise<"poll">((r) =>
        id = setTimeout(() => r("poll"), Math.min(left, 250))
      );
      let result: ReadableStreamReadResult<RecordBatch> | "poll";
      try {
        result = await Promise.race([pending, poll]);
      } catch (error) {
        return { ended: "error", error };
      } finally {
        clearTimeout(id);
      }
      if (result === "poll") continue;
      pending = undefined;
      if (result.done) return { ended: "closed" };
      onBatch(result.value);
    }
    return { ended: "complete" };
  } finally {
    reader.releaseLock();
  }
}

const GROUP_APIS = ["FindCoordinator", "JoinGroup", "SyncGroup", "OffsetFetch", "Heartbeat"];
const ANY_APIS = ["Metadata", "ListOffsets", "ApiVersions"];

/** One e2e case. */
export async function e2eCase(rng: Rng, index: number, h: E2eHarness): Promise<CaseReport> {
  const topic = `fuzz-e2e-${index}`;
  await h.cluster.createTopic(topic, { partitions: 1 });
  // What is produced: 1-4 batches, each in a random codec.
  const expected: Produced[] = [];
  const batches = rng.range(1, 4);
  for (let b = 0; b < batches; b++) {
    const n = rng.range(1, 15);
    const records = Array.from({ length: n }, (_, i) => {
      const offset = expected.length + i;
      const headers = rng.chance(0.3) ? [{ key: "h", value: enc.encode(`${offset}`) }] : [];
      return {
        key: enc.encode(`k${offset}`),
        value: enc.encode(`case ${index} record ${offset} ${"x".repeat(rng.int(200))}`),
        headers,
      };
    });
    await produce(h.admin, topic, 0, records, { compression: rng.range(0, 4) });
    for (const r of records) {
      expected.push({
        key: dec.decode(r.key),
        value: dec.decode(r.value),
        headers: headersOf(r.headers),
      });
    }
  }
  const group = rng.chance(0.3);
  const api = rng.chance(0.6) ? "Fetch" : rng.pick(group ? [...ANY_APIS, ...GROUP_APIS] : ANY_APIS);
  const times = rng.range(1, 3);
  const mutations: string[] = [];
  let silent = false;
  const rule: Interception = h.cluster.intercept({
    apiKey: api as "Fetch",
    clientId: `fuzz-e2e-${index}`,
    times,
    action: {
      mutate: (frame, request) => {
        const m = damage(rng, frame, request);
        const kind = classify(frame, m.bytes, request);
        if (kind === "silent") silent = true;
        mutations.push(`${m.what} [${kind}]`);
        return m.bytes;
      },
    },
  });
  const options = {
    brokers: h.cluster.bootstrap.split(","),
    clientId: `fuzz-e2e-${index}`,
    autoOffsetReset: "earliest",
    requestTimeoutMs: 1000,
    fetchMaxWaitMs: 50,
    retryBackoffMs: 10,
    retryBackoffMaxMs: 200,
    closeTimeoutMs: 1000,
    // FUZZ_LOG=debug (or info, warn) shows what the consumer did in a replayed case.
    ...(LOG_LEVEL ? { logger: consoleLogger(LOG_LEVEL) } : {}),
    ...(group
      ? {
        groupId: `fuzz-e2e-g-${index}`,
        topics: [topic],
        sessionTimeoutMs: 6000,
        // A JoinGroup may be held for the rebalance timeout (+5 s): keep a
        // damaged answer's wait (e.g. a size prefix promising more bytes)
        // inside the case deadline.
        rebalanceTimeoutMs: 3000,
        maxPollIntervalMs: 10_000,
        heartbeatIntervalMs: 100,
        autoCommitIntervalMs: 200,
      }
      : { assign: [{ topic, partition: 0, offset: "earliest" as const }] }),
  } as ConsumerOptions;
  const seen = new Set<number>();
  let last = -1;
  const what = () => `${group ? "group" : "assign"}, ${api} x${times}: ${mutations.join("; ")}`;
  const consumer = new Consumer(options);
  const started = Date.now();
  let outcome: CaseReport["outcome"] = "accepted";
  let endedWith = "";
  try {
    const result = await readAll(consumer, (batch) => {
      for (const r of batch.records) {
        const offset = Number(r.offset);
        const want = expected[offset];
        const got = {
          key: r.key === null ? "~" : dec.decode(r.key),
          value: r.value === null ? "~" : dec.decode(r.value),
          headers: headersOf(r.headers),
        };
        if (
          !want || want.key !== got.key || want.value !== got.value || want.headers !== got.headers
        ) {
          throw new FuzzFailure(
            `delivered a record never produced at offset ${offset} (${what()})`,
          );
        }
        seen.add(offset);
        last = Math.max(last, offset);
      }
      batch.ack();
    }, () => {
      const from = api === "Fetch" ? 0 : Math.min(...seen);
      if (last !== expected.length - 1) return false;
      for (let o = from; o <= last; o++) if (!seen.has(o)) return false;
      return true;
    }, () => started + (silent ? SILENT_DEADLINE_MS : CASE_DEADLINE_MS));
    if (result.ended === "timeout" && silent) {
      // The consumer acted on an answer no client can doubt (e.g. an empty
      // assignment, a start offset at the end): not reaching the end is
      // then no failure; the other checks (records, typed errors, close)
      // still hold.
      outcome = "trusted";
    } else if (result.ended === "timeout") {
      throw new FuzzFailure(
        `no end within ${CASE_DEADLINE_MS} ms: ${seen.size} of ${expected.length} records (${what()})`,
      );
    }
    if (result.ended === "closed") {
      throw new FuzzFailure(`the stream closed without an error before the end (${what()})`);
    }
    if (result.ended === "error") {
      if (!(result.error instanceof KafkaError)) {
        throw new FuzzFailure(
          `the stream ended with an untyped ${describe(result.error)} (${what()})`,
          {
            cause: result.error,
          },
        );
      }
      outcome = "rejected";
      endedWith = ` -> ${describe(result.error)}`;
    }
  } finally {
    rule.remove();
    let id: ReturnType<typeof setTimeout> | undefined;
    const closed = await Promise.race([
      consumer.close().then(() => true, () => true),
      new Promise<false>((r) => id = setTimeout(() => r(false), CLOSE_DEADLINE_MS)),
    ]);
    clearTimeout(id);
    if (!closed) {
      // deno-lint-ignore no-unsafe-finally
      throw new FuzzFailure(`close() did not return within ${CLOSE_DEADLINE_MS} ms (${what()})`);
    }
  }
  return {
    target: "e2e",
    input: `${api}${group ? " (group)" : ""}`,
    what: `${what()}${endedWith}`,
    outcome,
  };
}
