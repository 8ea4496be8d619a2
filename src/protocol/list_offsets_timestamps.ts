/**
 * The special timestamps a ListOffsets request may ask for instead of a
 * time, and the first version that may ask for each (below it Kafka answers
 * UNSUPPORTED_VERSION for that partition). Protocol facts the generated
 * declaration cannot carry (they are values, not fields).
 *
 * @module
 */

/**
 * Special ListOffsets timestamps.
 *
 * @example
 * ```ts
 * import { ListOffsetsTimestamp } from "./list_offsets_timestamps.ts";
 * ListOffsetsTimestamp.EARLIEST; // -2n: the log start offset
 * ```
 */
export const ListOffsetsTimestamp = {
  /** The log end offset (the last stable offset under read_committed). */
  LATEST: -1n,
  /** The log start offset. */
  EARLIEST: -2n,
  /** The offset of the record with the largest timestamp (KIP-734). */
  MAX_TIMESTAMP: -3n,
  /** The local log start offset, with tiered storage (KIP-405). */
  EARLIEST_LOCAL: -4n,
  /** The highest offset in tiered storage (KIP-1005). */
  LATEST_TIERED: -5n,
  /** The earliest offset not yet uploaded to tiered storage (KIP-1023). */
  EARLIEST_PENDING_UPLOAD: -6n,
} as const;

/**
 * The first ListOffsets version that may ask for a special timestamp;
 * LATEST and EARLIEST exist in every version.
 *
 * @example
 * ```ts
 * import { LIST_OFFSETS_TIMESTAMP_SINCE, ListOffsetsTimestamp } from "./list_offsets_timestamps.ts";
 * LIST_OFFSETS_TIMESTAMP_SINCE.get(ListOffsetsTimestamp.MAX_TIMESTAMP); // 7
 * ```
 */
export const LIST_OFFSETS_TIMESTAMP_SINCE: ReadonlyMap<bigint, number> = new Map([
  [ListOffsetsTimestamp.MAX_TIMESTAMP, 7],
  [ListOffsetsTimestamp.EARLIEST_LOCAL, 8],
  [ListOffsetsTimestamp.LATEST_TIERED, 9],
  [ListOffsetsTimestamp.EARLIEST_PENDING_UPLOAD, 11],
]);
