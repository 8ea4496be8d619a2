/**
 * Decoding of the `records` bytes of one partition in a Fetch response: a
 * sequence of magic v2 record batches, the last of which may be cut short by
 * the broker's size limit.
 *
 * This is the consumer's hot path (GUIDE §5). Per record it allocates the
 * record object and the key/value views and nothing else; varints are read
 * inline from the `Uint8Array` (no DataView), and offsets and headers are
 * materialized lazily by {@linkcode DecodedRecord}.
 *
 * Every malformed input throws {@linkcode CorruptDataError} naming what was
 * wrong with the topic, partition and the batch's base offset. A batch whose
 * declared length reaches past the end of the data is not corrupt: it is the
 * broker's size limit, reported through `truncated`.
 *
 * @module
 */

import { compressionName, decompress } from "./compression/mod.ts";
import { crc32c } from "./crc32c.ts";
import { CorruptDataError, KafkaError } from "./errors.ts";
import { type BatchContext, DecodedRecord, type KafkaRecord } from "./record.ts";
import {
  ATTRIBUTES_AT,
  BASE_TIMESTAMP_AT,
  BATCH_LENGTH_AT,
  COMPRESSION_MASK,
  CONTROL,
  CONTROL_ABORT,
  CRC_AT,
  HEADER_SIZE_UP_TO_MAGIC,
  LAST_OFFSET_DELTA_AT,
  LOG_OVERHEAD,
  MAGIC_AT,
  MAGIC_V2,
  MAX_TIMESTAMP_AT,
  MIN_BATCH_LENGTH,
  MIN_RECORD_SIZE,
  PRODUCER_ID_AT,
  RECORD_COUNT_AT,
  RECORDS_AT,
  TIMESTAMP_TYPE_LOG_APPEND,
  TRANSACTIONAL,
} from "./wire_batch_format.ts";

/** An aborted transaction as listed in a read_committed Fetch response. */
export interface AbortedTransaction {
  /** The producer whose transaction was aborted. */
  readonly producerId: bigint;
  /** First offset the aborted transaction wrote in this partition. */
  readonly firstOffset: bigint;
}

/** Options of {@linkcode decodeRecordBatches}. */
export interface DecodeOptions {
  /** Topic of the data; named in errors. */
  topic: string;
  /** Partition of the data; named in errors. */
  partition: number;
  /**
   * Verify each batch's CRC32C. Turning it off saves the per-byte checksum
   * cost but lets corruption on disk or in flight reach the application.
   * @default {true}
   */
  verifyCrc?: boolean;
  /**
   * The aborted transactions from the Fetch response. Non-null means
   * read_committed: records of aborted transactions are dropped. `null` or
   * absent means read_uncommitted: every data record is delivered.
   * @default {null}
   */
  abortedTransactions?: ReadonlyArray<AbortedTransaction> | null;
  /**
   * Drop records below this offset. The broker returns whole batches, so the
   * first batch may start before the fetch offset.
   */
  fromOffset?: bigint;
  /**
   * Largest batch (in bytes, header included) accepted. A batch declaring
   * more is corrupt rather than "cut short by the fetch limit": raising the
   * fetch size for it would only ask the broker for an absurd response.
   * @default {1073741824} (1 GiB)
   */
  maxBatchSize?: number;
  /**
   * Largest decompressed size of one compressed batch's records, so that a
   * hostile or corrupt batch cannot exhaust memory.
   * @default {DEFAULT_MAX_DECOMPRESSED_BYTES} of compression/ (256 MiB)
   */
  maxDecompressedBytes?: number;
}

/** Result of {@linkcode decodeRecordBatches}. */
export interface DecodedRecords {
  /** Deliverable records in offset order: no control records, no aborted or skipped ones. */
  records: KafkaRecord[];
  /**
   * One past the last offset of the last complete batch (control batches and
   * batches whose records were all dropped included), never below
   * `fromOffset`; `null` when no complete batch was found. The next fetch
   * starts here.
   */
  nextOffset: bigint | null;
  /** A partial batch followed the complete ones (the broker's size limit cut it). */
  truncated: boolean;
  /**
   * Size in bytes of the partial batch when its length field was readable,
   * else `null`. When `truncated` and `nextOffset === null`, not even one batch
   * fit: fetch again with at least this many bytes.
   */
  truncatedBatchSize: number | null;
}

