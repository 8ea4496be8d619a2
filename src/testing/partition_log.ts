/**
 * The in-memory log of one partition of the embedded cluster: a list of
 * record batches as the producer sent them, with their base offsets (and
 * partition leader epochs) rewritten by the broker, exactly as Kafka stores
 * them on disk. Fetch returns these bytes as they are.
 *
 * @module
 */

import { crc32c } from "../protocol/crc32c.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { Reader } from "../protocol/reader.ts";
import { decodeRecordBatches } from "../protocol/wire_batch_decode.ts";
import { CodedError } from "./coded_error.ts";
import { type IdempotentBatch, lastSequence, ProducerStates } from "./producer_state.ts";
import {
  ATTRIBUTES_AT,
  BASE_OFFSET_AT,
  COMPRESSION_MASK,
  CONTROL,
  CONTROL_ABORT,
  CONTROL_COMMIT,
  LOG_OVERHEAD,
  MAGIC_V2,
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_AT,
  RECORDS_AT,
  TRANSACTIONAL,
} from "../protocol/wire_batch_format.ts";
import { type BatchHeader, readBatchHeader } from "../protocol/wire_batch_header.ts";

const { CORRUPT_MESSAGE, INVALID_RECORD } = ErrorCode;

/**
 * A batch rejected by {@linkcode PartitionLog.append}, with Kafka's error
 * code: CORRUPT_MESSAGE or INVALID_RECORD; for idempotent batches
 * OUT_OF_ORDER_SEQUENCE_NUMBER or INVALID_PRODUCER_EPOCH.
 */
export class InvalidBatchError extends CodedError {
  override readonly name = "InvalidBatchError";
}

/** One stored batch. */
export interface StoredBatch {
  /** Offset of the batch's first record. */
  readonly baseOffset: bigint;
  /** Offset of the batch's last record. */
  readonly lastOffset: bigint;
  /** Largest record timestamp in the batch (ms). */
  readonly maxTimestamp: bigint;
  /** Leader epoch of the leader that appended it. */
  readonly leaderEpoch: number;
  /** Producer id, -1 when none. */
  readonly producerId: bigint;
  /** Part of a transaction. */
  readonly transactional: boolean;
  /** A control batch (commit or abort marker). */
  readonly control: boolean;
  /** The whole batch as stored (log overhead included). */
  readonly bytes: Uint8Array;
}

/** What {@linkcode PartitionLog.append} did. */
export interface AppendResult {
  /** Offset of the first record appended. */
  readonly baseOffset: bigint;
  /** Offset of the last record appended. */
  readonly lastOffset: bigint;
  /**
   * Present when the append was a retry of a recent idempotent batch (nothing
   * appended; the offsets are the first copy's): that batch's max timestamp,
   * which Kafka answers as the log append time of a duplicate.
   */
  readonly duplicateTimestamp?: bigint;
}

/** An aborted transaction, as Fetch reports it to read_committed consumers. */
export interface AbortedTransaction {
  /** The transaction's producer id. */
  readonly producerId: bigint;
  /** Offset of the transaction's first record in this partition. */
  readonly firstOffset: bigint;
  /** Offset of the abort marker that ended it. */
  readonly lastOffset: bigint;
}

/** What {@linkcode PartitionLog.read} returns. */
export interface ReadResult {
  /** Whole batches, the first one containing the requested offset. */
  readonly batches: readonly StoredBatch[];
  /** Total size of `batches` in bytes. */
  readonly size: number;
}

/** An in-memory partition log of record batches. */
export class PartitionLog {
  readonly #batches: StoredBatch[] = [];
  #logStartOffset = 0n;
  #logEndOffset = 0n;
  #waiters = new Set<() => void>();
  /** Producer id -> first offset of its open transaction in this partition. */
  readonly #open = new Map<bigint, bigint>();
  /** Aborted transactions in marker order (so ascending `lastOffset`). */
  readonly #aborted: AbortedTransaction[] = [];
  /** Idempotent producers' epochs and last batches, to refuse gaps and recognise retries. */
  readonly #producers = new ProducerStates();

  /** First offset still in the log. */
  get logStartOffset(): bigint {
    return this.#logStartOffset;
  }

  /** One past the last offset in the log (also the high watermark: all replicas share it). */
  get logEndOffset(): bigint {
    return this.#logEndOffset;
  }

