/**
 * The backpressure gate (GUIDE §2): a byte budget shared by Fetch responses
 * in flight and fetched data waiting for the reader. A fetch loop reserves
 * bytes before it sends a Fetch (its `max_bytes` is what it got), and the
 * reservation turns into buffered chunks when the response arrives. Bytes
 * are released when a chunk is handed to the reader or dropped. While the
 * budget is spent, no Fetch is sent.
 *
 * @module
 */

import type { KafkaRecord } from "../protocol/record.ts";

/** Fetched, not yet decoded records of one partition from one response. */
export interface FetchedChunk {
  /** Topic. */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
  /** The `records` bytes of the partition in the response. */
  readonly data: Uint8Array;
  /** Offset the fetch started at. */
  readonly fetchOffset: bigint;
  /** Where the fetcher continues: past the last complete wire batch. */
  readonly nextOffset: bigint;
  /** High watermark from the response. */
  readonly highWatermark: bigint;
  /**
   * The records already decoded, when this is the rest of a chunk delivered
   * in pieces (`maxBatchRecords`); `data` is then not decoded again.
   */
  readonly records?: readonly KafkaRecord[];
  /** Aborted transactions from the response (read_committed), else null. */
  readonly abortedTransactions: ReadonlyArray<{ producerId: bigint; firstOffset: bigint }> | null;
  /** Incarnation id of the partition when fetched: stale chunks are dropped. */
  readonly incarnationId: number;
  /** Bytes charged to the budget. */
  readonly bytes: number;
}

/** A byte-bounded queue of fetched chunks with a reservation gate. */
export class FetchBuffer {
  readonly #capacity: number;
  #used = 0;
  readonly #queue: FetchedChunk[] = [];
  #head = 0;
  #dataWaiters: Array<() => void> = [];
  #spaceWaiters: Array<() => void> = [];

  /** A buffer holding at most `capacity` bytes, reservations included. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The whole budget. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Bytes buffered or reserved. */
  get used(): number {
    return this.#used;
  }

  /** Bytes that may still be reserved. */
  get free(): number {
    return Math.max(0, this.#capacity - this.#used);
  }

  /** Chunks waiting for the reader. */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  /** Reserves up to `max` bytes if at least `min` are free; returns the amount (0: none). */
  tryReserve(min: number, max: number): number {
    const free = this.free;
    if (free < min) return 0;
    const n = Math.min(free, max);
    this.#used += n;
    return n;
  }

  /** Resolves when bytes were released (a chunk delivered or dropped). */
  whenSpace(signal: AbortSignal): Promise<void> {
    return waitOn(this.#spaceWaiters, signal);
  }

  /** Resolves when a chunk was pushed. */
  whenData(signal?: AbortSignal): Promise<void> {
    return waitOn(this.#dataWaiters, signal);
  }

  /** Returns unused reserved bytes. */
  release(bytes: number): void {
    if (bytes <= 0) return;
    this.#used = Math.max(0, this.#used - bytes);
    wake(this.#spaceWaiters);
    this.#spaceWaiters = [];
  }

  /** Wakes everyone waiting for data (to see an error or a close). */
  wakeReaders(): void {
    const waiters = this.#dataWaiters;
    this.#dataWaiters = [];
    wake(waiters);
  }

  /** Adds a chunk whose bytes were already reserved. */
  push(chunk: FetchedChunk): void {
    this.#queue.push(chunk);
    const waiters = this.#dataWaiters;
    this.#dataWaiters = [];
    wake(waiters);
  }

  /** Takes the oldest chunk, releasing its bytes. */
  shift(): FetchedChunk | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const c = this.#queue[this.#head];
    this.#queue[this.#head++] = undefined as unknown as FetchedChunk;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    this.release(c.bytes);
    return c;
  }

  /**
   * Puts the rest of a chunk delivered in pieces back, its bytes charged
   * again (they stay reserved until its last piece is taken): before the
   * next chunk of the same partition (order within a partition), else last,
   * so other partitions' chunks take their turn between the pieces.
   */
  requeue(chunk: FetchedChunk): void {
    this.#used += chunk.bytes;
    for (let i = this.#head; i < this.#queue.length; i++) {
      const c = this.#queue[i];
      if (c.topic === chunk.topic && c.partition === chunk.partition) {
        this.#queue.splice(i, 0, chunk);
        return;
      }
    }
    this.#queue.push(chunk);
  }

  /** Drops every chunk matching `predicate`, releasing their bytes. */
  drop(predicate: (c: FetchedChunk) => boolean): number {
    let dropped = 0;
    let bytes = 0;
    const kept: FetchedChunk[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const c = this.#queue[i];
      if (predicate(c)) {
        dropped++;
        bytes += c.bytes;
      } else kept.push(c);
    }
    this.#queue.length = 0;
    this.#queue.push(...kept);
    this.#head = 0;
    this.release(bytes);
    return dropped;
  }
}

function wake(waiters: Array<() => void>): void {
  for (const w of waiters) w();
}

function waitOn(list: Array<() => void>, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      signal?.removeEventListener("abort", done);
      resolve();
    };
    list.push(done);
    signal?.addEventListener("abort", done, { once: true });
  });
}
