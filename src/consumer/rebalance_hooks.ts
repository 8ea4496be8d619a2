/**
 * What the consumer does when the group moves partitions (subscribe mode):
 * assigned (start positions from the group's committed offsets or the reset
 * policy, `onAssigned`, then fetching), revoked (drop buffered data, wait for
 * acks within part of the rebalance timeout, commit, `onRevoked`) and lost
 * (nothing committed, `onLost`). The membership (group/membership.ts or
 * group/consumer_membership.ts) calls these as its {@linkcode MembershipHooks}.
 *
 * Apart from consumer.ts because this is the rebalance protocol's side of
 * the consumer; close() reuses {@linkcode RebalanceHooks.waitAcks} and
 * {@linkcode RebalanceHooks.listener} for its own final revocation. Positions
 * and incarnations change only through {@linkcode PartitionStates}.
 *
 * @module
 */

import type { ResolvedOptions, TopicPartition } from "../config.ts";
import type { Cluster } from "../net/cluster.ts";
import type { GroupClient } from "../net/group_client.ts";
import { partitionKey } from "../util/partitions.ts";
import type { Committer } from "./commits.ts";
import { ConsumerGroupMembership } from "./group/consumer_membership.ts";
import type { Membership } from "./group/membership.ts";
import type { MembershipHooks } from "./group/member_context.ts";
import type { AckTracker } from "./offsets/ack_tracker.ts";
import type { OffsetLookups } from "./offset_lookups.ts";
import type { PartitionStates } from "./partition_state.ts";
import type { Unavailable } from "./unavailable.ts";

/** What the rebalance hooks read and do outside themselves. */
export interface RebalanceHooksDeps {
  cluster: Cluster;
  /** The group's client; never null when a membership calls (subscribe mode needs a groupId). */
  group: GroupClient | null;
  states: PartitionStates;
  tracker: AckTracker;
  unavailable: Unavailable;
  offsets: OffsetLookups;
  commits: Committer;
  /** The membership now: a consumer-protocol member's OffsetFetch names it. */
  membership: () => Membership | ConsumerGroupMembership | null;
  opts: Pick<
    ResolvedOptions,
    "rebalanceTimeoutMs" | "commit" | "logger" | "onAssigned" | "onRevoked" | "onLost"
  >;
  /**
   * A listener threw: the consumer ends with its error (after the usual
   * commit and LeaveGroup), or keeps it for the stream when already closing.
   */
  listenerThrew: (error: Error) => void;
}

/** The partition hand-over between the group and this consumer. */
export class RebalanceHooks implements Pick<MembershipHooks, "revoke" | "lost" | "assigned"> {
  readonly #d: RebalanceHooksDeps;

  constructor(deps: RebalanceHooksDeps) {
    this.#d = deps;
  }

  /** Assigns a partition; returns what starts its fetching (after onAssigned). */
  #startPartition(tp: TopicPartition, position: bigint, committed: bigint | null): () => void {
    this.#d.states.assign(tp, position, committed);
    return () => this.#d.states.start(tp);
  }

  /** Start positions, onAssigned, then fetching of these partitions. */
  async assigned(partitions: TopicPartition[]): Promise<void> {
    if (partitions.length > 0) {
      await this.#d.cluster.refreshMetadata([...new Set(partitions.map((p) => p.topic))]);
    }
    // A consumer-protocol member's OffsetFetch carries its id and epoch: the
    // coordinator validates them (a stale epoch is retried once a heartbeat
    // moved it; a lost member throws: never a reset from a refused fetch).
    const m = this.#d.membership();
    const member = m instanceof ConsumerGroupMembership ? () => m.identity() : undefined;
    const committed = partitions.length > 0
      ? await this.#d.group!.fetchOffsets(partitions, member)
      : new Map();
    // Resets (ListOffsets) of partitions without a committed offset in parallel.
    const positions = await Promise.all(partitions.map((tp) => {
      const c = committed.get(partitionKey(tp.topic, tp.partition)) ?? null;
      return c ?? this.#d.offsets.resetPosition(tp);
    }));
    const starts = partitions.map((tp, i) =>
      this.#startPartition(
        tp,
        positions[i],
        committed.get(partitionKey(tp.topic, tp.partition)) ?? null,
      )
    );
    // onAssigned is awaited before the first Fetch of these partitions.
    await this.listener("onAssigned", partitions);
    for (const start of starts) start();
  }

  /**
   * Revokes `which` (cooperative: the partitions moving away), or every
   * partition (eager). onRevoked gets the partitions revoked; under the
   * cooperative protocol it is not called for none, as in Java.
   */
  async revoke(which?: TopicPartition[]): Promise<void> {
    // Taking the partitions out first makes revocation happen once, whether
    // a rebalance or close() gets there first.
    const partitions = this.#d.states.revoke(which);
    this.#forgetUnavailable();
    // Delivered batches get a bounded part of the rebalance timeout to be acked.
    await this.waitAcks(partitions, Math.floor(this.#d.opts.rebalanceTimeoutMs / 2));
    this.#d.states.endRevoked(partitions);
    if (this.#d.opts.commit === "auto") {
      await this.#d.commits.commit().catch((e) => this.#d.commits.warn(e));
    }
    if (which === undefined || partitions.length > 0) await this.listener("onRevoked", partitions);
  }

  /** Partitions no longer assigned are no longer waited for. */
  #forgetUnavailable(): void {
    this.#d.unavailable.retain((topic, partition) =>
      partition === null || this.#d.states.get({ topic, partition }) !== undefined
    );
  }

  /** Membership ended without a clean revoke: every partition lost, nothing committed. */
  async lost(reason: string): Promise<void> {
    const partitions = this.#d.states.lose();
    this.#forgetUnavailable();
    this.#d.opts.logger.warn("partitions lost", { reason, count: partitions.length });
    // As Java: no onPartitionsLost for an empty set.
    if (partitions.length > 0) await this.listener("onLost", partitions);
  }

  /** Awaits the user's listener, if any, with copies of the partitions. */
  async listener(
    name: "onAssigned" | "onRevoked" | "onLost",
    partitions: TopicPartition[],
  ): Promise<void> {
    const fn = this.#d.opts[name];
    if (!fn) return;
    try {
      await fn(partitions.map((p) => ({ ...p })));
    } catch (e) {
      // As Java's poll() rethrows a listener's exception: never swallowed.
      // The stream ends with it, after the usual commit and LeaveGroup.
      const error = e instanceof Error ? e : new Error(String(e));
      this.#d.opts.logger.error(`${name} threw; the consumer ends with its error`, { error });
      this.#d.listenerThrew(error);
    }
  }

  /** Waits up to `ms` for the delivered batches of `partitions` to be acknowledged. */
  async waitAcks(partitions: TopicPartition[], ms: number): Promise<void> {
    if (partitions.every((tp) => this.#d.tracker.outstanding(tp) === 0)) return;
    const timeout = AbortSignal.timeout(Math.max(0, ms));
    try {
      await this.#d.tracker.whenAcked(partitions, timeout);
    } catch {
      this.#d.opts.logger.warn("delivered batches were not acknowledged in time", { waitedMs: ms });
    }
  }
}
