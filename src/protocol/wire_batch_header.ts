/**
 * The 61-byte header of a magic v2 record batch as named fields: written by
 * the encoder and the producer ({@linkcode writeBatchHeader}), read back by
 * the embedded cluster's log ({@linkcode readBatchHeader}). The consumer's
 * decoder reads the few fields it needs in place instead (no object per
 * batch on its hot path); wire_batch_format.ts holds the positions.
 *
 * @module
 */

import { crc32c } from "./crc32c.ts";
import {
  ATTRIBUTES_AT,
  BASE_OFFSET_AT,
  BASE_SEQUENCE_AT,
  BASE_TIMESTAMP_AT,
  BATCH_LENGTH_AT,
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
} from "./wire_batch_format.ts";

/** The header fields of a record batch (everything but the records and the CRC). */
export interface BatchFields {
  /** Offset of the first record; brokers overwrite it on Produce. */
  baseOffset: bigint;
  /** Leader epoch; -1 from a producer. */
  partitionLeaderEpoch: number;
  /** Codec, timestamp type, transactional and control bits. */
  attributes: number;
  /** Offset delta of the last record. */
  lastOffsetDelta: number;
  /** Timestamp the records' deltas are relative to. */
  baseTimestamp: number;
  /** Largest record timestamp (or the log append time). */
  maxTimestamp: number;
  /** Producer id; -1 for none. */
  producerId: bigint;
  /** Producer epoch; -1 for none. */
  producerEpoch: number;
  /** Sequence of the first record; -1 for none. */
  baseSequence: number;
  /** Records in the batch. */
  recordCount: number;
}

/** A batch header as read back: the fields plus the framing and checksum a reader checks. */
export interface BatchHeader extends BatchFields {
  /** Bytes after the length field: the whole batch is `LOG_OVERHEAD` + this. */
  batchLength: number;
  /** Record format version (2 for every batch Kafka 4 writes). */
  magic: number;
  /** The stored CRC32C of `attributes` through the end of the batch. */
  crc: number;
}

/**
 * Writes the header at the start of `batch`, whose records already follow
 * it (from byte 61 to the end), and signs the batch (CRC32C).
 *
 * @example
 * ```ts
 * import { readBatchHeader, writeBatchHeader } from "./wire_batch_header.ts";
 * const batch = new Uint8Array(61);
 * writeBatchHeader(batch, {
 *   baseOffset: 5n,
 *   partitionLeaderEpoch: -1,
 *   attributes: 0,
 *   lastOffsetDelta: 0,
 *   baseTimestamp: 0,
 *   maxTimestamp: 0,
 *   producerId: -1n,
 *   producerEpoch: -1,
 *   baseSequence: -1,
 *   recordCount: 0,
 * });
 * readBatchHeader(batch).baseOffset; // 5n
 * ```
 */
export function writeBatchHeader(batch: Uint8Array, f: BatchFields): void {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setBigInt64(BASE_OFFSET_AT, f.baseOffset);
  view.setInt32(BATCH_LENGTH_AT, batch.length - LOG_OVERHEAD);
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
  view.setUint32(CRC_AT, crc32c(batch, ATTRIBUTES_AT));
}

/**
 * Reads the header of the batch at `at` in `data` as it stands, checking
 * nothing (the caller checks length, magic and CRC as it needs). Timestamps
 * come back as numbers, exact below 2^53 ms as every real one is.
 *
 * @throws {RangeError} When fewer than 61 bytes follow `at`.
 */
export function readBatchHeader(data: Uint8Array, at = 0): BatchHeader {
  const view = new DataView(data.buffer, data.byteOffset + at, data.byteLength - at);
  return {
    baseOffset: view.getBigInt64(BASE_OFFSET_AT),
    batchLength: view.getInt32(BATCH_LENGTH_AT),
    partitionLeaderEpoch: view.getInt32(PARTITION_LEADER_EPOCH_AT),
    magic: view.getInt8(MAGIC_AT),
    crc: view.getUint32(CRC_AT),
    attributes: view.getInt16(ATTRIBUTES_AT),
    lastOffsetDelta: view.getInt32(LAST_OFFSET_DELTA_AT),
    baseTimestamp: Number(view.getBigInt64(BASE_TIMESTAMP_AT)),
    maxTimestamp: Number(view.getBigInt64(MAX_TIMESTAMP_AT)),
    producerId: view.getBigInt64(PRODUCER_ID_AT),
    producerEpoch: view.getInt16(PRODUCER_EPOCH_AT),
    baseSequence: view.getInt32(BASE_SEQUENCE_AT),
    recordCount: view.getInt32(RECORD_COUNT_AT),
  };
}