  /** The high watermark: the log end, since every replica has every batch. */
  get highWatermark(): bigint {
    return this.#logEndOffset;
  }

  /**
   * The last stable offset: the first offset of the oldest transaction still
   * open, or the high watermark when none is. read_committed consumers read
   * only below it.
   */
  get lastStableOffset(): bigint {
    let lso = this.highWatermark;
    for (const first of this.#open.values()) if (first < lso) lso = first;
    return lso;
  }

  /**
   * Aborted transactions that a read_committed fetch of `[from, upTo)` must
   * know about: those whose abort marker is at or after `from` and whose
   * first record is before `upTo` (Kafka's rule for the Fetch response).
   */
  abortedTransactions(from: bigint, upTo: bigint): AbortedTransaction[] {
    return this.#aborted.filter((t) => t.lastOffset >= from && t.firstOffset < upTo);
  }

  /** Total bytes stored. */
  get sizeBytes(): number {
    let n = 0;
    for (const b of this.#batches) n += b.bytes.length;
    return n;
  }

  /** The stored batches, oldest first. */
  get batches(): readonly StoredBatch[] {
    return this.#batches;
  }

  /**
   * Validates and appends `records` (one or more v2 record batches as a
   * producer sends them), rewriting each batch's base offset and partition
   * leader epoch. Either every batch is appended or none (throws
   * {@linkcode InvalidBatchError}). Idempotent batches (producer id and base
   * sequence >= 0) are checked against the producer state as Kafka does
   * (producer_state.ts): a retry of one of a producer's last 5 batches
   * appends nothing and returns the first copy's offsets.
   */
  append(records: Uint8Array, leaderEpoch = 0): AppendResult {
    const parsed = parseBatches(records);
    const planned = this.#plan(parsed);
    const verdict = this.#producers.check(planned);
    if (verdict.kind === "duplicate") {
      const { firstOffset, lastOffset, timestamp } = verdict.batch;
      return { baseOffset: firstOffset, lastOffset, duplicateTimestamp: timestamp };
    }
    if (verdict.kind === "rejected") {
      throw new InvalidBatchError(verdict.message, verdict.errorCode);
    }
    const baseOffset = this.#logEndOffset;
    for (const { start, end, count, header } of parsed) {
      const bytes = records.slice(start, end);
      const view = new DataView(bytes.buffer);
      const base = this.#logEndOffset;
      view.setBigInt64(BASE_OFFSET_AT, base);
      view.setInt32(PARTITION_LEADER_EPOCH_AT, leaderEpoch);
      this.#batches.push({
        baseOffset: base,
        lastOffset: base + BigInt(count - 1),
        maxTimestamp: batchMaxTimestamp(header),
        leaderEpoch,
        producerId: header.producerId,
        transactional: (header.attributes & TRANSACTIONAL) !== 0,
        control: (header.attributes & CONTROL) !== 0,
        bytes,
      });
      this.#logEndOffset = base + BigInt(count);
      this.#trackTransaction(this.#batches[this.#batches.length - 1]);
    }
    verdict.commit();
    this.#wake();
    return { baseOffset, lastOffset: this.#logEndOffset - 1n };
  }

  /** The idempotent batches among `parsed`, with the offsets they will get if appended. */
  #plan(parsed: readonly ParsedBatch[]): IdempotentBatch[] {
    const planned: IdempotentBatch[] = [];
    let next = this.#logEndOffset;
    for (const { count, header } of parsed) {
      const batch = idempotentBatch(header, next, count);
      if (batch !== undefined) planned.push(batch);
      next += BigInt(count);
    }
    return planned;
  }

