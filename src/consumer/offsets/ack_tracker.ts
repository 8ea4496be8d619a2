/**
 * The ack -> commit tracker: which offset of each partition may be committed,
 * given which delivered batches the reader acknowledged. One per consumer;
 * pure (no I/O, no timers), so every rule is tested without a broker.
 *
 * Rules (GUIDE §2 "Acks → commits"):
 *
 * - A partition's committable offset is the `nextOffset` of the longest
 *   acknowledged prefix of what was delivered. Acks may come in any order;
 *   only the contiguous prefix counts, so nothing unacknowledged is committed.
 * - Offsets with no deliverable record (control records, aborted
 *   transactions, compaction gaps) belong to the batch that covers them (the
 *   caller folds them into `[firstOffset, nextOffset)`), or, when a whole
 *   fetch had nothing to deliver, are passed to {@linkcode AckTracker.skipped}.
 *   Either way they count as acknowledged once everything before them is.
 * - Each assignment of a partition, and each seek, starts a new
 *   *incarnation*. Ending one fences its tickets: a late `ack()` returns false
 *   and moves nothing, even when the partition has come back since.
 *
 * Memory per partition is O(batches from the oldest unacknowledged one to the
 * newest delivered): a ring buffer, acknowledged heads dropped as the prefix
 * grows, out-of-order acks marked in place.
 *
 * @module
 */

import type { TopicPartition } from "../../config.ts";
export type { TopicPartition };

/**
 * Why an incarnation ended. `"revoked"` and `"closed"` give the partition up
 * cleanly, so the final acknowledged prefix may still be committed; after
 * `"lost"` (membership gone) and `"seek"` (a new position replaces the old
 * one) nothing of the incarnation is committed.
 */
export type IncarnationEndReason = "revoked" | "lost" | "seek" | "closed";

/** One assignment (or one seek) of a partition, as the tracker follows it. */
export interface Incarnation extends TopicPartition {
  /** Unique within the tracker, increasing: for logs and stale checks. */
  readonly id: number;
  /** The position it started from. */
  readonly startOffset: bigint;
  /** One past the last offset delivered so far (`startOffset` before any delivery). */
  readonly position: bigint;
  /** Why it ended, or null while it is live. */
  readonly ended: IncarnationEndReason | null;
  /** Aborted when it ends (revoked, lost, seek, closed): work on its records may stop. */
  readonly signal: AbortSignal;
}

/** The receipt of one delivered batch, handed back to {@linkcode AckTracker.ack}. */
export interface Ticket {
  /** The incarnation the batch was delivered in. */
  readonly incarnation: Incarnation;
  /** First offset the batch covers (the position it was fetched from). */
  readonly firstOffset: bigint;
  /** One past the last offset it covers, gaps and control records included. */
  readonly nextOffset: bigint;
}

/** An offset worth committing, from {@linkcode AckTracker.pendingCommits}. */
export interface PendingCommit extends TopicPartition {
  /** The offset to commit: the next one to consume. */
  readonly offset: bigint;
  /** The incarnation it comes from; pass it back to {@linkcode AckTracker.markCommitted}. */
  readonly incarnation: Incarnation;
}

/** Per-partition state for `lag()` and debugging, from {@linkcode AckTracker.snapshot}. */
export interface PartitionAckState extends TopicPartition {
  /** Id of the partition's latest incarnation. */
  readonly incarnation: number;
  /** Why that incarnation ended, or null while live. */
  readonly ended: IncarnationEndReason | null;
  /** One past the last offset delivered. */
  readonly position: bigint;
  /** One past the acknowledged prefix (the start position before any ack). */
  readonly acknowledged: bigint;
  /** What {@linkcode AckTracker.committable} would return now. */
  readonly committable: bigint | null;
  /** The offset last known committed to the group, or null when unknown. */
  readonly lastCommitted: bigint | null;
  /** Delivered batches not yet acknowledged (0 once ended). */
  readonly outstanding: number;
}

/** Options of {@linkcode AckTracker.startIncarnation}. */
export interface StartIncarnationOptions {
  /**
   * The group's committed offset as just read (OffsetFetch), or null when the
   * group has none. Given, it replaces what the tracker knew, in either
   * direction: it is the group's truth. Omitted, the tracker keeps its
   * `lastCommitted`, except that a start below it (a seek backwards) clears
   * it, so the new position gets committed as Java's consumer would.
   */
  committed?: bigint | null;
}

const INITIAL_CAPACITY = 16;
const SHRINK_ABOVE = 1024;

