/**
 * The producer's units of work: a {@linkcode ProducerRecord} as the user
 * gives it, normalized to bytes; a {@linkcode SendGroup} that collects the
 * per-record outcomes of one `send()` or write; and a
 * {@linkcode ProducerBatch}, the records of one partition sent together.
 *
 * @module
 */

import type { KafkaError } from "../protocol/errors.ts";
import type { RecordToEncode } from "../protocol/wire_batch.ts";
import type { RecordMetadata } from "./errors.ts";

/**
 * A record to write.
 *
 * @example
 * ```ts
 * import type { ProducerRecord } from "@sluice/kafka";
 * const r: ProducerRecord = {
 *   topic: "orders",
 *   key: "customer-17",
 *   value: JSON.stringify({ total: 42 }),
 *   headers: { "content-type": "application/json" },
 * };
 * const tombstone: ProducerRecord = { topic: "orders", key: "customer-17", value: null };
 * ```
 */
export interface ProducerRecord {
  /** Topic to write to. */
  topic: string;
  /** The value: a string (written as UTF-8), bytes, or `null` (a tombstone). */
  value: string | Uint8Array | null;
  /** The key; records with the same key go to the same partition (murmur2, as Java). */
  key?: string | Uint8Array | null;
  /** Headers, as an object or as a list (which may repeat a key). */
  headers?:
    | Record<string, string | Uint8Array>
    | ReadonlyArray<{ key: string; value: string | Uint8Array | null }>;
  /** Partition to write to; by default from the key, or sticky without one. */
  partition?: number;
  /** Create time, ms since the epoch. @default {Date.now()} */
  timestamp?: number;
}

/** Fixed bytes of a record batch before its records (magic v2). */
export const BATCH_OVERHEAD = 61;

const utf8 = new TextEncoder();

function bytesOf(v: string | Uint8Array | null | undefined): Uint8Array | null {
  if (v === null || v === undefined) return null;
  return typeof v === "string" ? utf8.encode(v) : v;
}

function isBytes(v: unknown): boolean {
  return typeof v === "string" || v instanceof Uint8Array;
}

/**
 * The record as the batch encoder takes it, and its size estimate (an upper
 * bound of its encoded size: varints at their widest). Throws a `TypeError`
 * naming the field when the record is malformed.
 */
export function normalizeRecord(r: ProducerRecord, now: number): {
  record: RecordToEncode;
  size: number;
} {
  if (typeof r !== "object" || r === null) throw new TypeError("A record must be an object");
  if (typeof r.topic !== "string" || r.topic === "") {
    throw new TypeError("record.topic must be a non-empty string");
  }
  if (r.value !== null && !isBytes(r.value)) {
    throw new TypeError("record.value must be a string, a Uint8Array or null");
  }
  if (r.key !== undefined && r.key !== null && !isBytes(r.key)) {
    throw new TypeError("record.key must be a string, a Uint8Array, null or absent");
  }
  if (r.timestamp !== undefined && !(Number.isSafeInteger(r.timestamp) && r.timestamp >= 0)) {
    throw new TypeError("record.timestamp must be ms since the epoch (an integer >= 0)");
  }
  const key = bytesOf(r.key);
  const value = bytesOf(r.value);
  let size = 21 + (key?.length ?? 0) + (value?.length ?? 0);
  let headers: { key: string; value: Uint8Array | null }[] | undefined;
  if (r.headers !== undefined) {
    const list = Array.isArray(r.headers)
      ? r.headers as ReadonlyArray<{ key: string; value: string | Uint8Array | null }>
      : typeof r.headers === "object" && r.headers !== null
      ? Object.entries(r.headers).map(([key, value]) => ({ key, value }))
      : null;
    if (list === null) throw new TypeError("record.headers must be an object or an array");
    headers = list.map((h, i) => {
      if (typeof h?.key !== "string") {
        throw new TypeError(`record.headers[${i}].key must be a string`);
      }
      if (h.value !== null && !isBytes(h.value)) {
        throw new TypeError(`record.headers[${i}].value must be a string, a Uint8Array or null`);
      }
      const v = bytesOf(h.value);
      size += 10 + h.key.length * 3 + (v?.length ?? 0);
      return { key: h.key, value: v };
    });
  }
  return { record: { key, value, headers, timestamp: r.timestamp ?? now }, size };
}

