/**
 * Magic v2 record batches: decoding Fetch data into records, and encoding
 * batches for Produce and tests. The pieces live in sibling files; this is
 * the one place the rest of the library imports them from.
 *
 * @example Round trip
 * ```ts
 * import { decodeRecordBatches, encodeRecordBatch } from "./wire_batch.ts";
 * const enc = new TextEncoder();
 * const data = encodeRecordBatch({ baseOffset: 10n, records: [{ value: enc.encode("x") }] });
 * const { records } = decodeRecordBatches(data, { topic: "t", partition: 0 });
 * records[0].offset; // 10n
 * ```
 *
 * @module
 */

export type { KafkaRecord, RecordHeader } from "./record.ts";
export { EMPTY_HEADERS } from "./record.ts";
export {
  type AbortedTransaction,
  type DecodedRecords,
  type DecodeOptions,
  decodeRecordBatches,
  DEFAULT_MAX_BATCH_SIZE,
} from "./wire_batch_decode.ts";
export {
  type ControlBatchInput,
  encodeControlBatch,
  encodeRecordBatch,
  type RecordBatchInput,
  type RecordToEncode,
} from "./wire_batch_encode.ts";
