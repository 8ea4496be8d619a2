/**
 * Encoding of magic v2 record batches: for Produce in tests and the demo, and
 * for building the control (commit/abort) batches that read_committed tests
 * need. Not a hot path: clarity over speed, but sizes are computed up front so
 * each batch is written into one exact allocation.
 *
 * @module
 */

import { compress } from "./compression/mod.ts";
import { crc32c } from "./crc32c.ts";
import {
  ATTRIBUTES_AT,
  BASE_SEQUENCE_AT,
  BASE_TIMESTAMP_AT,
  BATCH_LENGTH_AT,
  COMPRESSION_MASK,
  CONTROL,
  CONTROL_ABORT,
  CONTROL_COMMIT,
  CRC_AT,
  LAST_OFFSET_DELTA_AT,
  LOG_OVERHEAD,
  MAGIC_AT,
  MAGIC_V2,
  MAX_TIMESTAMP_AT,
  PARTITION_LEADER_EPOCH_AT,
  PRODUCER_EPOCH_AT,
  PRODUCER_ID_AT,
  RECORD_COUNT_AT,
  RECORDS_AT,
  TIMESTAMP_TYPE_LOG_APPEND,
  TRANSACTIONAL,
} from "./wire_batch_format.ts";

const NO_KEYS: Uint8Array[] = [];

/** One record to encode. */
export interface RecordToEncode {
  /** Key bytes; absent or `null` for a null key. */
  key?: Uint8Array | null;
  /** Value bytes; `null` for a tombstone. */
  value: Uint8Array | null;
  /** Headers in order; duplicates allowed. */
  headers?: ReadonlyArray<{ key: string; value: Uint8Array | null }>;
  /** Create time in ms since the epoch. @default the batch's `baseTimestamp` */
  timestamp?: number;
  /**
   * Offset relative to the batch's base offset; to leave gaps, as compaction
   * does. Must increase. @default the record's index in the batch
   */
  offsetDelta?: number;
}

/** Input of {@linkcode encodeRecordBatch}. */
export interface RecordBatchInput {
  /** Offset of the first record; brokers overwrite it on Produce. @default {0n} */
  baseOffset?: bigint;
  /** The records, in offset order. */
  records: ReadonlyArray<RecordToEncode>;
  /** Codec id (see `Compression`): 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. @default {0} */
  compression?: number;
  /** Idempotent/transactional producer id; -1 for none. @default {-1n} */
  producerId?: bigint;
  /** Producer epoch; -1 for none. @default {-1} */
  producerEpoch?: number;
  /** Sequence number of the first record; -1 for none. @default {-1} */
  baseSequence?: number;
  /** Mark the batch as part of a transaction. @default {false} */
  transactional?: boolean;
  /**
   * Timestamp the record timestamps are stored relative to.
   * @default the first record's timestamp, else `Date.now()`
   */
  baseTimestamp?: number;
  /**
   * Write the batch as a broker does for a `LogAppendTime` topic: timestamp
   * type bit set and `maxTimestamp` = this time, which readers use for every
   * record.
   */
  logAppendTime?: number;
  /**
   * Offset delta of the batch's last offset, which may lie past the last
   * record after compaction. @default the last record's offset delta (0 when empty)
   */
  lastOffsetDelta?: number;
  /** Leader epoch stamped by the broker; -1 from producers. @default {-1} */
  partitionLeaderEpoch?: number;
}

/** Input of {@linkcode encodeControlBatch}. */
export interface ControlBatchInput {
  /** Offset of the marker. @default {0n} */
  baseOffset?: bigint;
  /** The transactional producer whose transaction ends. */
  producerId: bigint;
  /** Its epoch. @default {0} */
  producerEpoch?: number;
  /** Whether the transaction was committed or aborted. */
  type: "commit" | "abort";
  /** Epoch of the transaction coordinator that wrote the marker. @default {0} */
  coordinatorEpoch?: number;
  /** Marker time in ms since the epoch. @default `Date.now()` */
  timestamp?: number;
}

const utf8 = new TextEncoder();

/**
 * Encodes a complete magic v2 record batch with a correct CRC32C.
 *
 * @param input The records and the batch header fields.
 * @returns The batch bytes, from `baseOffset` to the last record.
 * @throws {RangeError} When a field does not fit its wire type or offset deltas do not increase.
 *
 * @example Produce-ready bytes for two records
 * ```ts
 * import { encodeRecordBatch } from "./wire_batch.ts";
 * const enc = new TextEncoder();
 * const batch = encodeRecordBatch({
 *   records: [
 *     { key: enc.encode("k"), value: enc.encode("v1") },
 *     { value: enc.encode("v2"), headers: [{ key: "trace", value: null }] },
 *   ],
 * });
 * batch[16]; // 2 (magic)
 * ```
 */
