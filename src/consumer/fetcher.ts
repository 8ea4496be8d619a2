/**
 * The fetcher: one loop per broker for the partitions it leads, each holding
 * a cursor per partition (franz-go calls the per-broker part a "source").
 *
 * A loop sends the next Fetch as soon as the previous response is in the
 * buffer, so fetching overlaps the reader's processing; it sends nothing while
 * the buffer's byte budget is spent (backpressure), and sends no partition
 * that is paused, backing off, or already in a Fetch. Responses are not
 * decoded here: a header walk finds where the next fetch starts, and the
 * consumer decodes when the reader pulls.
 *
 * @module
 */

import type { Cluster } from "../net/cluster.ts";
import { AuthenticationError, TlsError, UnsupportedVersionError } from "../net/errors.ts";
import { ErrorCode, errorInfo } from "../protocol/error_codes.ts";
import { CorruptDataError, KafkaProtocolError } from "../protocol/errors.ts";
import { FetchApi, type FetchRequest, type FetchResponse } from "../protocol/messages/fetch.ts";
import { ZERO_UUID } from "../protocol/reader.ts";
import { FetchSession, type SessionPartition } from "./fetch_session.ts";
import { scanRecordBatches } from "../protocol/wire_batch_scan.ts";
import { backoffMs, delay, sleep } from "../util/async.ts";
import type { ResolvedCommonOptions } from "../config.ts";
import type { FetchBuffer } from "./fetch_buffer.ts";
import { groupByTopic, partitionKey } from "../util/partitions.ts";
import type { PartitionStates, PartitionView, SentPartition } from "./partition_state.ts";

/** The consumer's options the fetcher reads, as resolved. */
export type FetcherOptions = Pick<
  ResolvedCommonOptions,
  | "fetchMinBytes"
  | "fetchMaxWaitMs"
  | "fetchMaxBytes"
  | "maxPartitionFetchBytes"
  | "isolationLevel"
  | "requestTimeoutMs"
  | "retryBackoff"
  | "reconnectBackoff"
  | "logger"
>;

/** What the fetcher asks of the consumer. */
export interface FetcherHooks {
  /** OFFSET_OUT_OF_RANGE: reset the partition's position (or fail the consumer). */
  outOfRange(partition: PartitionView): Promise<void>;
  /**
   * The leader's log diverged from what was fetched (KIP-320): its history
   * ends at `divergentOffset`, below the cursor's position. Resume there (or
   * fail the consumer).
   */
  truncated(partition: PartitionView, divergentOffset: bigint): void;
  /** An unrecoverable error: end the stream. */
  fatal(error: Error): void;
  /** A started partition has no leader in metadata (`reason`), or has one again (null). */
  unavailable(partition: PartitionView, reason: string | null): void;
}

/** Fetches assigned partitions from their leaders into the buffer. */
export class Fetcher {
  readonly #cluster: Cluster;
  readonly #buffer: FetchBuffer;
  readonly #opts: FetcherOptions;
  readonly #hooks: FetcherHooks;
  readonly #signal: AbortSignal;
  readonly #states: PartitionStates;
  /** Kafka's isolation level number: 0 read_uncommitted, 1 read_committed. */
  readonly #isolation: 0 | 1;
  readonly #loops = new Map<number, Promise<void>>();
  #wakers: Array<() => void> = [];
  #metadataRefresh: Promise<void> | null = null;
  #wakePending = false;
  #lastRefresh = 0;

  /**
   * A fetcher for the started partitions of `states`, whose answers go
   * into `buffer` (through `states`); its loops end when `signal` aborts.
   */
  constructor(
    cluster: Cluster,
    states: PartitionStates,
    buffer: FetchBuffer,
    opts: FetcherOptions,
    hooks: FetcherHooks,
    signal: AbortSignal,
  ) {
    this.#cluster = cluster;
    this.#states = states;
    this.#buffer = buffer;
    this.#opts = opts;
    this.#isolation = opts.isolationLevel === "read_committed" ? 1 : 0;
    this.#hooks = hooks;
    this.#signal = signal;
  }

