/**
 * The one owner of every assigned partition's state: where fetching stands
 * (position, last fetched leader epoch, pause, backoff, a Fetch in flight),
 * its incarnation in the {@linkcode AckTracker}, and its chunks in the
 * {@linkcode FetchBuffer}. The consumer changes a partition only through the
 * named transitions below; the fetcher reads {@linkcode PartitionView}s and
 * reports what a Fetch brought through {@linkcode PartitionStates.fetched}
 * and its siblings. Nothing else writes a position, an incarnation or
 * buffered data.
 *
 * Invariants the transitions keep (tests in partition_state_test.ts):
 * - Delivery is contiguous within an incarnation: each buffered chunk starts
 *   where the previous one of its partition ended, and the first where the
 *   incarnation's delivered position is.
 * - Acks of an ended incarnation are fenced (the tracker refuses them).
 * - Nothing buffered survives a transition that moves the position (seekTo,
 *   resetTo, truncateTo, pause), nor revoke or lose.
 * - A Fetch answer is applied only if the partition is still the one it was
 *   sent for (same incarnation, same position); else it is dropped.
 *
 * ```
 *              assign ─▶ ASSIGNED ─start─▶ FETCHING ◀─resume─ PAUSED
 *                                          │   ▲  └──pause──────▲
 *            seekTo / resetTo / truncateTo │   │ (new incarnation,
 *                                          └───┘  buffer dropped)
 *   FETCHING/PAUSED/ASSIGNED ─revoke─▶ REVOKING ─endRevoked─▶ (gone; acks fenced)
 *   FETCHING/PAUSED/ASSIGNED ─lose─▶ (gone; acks fenced, nothing committable)
 * ```
 *
 * @module
 */

import type { KafkaRecord } from "../protocol/record.ts";
import type { TopicPartition } from "../config.ts";
import { partitionKey } from "../util/partitions.ts";
import type { FetchBuffer, FetchedChunk } from "./fetch_buffer.ts";
import type {
  AckTracker,
  Incarnation,
  IncarnationEndReason,
  Ticket,
} from "./offsets/ack_tracker.ts";

/** A partition's fetch state, read-only: what the fetcher and `lag()` see. */
export interface PartitionView {
  /** Topic. */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
  /** Next offset to fetch. */
  readonly position: bigint;
  /** The incarnation fetched for: answers for an older one are dropped. */
  readonly incarnationId: number;
  /** Fetching has started (after `onAssigned`). */
  readonly started: boolean;
  /** Paused by the application. */
  readonly paused: boolean;
  /** Part of a Fetch in flight. */
  readonly inFlight: boolean;
  /** Not fetched before this time (ms since the epoch) after an error. */
  readonly retryAt: number;
  /** Being reset after OFFSET_OUT_OF_RANGE: not fetched meanwhile. */
  readonly resetting: boolean;
  /** Last high watermark seen, -1 before the first answer. */
  readonly highWatermark: bigint;
  /** Last stable offset seen, -1 before the first answer. */
  readonly lastStableOffset: bigint;
  /**
   * Leader epoch of the batch just before `position` (KIP-320's
   * lastFetchedEpoch), -1 when unknown (after a seek, reset or rewind),
   * which skips the broker's divergence check for that fetch.
   */
  readonly lastFetchedEpoch: number;
}

/** What a Fetch was sent for, to tell whether its answer still applies. */
export interface SentPartition {
  /** The partition's state when the Fetch went out. */
  readonly view: PartitionView;
  /** Its incarnation then. */
  readonly incarnationId: number;
  /** Its position then (the Fetch's fetch offset). */
  readonly position: bigint;
}

/** What one partition's part of a Fetch answer brought. */
export interface FetchedData {
  /** The records bytes, not decoded. */
  readonly data: Uint8Array;
  /** Where the next fetch starts (from the batch headers). */
  readonly nextOffset: bigint;
  /** Leader epoch of the last batch. */
  readonly lastEpoch: number;
  /** The partition's high watermark in the answer. */
  readonly highWatermark: bigint;
  /** Aborted transactions (read_committed), else null. */
  readonly abortedTransactions: FetchedChunk["abortedTransactions"];
}

