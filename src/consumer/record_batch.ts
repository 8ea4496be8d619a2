/**
 * The unit the consumer's stream yields: one partition's records from one
 * Fetch response.
 *
 * @module
 */

import type { KafkaRecord } from "../protocol/record.ts";

/**
 * What a {@linkcode RecordBatch} is made of: to build one in a handler's
 * test.
 *
 * @example
 * ```ts
 * import { RecordBatch, type RecordBatchInit } from "@sluice/kafka";
 * const init: RecordBatchInit = {
 *   topic: "orders",
 *   partition: 0,
 *   records: [],
 *   nextOffset: 0n,
 *   highWatermark: 0n,
 *   ack: () => true,
 * };
 * new RecordBatch(init).ack(); // true
 * ```
 */
export interface RecordBatchInit {
  /** Topic of every record. */
  topic: string;
  /** Partition of every record. */
  partition: number;
  /** The records, in offset order. */
  records: readonly KafkaRecord[];
  /** One past the last offset the batch covers. */
  nextOffset: bigint;
  /** The partition's high watermark when the batch was fetched. */
  highWatermark: bigint;
  /**
   * What {@linkcode RecordBatch.ack} does: true when the ack counts toward a
   * commit. `upTo`, when given, is one past the last acknowledged offset of
   * a partial ack (below `nextOffset`).
   */
  ack: (upTo?: bigint) => boolean;
  /** Aborted when the batch's partition is revoked, lost, seeked or closed. @default {never aborted} */
  signal?: AbortSignal;
}

const NEVER: AbortSignal = new AbortController().signal;

/**
 * One partition's records from one Fetch response (possibly several wire
 * batches), in offset order, control records removed, never empty.
 * Acknowledge it with {@linkcode RecordBatch.ack} once processed: the
 * consumer commits the `nextOffset` of the longest acknowledged prefix.
 *
 * @example
 * ```ts
 * import type { RecordBatch } from "@sluice/kafka";
 * function handle(batch: RecordBatch): void {
 *   for (const record of batch.records) {
 *     console.log(batch.topic, batch.partition, record.offset);
 *   }
 *   batch.ack();
 * }
 * ```
 */
export class RecordBatch {
  /** Topic of every record in the batch. */
  readonly topic: string;
  /** Partition of every record in the batch. */
  readonly partition: number;
  /** The records, in offset order; never empty. */
  readonly records: readonly KafkaRecord[];
  /**
   * One past the last offset this batch covers: past trailing control
   * records, aborted records and compaction gaps too. Committed once this
   * batch and all before it are acknowledged.
   */
  readonly nextOffset: bigint;
  /** The partition's high watermark when the batch was fetched. */
  readonly highWatermark: bigint;
  /**
   * Aborted when this batch's partition is revoked, lost, seeked or the
   * consumer closes: its acks no longer count, so long work on its records
   * may stop (its `reason` says why).
   */
  readonly signal: AbortSignal;
  readonly #ack: (upTo?: bigint) => boolean;

  /**
   * Created by the consumer; applications receive batches from the stream.
   * A test of a handler may build one, with its own `ack`.
   *
   * @example
   * ```ts
   * import { RecordBatch } from "@sluice/kafka";
   * let acked = false;
   * const batch = new RecordBatch({
   *   topic: "orders",
   *   partition: 0,
   *   records: [],
   *   nextOffset: 10n,
   *   highWatermark: 10n,
   *   ack: () => acked = true,
   * });
   * batch.ack(); // true
   * ```
   */
  constructor(init: RecordBatchInit) {
    this.topic = init.topic;
    this.partition = init.partition;
    this.records = init.records;
    this.nextOffset = init.nextOffset;
    this.highWatermark = init.highWatermark;
    this.signal = init.signal ?? NEVER;
    this.#ack = init.ack;
  }

  /**
   * Marks the batch processed — or with `upTo`, its records up to and
   * including `upTo` (one of this batch's records, or an offset from the
   * first record's up to `nextOffset`, exclusive). Acknowledging the last
   * record is the same as `ack()`: the commit then passes trailing control
   * records too. The consumer commits one past the longest acknowledged
   * prefix, which may end inside a batch; a lower or repeated call changes
   * nothing.
   *
   * Returns true when it will count toward a commit; false when the
   * partition was revoked, lost or seeked since delivery (the ack is fenced
   * and ignored; the records will be delivered again, to this consumer or
   * another, from the committed offset).
   *
   * @param upTo The last record acknowledged (a record of this batch or its offset).
   * @throws {TypeError} When `upTo` is a record of another batch.
   * @throws {RangeError} When `upTo` is an offset outside the batch.
   *
   * @example
   * ```ts
   * import type { RecordBatch } from "@sluice/kafka";
   * async function handle(batch: RecordBatch, store: (v: Uint8Array | null) => Promise<boolean>) {
   *   for (const record of batch.records) {
   *     if (!(await store(record.value))) break; // the rest is delivered again
   *     batch.ack(record); // committed up to here, even if the process dies next
   *   }
   * }
   * ```
   */
  ack(upTo?: KafkaRecord | bigint): boolean {
    if (upTo === undefined) return this.#ack();
    return this.#ack(this.#partEnd(upTo));
  }

  /** One past the last offset `upTo` acknowledges (`nextOffset` for the last record). */
  #partEnd(upTo: KafkaRecord | bigint): bigint {
    const records = this.records;
    let offset: bigint;
    if (typeof upTo === "bigint") {
      const first = records[0]?.offset ?? this.nextOffset;
      if (upTo < first || upTo >= this.nextOffset) {
        throw new RangeError(
          `ack(upTo): offset ${upTo} is outside this batch of ${this.topic}/${this.partition} ` +
            `(${first} up to ${this.nextOffset}, exclusive)`,
        );
      }
      offset = upTo;
    } else {
      const i = typeof upTo === "object" && upTo !== null && typeof upTo.offset === "bigint"
        ? indexOfOffset(records, upTo.offset)
        : -1;
      if (i < 0 || records[i] !== upTo) {
        throw new TypeError(
          `ack(upTo): not a record of this batch of ${this.topic}/${this.partition}; ` +
            "acknowledge a record through the batch that delivered it",
        );
      }
      offset = upTo.offset;
    }
    const last = records[records.length - 1].offset;
    return offset >= last ? this.nextOffset : offset + 1n;
  }
}

/** Index of the record with `offset` (records are in offset order), or -1. */
function indexOfOffset(records: readonly KafkaRecord[], offset: bigint): number {
  let lo = 0;
  let hi = records.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const o = records[mid].offset;
    if (o === offset) return mid;
    if (o < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
