/**
 * The unit the consumer's stream yields: one partition's records from one
 * Fetch response.
 *
 * @module
 */

import type { KafkaRecord } from "../protocol/record.ts";

/** What a {@linkcode RecordBatch} is made of. */
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
  /** What {@linkcode RecordBatch.ack} does: true when the ack counts toward a commit. */
  ack: () => boolean;
}

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
  readonly #ack: () => boolean;

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
    this.#ack = init.ack;
  }

  /**
   * Marks the batch processed. Returns true when it will count toward a
   * commit; false when the partition was revoked, lost or seeked since
   * delivery (the ack is fenced and ignored; the records will be delivered
   * again, to this consumer or another, from the committed offset).
   */
  ack(): boolean {
    return this.#ack();
  }
}