class TrackedIncarnation implements Incarnation {
  readonly topic: string;
  readonly partition: number;
  readonly id: number;
  readonly startOffset: bigint;
  position: bigint;
  ended: IncarnationEndReason | null = null;
  #abort: AbortController | undefined;
  /** One past the acknowledged prefix. */
  acked: bigint;
  /** Delivered batches not yet acknowledged. */
  unacked = 0;
  // Ring of batches from the oldest unacknowledged one on: each slot holds the
  // batch's nextOffset and whether it was acknowledged (out of order).
  nexts: bigint[] = new Array<bigint>(INITIAL_CAPACITY).fill(0n);
  done = new Uint8Array(INITIAL_CAPACITY);
  // Per slot, one past the records acknowledged so far of a batch acked in
  // part (`batch.ack(upTo)`); 0n when none.
  partial: bigint[] = new Array<bigint>(INITIAL_CAPACITY).fill(0n);
  head = 0;
  count = 0;
  /** Sequence number of the batch in the head slot. */
  headSeq = 0;

  constructor(tp: TopicPartition, id: number, position: bigint) {
    this.topic = tp.topic;
    this.partition = tp.partition;
    this.id = id;
    this.startOffset = position;
    this.position = position;
    this.acked = position;
  }

  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    return this.#abort.signal;
  }

  /** Ends the incarnation, aborting its signal. */
  end(reason: IncarnationEndReason): void {
    this.ended = reason;
    this.#abort?.abort(
      new DOMException(
        `${this.topic}/${this.partition}: the partition was ${
          reason === "seek" ? "seeked" : reason
        }`,
        "AbortError",
      ),
    );
  }

  /** Appends a batch; returns its sequence number. */
  push(nextOffset: bigint, done: boolean): number {
    if (this.count === this.nexts.length) this.#grow();
    const seq = this.headSeq + this.count;
    const slot = (this.head + this.count) & (this.nexts.length - 1);
    this.nexts[slot] = nextOffset;
    this.done[slot] = done ? 1 : 0;
    this.count++;
    this.position = nextOffset;
    if (done) this.#collapse();
    return seq;
  }

  /**
   * Marks the records of a batch below `next` acknowledged (a part of it);
   * the acknowledged prefix then reaches `next` once every batch before it
   * is acknowledged. A lower or repeated part changes nothing.
   */
  markPart(seq: number, next: bigint): void {
    const idx = seq - this.headSeq;
    if (idx < 0) return; // the whole batch is in the collapsed prefix
    const slot = (this.head + idx) & (this.nexts.length - 1);
    if (this.done[slot] || next <= this.partial[slot]) return;
    this.partial[slot] = next;
    if (idx === 0 && next > this.acked) this.acked = next;
  }

  /** Marks a batch acknowledged; false when it already was. */
  mark(seq: number): boolean {
    const idx = seq - this.headSeq;
    if (idx < 0) return false; // in the collapsed prefix
    const slot = (this.head + idx) & (this.nexts.length - 1);
    if (this.done[slot]) return false;
    this.done[slot] = 1;
    if (idx === 0) this.#collapse();
    return true;
  }

  #collapse(): void {
    const mask = this.nexts.length - 1;
    while (this.count > 0 && this.done[this.head]) {
      this.acked = this.nexts[this.head];
      this.done[this.head] = 0;
      this.partial[this.head] = 0n;
      this.head = (this.head + 1) & mask;
      this.count--;
      this.headSeq++;
    }
    // The new oldest batch may have been acknowledged in part already.
    if (this.count > 0 && this.partial[this.head] > this.acked) {
      this.acked = this.partial[this.head];
    }
    if (this.count === 0 && this.nexts.length > SHRINK_ABOVE) {
      this.nexts = new Array<bigint>(INITIAL_CAPACITY).fill(0n);
      this.done = new Uint8Array(INITIAL_CAPACITY);
      this.partial = new Array<bigint>(INITIAL_CAPACITY).fill(0n);
      this.head = 0;
    }
  }

  #grow(): void {
    const size = this.nexts.length * 2;
    const mask = this.nexts.length - 1;
    const nexts = new Array<bigint>(size).fill(0n);
    const done = new Uint8Array(size);
    const partial = new Array<bigint>(size).fill(0n);
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) & mask;
      nexts[i] = this.nexts[slot];
      done[i] = this.done[slot];
      partial[i] = this.partial[slot];
    }
    this.nexts = nexts;
    this.done = done;
    this.partial = partial;
    this.head = 0;
  }
}