export function encodeRecordBatch(input: RecordBatchInput): Uint8Array {
  const records = input.records;
  const baseTimestamp = input.baseTimestamp ??
    records.find((r) => r.timestamp !== undefined)?.timestamp ?? Date.now();

  // Pass 1: sizes, so the records are written into one exact buffer.
  const headerKeys: Uint8Array[][] = [];
  const bodySizes: number[] = [];
  let recordsSize = 0;
  let maxTimestamp = -1;
  let previousDelta = -1;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const timestamp = r.timestamp ?? baseTimestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = r.offsetDelta ?? i;
    if (!(offsetDelta > previousDelta)) {
      throw new RangeError(`record ${i} offset delta ${offsetDelta} does not increase`);
    }
    previousDelta = offsetDelta;
    const keys = r.headers === undefined || r.headers.length === 0
      ? NO_KEYS
      : r.headers.map((h) => utf8.encode(h.key));
    headerKeys.push(keys);
    let size = 1 + varlongSize(timestamp - baseTimestamp) + varintSize(offsetDelta) +
      bytesSize(r.key ?? null) + bytesSize(r.value) + varintSize(keys.length);
    for (let h = 0; h < keys.length; h++) {
      size += bytesSize(keys[h]) + bytesSize(r.headers![h].value);
    }
    bodySizes.push(size);
    recordsSize += varintSize(size) + size;
  }

  // Pass 2: the records; uncompressed, straight into the batch's buffer.
  const codec = input.compression ?? 0;
  const whole = codec === 0 ? new Uint8Array(RECORDS_AT + recordsSize) : undefined;
  let body: Uint8Array = whole ? whole.subarray(RECORDS_AT) : new Uint8Array(recordsSize);
  const w = new Writer(body);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    w.varint(bodySizes[i]);
    w.byte(0); // record attributes: unused
    w.varlong((r.timestamp ?? baseTimestamp) - baseTimestamp);
    w.varint(r.offsetDelta ?? i);
    w.bytes(r.key ?? null);
    w.bytes(r.value);
    const keys = headerKeys[i];
    w.varint(keys.length);
    for (let h = 0; h < keys.length; h++) {
      w.bytes(keys[h]);
      w.bytes(r.headers![h].value);
    }
  }

  if ((codec & ~COMPRESSION_MASK) !== 0) {
    throw new RangeError(`compression codec ${codec} is invalid`);
  }
  if (codec !== 0) body = compress(codec, body);

  let attributes = codec;
  if (input.transactional) attributes |= TRANSACTIONAL;
  if (input.logAppendTime !== undefined) {
    attributes |= TIMESTAMP_TYPE_LOG_APPEND;
    maxTimestamp = input.logAppendTime;
  }
  return assemble({
    baseOffset: input.baseOffset ?? 0n,
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? -1,
    attributes,
    lastOffsetDelta: input.lastOffsetDelta ?? Math.max(previousDelta, 0),
    baseTimestamp,
    maxTimestamp: records.length === 0 && input.logAppendTime === undefined
      ? baseTimestamp
      : maxTimestamp,
    producerId: input.producerId ?? -1n,
    producerEpoch: input.producerEpoch ?? -1,
    baseSequence: input.baseSequence ?? -1,
    recordCount: records.length,
    records: body,
  }, whole);
}

/**
 * Encodes a transaction marker: a control batch holding one COMMIT or ABORT
 * record, as the transaction coordinator writes it at the end of a
 * transaction. Consumers never deliver it; read_committed consumers use ABORT
 * markers to end a producer's aborted transaction.
 *
 * @param input The producer, the marker type and where it goes.
 * @returns The batch bytes.
 *
 * @example
 * ```ts
 * import { encodeControlBatch, encodeRecordBatch } from "./wire_batch.ts";
 * const data = encodeRecordBatch({
 *   records: [{ value: null }],
 *   producerId: 7n,
 *   producerEpoch: 0,
 *   transactional: true,
 * });
 * const marker = encodeControlBatch({ baseOffset: 1n, producerId: 7n, type: "abort" });
 * const fetched = new Uint8Array([...data, ...marker]);
 * fetched.length; // both batches, as a Fetch would return them
 * ```
 */
