/**
 * ListOffsets as the consumer asks it: with its isolation level, its stop
 * signal and its retry backoff, so each caller names only the partition and
 * what to look for.
 *
 * Apart from consumer.ts because `seek()`, the offset calls
 * (`beginningOffsets` / `endOffsets` / `offsetsForTimes`), the start
 * positions of both modes and the out-of-range reset all ask the same way;
 * the reset policy for "nothing committed" (autoOffsetReset) lives here too.
 *
 * @module
 */

import type { ResolvedOptions, TopicPartition } from "../config.ts";
import type { Cluster } from "../net/cluster.ts";
import { KafkaError } from "../protocol/errors.ts";
import { listOffset, lookupOffset, type OffsetQuery } from "./offsets/list_offsets.ts";

/** Offset lookups bound to one consumer's settings. */
export class OffsetLookups {
  readonly #cluster: Cluster;
  readonly #opts: Pick<ResolvedOptions, "isolationLevel" | "retryBackoff" | "autoOffsetReset">;
  readonly #signal: AbortSignal;

  constructor(
    cluster: Cluster,
    opts: Pick<ResolvedOptions, "isolationLevel" | "retryBackoff" | "autoOffsetReset">,
    signal: AbortSignal,
  ) {
    this.#cluster = cluster;
    this.#opts = opts;
    this.#signal = signal;
  }

  /** ListOffsets' isolation level: 1 under read_committed (ends are last stable offsets). */
  isolation(): 0 | 1 {
    return this.#opts.isolationLevel === "read_committed" ? 1 : 0;
  }

  /** The offset of `query` (a timestamp past the last record: the log end). */
  list(tp: TopicPartition, query: OffsetQuery): Promise<bigint> {
    return listOffset(...this.#args(tp, query));
  }

  /** As {@linkcode OffsetLookups.list}, but null when no record is at or after a timestamp. */
  find(tp: TopicPartition, query: OffsetQuery): Promise<bigint | null> {
    return lookupOffset(...this.#args(tp, query));
  }

  /** The arguments of listOffset / lookupOffset for this consumer. */
  #args(tp: TopicPartition, query: OffsetQuery) {
    return [
      this.#cluster,
      tp.topic,
      tp.partition,
      query,
      this.isolation(),
      this.#signal,
      this.#opts.retryBackoff,
    ] as const;
  }

  /**
   * The offset of each query, in parallel (the public offset calls); with
   * `nullWhenNone`, null where no record is that late.
   */
  async lookup(
    queries: [TopicPartition, OffsetQuery][],
    nullWhenNone = false,
  ): Promise<(TopicPartition & { offset: bigint })[]> {
    return await Promise.all(queries.map(async ([tp, query]) => {
      const offset = nullWhenNone ? await this.find(tp, query) : await this.list(tp, query);
      return { topic: tp.topic, partition: tp.partition, offset: offset as bigint };
    }));
  }

  /** The start position when nothing is committed: per autoOffsetReset. */
  async resetPosition(tp: TopicPartition): Promise<bigint> {
    const reset = this.#opts.autoOffsetReset;
    if (reset === "none") {
      throw new KafkaError(
        `No committed offset for ${tp.topic}/${tp.partition} and autoOffsetReset is "none": ` +
          `commit a start offset for the group, or set autoOffsetReset to "earliest" or "latest"`,
      );
    }
    return await this.list(tp, reset);
  }
}
