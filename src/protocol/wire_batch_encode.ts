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
import { RecordsWriter } from "./wire_records_writer.ts";
import {
  ATTRIBUTES_AT,
  COMPRESSION_MASK,
  CONTROL,
  CONTROL_ABORT,
  CONTROL_COMMIT,
  CRC_AT,
  RECORDS_AT,
  TIMESTAMP_TYPE_LOG_APPEND,
  TRANSACTIONAL,
} from "./wire_batch_format.ts";
import { type BatchFields, writeBatchHeader } from "./wire_batch_header.ts";

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
  const codec = input.compression ?? 0;
  if ((codec & ~COMPRESSION_MASK) !== 0) {
    throw new RangeError(`compression codec ${codec} is invalid`);
  }
  // Uncompressed, the records go straight after the header's room.
  const w = new RecordsWriter(64 * records.length, codec === 0 ? RECORDS_AT : 0);
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
    w.append(r, offsetDelta, timestamp - baseTimestamp);
  }
  let attributes = codec;
  if (input.transactional) attributes |= TRANSACTIONAL;
  if (input.logAppendTime !== undefined) {
    attributes |= TIMESTAMP_TYPE_LOG_APPEND;
    maxTimestamp = input.logAppendTime;
  }
  const fields: BatchFields = {
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
  };
  return codec === 0
    ? assembleBatch(fields, { inPlace: w.withHeadroom() })
    : assembleBatch(fields, { records: compress(codec, w.records()) });
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

/**
 * Writes the 61-byte header in front of the records and signs it (CRC32C):
 * either `records` (compressed or not), copied after a new header, or
 * `inPlace`, a buffer whose first 61 bytes are free and whose rest holds the
 * records already.
 *
 * @example
 * ```ts
 * import { assembleBatch } from "./wire_batch_encode.ts";
 * const batch = assembleBatch({
 *   baseOffset: 0n,
 *   partitionLeaderEpoch: -1,
 *   attributes: 0,
 *   lastOffsetDelta: 0,
 *   baseTimestamp: 0,
 *   maxTimestamp: 0,
 *   producerId: -1n,
 *   producerEpoch: -1,
 *   baseSequence: -1,
 *   recordCount: 0,
 * }, { records: new Uint8Array(0) });
 * batch.length; // 61
 * ```
 */
export function assembleBatch(
  f: BatchFields,
  body: { records: Uint8Array } | { inPlace: Uint8Array },
): Uint8Array {
  const out = "inPlace" in body ? body.inPlace : new Uint8Array(RECORDS_AT + body.records.length);
  if ("records" in body) out.set(body.records, RECORDS_AT);
  writeBatchHeader(out, f);
  return out;
}