/** The outcomes of one `send()` (or one write), filled in as batches complete. */
export class SendGroup {
  readonly results: (RecordMetadata | KafkaError | undefined)[];
  #left: number;
  readonly #done: (group: SendGroup) => void;

  /** `done` runs once every record has an outcome. */
  constructor(count: number, done: (group: SendGroup) => void) {
    this.results = new Array(count);
    this.#left = count;
    this.#done = done;
    if (count === 0) done(this);
  }

  /** Records the outcome of record `index` (the first outcome counts). */
  set(index: number, outcome: RecordMetadata | KafkaError): void {
    if (this.results[index] !== undefined) return;
    this.results[index] = outcome;
    if (--this.#left === 0) this.#done(this);
  }

  /** Whether some record failed. */
  get failed(): boolean {
    return this.results.some((r) => r instanceof Error);
  }
}

let nextOrder = 0;

/** A fresh creation order number. */
export function newOrder(): number {
  return nextOrder++;
}

/** Records of one partition written together; retried whole, keeping its sequence. */
export class ProducerBatch {
  /** Creation order: the order batches of a partition must be written in. */
  order: number = newOrder();
  /** The records, in call order. */
  readonly records: RecordToEncode[] = [];
  /** Where each record's outcome goes. */
  readonly slots: { group: SendGroup; index: number }[] = [];
  /** Estimated bytes (the memory it holds): the sum of `sizes`. */
  bytes: number = 0;
  /** Each record's estimated size. */
  readonly sizes: number[] = [];
  /** No more records go in (full, or being sent). */
  closed: boolean = false;
  /** Sequence of the first record (idempotence), -1 until first sent. */
  baseSequence: number = -1;
  /** The encoded batch, kept for retries (dropped when the sequence changes). */
  encoded: Uint8Array | null = null;
  /** Sends so far. */
  attempts: number = 0;
  /** Not before (retry backoff), ms since the epoch. */
  retryAt: number = 0;
  /** The last error that made it retry. */
  lastError: KafkaError | undefined;
  /** Completed or failed: later answers are ignored. */
  finished: boolean = false;
  /** Resolves once finished. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  /** A new batch, created now. */
  constructor(readonly topic: string, readonly partition: number, readonly createdAt: number) {
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Appends a record whose outcome goes to `group[index]`. */
  add(record: RecordToEncode, size: number, group: SendGroup, index: number): void {
    this.records.push(record);
    this.sizes.push(size);
    this.slots.push({ group, index });
    this.bytes += size;
  }

  /**
   * The batch as one batch per record, in order, sorting where it did (for
   * a batch the broker found too large: each record then fails or succeeds
   * on its own).
   */
  split(): ProducerBatch[] {
    return this.records.map((r, i) => {
      const one = new ProducerBatch(this.topic, this.partition, this.createdAt);
      one.order = this.order + (i + 1) / (this.records.length + 1);
      one.add(r, this.sizes[i], this.slots[i].group, this.slots[i].index);
      one.closed = true;
      one.attempts = this.attempts;
      return one;
    });
  }

  /** Ends the batch without outcomes: its records moved to other batches (`split`). */
  retire(): void {
    this.finished = true;
    this.#resolveDone();
  }

  /** Marks the batch finished, each record with `outcome(i)`. */
  finish(outcome: (i: number) => RecordMetadata | KafkaError): void {
    if (this.finished) return;
    this.finished = true;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      s.group.set(s.index, outcome(i));
    }
    this.#resolveDone();
  }
}
