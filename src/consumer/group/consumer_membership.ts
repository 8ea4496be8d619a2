/**
 * Group membership, consumer protocol (KIP-848, `groupProtocol:
 * "consumer"`): one loop sends ConsumerGroupHeartbeat — the first carries
 * everything (subscription, rebalance timeout, assignor, owned partitions),
 * later ones only what changed, and after an error everything again — and
 * reconciles the assignment the broker computed: revoke what left the
 * target (wait for acks, commit, `onRevoked`), start what joined it
 * (`onAssigned`), then acknowledge by sending the owned partitions. Kept
 * partitions are never touched. There is no JoinGroup, no leader and no
 * group-wide barrier.
 *
 * The member id is ours (v1 of the API: client-generated, kept for the
 * consumer's life); the member epoch is the broker's and goes with every
 * OffsetCommit (`generationIdOrMemberEpoch`), so the broker refuses commits
 * of a fenced member (FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID): such a member
 * gives its partitions up as lost (nothing committed) and joins again at
 * epoch 0 with the same id. Leaving sends epoch -1 (dynamic) or -2 (static).
 *
 * This step runs the heartbeats on the event loop: a handler that blocks it
 * longer than the broker's session timeout loses its partitions (the classic
 * protocol's Worker does not carry this protocol yet). The poll bound is
 * kept as Java's consumer keeps it: no pull for `maxPollIntervalMs` leaves
 * the group (epoch -1) without committing; the next pull joins again.
 *
 * @module
 */

import type { Cluster } from "../../net/cluster.ts";
import { ConnectionError, RequestTimeoutError } from "../../net/errors.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { CorruptDataError, KafkaError, KafkaProtocolError } from "../../protocol/errors.ts";
import {
  ConsumerGroupHeartbeatApi,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
} from "../../protocol/messages/consumer_group_heartbeat.ts";
import { backoffMs, type BackoffOptions, sleep } from "../../util/async.ts";
import type { Logger } from "../../config.ts";
import type { TopicPartition } from "../offsets/ack_tracker.ts";
import { GroupClient, type MemberIdentity } from "../../net/group_client.ts";
import { type Liveness, MemberStatus } from "./liveness.ts";
import type { MembershipHooks, MembershipState } from "./membership.ts";

/** Settings of {@linkcode ConsumerGroupMembership}. */
export interface ConsumerMembershipOptions {
  /** The group. */
  groupId: string;
  /** Static membership id. */
  groupInstanceId: string | null;
  /** Sent as the member's rebalance timeout (how long the broker waits for a revocation). */
  rebalanceTimeoutMs: number;
  /** The poll bound. */
  maxPollIntervalMs: number;
  /** Request timeout of a heartbeat. */
  requestTimeoutMs: number;
  /** The broker-side assignor, or null for the broker's default. */
  remoteAssignor: string | null;
  /** Pause between failed heartbeats. */
  retryBackoff: BackoffOptions;
  /** Logger. */
  logger: Required<Logger>;
}

/** The first ConsumerGroupHeartbeat version with client-generated member ids (Kafka 4.0). */
const MIN_VERSION = 1;

/**
 * The broker does not say the session timeout; acks of a member that has
 * had no heartbeat answered for this long are refused (the broker refuses
 * its commits anyway once it is fenced: they carry the member epoch).
 * Kafka's default `group.consumer.session.timeout.ms`.
 */
const SESSION_BOUND_MS = 45_000;

/** Codes after which this member cannot go on; the stream ends with them. */
const FATAL = new Set<number>([
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.INVALID_REQUEST,
  ErrorCode.UNSUPPORTED_ASSIGNOR,
  ErrorCode.UNRELEASED_INSTANCE_ID,
  ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.GROUP_MAX_SIZE_REACHED,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INVALID_REGULAR_EXPRESSION,
  ErrorCode.INVALID_GROUP_ID,
]);

const keyOf = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

