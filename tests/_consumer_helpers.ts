/**
 * Helpers for the Consumer's integration tests (`tests/consumer_*_test.ts`)
 * against the real broker of `deno task test`.
 *
 * - {@linkcode fastOptions}: short timeouts so that group tests take seconds.
 * - {@linkcode BatchReader}: reads `consumer.readable` with a per-read timeout
 *   without ever losing a batch (a timed-out read stays pending and is the
 *   next one served).
 * - {@linkcode Tally}: what was delivered, per partition, to check "all
 *   present, in order, no duplicates".
 * - {@linkcode ReadLoop}: a background reader that acknowledges everything,
 *   for groups of consumers in one process.
 * - {@linkcode newTopic} / {@linkcode produceValues}: topics and records
 *   through our own minimal admin client (no JVM start: milliseconds), for
 *   tests whose point is not Kafka's own producer.
 * - {@linkcode groupDescription}: Kafka's own consumer-groups tool: committed
 *   offsets, owners and state, as the broker sees them.
 * - {@linkcode spawnMember}: a consumer in a subprocess
 *   (`tests/fixtures/group_member.ts`) that can be SIGKILLed.
 * - {@linkcode spawnKafkaTool}: a long-running Kafka tool (e.g. the Java
 *   console consumer) whose output lines are read as they come.
 *
 * Everything waits on events with a bounded deadline: no sleep is used as
 * synchronization.
 *
 * @module
 */

import { Admin, Consumer, type ConsumerOptions, type RecordBatch } from "../mod.ts";
import { Cluster } from "../src/net/cluster.ts";
import { produce } from "../src/net/admin.ts";
import type { RecordToEncode } from "../src/protocol/wire_batch.ts";
import {
  brokers,
  describeGroup,
  type GroupDescribeOutput,
  type GroupOffset,
  kafkaScript,
  kafkaTool,
  uniqueName,
} from "./_kafka.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Decodes a key or value as UTF-8 (`null` stays `null`). */
export function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : decoder.decode(bytes);
}

/** A topic and partition. */
export interface TP {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
}

/** `topic-partition`, for maps and messages. */
export function tpKey(tp: TP): string {
  return `${tp.topic}-${tp.partition}`;
}

/** Partitions sorted and rendered, for messages and comparisons. */
export function tpList(tps: readonly TP[]): string[] {
  return tps.map(tpKey).sort();
}

// ---------------------------------------------------------------------------
// Time

/** Resolves after `ms` (only to pace polling or to keep a reader stalled, never to synchronize). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every `intervalMs` until it returns a truthy value (returned)
 * or `timeoutMs` passes (throws, naming `what` and, when given, the last
 * state from `describe`).
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs: number,
  options: { intervalMs?: number; describe?: () => string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  const interval = options.intervalMs ?? 100;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) {
      const state = options.describe ? `; last state: ${options.describe()}` : "";
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${state}`);
    }
    await sleep(interval);
  }
}

/** Rejects with a timeout error when `promise` takes longer than `timeoutMs`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    id = setTimeout(() => reject(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(id);
  }
}

// ---------------------------------------------------------------------------
// Options

/**
 * SLUICE_TEST_ASSIGNORS (comma-separated, e.g. "cooperative-sticky"): the
 * assignors of every group member a test does not configure itself — test.sh
 * runs the group tests a second time under cooperative-sticky.
 */
function assignorsFromEnv(extra: Partial<ConsumerOptions>): Partial<ConsumerOptions> {
  const env = Deno.env.get("SLUICE_TEST_ASSIGNORS");
  if (!env || extra.groupId === undefined || "assignors" in extra) return {};
  if (extra.groupProtocol === "consumer") return {};
  return { assignors: env.split(",") as ConsumerOptions["assignors"] };
}

/**
 * The consumer group protocol (KIP-848) in {@linkcode fastOptions}: the
 * session timeout and heartbeat interval are the broker's there, so the
 * classic defaults of fastOptions are unset.
 */
export const CONSUMER_PROTOCOL = {
  groupProtocol: "consumer",
  sessionTimeoutMs: undefined,
  heartbeatIntervalMs: undefined,
} as const satisfies Partial<ConsumerOptions>;

