import assert from "node:assert/strict";
import { keyPartition, murmur2, StickyPartitioner } from "./partitioner.ts";

const enc = new TextEncoder();

Deno.test("murmur2() equals Kafka's Utils.murmur2 on its test vectors", () => {
  // Kafka's UtilsTest.testMurmur2 (tests/producer_test.ts compares whole
  // partitions with Java's producer on random keys of every length).
  const cases: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ];
  for (const [s, h] of cases) assert.equal(murmur2(enc.encode(s)), h, s);
});

Deno.test("keyPartition() is in range and stable", () => {
  for (let i = 0; i < 1000; i++) {
    const key = enc.encode(`key-${i}`);
    const p = keyPartition(key, 7);
    assert.ok(p >= 0 && p < 7);
    assert.equal(keyPartition(key, 7), p);
  }
});

Deno.test("StickyPartitioner keeps a partition for batchSize bytes, then draws another", () => {
  let n = 0;
  const draws = [0.1, 0.1, 0.9, 0.5];
  const sticky = new StickyPartitioner(100, () => draws[n++ % draws.length]);
  const seq = Array.from({ length: 9 }, () => sticky.partition("t", 40, [0, 1, 2, 3]));
  // 40 B each: 3 records reach 100 B, then a different partition.
  assert.deepEqual(seq, [0, 0, 0, 3, 3, 3, 2, 2, 2]);
  assert.equal(sticky.partition("t", 40, [1]), 1, "moves off a partition without a leader");
});