/** One consumer's membership of a consumer-protocol group. */
export class ConsumerGroupMembership {
  readonly #cluster: Cluster;
  readonly #client: GroupClient;
  readonly #opts: ConsumerMembershipOptions;
  readonly #hooks: MembershipHooks;
  readonly #liveness: Liveness;
  readonly #signal: AbortSignal;
  readonly #memberId = randomMemberId();
  #epoch = 0;
  #state: MembershipState = "unjoined";
  #owned: TopicPartition[] = [];
  /** The next heartbeat carries every field (first one, after an error). */
  #full = true;
  /** The owned partitions changed: the next heartbeat says so (the acknowledgement). */
  #ownedChanged = false;
  #intervalMs = 5000;
  #subscribed: string[] = [];
  #reconciling: Promise<void> = Promise.resolve();
  #wantJoin = true;
  #leftForPollBound = false;
  #wake: (() => void) | null = null;
  #assignedOnce = false;
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;

  /** Starts the heartbeat loop; it ends when `signal` aborts or the member leaves. */
  constructor(
    cluster: Cluster,
    client: GroupClient,
    opts: ConsumerMembershipOptions,
    hooks: MembershipHooks,
    liveness: Liveness,
    signal: AbortSignal,
  ) {
    this.#cluster = cluster;
    this.#client = client;
    this.#opts = opts;
    this.#hooks = hooks;
    this.#liveness = liveness;
    this.#signal = signal;
    this.done = this.#loop();
  }

  /** The current state. */
  get state(): MembershipState {
    return this.#state;
  }

  /** Always true: the consumer protocol revokes only what moves. */
  get cooperative(): boolean {
    return true;
  }

  /** The topics of the last full heartbeat. */
  get subscribed(): readonly string[] {
    return this.#subscribed;
  }

  /** Who commits: this member id at its current epoch. */
  identity(): MemberIdentity {
    return {
      generationId: this.#epoch,
      memberId: this.#memberId,
      groupInstanceId: this.#opts.groupInstanceId,
    };
  }

