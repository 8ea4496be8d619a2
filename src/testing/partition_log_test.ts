import assert from "node:assert/strict";
import {
  decodeRecordBatches,
  encodeControlBatch,
  encodeRecordBatch,
} from "../protocol/wire_batch.ts";
import { concatBytes } from "../util/bytes.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { InvalidBatchError, PartitionLog } from "./partition_log.ts";

const { OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH } = ErrorCode;

const enc = new TextEncoder();
const dec = new TextDecoder();

function batch(values: string[], opts: { timestamp?: number; compression?: number } = {}) {
  return encodeRecordBatch({
    records: values.map((v, i) => ({
      value: enc.encode(v),
      timestamp: opts.timestamp === undefined ? undefined : opts.timestamp + i,
    })),
    compression: opts.compression ?? 0,
  });
}

function values(bytes: Uint8Array, from = 0n): string[] {
  return decodeRecordBatches(bytes, { topic: "t", partition: 0, fromOffset: from }).records
    .map((r) => dec.decode(r.value!));
}

Deno.test("PartitionLog.append assigns offsets and rewrites base offset and leader epoch; CRC stays valid", () => {
  const log = new PartitionLog();
  assert.deepEqual(log.append(batch(["a", "b", "c"]), 4), { baseOffset: 0n, lastOffset: 2n });
  assert.deepEqual(log.append(batch(["d"], { compression: 4 }), 4), {
    baseOffset: 3n,
    lastOffset: 3n,
  });
  // Two batches in one request.
  assert.deepEqual(log.append(concatBytes([batch(["e", "f"]), batch(["g"])])), {
    baseOffset: 4n,
    lastOffset: 6n,
  });
  assert.equal(log.highWatermark, 7n);
  assert.equal(log.logStartOffset, 0n);
  assert.equal(log.batches.length, 4);
  const second = log.batches[1];
  const view = new DataView(second.bytes.buffer, second.bytes.byteOffset);
  assert.equal(view.getBigInt64(0), 3n);
  assert.equal(view.getInt32(12), 4);
  // decodeRecordBatches verifies the CRC by default.
  assert.deepEqual(values(concatBytes(log.batches.map((b) => b.bytes))), [
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
  ]);
});

Deno.test("PartitionLog.append refuses corrupt input without appending anything", () => {
  const log = new PartitionLog();
  const good = batch(["a"]);
  const bad = batch(["b"]);
  bad[bad.length - 1] ^= 1;
  assert.throws(() => log.append(concatBytes([good, bad])), (e) => {
    assert.ok(e instanceof InvalidBatchError);
    assert.equal(e.errorCode, 2);
    return true;
  });
  assert.throws(() => log.append(good.subarray(0, good.length - 3)), InvalidBatchError);
  assert.throws(() => log.append(new Uint8Array(0)), InvalidBatchError);
  assert.equal(log.highWatermark, 0n);
  assert.equal(log.batches.length, 0);
});

Deno.test("PartitionLog.read returns whole batches from the one holding the offset, within limits", () => {
  const log = new PartitionLog();
  log.append(batch(["a", "b", "c"]));
  log.append(batch(["d", "e"]));
  log.append(batch(["f"]));
  const size = (i: number) => log.batches[i].bytes.length;
  // Offset 4 is inside the second batch: it is returned whole.
  let r = log.read(4n, 1 << 20);
  assert.deepEqual(r.batches.map((b) => b.baseOffset), [3n, 5n]);
  assert.deepEqual(values(concatBytes(r.batches.map((b) => b.bytes)), 4n), ["e", "f"]);
  // At least one batch even when the limit is smaller.
  r = log.read(0n, 1);
  assert.deepEqual(r.batches.map((b) => b.baseOffset), [0n]);
  assert.equal(r.size, size(0));
  assert.equal(log.read(0n, 1, false).batches.length, 0);
  // Exactly two batches fit.
  r = log.read(0n, size(0) + size(1));
  assert.deepEqual(r.batches.map((b) => b.baseOffset), [0n, 3n]);
  // At the log end: nothing; beyond it: out of range.
  assert.equal(log.read(6n, 1 << 20).batches.length, 0);
  assert.ok(log.inRange(6n));
  assert.ok(!log.inRange(7n));
  assert.ok(!log.inRange(-1n));
});

