/**
 * The delivery path: from the fetch buffer to one {@linkcode RecordBatch}
 * for the reader — the stale-session checks around it, decoding,
 * `maxBatchRecords` pieces, the ticket its `ack()` reports to.
 *
 * Apart from consumer.ts because it is the per-batch hot path with its own
 * ordering rules (the session check before anything is taken from the
 * buffer, again right before handing over); the consumer's `pull()` keeps
 * the stream's life cycle (start, errors, close) around it. What is taken
 * and recorded as delivered goes through {@linkcode PartitionStates}.
 *
 * @module
 */

import type { ResolvedOptions } from "../config.ts";
import { decodeRecordBatches } from "../protocol/wire_batch.ts";
import type { FetchBuffer } from "./fetch_buffer.ts";
import type { AckTracker, Ticket } from "./offsets/ack_tracker.ts";
import type { PartitionStates } from "./partition_state.ts";
import { RecordBatch } from "./record_batch.ts";

/** What delivery needs of the group membership (classic or KIP-848). */
export interface FencedMembership {
  /**
   * When the member may have been fenced (lost, left, or no heartbeat
   * answered within the session timeout): gives the partitions up as lost
   * and returns that; else null.
   */
  loseIfFenced(where: string): Promise<void> | null;
}

/** What delivery reads and does outside itself. */
export interface DeliveryDeps {
  states: PartitionStates;
  buffer: FetchBuffer;
  tracker: AckTracker;
  opts: Pick<ResolvedOptions, "checkCrcs" | "maxBatchRecords">;
  signal: AbortSignal;
  /** Wakes the fetcher: the reader wants data. */
  wakeFetcher: () => void;
  /** The membership now (null in assign mode and before start-up). */
  membership: () => FencedMembership | null;
  /** Ends the consumer (a corrupt batch, a loss that failed). */
  fail: (error: Error) => void;
}

/** Turns buffered chunks into record batches for the reader. */
export class Delivery {
  readonly #d: DeliveryDeps;

  constructor(deps: DeliveryDeps) {
    this.#d = deps;
  }

  /**
   * One step of `pull()`: the next batch to hand over, or null when there
   * was none to hand over yet (waited for data, gave partitions up, the
   * chunk was stale or did not decode) and the caller should look again.
   */
  async next(): Promise<RecordBatch | null> {
    const { states, buffer } = this.#d;
    // Peek first: the session check below must run before anything of
    // the buffer is handed over (or dropped as stale).
    if (buffer.length === 0) {
      this.#d.wakeFetcher();
      await buffer.whenData(this.#d.signal);
      return null;
    }
    this.#d.wakeFetcher();
    // After a stall of the whole process, the group may have handed our
    // partitions to others: give them up before delivering anything.
    const loss = this.#d.membership()?.loseIfFenced("before a delivery");
    if (loss) {
      await loss;
      return null;
    }
    const next = states.takeDeliverable();
    if (!next) return null;
    const { chunk } = next;
    let records = chunk.records;
    if (records === undefined) {
      try {
        records = decodeRecordBatches(chunk.data, {
          topic: chunk.topic,
          partition: chunk.partition,
          fromOffset: chunk.fetchOffset,
          verifyCrc: this.#d.opts.checkCrcs,
          abortedTransactions: chunk.abortedTransactions,
        }).records;
      } catch (e) {
        this.#d.fail(e instanceof Error ? e : new Error(String(e)));
        return null;
      }
    }
    // maxBatchRecords: a longer batch goes out in pieces, the rest waits
    // in front of the buffer (its bytes still reserved).
    const max = this.#d.opts.maxBatchRecords;
    let nextOffset = chunk.nextOffset;
    let ticket: Ticket | null;
    if (max !== undefined && records.length > max) {
      const rest = records.slice(max);
      records = records.slice(0, max);
      nextOffset = records[max - 1].offset + 1n;
      ticket = states.deliveredPart(next, nextOffset, rest);
    } else {
      ticket = states.delivered(next, records.length > 0);
    }
    if (ticket === null) return null;
    // Again, right before handing over: a stall (SIGSTOP) between the
    // check above and here would otherwise deliver from a partition the
    // group gave away meanwhile (seen in a chaos run). The loss ends this
    // batch's incarnation, so nothing of it is committed; the new owner
    // reads it from the committed offset.
    const lateLoss = this.#d.membership()?.loseIfFenced("at a delivery");
    if (lateLoss) {
      await lateLoss;
      return null;
    }
    const tracker = this.#d.tracker;
    const delivered = ticket;
    return new RecordBatch({
      topic: chunk.topic,
      partition: chunk.partition,
      records,
      nextOffset,
      highWatermark: chunk.highWatermark,
      ack: (upTo) => this.#ack(tracker, delivered, upTo),
      signal: delivered.incarnation.signal,
    });
  }

  /**
   * `batch.ack()`: false when the batch's incarnation ended, or may have —
   * the membership was lost or left, or no heartbeat was answered within
   * `sessionTimeoutMs` (the group may have given the partition away). The
   * partitions are then given up as lost, so that false stays the truth.
   */
  #ack(tracker: AckTracker, ticket: Ticket, upTo?: bigint): boolean {
    const loss = this.#d.membership()?.loseIfFenced("by ack()");
    if (loss) {
      loss.catch((e) => this.#d.fail(e));
      return false;
    }
    return tracker.ack(ticket, upTo);
  }
}
