/**
 * The unit the consumer's stream yields: one partition's records from one
 * Fetch response.
 *
 * @module
 */

import type { KafkaRecord } from "../protocol/record.ts";

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

  /** Created by the consumer; applications receive batches from the stream. */
  constructor(
    topic: string,
    partition: number,
    records: readonly KafkaRecord[],
    nextOffset: bigint,
    highWatermark: bigint,
    ack: () => boolean,
  ) {
    this.topic = topic;
    this.partition = partition;
    this.records = records;
    this.nextOffset = nextOffset;
    this.highWatermark = highWatermark;
    this.#ack = ack;
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