Deno.test("PartitionLog.offsetForTimestamp finds the first record at or after a timestamp", () => {
  const log = new PartitionLog();
  log.append(batch(["a", "b", "c"], { timestamp: 1000 })); // 1000, 1001, 1002
  log.append(batch(["d", "e"], { timestamp: 2000, compression: 1 })); // 2000, 2001
  assert.deepEqual(log.offsetForTimestamp(0n), { offset: 0n, timestamp: 1000n });
  assert.deepEqual(log.offsetForTimestamp(1001n), { offset: 1n, timestamp: 1001n });
  assert.deepEqual(log.offsetForTimestamp(1003n), { offset: 3n, timestamp: 2000n });
  assert.deepEqual(log.offsetForTimestamp(2001n), { offset: 4n, timestamp: 2001n });
  assert.equal(log.offsetForTimestamp(2002n), null);
  assert.deepEqual(log.maxTimestamp(), { offset: 4n, timestamp: 2001n });
});

Deno.test("PartitionLog.waitForAppend resolves on append or abort", async () => {
  const log = new PartitionLog();
  const ac = new AbortController();
  const waiting = log.waitForAppend(ac.signal);
  log.append(batch(["a"]));
  await waiting;
  const ac2 = new AbortController();
  const aborted = log.waitForAppend(ac2.signal);
  ac2.abort();
  await aborted;
  ac.abort();
});

Deno.test("PartitionLog keeps transactions: the last stable offset stops at the oldest open one; aborts are listed for read_committed", () => {
  const log = new PartitionLog();
  // Sequences continue within a producer's epoch, as the broker checks them.
  const txn = (producerId: bigint, vals: string[], baseSequence = 0) =>
    encodeRecordBatch({
      records: vals.map((v) => ({ value: enc.encode(v) })),
      producerId,
      producerEpoch: 0,
      baseSequence,
      transactional: true,
    });
  log.append(batch(["p0"])); // 0
  assert.equal(log.lastStableOffset, 1n);
  log.append(txn(7n, ["a", "b"])); // 1..2, open
  log.append(txn(8n, ["c"])); // 3, open
  assert.equal(log.lastStableOffset, 1n, "the oldest open transaction holds it");
  log.append(txn(7n, ["d"], 2)); // 4, same transaction: does not move its start
  log.append(encodeControlBatch({ producerId: 7n, type: "abort" })); // 5
  assert.equal(log.lastStableOffset, 3n, "producer 8's transaction is the oldest open one now");
  log.append(encodeControlBatch({ producerId: 8n, type: "commit" })); // 6
  assert.equal(log.lastStableOffset, 7n);
  assert.equal(log.highWatermark, 7n);
  assert.deepEqual(log.abortedTransactions(0n, 7n), [
    { producerId: 7n, firstOffset: 1n, lastOffset: 5n },
  ]);
  assert.deepEqual(log.abortedTransactions(6n, 7n), [], "its marker is before the range");
  assert.deepEqual(log.abortedTransactions(0n, 1n), [], "it starts after the range");
  // A marker of a producer with no open transaction changes nothing.
  log.append(encodeControlBatch({ producerId: 9n, type: "abort" })); // 7
  assert.equal(log.abortedTransactions(0n, 8n).length, 1);
  // read() with an upper bound stops before it.
  log.append(txn(10n, ["open"])); // 8
  log.append(batch(["after"])); // 9
  assert.equal(log.lastStableOffset, 8n);
  const r = log.read(0n, 1 << 20, true, log.lastStableOffset);
  assert.equal(r.batches.at(-1)!.lastOffset, 7n);
});

