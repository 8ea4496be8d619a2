/**
 * Idempotent producer state of one partition of the embedded cluster, kept
 * as Kafka's broker keeps it (ProducerStateManager, ProducerStateEntry,
 * ProducerAppendInfo): per producer id, the producer epoch and the metadata
 * of the last {@linkcode BATCHES_TO_RETAIN} batches appended. A batch whose
 * epoch and sequence range equal one of those is a retry of it: the broker
 * answers with where the first copy went and appends nothing. Otherwise its
 * epoch and first sequence must follow on from what is stored.
 *
 * The rules, as Kafka 4.x applies them to a client's Produce (checked in its
 * source, storage/.../log/ProducerAppendInfo.java and UnifiedLog.java):
 *
 * - duplicate first: same epoch as stored and the same (first, last)
 *   sequence as one of the cached batches;
 * - an epoch below the stored one: INVALID_PRODUCER_EPOCH (since Kafka 2.7
 *   for every producer, idempotent or transactional; PRODUCER_FENCED is for
 *   the transaction coordinator);
 * - another epoch (a bump): the first sequence must be 0, else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER; the cached batches are dropped;
 * - the same epoch: the first sequence must be the last one stored plus 1
 *   (after 2147483647 comes 0), else OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - a producer id the partition has no state for: any sequence is taken.
 *   Kafka stopped answering UNKNOWN_PRODUCER_ID in 2.5 (KIP-360): state can
 *   vanish with retention or DeleteRecords while the producer is alive, so
 *   the broker starts over from whatever comes. (Kafka 4.x insists on 0
 *   only for transactions v2 producers whose partition was verified with
 *   the transaction coordinator, which the embedded cluster does not have.)
 *
 * @module
 */

import { ErrorCode } from "../protocol/error_codes.ts";

const { OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH } = ErrorCode;

/** How many recent batches per producer are kept to recognise retries (Kafka's NUM_BATCHES_TO_RETAIN). */
export const BATCHES_TO_RETAIN = 5;

/** Sequence numbers are int32 and wrap: after this comes 0. */
const MAX_SEQUENCE = 0x7fffffff;

/** What the broker remembers of one appended batch. */
export interface BatchMetadata {
  /** Sequence number of its first record. */
  readonly firstSeq: number;
  /** Sequence number of its last record. */
  readonly lastSeq: number;
  /** Offset of its first record. */
  readonly firstOffset: bigint;
  /** Offset of its last record. */
  readonly lastOffset: bigint;
  /** Its max timestamp (Kafka answers a duplicate with it as the log append time). */
  readonly timestamp: bigint;
}

/** An idempotent data batch (producer id >= 0, base sequence >= 0) with the offsets it gets. */
export interface IdempotentBatch extends BatchMetadata {
  /** Producer id. */
  readonly producerId: bigint;
  /** Producer epoch. */
  readonly producerEpoch: number;
}

/** The verdict of {@linkcode ProducerStates.check} on the idempotent batches of one append. */
export type ProducerCheck =
  /** Append them, then call `commit` to record them. */
  | { readonly kind: "accepted"; readonly commit: () => void }
  /** A retry of a recent batch: append nothing, answer with `batch`. */
  | { readonly kind: "duplicate"; readonly batch: BatchMetadata }
  /** Refused with a Kafka error code. */
  | { readonly kind: "rejected"; readonly errorCode: number; readonly message: string };

/**
 * The last sequence of a batch from its first sequence and last offset
 * delta, wrapping past 2147483647 to 0 as producers do.
 */
export function lastSequence(firstSeq: number, lastOffsetDelta: number): number {
  return (firstSeq + lastOffsetDelta) % (MAX_SEQUENCE + 1);
}

/** True when `next` is the sequence right after `last` (0 after the largest int32). */
function inSequence(last: number, next: number): boolean {
  return next === last + 1 || (last === MAX_SEQUENCE && next === 0);
}

/** One producer's state: the epoch of its last batch and its last batches, oldest first. */
interface MutableEntry {
  epoch: number;
  batches: BatchMetadata[];
}

/** The idempotent producer state of one partition. */
export class ProducerStates {
  readonly #entries = new Map<bigint, MutableEntry>();