  /** As the classic membership's: gives the partitions up when heartbeats went unanswered too long. */
  loseIfFenced(where: string): Promise<void> | null {
    if (this.#state !== "stable") return null;
    const why = this.#liveness.fencedBecause(SESSION_BOUND_MS);
    return why === null ? null : this.#lose(`${why} (found ${where})`);
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
    this.#full = true;
    this.#wantJoin = true;
    this.#wake?.();
  }

  /** Partition counts are the broker's business under this protocol. */
  checkMetadata(): void {}

  /**
   * Leaves the group: a heartbeat at epoch -1 (-2 for a static member, which
   * keeps its partitions reserved for its return). Partitions must already
   * be revoked by the caller.
   */
  async leave(reason: string): Promise<void> {
    const wasMember = this.#state === "stable" || this.#epoch > 0;
    this.#state = "left";
    this.#wake?.();
    this.#liveness.setStatus(MemberStatus.Idle);
    if (!wasMember) return;
    try {
      await this.#sendLeave();
      this.#opts.logger.info("left the group", { group: this.#opts.groupId, reason });
    } catch (e) {
      this.#opts.logger.warn("leaving failed; the coordinator will expire the member", {
        error: e,
      });
    }
  }

  /** The leaving heartbeat: epoch -1, or -2 for a static member (its partitions wait for it). */
  async #sendLeave(): Promise<void> {
    await this.#send({
      groupId: this.#opts.groupId,
      memberId: this.#memberId,
      memberEpoch: this.#opts.groupInstanceId === null ? -1 : -2,
      instanceId: this.#opts.groupInstanceId,
    });
  }

  async #loop(): Promise<void> {
    let attempt = 0;
    while (!this.#signal.aborted && this.#state !== "failed" && this.#state !== "left") {
      if (!this.#wantJoin) {
        await this.#sleep(null);
        continue;
      }
      if (this.#state === "stable" && this.#pollBoundPassed()) {
        await this.#leaveForPollBound();
        continue;
      }
      const sentAt = Date.now();
      let res: ConsumerGroupHeartbeatResponse;
      try {
        res = await this.#send(await this.#request());
      } catch (e) {
        if (this.#signal.aborted || this.#left()) break;
        if (e instanceof KafkaProtocolError && FATAL.has(e.code)) {
          this.#fail(e);
          break;
        }
        if (
          e instanceof KafkaProtocolError &&
          (e.code === ErrorCode.UNKNOWN_MEMBER_ID || e.code === ErrorCode.FENCED_MEMBER_EPOCH)
        ) {
          // Fenced: whatever we held may be someone else's. Rejoin at once, same id, epoch 0.
          await this.#lose(`${e.errorName} from the coordinator`);
          continue;
        }
        const transient = e instanceof KafkaProtocolError || e instanceof ConnectionError ||
          e instanceof RequestTimeoutError || e instanceof CorruptDataError;
        if (!transient || attempt >= 30) {
          this.#fail(
            transient
              ? new KafkaError(
                `Group ${this.#opts.groupId}: ${attempt} heartbeats failed in a row, the last with ` +
                  `${(e as Error).message}. Check the broker's answer above (and its log).`,
                { cause: e },
              )
              : e instanceof Error
              ? e
              : new Error(String(e)),
          );
          break;
        }
        // Resend everything after an error, as the protocol asks.
        this.#full = true;
        this.#opts.logger.warn("heartbeat failed; retrying", {
          group: this.#opts.groupId,
          error: e,
          attempt,
        });
        if (!(await sleep(backoffMs(attempt++, this.#opts.retryBackoff), this.#signal))) break;
        continue;
      }
      attempt = 0;
      if (this.#left()) break;
      if (Date.now() - sentAt >= SESSION_BOUND_MS && res.assignment !== null) {
        // Read after a stall of the process: the epoch may be over and the
        // assignment someone else's. Start nothing; join again.
        await this.#lose("a heartbeat answer came after the session bound");
        continue;
      }
      this.#full = false;
      this.#epoch = res.memberEpoch;
      this.#intervalMs = res.heartbeatIntervalMs > 0 ? res.heartbeatIntervalMs : this.#intervalMs;
      if (this.#state !== "stable") {
        this.#state = "stable";
        this.#liveness.stable(this.#epoch, sentAt);
        this.#opts.logger.info("joined the group", {
          group: this.#opts.groupId,
          memberId: this.#memberId,
          epoch: this.#epoch,
          protocol: "consumer",
        });
      } else {
        this.#liveness.confirm(sentAt);
      }
      if (res.assignment !== null) {
        const target = res.assignment.topicPartitions;
        // One reconciliation at a time; heartbeats go on meanwhile.
        this.#reconciling = this.#reconciling.then(() => this.#reconcile(target, this.#epoch));
      }
      await this.#sleep(this.#intervalMs);
    }
  }

  /** Whether leave() ran (it may, while a heartbeat is in flight). */
  #left(): boolean {
    return this.#state === "left";
  }

  /** Waits `ms` (or, with null, until woken), or less when something must be sent at once. */
  async #sleep(ms: number | null): Promise<void> {
    if (this.#ownedChanged || this.#full && ms !== null) return;
    await new Promise<void>((resolve) => {
      const id = ms === null ? undefined : setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(id);
        resolve();
      };
      this.#signal.addEventListener("abort", () => this.#wake?.(), { once: true });
    });
    this.#wake = null;
  }

  async #request(): Promise<ConsumerGroupHeartbeatRequest> {
    const request: ConsumerGroupHeartbeatRequest = {
      groupId: this.#opts.groupId,
      memberId: this.#memberId,
      memberEpoch: this.#epoch,
    };
    if (this.#full) {
      const topics = await this.#hooks.subscription();
      this.#subscribed = topics;
      request.instanceId = this.#opts.groupInstanceId;
      request.rebalanceTimeoutMs = this.#opts.rebalanceTimeoutMs;
      request.subscribedTopicNames = topics;
      request.serverAssignor = this.#opts.remoteAssignor;
    }
    if (this.#full || this.#ownedChanged) {
      this.#ownedChanged = false;
      request.topicPartitions = this.#ownedWithIds();
    }
    return request;
  }

  /** The owned partitions by topic id (those whose id metadata knows). */
  #ownedWithIds(): { topicId: string; partitions: number[] }[] {
    const byId = new Map<string, number[]>();
    for (const tp of this.#owned) {
      const id = this.#cluster.topics.get(tp.topic)?.topicId;
      if (id === undefined) continue;
      const list = byId.get(id);
      if (list) list.push(tp.partition);
      else byId.set(id, [tp.partition]);
    }
    return [...byId].map(([topicId, partitions]) => ({ topicId, partitions }));
  }

  async #send(request: ConsumerGroupHeartbeatRequest): Promise<ConsumerGroupHeartbeatResponse> {
    return await this.#client.run("heartbeat", async (conn) => {
      const version = conn.version(ConsumerGroupHeartbeatApi);
      if (version < MIN_VERSION) {
        throw new KafkaError(
          `groupProtocol "consumer" needs ConsumerGroupHeartbeat v${MIN_VERSION} or later ` +
            `(Kafka 4.0+); this broker offers at most v${version}. Use groupProtocol "classic" ` +
            `with this broker, or upgrade it.`,
        );
      }
      const res = await conn.send(ConsumerGroupHeartbeatApi, request, {
        version,
        timeoutMs: this.#opts.requestTimeoutMs,
      });
      GroupClient.throwIfCoordinatorMoved(
        res.errorCode,
        "ConsumerGroupHeartbeat",
        version,
        this.#opts.groupId,
      );
      if (res.errorCode !== 0) {
        throw KafkaProtocolError.from(res.errorCode, {
          apiName: "ConsumerGroupHeartbeat",
          apiVersion: version,
          groupId: this.#opts.groupId,
          errorMessage: res.errorMessage ?? undefined,
        });
      }
      return res;
    });
  }

  /**
   * Moves the owned partitions to the broker's target: revoke what left it
   * (acks awaited, commit, onRevoked), start what joined it (onAssigned),
   * then acknowledge with the next heartbeat. Topic ids metadata does not
   * know yet are looked up; their partitions wait for the next assignment.
   */
  async #reconcile(
    target: readonly { topicId: string; partitions: number[] }[],
    epoch: number,
  ): Promise<void> {
    if (this.#state !== "stable" || epoch !== this.#epoch) return;
    let names = target.map((t) => this.#cluster.topicName(t.topicId));
    if (names.some((n) => n === undefined)) {
      await this.#cluster.refreshMetadata(this.#subscribed).catch(() => {});
      names = target.map((t) => this.#cluster.topicName(t.topicId));
    }
    const wanted: TopicPartition[] = [];
    target.forEach((t, i) => {
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
      await this.#hooks.revoke(revoked);
    }
    if (this.#state !== "stable") return; // lost or left meanwhile
    this.#owned = [...this.#owned, ...added];
    this.#assignedOnce = true;
    await this.#hooks.assigned(added);
    this.#ownedChanged = true;
    this.#wake?.();
  }

  #pollBoundPassed(): boolean {
    return !this.#liveness.inPull &&
      Date.now() - this.#liveness.lastPullAt > this.#opts.maxPollIntervalMs;
  }

  async #leaveForPollBound(): Promise<void> {
    const reason = `no read for maxPollIntervalMs (${this.#opts.maxPollIntervalMs} ms)`;
    this.#opts.logger.warn("leaving the group: the reader stalled", { reason });
    const epoch = this.#epoch;
    this.#wantJoin = false;
    this.#leftForPollBound = true;
    this.#liveness.endGeneration(epoch, MemberStatus.LeftPollBound);
    try {
      await this.#sendLeave();
    } catch (e) {
      this.#opts.logger.warn("leaving failed; the coordinator will expire the member", {
        error: e,
      });
    }
    await this.#lose(reason, false);
  }

  async #lose(reason: string, rejoin = true): Promise<void> {
    if (this.#state !== "stable" && this.#owned.length === 0) {
      this.#epoch = 0;
      this.#full = true;
      return;
    }
    this.#opts.logger.warn("partitions lost", { group: this.#opts.groupId, reason });
    this.#state = "unjoined";
    this.#epoch = 0;
    this.#full = true;
    this.#owned = [];
    this.#assignedOnce = false;
    this.#liveness.setStatus(MemberStatus.Idle);
    await this.#hooks.lost(reason);
    if (rejoin) this.#wantJoin = true;
  }

  #fail(error: Error): void {
    this.#state = "failed";
    this.#liveness.setStatus(MemberStatus.Idle);
    this.#hooks.fatal(error);
  }
}

/** A member id as Java's consumer makes one: 16 random bytes, base64url without padding. */
function randomMemberId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}