export function encodeControlBatch(input: ControlBatchInput): Uint8Array {
  const type = input.type === "abort" ? CONTROL_ABORT : CONTROL_COMMIT;
  const timestamp = input.timestamp ?? Date.now();
  // Key: version int16 (0), type int16. Value (EndTransactionMarker): version
  // int16 (0), coordinatorEpoch int32.
  const key = new Uint8Array([0, 0, (type >> 8) & 0xff, type & 0xff]);
  const value = new Uint8Array(6);
  new DataView(value.buffer).setInt32(2, input.coordinatorEpoch ?? 0);
  const batch = encodeRecordBatch({
    baseOffset: input.baseOffset ?? 0n,
    records: [{ key, value, timestamp }],
    producerId: input.producerId,
    producerEpoch: input.producerEpoch ?? 0,
    transactional: true,
  });
  // The control bit is set after encoding, so the CRC is recomputed.
  batch[ATTRIBUTES_AT + 1] |= CONTROL;
  new DataView(batch.buffer, batch.byteOffset).setUint32(CRC_AT, crc32c(batch, ATTRIBUTES_AT));
  return batch;
}

interface BatchFields {
  baseOffset: bigint;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  records: Uint8Array;
}

/** Writes the 61-byte header in front of the (possibly compressed) records and signs it. */
function assemble(f: BatchFields, inPlace?: Uint8Array): Uint8Array {
  // `inPlace` already holds the records after the header's room.
  const out = inPlace ?? new Uint8Array(RECORDS_AT + f.records.length);
  const view = new DataView(out.buffer);
  view.setBigInt64(0, f.baseOffset);
  view.setInt32(BATCH_LENGTH_AT, out.length - LOG_OVERHEAD);
  view.setInt32(PARTITION_LEADER_EPOCH_AT, f.partitionLeaderEpoch);
  view.setInt8(MAGIC_AT, MAGIC_V2);
  view.setInt16(ATTRIBUTES_AT, f.attributes);
  view.setInt32(LAST_OFFSET_DELTA_AT, f.lastOffsetDelta);
  view.setBigInt64(BASE_TIMESTAMP_AT, BigInt(f.baseTimestamp));
  view.setBigInt64(MAX_TIMESTAMP_AT, BigInt(f.maxTimestamp));
  view.setBigInt64(PRODUCER_ID_AT, f.producerId);
  view.setInt16(PRODUCER_EPOCH_AT, f.producerEpoch);
  view.setInt32(BASE_SEQUENCE_AT, f.baseSequence);
  view.setInt32(RECORD_COUNT_AT, f.recordCount);
  if (inPlace === undefined) out.set(f.records, RECORDS_AT);
  view.setUint32(CRC_AT, crc32c(out, ATTRIBUTES_AT));
  return out;
}

/** Sequential writer of the record fields into a buffer sized by pass 1. */
class Writer {
  #buf: Uint8Array;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  byte(b: number): void {
    this.#buf[this.#pos++] = b;
  }

  /** Zigzag varint of an int32. */
  varint(n: number): void {
    let u = ((n << 1) ^ (n >> 31)) >>> 0;
    while (u >= 0x80) {
      this.#buf[this.#pos++] = (u & 0x7f) | 0x80;
      u >>>= 7;
    }
    this.#buf[this.#pos++] = u;
  }

  /** Zigzag varlong of a safe integer. */
  varlong(n: number): void {
    let u = zigzagLong(n);
    while (u >= 0x80) {
      this.#buf[this.#pos++] = (u % 0x80) | 0x80;
      u = Math.floor(u / 0x80);
    }
    this.#buf[this.#pos++] = u;
  }

  /** Length-prefixed bytes; length -1 for null. */
  bytes(b: Uint8Array | null): void {
    if (b === null) {
      this.varint(-1);
      return;
    }
    this.varint(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }
}

function zigzagLong(n: number): number {
  if (!Number.isSafeInteger(n) || Math.abs(n) > 2 ** 51) {
    throw new RangeError(`timestamp delta ${n} is not an integer that fits a varlong here`);
  }
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function varintSize(n: number): number {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
    throw new RangeError(`${n} does not fit an int32 varint`);
  }
  const u = ((n << 1) ^ (n >> 31)) >>> 0;
  return u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5;
}

function varlongSize(n: number): number {
  let u = zigzagLong(n);
  let size = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 0x80);
    size++;
  }
  return size;
}

function bytesSize(b: Uint8Array | null): number {
  return b === null ? 1 : varintSize(b.length) + b.length;
}