class BatchTicket implements Ticket {
  constructor(
    readonly incarnation: TrackedIncarnation,
    readonly seq: number,
    readonly firstOffset: bigint,
    readonly nextOffset: bigint,
  ) {}
}

interface PartitionState {
  current: TrackedIncarnation;
  lastCommitted: bigint | null;
}

interface Waiter {
  partitions: TopicPartition[];
  resolve: () => void;
}

/**
 * Tracks delivered and acknowledged batches per partition incarnation and
 * says what may be committed. See the module doc for the rules.
 *
 * Typical flow: `startIncarnation` on assignment (with the group's committed
 * offset) or seek; `delivered` when a batch moves into the stream, its ticket
 * captured by `batch.ack()`; `pendingCommits` + `markCommitted` around each
 * OffsetCommit; `whenAcked` (bounded by an `AbortSignal`) before revocation
 * and close; `endIncarnation` to fence.
 *
 * @example
 * ```ts
 * import { AckTracker } from "./ack_tracker.ts";
 * const tracker = new AckTracker();
 * const tp = { topic: "orders", partition: 0 };
 * const inc = tracker.startIncarnation(tp, 100n, { committed: 100n });
 * const a = tracker.delivered(inc, 100n, 110n);
 * const b = tracker.delivered(inc, 110n, 125n);
 * tracker.ack(b); // true, but a is still outstanding
 * tracker.committable(tp); // null
 * tracker.ack(a);
 * tracker.committable(tp); // 125n
 * tracker.markCommitted(tp, 125n, inc);
 * tracker.endIncarnation(tp, "revoked");
 * tracker.ack(a); // false: fenced
 * ```
 */
export class AckTracker {
  readonly #partitions = new Map<string, Map<number, PartitionState>>();
  readonly #waiters = new Set<Waiter>();
  #nextId = 1;

