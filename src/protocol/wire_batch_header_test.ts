import assert from "node:assert/strict";
import { crc32c } from "./crc32c.ts";
import { type BatchFields, readBatchHeader, writeBatchHeader } from "./wire_batch_header.ts";

Deno.test("writeBatchHeader then readBatchHeader gives back every field, the framing and a valid CRC", () => {
  const fields: BatchFields = {
    baseOffset: 2n ** 40n + 7n,
    partitionLeaderEpoch: 3,
    attributes: 0x14,
    lastOffsetDelta: 9,
    baseTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_042,
    producerId: 12345n,
    producerEpoch: 2,
    baseSequence: 100,
    recordCount: 10,
  };
  // A batch inside a larger buffer, with 5 bytes of "records" after the header.
  const buffer = new Uint8Array(4 + 61 + 5).fill(0xee);
  const batch = buffer.subarray(4);
  writeBatchHeader(batch, fields);
  const header = readBatchHeader(buffer, 4);
  assert.deepEqual(header, { ...fields, batchLength: 61 + 5 - 12, magic: 2, crc: header.crc });
  assert.equal(header.crc, crc32c(batch, 21));
  assert.deepEqual(buffer.subarray(0, 4), new Uint8Array(4).fill(0xee)); // nothing before it
});

Deno.test("readBatchHeader refuses fewer than 61 bytes", () => {
  assert.throws(() => readBatchHeader(new Uint8Array(70), 10), RangeError);
});
