/**
 * A header-only walk over Fetch data: where the next fetch starts, without
 * checking CRCs, decompressing or building records. The fetcher uses it to
 * keep fetching ahead while the full decode waits until the reader asks for
 * the data (so a stalled reader costs bytes, not record objects).
 *
 * @module
 */

import {
  BASE_OFFSET_AT,
  BATCH_LENGTH_AT,
  LAST_OFFSET_DELTA_AT,
  LOG_OVERHEAD,
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_AT,
} from "./wire_batch_format.ts";

/** What {@linkcode scanRecordBatches} found. */
export interface BatchScan {
  /** One past the last offset of the last complete batch; null when none is complete. */
  nextOffset: bigint | null;
  /** Bytes of the first batch when not even one was complete (to raise the fetch size), else null. */
  firstBatchSize: number | null;
  /** Partition leader epoch of the last complete batch (the next Fetch's lastFetchedEpoch); -1 when none. */
  lastEpoch: number;
}

/**
 * Walks the batch headers of `data`. Stops at the first incomplete batch (the
 * broker's size limit cut it) or at a header that cannot be right (the full
 * decode reports that one with a {@linkcode CorruptDataError}).
 */
export function scanRecordBatches(data: Uint8Array): BatchScan {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let nextOffset: bigint | null = null;
  let lastEpoch = -1;
  while (data.length - pos >= LOG_OVERHEAD) {
    const length = view.getInt32(pos + BATCH_LENGTH_AT);
    if (length < MIN_BATCH_LENGTH) break;
    if (data.length - pos - LOG_OVERHEAD < length) {
      return {
        nextOffset,
        firstBatchSize: nextOffset === null ? LOG_OVERHEAD + length : null,
        lastEpoch,
      };
    }
    const base = view.getBigInt64(pos + BASE_OFFSET_AT);
    const lastDelta = view.getInt32(pos + LAST_OFFSET_DELTA_AT);
    nextOffset = base + BigInt(lastDelta) + 1n;
    lastEpoch = view.getInt32(pos + PARTITION_LEADER_EPOCH_AT);
    pos += LOG_OVERHEAD + length;
  }
  return { nextOffset, firstBatchSize: null, lastEpoch };
}
