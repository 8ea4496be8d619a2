/**
 * Group membership, consumer protocol (KIP-848, `groupProtocol:
 * "consumer"`), on the consumer's side: it reconciles the assignment the
 * broker computed — revoke what left the target (wait for acks, commit,
 * `onRevoked`), start what joined it (`onAssigned`), then acknowledge by
 * reporting the owned partitions to the heartbeat task, whose next
 * heartbeat, sent at once, carries them. Kept partitions are never
 * touched. There is no JoinGroup, no leader and no group-wide barrier.
 *
 * The heartbeats themselves (consumer_heartbeat.ts) run where the classic
 * protocol's run: in the heartbeat Worker by default, so a handler that
 * blocks this event loop keeps its partitions for as long as it blocks
 * (the broker waits for revocations up to the rebalance timeout, and
 * assignments wait as events), or on the event loop.
 *
 * The member id is ours (v1 of the API: client-generated, kept for the
 * consumer's life); the member epoch is the broker's, read from the shared
 * {@linkcode Liveness} (the task writes every new one there), and goes with
 * every OffsetCommit (`generationIdOrMemberEpoch`), so the broker refuses
 * commits of a fenced member (FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID): such
 * a member gives its partitions up as lost (nothing committed) and joins
 * again at epoch 0 with the same id. Leaving sends epoch -1 (dynamic) or -2
 * (static). The poll bound is kept as Java's consumer keeps it: no pull for
 * `maxPollIntervalMs` leaves the group without committing; the next pull
 * joins again.
 *
 * @module
 */

import type { MemberIdentity } from "../../net/group_client.ts";
import { KafkaError, KafkaProtocolError } from "../../protocol/errors.ts";
import { backoffMs, sleep } from "../../util/async.ts";
import type { HeartbeatThread } from "../../config.ts";
import type { TopicPartition } from "../offsets/ack_tracker.ts";
import {
  type ConsumerHeartbeatEvent,
  randomMemberId,
  type TopicIdPartitions,
} from "./consumer_heartbeat.ts";
import type { HeartbeatDriver } from "./heartbeat_driver.ts";
import { MemberStatus } from "./liveness.ts";
import {
  type MemberContext,
  type MemberSettings,
  type MembershipState,
  startMemberHeartbeat,
} from "./member_context.ts";

/** Settings of {@linkcode ConsumerGroupMembership}: both protocols' and the consumer protocol's own. */
export interface ConsumerMembershipOptions extends MemberSettings {
  /** The broker-side assignor, or null for the broker's default. */
  remoteAssignor: string | null;
  /** A RegExp subscription as the broker's RE2J pattern, or null (topic names). */
  topicsRegex: string | null;
}

/**
 * The session bound until the group's is known, and when the broker cannot
 * say it (before Kafka 4.0's group configs, or not allowed to describe
 * them): Kafka's default `group.consumer.session.timeout.ms`. Acks of a
 * member that has had no heartbeat answered for the bound are refused and
 * its partitions given up before a delivery; the broker refuses a fenced
 * member's commits anyway (they carry the member epoch).
 */
const DEFAULT_SESSION_BOUND_MS = 45_000;

/** Failed subscription lookups (metadata) in a row before the member gives up. */
const MAX_SUBSCRIPTION_ATTEMPTS = 30;

const keyOf = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

/** One consumer's membership of a consumer-protocol group. */
export class ConsumerGroupMembership {
  readonly #ctx: MemberContext;
  readonly #opts: ConsumerMembershipOptions;
  readonly #memberId = randomMemberId();
  readonly #heartbeat: HeartbeatDriver;
  #state: MembershipState = "unjoined";
  /** The group's session timeout (consumer.session.timeout.ms), once read; until then the default. */
  #sessionBoundMs = DEFAULT_SESSION_BOUND_MS;
  #sessionBoundRead = false;
  #owned: TopicPartition[] = [];
  #subscribed: string[] = [];
  /** The `seq` of the last join asked of the task; its events for earlier joins are stale. */
  #seq = 0;
  /** The task is not heartbeating (it left for the poll bound): a rejoin must be fresh. */
  #idle = false;
  /** The newest target the task reported, not reconciled yet. */
  #target: { epoch: number; seq: number; partitions: TopicIdPartitions[] } | null = null;
  #reconciling: Promise<void> = Promise.resolve();
  #assignedOnce = false;
  #leftForPollBound = false;
  #leaveDone: ((error?: string) => void) | null = null;
  #ended!: () => void;
  /** Resolves when the membership has ended (closed or failed) and its heartbeat task with it. */
  readonly done: Promise<void>;