/** Default of {@linkcode DecodeOptions.maxBatchSize}. */
export const DEFAULT_MAX_BATCH_SIZE = 1 << 30;

const EMPTY = new Uint8Array(0);

/** 2^32, to assemble int64 halves into a number. */
const TWO_POW_32 = 4294967296;
/**
 * Base offsets whose high 32 bits are below this are "small": base + any
 * int32 delta + 1 stays below 2^53, so number arithmetic on them is exact.
 */
const SMALL_BASE_HI = 0x1fffff;
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Decodes the record batches of one partition's Fetch data.
 *
 * @param data The partition's `records` bytes (one or more batches).
 * @param options Topic and partition (for errors), CRC, isolation and start offset.
 * @returns The deliverable records, the next fetch offset and whether a partial batch followed.
 * @throws {CorruptDataError} When a batch or record is malformed or fails its CRC.
 *
 * @example Decode what a Fetch returned for one partition
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch } from "./wire_batch.ts";
 * const value = new TextEncoder().encode("hello");
 * const data = encodeRecordBatch({ baseOffset: 41n, records: [{ value }, { value }] });
 *
 * const { records, nextOffset, truncated } = decodeRecordBatches(data, {
 *   topic: "orders",
 *   partition: 0,
 *   fromOffset: 42n, // the fetch offset: the batch starts one record earlier
 * });
 * records.length; // 1
 * records[0].offset; // 42n
 * nextOffset; // 43n
 * truncated; // false
 * ```
 */
export function decodeRecordBatches(data: Uint8Array, options: DecodeOptions): DecodedRecords {
  const verifyCrc = options.verifyCrc ?? true;
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  const fromOffset = options.fromOffset ?? null;
  // Offsets are tracked as numbers, exact below 2^53 (every real log); bigint
  // arithmetic costs tens of nanoseconds per operation, which adds up for
  // one-record batches. Batches near 2^63 take a bigint path.
  const fromNumber = fromOffset === null
    ? -1
    : fromOffset <= MAX_SAFE_BIGINT
    ? Number(fromOffset)
    : Infinity;
  const readCommitted = options.abortedTransactions != null;
  const aborted = readCommitted ? sortByFirstOffset(options.abortedTransactions!) : [];
  let abortedIndex = 0;
  const abortedProducers = new Set<bigint>();

  const cursor = new Cursor(options.topic, options.partition);
  const records: KafkaRecord[] = [];
  // One past the last complete batch: a number while exact, else the bigint.
  let next = -1;
  let nextBig: bigint | null = null;
  let truncated = false;
  let truncatedBatchSize: number | null = null;

  let pos = 0;
  const length = data.length;
  while (pos < length) {
    const remaining = length - pos;
    if (remaining < LOG_OVERHEAD) {
      truncated = true;
      break;
    }
    const baseHi = readInt32(data, pos);
    const baseLo = readUint32(data, pos + 4);
    cursor.setBatch(baseHi, baseLo);
    const batchLength = readInt32(data, pos + BATCH_LENGTH_AT);
    if (remaining >= HEADER_SIZE_UP_TO_MAGIC && data[pos + MAGIC_AT] !== MAGIC_V2) {
      throw cursor.fail(
        `record batch magic ${data[pos + MAGIC_AT]} is unsupported: only magic v2 ` +
          "(the format of Kafka 0.11 and later, the only one Kafka 4 writes) can be read",
      );
    }
    if (batchLength < MIN_BATCH_LENGTH) {
      throw cursor.fail(
        `record batch length ${batchLength} is shorter than the ${MIN_BATCH_LENGTH}-byte header`,
      );
    }
    if (batchLength > maxBatchSize - LOG_OVERHEAD) {
      throw cursor.fail(
        `record batch length ${batchLength} exceeds the ${maxBatchSize}-byte limit (maxBatchSize)`,
      );
    }
    const batchEnd = pos + LOG_OVERHEAD + batchLength;
    if (batchEnd > length) {
      truncated = true;
      truncatedBatchSize = LOG_OVERHEAD + batchLength;
      break;
    }
    if (baseHi < 0) {
      throw cursor.fail(`record batch base offset ${cursor.baseOffset()} is negative`);
    }

    if (verifyCrc) {
      const stored = readUint32(data, pos + CRC_AT);
      const computed = crc32c(data, pos + ATTRIBUTES_AT, batchEnd);
      if (stored !== computed) {
        throw cursor.fail(
          `record batch CRC mismatch: stored 0x${hex32(stored)}, computed 0x${hex32(computed)}`,
        );
      }
    }

    const attributes = (data[pos + ATTRIBUTES_AT] << 8) | data[pos + ATTRIBUTES_AT + 1];
    const lastOffsetDelta = readInt32(data, pos + LAST_OFFSET_DELTA_AT);
    if (lastOffsetDelta < 0) {
      throw cursor.fail(`record batch last offset delta ${lastOffsetDelta} is negative`);
    }
    const recordCount = readInt32(data, pos + RECORD_COUNT_AT);
    if (recordCount < 0) throw cursor.fail(`record batch record count ${recordCount} is negative`);

    // Exact as numbers when the whole batch (base + an int32 delta + 1) stays below 2^53.
    const small = baseHi < SMALL_BASE_HI;
    const base = small ? baseHi * TWO_POW_32 + baseLo : Infinity;
    const baseBig = small ? null : cursor.baseOffset();
    const previousEndsAfter = small && nextBig === null
      ? base < next
      : (nextBig ?? (next < 0 ? -1n : BigInt(next))) > (baseBig ?? BigInt(base));
    if (previousEndsAfter) {
      throw cursor.fail(
        `record batch base offset ${cursor.baseOffset()} overlaps the previous batch, ` +
          `which ended before offset ${nextBig ?? next}`,
      );
    }
    const isControl = (attributes & CONTROL) !== 0;

    // read_committed, as Kafka's Java consumer does it: a producer's aborted
    // transaction becomes active once the batches reach its first offset, and
    // ends at that producer's ABORT marker.
    let droppedAsAborted = false;
    let producerId = -1n;
    if (readCommitted && readInt32(data, pos + PRODUCER_ID_AT) >= 0) {
      producerId = readInt64(data, pos + PRODUCER_ID_AT);
      const lastOffset = small
        ? BigInt(base + lastOffsetDelta)
        : baseBig! + BigInt(lastOffsetDelta);
      while (abortedIndex < aborted.length && aborted[abortedIndex].firstOffset <= lastOffset) {
        abortedProducers.add(aborted[abortedIndex++].producerId);
      }
      droppedAsAborted = !isControl && (attributes & TRANSACTIONAL) !== 0 &&
        abortedProducers.has(producerId);
    }

    if (!droppedAsAborted) {
      const codec = attributes & COMPRESSION_MASK;
      if (codec === 0) {
        cursor.buf = data;
        cursor.pos = pos + RECORDS_AT;
        cursor.end = batchEnd;
      } else {
        const inflated = inflate(
          cursor,
          codec,
          data.subarray(pos + RECORDS_AT, batchEnd),
          options.maxDecompressedBytes,
        );
        cursor.buf = inflated;
        cursor.pos = 0;
        cursor.end = inflated.length;
      }
      const context: BatchContext = {
        data: cursor.buf,
        baseOffsetNumber: base,
        baseOffset: baseBig,
        baseTimestamp: readInt64Number(data, pos + BASE_TIMESTAMP_AT),
        logAppendTime: (attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0
          ? readInt64Number(data, pos + MAX_TIMESTAMP_AT)
          : NaN,
      };
      if (isControl) {
        // Control records are never delivered, but they are read to check the
        // batch and, under read_committed, to find ABORT markers.
        const markers: KafkaRecord[] = [];
        readRecords(cursor, recordCount, context, lastOffsetDelta, 0, markers);
        if (readCommitted && producerId >= 0n && markers.length > 0) {
          if (controlType(cursor, markers[0]) === CONTROL_ABORT) {
            abortedProducers.delete(producerId);
          }
        }
      } else {
        let minDelta = 0;
        if (fromNumber >= 0) {
          if (small && fromNumber !== Infinity) {
            if (fromNumber > base) minDelta = Math.min(fromNumber - base, lastOffsetDelta + 1);
          } else {
            const skip = fromOffset! - (baseBig ?? BigInt(base));
            if (skip > 0n) {
              minDelta = skip > BigInt(lastOffsetDelta) ? lastOffsetDelta + 1 : Number(skip);
            }
          }
        }
        readRecords(cursor, recordCount, context, lastOffsetDelta, minDelta, records);
      }
    }
    if (small) {
      next = base + lastOffsetDelta + 1;
      nextBig = null;
    } else {
      nextBig = baseBig! + BigInt(lastOffsetDelta) + 1n;
    }
    pos = batchEnd;
  }
  cursor.buf = EMPTY;
  let nextOffset = nextBig ?? (next < 0 ? null : BigInt(next));
  if (nextOffset !== null && fromOffset !== null && nextOffset < fromOffset) {
    nextOffset = fromOffset;
  }
  return { records, nextOffset, truncated, truncatedBatchSize };
}

/**
 * Reads `count` records from the cursor (positioned at the first record,
 * bounded by the end of the batch's records) and appends those whose offset
 * delta is at least `minDelta` to `out`.
 *
 * Hand-inlined for speed: the position lives in a local, one-byte varints
 * (most fields) are decoded in place and only longer ones call
 * {@linkcode Cursor.varintRaw}. Every read is bounds-checked against the end
 * of the record, so a lying length cannot make it read past the batch.
 */
function readRecords(
  cursor: Cursor,
  count: number,
  context: BatchContext,
  lastOffsetDelta: number,
  minDelta: number,
  out: KafkaRecord[],
): void {
  const buf = cursor.buf;
  const buffer = buf.buffer;
  const byteOffset = buf.byteOffset;
  const recordsEnd = cursor.end;
  let pos = cursor.pos;
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    cursor.record = i;
    if (pos >= recordsEnd) {
      throw cursor.fail(`the batch declares ${count} records but its data ends after ${i}`);
    }
    let v = buf[pos++];
    if (v >= 0x80) {
      v = cursor.varintRaw(pos - 1, recordsEnd, "record length");
      pos = cursor.pos;
    }
    const length = (v >>> 1) ^ -(v & 1);
    const start = pos;
    if (length < MIN_RECORD_SIZE - 1 || length > recordsEnd - start) {
      throw cursor.fail(
        length < MIN_RECORD_SIZE - 1
          ? `record length ${length} is too small`
          : `record length ${length} runs past the end of the batch (${
            recordsEnd - start
          } bytes left)`,
      );
    }
    const end = start + length;
    // attributes (unused in magic v2) at `start`; the length check above
    // guarantees the next two bytes are inside the record.
    pos = start + 1;

    let timestampDelta = buf[pos++];
    if (timestampDelta >= 0x80) {
      timestampDelta = cursor.varlong(pos - 1, end, "timestamp delta");
      pos = cursor.pos;
    } else {
      timestampDelta = (timestampDelta >>> 1) ^ -(timestampDelta & 1);
    }

    if (pos >= end) throw cursor.fail("offset delta runs past the end of the record");
    v = buf[pos++];
    if (v >= 0x80) {
      v = cursor.varintRaw(pos - 1, end, "offset delta");
      pos = cursor.pos;
    }
    const offsetDelta = (v >>> 1) ^ -(v & 1);
    if (offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw cursor.fail(
        `offset delta ${offsetDelta} is out of order (previous ${previousDelta}, ` +
          `last offset delta of the batch ${lastOffsetDelta})`,
      );
    }
    previousDelta = offsetDelta;

    if (pos >= end) throw cursor.fail("key length runs past the end of the record");
    v = buf[pos++];
    if (v >= 0x80) {
      v = cursor.varintRaw(pos - 1, end, "key length");
      pos = cursor.pos;
    }
    const keyLength = (v >>> 1) ^ -(v & 1);
    let key: Uint8Array | null = null;
    if (keyLength >= 0) {
      if (keyLength > end - pos) throw cursor.fail(runsPast("key", keyLength));
      key = new Uint8Array(buffer, byteOffset + pos, keyLength);
      pos += keyLength;
    } else if (keyLength !== -1) {
      throw cursor.fail(`key length ${keyLength} is invalid`);
    }

    if (pos >= end) throw cursor.fail("value length runs past the end of the record");
    v = buf[pos++];
    if (v >= 0x80) {
      v = cursor.varintRaw(pos - 1, end, "value length");
      pos = cursor.pos;
    }
    const valueLength = (v >>> 1) ^ -(v & 1);
    let value: Uint8Array | null = null;
    if (valueLength >= 0) {
      if (valueLength > end - pos) throw cursor.fail(runsPast("value", valueLength));
      value = new Uint8Array(buffer, byteOffset + pos, valueLength);
      pos += valueLength;
    } else if (valueLength !== -1) {
      throw cursor.fail(`value length ${valueLength} is invalid`);
    }

    const headersAt = pos;
    if (pos >= end) throw cursor.fail("header count runs past the end of the record");
    if (buf[pos] === 0) {
      pos++;
    } else {
      pos = checkHeaders(cursor, pos, end);
    }
    if (pos !== end) {
      throw cursor.fail(
        `record length ${length} does not match its fields (${pos - start} bytes)`,
      );
    }
    if (offsetDelta >= minDelta) {
      out.push(
        new DecodedRecord(
          context,
          offsetDelta,
          timestampDelta,
          key,
          value,
          buf[headersAt] === 0 ? -1 : headersAt,
        ),
      );
    }
  }
  cursor.record = -1;
  if (pos !== recordsEnd) {
    throw cursor.fail(
      `${recordsEnd - pos} unread bytes follow the ${count} records the batch declares`,
    );
  }
}

/**
 * Walks the headers of a record once (from the header count at `pos`), so
 * that lazy decoding later cannot fail. Returns the position after them.
 */
function checkHeaders(cursor: Cursor, pos: number, recordEnd: number): number {
  cursor.pos = pos;
  cursor.end = recordEnd;
  const count = cursor.varint("header count");
  // Each header takes at least two bytes (two length varints).
  if (count < 0 || count > (recordEnd - cursor.pos) / 2) {
    throw cursor.fail(`header count ${count} is invalid`);
  }
  for (let h = 0; h < count; h++) {
    const keyLength = cursor.varint("header key length");
    if (keyLength < 0) throw cursor.fail(`header ${h} key length ${keyLength} is invalid`);
    if (keyLength > recordEnd - cursor.pos) {
      throw cursor.fail(runsPast(`header ${h} key`, keyLength));
    }
    cursor.pos += keyLength;
    const valueLength = cursor.varint("header value length");
    if (valueLength >= 0) {
      if (valueLength > recordEnd - cursor.pos) {
        throw cursor.fail(runsPast(`header ${h} value`, valueLength));
      }
      cursor.pos += valueLength;
    } else if (valueLength !== -1) {
      throw cursor.fail(`header ${h} value length ${valueLength} is invalid`);
    }
  }
  return cursor.pos;
}

function runsPast(field: string, length: number): string {
  return `${field} length ${length} runs past the end of the record`;
}

/** The type of a control record, from its key: version int16, type int16. */
function controlType(cursor: Cursor, marker: KafkaRecord): number {
  const key = marker.key;
  if (key === null || key.length < 4) {
    throw cursor.fail("control record key is shorter than the 4 bytes of version and type");
  }
  const version = (key[0] << 24) >> 16 | key[1];
  if (version < 0) throw cursor.fail(`control record version ${version} is invalid`);
  return (key[2] << 24) >> 16 | key[3];
}

/**
 * Decompresses a batch's records. Failures of the codec on the bytes are
 * corruption; a {@linkcode KafkaError} that is not (e.g. a codec that is not
 * available) passes through as it is.
 */
function inflate(
  cursor: Cursor,
  codec: number,
  compressed: Uint8Array,
  maxDecompressedBytes: number | undefined,
): Uint8Array {
  if (codec > 4) throw cursor.fail(`compression codec ${codec} is unknown`);
  try {
    return decompress(codec, compressed, { maxDecompressedBytes });
  } catch (e) {
    if (e instanceof KafkaError && !(e instanceof CorruptDataError)) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw cursor.fail(
      `the ${compressionName(codec)} records could not be decompressed: ${reason}`,
      e,
    );
  }
}

/**
 * Read position over a batch's records plus what errors must name. Varint
 * reads are bounded by `end` (the end of the current record, or of the
 * batch's records while reading a record's length).
 */
class Cursor {
  buf: Uint8Array = EMPTY;
  pos = 0;
  end = 0;
  /** Index of the record being read in its batch, or -1 outside records. */
  record = -1;
  /** High and low 32 bits of the current batch's base offset, for errors. */
  baseHi = 0;
  baseLo = 0;
  readonly topic: string;
  readonly partition: number;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  /** Starts a new batch: errors now name its base offset. */
  setBatch(baseHi: number, baseLo: number): void {
    this.baseHi = baseHi;
    this.baseLo = baseLo;
    this.record = -1;
  }

  /** The current batch's base offset, exact. */
  baseOffset(): bigint {
    return (BigInt(this.baseHi) << 32n) | BigInt(this.baseLo);
  }

  fail(what: string, cause?: unknown): CorruptDataError {
    const message = this.record >= 0 ? `record ${this.record} of the batch: ${what}` : what;
    return new CorruptDataError(
      message,
      { topic: this.topic, partition: this.partition, offset: this.baseOffset() },
      cause === undefined ? undefined : { cause },
    );
  }

  /** Zigzag varint of at most 5 bytes (int32) at `pos`, bounded by `end`. */
  varint(field: string): number {
    const raw = this.varintRaw(this.pos, this.end, field);
    return (raw >>> 1) ^ -(raw & 1);
  }

  /**
   * The raw (still zigzag-encoded) 32 bits of the varint at `pos`, at most 5
   * bytes, bounded by `end`; leaves `pos` after it. A fifth byte's bits
   * beyond 32 fall off, as in Kafka's ByteUtils.
   */
  varintRaw(pos: number, end: number, field: string): number {
    const buf = this.buf;
    let raw = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= end) {
        throw this.fail(
          `${field} runs past the end of the ${field === "record length" ? "batch" : "record"}`,
        );
      }
      const b = buf[pos++];
      raw |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return raw;
      }
    }
    throw this.fail(`${field} varint is longer than 5 bytes`);
  }

  /** Zigzag varlong of at most 10 bytes at `pos`, bounded by `end`, as a number (timestamps fit in 2^53). */
  varlong(pos: number, end: number, field: string): number {
    const buf = this.buf;
    // Up to four bytes (28 bits) in int32 arithmetic.
    let raw = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw this.fail(`${field} runs past the end of the record`);
      const b = buf[pos++];
      raw |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    // Rare: a delta beyond ±2^27 ms (1.5 days) within one batch.
    let big = BigInt(raw);
    for (let shift = 28n;; shift += 7n) {
      if (pos >= end) throw this.fail(`${field} runs past the end of the record`);
      const b = buf[pos++];
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      if (shift >= 63n) throw this.fail(`${field} varlong is longer than 10 bytes`);
    }
    this.pos = pos;
    big = BigInt.asUintN(64, big);
    return Number((big >> 1n) ^ -(big & 1n));
  }
}

function sortByFirstOffset(list: ReadonlyArray<AbortedTransaction>): AbortedTransaction[] {
  return [...list].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0
  );
}

function readInt32(data: Uint8Array, at: number): number {
  return (data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3];
}

function readUint32(data: Uint8Array, at: number): number {
  return readInt32(data, at) >>> 0;
}

/** int64 as an exact bigint; one small-bigint conversion in the usual case. */
function readInt64(data: Uint8Array, at: number): bigint {
  const hi = readInt32(data, at);
  const lo = readUint32(data, at + 4);
  if (hi >= -0x200000 && hi < 0x200000) return BigInt(hi * TWO_POW_32 + lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** int64 as a number: exact below 2^53, which every real timestamp is. */
function readInt64Number(data: Uint8Array, at: number): number {
  return readInt32(data, at) * TWO_POW_32 + readUint32(data, at + 4);
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}
