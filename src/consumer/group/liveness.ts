/**
 * The liveness facts of a group member that both the consumer and its
 * heartbeat task read at once, kept in a SharedArrayBuffer: the heartbeat
 * may run in a Worker (see heartbeat_worker.ts) while a handler blocks the
 * consumer's event loop, and `ack()` must then see "the session may have
 * ended" without waiting for a message the blocked thread cannot read.
 *
 * Every slot is an Int64 read and written with Atomics (no torn reads);
 * times are `Date.now()` milliseconds, one clock for both threads.
 *
 * @module
 */

/** Where the member stands, as the heartbeat task last saw it. */
export const MemberStatus = {
  /** Not a stable member (not joined, joining, or revoking for a rejoin). */
  Idle: 0,
  /** A stable member of `generation`: heartbeats run. */
  Stable: 1,
  /** The heartbeat task left the group: the reader passed maxPollIntervalMs. */
  LeftPollBound: 2,
  /** The coordinator no longer knows this member's generation, or no heartbeat was answered in time. */
  Lost: 3,
} as const;

/** One of {@linkcode MemberStatus}. */
export type MemberStatus = typeof MemberStatus[keyof typeof MemberStatus];

const CONFIRMED_AT = 0;
const LAST_PULL_AT = 1;
const IN_PULL = 2;
const GENERATION = 3;
const STATUS = 4;
const SLOTS = 5;

/** Shared liveness of one member; construct it over the same buffer in each thread. */
export class Liveness {
  /** The shared memory; post it to the worker. */
  readonly buffer: SharedArrayBuffer;
  readonly #slots: BigInt64Array;

  /** A fresh state (no buffer), or a view of one another thread created. */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(SLOTS * 8);
    this.#slots = new BigInt64Array(this.buffer);
    if (buffer === undefined) {
      const now = BigInt(Date.now());
      Atomics.store(this.#slots, CONFIRMED_AT, now);
      Atomics.store(this.#slots, LAST_PULL_AT, now);
      Atomics.store(this.#slots, GENERATION, -1n);
    }
  }

  #get(slot: number): number {
    return Number(Atomics.load(this.#slots, slot));
  }

  #set(slot: number, value: number): void {
    Atomics.store(this.#slots, slot, BigInt(Math.floor(value)));
  }

  /** When the last request the coordinator answered for this membership was sent. */
  get confirmedAt(): number {
    return this.#get(CONFIRMED_AT);
  }

  /** Records a positive answer to a request sent at `sentAt`. */
  confirm(sentAt: number): void {
    if (sentAt > this.confirmedAt) this.#set(CONFIRMED_AT, sentAt);
  }

  /** The member's status. */
  get status(): MemberStatus {
    return this.#get(STATUS) as MemberStatus;
  }

  /** The generation heartbeats run for (-1: none). */
  get generation(): number {
    return this.#get(GENERATION);
  }

  /** A stable member of `generation`, confirmed by a join sent at `sentAt`. */
  stable(generation: number, sentAt: number): void {
    this.#set(GENERATION, generation);
    this.#set(CONFIRMED_AT, sentAt);
    this.#set(STATUS, MemberStatus.Stable);
  }

  /** The status changes (generation kept, for the record). */
  setStatus(status: MemberStatus): void {
    this.#set(STATUS, status);
  }

  /**
   * Moves from Stable to `status` only if the member is still stable in
   * `generation`: a late answer must not undo a newer join.
   */
  endGeneration(
    generation: number,
    status: typeof MemberStatus.LeftPollBound | typeof MemberStatus.Lost,
  ): boolean {
    if (this.status !== MemberStatus.Stable || this.generation !== generation) return false;
    this.#set(STATUS, status);
    return true;
  }

  /** The reader starts asking for a batch (`inPull`), or has its answer. */
  pulling(inPull: boolean, now: number = Date.now()): void {
    this.#set(LAST_PULL_AT, now);
    this.#set(IN_PULL, inPull ? 1 : 0);
  }

  /** When the reader last asked for a batch or got one. */
  get lastPullAt(): number {
    return this.#get(LAST_PULL_AT);
  }

  /** True while a read is pending (the reader is asking). */
  get inPull(): boolean {
    return this.#get(IN_PULL) === 1;
  }

  /**
   * Why the current generation's partitions may already belong to another
   * member, or null: the heartbeat task lost or left the membership, or no
   * request sent within `sessionTimeoutMs` was answered (the coordinator's
   * deadline runs from when it received one, after we sent it).
   */
  fencedBecause(sessionTimeoutMs: number, now: number = Date.now()): string | null {
    switch (this.status) {
      case MemberStatus.LeftPollBound:
        return "the member left the group after maxPollIntervalMs without a pull";
      case MemberStatus.Lost:
        return "the coordinator no longer knows this member's generation";
      case MemberStatus.Stable:
        return now - this.confirmedAt >= sessionTimeoutMs
          ? "no heartbeat answered within sessionTimeoutMs"
          : null;
      default:
        return null;
    }
  }
}