/**
 * SLUICE_TEST_GROUP_PROTOCOL=consumer: every group member a test does not
 * tie to the classic protocol (by choosing its protocol, assignors, session
 * timeout or heartbeat interval) speaks the consumer protocol (KIP-848) —
 * test.sh runs the group tests a third time so. The session is then the
 * broker's (10 s on scripts/kafka.sh's brokers and the embedded cluster).
 */
function protocolFromEnv(extra: Partial<ConsumerOptions>): Partial<ConsumerOptions> {
  if (Deno.env.get("SLUICE_TEST_GROUP_PROTOCOL") !== "consumer") return {};
  const classicOnly = ["groupProtocol", "assignors", "sessionTimeoutMs", "heartbeatIntervalMs"];
  if (extra.groupId === undefined || classicOnly.some((k) => k in extra)) return {};
  return CONSUMER_PROTOCOL;
}

/**
 * Options for fast tests: short session (the broker of scripts/kafka.sh
 * accepts down to 1 s), frequent heartbeats, short fetch waits, earliest
 * reset, a short close and a bounded rebalance timeout; `extra` wins.
 */
export function fastOptions(extra: Partial<ConsumerOptions>): ConsumerOptions {
  return {
    brokers: extra.brokers ?? brokers(),
    clientId: "sluice-test",
    autoOffsetReset: "earliest",
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    maxPollIntervalMs: 20000,
    fetchMaxWaitMs: 100,
    closeTimeoutMs: 5000,
    retryBackoffMs: 50,
    retryBackoffMaxMs: 500,
    ...(extra.groupId !== undefined ? { autoCommitIntervalMs: 500 } : {}),
    ...assignorsFromEnv(extra),
    ...protocolFromEnv(extra),
    ...extra,
  } as ConsumerOptions;
}

// ---------------------------------------------------------------------------
// Reading

/**
 * Reads batches from a consumer's stream, one at a time, with a timeout per
 * read. A read that timed out stays pending and is the one the next call
 * waits for, so no batch is ever lost between calls. Pulls happen only inside
 * {@linkcode BatchReader.next}: between calls (once the last read was served)
 * the reader is stalled, as far as the consumer can tell.
 */
export class BatchReader {
  readonly #reader: ReadableStreamDefaultReader<RecordBatch>;
  #pending: Promise<ReadableStreamReadResult<RecordBatch>> | undefined;
  /** True once the stream ended (closed). */
  done = false;

  /** Locks `stream` (a consumer's `readable`). */
  constructor(stream: ReadableStream<RecordBatch>) {
    this.#reader = stream.getReader();
  }

  /** True while a read is waiting for the stream (the consumer saw a pull). */
  get pulling(): boolean {
    return this.#pending !== undefined;
  }

  /**
   * The next batch; `undefined` when none came within `timeoutMs`; `null`
   * when the stream ended. Throws the stream's error.
   */
  async next(timeoutMs: number): Promise<RecordBatch | null | undefined> {
    if (this.done) return null;
    if (this.#pending === undefined) {
      this.#pending = this.#reader.read();
      // Handled here so that a read left pending at the end of a test never
      // becomes an unhandled rejection; next() still sees the error.
      this.#pending.catch(() => {});
    }
    const pending = this.#pending;
    let id: ReturnType<typeof setTimeout> | undefined;
    const timer = new Promise<"timeout">((resolve) => {
      id = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const result = await Promise.race([pending, timer]);
      if (result === "timeout") return undefined;
      this.#pending = undefined;
      if (result.done) {
        this.done = true;
        return null;
      }
      return result.value;
    } catch (error) {
      this.#pending = undefined;
      throw error;
    } finally {
      clearTimeout(id);
    }
  }

  /**
   * The next batch, waiting up to `timeoutMs`; throws when none came or the
   * stream ended.
   */
  async nextBatch(timeoutMs: number, what = "a batch"): Promise<RecordBatch> {
    const batch = await this.next(timeoutMs);
    if (batch === undefined) throw new Error(`No batch within ${timeoutMs} ms waiting for ${what}`);
    if (batch === null) throw new Error(`The stream ended while waiting for ${what}`);
    return batch;
  }

  /**
   * Reads until the stream ends (after close), acknowledging nothing;
   * returns the batches still delivered. Bounded by `timeoutMs`.
   */
  async drainToEnd(timeoutMs: number): Promise<RecordBatch[]> {
    const deadline = Date.now() + timeoutMs;
    const out: RecordBatch[] = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`The stream did not end within ${timeoutMs} ms`);
      const batch = await this.next(left);
      if (batch === null) return out;
      if (batch !== undefined) out.push(batch);
    }
  }

  /**
   * Reads, acknowledging every batch, until the stream errors: the error,
   * the records read before it and how long it took. Throws when the stream
   * ends cleanly or does not error within `timeoutMs` (a consumer retrying
   * forever fails here).
   */
  async untilError(timeoutMs: number): Promise<{ error: unknown; records: number; ms: number }> {
    const start = Date.now();
    let records = 0;
    for (;;) {
      const left = start + timeoutMs - Date.now();
      if (left <= 0) throw new Error(`The stream did not error within ${timeoutMs} ms`);
      let batch: RecordBatch | null | undefined;
      try {
        batch = await this.next(Math.min(left, 250));
      } catch (error) {
        return { error, records, ms: Date.now() - start };
      }
      if (batch === null) throw new Error("The stream ended without an error");
      if (batch !== undefined) {
        records += batch.records.length;
        batch.ack();
      }
    }
  }
}