Deno.test("PartitionLog answers end offsets per leader epoch and truncates like an unclean election", () => {
  const log = new PartitionLog();
  assert.deepEqual(log.endOffsetForEpoch(0), { epoch: -1, endOffset: -1n }, "empty log");
  log.append(batch(["a", "b"]), 0); // 0..1, epoch 0
  log.append(batch(["c"]), 2); // 2, epoch 2
  log.append(batch(["d", "e"]), 2); // 3..4, epoch 2
  log.append(batch(["f"]), 5); // 5, epoch 5
  assert.deepEqual(log.endOffsetForEpoch(0), { epoch: 0, endOffset: 2n });
  assert.deepEqual(
    log.endOffsetForEpoch(1),
    { epoch: 0, endOffset: 2n },
    "largest epoch not above",
  );
  assert.deepEqual(log.endOffsetForEpoch(2), { epoch: 2, endOffset: 5n });
  assert.deepEqual(
    log.endOffsetForEpoch(7),
    { epoch: 5, endOffset: 6n },
    "the latest ends at the log end",
  );

  // Truncation at an offset inside a batch drops that whole batch.
  assert.equal(log.truncateTo(4n), 3n);
  assert.equal(log.highWatermark, 3n);
  assert.deepEqual(log.endOffsetForEpoch(5), { epoch: 2, endOffset: 3n });
  assert.deepEqual(values(log.read(0n, 1 << 20).batches.at(-1)!.bytes, 2n), ["c"]);
  assert.deepEqual(log.append(batch(["g"]), 6), { baseOffset: 3n, lastOffset: 3n });
  assert.deepEqual(log.endOffsetForEpoch(2), { epoch: 2, endOffset: 3n });
  assert.equal(log.truncateTo(100n), 4n, "nothing past the end to drop");
});

// Idempotent producers: the producer state de-duplicates retries and checks
// epochs and sequences as Kafka's broker does (producer_state.ts).

/** An idempotent batch of `n` records of producer 42. */
function idem(epoch: number, baseSequence: number, n = 1, producerId = 42n): Uint8Array {
  return encodeRecordBatch({
    records: Array.from({ length: n }, (_, i) => ({
      value: enc.encode(`e${epoch}s${baseSequence}+${i}`),
      timestamp: 1000 + i,
    })),
    producerId,
    producerEpoch: epoch,
    baseSequence,
  });
}

/** Asserts that appending `bytes` throws InvalidBatchError with `code`, appending nothing. */
function assertRefused(log: PartitionLog, bytes: Uint8Array, code: number, text: RegExp): void {
  const end = log.logEndOffset;
  const count = log.batches.length;
  assert.throws(() => log.append(bytes), (e) => {
    assert.ok(e instanceof InvalidBatchError, `InvalidBatchError, got ${e}`);
    assert.equal(e.errorCode, code);
    assert.match(e.message, text);
    return true;
  });
  assert.equal(log.logEndOffset, end, "nothing appended");
  assert.equal(log.batches.length, count);
}

Deno.test("PartitionLog: a retry of an idempotent producer's last batch answers its original offsets and appends nothing", () => {
  const log = new PartitionLog();
  log.append(batch(["plain"])); // 0
  const first = idem(0, 0, 3);
  assert.deepEqual(log.append(first), { baseOffset: 1n, lastOffset: 3n });
  const retry = log.append(first.slice());
  assert.deepEqual(retry, { baseOffset: 1n, lastOffset: 3n, duplicateTimestamp: 1002n });
  assert.equal(log.logEndOffset, 4n);
  assert.equal(log.batches.length, 2);
  // The producer goes on where it was.
  assert.deepEqual(log.append(idem(0, 3)), { baseOffset: 4n, lastOffset: 4n });
});

Deno.test("PartitionLog: a retry of an older one of the last 5 batches answers its offsets; the 6th back is out of order", () => {
  const log = new PartitionLog();
  for (let seq = 0; seq < 6; seq++) log.append(idem(0, seq * 2, 2)); // offsets 0..11
  assert.equal(log.logEndOffset, 12n);
  // seq 2-3 (offsets 2-3) is the oldest of the last five.
  assert.deepEqual(log.append(idem(0, 2, 2)), {
    baseOffset: 2n,
    lastOffset: 3n,
    duplicateTimestamp: 1001n,
  });
  assert.deepEqual(log.append(idem(0, 6, 2)).baseOffset, 6n);
  // seq 0-1 is no longer cached: not a duplicate, and not next in sequence.
  assertRefused(log, idem(0, 0, 2), OUT_OF_ORDER_SEQUENCE_NUMBER, /got 0, expected 12/);
  // Same first sequence, other length: not the same batch.
  assertRefused(log, idem(0, 10, 1), OUT_OF_ORDER_SEQUENCE_NUMBER, /got 10, expected 12/);
  assert.equal(log.logEndOffset, 12n);
});

