/**
 * The Consumer: a `ReadableStream` of record batches (GUIDE §2).
 *
 * The stream holds nothing (highWaterMark 0): fetched data waits in the
 * byte-bounded {@linkcode FetchBuffer}, and `pull()` decodes the oldest chunk
 * and hands it over as one {@linkcode RecordBatch}. Acks go to the
 * {@linkcode AckTracker}; commits send its longest acknowledged prefixes.
 * Group membership and heartbeats run apart from the reader.
 *
 * @module
 */

import {
  type AssignedPartition,
  ConfigError,
  type ConsumerOptions,
  type OffsetSpec,
  type ResolvedOptions,
  resolveOptions,
  type TopicPartition,
} from "../config.ts";
import { Cluster, type ClusterOptions } from "../net/cluster.ts";
import { RequestTimeoutError, UnsupportedVersionError } from "../net/errors.ts";
import { CorruptDataError, KafkaError, KafkaProtocolError } from "../protocol/errors.ts";
import { LogTruncationError } from "./errors.ts";
import { ErrorCode, errorInfo } from "../protocol/error_codes.ts";
import { decodeRecordBatches } from "../protocol/wire_batch.ts";
import { backoffMs, delay, sleep } from "../util/async.ts";
import { FetchBuffer } from "./fetch_buffer.ts";
import { Fetcher } from "./fetcher.ts";
import { PartitionStates, type PartitionView } from "./partition_state.ts";
import { type CommittedOffset, GroupClient, type GroupDescription } from "../net/group_client.ts";
import { partitionKey } from "../util/partitions.ts";
import { Membership, type MembershipHooks } from "./group/membership.ts";
import { ConsumerGroupMembership } from "./group/consumer_membership.ts";
import { Liveness } from "./group/liveness.ts";
import { AckTracker, type Ticket } from "./offsets/ack_tracker.ts";
import { listOffset, lookupOffset, type OffsetQuery } from "./offsets/list_offsets.ts";
import { clusterOptions } from "../options/client.ts";
import { RecordBatch } from "./record_batch.ts";
import { Unavailable, type UnavailablePartition } from "./unavailable.ts";

/**
 * One partition's numbers from {@linkcode Consumer.lag}.
 *
 * @example
 * ```ts
 * import type { Consumer, PartitionLag } from "@sluice/kafka";
 * function mostBehind(consumer: Consumer): PartitionLag | undefined {
 *   return consumer.lag().sort((a, b) => Number((b.lag ?? 0n) - (a.lag ?? 0n)))[0];
 * }
 * ```
 */
export interface PartitionLag {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Next offset to be delivered to the reader. */
  position: bigint;
  /** Last offset committed by this consumer (or read from the group), null if none. */
  committed: bigint | null;
  /** High watermark at the last fetch, -1 before the first. */
  highWatermark: bigint;
  /** High watermark (last stable offset under read_committed) minus position; null before the first fetch. */
  lag: bigint | null;
}

/**
 * An offset of a partition, from {@linkcode Consumer.beginningOffsets},
 * {@linkcode Consumer.endOffsets} or {@linkcode Consumer.offsetsForTimes}.
 *
 * @example
 * ```ts
 * import type { PartitionOffset } from "@sluice/kafka";
 * const end: PartitionOffset = { topic: "orders", partition: 0, offset: 1042n };
 * ```
 */
export interface PartitionOffset {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The offset. */
  offset: bigint;
}

/**
 * Where {@linkcode Consumer.seek} moves a partition: an offset, the
 * earliest or latest offset, or the first offset at or after a timestamp —
 * the same choices as an `assign` entry's `offset` ({@linkcode OffsetSpec}).
 *
 * @example
 * ```ts
 * import type { SeekTarget } from "@sluice/kafka";
 * const targets: SeekTarget[] = [0n, "earliest", "latest", { timestamp: Date.now() - 60_000 }];
 * ```
 */
export type SeekTarget = OffsetSpec;

/**
 * A Kafka consumer whose records arrive as a `ReadableStream` of
 * {@linkcode RecordBatch}es. Subscribe mode (`groupId` + `topics`) joins a
 * consumer group; assign mode (`assign`) reads the given partitions.
 *
 * Offsets are committed only for acknowledged batches (`batch.ack()`): the
 * `nextOffset` of the longest acknowledged prefix of each partition.
 *
 * @example
 * ```ts
 * import { Consumer } from "@sluice/kafka";
 *
 * await using consumer = new Consumer({
 *   brokers: ["127.0.0.1:9092"],
 *   groupId: "billing",
 *   topics: ["orders"],
 *   autoOffsetReset: "earliest",
 * });
 * for await (const batch of consumer) {
 *   for (const record of batch.records) console.log(record.offset);
 *   batch.ack();
 * }
 * ```
 */
export class Consumer implements AsyncIterable<RecordBatch>, AsyncDisposable {
  /** The stream of batches; the consumer's async iterator reads the same stream. */
  readonly readable: ReadableStream<RecordBatch>;
  readonly #opts: ResolvedOptions;
  readonly #cluster: Cluster;
  readonly #buffer: FetchBuffer;
  readonly #tracker = new AckTracker();
  readonly #states: PartitionStates;
  readonly #fetcher: Fetcher;
  readonly #stop = new AbortController();
  readonly #group: GroupClient | null;
  #membership: Membership | ConsumerGroupMembership | null = null;
  /** Commit refusals of a generation a rejoin already replaces (see #commit). */
  readonly #supersededCommits = new WeakSet<Error>();
  #started: Promise<void> | null = null;
  readonly #unavailable: Unavailable;
  #startSettled = false;
  #closing: Promise<void> | null = null;
  #closed = false;
  #error: Error | null = null;
  /** Liveness shared with the heartbeat task (which may run in a Worker). */
  readonly #liveness = new Liveness();
  readonly #clusterOptions: ClusterOptions;
  #commitChain: Promise<void> = Promise.resolve();
  #controller: ReadableStreamDefaultController<RecordBatch> | null = null;
  #streamDone = false;
  #loops: Promise<void>[] = [];

