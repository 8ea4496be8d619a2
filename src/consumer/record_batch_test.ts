import assert from "node:assert/strict";
import { decodeRecordBatches, encodeRecordBatch } from "../protocol/wire_batch.ts";
import { RecordBatch } from "./record_batch.ts";

const enc = new TextEncoder();

/** A batch of records at offsets 10, 11, 12 (nextOffset 14: a trailing control record's offset). */
function batch(acks: (bigint | undefined)[]): RecordBatch {
  const bytes = encodeRecordBatch({
    baseOffset: 10n,
    records: ["a", "b", "c"].map((v) => ({ value: enc.encode(v) })),
  });
  const { records } = decodeRecordBatches(bytes, { topic: "t", partition: 0, fromOffset: 10n });
  return new RecordBatch({
    topic: "t",
    partition: 0,
    records,
    nextOffset: 14n,
    highWatermark: 14n,
    ack: (upTo) => {
      acks.push(upTo);
      return true;
    },
  });
}

Deno.test("RecordBatch.ack(upTo) acknowledges up to and including a record or an offset", () => {
  const acks: (bigint | undefined)[] = [];
  const b = batch(acks);
  assert.equal(b.ack(b.records[0]), true);
  assert.equal(b.ack(11n), true);
  assert.equal(b.ack(b.records[2]), true, "the last record: the whole batch");
  assert.equal(b.ack(13n), true, "past the last record: the whole batch");
  assert.equal(b.ack(), true);
  assert.deepEqual(acks, [11n, 12n, 14n, 14n, undefined]);
});

Deno.test("RecordBatch.ack(upTo) refuses a record of another batch and offsets outside", () => {
  const b = batch([]);
  const other = batch([]);
  assert.throws(() => b.ack(other.records[1]), TypeError);
  assert.throws(() => b.ack({ offset: 11n } as never), /not a record of this batch of t\/0/);
  assert.throws(() => b.ack(9n), RangeError);
  assert.throws(() => b.ack(14n), /offset 14 is outside this batch of t\/0 \(10 up to 14/);
});