/** One delivered record, as {@linkcode Tally} keeps it. */
export interface Seen {
  /** Who read it (a consumer's name in the test). */
  by: string;
  /** Offset. */
  offset: bigint;
  /** Value as UTF-8 (null for a null value). */
  value: string | null;
}

/**
 * Every record delivered, per partition, in delivery order: checks of
 * "all present, in order, no duplicates, nothing lost".
 */
export class Tally {
  /** `topic-partition` -> records in delivery order. */
  readonly partitions: Map<string, Seen[]> = new Map();
  /** Records counted so far (duplicates included). */
  count = 0;
  /** Batches counted so far. */
  batches = 0;

  /** Records every record of `batch` as read by `by`. */
  add(batch: RecordBatch, by = "consumer"): void {
    const key = tpKey(batch);
    let list = this.partitions.get(key);
    if (list === undefined) this.partitions.set(key, list = []);
    for (const r of batch.records) list.push({ by, offset: r.offset, value: text(r.value) });
    this.count += batch.records.length;
    this.batches++;
  }

  /** Records a record read by another client (e.g. Kafka's console consumer). */
  addRecord(tp: TP, offset: bigint, value: string | null, by: string): void {
    const key = tpKey(tp);
    let list = this.partitions.get(key);
    if (list === undefined) this.partitions.set(key, list = []);
    list.push({ by, offset, value });
    this.count++;
  }

  /** Distinct (partition, offset) pairs seen. */
  distinct(): number {
    let n = 0;
    for (const list of this.partitions.values()) n += new Set(list.map((s) => s.offset)).size;
    return n;
  }

  /** `topic-partition@offset` of every record seen more than once (by anyone). */
  duplicates(): string[] {
    const out: string[] = [];
    for (const [key, list] of this.partitions) {
      const seen = new Set<bigint>();
      for (const s of list) {
        if (seen.has(s.offset)) out.push(`${key}@${s.offset}`);
        seen.add(s.offset);
      }
    }
    return out;
  }

  /** Offsets in `[from, end)` of `tp` not seen (at most `limit` listed). */
  missing(tp: TP, end: bigint, from = 0n, limit = 20): bigint[] {
    const seen = new Set((this.partitions.get(tpKey(tp)) ?? []).map((s) => s.offset));
    const out: bigint[] = [];
    for (let o = from; o < end && out.length < limit; o++) if (!seen.has(o)) out.push(o);
    return out;
  }

  /** True when every offset in `[0, end)` of each partition was seen. */
  complete(ends: ReadonlyMap<string, bigint>): boolean {
    for (const [key, end] of ends) {
      const list = this.partitions.get(key) ?? [];
      if (new Set(list.map((s) => s.offset)).size < Number(end)) return false;
      if (this.#missingKey(key, end).length > 0) return false;
    }
    return true;
  }

  #missingKey(key: string, end: bigint): bigint[] {
    const seen = new Set((this.partitions.get(key) ?? []).map((s) => s.offset));
    const out: bigint[] = [];
    for (let o = 0n; o < end && out.length < 20; o++) if (!seen.has(o)) out.push(o);
    return out;
  }

