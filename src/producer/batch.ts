/**
 * The producer's units of work: a {@linkcode ProducerRecord} as the user
 * gives it, normalized to bytes; a {@linkcode SendGroup} that collects the
 * per-record outcomes of one `send()` or write; and a
 * {@linkcode ProducerBatch}, the records of one partition sent together.
 *
 * @module
 */

import { compress } from "../protocol/compression/mod.ts";
import type { KafkaError } from "../protocol/errors.ts";
import { assembleBatch } from "../protocol/wire_batch_encode.ts";
import { RECORDS_AT } from "../protocol/wire_batch_format.ts";
import { type RecordFields, RecordsWriter } from "../protocol/wire_records_writer.ts";
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

/**
 * Memory a buffered record costs beyond its encoded bytes (its timestamp,
 * outcome and index slots), charged to `bufferMemory` with them.
 */
export const RECORD_OVERHEAD = 24;

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

/** A record normalized to bytes, with its timestamp and an upper bound of its encoded size. */
export interface NormalizedRecord extends RecordFields {
  /** Create time, ms since the epoch. */
  readonly timestamp: number;
  /** At least its encoded size in a batch (varints at their widest). */
  readonly size: number;
}

/**
 * The record as bytes, and its size estimate. Throws a `TypeError` naming
 * the field when the record is malformed.
 */
export function normalizeRecord(r: ProducerRecord, now: number): NormalizedRecord {
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
  return { key, value, headers, timestamp: r.timestamp ?? now, size };
}

/** Where the outcomes of records go, as their batches finish. */
export interface Outcomes {
  /**
   * False when only failures matter (a stream): delivered records then cost
   * no metadata object.
   */
  readonly wantsMetadata: boolean;
  /** Record `index`'s outcome (metadata only when `wantsMetadata`). */
  set(index: number, outcome: RecordMetadata | KafkaError | null): void;
}

/** The outcomes of one `send()`, filled in as batches complete. */
export class SendGroup implements Outcomes {
  /** Every outcome is kept (send() returns them). */
  readonly wantsMetadata = true;
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
  set(index: number, outcome: RecordMetadata | KafkaError | null): void {
    if (outcome === null || this.results[index] !== undefined) return;
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

/**
 * Records of one partition written together; retried whole, keeping its
 * sequence. Records are encoded as they are appended (a {@linkcode RecordsWriter}),
 * so what a batch holds, and what `bufferMemory` counts, is bytes.
 */
export class ProducerBatch {
  /** Creation order: the order batches of a partition must be written in. */
  order: number = newOrder();
  /** Bytes of encoded records. */
  bytes: number = 0;
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
  /** Each record's create time. */
  readonly timestamps: number[] = [];
  readonly #groups: Outcomes[] = [];
  readonly #indexes: number[] = [];
  #records: RecordsWriter;
  #resolveDone!: () => void;

  /** A new batch, created now; `inPlace`: keep room for the header (uncompressed batches). */
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdAt: number,
    readonly inPlace = true,
    capacity = 1024,
  ) {
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#records = new RecordsWriter(capacity, inPlace ? RECORDS_AT : 0);
  }

  /** Memory held, as charged to `bufferMemory`: encoded bytes plus {@linkcode RECORD_OVERHEAD} per record. */
  get held(): number {
    return this.bytes + this.count * RECORD_OVERHEAD;
  }

  /** Records in the batch. */
  get count(): number {
    return this.#records.count;
  }

  /** Appends a record whose outcome goes to `group[index]`; returns its encoded size. */
  add(record: NormalizedRecord, group: Outcomes, index: number): number {
    const base = this.timestamps.length > 0 ? this.timestamps[0] : record.timestamp;
    const size = this.#records.append(record, this.count, record.timestamp - base);
    this.timestamps.push(record.timestamp);
    this.#groups.push(group);
    this.#indexes.push(index);
    this.bytes += size;
    return size;
  }

  /** The wire batch: header (producer id, epoch, sequence) + records, compressed with `codec`. */
  encode(codec: number, producerId: bigint, producerEpoch: number): Uint8Array {
    let max = -1;
    for (const t of this.timestamps) if (t > max) max = t;
    const fields = {
      baseOffset: 0n,
      partitionLeaderEpoch: -1,
      attributes: codec,
      lastOffsetDelta: this.count - 1,
      baseTimestamp: this.timestamps[0],
      maxTimestamp: max,
      producerId,
      producerEpoch,
      baseSequence: this.baseSequence,
      recordCount: this.count,
    };
    return codec === 0 && this.inPlace
      ? assembleBatch(fields, { inPlace: this.#records.withHeadroom() })
      : assembleBatch(fields, {
        records: codec === 0 ? this.#records.records() : compress(codec, this.#records.records()),
      });
  }

  /**
   * The batch as one batch per record, in order, sorting where it did (for
   * a batch the broker found too large: each record then fails or succeeds
   * on its own).
   */
  split(): ProducerBatch[] {
    const out: ProducerBatch[] = [];
    for (let i = 0; i < this.count; i++) {
      const one = new ProducerBatch(this.topic, this.partition, this.createdAt, this.inPlace, 16);
      const { writer, timestamp } = this.#records.single(
        i,
        this.timestamps[0],
        this.inPlace ? RECORDS_AT : 0,
      );
      one.#records = writer;
      one.timestamps.push(timestamp);
      one.#groups.push(this.#groups[i]);
      one.#indexes.push(this.#indexes[i]);
      one.bytes = writer.size;
      one.order = this.order + (i + 1) / (this.count + 1);
      one.closed = true;
      one.attempts = this.attempts;
      out.push(one);
    }
    // Memory is released as it was charged: the parts hold what the batch did.
    const parts = out.reduce((n, b) => n + b.bytes, 0);
    if (out.length > 0) out[out.length - 1].bytes += this.bytes - parts;
    return out;
  }

  /** Ends the batch without outcomes: its records moved to other batches (`split`). */
  retire(): void {
    this.finished = true;
    this.#resolveDone();
  }

  /** Marks the batch delivered; `metadata(i)` is made only for outcomes that keep it. */
  succeed(metadata: (i: number) => RecordMetadata): void {
    if (this.finished) return;
    this.finished = true;
    for (let i = 0; i < this.#groups.length; i++) {
      const g = this.#groups[i];
      g.set(this.#indexes[i], g.wantsMetadata ? metadata(i) : null);
    }
    this.#resolveDone();
  }

  /** Marks the batch failed: every record with `error`. */
  fail(error: KafkaError): void {
    if (this.finished) return;
    this.finished = true;
    for (let i = 0; i < this.#groups.length; i++) this.#groups[i].set(this.#indexes[i], error);
    this.#resolveDone();
  }
}
