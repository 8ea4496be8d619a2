import assert from "node:assert/strict";
import { decodeRecordBatches } from "./wire_batch_decode.ts";
import { assembleBatch } from "./wire_batch_encode.ts";
import { RECORDS_AT } from "./wire_batch_format.ts";
import { RecordsWriter } from "./wire_records_writer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function batchOf(w: RecordsWriter, base: number, inPlace: boolean): Uint8Array {
  const fields = {
    baseOffset: 0n,
    partitionLeaderEpoch: -1,
    attributes: 0,
    lastOffsetDelta: w.count - 1,
    baseTimestamp: base,
    maxTimestamp: base,
    producerId: -1n,
    producerEpoch: -1,
    baseSequence: -1,
    recordCount: w.count,
  };
  return inPlace
    ? assembleBatch(fields, { inPlace: w.withHeadroom() })
    : assembleBatch(fields, { records: w.records() });
}

Deno.test("RecordsWriter: records appended one by one decode as written, in place or copied", () => {
  for (const inPlace of [true, false]) {
    const w = new RecordsWriter(16, inPlace ? RECORDS_AT : 0); // grows as records come
    for (let i = 0; i < 50; i++) {
      w.append(
        {
          key: i % 2 ? enc.encode(`k${i}`) : null,
          value: i % 7 === 0 ? null : enc.encode("v".repeat(i)),
          headers: i % 5 === 0 ? [{ key: "h", value: enc.encode(String(i)) }] : undefined,
        },
        i,
        i * 10,
      );
    }
    const { records } = decodeRecordBatches(batchOf(w, 1000, inPlace), {
      topic: "t",
      partition: 0,
      fromOffset: 0n,
    });
    assert.equal(records.length, 50);
    for (const [i, r] of records.entries()) {
      assert.equal(r.offset, BigInt(i));
      assert.equal(r.timestamp, 1000 + i * 10);
      assert.equal(r.key === null ? null : dec.decode(r.key), i % 2 ? `k${i}` : null);
      assert.equal(
        r.value === null ? null : dec.decode(r.value),
        i % 7 === 0 ? null : "v".repeat(i),
      );
      assert.equal(r.headers.length, i % 5 === 0 ? 1 : 0);
    }
  }
});

Deno.test("RecordsWriter.single() makes record i a batch of its own with its own timestamp", () => {
  const w = new RecordsWriter();
  for (let i = 0; i < 3; i++) {
    w.append({ key: enc.encode(`k${i}`), value: enc.encode(`v${i}`) }, i, i * 5);
  }
  const { writer, timestamp } = w.single(2, 100);
  assert.equal(timestamp, 110);
  const { records } = decodeRecordBatches(batchOf(writer, timestamp, false), {
    topic: "t",
    partition: 0,
    fromOffset: 0n,
  });
  assert.equal(records.length, 1);
  assert.equal(records[0].offset, 0n);
  assert.equal(records[0].timestamp, 110);
  assert.equal(dec.decode(records[0].key!), "k2");
  assert.equal(dec.decode(records[0].value!), "v2");
});