  /**
   * Places where one reader got a partition's offsets out of order (each
   * reader's deliveries of a partition must increase, unless it legitimately
   * restarted from an earlier committed offset: `allowRewind`).
   */
  orderViolations(allowRewind = false): string[] {
    const out: string[] = [];
    for (const [key, list] of this.partitions) {
      const last = new Map<string, bigint>();
      for (const s of list) {
        const prev = last.get(s.by);
        if (prev !== undefined && s.offset <= prev && !allowRewind) {
          out.push(`${key}: ${s.by} got ${s.offset} after ${prev}`);
        }
        last.set(s.by, s.offset);
      }
    }
    return out;
  }

  /** Records of one partition, in delivery order. */
  of(tp: TP): Seen[] {
    return this.partitions.get(tpKey(tp)) ?? [];
  }

  /** A short summary for failure messages. */
  summary(): string {
    const parts = [...this.partitions].sort(([a], [b]) => a.localeCompare(b)).map(
      ([key, list]) => {
        const offsets = list.map((s) => s.offset);
        const min = offsets.reduce((a, b) => a < b ? a : b, offsets[0] ?? 0n);
        const max = offsets.reduce((a, b) => a > b ? a : b, offsets[0] ?? 0n);
        return `${key}: ${list.length} (${new Set(offsets).size} distinct, ${min}..${max})`;
      },
    );
    return `${this.count} records in ${this.batches} batches; ${parts.join("; ")}`;
  }
}

/**
 * Reads from `reader` into `tally`, acknowledging each batch (unless
 * `ack: false`), until `until()` holds; throws after `timeoutMs` with what
 * was seen. Returns the batches read.
 */
export async function readUntil(
  reader: BatchReader,
  tally: Tally,
  until: () => boolean,
  timeoutMs: number,
  options: { ack?: boolean; by?: string; what?: string } = {},
): Promise<RecordBatch[]> {
  const deadline = Date.now() + timeoutMs;
  const batches: RecordBatch[] = [];
  while (!until()) {
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(
        `Timed out after ${timeoutMs} ms reading ${options.what ?? "records"}: ${tally.summary()}`,
      );
    }
    const batch = await reader.next(Math.min(left, 1000));
    if (batch === null) {
      throw new Error(
        `The stream ended while reading ${options.what ?? "records"}: ${tally.summary()}`,
      );
    }
    if (batch === undefined) continue;
    tally.add(batch, options.by);
    batches.push(batch);
    if (options.ack ?? true) {
      const acked = batch.ack();
      if (!acked) {
        throw new Error(`ack() of ${tpKey(batch)}@${batch.records[0].offset} returned false`);
      }
    }
  }
  return batches;
}

/** True when lag() is 0 on `partitions` partitions that hold records. */
export async function caughtUp(consumer: Consumer, partitions: number): Promise<boolean> {
  const lag = await consumer.lag();
  return lag.length === partitions &&
    lag.every((l) => l.lag === 0n && l.highWatermark !== null && l.highWatermark > 0n);
}

/** Reads until lag() is 0 on every partition (positions past the final markers). */
export async function readAll(
  consumer: Consumer,
  partitions: number,
  timeoutMs: number,
): Promise<Tally> {
  const reader = new BatchReader(consumer.readable);
  const tally = new Tally();
  const deadline = Date.now() + timeoutMs;
  let done = false;
  while (!done) {
    const batch = await reader.next(200);
    if (batch === null) throw new Error(`stream ended: ${tally.summary()}`);
    if (batch) {
      tally.add(batch);
      if (!batch.ack()) {
        throw new Error(`ack() of ${tpKey(batch)}@${batch.records[0].offset} was fenced`);
      }
    } else {
      done = await caughtUp(consumer, partitions);
    }
    if (!done && Date.now() > deadline) {
      const lag = await consumer.lag();
      throw new Error(
        `not caught up after ${timeoutMs} ms: ${tally.summary()}; lag ${
          JSON.stringify(lag, (_, v) => typeof v === "bigint" ? `${v}` : v)
        }`,
      );
    }
  }
  return tally;
}

/**
 * A consumer read in the background: every batch goes into `tally` and is
 * acknowledged, until the stream ends. For groups of consumers in one
 * process. `stop()` closes the consumer and waits for the loop.
 */
export class ReadLoop {
  /** The consumer read. */
  readonly consumer: Consumer;
  /** Name recorded in the tally. */
  readonly name: string;
  /** Set when the stream errored. */
  error: unknown = undefined;
  /** Batches whose ack() returned false. */
  fenced = 0;
  readonly #done: Promise<void>;
  readonly #reader: BatchReader;

