/**
 * Layout of a magic v2 record batch (KIP-98), shared by the decoder and the
 * encoder. Positions are byte offsets from the start of the batch.
 *
 * ```
 * baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 |
 * crc uint32 | attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 |
 * maxTimestamp int64 | producerId int64 | producerEpoch int16 | baseSequence int32 |
 * recordCount int32 | records…
 * ```
 *
 * `batchLength` counts the bytes after itself; the CRC (Castagnoli) covers
 * `attributes` through the end of the batch.
 *
 * @module
 */

/** Position of `baseOffset` (int64). */
export const BASE_OFFSET_AT = 0;
/** Position of `batchLength` (int32). */
export const BATCH_LENGTH_AT = 8;
/** Bytes before the part that `batchLength` counts (baseOffset + batchLength). */
export const LOG_OVERHEAD = 12;
/** Position of `partitionLeaderEpoch` (int32). */
export const PARTITION_LEADER_EPOCH_AT = 12;
/** Position of `magic` (int8); at the same place in the v0/v1 message format. */
export const MAGIC_AT = 16;
/** Bytes needed to see the magic byte. */
export const HEADER_SIZE_UP_TO_MAGIC = 17;
/** Position of `crc` (uint32). */
export const CRC_AT = 17;
/** Position of `attributes` (int16); the CRC starts here. */
export const ATTRIBUTES_AT = 21;
/** Position of `lastOffsetDelta` (int32). */
export const LAST_OFFSET_DELTA_AT = 23;
/** Position of `baseTimestamp` (int64). */
export const BASE_TIMESTAMP_AT = 27;
/** Position of `maxTimestamp` (int64). */
export const MAX_TIMESTAMP_AT = 35;
/** Position of `producerId` (int64). */
export const PRODUCER_ID_AT = 43;
/** Position of `producerEpoch` (int16). */
export const PRODUCER_EPOCH_AT = 51;
/** Position of `baseSequence` (int32). */
export const BASE_SEQUENCE_AT = 53;
/** Position of `recordCount` (int32). */
export const RECORD_COUNT_AT = 57;
/** Size of the batch header; records start here. */
export const RECORDS_AT = 61;
/** Smallest valid `batchLength`: a header with no records. */
export const MIN_BATCH_LENGTH = RECORDS_AT - LOG_OVERHEAD;

/** The only record format Kafka 4 reads and writes. */
export const MAGIC_V2 = 2;

/** Attribute bits 0-2: the compression codec id. */
export const COMPRESSION_MASK = 0x07;
/** Attribute bit 3: timestamps are the broker's log-append time (the batch's maxTimestamp). */
export const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
/** Attribute bit 4: the batch belongs to a transaction. */
export const TRANSACTIONAL = 0x10;
/** Attribute bit 5: the batch holds a control record (commit/abort marker). */
export const CONTROL = 0x20;

/** Control record type: the transaction was aborted. */
export const CONTROL_ABORT = 0;
/** Control record type: the transaction was committed. */
export const CONTROL_COMMIT = 1;

/** `producerId` of a batch written without an idempotent/transactional producer. */
export const NO_PRODUCER_ID: bigint = -1n;

/** Smallest possible encoded record: seven one-byte fields, no key, value or headers. */
export const MIN_RECORD_SIZE = 7;