  /**
   * Wakes the loops: something changed (a partition added or resumed, buffer
   * space). Deferred to a microtask so that partitions added together (an
   * assignment) go out in one Fetch, not one partition first.
   */
  wake(): void {
    if (this.#wakePending) return;
    this.#wakePending = true;
    queueMicrotask(() => {
      this.#wakePending = false;
      const w = this.#wakers;
      this.#wakers = [];
      for (const f of w) f();
      this.#ensureLoops();
    });
  }

  /** The partitions to fetch: assigned, and started (past onAssigned). */
  *#started(): IterableIterator<PartitionView> {
    for (const v of this.#states.views()) if (v.started) yield v;
  }

  #ensureLoops(): void {
    if (this.#signal.aborted) return;
    let missing = false;
    for (const c of this.#started()) {
      let leader: number;
      try {
        leader = this.#cluster.leaderOf(c.topic, c.partition);
      } catch {
        missing = true;
        this.#hooks.unavailable(c, this.#whyNoLeader(c));
        continue;
      }
      this.#hooks.unavailable(c, null);
      if (!this.#loops.has(leader)) {
        const loop = this.#brokerLoop(leader).catch((e) => {
          this.#opts.logger.error("fetch loop failed", { broker: leader, error: e });
          this.#hooks.fatal(e instanceof Error ? e : new Error(String(e)));
        }).finally(() => {
          this.#loops.delete(leader);
          // Partitions may have moved to this broker meanwhile.
          if (!this.#signal.aborted) queueMicrotask(() => this.#ensureLoops());
        });
        this.#loops.set(leader, loop);
      }
    }
    // Look again with backoff (retryBackoffMs up to retryBackoffMaxMs):
    // a partition may be created or get a leader later.
    if (missing) this.#refreshSoon(this.#missingRounds++);
    else this.#missingRounds = 0;
  }

  #missingRounds = 0;

