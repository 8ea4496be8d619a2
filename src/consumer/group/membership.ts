/**
 * Group membership, classic protocol (GUIDE §1): JoinGroup, the leader's
 * assignment, SyncGroup, the heartbeat task, LeaveGroup.
 *
 * Two tasks run apart from the reader: the rebalance loop (waits for a
 * reason to join, revokes, joins, syncs, assigns) and the heartbeat task
 * (heartbeat.ts; in a Worker by default, see heartbeat_driver.ts), which
 * heartbeats every `heartbeatIntervalMs` on a connection of its own while
 * this is a stable member, enforces the poll bound, and reports what it
 * learns: a rebalance wakes the rebalance loop, a lost or left membership
 * gives the partitions up. What `ack()` must know at once is in the shared
 * {@linkcode Liveness}.
 *
 * @module
 */

import { ConnectionError, RequestTimeoutError } from "../../net/errors.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { CorruptDataError, KafkaError, KafkaProtocolError } from "../../protocol/errors.ts";
import {
  CONSUMER_PROTOCOL_TYPE,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from "../../protocol/consumer_protocol.ts";
import { JoinGroupApi, type JoinGroupResponse } from "../../protocol/messages/join_group.ts";
import { SyncGroupApi } from "../../protocol/messages/sync_group.ts";
import { backoffMs, sleep } from "../../util/async.ts";
import type { AssignorName } from "../../config.ts";
import type { TopicPartition } from "../offsets/ack_tracker.ts";
import { assign, type EagerAssignorName, type GroupMember } from "./assignors.ts";
import { cooperativeStickyAssign, type StickyMember } from "./sticky_assignor.ts";
import { GroupClient, type MemberIdentity } from "../../net/group_client.ts";
import type { HeartbeatEvent } from "./heartbeat.ts";
import type { HeartbeatDriver, HeartbeatThread } from "./heartbeat_driver.ts";
import { MemberStatus } from "./liveness.ts";
import {
  type MemberContext,
  type MemberSettings,
  type MembershipState,
  startMemberHeartbeat,
} from "./member_context.ts";

/** Settings of {@linkcode Membership}: both protocols' and the classic protocol's own. */
export interface MembershipOptions extends MemberSettings {
  /** Session timeout sent in JoinGroup. */
  sessionTimeoutMs: number;
  /** Heartbeat period. */
  heartbeatIntervalMs: number;
  /** Assignors offered, in preference order. */
  assignors: AssignorName[];
}

const FATAL_JOIN_ERRORS = new Set<number>([
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
  ErrorCode.INVALID_SESSION_TIMEOUT,
  ErrorCode.INVALID_GROUP_ID,
  ErrorCode.GROUP_MAX_SIZE_REACHED,
  ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.UNSUPPORTED_VERSION,
]);

/** One consumer's membership of its group. */
export class Membership {
  readonly #ctx: MemberContext;
  readonly #opts: MembershipOptions;
  #memberId = "";
  #generationId = -1;
  #protocolName: string | null = null;
  #state: MembershipState = "unjoined";
  #assigned = false;
  #wantJoin = true;
  #wake: (() => void) | null = null;
  readonly #heartbeat: HeartbeatDriver;
  #leftForPollBound = false;
  #leaderTopics: Map<string, number> | null = null;
  #subscribed: string[] = [];
  /** The partitions of the last assignment still held (cooperative: kept through a rejoin). */
  #owned: TopicPartition[] = [];
  /** Resolves when both loops have ended. */
  readonly done: Promise<void>;

  /** Starts the rebalance and heartbeat loops; they end when `ctx.signal` aborts. */
  constructor(ctx: MemberContext, opts: MembershipOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
    const settings = {
      groupId: opts.groupId,
      sessionTimeoutMs: opts.sessionTimeoutMs,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      requestTimeoutMs: opts.requestTimeoutMs,
      maxPollIntervalMs: opts.maxPollIntervalMs,
    };
    const task = { protocol: "classic" as const, settings };
    this.#heartbeat = startMemberHeartbeat(ctx, opts, task, (e) => void this.#onHeartbeat(e));
    // The heartbeat task ends with the rebalance loop (closing, or failed).
    this.done = this.#rebalanceLoop().finally(() => this.#heartbeat.close());
  }

  /** Where the heartbeat task runs now. */
  get heartbeatThread(): HeartbeatThread {
    return this.#heartbeat.thread;
  }

  /** The current state. */
  get state(): MembershipState {
    return this.#state;
  }

  /**
   * Whether rebalances are cooperative (KIP-429): as Java's consumer, only
   * when every assignor offered supports it — with an eager one listed too,
   * the group might pick that one, so every member must revoke everything.
   */
  get cooperative(): boolean {
    return this.#opts.assignors.every((a) => a === "cooperative-sticky");
  }

  /** Who commits: this member in its current generation. */
  identity(): MemberIdentity {
    return {
      generationId: this.#generationId,
      memberId: this.#memberId,
      groupInstanceId: this.#opts.groupInstanceId,
    };
  }

  /**
   * Gives the partitions up as lost (onLost, nothing committed, then a
   * rejoin) when those of this generation may already belong to another
   * member (see {@linkcode Liveness.fencedBecause}); returns that loss to
   * await, or null when the membership holds. The reader checks this before
   * handing out a batch and `ack()` before counting one: after a stall of
   * the whole process (SIGSTOP), or a blocked event loop without a heartbeat
   * worker, the group may have moved on — the heartbeat task would notice
   * only one round trip later.
   */
  loseIfFenced(where: string): Promise<void> | null {
    // A cooperative member holds partitions while it rejoins: checked too.
    if (this.#state !== "stable" && !(this.#state === "joining" && this.#owned.length > 0)) {
      return null;
    }
    const why = this.#ctx.liveness.fencedBecause(this.#opts.sessionTimeoutMs);
    return why === null ? null : this.#lose(`${why} (found ${where})`);
  }

  /**
   * True once after the heartbeat task left the group for the poll bound:
   * the caller (a reader asking again) rejoins.
   */
  takeLeftForPollBound(): boolean {
    const left = this.#leftForPollBound;
    this.#leftForPollBound = false;
    return left;
  }

  /** Asks for a rejoin (new topics or partitions, a heartbeat's news, a pull after leaving). */
  requestRejoin(reason: string): void {
    if (this.#state === "failed") return;
    if (!this.#wantJoin) {
      this.#opts.logger.info("rejoining the group", { reason, group: this.#opts.groupId });
    }
    this.#wantJoin = true;
    this.#wake?.();
  }

  /**
   * Whether the leader should rebalance because the partition counts of the
   * group's subscribed topics changed (Java's metadata-change trigger).
   */
  checkMetadata(): void {
    if (this.#state !== "stable") return;
    const known = this.#leaderTopics;
    if (known) {
      for (const [topic, count] of known) {
        const now = this.#ctx.cluster.topics.get(topic)?.partitions.size ?? 0;
        if (now !== count) {
          this.requestRejoin(`partition count of ${topic} changed from ${count} to ${now}`);
          return;
        }
      }
    }
  }

  /** The topics this member subscribed with at the last join. */
  get subscribed(): readonly string[] {
    return this.#subscribed;
  }

  /**
   * Leaves the group (LeaveGroup; not for static members unless `force`).
   * Partitions must already be revoked by the caller.
   */
  async leave(reason: string, force = false): Promise<void> {
    const memberId = this.#memberId;
    this.#state = "left";
    this.#wantJoin = false;
    this.#assigned = false;
    this.#owned = [];
    this.#stopHeartbeats();
    const staticMember = this.#opts.groupInstanceId !== null;
    if (!memberId || (staticMember && !force)) return;
    try {
      await this.#ctx.client.leave(
        memberId,
        this.#opts.groupInstanceId,
        reason,
        this.#opts.requestTimeoutMs,
      );
      this.#opts.logger.info("left the group", { group: this.#opts.groupId, reason });
    } catch (e) {
      this.#opts.logger.warn("LeaveGroup failed; the coordinator will expire the member", {
        error: e,
      });
    }
    this.#memberId = "";
    this.#generationId = -1;
  }

  #stopHeartbeats(): void {
    this.#heartbeat.setMember(null);
    this.#ctx.liveness.setStatus(MemberStatus.Idle);
  }

  async #rebalanceLoop(): Promise<void> {
    let attempt = 0;
    while (!this.#ctx.signal.aborted && this.#state !== "failed") {
      if (!this.#wantJoin) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#ctx.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        this.#wake = null;
        continue;
      }
      try {
        if (this.#assigned && !this.cooperative) {
          this.#assigned = false;
          this.#owned = [];
          await this.#ctx.hooks.revoke();
        }
        if (this.#ctx.signal.aborted) break;
        this.#wantJoin = false;
        this.#state = "joining";
        // A cooperative member that keeps partitions through the rejoin keeps
        // heartbeating (for the old generation until the JoinGroup answer,
        // then the new one): they keep its session alive, and a group that
        // moved on without it (say its event loop was blocked past the
        // session with the answer unread) shows as lost before it delivers
        // another record of those partitions.
        if (this.#owned.length === 0) this.#stopHeartbeats();
        await this.#joinAndSync();
        attempt = 0;
      } catch (e) {
        if (this.#ctx.signal.aborted) break;
        // Cooperative members join holding partitions: a join refused for
        // the member or its generation means those may be someone else's now.
        if (
          this.#owned.length > 0 && e instanceof KafkaProtocolError &&
          (e.code === ErrorCode.UNKNOWN_MEMBER_ID || e.code === ErrorCode.ILLEGAL_GENERATION ||
            e.code === ErrorCode.FENCED_INSTANCE_ID)
        ) {
          this.#owned = [];
          this.#assigned = false;
          this.#generationId = -1;
          await this.#ctx.hooks.lost(`${e.errorName} while rejoining`);
        }
        if (e instanceof KafkaProtocolError && FATAL_JOIN_ERRORS.has(e.code)) {
          this.#state = "failed";
          this.#ctx.hooks.fatal(e);
          break;
        }
        if (
          !(e instanceof KafkaProtocolError || e instanceof ConnectionError ||
            e instanceof RequestTimeoutError || e instanceof CorruptDataError)
        ) {
          // Not a broker or network condition (e.g. no committed offset with
          // autoOffsetReset "none"): joining again would fail the same way.
          // (An answer that did not decode — a garbled assignment, say — is
          // retried by rejoining, bounded like the rest.)
          this.#state = "failed";
          this.#ctx.hooks.fatal(e instanceof Error ? e : new Error(String(e)));
          break;
        }
        if (e instanceof ConnectionError && this.#ctx.cluster.brokers.size === 0) {
          // Not one bootstrap broker answered, after the cluster's own retries.
          this.#state = "failed";
          this.#ctx.hooks.fatal(e);
          break;
        }
        if (e instanceof KafkaProtocolError && !e.retriable && !e.rejoin && !e.findCoordinator) {
          this.#state = "failed";
          this.#ctx.hooks.fatal(e);
          break;
        }
        this.#wantJoin = true;
        if (attempt >= 30) {
          this.#state = "failed";
          this.#ctx.hooks.fatal(
            new KafkaError(
              `Could not join group ${this.#opts.groupId}: ${attempt} attempts failed, the last ` +
                `with ${e instanceof Error ? e.message : String(e)}. ` +
                `Retries cannot fix an error that persists this long: check the broker's ` +
                `answer above (and the broker's log).`,
              {
                cause: e,
              },
            ),
          );
          break;
        }
        this.#opts.logger.warn("join failed; retrying", {
          group: this.#opts.groupId,
          error: e,
          attempt,
        });
        if (!(await sleep(backoffMs(attempt++, this.#opts.retryBackoff), this.#ctx.signal))) break;
      }
    }
  }

  async #joinAndSync(): Promise<void> {
    const topics = await this.#ctx.hooks.subscription();
    this.#subscribed = topics;
    if (this.#owned.length > 0) {
      // Cooperative: partitions of topics no longer subscribed go first (Java's onJoinPrepare).
      const gone = this.#owned.filter((tp) => !topics.includes(tp.topic));
      if (gone.length > 0) {
        this.#owned = this.#owned.filter((tp) => topics.includes(tp.topic));
        await this.#ctx.hooks.revoke(gone);
      }
    }
    const owned = groupByTopic(this.#owned);
    const protocols = this.#opts.assignors.map((name) => ({
      name,
      metadata: encodeSubscription({
        topics,
        // As Java's CooperativeStickyAssignor: the generation in user data
        // too, for leaders that read only v0/v1 subscriptions.
        userData: name === "cooperative-sticky" ? int32(this.#generationId) : null,
        ownedPartitions: owned,
        generationId: this.#generationId,
      }),
    }));
    let join: JoinGroupResponse;
    let joinVersion: number;
    let joinSentAt = Date.now();
    for (let i = 0;; i++) {
      joinSentAt = Date.now();
      [join, joinVersion] = await this.#ctx.client.run("join", async (conn) => {
        const version = conn.version(JoinGroupApi);
        const res = await conn.send(JoinGroupApi, {
          groupId: this.#opts.groupId,
          sessionTimeoutMs: this.#opts.sessionTimeoutMs,
          rebalanceTimeoutMs: this.#opts.rebalanceTimeoutMs,
          memberId: this.#memberId,
          groupInstanceId: this.#opts.groupInstanceId,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocols,
          reason: null,
        }, { version, timeoutMs: this.#opts.rebalanceTimeoutMs + 5000 });
        GroupClient.throwIfCoordinatorMoved(
          res.errorCode,
          "JoinGroup",
          version,
          this.#opts.groupId,
        );
        return [res, version] as const;
      });
      if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED && i < 3) {
        // KIP-394: the coordinator hands out the id, we join again with it at once.
        this.#memberId = join.memberId;
        continue;
      }
      if (join.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.#memberId = "";
        this.#generationId = -1;
      }
      if (join.errorCode !== 0) {
        throw KafkaProtocolError.from(join.errorCode, {
          apiName: "JoinGroup",
          apiVersion: joinVersion,
          groupId: this.#opts.groupId,
        });
      }
      break;
    }
    this.#memberId = join.memberId;
    this.#generationId = join.generationId;
    this.#protocolName = join.protocolName;
    if (this.#owned.length > 0) {
      // Heartbeats of the new generation are answered during CompletingRebalance.
      this.#ctx.liveness.stable(this.#generationId, joinSentAt);
      this.#heartbeat.setMember({
        memberId: this.#memberId,
        generationId: this.#generationId,
        groupInstanceId: this.#opts.groupInstanceId,
      });
    }
    const isLeader = join.leader === join.memberId;
    let assignments: { memberId: string; assignment: Uint8Array }[] = [];
    this.#leaderTopics = null;
    if (isLeader) assignments = await this.#lead(join);
    const syncSentAt = Date.now();
    const [sync, syncVersion] = await this.#ctx.client.run("join", async (conn) => {
      const version = conn.version(SyncGroupApi);
      const res = await conn.send(SyncGroupApi, {
        groupId: this.#opts.groupId,
        generationId: this.#generationId,
        memberId: this.#memberId,
        groupInstanceId: this.#opts.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: this.#protocolName,
        assignments,
      }, { version, timeoutMs: this.#opts.rebalanceTimeoutMs + 5000 });
      GroupClient.throwIfCoordinatorMoved(res.errorCode, "SyncGroup", version, this.#opts.groupId);
      return [res, version] as const;
    });
    if (sync.errorCode !== 0) {
      if (sync.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.#memberId = "";
      throw KafkaProtocolError.from(sync.errorCode, {
        apiName: "SyncGroup",
        apiVersion: syncVersion,
        groupId: this.#opts.groupId,
      });
    }
    const decoded = decodeAssignment(sync.assignment);
    const partitions = decoded.assignedPartitions.flatMap((tp) =>
      tp.partitions.map((partition) => ({ topic: tp.topic, partition }))
    );
    this.#opts.logger.info("joined the group", {
      group: this.#opts.groupId,
      generation: this.#generationId,
      memberId: this.#memberId,
      leader: isLeader,
      protocol: this.#protocolName,
      partitions: partitions.length,
    });
    this.#state = "stable";
    this.#ctx.liveness.stable(this.#generationId, syncSentAt);
    this.#heartbeat.setMember({
      memberId: this.#memberId,
      generationId: this.#generationId,
      groupInstanceId: this.#opts.groupInstanceId,
    });
    // An answer read after a stall of the process (SIGSTOP, a VM pause) may
    // be of a generation the coordinator has ended meanwhile, its partitions
    // handed to others: start none of them (no onAssigned), and rejoin.
    const stale = this.#ctx.liveness.fencedBecause(this.#opts.sessionTimeoutMs);
    if (stale !== null) {
      await this.#lose(`the SyncGroup answer came too late: ${stale}`);
      return;
    }
    this.#assigned = true;
    if (!this.cooperative) {
      this.#owned = partitions;
      await this.#ctx.hooks.assigned(partitions);
      return;
    }
    // Cooperative: revoke what moves away, start what is new, and leave the
    // kept partitions alone. Heartbeats run meanwhile (the revoke may wait
    // for acks). Revoked partitions go to their new owner in a follow-up
    // rebalance, which this member asks for at once.
    const key = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;
    const now = new Set(partitions.map(key));
    const before = new Set(this.#owned.map(key));
    const revoked = this.#owned.filter((tp) => !now.has(key(tp)));
    const added = partitions.filter((tp) => !before.has(key(tp)));
    this.#owned = partitions;
    if (revoked.length > 0) await this.#ctx.hooks.revoke(revoked);
    await this.#ctx.hooks.assigned(added);
    if (revoked.length > 0) {
      this.requestRejoin(`revoked ${revoked.length} partition(s) that move to another member`);
    }
  }

  /** The leader computes the assignment for every member (Java members included). */
  async #lead(join: JoinGroupResponse): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const members: (StickyMember & GroupMember)[] = join.members.map((m) => {
      const sub = decodeSubscription(m.metadata);
      return {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        topics: sub.topics,
        ownedPartitions: sub.ownedPartitions.flatMap((tp) =>
          tp.partitions.map((partition) => ({ topic: tp.topic, partition }))
        ),
        generationId: sub.generationId,
        userData: sub.userData,
      };
    });
    const allTopics = [...new Set(members.flatMap((m) => m.topics))];
    await this.#ctx.cluster.refreshMetadata(allTopics);
    const partitionsPerTopic = new Map<string, number>();
    for (const t of allTopics) {
      const info = this.#ctx.cluster.topics.get(t);
      if (info && info.errorCode === 0) partitionsPerTopic.set(t, info.partitions.size);
    }
    this.#leaderTopics = new Map(partitionsPerTopic);
    const name = (this.#protocolName ?? this.#opts.assignors[0]) as AssignorName;
    // Members in JoinGroup order: cooperative-sticky mirrors the order Java's leader sees.
    const result = name === "cooperative-sticky"
      ? cooperativeStickyAssign(members, partitionsPerTopic)
      : assign(name as EagerAssignorName, members, partitionsPerTopic);
    return [...result].map(([memberId, byTopic]) => ({
      memberId,
      assignment: encodeAssignment({
        assignedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      }),
    }));
  }

  /** What the heartbeat task learned, for the generation it heartbeated. */
  async #onHeartbeat(event: HeartbeatEvent): Promise<void> {
    if (event.generation !== this.#generationId) return;
    // A cooperative member rejoining with partitions still heartbeats for
    // them: when the task finds them lost (or left for the poll bound), they
    // are given up now, not when the rejoin or the next read gets there —
    // which may be seconds after a blocked event loop is free again, while
    // the group has already handed them to others (found by the CI chaos
    // run, seed 207112: a commit kept the reader away).
    const holding = this.#state === "stable" ||
      (this.#state === "joining" && this.#owned.length > 0);
    if (!holding) return;
    switch (event.type) {
      case "rebalance":
        if (this.#state === "stable") this.requestRejoin("the coordinator started a rebalance");
        break;
      case "lost":
        // Reset before #lose wakes the rebalance loop, so that the
        // JoinGroup it sends already carries the empty member id.
        if (event.unknownMember) this.#memberId = "";
        await this.#lose(event.reason);
        break;
      case "left":
        // The task left the group (LeaveGroup, unless static): give the
        // partitions up uncommitted and rejoin when the reader asks again.
        if (this.#opts.groupInstanceId === null) this.#memberId = "";
        this.#leftForPollBound = true;
        await this.#lose(event.reason, false);
        break;
      case "fatal":
        this.#state = "failed";
        this.#stopHeartbeats();
        this.#wake?.();
        this.#ctx.hooks.fatal(
          KafkaProtocolError.from(event.errorCode, {
            apiName: "Heartbeat",
            apiVersion: event.version,
            groupId: this.#opts.groupId,
          }),
        );
        break;
    }
  }

  async #lose(reason: string, rejoin = true): Promise<void> {
    if (this.#state !== "stable" && !(this.#state === "joining" && this.#owned.length > 0)) return;
    this.#opts.logger.warn("partitions lost", { group: this.#opts.groupId, reason });
    // The poll bound's LeaveGroup ended the membership already.
    if (
      this.#ctx.liveness.status === MemberStatus.LeftPollBound &&
      this.#opts.groupInstanceId === null
    ) {
      this.#memberId = "";
    }
    this.#state = "unjoined";
    this.#assigned = false;
    this.#owned = [];
    this.#generationId = -1;
    this.#stopHeartbeats();
    await this.#ctx.hooks.lost(reason);
    if (rejoin) this.requestRejoin(reason);
  }
}

/** Partitions grouped by topic, as the consumer protocol carries them. */
function groupByTopic(
  partitions: readonly TopicPartition[],
): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const tp of partitions) {
    const list = byTopic.get(tp.topic);
    if (list) list.push(tp.partition);
    else byTopic.set(tp.topic, [tp.partition]);
  }
  return [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps }));
}

/** A big-endian int32, as Java's `Struct` writes an INT32 field. */
function int32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value);
  return out;
}