class State implements PartitionView {
  readonly topic: string;
  readonly partition: number;
  position: bigint;
  incarnationId: number;
  started = false;
  paused = false;
  inFlight = false;
  retryAt = 0;
  errors = 0;
  resetting = false;
  highWatermark = -1n;
  lastStableOffset = -1n;
  lastFetchedEpoch = -1;

  constructor(tp: TopicPartition, position: bigint, incarnationId: number) {
    this.topic = tp.topic;
    this.partition = tp.partition;
    this.position = position;
    this.incarnationId = incarnationId;
  }
}

/** The assigned partitions, each with its state; see the module doc. */
export class PartitionStates {
  readonly #tracker: AckTracker;
  readonly #buffer: FetchBuffer;
  readonly #states = new Map<string, State>();
  #changed: () => void = () => {};

  /** States over `tracker` (acks) and `buffer` (fetched chunks). */
  constructor(tracker: AckTracker, buffer: FetchBuffer) {
    this.#tracker = tracker;
    this.#buffer = buffer;
  }

  /** Called after a transition that may let a partition be fetched (the fetcher's wake). */
  onChange(fn: () => void): void {
    this.#changed = fn;
  }

  // -------------------------------------------------------------------
  // queries

  /** The state of an assigned partition. */
  get(tp: TopicPartition): PartitionView | undefined {
    return this.#states.get(partitionKey(tp.topic, tp.partition));
  }

  /** Every assigned partition's state. */
  views(): IterableIterator<PartitionView> {
    return this.#states.values();
  }