  /**
   * Validates the options (a wrong one throws {@linkcode ConfigError} naming
   * it); nothing connects until the stream is first read.
   */
  constructor(options: ConsumerOptions) {
    this.#opts = resolveOptions(options);
    const o = this.#opts;
    this.#clusterOptions = clusterOptions(o, this.#stop.signal);
    this.#cluster = new Cluster(this.#clusterOptions);
    this.#unavailable = new Unavailable(o.logger);
    this.#buffer = new FetchBuffer(o.maxBufferedBytes);
    this.#states = new PartitionStates(this.#tracker, this.#buffer);
    this.#fetcher = new Fetcher(this.#cluster, this.#states, this.#buffer, o, {
      outOfRange: (c) => this.#resetOutOfRange(c),
      truncated: (c, at) => this.#truncated(c, at),
      fatal: (e) => this.#fail(e),
      unavailable: (c, reason) =>
        reason === null
          ? this.#unavailable.clear(c.topic, c.partition)
          : this.#unavailable.mark(c.topic, c.partition, reason),
    }, this.#stop.signal);
    this.#states.onChange(() => this.#fetcher.wake());
    this.#group = o.groupId
      ? new GroupClient(this.#cluster, o.groupId, this.#stop.signal, 20, o.retryBackoff)
      : null;
    this.readable = new ReadableStream<RecordBatch>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: (controller) => this.#pull(controller),
      cancel: () => this.#close(false),
    }, { highWaterMark: 0 });
    if (o.signal) {
      if (o.signal.aborted) void this.close();
      else o.signal.addEventListener("abort", () => void this.close(), { once: true });
    }
  }

  /**
   * Iterates the batches of {@linkcode Consumer.readable}; `break` closes the consumer.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["orders"] });
   * for await (const batch of consumer) {
   *   console.log(batch.topic, batch.partition, batch.records.length);
   *   batch.ack();
   * }
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<RecordBatch> {
    return this.readable[Symbol.asyncIterator]();
  }

  /**
   * Closes the consumer (`await using`), as {@linkcode Consumer.close}.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * {
   *   await using consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["t"] });
   *   for await (const batch of consumer) {
   *     batch.ack();
   *     break;
   *   }
   * } // committed and left the group here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Commits the acknowledged offsets now. Valid inside `onRevoked`. Needs a
   * `groupId`.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["orders"] });
   * for await (const batch of consumer) {
   *   batch.ack();
   *   await consumer.commit(); // with commit: "manual", only here
   * }
   * ```
   */
  async commit(): Promise<void> {
    this.#checkOpen("commit");
    if (!this.#group) {
      throw new ConfigError([{
        field: "groupId",
        reason: "commit() needs a groupId to commit to",
      }]);
    }
    try {
      await this.#commit();
    } catch (e) {
      // As in auto mode: a commit refused for the generation (rebalance,
      // unknown member, illegal generation) means this member must rejoin.
      this.#rejoinAfterCommit(e);
      throw e;
    }
  }

  /**
   * Stops fetching, waits up to `closeTimeoutMs` for outstanding acks,
   * commits (auto mode), leaves the group, closes sockets and ends the
   * stream. Idempotent.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["orders"] });
   * Deno.addSignalListener("SIGTERM", () => void consumer.close());
   * ```
   */
  close(): Promise<void> {
    return this.#close(true);
  }

  /**
   * The partitions assigned now (in assign mode: the configured ones, from the start).
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["orders"] });
   * console.log(consumer.assignment()); // [] until the group assigns some
   * ```
   */
  assignment(): TopicPartition[] {
    this.#checkOpen("assignment");
    const o = this.#opts;
    if (o.mode === "assign" && !this.#started) {
      return o.assign.map((a) => ({ topic: a.topic, partition: a.partition }));
    }
    return this.#states.assigned();
  }

  /**
   * Stops delivering and fetching these partitions until {@linkcode Consumer.resume}.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["orders"] });
   * for await (const batch of consumer) {
   *   const tp = { topic: batch.topic, partition: batch.partition };
   *   consumer.pause([tp]); // e.g. while a downstream system is busy
   *   setTimeout(() => consumer.resume([tp]), 1000);
   *   batch.ack();
   * }
   * ```
   */
  pause(partitions: readonly TopicPartition[]): void {
    this.#checkOpen("pause");
    for (const tp of partitions) {
      if (!this.#states.get(tp)) throw this.#notAssigned("pause", tp);
    }
    for (const tp of partitions) this.#states.pause(tp);
  }

  /**
   * Resumes paused partitions.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["orders"] });
   * const tp = { topic: "orders", partition: 0 };
   * consumer.resume([tp]);
   * ```
   */
  resume(partitions: readonly TopicPartition[]): void {
    this.#checkOpen("resume");
    for (const tp of partitions) {
      if (!this.#states.get(tp)) throw this.#notAssigned("resume", tp);
    }
    for (const tp of partitions) this.#states.resume(tp);
  }

  /**
   * Moves an assigned partition: to an offset, the earliest or latest, or
   * the first offset at or after a timestamp. Batches already delivered from
   * before the seek are fenced (`ack()` returns false). Works inside
   * `onAssigned` and, in assign mode, before the first read.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["orders"] });
   * await consumer.seek({ topic: "orders", partition: 0 }, { timestamp: Date.now() - 3_600_000 });
   * ```
   */
  async seek(tp: TopicPartition, to: SeekTarget): Promise<void> {
    this.#checkOpen("seek");
    // Assign mode knows its partitions before the first read: start now,
    // so the seek sets where fetching begins (as Java's seek() before poll()).
    if (this.#opts.mode === "assign" && !this.#started) await this.#ensureStarted();
    if (!this.#states.get(tp)) throw this.#notAssigned("seek", tp);
    const offset = typeof to === "bigint" ? to : await listOffset(
      this.#cluster,
      tp.topic,
      tp.partition,
      to,
      this.#isolation(),
      this.#stop.signal,
      this.#opts.retryBackoff,
    );
    if (!this.#states.get(tp)) throw this.#notAssigned("seek", tp);
    this.#states.seekTo(tp, offset);
  }

  /**
   * The next offset to be delivered for an assigned partition (Java's
   * `position()`): one past the last record delivered, or where reading
   * starts.
   *
   * @throws {KafkaError} When the partition is not assigned to this consumer.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", assign: [{ topic: "t", partition: 0 }] });
   * for await (const batch of consumer) {
   *   consumer.position({ topic: "t", partition: 0 }) === batch.nextOffset; // true
   *   break;
   * }
   * ```
   */
  position(tp: TopicPartition): bigint {
    this.#checkOpen("position");
    const lag = this.lag().find((l) => l.topic === tp.topic && l.partition === tp.partition);
    if (!lag) throw this.#notAssigned("position", tp);
    return lag.position;
  }

  /**
   * The group's committed offsets (Java's `committed()`), read from the
   * coordinator: of `partitions`, or of this consumer's assignment. Offset
   * null where nothing is committed.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["t"] });
   * const [c] = await consumer.committed([{ topic: "t", partition: 0 }]);
   * console.log(c.offset); // null before the first commit
   * ```
   */
  async committed(partitions?: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    this.#checkOpen("committed");
    if (!this.#group) {
      throw new ConfigError([{ field: "groupId", reason: "committed() needs a groupId" }]);
    }
    return await this.#group.committed(partitions ?? this.assignment());
  }

  /**
   * The log start offset of each partition (Java's `beginningOffsets()`).
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", assign: [{ topic: "t", partition: 0 }] });
   * const [start] = await consumer.beginningOffsets([{ topic: "t", partition: 0 }]);
   * ```
   */
  beginningOffsets(partitions: readonly TopicPartition[]): Promise<PartitionOffset[]> {
    return this.#lookup("beginningOffsets", partitions.map((tp) => [tp, "earliest"]));
  }

  /**
   * The log end offset of each partition (Java's `endOffsets()`): the high
   * watermark, or the last stable offset under `read_committed`.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", assign: [{ topic: "t", partition: 0 }] });
   * const [end] = await consumer.endOffsets([{ topic: "t", partition: 0 }]);
   * ```
   */
  endOffsets(partitions: readonly TopicPartition[]): Promise<PartitionOffset[]> {
    return this.#lookup("endOffsets", partitions.map((tp) => [tp, "latest"]));
  }

  /**
   * For each partition, the first offset whose record's timestamp is at or
   * after `timestamp` (ms since the epoch), or null when there is none
   * (Java's `offsetsForTimes()`).
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", assign: [{ topic: "t", partition: 0 }] });
   * const [hourAgo] = await consumer.offsetsForTimes([
   *   { topic: "t", partition: 0, timestamp: Date.now() - 3_600_000 },
   * ]);
   * if (hourAgo.offset !== null) await consumer.seek(hourAgo, hourAgo.offset);
   * ```
   */
  offsetsForTimes(
    queries: readonly (TopicPartition & { timestamp: number })[],
  ): Promise<(Omit<PartitionOffset, "offset"> & { offset: bigint | null })[]> {
    return this.#lookup(
      "offsetsForTimes",
      queries.map((q) => [q, { timestamp: q.timestamp }]),
      true,
    );
  }

  async #lookup(
    method: string,
    queries: [TopicPartition, OffsetQuery][],
    nullWhenNone = false,
  ): Promise<PartitionOffset[]> {
    this.#checkOpen(method);
    return await Promise.all(queries.map(async ([tp, query]) => {
      const args = [
        this.#cluster,
        tp.topic,
        tp.partition,
        query,
        this.#isolation(),
        this.#stop.signal,
        this.#opts.retryBackoff,
      ] as const;
      const offset = nullWhenNone ? await lookupOffset(...args) : await listOffset(...args);
      return { topic: tp.topic, partition: tp.partition, offset: offset as bigint };
    }));
  }

  /**
   * What this consumer wants and cannot read now, with Kafka's answer: a
   * subscribed topic that does not exist, an assigned partition beyond the
   * topic's count, a partition without a leader. Each is also logged as a
   * warning when it appears; the consumer keeps looking (with backoff) and
   * reads it once it exists, as Kafka's Java consumer does.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({
   *   brokers: "127.0.0.1:9092",
   *   assign: [{ topic: "orders", partition: 7 }],
   * });
   * for (const u of consumer.unavailable()) console.warn(u.topic, u.partition, u.reason);
   * ```
   */
  unavailable(): UnavailablePartition[] {
    return this.#unavailable.list();
  }

  /** Starts the consumer once (bootstrap, group join or assignment); the first read does. */
  #ensureStarted(): Promise<void> {
    this.#started ??= this.#start().finally(() => this.#startSettled = true);
    return this.#started;
  }

  /**
   * Per assigned partition: position, committed offset, high watermark and lag.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["orders"] });
   * const behind = consumer.lag().reduce((n, p) => n + (p.lag ?? 0n), 0n);
   * ```
   */
  lag(): PartitionLag[] {
    this.#checkOpen("lag");
    const acks = new Map(
      this.#tracker.snapshot().map((s) => [partitionKey(s.topic, s.partition), s]),
    );
    const readCommitted = this.#isolation() === 1;
    return [...this.#states.views()].map((c) => {
      const s = acks.get(partitionKey(c.topic, c.partition));
      const position = s?.position ?? c.position;
      const hw = c.highWatermark;
      const end = readCommitted && c.lastStableOffset >= 0n ? c.lastStableOffset : hw;
      return {
        topic: c.topic,
        partition: c.partition,
        position,
        committed: s?.lastCommitted ?? null,
        highWatermark: hw,
        lag: end >= 0n && position >= 0n ? (end > position ? end - position : 0n) : null,
      };
    });
  }

  /**
   * The broker's view of the group: state, protocol, members and their assignments.
   *
   * @example
   * ```ts
   * import { Consumer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["orders"] });
   * const group = await consumer.describeGroup();
   * console.log(group.state, group.members.length);
   * ```
   */
  async describeGroup(): Promise<GroupDescription> {
    this.#checkOpen("describeGroup");
    if (!this.#group) {
      throw new ConfigError([{ field: "groupId", reason: "describeGroup() needs a groupId" }]);
    }
    return await this.#group.describe();
  }

  // ---------------------------------------------------------------------
  // the stream

  async #pull(controller: ReadableStreamDefaultController<RecordBatch>): Promise<void> {
    // A pending read is the reader asking: the poll bound does not run.
    this.#liveness.pulling(true);
    try {
      await this.#ensureStarted();
      if (this.#membership?.takeLeftForPollBound() && !this.#closing) {
        this.#membership.requestRejoin("the reader asked again after maxPollIntervalMs");
      }
      while (true) {
        if (this.#error) {
          // The reader hears of the error once the final commit and
          // LeaveGroup are done: a program exiting in its catch loses nothing.
          await this.#closing;
          this.#endStream(this.#error);
          return;
        }
        if (this.#closing) {
          this.#endStream(null);
          return;
        }
        // Peek first: the session check below must run before anything of
        // the buffer is handed over (or dropped as stale).
        if (this.#buffer.length === 0) {
          this.#fetcher.wake();
          await this.#buffer.whenData(this.#stop.signal);
          continue;
        }
        this.#fetcher.wake();
        // After a stall of the whole process, the group may have handed our
        // partitions to others: give them up before delivering anything.
        const loss = this.#membership?.loseIfFenced("before a delivery");
        if (loss) {
          await loss;
          continue;
        }
        const next = this.#states.takeDeliverable();
        if (!next) continue;
        const { chunk } = next;
        let records = chunk.records;
        if (records === undefined) {
          try {
            records = decodeRecordBatches(chunk.data, {
              topic: chunk.topic,
              partition: chunk.partition,
              fromOffset: chunk.fetchOffset,
              verifyCrc: this.#opts.checkCrcs,
              abortedTransactions: chunk.abortedTransactions,
            }).records;
          } catch (e) {
            this.#fail(e instanceof Error ? e : new Error(String(e)));
            continue;
          }
        }
        // maxBatchRecords: a longer batch goes out in pieces, the rest waits
        // in front of the buffer (its bytes still reserved).
        const max = this.#opts.maxBatchRecords;
        let nextOffset = chunk.nextOffset;
        let ticket: Ticket | null;
        if (max !== undefined && records.length > max) {
          const rest = records.slice(max);
          records = records.slice(0, max);
          nextOffset = records[max - 1].offset + 1n;
          ticket = this.#states.deliveredPart(next, nextOffset, rest);
        } else {
          ticket = this.#states.delivered(next, records.length > 0);
        }
        if (ticket === null) continue;
        // Again, right before handing over: a stall (SIGSTOP) between the
        // check above and here would otherwise deliver from a partition the
        // group gave away meanwhile (seen in a chaos run). The loss ends this
        // batch's incarnation, so nothing of it is committed; the new owner
        // reads it from the committed offset.
        const lateLoss = this.#membership?.loseIfFenced("at a delivery");
        if (lateLoss) {
          await lateLoss;
          continue;
        }
        const tracker = this.#tracker;
        const delivered = ticket;
        controller.enqueue(
          new RecordBatch({
            topic: chunk.topic,
            partition: chunk.partition,
            records,
            nextOffset,
            highWatermark: chunk.highWatermark,
            ack: (upTo) => this.#ack(tracker, delivered, upTo),
            signal: delivered.incarnation.signal,
          }),
        );
        return;
      }
    } catch (e) {
      this.#fail(e instanceof Error ? e : new Error(String(e)));
      await this.#closing;
      this.#endStream(this.#error);
    } finally {
      this.#liveness.pulling(false);
    }
  }

  /**
   * `batch.ack()`: false when the batch's incarnation ended, or may have —
   * the membership was lost or left, or no heartbeat was answered within
   * `sessionTimeoutMs` (the group may have given the partition away). The
   * partitions are then given up as lost, so that false stays the truth.
   */
  #ack(tracker: AckTracker, ticket: Ticket, upTo?: bigint): boolean {
    const loss = this.#membership?.loseIfFenced("by ack()");
    if (loss) {
      loss.catch((e) => this.#fail(e));
      return false;
    }
    return tracker.ack(ticket, upTo);
  }

  #endStream(error: Error | null): void {
    if (this.#streamDone || !this.#controller) return;
    this.#streamDone = true;
    try {
      if (error) this.#controller.error(error);
      else this.#controller.close();
    } catch {
      // the stream was cancelled already
    }
  }

  // ---------------------------------------------------------------------
  // start-up

  async #start(): Promise<void> {
    const o = this.#opts;
    if (o.mode === "assign") {
      const topics = [...new Set(o.assign.map((a) => a.topic))];
      // A Metadata answer that does not decode (damaged on the way) or does
      // not come is retried, a few times, with backoff (bootstrap failures
      // were retried by the cluster already).
      for (let attempt = 0;; attempt++) {
        try {
          await this.#cluster.refreshMetadata(topics);
          break;
        } catch (e) {
          const retry = e instanceof CorruptDataError || e instanceof RequestTimeoutError;
          if (!retry || attempt >= 4) throw e;
          await delay(backoffMs(attempt, this.#opts.retryBackoff), this.#stop.signal);
        }
      }
      // A partition the cluster does not have (yet) is waited for, not
      // failed: reported, looked for with backoff, started once it exists.
      const present = o.assign.filter((a) => this.#inMetadata(a));
      const missing = o.assign.filter((a) => !this.#inMetadata(a));
      this.#throwIfDenied(missing);
      const starts = await this.#assignStarts(present);
      // Assign mode has no group events (GUIDE §1): no onAssigned.
      for (const start of starts) start();
      if (missing.length > 0) this.#loops.push(this.#awaitAssigned(missing));
    } else {
      const hooks: MembershipHooks = {
        subscription: () => this.#subscription(),
        revoke: (partitions) => this.#revoke(partitions),
        lost: (reason) => this.#loseAll(reason),
        assigned: (tps) => this.#assign(tps),
        fatal: (e) => this.#fail(e),
      };
      this.#membership = o.groupProtocol === "consumer"
        ? new ConsumerGroupMembership(
          this.#cluster,
          this.#group!,
          {
            groupId: o.groupId,
            groupInstanceId: o.groupInstanceId ?? null,
            rebalanceTimeoutMs: o.rebalanceTimeoutMs,
            maxPollIntervalMs: o.maxPollIntervalMs,
            requestTimeoutMs: o.requestTimeoutMs,
            remoteAssignor: o.groupRemoteAssignor ?? null,
            topicsRegex: o.topicsRegex ?? null,
            heartbeatThread: o.heartbeatThread,
            cluster: this.#clusterOptions,
            retryBackoff: this.#opts.retryBackoff,
            logger: o.logger,
          },
          hooks,
          this.#liveness,
          this.#stop.signal,
        )
        : new Membership(
          this.#cluster,
          this.#group!,
          {
            groupId: o.groupId,
            groupInstanceId: o.groupInstanceId ?? null,
            sessionTimeoutMs: o.sessionTimeoutMs,
            rebalanceTimeoutMs: o.rebalanceTimeoutMs,
            heartbeatIntervalMs: o.heartbeatIntervalMs,
            maxPollIntervalMs: o.maxPollIntervalMs,
            heartbeatThread: o.heartbeatThread,
            cluster: this.#clusterOptions,
            requestTimeoutMs: o.requestTimeoutMs,
            assignors: o.assignors,
            retryBackoff: this.#opts.retryBackoff,
            logger: o.logger,
          },
          hooks,
          this.#liveness,
          this.#stop.signal,
        );
      this.#loops.push(this.#membership.done, this.#metadataLoop());
    }
    if (o.commit === "auto" && this.#group) this.#loops.push(this.#autoCommitLoop());
  }

  /** Whether metadata knows this partition (its topic exists with that many partitions). */
  #inMetadata(tp: TopicPartition): boolean {
    const t = this.#cluster.topics.get(tp.topic);
    return t !== undefined && t.errorCode === 0 && t.partitions.has(tp.partition);
  }

  /** Assign mode: start positions (committed, given, or reset) and what starts each. */
  async #assignStarts(partitions: AssignedPartition[]): Promise<Array<() => void>> {
    if (partitions.length === 0) return [];
    const committed = this.#group
      ? await this.#group.fetchOffsets(partitions)
      : new Map<string, bigint | null>();
    const starts: Array<() => void> = [];
    for (const a of partitions) {
      const spec: OffsetSpec | undefined = a.offset;
      let position: bigint;
      if (typeof spec === "bigint") position = spec;
      else if (spec !== undefined) {
        position = await listOffset(
          this.#cluster,
          a.topic,
          a.partition,
          spec,
          this.#isolation(),
          this.#stop.signal,
          this.#opts.retryBackoff,
        );
      } else {
        position = committed.get(partitionKey(a.topic, a.partition)) ??
          await this.#resetPosition(a);
      }
      starts.push(
        this.#startPartition(
          a,
          position,
          committed.get(partitionKey(a.topic, a.partition)) ?? null,
        ),
      );
    }
    return starts;
  }

  /** Assign mode: looks for partitions the cluster did not have, starts each once it does. */
  async #awaitAssigned(missing: AssignedPartition[]): Promise<void> {
    const topics = [...new Set(missing.map((a) => a.topic))];
    for (let attempt = 0; missing.length > 0 && !this.#stop.signal.aborted; attempt++) {
      for (const a of missing) this.#unavailable.mark(a.topic, a.partition, this.#whyMissing(a));
      if (!(await sleep(backoffMs(attempt, this.#opts.retryBackoff), this.#stop.signal))) return;
      try {
        await this.#cluster.refreshMetadata(topics);
        this.#throwIfDenied(missing);
        const now = missing.filter((a) => this.#inMetadata(a));
        if (now.length === 0) continue;
        missing = missing.filter((a) => !this.#inMetadata(a));
        for (const start of await this.#assignStarts(now)) start();
        for (const a of now) this.#unavailable.clear(a.topic, a.partition);
      } catch (e) {
        if (this.#stop.signal.aborted) return;
        if (e instanceof KafkaError && !e.retriable) {
          this.#fail(e);
          return;
        }
        this.#opts.logger.warn("looking for assigned partitions failed; retrying", { error: e });
      }
    }
  }

  /**
   * A topic metadata answers with an error no wait can fix (authorization,
   * an invalid name): the consumer fails at once, as before it waited.
   */
  #throwIfDenied(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const code = this.#cluster.topics.get(tp.topic)?.errorCode ?? 0;
      if (code !== 0 && !errorInfo(code).retriable) {
        throw KafkaProtocolError.from(code, { apiName: "Metadata", topic: tp.topic });
      }
    }
  }

  /** Kafka's answer for a partition metadata does not have, in words. */
  #whyMissing(tp: TopicPartition): string {
    const t = this.#cluster.topics.get(tp.topic);
    if (t === undefined) return "not in the cluster metadata";
    if (t.errorCode !== 0) return errorInfo(t.errorCode).name;
    return `the topic has ${t.partitions.size} partition${t.partitions.size === 1 ? "" : "s"}`;
  }

  async #subscription(): Promise<string[]> {
    const o = this.#opts;
    if (o.mode !== "subscribe") return [];
    if (Array.isArray(o.topics)) {
      // As Java's consumer: a named topic the principal may not read fails
      // the consumer (a RegExp just never matches what it cannot see).
      await this.#cluster.refreshMetadata(o.topics);
      for (const topic of o.topics) {
        const t = this.#cluster.topics.get(topic);
        if (t?.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED) {
          throw KafkaProtocolError.from(ErrorCode.TOPIC_AUTHORIZATION_FAILED, { topic });
        }
        // As Java's consumer: a missing topic is waited for, with a warning.
        if (t === undefined || t.errorCode !== 0 || t.partitions.size === 0) {
          const reason = t === undefined || t.errorCode === 0
            ? "not in the cluster metadata"
            : errorInfo(t.errorCode).name;
          this.#unavailable.mark(topic, null, reason);
        } else this.#unavailable.clear(topic, null);
      }
      return [...o.topics];
    }
    await this.#cluster.refreshMetadata(null);
    const re = o.topics;
    return [...this.#cluster.topics.keys()].filter((t) => !t.startsWith("__") && re.test(t)).sort();
  }

  /** Assigns a partition; returns what starts its fetching (after onAssigned). */
  #startPartition(tp: TopicPartition, position: bigint, committed: bigint | null): () => void {
    this.#states.assign(tp, position, committed);
    return () => this.#states.start(tp);
  }

  async #assign(partitions: TopicPartition[]): Promise<void> {
    if (partitions.length > 0) {
      await this.#cluster.refreshMetadata([...new Set(partitions.map((p) => p.topic))]);
    }
    // A consumer-protocol member's OffsetFetch carries its id and epoch: the
    // coordinator validates them (a stale epoch is retried once a heartbeat
    // moved it; a lost member throws: never a reset from a refused fetch).
    const m = this.#membership;
    const member = m instanceof ConsumerGroupMembership ? () => m.identity() : undefined;
    const committed = partitions.length > 0
      ? await this.#group!.fetchOffsets(partitions, member)
      : new Map();
    // Resets (ListOffsets) of partitions without a committed offset in parallel.
    const positions = await Promise.all(partitions.map((tp) => {
      const c = committed.get(partitionKey(tp.topic, tp.partition)) ?? null;
      return c ?? this.#resetPosition(tp);
    }));
    const starts = partitions.map((tp, i) =>
      this.#startPartition(
        tp,
        positions[i],
        committed.get(partitionKey(tp.topic, tp.partition)) ?? null,
      )
    );
    // onAssigned is awaited before the first Fetch of these partitions.
    await this.#callback("onAssigned", partitions);
    for (const start of starts) start();
  }

  /** The start position when nothing is committed: per autoOffsetReset. */
  async #resetPosition(tp: TopicPartition): Promise<bigint> {
    const reset = this.#opts.autoOffsetReset;
    if (reset === "none") {
      throw new KafkaError(
        `No committed offset for ${tp.topic}/${tp.partition} and autoOffsetReset is "none": ` +
          `commit a start offset for the group, or set autoOffsetReset to "earliest" or "latest"`,
      );
    }
    return await listOffset(
      this.#cluster,
      tp.topic,
      tp.partition,
      reset,
      this.#isolation(),
      this.#stop.signal,
      this.#opts.retryBackoff,
    );
  }

  async #resetOutOfRange(c: PartitionView): Promise<void> {
    const tp = { topic: c.topic, partition: c.partition };
    if (this.#opts.autoOffsetReset === "none") {
      this.#fail(
        KafkaProtocolError.from(ErrorCode.OFFSET_OUT_OF_RANGE, { apiName: "Fetch", ...tp }),
      );
      return;
    }
    const offset = await listOffset(
      this.#cluster,
      c.topic,
      c.partition,
      this.#opts.autoOffsetReset,
      this.#isolation(),
      this.#stop.signal,
      this.#opts.retryBackoff,
    );
    this.#opts.logger.warn("offset out of range; reset", { ...tp, from: c.position, to: offset });
    // Revoked or re-assigned during the lookup: that state's own position stands.
    if (this.#states.get(tp) !== c) return;
    this.#states.resetTo(tp, offset);
  }

  /**
   * KIP-320: the leader's log no longer holds what was fetched from
   * `divergentOffset` on. As Kafka's Java consumer: with a reset policy,
   * resume at the divergent offset (a new incarnation: acks of batches
   * delivered from the lost history are fenced); with "none", fail.
   */
  #truncated(c: PartitionView, divergentOffset: bigint): void {
    const tp = { topic: c.topic, partition: c.partition };
    if (this.#opts.autoOffsetReset === "none") {
      this.#fail(new LogTruncationError(c.topic, c.partition, c.position, divergentOffset));
      return;
    }
    this.#opts.logger.warn("log truncation detected; resuming at the divergent offset", {
      ...tp,
      from: c.position,
      to: divergentOffset,
    });
    this.#states.truncateTo(tp, divergentOffset);
  }

  // ---------------------------------------------------------------------
  // rebalances

  /**
   * Revokes `which` (cooperative: the partitions moving away), or every
   * partition (eager). onRevoked gets the partitions revoked; under the
   * cooperative protocol it is not called for none, as in Java.
   */
  async #revoke(which?: TopicPartition[]): Promise<void> {
    // Taking the partitions out first makes revocation happen once, whether
    // a rebalance or close() gets there first.
    const partitions = this.#states.revoke(which);
    this.#forgetUnavailable();
    // Delivered batches get a bounded part of the rebalance timeout to be acked.
    await this.#waitAcks(partitions, Math.floor(this.#opts.rebalanceTimeoutMs / 2));
    this.#states.endRevoked(partitions);
    if (this.#opts.commit === "auto") await this.#commit().catch((e) => this.#warnCommit(e));
    if (which === undefined || partitions.length > 0) await this.#callback("onRevoked", partitions);
  }

  /** Partitions no longer assigned are no longer waited for. */
  #forgetUnavailable(): void {
    this.#unavailable.retain((topic, partition) =>
      partition === null || this.#states.get({ topic, partition }) !== undefined
    );
  }

  async #loseAll(reason: string): Promise<void> {
    const partitions = this.#states.lose();
    this.#forgetUnavailable();
    this.#opts.logger.warn("partitions lost", { reason, count: partitions.length });
    // As Java: no onPartitionsLost for an empty set.
    if (partitions.length > 0) await this.#callback("onLost", partitions);
  }

  async #callback(
    name: "onAssigned" | "onRevoked" | "onLost",
    partitions: TopicPartition[],
  ): Promise<void> {
    const fn = this.#opts[name];
    if (!fn) return;
    try {
      await fn(partitions.map((p) => ({ ...p })));
    } catch (e) {
      // As Java's poll() rethrows a listener's exception: never swallowed.
      // The stream ends with it, after the usual commit and LeaveGroup.
      const error = e instanceof Error ? e : new Error(String(e));
      this.#opts.logger.error(`${name} threw; the consumer ends with its error`, { error });
      if (this.#closing) this.#error ??= error;
      else this.#fail(error);
    }
  }

  async #waitAcks(partitions: TopicPartition[], ms: number): Promise<void> {
    if (partitions.every((tp) => this.#tracker.outstanding(tp) === 0)) return;
    const timeout = AbortSignal.timeout(Math.max(0, ms));
    try {
      await this.#tracker.whenAcked(partitions, timeout);
    } catch {
      this.#opts.logger.warn("delivered batches were not acknowledged in time", { waitedMs: ms });
    }
  }

  /** Periodic metadata: new partitions or newly matching topics start a rebalance. */
  async #metadataLoop(): Promise<void> {
    const o = this.#opts;
    if (o.mode !== "subscribe") return;
    let last = Date.now();
    while (!this.#stop.signal.aborted) {
      // Every metadataMaxAgeMs; while a subscribed topic does not exist,
      // every retryBackoffMaxMs (it is picked up soon after it is created).
      if (!(await sleep(Math.min(o.metadataMaxAgeMs, o.retryBackoffMaxMs), this.#stop.signal))) {
        return;
      }
      const missing = this.#unavailable.list().some((u) => u.partition === null);
      if (!missing && Date.now() - last < o.metadataMaxAgeMs) continue;
      last = Date.now();
      const m = this.#membership;
      if (!m || m.state !== "stable") continue;
      try {
        // #subscription() refreshes the metadata of what it returns.
        const missingBefore = this.#unavailable.list().filter((u) => u.partition === null);
        const wanted = await this.#subscription();
        const appeared = missingBefore.filter((u) =>
          !this.#unavailable.list().some((n) => n.partition === null && n.topic === u.topic)
        );
        if (appeared.length > 0) {
          m.requestRejoin(`subscribed topic ${appeared[0].topic} exists now`);
          continue;
        }
        const before = [...m.subscribed].sort().join(",");
        if (wanted.sort().join(",") !== before) {
          m.requestRejoin("the set of subscribed topics changed");
          continue;
        }
        m.checkMetadata();
      } catch (e) {
        o.logger.warn("periodic metadata refresh failed", { error: e });
      }
    }
  }

  // ---------------------------------------------------------------------
  // commits

  #commit(): Promise<void> {
    const run = async () => {
      const group = this.#group;
      if (!group) return;
      const pending = this.#tracker.pendingCommits();
      if (pending.length === 0) return;
      for (let attempt = 0;; attempt++) {
        const identity = this.#membership?.identity() ??
          { generationId: -1, memberId: "", groupInstanceId: null };
        try {
          await group.commitOffsets(pending, identity);
          break;
        } catch (e) {
          const m = this.#membership;
          const newer = m !== null && m.identity().generationId !== identity.generationId;
          // KIP-848: a heartbeat raised the member epoch while the commit
          // was on its way. Commit again with the epoch it returned.
          if (
            e instanceof KafkaProtocolError && e.code === ErrorCode.STALE_MEMBER_EPOCH &&
            attempt < 3
          ) {
            if (!newer) await delay(backoffMs(attempt, this.#opts.retryBackoff), this.#stop.signal);
            continue;
          }
          // Refused for a generation that a rejoin already in progress (or
          // done) replaces: no reason for yet another rebalance (Java checks
          // the same before resetting its generation).
          if (
            e instanceof KafkaProtocolError && e.rejoin && m !== null &&
            (m.state === "joining" || newer)
          ) this.#supersededCommits.add(e);
          throw e;
        }
      }
      for (const p of pending) this.#tracker.markCommitted(p, p.offset, p.incarnation);
      this.#opts.logger.debug("committed", { count: pending.length });
    };
    const next = this.#commitChain.then(run, run);
    this.#commitChain = next.catch(() => {});
    return next;
  }

  #warnCommit(e: unknown): void {
    if (e instanceof UnsupportedVersionError) {
      // No later commit can succeed either (a broker too old for our
      // OffsetCommit): end the stream rather than deliver forever and never
      // commit, warning on every interval.
      this.#fail(e);
      return;
    }
    this.#opts.logger.warn("commit failed", { error: e });
    this.#rejoinAfterCommit(e);
  }

  /**
   * A commit refused for the generation (rebalance, unknown member, illegal
   * generation) means this member must rejoin — unless it is rejoining
   * already, or has since: a cooperative member commits the partitions it
   * keeps while its JoinGroup is pending, and REBALANCE_IN_PROGRESS or
   * ILLEGAL_GENERATION then only say so (the acks stay and are committed in
   * the new generation). Asking again there made every commit of a
   * rebalance start the next one (found by bench:rebalance).
   */
  #rejoinAfterCommit(e: unknown): void {
    if (!(e instanceof KafkaProtocolError && e.rejoin)) return;
    if (this.#supersededCommits.has(e)) return;
    this.#membership?.requestRejoin("commit answered " + e.errorName);
  }

  async #autoCommitLoop(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      if (!(await sleep(this.#opts.autoCommitIntervalMs, this.#stop.signal))) return;
      if (this.#closing) return;
      await this.#commit().catch((e) => this.#warnCommit(e));
    }
  }

  // ---------------------------------------------------------------------
  // closing

  #close(waitForAcks: boolean): Promise<void> {
    this.#closing ??= (async () => {
      const partitions = this.#states.revoke();
      this.#buffer.wakeReaders();
      if (this.#started) {
        // A start-up still bootstrapping (e.g. retrying brokers that do not
        // answer) has nothing to commit or leave yet: stop its retries
        // instead of waiting for all of them.
        if (!this.#startSettled) this.#stop.abort(new KafkaError("The consumer is closed"));
        await this.#started.catch(() => {});
        if (waitForAcks && !this.#error) {
          await this.#waitAcks(partitions, this.#opts.closeTimeoutMs);
        }
        this.#states.endRevoked(partitions);
        if (this.#opts.commit === "auto" && this.#group && !this.#error) {
          await this.#commit().catch((e) =>
            this.#opts.logger.warn("commit on close failed", { error: e })
          );
        }
        if (this.#membership) {
          if (partitions.length > 0) await this.#callback("onRevoked", partitions);
          await this.#membership.leave("the consumer is closing");
        }
      }
      this.#stop.abort(new KafkaError("The consumer is closed"));
      // Closing the sockets first ends a long-polling Fetch at once.
      await this.#cluster.close();
      await Promise.allSettled([...this.#loops, this.#fetcher.stopped()]);
      this.#closed = true;
      this.#endStream(this.#error);
    })();
    return this.#closing;
  }

  /** An unrecoverable error: commit what was acknowledged, leave, end the stream with it. */
  #fail(error: Error): void {
    if (this.#error || this.#closing) return;
    this.#opts.logger.error("consumer failed", { error });
    this.#error = error;
    this.#buffer.wakeReaders();
    const partitions = this.#states.revoke();
    this.#closing = (async () => {
      this.#states.endRevoked(partitions);
      if (this.#opts.commit === "auto" && this.#group) {
        await this.#commit().catch((e) =>
          this.#opts.logger.warn("commit after failure failed", { error: e })
        );
      }
      if (this.#membership && this.#membership.state !== "failed") {
        await this.#membership.leave("the consumer failed");
      }
      this.#stop.abort(error);
      await this.#cluster.close();
      await Promise.allSettled([...this.#loops, this.#fetcher.stopped()]);
      this.#closed = true;
      this.#endStream(error);
    })();
  }

  // ---------------------------------------------------------------------
  // helpers

  #isolation(): 0 | 1 {
    return this.#opts.isolationLevel === "read_committed" ? 1 : 0;
  }

  #checkOpen(method: string): void {
    if (this.#closed || this.#closing) {
      throw new KafkaError(`Consumer.${method}() was called after close(); create a new Consumer`);
    }
  }

  #notAssigned(method: string, tp: TopicPartition): KafkaError {
    return new KafkaError(
      `Consumer.${method}(): ${tp.topic}/${tp.partition} is not assigned to this consumer (see assignment())`,
    );
  }
}