  /** Starts the heartbeat task and joins; everything ends when `ctx.signal` aborts. */
  constructor(ctx: MemberContext, opts: ConsumerMembershipOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
    const settings = {
      groupId: opts.groupId,
      memberId: this.#memberId,
      instanceId: opts.groupInstanceId,
      rebalanceTimeoutMs: opts.rebalanceTimeoutMs,
      maxPollIntervalMs: opts.maxPollIntervalMs,
      requestTimeoutMs: opts.requestTimeoutMs,
      remoteAssignor: opts.remoteAssignor,
      topicsRegex: opts.topicsRegex,
      sessionBoundMs: DEFAULT_SESSION_BOUND_MS,
      retryBackoff: opts.retryBackoff,
    };
    const task = { protocol: "consumer" as const, settings };
    this.#heartbeat = startMemberHeartbeat(ctx, opts, task, (e) => this.#onEvent(e));
    const ended = new Promise<void>((resolve) => this.#ended = resolve);
    ctx.signal.addEventListener("abort", () => this.#ended(), { once: true });
    this.done = ended.then(() => this.#heartbeat.close());
    void this.#join(true);
  }

  /** Where the heartbeat task runs now. */
  get heartbeatThread(): HeartbeatThread {
    return this.#heartbeat.thread;
  }

  /** The current state. */
  get state(): MembershipState {
    return this.#state;
  }

  /** Always true: the consumer protocol revokes only what moves. */
  get cooperative(): boolean {
    return true;
  }

  /** The topics of the last subscription sent. */
  get subscribed(): readonly string[] {
    return this.#subscribed;
  }

  /** Who commits: this member id at its newest epoch (0 when not a member). */
  identity(): MemberIdentity {
    return {
      generationId: this.#state === "stable" ? this.#ctx.liveness.generation : 0,
      memberId: this.#memberId,
      groupInstanceId: this.#opts.groupInstanceId,
    };
  }

  /** As the classic membership's: gives the partitions up when heartbeats went unanswered too long. */
  loseIfFenced(where: string): Promise<void> | null {
    if (this.#state !== "stable") return null;
    const why = this.#ctx.liveness.fencedBecause(this.#sessionBoundMs);
    return why === null ? null : this.#lose(`${why} (found ${where})`, true);
  }

  /** True once after the poll bound made the member leave. */
  takeLeftForPollBound(): boolean {
    const left = this.#leftForPollBound;
    this.#leftForPollBound = false;
    return left;
  }

  /**
   * New topics to subscribe (metadata changed) or a join after leaving: the
   * next heartbeat, sent at once, carries everything.
   */
  requestRejoin(reason: string): void {
    if (this.#state === "failed" || this.#state === "left") return;
    this.#opts.logger.debug("heartbeat with the full subscription", { reason });
    const fresh = this.#idle;
    this.#idle = false;
    void this.#join(fresh);
  }

  /** Partition counts are the broker's business under this protocol. */
  checkMetadata(): void {}

  /**
   * Leaves the group: a heartbeat at epoch -1 (-2 for a static member, which
   * keeps its partitions reserved for its return), sent by the task after
   * any heartbeat in flight. Partitions must already be revoked by the caller.
   */
  async leave(reason: string): Promise<void> {
    if (this.#state === "failed" || this.#state === "left") return;
    this.#state = "left";
    this.#ctx.liveness.setStatus(MemberStatus.Idle);
    const answered = new Promise<string | undefined>((resolve) => this.#leaveDone = resolve);
    this.#heartbeat.command({ type: "leave" });
    const timeout = new AbortController();
    const outcome = await Promise.race([
      answered.then((error) => ({ error })),
      sleep(this.#opts.requestTimeoutMs + 1000, timeout.signal).then(() => null),
    ]);
    timeout.abort();
    if (outcome !== null && outcome.error === undefined) {
      this.#opts.logger.info("left the group", { group: this.#opts.groupId, reason });
    } else {
      this.#opts.logger.warn("leaving failed; the coordinator will expire the member", {
        error: outcome?.error ?? "no answer in time",
      });
    }
  }

  /** Sends the subscription to the task: a fresh join (epoch 0), or the member's next full heartbeat. */
  async #join(fresh: boolean): Promise<void> {
    const seq = fresh ? ++this.#seq : this.#seq;
    for (let attempt = 0;; attempt++) {
      if (this.#ctx.signal.aborted || this.#state === "failed" || this.#state === "left") return;
      try {
        const topics = await this.#ctx.hooks.subscription();
        if (seq !== this.#seq) return; // a newer join took over
        this.#subscribed = topics;
        this.#heartbeat.command({ type: "join", topics, fresh, seq });
        return;
      } catch (e) {
        const retriable = !(e instanceof KafkaProtocolError) || e.retriable;
        if (!retriable || attempt + 1 >= MAX_SUBSCRIPTION_ATTEMPTS) {
          this.#fail(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        this.#opts.logger.warn("looking up the subscription failed; retrying", { error: e });
        if (!(await sleep(backoffMs(attempt, this.#opts.retryBackoff), this.#ctx.signal))) return;
      }
    }
  }

  #onEvent(event: ConsumerHeartbeatEvent): void {
    if (this.#state === "failed") return;
    switch (event.type) {
      case "leave-done":
        this.#leaveDone?.(event.error);
        this.#leaveDone = null;
        return;
      case "failed":
        this.#fail(
          event.errorCode === undefined ? new KafkaError(event.message) : KafkaProtocolError.from(
            event.errorCode,
            {
              apiName: "ConsumerGroupHeartbeat",
              apiVersion: event.version,
              groupId: this.#opts.groupId,
              errorMessage: event.brokerMessage,
            },
          ),
        );
        return;
    }
    // A report about an earlier join (the consumer has joined anew since) or after leaving.
    if (event.seq !== this.#seq || this.#state === "left") return;
    switch (event.type) {
      case "joined":
        this.#state = "stable";
        this.#opts.logger.info("joined the group", {
          group: this.#opts.groupId,
          memberId: this.#memberId,
          epoch: event.epoch,
          protocol: "consumer",
          heartbeatThread: this.#heartbeat.thread,
        });
        if (!this.#sessionBoundRead) void this.#readSessionBound();
        return;
      case "assignment":
        this.#target = { epoch: event.epoch, seq: event.seq, partitions: event.target };
        // One reconciliation at a time; heartbeats go on meanwhile.
        this.#reconciling = this.#reconciling.then(() => this.#reconcile()).catch((e) =>
          this.#reconcileFailed(e)
        );
        return;
      case "fenced":
        void this.#lose(event.reason, true);
        return;
      case "poll-bound":
        this.#leftForPollBound = true;
        this.#idle = true;
        void this.#lose(event.reason, false);
        return;
    }
  }

  /**
   * Moves the owned partitions to the newest target: revoke what left it
   * (acks awaited, commit, onRevoked), start what joined it (onAssigned),
   * then report the owned partitions (the acknowledgement). Topic ids
   * metadata does not know yet are looked up; their partitions wait for the
   * next assignment.
   */
  async #reconcile(): Promise<void> {
    const target = this.#target;
    this.#target = null;
    if (target === null || this.#state !== "stable" || target.seq !== this.#seq) return;
    const current = () => this.#state === "stable" && target.seq === this.#seq;
    let names = target.partitions.map((t) => this.#ctx.cluster.topicName(t.topicId));
    if (names.some((n) => n === undefined)) {
      // Under a regex the broker may assign topics this member has not looked up.
      const topics = this.#opts.topicsRegex === null ? this.#subscribed : null;
      await this.#ctx.cluster.refreshMetadata(topics).catch(() => {});
      names = target.partitions.map((t) => this.#ctx.cluster.topicName(t.topicId));
    }
    const wanted: TopicPartition[] = [];
    target.partitions.forEach((t, i) => {
      const topic = names[i];
      if (topic !== undefined) {
        for (const partition of t.partitions) wanted.push({ topic, partition });
      }
    });
    const now = new Set(wanted.map(keyOf));
    const before = new Set(this.#owned.map(keyOf));
    const revoked = this.#owned.filter((tp) => !now.has(keyOf(tp)));
    const added = wanted.filter((tp) => !before.has(keyOf(tp)));
    if (revoked.length === 0 && added.length === 0 && this.#assignedOnce) return;
    if (revoked.length > 0) {
      this.#owned = this.#owned.filter((tp) => now.has(keyOf(tp)));
      await this.#ctx.hooks.revoke(revoked);
    }
    if (!current()) return; // lost or left meanwhile
    this.#owned = [...this.#owned, ...added];
    this.#assignedOnce = true;
    await this.#ctx.hooks.assigned(added);
    if (!current()) return;
    this.#heartbeat.command({ type: "owned", partitions: this.#ownedWithIds() });
  }

  /**
   * A reconciliation that threw (its offset lookup failed, say): unless the
   * consumer is closing, what it held is given up as lost — nothing
   * committed, no position guessed — and the member joins again.
   */
  async #reconcileFailed(e: unknown): Promise<void> {
    if (this.#ctx.signal.aborted || this.#state === "left" || this.#state === "failed") return;
    this.#opts.logger.warn("reconciling the assignment failed", { error: e });
    await this.#lose(`reconciling the assignment failed: ${(e as Error)?.message ?? e}`, true);
  }

  /**
   * Reads the group's session timeout once (the group's config, else the
   * broker's default for it) and bounds the stale-session checks with it,
   * here and in the heartbeat task. When the broker cannot say, Kafka's
   * default stays, with a warning once.
   */
  async #readSessionBound(): Promise<void> {
    this.#sessionBoundRead = true;
    const ms = await this.#ctx.client.consumerSessionTimeoutMs().catch(() => null);
    if (ms === null) {
      this.#opts.logger.warn(
        "could not read the group's consumer.session.timeout.ms (DescribeConfigs); ack() and " +
          `deliveries assume Kafka's default session of ${DEFAULT_SESSION_BOUND_MS} ms`,
        { group: this.#opts.groupId },
      );
      return;
    }
    this.#sessionBoundMs = ms;
    this.#heartbeat.command({ type: "session-bound", ms });
    this.#opts.logger.info("the group's session timeout", {
      group: this.#opts.groupId,
      sessionTimeoutMs: ms,
    });
  }

  /** The session bound in use (the group's session timeout once read). */
  get sessionBoundMs(): number {
    return this.#sessionBoundMs;
  }

  /** The owned partitions by topic id (those whose id metadata knows). */
  #ownedWithIds(): TopicIdPartitions[] {
    const byId = new Map<string, number[]>();
    for (const tp of this.#owned) {
      const id = this.#ctx.cluster.topics.get(tp.topic)?.topicId;
      if (id === undefined) continue;
      const list = byId.get(id);
      if (list) list.push(tp.partition);
      else byId.set(id, [tp.partition]);
    }
    return [...byId].map(([topicId, partitions]) => ({ topicId, partitions }));
  }

  /**
   * Gives every partition up without committing (`onLost`), then — unless
   * the member left for the poll bound, which rejoins at the next pull —
   * joins again at epoch 0 with the same id.
   */
  async #lose(reason: string, rejoin: boolean): Promise<void> {
    if (this.#state === "failed" || this.#state === "left") return;
    const held = this.#state === "stable" || this.#owned.length > 0;
    // Before the join below: the task sets the new membership's status.
    this.#ctx.liveness.setStatus(MemberStatus.Idle);
    this.#state = "unjoined";
    this.#owned = [];
    this.#assignedOnce = false;
    this.#target = null;
    if (held) {
      this.#opts.logger.warn("partitions lost", { group: this.#opts.groupId, reason });
      await this.#ctx.hooks.lost(reason);
    }
    if (rejoin) await this.#join(true);
    else this.#seq++; // what the task still reports belongs to the membership that ended
  }

  #fail(error: Error): void {
    if (this.#state === "failed") return;
    this.#state = "failed";
    this.#ctx.liveness.setStatus(MemberStatus.Idle);
    this.#leaveDone?.("the member failed");
    this.#ctx.hooks.fatal(error);
    this.#ended();
  }
}
