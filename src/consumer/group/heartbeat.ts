/**
 * The heartbeat task of a classic-protocol group member (KIP-62): every
 * `heartbeatIntervalMs` a Heartbeat for the current generation, and the
 * poll bound — a reader that has not asked for a batch for
 * `maxPollIntervalMs` makes the member leave the group, without committing.
 *
 * The same task runs in a Worker (heartbeat_worker.ts, so that it survives
 * a handler that blocks the consumer's event loop) or on the event loop
 * (heartbeat_driver.ts picks). It writes what `ack()` must see at once to
 * the shared {@linkcode Liveness} and reports the rest as
 * {@linkcode HeartbeatEvent}s for the membership to act on.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/error_codes.ts";
import { KafkaProtocolError } from "../../protocol/errors.ts";
import { HeartbeatApi } from "../../protocol/messages/heartbeat.ts";
import { sleep } from "../../util/async.ts";
import { MemberStatus } from "./liveness.ts";
import type { HeartbeatTaskContext } from "./task_context.ts";

/** Who heartbeats: the member of one generation. */
export interface HeartbeatMember {
  /** The coordinator's id of this member. */
  memberId: string;
  /** The generation joined. */
  generationId: number;
  /** Static membership id, or null. */
  groupInstanceId: string | null;
}

/** What the heartbeat task reports to the membership (tagged with its generation). */
export type HeartbeatEvent =
  | { type: "rebalance"; generation: number }
  | { type: "lost"; generation: number; reason: string; unknownMember: boolean }
  | { type: "left"; generation: number; reason: string }
  | { type: "fatal"; generation: number; errorCode: number; version: number };

/** Settings of {@linkcode Heartbeater}. */
export interface HeartbeatSettings {
  /** The group. */
  groupId: string;
  /** The session timeout the member joined with. */
  sessionTimeoutMs: number;
  /** Heartbeat period. */
  heartbeatIntervalMs: number;
  /** Bound of one Heartbeat or LeaveGroup request. */
  requestTimeoutMs: number;
  /** The poll bound. */
  maxPollIntervalMs: number;
}

/** Runs heartbeats and the poll bound for whichever member {@linkcode setMember} names. */
export class Heartbeater {
  readonly #ctx: HeartbeatTaskContext<HeartbeatEvent>;
  readonly #settings: HeartbeatSettings;
  #member: HeartbeatMember | null = null;

  /** A task that runs once {@linkcode run} is called, until `ctx.signal` aborts. */
  constructor(ctx: HeartbeatTaskContext<HeartbeatEvent>, settings: HeartbeatSettings) {
    this.#ctx = ctx;
    this.#settings = settings;
  }

  /** The member to heartbeat for from now on, or null to stop (joining, left, closed). */
  setMember(member: HeartbeatMember | null): void {
    this.#member = member;
  }

