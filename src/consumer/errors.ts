/**
 * Errors of the consumer itself (beyond broker error codes and bad bytes).
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";

/**
 * The partition's log was truncated below the consumer's position: records
 * it had fetched (and maybe delivered and committed) are gone from the
 * leader, typically after an unclean leader election (KIP-320). Raised only
 * with `autoOffsetReset: "none"`; otherwise the consumer resumes at
 * `divergentOffset`, as Kafka's Java consumer does, and logs a warning.
 *
 * @example
 * ```ts
 * import { Consumer, LogTruncationError } from "@sluice/kafka";
 *
 * const consumer = new Consumer({
 *   brokers: ["127.0.0.1:9092"],
 *   assign: [{ topic: "orders", partition: 0 }],
 *   autoOffsetReset: "none",
 * });
 * try {
 *   for await (const batch of consumer) batch.ack();
 * } catch (e) {
 *   if (e instanceof LogTruncationError) {
 *     console.error(`re-read ${e.topic}-${e.partition} from ${e.divergentOffset}`);
 *   }
 * }
 * ```
 */
export class LogTruncationError extends KafkaError {
  /** Topic. */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
  /** The consumer's fetch position when the divergence was found. */
  readonly position: bigint;
  /** The first offset at which the consumer's copy and the leader's log differ. */
  readonly divergentOffset: bigint;

  /** Creates the error for a partition, its position and the divergent offset. */
  constructor(topic: string, partition: number, position: bigint, divergentOffset: bigint) {
    super(
      `The log of ${topic}-${partition} was truncated below the consumer's position ${position}: ` +
        `records from offset ${divergentOffset} on are no longer what was fetched (an unclean ` +
        `leader election?). With autoOffsetReset "none" the consumer stops here; seek() to ` +
        `${divergentOffset} to re-read what the leader has now, or set autoOffsetReset to resume there.`,
    );
    this.topic = topic;
    this.partition = partition;
    this.position = position;
    this.divergentOffset = divergentOffset;
  }
}
