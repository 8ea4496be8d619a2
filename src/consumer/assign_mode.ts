/**
 * Assign mode's start-up (`assign: [...]`): metadata for the given topics,
 * each partition's start position (the group's committed offset, the given
 * offset, or the reset policy), and the wait for partitions the cluster does
 * not have yet.
 *
 * Apart from consumer.ts because none of it runs in subscribe mode, where the
 * group membership assigns partitions (rebalance_hooks.ts). Positions and
 * incarnations change only through {@linkcode PartitionStates} transitions.
 *
 * @module
 */

import type { AssignedPartition, OffsetSpec, ResolvedOptions, TopicPartition } from "../config.ts";
import type { Cluster } from "../net/cluster.ts";
import { RequestTimeoutError } from "../net/errors.ts";
import type { GroupClient } from "../net/group_client.ts";
import { CorruptDataError, KafkaError, KafkaProtocolError } from "../protocol/errors.ts";
import { errorInfo } from "../protocol/error_codes.ts";
import { backoffMs, delay, sleep } from "../util/async.ts";
import { partitionKey } from "../util/partitions.ts";
import type { OffsetLookups } from "./offset_lookups.ts";
import type { PartitionStates } from "./partition_state.ts";
import type { Unavailable } from "./unavailable.ts";

/** What assign mode's start-up reads and does outside itself. */
export interface AssignModeDeps {
  cluster: Cluster;
  /** With a groupId, start positions come from the group's committed offsets. */
  group: GroupClient | null;
  states: PartitionStates;
  unavailable: Unavailable;
  offsets: OffsetLookups;
  opts: Pick<ResolvedOptions, "retryBackoff" | "logger">;
  signal: AbortSignal;
  /** Ends the consumer (a non-retriable answer while waiting for partitions). */
  fail: (error: Error) => void;
}

/** Starts the configured partitions; no group, so no onAssigned (GUIDE §1). */
export class AssignMode {
  readonly #d: AssignModeDeps;

  constructor(deps: AssignModeDeps) {
    this.#d = deps;
  }

  /**
   * Starts the partitions metadata knows; returns the loop that waits for
   * the others, if any is missing (in an array: an async function returning
   * the bare promise would wait for it).
   */
  async start(assign: readonly AssignedPartition[]): Promise<Promise<void>[]> {
    const topics = [...new Set(assign.map((a) => a.topic))];
    // A Metadata answer that does not decode (damaged on the way) or does
    // not come is retried, a few times, with backoff (bootstrap failures
    // were retried by the cluster already).
    for (let attempt = 0;; attempt++) {
      try {
        await this.#d.cluster.refreshMetadata(topics);
        break;
      } catch (e) {
        const retry = e instanceof CorruptDataError || e instanceof RequestTimeoutError;
        if (!retry || attempt >= 4) throw e;
        await delay(backoffMs(attempt, this.#d.opts.retryBackoff), this.#d.signal);
      }
    }
    // A partition the cluster does not have (yet) is waited for, not
    // failed: reported, looked for with backoff, started once it exists.
    const present = assign.filter((a) => this.#inMetadata(a));
    const missing = assign.filter((a) => !this.#inMetadata(a));
    this.#throwIfDenied(missing);
    const starts = await this.#assignStarts(present);
    // Assign mode has no group events (GUIDE §1): no onAssigned.
    for (const start of starts) start();
    return missing.length > 0 ? [this.#awaitAssigned(missing)] : [];
  }

  /** Whether metadata knows this partition (its topic exists with that many partitions). */
  #inMetadata(tp: TopicPartition): boolean {
    const t = this.#d.cluster.topics.get(tp.topic);
    return t !== undefined && t.errorCode === 0 && t.partitions.has(tp.partition);
  }

  /** Start positions (committed, given, or reset) and what starts each. */
  async #assignStarts(partitions: AssignedPartition[]): Promise<Array<() => void>> {
    if (partitions.length === 0) return [];
    const { group, states } = this.#d;
    const committed = group
      ? await group.fetchOffsets(partitions)
      : new Map<string, bigint | null>();
    const starts: Array<() => void> = [];
    for (const a of partitions) {
      const spec: OffsetSpec | undefined = a.offset;
      let position: bigint;
      if (typeof spec === "bigint") position = spec;
      else if (spec !== undefined) {
        position = await this.#d.offsets.list(a, spec);
      } else {
        position = committed.get(partitionKey(a.topic, a.partition)) ??
          await this.#d.offsets.resetPosition(a);
      }
      // Assigned now, fetched once start() runs (after every position is known).
      states.assign(a, position, committed.get(partitionKey(a.topic, a.partition)) ?? null);
      starts.push(() => states.start(a));
    }
    return starts;
  }

  /** Looks for partitions the cluster did not have, starts each once it does. */
  async #awaitAssigned(missing: AssignedPartition[]): Promise<void> {
    const { cluster, unavailable, signal } = this.#d;
    const topics = [...new Set(missing.map((a) => a.topic))];
    for (let attempt = 0; missing.length > 0 && !signal.aborted; attempt++) {
      for (const a of missing) unavailable.mark(a.topic, a.partition, this.#whyMissing(a));
      if (!(await sleep(backoffMs(attempt, this.#d.opts.retryBackoff), signal))) return;
      try {
        await cluster.refreshMetadata(topics);
        this.#throwIfDenied(missing);
        const now = missing.filter((a) => this.#inMetadata(a));
        if (now.length === 0) continue;
        missing = missing.filter((a) => !this.#inMetadata(a));
        for (const start of await this.#assignStarts(now)) start();
        for (const a of now) unavailable.clear(a.topic, a.partition);
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof KafkaError && !e.retriable) {
          this.#d.fail(e);
          return;
        }
        this.#d.opts.logger.warn("looking for assigned partitions failed; retrying", { error: e });
      }
    }
  }

  /**
   * A topic metadata answers with an error no wait can fix (authorization,
   * an invalid name): the consumer fails at once, as before it waited.
   */
  #throwIfDenied(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const code = this.#d.cluster.topics.get(tp.topic)?.errorCode ?? 0;
      if (code !== 0 && !errorInfo(code).retriable) {
        throw KafkaProtocolError.from(code, { apiName: "Metadata", topic: tp.topic });
      }
    }
  }

  /** Kafka's answer for a partition metadata does not have, in words. */
  #whyMissing(tp: TopicPartition): string {
    const t = this.#d.cluster.topics.get(tp.topic);
    if (t === undefined) return "not in the cluster metadata";
    if (t.errorCode !== 0) return errorInfo(t.errorCode).name;
    return `the topic has ${t.partitions.size} partition${t.partitions.size === 1 ? "" : "s"}`;
  }
}