  /**
   * A transactional data batch opens its producer's transaction (if not
   * open yet); a control batch (commit or abort marker) closes it, and an
   * abort is remembered for read_committed fetches. Markers of producers
   * with no open transaction change nothing, as in Kafka.
   */
  #trackTransaction(batch: StoredBatch): void {
    if (!batch.transactional) return;
    if (!batch.control) {
      if (!this.#open.has(batch.producerId)) this.#open.set(batch.producerId, batch.baseOffset);
      return;
    }
    const first = this.#open.get(batch.producerId);
    if (first === undefined) return;
    this.#open.delete(batch.producerId);
    if (controlType(batch.bytes) === CONTROL_ABORT) {
      this.#aborted.push({
        producerId: batch.producerId,
        firstOffset: first,
        lastOffset: batch.baseOffset,
      });
    }
  }

  /**
   * Kafka's OffsetsForLeaderEpoch answer for `epoch`: the largest epoch in
   * the log not above it, and where that epoch ends (the first offset of the
   * next larger epoch, or the log end). `{ epoch: -1, endOffset: -1n }` when
   * the log has no batch of that epoch or older.
   */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: bigint } {
    let found = -1;
    for (const b of this.#batches) {
      if (b.leaderEpoch > epoch) {
        return found < 0
          ? { epoch: -1, endOffset: -1n }
          : { epoch: found, endOffset: b.baseOffset };
      }
      found = b.leaderEpoch;
    }
    return found < 0
      ? { epoch: -1, endOffset: -1n }
      : { epoch: found, endOffset: this.#logEndOffset };
  }

  /**
   * Drops every batch from the one holding `offset` on: what an unclean
   * leader election does to records the new leader never had. Transactions
   * and producer state are recomputed from what is left. Returns the new log
   * end.
   */
  truncateTo(offset: bigint): bigint {
    const keep = this.#indexOf(offset);
    if (keep >= this.#batches.length) return this.#logEndOffset;
    this.#batches.length = keep;
    this.#logEndOffset = keep === 0
      ? this.#logStartOffset
      : this.#batches[keep - 1].lastOffset + 1n;
    this.#open.clear();
    this.#aborted.length = 0;
    this.#producers.clear();
    for (const b of this.#batches) {
      this.#trackTransaction(b);
      // Kafka rebuilds producer state from what is left in the log, too.
      const idempotent = idempotentBatch(
        readBatchHeader(b.bytes),
        b.baseOffset,
        Number(b.lastOffset - b.baseOffset) + 1,
      );
      if (idempotent !== undefined) this.#producers.record(idempotent);
    }
    this.#wake();
    return this.#logEndOffset;
  }

  /** Index of the first batch whose last offset is >= `offset`, or the batch count. */
  #indexOf(offset: bigint): number {
    let lo = 0;
    let hi = this.#batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#batches[mid].lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** True when `offset` can be fetched (log start <= offset <= log end). */
  inRange(offset: bigint): boolean {
    return offset >= this.#logStartOffset && offset <= this.#logEndOffset;
  }

  /**
   * Whole batches from the one containing `offset`, up to `maxBytes` in
   * total, but at least one batch when `atLeastOne` (even if larger); with
   * `upTo`, only batches that start before it (read_committed passes the
   * last stable offset).
   */
  read(offset: bigint, maxBytes: number, atLeastOne = true, upTo?: bigint): ReadResult {
    const batches: StoredBatch[] = [];
    let size = 0;
    for (let i = this.#indexOf(offset); i < this.#batches.length; i++) {
      const b = this.#batches[i];
      // read_committed: nothing at or past the last stable offset.
      if (upTo !== undefined && b.baseOffset >= upTo) break;
      if (size + b.bytes.length > maxBytes && !(atLeastOne && batches.length === 0)) break;
      batches.push(b);
      size += b.bytes.length;
    }
    return { batches, size };
  }

  /**
   * The offset of the first record whose timestamp is >= `timestamp`, with
   * that record's timestamp; null when there is none.
   */
  offsetForTimestamp(timestamp: bigint): { offset: bigint; timestamp: bigint } | null {
    for (const b of this.#batches) {
      if (b.control || b.maxTimestamp < timestamp || b.lastOffset < this.#logStartOffset) continue;
      try {
        const { records } = decodeRecordBatches(b.bytes, {
          topic: "",
          partition: 0,
          fromOffset: this.#logStartOffset,
        });
        for (const r of records) {
          if (BigInt(r.timestamp) >= timestamp) {
            return { offset: r.offset, timestamp: BigInt(r.timestamp) };
          }
        }
      } catch {
        return { offset: b.baseOffset, timestamp: b.maxTimestamp };
      }
    }
    return null;
  }

  /** The largest timestamp in the log and the offset of the batch holding it; null when empty. */
  maxTimestamp(): { offset: bigint; timestamp: bigint } | null {
    let best: { offset: bigint; timestamp: bigint } | null = null;
    for (const b of this.#batches) {
      if (b.control) continue;
      if (best === null || b.maxTimestamp > best.timestamp) {
        best = { offset: b.lastOffset, timestamp: b.maxTimestamp };
      }
    }
    return best;
  }

  /**
   * Resolves on the next append (or when `signal` aborts). Used by Fetch to
   * hold a response until enough data arrived.
   */
  waitForAppend(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /**
   * Wakes every held Fetch waiting on this log without an append, so that it
   * looks again: after a leader change it finds it no longer leads and
   * answers at once (as a Kafka broker completes a delayed fetch of a
   * partition it stopped leading) instead of holding until max wait.
   */
  interrupt(): void {
    this.#wake();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** Where one batch of an append lies in the request's bytes, its record count and header. */
interface ParsedBatch {
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly header: BatchHeader;
}

/**
 * Splits `records` into batches, checking each one's framing, magic and CRC
 * (CORRUPT_MESSAGE) and that it holds records (INVALID_RECORD).
 */
function parseBatches(records: Uint8Array): ParsedBatch[] {
  const parsed: ParsedBatch[] = [];
  let pos = 0;
  if (records.length === 0) throw new InvalidBatchError("Empty record set", INVALID_RECORD);
  while (pos < records.length) {
    if (records.length - pos < LOG_OVERHEAD + MIN_BATCH_LENGTH) {
      throw new InvalidBatchError(`Truncated record batch at byte ${pos}`, CORRUPT_MESSAGE);
    }
    const header = readBatchHeader(records, pos);
    const { batchLength, magic, crc } = header;
    const end = pos + LOG_OVERHEAD + batchLength;
    if (batchLength < MIN_BATCH_LENGTH || end > records.length) {
      throw new InvalidBatchError(
        `Record batch at byte ${pos} declares ${batchLength} bytes`,
        CORRUPT_MESSAGE,
      );
    }
    if (magic !== MAGIC_V2) {
      throw new InvalidBatchError(`Unsupported record batch magic ${magic}`, CORRUPT_MESSAGE);
    }
    const actual = crc32c(records, pos + ATTRIBUTES_AT, end);
    if (crc !== actual) {
      throw new InvalidBatchError(
        `Record batch CRC mismatch: stored ${crc.toString(16)}, computed ${actual.toString(16)}`,
        CORRUPT_MESSAGE,
      );
    }
    const count = header.lastOffsetDelta + 1;
    if (count < 1) throw new InvalidBatchError("Record batch with no records", INVALID_RECORD);
    parsed.push({ start: pos, end, count, header });
    pos = end;
  }
  return parsed;
}

/** The larger of a batch header's base and max timestamps. */
function batchMaxTimestamp(header: BatchHeader): bigint {
  return BigInt(Math.max(header.maxTimestamp, header.baseTimestamp));
}

/**
 * The batch of `header` as the producer state sees it, placed at
 * `firstOffset` with `count` records; undefined when it is not an
 * idempotent data batch (no producer id or no sequence, as plain batches
 * and transaction markers are).
 */
function idempotentBatch(
  header: BatchHeader,
  firstOffset: bigint,
  count: number,
): IdempotentBatch | undefined {
  const { producerId, baseSequence: firstSeq, attributes, producerEpoch } = header;
  if (producerId < 0n || firstSeq < 0 || (attributes & CONTROL) !== 0) return undefined;
  return {
    producerId,
    producerEpoch,
    firstSeq,
    lastSeq: lastSequence(firstSeq, count - 1),
    firstOffset,
    lastOffset: firstOffset + BigInt(count - 1),
    timestamp: batchMaxTimestamp(header),
  };
}

/**
 * The type of a control batch's marker (CONTROL_ABORT or CONTROL_COMMIT)
 * from its first record's key (version int16, type int16). Kafka writes
 * markers uncompressed; anything unreadable counts as an abort, the safe side
 * for read_committed readers of a test cluster.
 */
function controlType(batch: Uint8Array): number {
  if ((readBatchHeader(batch).attributes & COMPRESSION_MASK) !== 0) return CONTROL_ABORT;
  try {
    const r = new Reader(batch, RECORDS_AT);
    r.varint(); // record length
    r.int8(); // attributes
    r.varlong(); // timestamp delta
    r.varint(); // offset delta
    if (r.varint() < 4) return CONTROL_ABORT;
    r.int16(); // version
    return r.int16() === CONTROL_COMMIT ? CONTROL_COMMIT : CONTROL_ABORT;
  } catch {
    return CONTROL_ABORT;
  }
}