  /** Starts reading `consumer` into `tally`. */
  constructor(consumer: Consumer, tally: Tally, name: string) {
    this.consumer = consumer;
    this.name = name;
    this.#reader = new BatchReader(consumer.readable);
    this.#done = this.#run(tally);
  }

  async #run(tally: Tally): Promise<void> {
    try {
      for (;;) {
        const batch = await this.#reader.next(1000);
        if (batch === null) return;
        if (batch === undefined) continue;
        tally.add(batch, this.name);
        if (!batch.ack()) this.fenced++;
      }
    } catch (error) {
      this.error = error;
    }
  }

  /** Resolves when the stream has ended (after close, or an error). */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Closes the consumer and waits for the loop (bounded). */
  async stop(timeoutMs = 20000): Promise<void> {
    await withTimeout(this.consumer.close(), timeoutMs, `close() of ${this.name}`);
    await withTimeout(this.#done, timeoutMs, `the end of ${this.name}'s stream`);
  }
}

/** Closes consumers, ignoring errors (for `finally` blocks after a failure). */
export async function closeAll(...consumers: (Consumer | undefined)[]): Promise<void> {
  await Promise.all(consumers.map(async (c) => {
    try {
      await c?.close();
    } catch {
      // the test already failed, or the consumer errored on purpose
    }
  }));
}

/** The partitions a consumer owns now, sorted as `topic-partition`. */
export function owned(consumer: Consumer): string[] {
  return tpList(consumer.assignment());
}

/**
 * Checks that the consumers' assignments are pairwise disjoint and cover
 * exactly `expected` (`topic-partition` keys); returns a message when not.
 */
export function splitProblem(
  consumers: readonly Consumer[],
  expected: readonly string[],
): string | undefined {
  const all = consumers.flatMap((c) => owned(c));
  const dup = all.filter((k, i) => all.indexOf(k) !== i);
  if (dup.length > 0) return `owned twice: ${dup.join(", ")}`;
  const missing = expected.filter((k) => !all.includes(k));
  if (missing.length > 0) return `not owned: ${missing.join(", ")}`;
  const extra = all.filter((k) => !expected.includes(k));
  if (extra.length > 0) return `unexpected: ${extra.join(", ")}`;
  return undefined;
}

// ---------------------------------------------------------------------------
// Topics through the Admin client; records through the internal one-batch append

/** Creates a topic named `prefix-<unique>` and waits for its leaders. */
export async function newTopic(
  prefix: string,
  partitions: number,
  options: { bootstrap?: string; replicationFactor?: number; configs?: Record<string, string> } =
    {},
): Promise<string> {
  const name = uniqueName(prefix);
  await using admin = new Admin({ brokers: options.bootstrap ?? brokers() });
  await admin.createTopics([{
    name,
    partitions,
    replicationFactor: options.replicationFactor ?? 1,
    configs: options.configs,
  }]);
  return name;
}

/** A record for {@linkcode produceValues}. */
export interface TestRecord {
  /** Value (UTF-8). */
  value: string;
  /** Key (UTF-8). */
  key?: string;
  /** Create time, ms since the epoch. */
  timestamp?: number;
}

/**
 * Appends records to one partition, `perBatch` records per produce request
 * (each becomes one record batch on the broker: with
 * `maxPartitionFetchBytes: 1` every Fetch then returns exactly one of them).
 * Returns the base offsets.
 */
export async function produceValues(
  topic: string,
  partition: number,
  records: readonly (string | TestRecord)[],
  options: { perBatch?: number; bootstrap?: string } = {},
): Promise<bigint[]> {
  const perBatch = options.perBatch ?? 10;
  const cluster = new Cluster({ brokers: (options.bootstrap ?? brokers()).split(",") });
  const bases: bigint[] = [];
  try {
    for (let i = 0; i < records.length; i += perBatch) {
      const chunk: RecordToEncode[] = records.slice(i, i + perBatch).map((r) => {
        const rec = typeof r === "string" ? { value: r } : r;
        return {
          key: rec.key === undefined ? null : encoder.encode(rec.key),
          value: encoder.encode(rec.value),
          timestamp: rec.timestamp,
        };
      });
      bases.push(await produce(cluster, topic, partition, chunk));
    }
  } finally {
    await cluster.close();
  }
  return bases;
}