  /** Kafka's answer for a partition without a known leader, in words. */
  #whyNoLeader(c: PartitionView): string {
    const t = this.#cluster.topics.get(c.topic);
    if (t === undefined) return "not in the cluster metadata yet";
    if (t.errorCode !== 0) return errorInfo(t.errorCode).name;
    const p = t.partitions.get(c.partition);
    if (p === undefined) {
      return `the topic has ${t.partitions.size} partition${t.partitions.size === 1 ? "" : "s"}`;
    }
    return p.errorCode !== 0 ? errorInfo(p.errorCode).name : "no leader right now";
  }

  #refreshSoon(attempt = 0): void {
    if (this.#metadataRefresh || this.#signal.aborted) return;
    const pause = attempt === 0
      ? this.#opts.retryBackoff.initialMs
      : backoffMs(attempt, this.#opts.retryBackoff);
    const wait = Math.max(0, this.#lastRefresh + pause - Date.now());
    this.#metadataRefresh = (async () => {
      try {
        if (wait > 0) await delay(wait, this.#signal);
        const topics = [...new Set([...this.#started()].map((c) => c.topic))];
        await this.#cluster.refreshMetadata(topics);
      } catch (e) {
        if (!this.#signal.aborted) this.#opts.logger.warn("metadata refresh failed", { error: e });
      } finally {
        this.#lastRefresh = Date.now();
        this.#metadataRefresh = null;
      }
      if (!this.#signal.aborted) this.wake();
    })();
  }

  /** Partitions ready to fetch from `leader`. */
  #ready(leader: number, now: number): PartitionView[] {
    const out: PartitionView[] = [];
    for (const c of this.#started()) {
      if (c.paused || c.inFlight || c.resetting || c.retryAt > now) continue;
      let l: number;
      try {
        l = this.#cluster.leaderOf(c.topic, c.partition);
      } catch {
        continue;
      }
      if (l === leader) out.push(c);
    }
    return out;
  }

  #hasPartitionsOn(leader: number): boolean {
    for (const c of this.#started()) {
      try {
        if (this.#cluster.leaderOf(c.topic, c.partition) === leader) return true;
      } catch {
        // unknown leader: not this broker's
      }
    }
    return false;
  }

  async #idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wakers.push(done);
      this.#signal.addEventListener("abort", done, { once: true });
    });
  }

  async #brokerLoop(leader: number): Promise<void> {
    let connErrors = 0;
    const session = new FetchSession();
    const leaderEpoch = (p: SessionPartition) =>
      this.#cluster.topics.get(p.topic)?.partitions.get(p.partition)?.leaderEpoch ?? -1;
    while (!this.#signal.aborted && this.#hasPartitionsOn(leader)) {
      const now = Date.now();
      const ready = this.#ready(leader, now);
      if (ready.length === 0) {
        let next = Infinity;
        for (const c of this.#started()) {
          if (c.retryAt > now) next = Math.min(next, c.retryAt);
        }
        await this.#idle(Number.isFinite(next) ? Math.max(1, next - now) : 1000);
        continue;
      }
      // The gate: fetch only with budget left, at most fetchMaxBytes, and at
      // most a fair share of the budget per broker loop — a long-polling
      // Fetch holds its reservation, and one loop holding it all (even
      // polling a drained partition) starved the partitions led by other
      // brokers. A share below 64 KiB is fine: a broker returns at least one
      // whole batch however small the limit (KIP-74).
      const share = Math.max(1, Math.floor(this.#buffer.capacity / Math.max(1, this.#loops.size)));
      const minimum = Math.min(this.#opts.maxPartitionFetchBytes, 64 * 1024, share);
      const reserved = this.#buffer.tryReserve(minimum, Math.min(this.#opts.fetchMaxBytes, share));
      if (reserved === 0) {
        await this.#buffer.whenSpace(this.#signal);
        continue;
      }
      const sent = this.#states.send(ready);
      let res: FetchResponse;
      const plan = session.next(ready, leaderEpoch);
      try {
        const conn = await this.#cluster.connection(leader, "fetch");
        res = await conn.send(FetchApi, {
          maxWaitMs: this.#opts.fetchMaxWaitMs,
          minBytes: this.#opts.fetchMinBytes,
          maxBytes: reserved,
          isolationLevel: this.#isolation,
          sessionId: plan.sessionId,
          sessionEpoch: plan.sessionEpoch,
          topics: this.#topics(plan.send, leaderEpoch),
          forgottenTopicsData: this.#forgotten(plan.forget),
          rackId: "",
        }, { timeoutMs: this.#opts.requestTimeoutMs + this.#opts.fetchMaxWaitMs });
        connErrors = 0;
      } catch (e) {
        session.reset();
        this.#states.sent(sent);
        this.#buffer.release(reserved);
        if (this.#signal.aborted) return;
        if (
          e instanceof AuthenticationError || e instanceof TlsError ||
          e instanceof UnsupportedVersionError
        ) {
          // Credentials, certificates, or a broker too old for our Fetch
          // versions: reconnecting would fail the same way.
          this.#hooks.fatal(e);
          return;
        }
        this.#opts.logger.warn("fetch failed; retrying", { broker: leader, error: e });
        this.#refreshSoon();
        if (!(await sleep(backoffMs(connErrors++, this.#opts.reconnectBackoff), this.#signal))) {
          return;
        }
        continue;
      }
      this.#states.sent(sent);
      if (
        res.errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND ||
        res.errorCode === ErrorCode.INVALID_FETCH_SESSION_EPOCH ||
        res.errorCode === ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR
      ) {
        this.#opts.logger.debug("fetch session reset", { broker: leader, code: res.errorCode });
        session.reset();
        this.#buffer.release(reserved);
        continue;
      }
      if (res.errorCode === 0) session.onResponse(res.sessionId);
      else session.reset();
      const used = await this.#handle(res, sent, reserved);
      this.#buffer.release(reserved - used);
      if (res.throttleTimeMs > 0) {
        if (!(await sleep(res.throttleTimeMs, this.#signal))) return;
      }
    }
  }

  /** Applies a response; returns the bytes charged to the buffer. */
  async #handle(res: FetchResponse, sent: SentPartition[], reserved: number): Promise<number> {
    if (res.errorCode !== 0) {
      // Session errors cannot happen without sessions; anything else here is
      // broker-wide: back off every partition of the request.
      const err = KafkaProtocolError.from(res.errorCode, { apiName: "Fetch" });
      if (!err.retriable) {
        this.#hooks.fatal(err);
        return 0;
      }
      for (const s of sent) this.#backoff(s.view);
      return 0;
    }
    let used = 0;
    const bySent = new Map(sent.map((s) => [partitionKey(s.view.topic, s.view.partition), s]));
    for (const t of res.responses) {
      const topic = t.topic || this.#cluster.topicName(t.topicId) || "";
      for (const p of t.partitions) {
        const s = bySent.get(partitionKey(topic, p.partitionIndex));
        // Revoked, seeked or re-assigned while the Fetch was out: drop it.
        if (!s || !this.#states.current(s)) continue;
        if (p.errorCode !== 0) {
          await this.#partitionError(s.view, p.errorCode);
          continue;
        }
        this.#states.answered(s, p.highWatermark, p.lastStableOffset);
        const diverging = p.divergingEpoch;
        if (diverging !== undefined && diverging.epoch >= 0 && diverging.endOffset >= 0n) {
          this.#hooks.truncated(s.view, diverging.endOffset);
          continue;
        }
        const data = p.records;
        if (!data || data.length === 0) continue;
        const scan = scanRecordBatches(data);
        if (scan.nextOffset === null || scan.nextOffset <= s.position) {
          if (scan.firstBatchSize !== null && scan.firstBatchSize > reserved) {
            this.#opts.logger.warn("a batch is larger than the fetch size", {
              topic,
              partition: p.partitionIndex,
              offset: s.position,
              batchBytes: scan.firstBatchSize,
            });
          }
          continue;
        }
        used += data.length;
        this.#states.fetched(s, {
          data,
          nextOffset: scan.nextOffset,
          lastEpoch: scan.lastEpoch,
          highWatermark: p.highWatermark,
          abortedTransactions: this.#isolation === 1 ? (p.abortedTransactions ?? []) : null,
        });
      }
    }
    return used;
  }

  async #partitionError(c: PartitionView, code: number): Promise<void> {
    const where = { apiName: "Fetch", topic: c.topic, partition: c.partition };
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      await this.#states.resetting(c, () => this.#hooks.outOfRange(c));
      return;
    }
    // The leader may have moved (the error table's refreshMetadata flag).
    if (errorInfo(code).refreshMetadata) {
      this.#opts.logger.info("partition leader changed or unknown; refreshing metadata", {
        ...where,
        code,
      });
      this.#backoff(c);
      this.#refreshSoon();
      return;
    }
    const err = KafkaProtocolError.from(code, where);
    if (code === ErrorCode.CORRUPT_MESSAGE) {
      // Never skipped, never retried in silence (GUIDE §6): the broker's copy
      // of the data at this offset is damaged, and retrying reads it again.
      this.#hooks.fatal(
        new CorruptDataError(
          "The broker reported CORRUPT_MESSAGE (2) for the record data at this offset; " +
            "check the broker's log and disks, or seek past the damaged records",
          { topic: c.topic, partition: c.partition, offset: c.position },
          { cause: err },
        ),
      );
      return;
    }
    // UNKNOWN_SERVER_ERROR is not retriable in general, but Kafka's Java
    // consumer retries it on Fetch (the broker may succeed next time).
    if (err.retriable || code === ErrorCode.UNKNOWN_SERVER_ERROR) {
      this.#backoff(c);
      return;
    }
    this.#hooks.fatal(err);
  }

  #backoff(c: PartitionView): void {
    this.#states.backoff(c, (errors) => backoffMs(errors, this.#opts.retryBackoff));
  }

  #topics(
    partitions: readonly SessionPartition[],
    leaderEpoch: (p: SessionPartition) => number,
  ): FetchRequest["topics"] {
    const byTopic = groupByTopic(partitions, (p) => ({
      partition: p.partition,
      fetchOffset: p.position,
      // Constant per partition (the response as a whole is bounded by the
      // reservation), so a session does not resend partitions for it.
      partitionMaxBytes: this.#opts.maxPartitionFetchBytes,
      currentLeaderEpoch: leaderEpoch(p),
      lastFetchedEpoch: p.lastFetchedEpoch ?? -1,
    }));
    return [...byTopic].map(([topic, parts]) => ({
      topic,
      topicId: this.#cluster.topics.get(topic)?.topicId ?? ZERO_UUID,
      partitions: parts,
    }));
  }

  #forgotten(
    list: ReadonlyArray<{ topic: string; partition: number }>,
  ): FetchRequest["forgottenTopicsData"] {
    const byTopic = groupByTopic(list, (p) => p.partition);
    return [...byTopic].map(([topic, partitions]) => ({
      topic,
      topicId: this.#cluster.topics.get(topic)?.topicId ?? ZERO_UUID,
      partitions,
    }));
  }

  /** Resolves when every broker loop has ended (after the signal aborted). */
  async stopped(): Promise<void> {
    await Promise.allSettled([...this.#loops.values(), this.#metadataRefresh]);
  }
}