Deno.test("PartitionLog: an idempotent batch out of sequence is refused with OUT_OF_ORDER_SEQUENCE_NUMBER", () => {
  const log = new PartitionLog();
  log.append(idem(0, 0, 2)); // seq 0-1
  assertRefused(log, idem(0, 3), OUT_OF_ORDER_SEQUENCE_NUMBER, /got 3, expected 2/); // a gap
  // A request of two batches is taken or refused whole; the second is checked
  // after the first.
  assertRefused(
    log,
    concatBytes([idem(0, 2), idem(0, 4)]),
    OUT_OF_ORDER_SEQUENCE_NUMBER,
    /got 4, expected 3/,
  );
  assert.deepEqual(log.append(concatBytes([idem(0, 2), idem(0, 3)])), {
    baseOffset: 2n,
    lastOffset: 3n,
  });
  // Other producers and plain batches are unaffected.
  assert.deepEqual(log.append(idem(0, 7, 1, 43n)).baseOffset, 4n, "unknown producer: any sequence");
  assert.equal(log.append(batch(["plain"])).baseOffset, 5n);
  assert.equal(log.append(batch(["plain"])).baseOffset, 6n, "plain batches are never duplicates");
});

Deno.test("PartitionLog: an older producer epoch is refused with INVALID_PRODUCER_EPOCH; a new one starts at sequence 0", () => {
  const log = new PartitionLog();
  log.append(idem(3, 0, 2)); // epoch 3, seq 0-1
  assertRefused(log, idem(2, 2), INVALID_PRODUCER_EPOCH, /Epoch 2 of producer 42 is older/);
  // Even a copy of a batch of an older epoch: the epoch is checked first.
  assertRefused(log, idem(2, 0, 2), INVALID_PRODUCER_EPOCH, /older than the last seen epoch 3/);
  // A new epoch must start at 0.
  assertRefused(log, idem(4, 2), OUT_OF_ORDER_SEQUENCE_NUMBER, /New epoch 4 .* sequence 2/);
  assert.deepEqual(log.append(idem(4, 0)), { baseOffset: 2n, lastOffset: 2n });
  // The new epoch dropped the old epoch's batches: their copies are stale now.
  assertRefused(log, idem(3, 0, 2), INVALID_PRODUCER_EPOCH, /older/);
  assert.deepEqual(log.append(idem(4, 1)).baseOffset, 3n);
});

Deno.test("PartitionLog: sequences wrap from 2147483647 to 0", () => {
  const log = new PartitionLog();
  const max = 2147483647;
  log.append(idem(0, max - 1)); // no state yet: any first sequence
  // max..1 wraps inside the batch: its last sequence is 1.
  const wrapping = idem(0, max, 3);
  assert.deepEqual(log.append(wrapping), { baseOffset: 1n, lastOffset: 3n });
  assert.deepEqual(log.append(wrapping).duplicateTimestamp, 1002n, "recognised as a retry");
  assertRefused(log, idem(0, max), OUT_OF_ORDER_SEQUENCE_NUMBER, /expected 2/);
  assert.deepEqual(log.append(idem(0, 2)).baseOffset, 4n);
  // A batch ending exactly at the largest sequence is followed by 0.
  const other = new PartitionLog();
  other.append(idem(0, max - 1, 2));
  assertRefused(other, idem(0, max), OUT_OF_ORDER_SEQUENCE_NUMBER, /got 2147483647, expected 0/);
  assert.equal(other.append(idem(0, 0)).baseOffset, 2n);
});

Deno.test("PartitionLog: truncation rebuilds the producer state from the batches left", () => {
  const log = new PartitionLog();
  log.append(idem(0, 0)); // 0
  log.append(idem(0, 1)); // 1
  log.truncateTo(1n);
  // Sequence 1 is gone with its batch: it is next again, not a duplicate.
  assert.deepEqual(log.append(idem(0, 1)), { baseOffset: 1n, lastOffset: 1n });
  assert.equal(log.append(idem(0, 0)).duplicateTimestamp, 1000n, "sequence 0 is still there");
});