/** `count` values `prefix-0`, `prefix-1`, … */
export function values(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

// ---------------------------------------------------------------------------
// Kafka's consumer-groups tool

/** One partition's row of `consumer-groups --describe --group G`. */
export type GroupRow = GroupOffset;

/** What Kafka's consumer-groups tool says about a group. */
export type GroupDescription = GroupDescribeOutput;

/**
 * `consumer-groups --describe --group G` (one JVM run): committed offsets,
 * log end offsets, owners, and whether the group has active members.
 */
export function groupDescription(
  groupId: string,
  options: { bootstrap?: string } = {},
): Promise<GroupDescription> {
  return describeGroup(groupId, options);
}

/** State and member count from `consumer-groups --describe --group G --state`. */
export async function groupState(
  groupId: string,
  options: { bootstrap?: string } = {},
): Promise<{ state: string; members: number } | null> {
  const result = await kafkaTool("consumer-groups", [
    "--bootstrap-server",
    options.bootstrap ?? brokers(),
    "--describe",
    "--group",
    groupId,
    "--state",
  ], { check: false });
  const output = `${result.stdout}\n${result.stderr}`;
  if (/GroupIdNotFoundException|does not exist/.test(output)) return null;
  for (const line of result.stdout.split("\n")) {
    const cells = line.trim().split(/\s+/);
    if (cells[0] === groupId && cells.length >= 4) {
      return { state: cells[cells.length - 2], members: Number(cells[cells.length - 1]) };
    }
  }
  throw new Error(`consumer-groups --describe ${groupId} --state: no row in\n${output}`);
}

// ---------------------------------------------------------------------------
// Subprocesses

/** A process whose stdout is read line by line as it comes. */
export class LineProcess {
  /** Lines of stdout so far. */
  readonly lines: string[] = [];
  /** Exit status, once exited. */
  readonly status: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #stdoutDone: Promise<void>;
  readonly #stderr: Promise<string>;
  #listeners: (() => void)[] = [];
  #exited = false;

  /** Spawns `command`; stdout is split into lines, stderr kept for messages. */
  constructor(command: Deno.Command) {
    this.#child = command.spawn();
    this.#stdoutDone = this.#readLines(this.#child.stdout);
    this.#stderr = new Response(this.#child.stderr).text().catch(() => "");
    this.status = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
  }

  async #readLines(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        let nl;
        while ((nl = rest.indexOf("\n")) >= 0) {
          this.lines.push(rest.slice(0, nl));
          rest = rest.slice(nl + 1);
        }
        for (const f of this.#listeners) f();
      }
      if (rest !== "") this.lines.push(rest);
    } catch {
      // the process was killed
    }
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** True once the process exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Sends a signal (no-op once exited). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** Waits for the exit (killing with SIGKILL after `timeoutMs`); returns stderr. */
  async finish(timeoutMs = 20000): Promise<{ status: Deno.CommandStatus; stderr: string }> {
    let id: ReturnType<typeof setTimeout> | undefined;
    const killer = new Promise<void>((resolve) => {
      id = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, timeoutMs);
    });
    const status = await Promise.race([this.status, killer.then(() => this.status)]);
    clearTimeout(id);
    await this.#stdoutDone;
    return { status, stderr: await this.#stderr };
  }

  /** Stderr, once the process exited. */
  stderr(): Promise<string> {
    return this.#stderr;
  }
}

/**
 * Starts one of Kafka's tools in the background (`scripts/kafka.sh tool
 * NAME ARGS...`), e.g. the Java console consumer, reading its stdout lines
 * as they come. Class data sharing is off for it (`SLUICE_KAFKA_CDS=0`) so
 * that kafka.sh `exec`s java: the process we hold is the JVM itself, and
 * SIGTERM reaches it (its shutdown hook closes the client cleanly).
 */