  /**
   * Checks the idempotent batches of one append, in log order. As in Kafka,
   * each is first compared with the stored state only (a retry of any of
   * them makes the whole append a duplicate), then validated against the
   * stored state updated by the batches before it in the same append.
   * Nothing changes until `commit` of an accepted verdict is called.
   */
  check(batches: readonly IdempotentBatch[]): ProducerCheck {
    const draft = new Map<bigint, MutableEntry>();
    for (const b of batches) {
      const stored = this.#entries.get(b.producerId);
      const duplicate = stored === undefined ? undefined : findDuplicate(stored, b);
      if (duplicate !== undefined) return { kind: "duplicate", batch: duplicate };
      const current = draft.get(b.producerId) ?? copyOf(stored);
      const refusal = validate(stored !== undefined, current, b);
      if (refusal !== undefined) return { kind: "rejected", ...refusal };
      addBatch(current, b);
      draft.set(b.producerId, current);
    }
    return {
      kind: "accepted",
      commit: () => {
        for (const [id, entry] of draft) this.#entries.set(id, entry);
      },
    };
  }

  /**
   * Records a batch already in the log without checking it: rebuilding the
   * state from the log after a truncation, as Kafka reloads it.
   */
  record(batch: IdempotentBatch): void {
    let entry = this.#entries.get(batch.producerId);
    if (entry === undefined) {
      entry = { epoch: batch.producerEpoch, batches: [] };
      this.#entries.set(batch.producerId, entry);
    }
    addBatch(entry, batch);
  }

  /** Forgets every producer. */
  clear(): void {
    this.#entries.clear();
  }
}

/** The cached batch `b` repeats (same epoch, same sequence range), if any. */
function findDuplicate(entry: MutableEntry, b: IdempotentBatch): BatchMetadata | undefined {
  if (entry.epoch !== b.producerEpoch) return undefined;
  return entry.batches.find((m) => m.firstSeq === b.firstSeq && m.lastSeq === b.lastSeq);
}

/** A working copy of a stored entry (an empty one, epoch -1, when there is none). */
function copyOf(entry: MutableEntry | undefined): MutableEntry {
  return entry === undefined
    ? { epoch: -1, batches: [] }
    : { epoch: entry.epoch, batches: [...entry.batches] };
}

/**
 * Why `b` may not follow `current`, or undefined when it may. `known`: the
 * partition had state for the producer before this append; without it any
 * sequence is taken (see the module comment).
 */
function validate(
  known: boolean,
  current: MutableEntry,
  b: IdempotentBatch,
): { errorCode: number; message: string } | undefined {
  const who = `producer ${b.producerId}`;
  if (b.producerEpoch < current.epoch) {
    return {
      errorCode: INVALID_PRODUCER_EPOCH,
      message:
        `Epoch ${b.producerEpoch} of ${who} is older than the last seen epoch ${current.epoch}`,
    };
  }
  if (b.producerEpoch !== current.epoch) {
    if (b.firstSeq === 0 || current.epoch === -1) return undefined;
    return {
      errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: `New epoch ${b.producerEpoch} of ${who} starts at sequence ${b.firstSeq}, ` +
        `not 0 (current epoch ${current.epoch})`,
    };
  }
  const last = current.batches.at(-1)?.lastSeq ?? -1;
  if (!known || inSequence(last, b.firstSeq)) return undefined;
  return {
    errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER,
    message: `Out of order sequence for ${who} epoch ${b.producerEpoch}: ` +
      `got ${b.firstSeq}, expected ${last === MAX_SEQUENCE ? 0 : last + 1}`,
  };
}

/** Adds `b` to `entry`: a new epoch drops the cached batches; only the last few are kept. */
function addBatch(entry: MutableEntry, b: IdempotentBatch): void {
  if (entry.epoch !== b.producerEpoch) {
    entry.epoch = b.producerEpoch;
    entry.batches = [];
  }
  entry.batches.push({
    firstSeq: b.firstSeq,
    lastSeq: b.lastSeq,
    firstOffset: b.firstOffset,
    lastOffset: b.lastOffset,
    timestamp: b.timestamp,
  });
  if (entry.batches.length > BATCHES_TO_RETAIN) entry.batches.shift();
}
