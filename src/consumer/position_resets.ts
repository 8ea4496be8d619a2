/**
 * What the consumer does when the fetcher finds a partition's position gone
 * from the leader's log: OFFSET_OUT_OF_RANGE (reset per autoOffsetReset) and
 * KIP-320 log truncation (resume at the divergent offset); with
 * autoOffsetReset "none", both end the consumer.
 *
 * Apart from consumer.ts because these are the consumer's policy answers to
 * the fetcher's {@linkcode FetcherHooks}; the moves themselves are
 * {@linkcode PartitionStates} transitions (resetTo, truncateTo).
 *
 * @module
 */

import type { ResolvedOptions } from "../config.ts";
import { KafkaProtocolError } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { LogTruncationError } from "./errors.ts";
import type { FetcherHooks } from "./fetcher.ts";
import type { OffsetLookups } from "./offset_lookups.ts";
import type { PartitionStates, PartitionView } from "./partition_state.ts";

/** What the position resets read and do outside themselves. */
export interface PositionResetsDeps {
  states: PartitionStates;
  offsets: OffsetLookups;
  opts: Pick<ResolvedOptions, "autoOffsetReset" | "logger">;
  /** Ends the consumer (autoOffsetReset "none"). */
  fail: (error: Error) => void;
}

/** The reset policy applied to positions the log no longer has. */
export class PositionResets implements Pick<FetcherHooks, "outOfRange" | "truncated"> {
  readonly #d: PositionResetsDeps;

  constructor(deps: PositionResetsDeps) {
    this.#d = deps;
  }

  /** OFFSET_OUT_OF_RANGE: move to the earliest or latest offset, or fail with "none". */
  async outOfRange(c: PartitionView): Promise<void> {
    const { states, opts } = this.#d;
    const tp = { topic: c.topic, partition: c.partition };
    if (opts.autoOffsetReset === "none") {
      this.#d.fail(
        KafkaProtocolError.from(ErrorCode.OFFSET_OUT_OF_RANGE, { apiName: "Fetch", ...tp }),
      );
      return;
    }
    const offset = await this.#d.offsets.list(tp, opts.autoOffsetReset);
    opts.logger.warn("offset out of range; reset", { ...tp, from: c.position, to: offset });
    // Revoked or re-assigned during the lookup: that state's own position stands.
    if (states.get(tp) !== c) return;
    states.resetTo(tp, offset);
  }

  /**
   * KIP-320: the leader's log no longer holds what was fetched from
   * `divergentOffset` on. As Kafka's Java consumer: with a reset policy,
   * resume at the divergent offset (a new incarnation: acks of batches
   * delivered from the lost history are fenced); with "none", fail.
   */
  truncated(c: PartitionView, divergentOffset: bigint): void {
    const { states, opts } = this.#d;
    const tp = { topic: c.topic, partition: c.partition };
    if (opts.autoOffsetReset === "none") {
      this.#d.fail(new LogTruncationError(c.topic, c.partition, c.position, divergentOffset));
      return;
    }
    opts.logger.warn("log truncation detected; resuming at the divergent offset", {
      ...tp,
      from: c.position,
      to: divergentOffset,
    });
    states.truncateTo(tp, divergentOffset);
  }
}
