/**
 * Commits of acknowledged offsets: one at a time, the generation's refusals
 * turned into rejoins (or not), and the auto-commit interval.
 *
 * Apart from consumer.ts because every commit path — `commit()`, the
 * interval, revocation, close, failure — goes through the same chain and the
 * same reading of the broker's refusal; the consumer owns when, this owns how.
 *
 * @module
 */

import type { ResolvedOptions } from "../config.ts";
import type { GroupClient, MemberIdentity } from "../net/group_client.ts";
import { UnsupportedVersionError } from "../net/errors.ts";
import { KafkaProtocolError } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { backoffMs, delay, sleep } from "../util/async.ts";
import type { MembershipState } from "./group/member_context.ts";
import type { AckTracker } from "./offsets/ack_tracker.ts";

/** What committing needs of the group membership (classic or KIP-848). */
export interface CommitMembership {
  readonly state: MembershipState;
  identity(): MemberIdentity;
  requestRejoin(reason: string): void;
}

/** What the committer reads and does outside itself. */
export interface CommitterDeps {
  /** Null without a groupId: then there is nothing to commit to. */
  group: GroupClient | null;
  tracker: AckTracker;
  /** The membership now (null in assign mode and before start-up). */
  membership: () => CommitMembership | null;
  opts: Pick<ResolvedOptions, "retryBackoff" | "logger" | "autoCommitIntervalMs">;
  signal: AbortSignal;
  /** Ends the consumer with an error no later commit can get past. */
  fail: (error: Error) => void;
}

/** Sends the tracker's pending commits, serialized (one in flight). */
export class Committer {
  readonly #d: CommitterDeps;
  /** Commit refusals of a generation a rejoin already replaces (see commit()). */
  readonly #supersededCommits = new WeakSet<Error>();
  #commitChain: Promise<void> = Promise.resolve();

  constructor(deps: CommitterDeps) {
    this.#d = deps;
  }

  /** Commits what is acknowledged now, after any commit in flight. */
  commit(): Promise<void> {
    const run = async () => {
      const group = this.#d.group;
      if (!group) return;
      const pending = this.#d.tracker.pendingCommits();
      if (pending.length === 0) return;
      for (let attempt = 0;; attempt++) {
        const identity = this.#d.membership()?.identity() ??
          { generationId: -1, memberId: "", groupInstanceId: null };
        try {
          await group.commitOffsets(pending, identity);
          break;
        } catch (e) {
          const m = this.#d.membership();
          const newer = m !== null && m.identity().generationId !== identity.generationId;
          // KIP-848: a heartbeat raised the member epoch while the commit
          // was on its way. Commit again with the epoch it returned.
          if (
            e instanceof KafkaProtocolError && e.code === ErrorCode.STALE_MEMBER_EPOCH &&
            attempt < 3
          ) {
            if (!newer) await delay(backoffMs(attempt, this.#d.opts.retryBackoff), this.#d.signal);
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
      for (const p of pending) this.#d.tracker.markCommitted(p, p.offset, p.incarnation);
      this.#d.opts.logger.debug("committed", { count: pending.length });
    };
    const next = this.#commitChain.then(run, run);
    this.#commitChain = next.catch(() => {});
    return next;
  }

  /** A failed background commit (interval, revocation): warn, rejoin, or fail. */
  warn(e: unknown): void {
    if (e instanceof UnsupportedVersionError) {
      // No later commit can succeed either (a broker too old for our
      // OffsetCommit): end the stream rather than deliver forever and never
      // commit, warning on every interval.
      this.#d.fail(e);
      return;
    }
    this.#d.opts.logger.warn("commit failed", { error: e });
    this.rejoinAfter(e);
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
  rejoinAfter(e: unknown): void {
    if (!(e instanceof KafkaProtocolError && e.rejoin)) return;
    if (this.#supersededCommits.has(e)) return;
    this.#d.membership()?.requestRejoin("commit answered " + e.errorName);
  }

  /** `commit: "auto"`: commits every autoCommitIntervalMs until stopped or closing. */
  async autoCommitLoop(closing: () => boolean): Promise<void> {
    while (!this.#d.signal.aborted) {
      if (!(await sleep(this.#d.opts.autoCommitIntervalMs, this.#d.signal))) return;
      if (closing()) return;
      await this.commit().catch((e) => this.warn(e));
    }
  }
}
