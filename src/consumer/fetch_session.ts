/**
 * Incremental fetch sessions (KIP-227), one per broker loop. The first Fetch
 * (epoch 0) lists every partition and asks the broker for a session; later
 * ones name only partitions whose fetch offset or leader epoch changed, plus
 * the ones to forget, and the broker remembers the rest. A broker that
 * declines sessions (session id 0 in the answer) gets sessionless full
 * fetches (epoch -1) from then on. Session errors start a new session.
 *
 * @module
 */

import { partitionKey } from "../util/partitions.ts";

/** A partition to fetch, as the session sees it. */
export interface SessionPartition {
  /** Topic. */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
  /** Fetch offset. */
  readonly position: bigint;
  /** Leader epoch of the last fetched batch (KIP-320), -1 when unknown. */
  readonly lastFetchedEpoch?: number;
}

/** What to put in the next Fetch request. */
export interface SessionRequest {
  /** Session id field. */
  sessionId: number;
  /** Session epoch field. */
  sessionEpoch: number;
  /** Partitions to send (all of them in a full fetch, the changed ones otherwise). */
  send: SessionPartition[];
  /** Partitions to remove from the session. */
  forget: Array<{ topic: string; partition: number }>;
}

const FINAL_EPOCH = -1;

/** The client side of one broker's fetch session. */
export class FetchSession {
  #id = 0;
  #epoch = 0;
  #disabled = false;
  // What the broker holds for each session partition: offset and leader epoch.
  readonly #sent = new Map<
    string,
    {
      topic: string;
      partition: number;
      position: bigint;
      leaderEpoch: number;
      lastFetchedEpoch: number;
    }
  >();

  /** The session id (0 when none). */
  get id(): number {
    return this.#id;
  }

  /** Builds the next request for `partitions` (the whole set to fetch now). */
  next(
    partitions: readonly SessionPartition[],
    leaderEpoch: (p: SessionPartition) => number,
  ): SessionRequest {
    if (this.#disabled || this.#id === 0) {
      this.#sent.clear();
      for (const p of partitions) {
        this.#sent.set(partitionKey(p.topic, p.partition), {
          topic: p.topic,
          partition: p.partition,
          position: p.position,
          leaderEpoch: leaderEpoch(p),
          lastFetchedEpoch: p.lastFetchedEpoch ?? -1,
        });
      }
      return {
        sessionId: 0,
        sessionEpoch: this.#disabled ? FINAL_EPOCH : 0,
        send: [...partitions],
        forget: [],
      };
    }
    const want = new Set<string>();
    const send: SessionPartition[] = [];
    for (const p of partitions) {
      const key = partitionKey(p.topic, p.partition);
      want.add(key);
      const epoch = leaderEpoch(p);
      const prev = this.#sent.get(key);
      const fetchedEpoch = p.lastFetchedEpoch ?? -1;
      if (
        !prev || prev.position !== p.position || prev.leaderEpoch !== epoch ||
        prev.lastFetchedEpoch !== fetchedEpoch
      ) {
        send.push(p);
        this.#sent.set(key, {
          topic: p.topic,
          partition: p.partition,
          position: p.position,
          leaderEpoch: epoch,
          lastFetchedEpoch: fetchedEpoch,
        });
      }
    }
    const forget: Array<{ topic: string; partition: number }> = [];
    for (const [key, s] of this.#sent) {
      if (!want.has(key)) {
        forget.push({ topic: s.topic, partition: s.partition });
        this.#sent.delete(key);
      }
    }
    return { sessionId: this.#id, sessionEpoch: this.#epoch, send, forget };
  }

  /**
   * Applies a successful response: positions of partitions that returned data
   * move on the broker's side too, so they are re-sent next time (with the new
   * offset) only through {@linkcode FetchSession.next}'s comparison.
   */
  onResponse(sessionId: number): void {
    if (this.#disabled) return;
    if (this.#id === 0) {
      if (sessionId === 0) {
        this.#disabled = true;
        return;
      }
      this.#id = sessionId;
      this.#epoch = 1;
      return;
    }
    this.#epoch = this.#epoch >= 0x7fffffff ? 1 : this.#epoch + 1;
  }

  /** Forgets the session: the next request is a full fetch opening a new one. */
  reset(): void {
    this.#id = 0;
    this.#epoch = 0;
    this.#sent.clear();
  }
}