  /**
   * Starts tracking a partition from `position`: on assignment, or on a seek.
   * A live earlier incarnation of the partition is ended as `"seek"` first,
   * fencing its tickets. Before any ack, the committable offset is
   * `position` itself, committed only if it differs from `lastCommitted`.
   *
   * @param tp The partition.
   * @param position The next offset to be delivered.
   * @param options The group's committed offset, when just read.
   * @returns The new incarnation, to pass to {@linkcode AckTracker.delivered}.
   */
  startIncarnation(
    tp: TopicPartition,
    position: bigint,
    options: StartIncarnationOptions = {},
  ): Incarnation {
    const inc = new TrackedIncarnation(tp, this.#nextId++, position);
    const state = this.#state(tp);
    if (state === undefined) {
      this.#byTopic(tp.topic).set(tp.partition, {
        current: inc,
        lastCommitted: options.committed ?? null,
      });
    } else {
      if (state.current.ended === null) this.#end(state.current, "seek");
      state.current = inc;
      if (options.committed !== undefined) state.lastCommitted = options.committed;
      else if (state.lastCommitted !== null && position < state.lastCommitted) {
        state.lastCommitted = null;
      }
    }
    this.#settle();
    return inc;
  }

  /**
   * The partition's latest incarnation (possibly ended), or undefined when
   * it was never started or was forgotten. The fetcher compares it with the
   * incarnation a buffered batch was fetched in, to drop stale batches.
   *
   * @param tp The partition.
   * @returns The incarnation, or undefined.
   */
  current(tp: TopicPartition): Incarnation | undefined {
    return this.#state(tp)?.current;
  }

  /**
   * Records that a batch covering `[firstOffset, nextOffset)` was handed to
   * the reader. Batches of an incarnation are contiguous: the first starts at
   * its start position, each next one where the previous ended. Offsets the
   * fetcher skipped belong to a batch's range, so `firstOffset` is the
   * position fetched from, not necessarily the first record's offset.
   *
   * @param incarnation The live incarnation the batch was fetched in.
   * @param firstOffset Must equal `incarnation.position`.
   * @param nextOffset One past the last offset covered; above `firstOffset`.
   * @returns The ticket `batch.ack()` passes to {@linkcode AckTracker.ack}.
   * @throws {Error} When the incarnation has ended (its batches must be
   *   dropped, not delivered) or the range does not continue it.
   */
  delivered(incarnation: Incarnation, firstOffset: bigint, nextOffset: bigint): Ticket {
    const inc = this.#live(incarnation, firstOffset, nextOffset, "delivered");
    inc.unacked++;
    const seq = inc.push(nextOffset, false);
    return new BatchTicket(inc, seq, firstOffset, nextOffset);
  }

  /**
   * Records that `[firstOffset, nextOffset)` holds nothing to deliver (a
   * fetch that returned only control records, aborted transactions or a
   * compaction gap). It counts as acknowledged once everything before it is,
   * so a partition ending in a transaction marker still commits past it.
   *
   * @param incarnation The live incarnation.
   * @param firstOffset Must equal `incarnation.position`.
   * @param nextOffset One past the skipped offsets; above `firstOffset`.
   * @throws {Error} As {@linkcode AckTracker.delivered}.
   */
  skipped(incarnation: Incarnation, firstOffset: bigint, nextOffset: bigint): void {
    const inc = this.#live(incarnation, firstOffset, nextOffset, "skipped");
    inc.push(nextOffset, true);
  }

  /**
   * Acknowledges a delivered batch, or with `upTo` the part of it below
   * `upTo` (an offset above `ticket.firstOffset`; `ticket.nextOffset` or
   * more is the whole batch). The committable offset is one past the longest
   * acknowledged prefix, which may end inside a batch acknowledged in part;
   * such a batch still counts as outstanding until it is acknowledged whole.
   *
   * @param ticket The batch's ticket.
   * @param upTo One past the last acknowledged offset of a partial ack.
   * @returns True when the ack counts (also when repeated); false when the
   *   batch's incarnation has ended: the ack is fenced and changes nothing.
   * @throws {TypeError} For a ticket this module did not make.
   */
  ack(ticket: Ticket, upTo?: bigint): boolean {
    if (!(ticket instanceof BatchTicket)) {
      throw new TypeError("ack() needs a ticket returned by AckTracker.delivered()");
    }
    const inc = ticket.incarnation;
    if (inc.ended !== null) return false;
    if (upTo !== undefined && upTo < ticket.nextOffset) {
      if (upTo > ticket.firstOffset) inc.markPart(ticket.seq, upTo);
      return true;
    }
    if (inc.mark(ticket.seq)) {
      inc.unacked--;
      if (inc.unacked === 0) this.#settle();
    }
    return true;
  }

  /**
   * The offset to commit for a partition: one past its acknowledged prefix,
   * or null when that equals `lastCommitted`, when the partition is unknown,
   * or when its incarnation ended as `"lost"` or `"seek"`. After `"revoked"`
   * or `"closed"` the final prefix stays committable, so the fence can go up
   * before the last commit.
   *
   * @param tp The partition.
   * @returns The offset, or null when there is nothing new to commit.
   */
  committable(tp: TopicPartition): bigint | null {
    const state = this.#state(tp);
    return state === undefined ? null : committableOf(state);
  }

  /**
   * Every partition with something new to commit: the body of one
   * OffsetCommit request.
   *
   * @returns One entry per partition whose {@linkcode AckTracker.committable} is not null.
   */
  pendingCommits(): PendingCommit[] {
    const out: PendingCommit[] = [];
    for (const byPartition of this.#partitions.values()) {
      for (const state of byPartition.values()) {
        const offset = committableOf(state);
        if (offset === null) continue;
        const inc = state.current;
        out.push({ topic: inc.topic, partition: inc.partition, offset, incarnation: inc });
      }
    }
    return out;
  }

  /**
   * Records a successful commit. `lastCommitted` never moves backwards: a
   * lower offset (an older commit whose answer came late) is ignored. When
   * `incarnation` is given and is no longer the partition's latest, the
   * answer is ignored too: a seek (or reassignment) made it stale.
   *
   * @param tp The partition.
   * @param offset The offset the group now has.
   * @param incarnation The incarnation the offset came from, if known.
   */
  markCommitted(tp: TopicPartition, offset: bigint, incarnation?: Incarnation): void {
    const state = this.#state(tp);
    if (state === undefined) return;
    if (incarnation !== undefined && incarnation !== state.current) return;
    if (state.lastCommitted === null || offset > state.lastCommitted) state.lastCommitted = offset;
  }

  /**
   * Ends the partition's live incarnation: its tickets are fenced from now on
   * and its outstanding count drops to 0 (waiters on it resolve). Does
   * nothing when it already ended.
   *
   * @param tp The partition.
   * @param reason Why: decides whether its final prefix stays committable.
   */
  endIncarnation(tp: TopicPartition, reason: IncarnationEndReason): void {
    const state = this.#state(tp);
    if (state === undefined || state.current.ended !== null) return;
    this.#end(state.current, reason);
    this.#settle();
  }

  /**
   * Ends every live incarnation: on close (`"closed"`) or when the whole
   * membership is lost (`"lost"`).
   *
   * @param reason Why.
   */
  endAll(reason: IncarnationEndReason): void {
    for (const byPartition of this.#partitions.values()) {
      for (const state of byPartition.values()) {
        if (state.current.ended === null) this.#end(state.current, reason);
      }
    }
    this.#settle();
  }

  /**
   * Drops everything known about a partition (ending its incarnation as
   * `"revoked"` if live), so partitions that never come back cost nothing.
   *
   * @param tp The partition.
   */
  forget(tp: TopicPartition): void {
    const byPartition = this.#partitions.get(tp.topic);
    const state = byPartition?.get(tp.partition);
    if (state === undefined) return;
    if (state.current.ended === null) this.#end(state.current, "revoked");
    byPartition!.delete(tp.partition);
    if (byPartition!.size === 0) this.#partitions.delete(tp.topic);
    this.#settle();
  }

  /**
   * Delivered batches of the partition not yet acknowledged; 0 when it is
   * unknown or its incarnation ended (fenced batches can never be acked).
   *
   * @param tp The partition.
   * @returns The count.
   */
  outstanding(tp: TopicPartition): number {
    const inc = this.#state(tp)?.current;
    return inc === undefined || inc.ended !== null ? 0 : inc.unacked;
  }

  /**
   * Waits until none of `partitions` has outstanding batches: revocation and
   * close wait here, bounded by a signal (e.g. `AbortSignal.timeout(ms)`),
   * before they commit. Ending or forgetting a partition counts as done.
   *
   * @param partitions The partitions to wait for.
   * @param signal Gives up waiting; the promise then rejects with its reason.
   * @returns A promise that resolves once nothing is outstanding.
   */
  whenAcked(partitions: Iterable<TopicPartition>, signal?: AbortSignal): Promise<void> {
    const list = [...partitions];
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (list.every((tp) => this.outstanding(tp) === 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        partitions: list,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Every tracked partition's state, for `lag()` and debugging.
   *
   * @returns One entry per partition, in the order they were first started.
   */
  snapshot(): PartitionAckState[] {
    const out: PartitionAckState[] = [];
    for (const byPartition of this.#partitions.values()) {
      for (const state of byPartition.values()) {
        const inc = state.current;
        out.push({
          topic: inc.topic,
          partition: inc.partition,
          incarnation: inc.id,
          ended: inc.ended,
          position: inc.position,
          acknowledged: inc.acked,
          committable: committableOf(state),
          lastCommitted: state.lastCommitted,
          outstanding: inc.ended === null ? inc.unacked : 0,
        });
      }
    }
    return out;
  }

  #state(tp: TopicPartition): PartitionState | undefined {
    return this.#partitions.get(tp.topic)?.get(tp.partition);
  }

  #byTopic(topic: string): Map<number, PartitionState> {
    let m = this.#partitions.get(topic);
    if (m === undefined) this.#partitions.set(topic, m = new Map());
    return m;
  }

  #live(
    incarnation: Incarnation,
    firstOffset: bigint,
    nextOffset: bigint,
    what: string,
  ): TrackedIncarnation {
    if (!(incarnation instanceof TrackedIncarnation)) {
      throw new TypeError(`${what}() needs an incarnation returned by startIncarnation()`);
    }
    const where = `${incarnation.topic} partition ${incarnation.partition}`;
    if (incarnation.ended !== null) {
      throw new Error(
        `${what}() on ${where} after its incarnation ended (${incarnation.ended}): drop batches of ended incarnations`,
      );
    }
    if (firstOffset !== incarnation.position) {
      throw new RangeError(
        `${what}() on ${where} from offset ${firstOffset}, but delivery is at ${incarnation.position}: batches must be contiguous`,
      );
    }
    if (nextOffset <= firstOffset) {
      throw new RangeError(
        `${what}() on ${where}: nextOffset ${nextOffset} must be above firstOffset ${firstOffset}`,
      );
    }
    return incarnation;
  }

  #end(inc: TrackedIncarnation, reason: IncarnationEndReason): void {
    inc.end(reason);
  }

  // Resolves the waiters whose partitions have nothing outstanding. Called
  // only when some count may have reached 0, so its cost is paid rarely.
  #settle(): void {
    for (const w of this.#waiters) {
      if (w.partitions.every((tp) => this.outstanding(tp) === 0)) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }
}

function committableOf(state: PartitionState): bigint | null {
  const inc = state.current;
  if (inc.ended === "lost" || inc.ended === "seek") return null;
  return inc.acked === state.lastCommitted ? null : inc.acked;
}
