/**
 * The record as the application sees it, and the lazily materialized class
 * the record batch decoder produces.
 *
 * Decoding is the consumer's hot path (GUIDE §5), so a decoded record holds
 * small numbers and views only: `key` and `value` are zero-copy views into
 * the Fetch response (or into the decompressed batch); the bigint `offset`
 * and the epoch-millisecond `timestamp` are computed from per-batch bases on
 * access, and the header objects are built on first access. The key/value
 * views are most of the per-record cost, yet they stay eager: creating them
 * on first access (positions stored, views cached) measured ~20% slower in
 * bench/record_batch_bench.ts, where the consumer reads both.
 *
 * @module
 */

/**
 * One record header: ordered, and keys may repeat.
 *
 * @example
 * ```ts
 * import type { KafkaRecord, RecordHeader } from "@sluice/kafka";
 * function traceId(record: KafkaRecord): string | undefined {
 *   const h: RecordHeader | undefined = record.headers.find((h) => h.key === "trace-id");
 *   return h?.value ? new TextDecoder().decode(h.value) : undefined;
 * }
 * ```
 */
export interface RecordHeader {
  /** Header key (UTF-8 on the wire; invalid sequences decode to U+FFFD). */
  readonly key: string;
  /** Header value bytes, or `null` when the producer sent a null value. */
  readonly value: Uint8Array | null;
}

/**
 * A Kafka record as delivered to the application.
 *
 * `key`, `value` and header values are views into the fetched bytes: they
 * are valid as long as the record is referenced; copy them (`slice()`) to
 * keep a small part of a large response alive without the rest.
 *
 * @example
 * ```ts
 * import type { KafkaRecord } from "@sluice/kafka";
 * function describe(record: KafkaRecord): string {
 *   const value = record.value === null ? "null" : new TextDecoder().decode(record.value);
 *   return `${record.offset} @ ${new Date(record.timestamp).toISOString()}: ${value}`;
 * }
 * ```
 */
export interface KafkaRecord {
  /** The record's offset in its partition (exact int64). */
  readonly offset: bigint;
  /**
   * Milliseconds since the epoch: the producer's create time, or the broker's
   * log-append time for topics with `message.timestamp.type=LogAppendTime`.
   */
  readonly timestamp: number;
  /** Key bytes, or `null` for a null key. */
  readonly key: Uint8Array | null;
  /** Value bytes, or `null` for a null value (a tombstone on compacted topics). */
  readonly value: Uint8Array | null;
  /** Headers in wire order, duplicates kept; a shared frozen empty array when there are none. */
  readonly headers: ReadonlyArray<RecordHeader>;
}

/** The headers of every record that has none: one frozen array, never one per record. */
export const EMPTY_HEADERS: ReadonlyArray<RecordHeader> = Object.freeze([]);

/**
 * What the records of one wire batch share: the bytes they point into and the
 * batch's base offset. One per batch, so a record carries a single reference
 * instead of copies of these.
 */
export interface BatchContext {
  /** The buffer that `headersAt` positions index (response or decompressed bytes). */
  readonly data: Uint8Array;
  /**
   * Base offset of the batch as a number, when every offset of the batch is
   * below 2^53 (always, in practice), so that a record's offset costs one
   * `BigInt()` conversion; `Infinity` otherwise.
   */
  readonly baseOffsetNumber: number;
  /** Base offset of the batch, exact; only set when `baseOffsetNumber` is `Infinity`. */
  readonly baseOffset: bigint | null;
  /** The batch's base timestamp, which record timestamp deltas are relative to. */
  readonly baseTimestamp: number;
  /**
   * The batch's maxTimestamp when it is in LogAppendTime (every record then
   * has that timestamp); NaN for CreateTime batches.
   */
  readonly logAppendTime: number;
}

const utf8 = new TextDecoder();

/**
 * A record produced by the decoder. Construct through
 * `decodeRecordBatches`, not directly; the constructor trusts that the header
 * bytes at `headersAt` were validated by the decoder.
 */