  /** The loop; resolves when the signal aborts. */
  async run(): Promise<void> {
    const s = this.#settings;
    while (!this.#ctx.signal.aborted) {
      // Wake up for the next heartbeat, or earlier when the poll bound falls
      // before it: the member leaves within one interval after the bound.
      let waitMs = s.heartbeatIntervalMs;
      const pollDeadline = this.#ctx.liveness.lastPullAt + s.maxPollIntervalMs;
      if (this.#member && !this.#ctx.liveness.inPull) {
        waitMs = Math.max(1, Math.min(waitMs, pollDeadline - Date.now() + 1));
      }
      if (!(await sleep(waitMs, this.#ctx.signal))) return;
      const member = this.#member;
      if (!member || this.#ctx.liveness.status !== MemberStatus.Stable) continue;
      if (member.generationId !== this.#ctx.liveness.generation) continue;
      if (this.#pollBoundPassed()) {
        await this.#leaveForPollBound(member);
        continue;
      }
      await this.#beat(member);
    }
  }

  #pollBoundPassed(): boolean {
    return !this.#ctx.liveness.inPull &&
      Date.now() - this.#ctx.liveness.lastPullAt > this.#settings.maxPollIntervalMs;
  }

  async #beat(member: HeartbeatMember): Promise<void> {
    const s = this.#settings;
    const generation = member.generationId;
    const sentAt = Date.now();
    let version = -1;
    try {
      const conn = await this.#ctx.client.connection("heartbeat");
      version = conn.version(HeartbeatApi);
      const res = await conn.send(HeartbeatApi, {
        groupId: s.groupId,
        generationId: generation,
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
      }, { version, timeoutMs: Math.min(s.requestTimeoutMs, s.sessionTimeoutMs) });
      if (this.#member !== member || this.#ctx.liveness.generation !== generation) return;
      switch (res.errorCode) {
        case 0:
          this.#ctx.liveness.confirm(sentAt);
          break;
        case ErrorCode.REBALANCE_IN_PROGRESS:
          // Still a member: heartbeats go on while the consumer revokes.
          this.#ctx.liveness.confirm(sentAt);
          this.#ctx.emit({ type: "rebalance", generation });
          break;
        case ErrorCode.ILLEGAL_GENERATION:
        case ErrorCode.UNKNOWN_MEMBER_ID:
          this.#end(member, MemberStatus.Lost);
          this.#ctx.emit({
            type: "lost",
            generation,
            reason: `heartbeat answered ${KafkaProtocolError.from(res.errorCode).errorName}`,
            unknownMember: res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID,
          });
          return;
        case ErrorCode.FENCED_INSTANCE_ID:
        case ErrorCode.GROUP_AUTHORIZATION_FAILED:
          this.#end(member, MemberStatus.Lost);
          this.#ctx.emit({ type: "fatal", generation, errorCode: res.errorCode, version });
          return;
        case ErrorCode.NOT_COORDINATOR:
        case ErrorCode.COORDINATOR_NOT_AVAILABLE:
          this.#ctx.client.resetCoordinator();
          break;
        default:
          this.#ctx.logger.warn("heartbeat error", { code: res.errorCode });
      }
    } catch (e) {
      this.#ctx.client.resetCoordinator();
      this.#ctx.logger.warn("heartbeat failed", { error: e });
    }
    if (
      this.#member === member &&
      Date.now() - this.#ctx.liveness.confirmedAt > s.sessionTimeoutMs &&
      this.#end(member, MemberStatus.Lost)
    ) {
      this.#ctx.emit({
        type: "lost",
        generation,
        reason: "no successful heartbeat within sessionTimeoutMs",
        unknownMember: false,
      });
    }
  }

  /** Ends the member's generation in the shared state; false when it had ended already. */
  #end(
    member: HeartbeatMember,
    status: typeof MemberStatus.Lost | typeof MemberStatus.LeftPollBound,
  ): boolean {
    if (this.#member === member) this.#member = null;
    return this.#ctx.liveness.endGeneration(member.generationId, status);
  }

  /**
   * Java's heartbeat thread on a poll timeout: leave the group (a static
   * member sends no LeaveGroup and lets its session expire), commit nothing.
   * What was acknowledged but not committed is delivered again.
   */
  async #leaveForPollBound(member: HeartbeatMember): Promise<void> {
    const s = this.#settings;
    if (!this.#end(member, MemberStatus.LeftPollBound)) return;
    const reason = "consumer poll timeout has expired";
    this.#ctx.logger.warn(
      "the reader has not asked for a batch within maxPollIntervalMs; leaving the group",
      { group: s.groupId, maxPollIntervalMs: s.maxPollIntervalMs },
    );
    if (member.groupInstanceId === null) {
      try {
        await this.#ctx.client.leave(member.memberId, null, reason, s.requestTimeoutMs);
      } catch (e) {
        this.#ctx.logger.warn("LeaveGroup failed; the coordinator will expire the member", {
          error: e,
        });
      }
    }
    this.#ctx.emit({ type: "left", generation: member.generationId, reason });
  }
}