  /** The assigned partitions. */
  assigned(): TopicPartition[] {
    return [...this.#states.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** How many partitions are assigned. */
  get size(): number {
    return this.#states.size;
  }

  // -------------------------------------------------------------------
  // the consumer's transitions

  /**
   * A partition joins the assignment at `position` (a new incarnation),
   * without fetching until {@linkcode PartitionStates.start}: `onAssigned`
   * runs in between.
   */
  assign(tp: TopicPartition, position: bigint, committed: bigint | null): void {
    const inc = this.#tracker.startIncarnation(tp, position, { committed });
    this.#buffer.drop((c) => c.topic === tp.topic && c.partition === tp.partition);
    this.#states.set(partitionKey(tp.topic, tp.partition), new State(tp, position, inc.id));
  }

  /** Fetching of an assigned partition starts (after `onAssigned`). */
  start(tp: TopicPartition): void {
    const s = this.#state(tp);
    if (!s || s.started) return;
    s.started = true;
    this.#changed();
  }

  /** The application moved the partition (`seek()`). */
  seekTo(tp: TopicPartition, offset: bigint): void {
    this.#restart(tp, offset);
  }

  /** OFFSET_OUT_OF_RANGE, reset per autoOffsetReset. */
  resetTo(tp: TopicPartition, offset: bigint): void {
    this.#restart(tp, offset);
  }

  /** KIP-320: the leader's log diverged; resume at the divergent offset. */
  truncateTo(tp: TopicPartition, offset: bigint): void {
    this.#restart(tp, offset);
  }

  /**
   * Stops fetching and delivering a partition. Its buffered chunks are
   * dropped and fetching will resume from what was delivered, so its
   * incarnation stays contiguous (and its delivered batches ackable).
   */
  pause(tp: TopicPartition): void {
    const s = this.#state(tp);
    if (!s) return;
    s.paused = true;
    this.#rewind(s);
  }

  /** Fetching of a paused partition goes on. */
  resume(tp: TopicPartition): void {
    const s = this.#state(tp);
    if (!s || !s.paused) return;
    s.paused = false;
    this.#changed();
  }

  /**
   * Starts revoking partitions (all when `partitions` is not given): they
   * leave the assignment at once — no more fetching, buffered chunks
   * dropped — but their incarnations stay live, so acks of delivered
   * batches still count until {@linkcode PartitionStates.endRevoked}.
   *
   * @returns The partitions taken out (those that were assigned).
   */
  revoke(partitions?: readonly TopicPartition[]): TopicPartition[] {
    return this.#remove(partitions);
  }

  /** Ends revoked partitions' incarnations: later acks are fenced. */
  endRevoked(
    partitions: readonly TopicPartition[],
    reason: IncarnationEndReason = "revoked",
  ): void {
    for (const tp of partitions) this.#tracker.endIncarnation(tp, reason);
  }

  /**
   * Membership ended without a clean revoke: every partition leaves the
   * assignment and its incarnation ends as lost (nothing of it committable).
   *
   * @returns The partitions lost.
   */
  lose(): TopicPartition[] {
    const lost = this.#remove(undefined);
    this.endRevoked(lost, "lost");
    return lost;
  }

  // -------------------------------------------------------------------
  // the fetcher's transitions

  /** A Fetch for these partitions goes out: in flight until {@linkcode PartitionStates.sent}. */
  send(views: readonly PartitionView[]): SentPartition[] {
    return views.map((v) => {
      (v as State).inFlight = true;
      return { view: v, incarnationId: v.incarnationId, position: v.position };
    });
  }

  /** The Fetch for these partitions was answered (or failed): no longer in flight. */
  sent(sent: readonly SentPartition[]): void {
    for (const s of sent) (s.view as State).inFlight = false;
  }

  /**
   * Whether an answer for `sent` still applies: the partition is assigned,
   * still in the incarnation and at the position the Fetch was sent for
   * (else it was revoked, seeked, reset or re-assigned meanwhile).
   */
  current(sent: SentPartition): boolean {
    const s = this.#states.get(partitionKey(sent.view.topic, sent.view.partition));
    return s === sent.view && s.incarnationId === sent.incarnationId &&
      s.position === sent.position;
  }

  /** The partition answered without an error: its backoff is over; the watermarks are news. */
  answered(sent: SentPartition, highWatermark: bigint, lastStableOffset: bigint): void {
    const s = sent.view as State;
    s.errors = 0;
    s.highWatermark = highWatermark;
    s.lastStableOffset = lastStableOffset;
  }

  /**
   * Records fetched for a partition whose answer still applies: buffered as
   * one chunk (its bytes were reserved), and the next fetch starts after
   * them.
   */
  fetched(sent: SentPartition, f: FetchedData): void {
    const s = sent.view as State;
    this.#buffer.push({
      topic: s.topic,
      partition: s.partition,
      data: f.data,
      fetchOffset: s.position,
      nextOffset: f.nextOffset,
      highWatermark: f.highWatermark,
      abortedTransactions: f.abortedTransactions,
      incarnationId: s.incarnationId,
      bytes: f.data.length,
    });
    s.position = f.nextOffset;
    s.lastFetchedEpoch = f.lastEpoch;
  }

  /**
   * The partition failed in a Fetch: not fetched again for
   * `delayMs(consecutive errors before this one)` ms.
   */
  backoff(view: PartitionView, delayMs: (errors: number) => number): void {
    const s = view as State;
    s.retryAt = Date.now() + delayMs(s.errors++);
  }

  /** Runs `reset` (OFFSET_OUT_OF_RANGE handling) with the partition held back from fetching. */
  async resetting(view: PartitionView, reset: () => Promise<void>): Promise<void> {
    const s = view as State;
    s.resetting = true;
    try {
      await reset();
    } finally {
      s.resetting = false;
    }
  }

  // -------------------------------------------------------------------
  // delivery

  /**
   * Takes the oldest buffered chunk that may be delivered now, with its
   * live incarnation: chunks of partitions no longer assigned, of an ended
   * or older incarnation, or not continuing the delivered position are
   * dropped; a chunk of a paused partition rewinds it. Undefined when
   * nothing deliverable is buffered.
   */
  takeDeliverable(): { chunk: FetchedChunk; incarnation: Incarnation } | undefined {
    for (let chunk = this.#buffer.shift(); chunk; chunk = this.#buffer.shift()) {
      const tp = { topic: chunk.topic, partition: chunk.partition };
      const s = this.#state(tp);
      const inc = this.#tracker.current(tp);
      if (!s || !inc || inc.ended || inc.id !== chunk.incarnationId) continue;
      if (inc.position !== chunk.fetchOffset) continue;
      if (s.paused) {
        this.#rewind(s);
        continue;
      }
      return { chunk, incarnation: inc };
    }
    return undefined;
  }