export function spawnKafkaTool(name: string, args: readonly string[]): LineProcess {
  return new LineProcess(
    new Deno.Command("bash", {
      args: [kafkaScript(), "tool", name, ...args],
      env: { SLUICE_KAFKA_CDS: "0" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }),
  );
}

/** Events printed by `tests/fixtures/group_member.ts`, one JSON object per line. */
export type MemberEvent = MemberEventBody & {
  /** When the member printed it: `Date.now()` in its process. */
  at: number;
};

/** What a member reports, without its time stamp. */
export type MemberEventBody =
  | { event: "ready" }
  | { event: "assigned" | "revoked" | "lost"; partitions: TP[] }
  | {
    event: "batch";
    topic: string;
    partition: number;
    offsets: string[];
    nextOffset: string;
  }
  | { event: "blocking"; topic: string; partition: number; ms: number }
  | { event: "acked"; topic: string; partition: number; nextOffset: string; ok: boolean }
  | { event: "closed" }
  | { event: "error"; name: string; message: string };

/** Configuration of `tests/fixtures/group_member.ts` (passed as JSON). */
export interface MemberConfig {
  /** Consumer options (JSON-able: no functions, no RegExp, no bigint). */
  options: Omit<ConsumerOptions, "signal" | "logger" | "onAssigned" | "onRevoked" | "onLost">;
  /** The first batch's handler blocks the event loop this long before its ack. */
  blockMs?: number;
  /** SASL OAUTHBEARER as this principal (tokens made in the member's process). */
  oauthSub?: string;
  /** The member's consumer logs at this level to its stderr. */
  logLevel?: "debug" | "info" | "warn" | "error";
}

/** A consumer running in a subprocess, reporting its events as JSON lines. */
export class Member {
  readonly #process: LineProcess;

  /** Spawns the fixture with `config`. */
  constructor(config: MemberConfig) {
    const script = new URL("./fixtures/group_member.ts", import.meta.url);
    this.#process = new LineProcess(
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--no-check",
          decodeURIComponent(script.pathname),
          JSON.stringify(config),
        ],
        // The package root, so that deno.json (the zod import) is found.
        cwd: decodeURIComponent(new URL("../", import.meta.url).pathname),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }),
    );
  }

  /** Events so far, parsed. */
  events(): MemberEvent[] {
    const out: MemberEvent[] = [];
    for (const line of this.#process.lines) {
      if (!line.startsWith("{")) continue;
      try {
        out.push(JSON.parse(line) as MemberEvent);
      } catch {
        // a partial line
      }
    }
    return out;
  }

  /** The partitions it owns now, from its assigned/revoked/lost events. */
  owned(): string[] {
    let owned: string[] = [];
    for (const e of this.events()) {
      if (e.event === "assigned") owned = tpList(e.partitions);
      else if (e.event === "revoked" || e.event === "lost") {
        const gone = new Set(tpList(e.partitions));
        owned = owned.filter((k) => !gone.has(k));
      }
    }
    return owned;
  }

  /** Adds every record it reported into `tally` as read by `by`. */
  tallyInto(tally: Tally, by: string): void {
    for (const e of this.events()) {
      if (e.event !== "batch") continue;
      for (const o of e.offsets) tally.addRecord(e, BigInt(o), null, by);
    }
  }

  /** The process, to kill or wait for. */
  get process(): LineProcess {
    return this.#process;
  }

  /** Throws with its stderr when it reported an error or exited. */
  async check(): Promise<void> {
    const error = this.events().find((e) => e.event === "error");
    if (error !== undefined || this.#process.exited) {
      const { stderr } = await this.#process.finish(1000);
      throw new Error(
        `group member subprocess failed: ${JSON.stringify(error ?? "exited")}\n${
          stderr.slice(-2000)
        }`,
      );
    }
  }
}

/** Starts a consumer in a subprocess (see {@linkcode Member}). */
export function spawnMember(config: MemberConfig): Member {
  return new Member(config);
}

/**
 * Loads the heartbeat worker's module once in this process and ends it.
 * Under `deno test` (type checking on) Deno type-checks a worker's module
 * graph when the first worker starts, which costs the process some 150 MB
 * of RSS for a moment: tests that measure memory call this first, so that
 * they measure the consumer and not the type checker.
 */
export async function warmHeartbeatWorker(): Promise<void> {
  const worker = new Worker(
    new URL("../src/consumer/group/heartbeat_worker.ts", import.meta.url).href,
    { type: "module" },
  );
  try {
    const closed = new Promise<void>((resolve) => {
      worker.onmessage = (e) => {
        if (e.data?.type === "closed") resolve();
      };
    });
    worker.postMessage({ type: "close" });
    await withTimeout(closed, 60_000, "the heartbeat worker to load");
  } finally {
    worker.terminate();
  }
}

/** A fresh consumer with {@linkcode fastOptions}. */
export function fastConsumer(extra: Partial<ConsumerOptions>): Consumer {
  return new Consumer(fastOptions(extra));
}
