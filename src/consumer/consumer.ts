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
  ConfigError,
  type ConsumerOptions,
  type OffsetSpec,
  type ResolvedOptions,
  resolveOptions,
  type TopicPartition,
} from "../config.ts";
import { Cluster, type ClusterOptions } from "../net/cluster.ts";
import { KafkaError } from "../protocol/errors.ts";
import { AssignMode } from "./assign_mode.ts";
import { Committer } from "./commits.ts";
import { Delivery } from "./delivery.ts";
import { FetchBuffer } from "./fetch_buffer.ts";
import { Fetcher } from "./fetcher.ts";
import { PartitionStates } from "./partition_state.ts";
import { type CommittedOffset, GroupClient, type GroupDescription } from "../net/group_client.ts";
import { partitionKey } from "../util/partitions.ts";
import { Membership } from "./group/membership.ts";
import type { MemberContext, MemberSettings, MembershipHooks } from "./group/member_context.ts";
import { ConsumerGroupMembership } from "./group/consumer_membership.ts";
import { Liveness } from "./group/liveness.ts";
import { AckTracker } from "./offsets/ack_tracker.ts";
import { OffsetLookups } from "./offset_lookups.ts";
import type { OffsetQuery } from "./offsets/list_offsets.ts";
import { clusterOptions } from "../options/client.ts";
import { PositionResets } from "./position_resets.ts";
import { RebalanceHooks } from "./rebalance_hooks.ts";
import type { RecordBatch } from "./record_batch.ts";
import { Subscription } from "./subscription.ts";
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
  #started: Promise<void> | null = null;
  readonly #unavailable: Unavailable;
  #startSettled = false;
  #closing: Promise<void> | null = null;
  #closed = false;
  #error: Error | null = null;
  /** Liveness shared with the heartbeat task (which may run in a Worker). */
  readonly #liveness = new Liveness();
  readonly #clusterOptions: ClusterOptions;
  readonly #commits: Committer;
  readonly #offsets: OffsetLookups;
  readonly #rebalance: RebalanceHooks;
  readonly #delivery: Delivery;
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
    this.#offsets = new OffsetLookups(this.#cluster, o, this.#stop.signal);
    this.#buffer = new FetchBuffer(o.maxBufferedBytes);
    this.#states = new PartitionStates(this.#tracker, this.#buffer);
    const resets = new PositionResets({
      states: this.#states,
      offsets: this.#offsets,
      opts: o,
      fail: (e) => this.#fail(e),
    });
    this.#fetcher = new Fetcher(this.#cluster, this.#states, this.#buffer, o, {
      outOfRange: (c) => resets.outOfRange(c),
      truncated: (c, at) => resets.truncated(c, at),
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
    this.#commits = new Committer({
      group: this.#group,
      tracker: this.#tracker,
      membership: () => this.#membership,
      opts: o,
      signal: this.#stop.signal,
      fail: (e) => this.#fail(e),
    });
    this.#delivery = new Delivery({
      states: this.#states,
      buffer: this.#buffer,
      tracker: this.#tracker,
      opts: o,
      signal: this.#stop.signal,
      wakeFetcher: () => this.#fetcher.wake(),
      membership: () => this.#membership,
      fail: (e) => this.#fail(e),
    });
    this.#rebalance = new RebalanceHooks({
      cluster: this.#cluster,
      group: this.#group,
      states: this.#states,
      tracker: this.#tracker,
      unavailable: this.#unavailable,
      offsets: this.#offsets,
      commits: this.#commits,
      membership: () => this.#membership,
      opts: o,
      listenerThrew: (error) => {
        if (this.#closing) this.#error ??= error;
        else this.#fail(error);
      },
    });
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
      await this.#commits.commit();
    } catch (e) {
      // As in auto mode: a commit refused for the generation (rebalance,
      // unknown member, illegal generation) means this member must rejoin.
      this.#commits.rejoinAfter(e);
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
    const offset = typeof to === "bigint" ? to : await this.#offsets.list(tp, to);
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
    return await this.#offsets.lookup(queries, nullWhenNone);
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
    const readCommitted = this.#offsets.isolation() === 1;
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
        // The delivery path proper (delivery.ts): null means look again.
        const batch = await this.#delivery.next();
        if (batch === null) continue;
        controller.enqueue(batch);
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
      // Assign mode has its own start-up: no group to join (assign_mode.ts).
      const waiting = await new AssignMode({
        cluster: this.#cluster,
        group: this.#group,
        states: this.#states,
        unavailable: this.#unavailable,
        offsets: this.#offsets,
        opts: o,
        signal: this.#stop.signal,
        fail: (e) => this.#fail(e),
      }).start(o.assign);
      this.#loops.push(...waiting);
    } else {
      // Which topics: the subscription, kept current by its metadata loop.
      const subscription = new Subscription({
        cluster: this.#cluster,
        unavailable: this.#unavailable,
        opts: o,
        signal: this.#stop.signal,
        membership: () => this.#membership,
      });
      const hooks: MembershipHooks = {
        subscription: () => subscription.subscription(),
        revoke: (partitions) => this.#rebalance.revoke(partitions),
        lost: (reason) => this.#rebalance.lost(reason),
        assigned: (tps) => this.#rebalance.assigned(tps),
        fatal: (e) => this.#fail(e),
      };
      const ctx: MemberContext = {
        cluster: this.#cluster,
        client: this.#group!,
        hooks,
        liveness: this.#liveness,
        signal: this.#stop.signal,
      };
      const settings: MemberSettings = {
        groupId: o.groupId,
        groupInstanceId: o.groupInstanceId ?? null,
        rebalanceTimeoutMs: o.rebalanceTimeoutMs,
        maxPollIntervalMs: o.maxPollIntervalMs,
        requestTimeoutMs: o.requestTimeoutMs,
        heartbeatThread: o.heartbeatThread,
        cluster: this.#clusterOptions,
        retryBackoff: o.retryBackoff,
        logger: o.logger,
      };
      this.#membership = o.groupProtocol === "consumer"
        ? new ConsumerGroupMembership(ctx, {
          ...settings,
          remoteAssignor: o.groupRemoteAssignor ?? null,
          topicsRegex: o.topicsRegex ?? null,
        })
        : new Membership(ctx, {
          ...settings,
          sessionTimeoutMs: o.sessionTimeoutMs,
          heartbeatIntervalMs: o.heartbeatIntervalMs,
          assignors: o.assignors,
        });
      this.#loops.push(this.#membership.done, subscription.metadataLoop());
    }
    if (o.commit === "auto" && this.#group) {
      this.#loops.push(this.#commits.autoCommitLoop(() => this.#closing !== null));
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
          await this.#rebalance.waitAcks(partitions, this.#opts.closeTimeoutMs);
        }
        this.#states.endRevoked(partitions);
        if (this.#opts.commit === "auto" && this.#group && !this.#error) {
          await this.#commits.commit().catch((e) =>
            this.#opts.logger.warn("commit on close failed", { error: e })
          );
        }
        if (this.#membership) {
          if (partitions.length > 0) await this.#rebalance.listener("onRevoked", partitions);
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
        await this.#commits.commit().catch((e) =>
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