export class DecodedRecord implements KafkaRecord {
  /** Key view or null. */
  readonly key: Uint8Array | null;
  /** Value view or null. */
  readonly value: Uint8Array | null;
  #batch: BatchContext;
  #offsetDelta: number;
  #timestampDelta: number;
  /** Position of the header count varint in `#batch.data`, or -1 when the record has no headers. */
  #headersAt: number;
  #headers: ReadonlyArray<RecordHeader> | undefined = undefined;

  /**
   * Wraps one decoded record; called by the decoder only.
   *
   * @param batch Shared per-batch context.
   * @param offsetDelta The record's offset minus the batch's base offset.
   * @param timestampDelta The record's timestamp minus the batch's base timestamp.
   * @param key Key view or null.
   * @param value Value view or null.
   * @param headersAt Position of the validated header count varint, or -1 for none.
   */
  constructor(
    batch: BatchContext,
    offsetDelta: number,
    timestampDelta: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headersAt: number,
  ) {
    this.#batch = batch;
    this.#offsetDelta = offsetDelta;
    this.#timestampDelta = timestampDelta;
    this.key = key;
    this.value = value;
    this.#headersAt = headersAt;
  }

  /**
   * The record's offset, computed on access. Not cached: a bigint costs about
   * as much to build as to store in the record, most consumers read it once,
   * and bigints compare by value, so a fresh one per access is equivalent.
   */
  get offset(): bigint {
    const batch = this.#batch;
    return batch.baseOffset === null
      ? BigInt(batch.baseOffsetNumber + this.#offsetDelta)
      : batch.baseOffset + BigInt(this.#offsetDelta);
  }

  /**
   * Milliseconds since the epoch, computed on access: epoch milliseconds do
   * not fit V8's small integers, so a stored one would cost a heap number per
   * record even when nobody reads it.
   */
  get timestamp(): number {
    const batch = this.#batch;
    return Number.isNaN(batch.logAppendTime)
      ? batch.baseTimestamp + this.#timestampDelta
      : batch.logAppendTime;
  }

  /** The record's headers, decoded on first access. */
  get headers(): ReadonlyArray<RecordHeader> {
    if (this.#headers === undefined) {
      this.#headers = this.#headersAt < 0
        ? EMPTY_HEADERS
        : decodeHeaders(this.#batch.data, this.#headersAt);
    }
    return this.#headers;
  }

  /** Shows the lazy fields too when a record is logged with `console.log`. */
  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options: unknown) => string,
    options: unknown,
  ): string {
    const shown = {
      offset: this.offset,
      timestamp: this.timestamp,
      key: this.key,
      value: this.value,
      headers: this.headers,
    };
    return `KafkaRecord ${inspect(shown, options)}`;
  }
}

/**
 * Decodes validated headers starting at the header count varint. The decoder
 * already walked these bytes, so no bounds checks are repeated here.
 */
function decodeHeaders(data: Uint8Array, at: number): ReadonlyArray<RecordHeader> {
  let pos = at;
  const readVarint = (): number => {
    let raw = 0;
    let shift = 0;
    let b: number;
    do {
      b = data[pos++];
      raw |= (b & 0x7f) << shift;
      shift += 7;
    } while (b >= 0x80);
    return (raw >>> 1) ^ -(raw & 1);
  };
  const count = readVarint();
  const headers: RecordHeader[] = [];
  for (let i = 0; i < count; i++) {
    const keyLength = readVarint();
    const key = decodeKey(data, pos, pos + keyLength);
    pos += keyLength;
    const valueLength = readVarint();
    let value: Uint8Array | null = null;
    if (valueLength >= 0) {
      value = data.subarray(pos, pos + valueLength);
      pos += valueLength;
    }
    headers.push(Object.freeze({ key, value }));
  }
  return Object.freeze(headers);
}

/** Header keys are short and usually ASCII: skip TextDecoder's call overhead for those. */
function decodeKey(data: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = data[i];
      if (c >= 0x80) return utf8.decode(data.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(data.subarray(start, end));
}