  /**
   * A chunk from {@linkcode PartitionStates.takeDeliverable} was decoded:
   * with records, it becomes a delivered batch and its ticket is returned
   * (for `batch.ack()`); without (control records, aborted transactions),
   * its offsets count as acknowledged once all before them are, and null is
   * returned. Either way the incarnation's delivered position moves past it.
   */
  delivered(
    taken: { chunk: FetchedChunk; incarnation: Incarnation },
    hasRecords: boolean,
  ): Ticket | null {
    const { chunk, incarnation } = taken;
    this.#toEnd(chunk);
    if (!hasRecords) {
      this.#tracker.skipped(incarnation, chunk.fetchOffset, chunk.nextOffset);
      return null;
    }
    return this.#tracker.delivered(incarnation, chunk.fetchOffset, chunk.nextOffset);
  }

  /**
   * The first `pieceNext - fetchOffset` offsets of a taken chunk were
   * delivered as one batch (`maxBatchRecords`): its ticket is returned, and
   * the `rest` of the records goes back to the buffer (before the
   * partition's next chunk, after other partitions'), as a chunk starting at
   * `pieceNext` whose bytes stay reserved. A pause, seek or
   * revocation before it is taken drops it like any buffered chunk.
   */
  deliveredPart(
    taken: { chunk: FetchedChunk; incarnation: Incarnation },
    pieceNext: bigint,
    rest: readonly KafkaRecord[],
  ): Ticket {
    const { chunk, incarnation } = taken;
    this.#toEnd(chunk);
    const ticket = this.#tracker.delivered(incarnation, chunk.fetchOffset, pieceNext);
    this.#buffer.requeue({ ...chunk, fetchOffset: pieceNext, records: rest });
    return ticket;
  }

  // -------------------------------------------------------------------

  /**
   * A partition whose data was delivered goes to the end of the order the
   * fetcher builds its requests in, as Java's consumer does: a broker fills
   * a Fetch in request order up to its byte limit, so under a small budget
   * the first partitions would otherwise take every response.
   */
  #toEnd(tp: TopicPartition): void {
    const key = partitionKey(tp.topic, tp.partition);
    const s = this.#states.get(key);
    if (s === undefined) return;
    this.#states.delete(key);
    this.#states.set(key, s);
  }

  #state(tp: TopicPartition): State | undefined {
    return this.#states.get(partitionKey(tp.topic, tp.partition));
  }

  /** Seek, reset and truncation: one way to restart a partition elsewhere. */
  #restart(tp: TopicPartition, offset: bigint): void {
    const s = this.#state(tp);
    if (!s) return;
    const inc = this.#tracker.startIncarnation(tp, offset);
    this.#buffer.drop((c) => c.topic === s.topic && c.partition === s.partition);
    s.incarnationId = inc.id;
    s.position = offset;
    s.lastFetchedEpoch = -1;
    s.retryAt = 0;
    s.errors = 0;
    this.#changed();
  }

  /** Drops buffered chunks and fetches again from the delivered position. */
  #rewind(s: State): void {
    this.#buffer.drop((c) => c.topic === s.topic && c.partition === s.partition);
    const inc = this.#tracker.current(s);
    if (inc && !inc.ended && inc.id === s.incarnationId) {
      s.position = inc.position;
      s.lastFetchedEpoch = -1; // the epoch before the delivered position is not kept
    }
  }

  #remove(partitions: readonly TopicPartition[] | undefined): TopicPartition[] {
    const out: TopicPartition[] = [];
    const keys = partitions === undefined
      ? [...this.#states.keys()]
      : partitions.map((tp) => partitionKey(tp.topic, tp.partition));
    const gone = new Set<string>();
    for (const k of keys) {
      const s = this.#states.get(k);
      if (!s) continue;
      this.#states.delete(k);
      gone.add(k);
      out.push({ topic: s.topic, partition: s.partition });
    }
    if (gone.size > 0) {
      this.#buffer.drop((c) => gone.has(partitionKey(c.topic, c.partition)));
    }
    return out;
  }
}
