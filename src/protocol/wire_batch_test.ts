import assert from "node:assert/strict";
import { compress } from "./compression/mod.ts";
import { concatBytes } from "../util/bytes.ts";
import { crc32c } from "./crc32c.ts";
import { CorruptDataError } from "./errors.ts";
import {
  type DecodeOptions,
  decodeRecordBatches,
  EMPTY_HEADERS,
  encodeControlBatch,
  encodeRecordBatch,
  type KafkaRecord,
} from "./wire_batch.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : dec.decode(b));
const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
const concat = (...parts: Uint8Array[]) => concatBytes(parts);
const where = { topic: "orders", partition: 3 } satisfies DecodeOptions;
const decode = (data: Uint8Array, extra: Partial<DecodeOptions> = {}) =>
  decodeRecordBatches(data, { ...where, ...extra });
const offsets = (records: KafkaRecord[]) => records.map((r) => r.offset);

/** Recomputes the CRC of the single batch at the start of `batch` after a test tampered with it. */
function resign(batch: Uint8Array): Uint8Array {
  const end = 12 + new DataView(batch.buffer, batch.byteOffset).getInt32(8);
  new DataView(batch.buffer, batch.byteOffset).setUint32(17, crc32c(batch, 21, end));
  return batch;
}

/** Asserts that `fn` throws a CorruptDataError whose message matches and names the location. */
function assertCorrupt(fn: () => unknown, pattern: RegExp, offset = 0n): CorruptDataError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CorruptDataError, `expected CorruptDataError, got ${caught}`);
  assert.match(caught.message, pattern);
  assert.match(caught.message, new RegExp(`topic orders, partition 3, offset ${offset}\\)$`));
  assert.equal(caught.topic, "orders");
  assert.equal(caught.partition, 3);
  assert.equal(caught.offset, offset);
  return caught;
}

// A tiny batch derived field by field from the magic v2 layout (KIP-98), not
// from our encoder. Kafka 4.1.1's own MemoryRecords.withRecords(5L, NONE,
// SimpleRecord(1000, "k", "v"), SimpleRecord(1003, null, "ab", [h: null]))
// writes exactly these bytes too.
const GOLDEN = hex(
  "0000000000000005" + // baseOffset 5
    "00000046" + // batchLength 70 = 49 (header after this field) + 21 (records)
    "ffffffff" + // partitionLeaderEpoch -1 (producer side)
    "02" + // magic 2
    "7f7405d7" + // CRC32C over the 61 bytes from attributes to the end
    "0000" + // attributes: no compression, create time, not transactional, not control
    "00000001" + // lastOffsetDelta 1
    "00000000000003e8" + // baseTimestamp 1000
    "00000000000003eb" + // maxTimestamp 1003
    "ffffffffffffffff" + // producerId -1
    "ffff" + // producerEpoch -1
    "ffffffff" + // baseSequence -1
    "00000002" + // recordCount 2
    // record 0: length 8 (zigzag 0x10), attributes 0, timestampDelta 0,
    // offsetDelta 0, keyLength 1 (zigzag 2) "k", valueLength 1 "v", 0 headers
    "10" + "00" + "00" + "00" + "02" + "6b" + "02" + "76" + "00" +
    // record 1: length 11 (0x16), attributes 0, timestampDelta 3 (zigzag 6),
    // offsetDelta 1 (2), keyLength -1 (zigzag 1) = null, valueLength 2 (4)
    // "ab", 1 header (2): keyLength 1 (2) "h", valueLength -1 (1) = null
    "16" + "00" + "06" + "02" + "01" + "04" + "6162" + "02" + "02" + "68" + "01",
);

Deno.test("decodeRecordBatches() reads the hand-derived golden batch", () => {
  const { records, nextOffset, truncated, truncatedBatchSize } = decode(GOLDEN);
  assert.equal(truncated, false);
  assert.equal(truncatedBatchSize, null);
  assert.equal(nextOffset, 7n);
  assert.equal(records.length, 2);
  const [a, b] = records;
  assert.equal(a.offset, 5n);
  assert.equal(a.timestamp, 1000);
  assert.equal(text(a.key), "k");
  assert.equal(text(a.value), "v");
  assert.equal(a.headers, EMPTY_HEADERS);
  assert.equal(b.offset, 6n);
  assert.equal(b.timestamp, 1003);
  assert.equal(b.key, null);
  assert.equal(text(b.value), "ab");
  assert.deepEqual(b.headers, [{ key: "h", value: null }]);
});

Deno.test("encodeRecordBatch() writes the hand-derived golden batch", () => {
  const batch = encodeRecordBatch({
    baseOffset: 5n,
    records: [
      { key: bytes("k"), value: bytes("v"), timestamp: 1000 },
      { value: bytes("ab"), timestamp: 1003, headers: [{ key: "h", value: null }] },
    ],
  });
  assert.deepEqual(batch, GOLDEN);
});

// Written by Kafka 4.1.1's MemoryRecords (kafka-clients), with a one-off
// Java program: withEndTransactionMarker(9L, 1234L, -1, 7L, (short) 3,
// new EndTransactionMarker(ABORT, 11)) and withTransactionalRecords(100L,
// NONE, 7L, (short) 3, 0, 0, SimpleRecord(2000, "key", null,
// [a: "1", a: "2", é: ""])) with the partition leader epoch field set to 0.
const KAFKA_ABORT_MARKER = hex(
  "000000000000000900000042ffffffff0263b340df00300000000000000000000004d20000000000" +
    "0004d200000000000000070003ffffffff000000012000000008000000000c00000000000b00",
);
const KAFKA_TXN_BATCH = hex(
  "0000000000000064000000470000000002204e981800100000000000000000000007d00000000000" +
    "0007d00000000000000007000300000000000000012a000000066b65790106026102310261023204" +
    "c3a900",
);

Deno.test("decodeRecordBatches() reads batches written by Kafka's Java client", () => {
  const { records, nextOffset } = decode(concat(KAFKA_ABORT_MARKER, KAFKA_TXN_BATCH));
  assert.equal(nextOffset, 101n);
  assert.equal(records.length, 1);
  const [r] = records;
  assert.equal(r.offset, 100n);
  assert.equal(r.timestamp, 2000);
  assert.equal(text(r.key), "key");
  assert.equal(r.value, null);
  assert.deepEqual(r.headers.map((h) => [h.key, text(h.value)]), [["a", "1"], ["a", "2"], [
    "é",
    "",
  ]]);
});

Deno.test("encodeRecordBatch() and encodeControlBatch() match Kafka's Java client byte for byte", () => {
  const marker = encodeControlBatch({
    baseOffset: 9n,
    producerId: 7n,
    producerEpoch: 3,
    type: "abort",
    coordinatorEpoch: 11,
    timestamp: 1234,
  });
  assert.deepEqual(marker, KAFKA_ABORT_MARKER);
  const txn = encodeRecordBatch({
    baseOffset: 100n,
    partitionLeaderEpoch: 0,
    producerId: 7n,
    producerEpoch: 3,
    baseSequence: 0,
    transactional: true,
    records: [{
      key: bytes("key"),
      value: null,
      timestamp: 2000,
      headers: [{ key: "a", value: bytes("1") }, { key: "a", value: bytes("2") }, {
        key: "é",
        value: new Uint8Array(0),
      }],
    }],
  });
  assert.deepEqual(txn, KAFKA_TXN_BATCH);
});

Deno.test("a decoded record shows its lazy fields when inspected", () => {
  const [record] = decode(GOLDEN).records;
  const shown = Deno.inspect(record);
  assert.match(shown, /^KafkaRecord \{/);
  assert.match(shown, /offset: 5n/);
  assert.match(shown, /timestamp: 1000/);
  assert.match(shown, /headers: \[\]/);
});

Deno.test("decodeRecordBatches() returns nothing for empty data", () => {
  assert.deepEqual(decode(new Uint8Array(0)), {
    records: [],
    nextOffset: null,
    truncated: false,
    truncatedBatchSize: null,
  });
});

function randomRecords(rand: () => number, n: number, t0: number) {
  const maybeBytes = (max: number) => {
    const x = rand();
    if (x < 0.1) return null;
    return Uint8Array.from({ length: Math.floor(rand() * max) }, () => Math.floor(rand() * 256));
  };
  return Array.from({ length: n }, (_, i) => ({
    key: maybeBytes(20),
    value: maybeBytes(300),
    timestamp: t0 + i * 7 - (i % 3 === 0 ? 5 : 0),
    headers: rand() < 0.5 ? [] : Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, h) => ({
      key: h % 2 ? "dup" : `h${h}é`,
      value: maybeBytes(10),
    })),
  }));
}

function checkRoundTrip(compression: number) {
  const rand = prng(compression + 1);
  const input = randomRecords(rand, 300, 1_700_000_000_000);
  const data = concat(
    encodeRecordBatch({ baseOffset: 1000n, records: input.slice(0, 100), compression }),
    encodeRecordBatch({ baseOffset: 1100n, records: input.slice(100), compression }),
  );
  const { records, nextOffset } = decode(data);
  assert.equal(nextOffset, 1300n);
  assert.equal(records.length, input.length);
  records.forEach((r, i) => {
    assert.equal(r.offset, 1000n + BigInt(i));
    assert.equal(r.timestamp, input[i].timestamp);
    assert.deepEqual(r.key, input[i].key);
    assert.deepEqual(r.value, input[i].value);
    assert.deepEqual(r.headers, input[i].headers);
  });
}

Deno.test("decodeRecordBatches() round-trips random records", () => checkRoundTrip(0));

// The codecs are implemented in compression/; each round trip runs once its
// codec is available there.
for (const [name, codec] of [["gzip", 1], ["snappy", 2], ["lz4", 3], ["zstd", 4]] as const) {
  let available = true;
  try {
    compress(codec, new Uint8Array(1));
  } catch {
    available = false;
  }
  Deno.test({
    name: `decodeRecordBatches() round-trips ${name}-compressed batches`,
    ignore: !available,
    fn: () => checkRoundTrip(codec),
  });
}

Deno.test("decodeRecordBatches() keeps null keys, null values and empty ones apart", () => {
  const data = encodeRecordBatch({
    records: [
      { key: null, value: null },
      { key: new Uint8Array(0), value: new Uint8Array(0) },
      { value: bytes("x") },
    ],
  });
  const [a, b, c] = decode(data).records;
  assert.equal(a.key, null);
  assert.equal(a.value, null);
  assert.deepEqual(b.key, new Uint8Array(0));
  assert.deepEqual(b.value, new Uint8Array(0));
  assert.equal(c.key, null);
  assert.equal(text(c.value), "x");
});

Deno.test("decodeRecordBatches() keeps header order, duplicates and null values", () => {
  const headers = [
    { key: "trace", value: bytes("1") },
    { key: "trace", value: null },
    { key: "", value: new Uint8Array(0) },
    { key: "ключ", value: bytes("2") },
    { key: "k".repeat(100), value: bytes("long") },
  ];
  const data = encodeRecordBatch({ records: [{ value: null, headers }, { value: null }] });
  const [a, b] = decode(data).records;
  assert.deepEqual(a.headers, headers);
  assert.equal(a.headers, a.headers, "headers are decoded once");
  assert.ok(Object.isFrozen(a.headers));
  assert.equal(b.headers, EMPTY_HEADERS);
});

Deno.test("decodeRecordBatches() decodes an invalid UTF-8 header key with replacement characters", () => {
  const batch = encodeRecordBatch({
    records: [{ value: null, headers: [{ key: "ab", value: null }] }],
  });
  const at = batch.indexOf(0x61, 61); // the "a" of the key
  batch[at] = 0xff;
  const [r] = decode(resign(batch)).records;
  assert.equal(r.headers[0].key, "\ufffdb");
});

Deno.test("decodeRecordBatches() gives every record the log-append time of a LogAppendTime batch", () => {
  const data = encodeRecordBatch({
    records: [{ value: null, timestamp: 10 }, { value: null, timestamp: 20 }],
    logAppendTime: 99_000,
  });
  assert.deepEqual(decode(data).records.map((r) => r.timestamp), [99_000, 99_000]);
});

Deno.test("decodeRecordBatches() reads timestamp deltas beyond 28 bits and below zero", () => {
  const t0 = 1_700_000_000_000;
  const stamps = [t0, t0 - 1, t0 + 2 ** 40, t0 - 2 ** 35, -1];
  const data = encodeRecordBatch({
    baseTimestamp: t0,
    records: stamps.map((timestamp) => ({ value: null, timestamp })),
  });
  assert.deepEqual(decode(data).records.map((r) => r.timestamp), stamps);
});

Deno.test("decodeRecordBatches() computes exact offsets beyond 2^53", () => {
  const base = 2n ** 62n + 3n;
  const data = encodeRecordBatch({ baseOffset: base, records: [{ value: null }, { value: null }] });
  const { records, nextOffset } = decode(data);
  assert.deepEqual(offsets(records), [base, base + 1n]);
  assert.equal(nextOffset, base + 2n);
  assert.equal(records[1].offset, records[1].offset, "offset is computed once");
});

Deno.test("decodeRecordBatches() handles offsets near 2^63 on its bigint path", () => {
  const max = 2n ** 63n - 1n;
  const a = max - 20n;
  const data = concat(
    encodeRecordBatch({ baseOffset: 5n, records: [{ value: null }] }),
    encodeRecordBatch({
      baseOffset: a,
      producerId: 9n,
      producerEpoch: 0,
      transactional: true,
      records: Array(3).fill({ value: null }),
    }),
    encodeRecordBatch({ baseOffset: a + 3n, records: Array(3).fill({ value: null }) }),
  );
  const all = decode(data);
  assert.deepEqual(offsets(all.records), [5n, a, a + 1n, a + 2n, a + 3n, a + 4n, a + 5n]);
  assert.equal(all.nextOffset, a + 6n);
  assert.deepEqual(offsets(decode(data, { fromOffset: a + 4n }).records), [a + 4n, a + 5n]);
  assert.deepEqual(offsets(decode(data, { fromOffset: a - 4n }).records).length, 6);
  assert.equal(decode(data, { fromOffset: max }).nextOffset, max);
  const committed = decode(data, { abortedTransactions: [{ producerId: 9n, firstOffset: a }] });
  assert.deepEqual(offsets(committed.records), [5n, a + 3n, a + 4n, a + 5n]);
  const backwards = concat(
    encodeRecordBatch({ baseOffset: a, records: Array(3).fill({ value: null }) }),
    encodeRecordBatch({ baseOffset: a + 1n, records: [{ value: null }] }),
  );
  assertCorrupt(() => decode(backwards), /overlaps the previous batch/, a + 1n);
  const bigThenSmall = concat(
    encodeRecordBatch({ baseOffset: a, records: [{ value: null }] }),
    encodeRecordBatch({ baseOffset: 7n, records: [{ value: null }] }),
  );
  assertCorrupt(() => decode(bigThenSmall), /overlaps the previous batch/, 7n);
});

Deno.test("decodeRecordBatches() drops records below fromOffset", () => {
  const data = concat(
    encodeRecordBatch({ baseOffset: 10n, records: Array(5).fill({ value: null }) }),
    encodeRecordBatch({ baseOffset: 15n, records: Array(5).fill({ value: null }) }),
  );
  assert.deepEqual(offsets(decode(data, { fromOffset: 13n }).records), [
    13n,
    14n,
    15n,
    16n,
    17n,
    18n,
    19n,
  ]);
  assert.deepEqual(offsets(decode(data, { fromOffset: 16n }).records), [16n, 17n, 18n, 19n]);
  assert.equal(decode(data, { fromOffset: 5n }).records.length, 10);
  const past = decode(data, { fromOffset: 30n });
  assert.deepEqual(past.records, []);
  assert.equal(past.nextOffset, 30n, "nextOffset never goes below fromOffset");
});

Deno.test("decodeRecordBatches() follows compaction gaps and empty batches", () => {
  const data = concat(
    encodeRecordBatch({
      baseOffset: 0n,
      records: [{ value: bytes("a"), offsetDelta: 1 }, { value: bytes("b"), offsetDelta: 4 }],
      lastOffsetDelta: 6,
    }),
    // All records compacted away; the batch is kept (e.g. for producer state).
    encodeRecordBatch({ baseOffset: 7n, records: [], lastOffsetDelta: 2 }),
  );
  const { records, nextOffset } = decode(data);
  assert.deepEqual(offsets(records), [1n, 4n]);
  assert.equal(nextOffset, 10n);
  assert.equal(decode(data, { fromOffset: 2n }).records.length, 1);
});

/**
 * Offsets 0-1: producer 1's transaction, aborted. 2: no producer. 3-4:
 * producer 2's transaction, committed. 5: producer 1's ABORT. 6: producer 2's
 * COMMIT. 7-8: producer 1 again, a new transaction, committed at 9.
 * 10-11: producer 2, aborted at 12.
 */
function transactionalLog(): Uint8Array {
  const txn = (baseOffset: bigint, producerId: bigint, n: number) =>
    encodeRecordBatch({
      baseOffset,
      producerId,
      producerEpoch: 0,
      transactional: true,
      records: Array.from({ length: n }, (_, i) => ({ value: bytes(`${producerId}-${i}`) })),
    });
  return concat(
    txn(0n, 1n, 2),
    encodeRecordBatch({ baseOffset: 2n, records: [{ value: bytes("plain") }] }),
    txn(3n, 2n, 2),
    encodeControlBatch({ baseOffset: 5n, producerId: 1n, type: "abort" }),
    encodeControlBatch({ baseOffset: 6n, producerId: 2n, type: "commit" }),
    txn(7n, 1n, 2),
    encodeControlBatch({ baseOffset: 9n, producerId: 1n, type: "commit" }),
    txn(10n, 2n, 2),
    encodeControlBatch({ baseOffset: 12n, producerId: 2n, type: "abort" }),
  );
}

Deno.test("decodeRecordBatches() never delivers control records", () => {
  const { records, nextOffset } = decode(transactionalLog());
  assert.deepEqual(offsets(records), [0n, 1n, 2n, 3n, 4n, 7n, 8n, 10n, 11n]);
  assert.equal(nextOffset, 13n, "nextOffset covers the trailing control batch");
});

Deno.test("decodeRecordBatches() drops aborted transactions under read_committed", () => {
  const { records, nextOffset } = decode(transactionalLog(), {
    // Unsorted on purpose: the decoder sorts by first offset.
    abortedTransactions: [{ producerId: 2n, firstOffset: 10n }, {
      producerId: 1n,
      firstOffset: 0n,
    }],
  });
  assert.deepEqual(offsets(records), [2n, 3n, 4n, 7n, 8n]);
  assert.equal(nextOffset, 13n);
  // Empty list: read_committed with nothing aborted.
  assert.equal(decode(transactionalLog(), { abortedTransactions: [] }).records.length, 9);
});

Deno.test("decodeRecordBatches() keeps producer 1's later transaction once its ABORT marker passed", () => {
  // Only producer 1's first transaction is aborted: the ABORT at 5 ends it, so
  // its transaction at 7-8 is delivered.
  const { records } = decode(transactionalLog(), {
    abortedTransactions: [{ producerId: 1n, firstOffset: 0n }],
  });
  assert.deepEqual(offsets(records), [2n, 3n, 4n, 7n, 8n, 10n, 11n]);
});

Deno.test("decodeRecordBatches() stops at a batch cut short by the fetch limit", () => {
  const first = encodeRecordBatch({ baseOffset: 0n, records: [{ value: bytes("a") }] });
  const second = encodeRecordBatch({ baseOffset: 1n, records: [{ value: bytes("bb") }] });
  const whole = concat(first, second);
  for (let cut = first.length + 1; cut < whole.length; cut++) {
    const result = decode(whole.subarray(0, cut));
    assert.deepEqual(offsets(result.records), [0n]);
    assert.equal(result.nextOffset, 1n);
    assert.equal(result.truncated, true);
    assert.equal(result.truncatedBatchSize, cut - first.length >= 12 ? second.length : null);
  }
  // Not even the first batch fits: the caller must fetch at least truncatedBatchSize bytes.
  for (let cut = 1; cut < first.length; cut++) {
    const result = decode(first.subarray(0, cut));
    assert.deepEqual(result.records, []);
    assert.equal(result.nextOffset, null);
    assert.equal(result.truncated, true);
    assert.equal(result.truncatedBatchSize, cut >= 12 ? first.length : null);
  }
});

Deno.test("decodeRecordBatches() reports a CRC mismatch with topic, partition and offset", () => {
  const batch = encodeRecordBatch({ baseOffset: 42n, records: [{ value: bytes("hello") }] });
  batch[batch.length - 2] ^= 1;
  assertCorrupt(
    () => decode(batch),
    /^record batch CRC mismatch: stored 0x[0-9a-f]{8}, computed/,
    42n,
  );
  assert.equal(decode(batch, { verifyCrc: false }).records.length, 1);
});

Deno.test("decodeRecordBatches() rejects magic versions other than 2", () => {
  const batch = encodeRecordBatch({ baseOffset: 8n, records: [{ value: null }] });
  batch[16] = 1;
  assertCorrupt(() => decode(batch), /magic 1 is unsupported/, 8n);
});

Deno.test("decodeRecordBatches() rejects impossible batch lengths", () => {
  const batch = encodeRecordBatch({ records: [{ value: null }] });
  const view = new DataView(batch.buffer);
  view.setInt32(8, -5);
  assertCorrupt(() => decode(batch), /batch length -5 is shorter than the 49-byte header/);
  view.setInt32(8, 48);
  assertCorrupt(() => decode(batch), /batch length 48 is shorter/);
  view.setInt32(8, 0x7fffffff);
  assertCorrupt(() => decode(batch), /exceeds the 1073741824-byte limit/);
  view.setInt32(8, 100_000);
  assert.equal(decode(batch).truncatedBatchSize, 100_012, "a plausible length is a truncation");
  assertCorrupt(() => decode(batch, { maxBatchSize: 65536 }), /exceeds the 65536-byte limit/);
});

/** A one-record batch whose record bytes are replaced by `record`, re-signed. */
function withRecordBytes(record: number[], count = 1): Uint8Array {
  const header = encodeRecordBatch({ baseOffset: 0n, records: [] }).subarray(0, 61);
  const batch = concat(header, Uint8Array.from(record));
  const view = new DataView(batch.buffer);
  view.setInt32(8, batch.length - 12);
  view.setInt32(57, count);
  view.setInt32(23, Math.max(count - 1, 0));
  return resign(batch);
}

Deno.test("decodeRecordBatches() rejects malformed records", () => {
  // A valid record body for reference: length 6, attrs, ts 0, offset 0, key null, value null, 0 headers.
  const ok = [0x0c, 0, 0, 0, 1, 1, 0];
  assert.equal(decode(withRecordBytes(ok)).records.length, 1);
  const cases: Array<[number[], RegExp, number?]> = [
    [[0x0e, 0, 0, 0, 1, 1, 0], /record 0 of the batch: record length 7 runs past the end/],
    [[0x0a, 0, 0, 0, 1, 1], /record length 5 is too small/],
    [[0x01], /record length -1 is too small/],
    [[0x0c, 0, 0, 0, 3, 1, 0], /key length -2 is invalid/],
    [[0x0c, 0, 0, 0, 1, 3, 0], /value length -2 is invalid/],
    [[0x0c, 0, 0, 0, 0x10, 1, 0], /key length 8 runs past the end of the record/],
    [[0x0c, 0, 0, 0, 1, 0x10, 0], /value length 8 runs past the end of the record/],
    [[0x0c, 0, 0, 0, 1, 1, 1], /header count -1 is invalid/],
    [[0x0c, 0, 0, 0, 1, 1, 2], /header count 1 is invalid/],
    [[0x10, 0, 0, 0, 1, 1, 2, 0x80, 0x80], /header key length runs past the end of the record/],
    [[0x10, 0, 0, 0, 1, 1, 2, 3, 0], /header 0 key length -2 is invalid/],
    [[0x10, 0, 0, 0, 1, 1, 2, 0, 3], /header 0 value length -2 is invalid/],
    [[0x10, 0, 0, 0, 1, 1, 2, 0x04, 0], /header 0 key length 2 runs past/],
    [[0x0e, 0, 0, 0, 1, 1, 0, 0], /record length 7 does not match its fields \(6 bytes\)/],
    [[0x0c, 0, 0, 4, 1, 1, 0], /offset delta 2 is out of order/],
    [[0x0c, 0, 0, 1, 1, 1, 0], /offset delta -1 is out of order/],
    [
      [0x16, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 1, 0],
      /offset delta varint is longer than 5 bytes/,
    ],
    [
      [0x1e, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 0, 1, 1],
      /timestamp delta varlong is longer than 10 bytes/,
    ],
    [[0x0c, 0, 0, 0, 1, 1, 0], /declares 2 records but its data ends after 1/, 2],
    [[0x0c, 0, 0, 0, 1, 1, 0, 0x0c, 0, 0, 2, 1, 1, 0, 0], /1 unread bytes follow the 2 records/, 2],
    [[0x0c, 0, 0, 0, 1, 1, 0, 0x0c, 0, 0, 2, 1, 1, 0], /14 unread bytes follow the 0 records/, 0],
    [[0x8c], /record length runs past the end of the batch/],
  ];
  for (const [record, pattern, count] of cases) {
    assertCorrupt(() => decode(withRecordBytes(record, count ?? 1)), pattern);
  }
});

Deno.test("decodeRecordBatches() rejects negative header fields and overlapping batches", () => {
  const batch = encodeRecordBatch({ baseOffset: 3n, records: [{ value: null }] });
  const view = new DataView(batch.buffer);
  view.setInt32(23, -1);
  assertCorrupt(() => decode(resign(batch)), /last offset delta -1 is negative/, 3n);
  view.setInt32(23, 0);
  view.setInt32(57, -1);
  assertCorrupt(() => decode(resign(batch)), /record count -1 is negative/, 3n);
  view.setInt32(57, 1);
  view.setBigInt64(0, -3n);
  assertCorrupt(() => decode(resign(batch)), /base offset -3 is negative/, -3n);
  view.setBigInt64(0, 3n);
  const overlapping = concat(
    encodeRecordBatch({ baseOffset: 0n, records: Array(5).fill({ value: null }) }),
    resign(batch),
  );
  assertCorrupt(() => decode(overlapping), /base offset 3 overlaps the previous batch/, 3n);
});

Deno.test("decodeRecordBatches() rejects an unknown compression codec", () => {
  const batch = encodeRecordBatch({ baseOffset: 1n, records: [{ value: null }] });
  batch[22] |= 7;
  assertCorrupt(() => decode(resign(batch)), /compression codec 7 is unknown/, 1n);
});

Deno.test("decodeRecordBatches() reports records that do not decompress as corrupt", () => {
  for (const codec of [1, 2, 3, 4]) {
    const batch = encodeRecordBatch({
      baseOffset: 6n,
      records: [{ value: bytes("compressible ".repeat(50)) }],
      compression: codec,
    });
    batch.fill(0x5a, 61 + 2, 61 + 12);
    assertCorrupt(() => decode(resign(batch)), /records could not be decompressed/, 6n);
  }
});

Deno.test("decodeRecordBatches() rejects a control record too short to have a type", () => {
  const marker = encodeControlBatch({ baseOffset: 4n, producerId: 1n, type: "abort" });
  // Key length 4 -> 1 (zigzag 8 -> 2) and the record shrinks by three bytes.
  const record = [...marker.subarray(61)];
  record[4] = 2;
  record.splice(6, 3);
  record[0] -= 6;
  const batch = concat(marker.subarray(0, 61), Uint8Array.from(record));
  new DataView(batch.buffer).setInt32(8, batch.length - 12);
  resign(batch);
  assert.equal(decode(batch).nextOffset, 5n, "read_uncommitted does not interpret markers");
  assertCorrupt(
    () => decode(batch, { abortedTransactions: [] }),
    /control record key is shorter than the 4 bytes/,
    4n,
  );
});

Deno.test("decodeRecordBatches() either decodes or throws CorruptDataError on 20,000 mutations", () => {
  const rand = prng(7);
  const valid = concat(
    encodeRecordBatch({ baseOffset: 100n, records: randomRecords(rand, 20, 1_000_000) }),
    encodeRecordBatch({
      baseOffset: 120n,
      records: randomRecords(rand, 5, 2_000_000),
      logAppendTime: 5,
    }),
    encodeRecordBatch({ baseOffset: 125n, records: [], lastOffsetDelta: 3 }),
  );
  const compressed = concat(
    encodeRecordBatch({
      baseOffset: 0n,
      records: randomRecords(rand, 10, 1_000_000),
      compression: 1,
    }),
    encodeRecordBatch({ baseOffset: 10n, records: randomRecords(rand, 10, 0), compression: 2 }),
    encodeRecordBatch({ baseOffset: 20n, records: randomRecords(rand, 10, 0), compression: 3 }),
    encodeRecordBatch({ baseOffset: 30n, records: randomRecords(rand, 10, 0), compression: 4 }),
  );
  const logs = [valid, transactionalLog(), compressed];
  let decoded = 0;
  let corrupt = 0;
  for (let i = 0; i < 20_000; i++) {
    const original = logs[i % logs.length];
    let data: Uint8Array = original.slice();
    const kind = Math.floor(rand() * 5);
    if (kind === 0) {
      // Bit flips.
      for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
        data[Math.floor(rand() * data.length)] ^= 1 << Math.floor(rand() * 8);
      }
    } else if (kind === 1) {
      data = data.subarray(0, Math.floor(rand() * data.length));
    } else if (kind === 2) {
      // Tamper with a batch length field (the first batch's, or any 4 bytes).
      const at = rand() < 0.5 ? 8 : Math.floor(rand() * (data.length - 4));
      new DataView(data.buffer).setInt32(at, Math.floor((rand() - 0.3) * 2 ** 31));
    } else if (kind === 3) {
      // Random bytes over a few positions, like a corrupt varint or length.
      for (let n = 1 + Math.floor(rand() * 4); n > 0; n--) {
        data[Math.floor(rand() * data.length)] = Math.floor(rand() * 256);
      }
    } else {
      // Splice: drop or duplicate a slice inside a record area.
      const a = Math.floor(rand() * data.length);
      const b = Math.min(data.length, a + 1 + Math.floor(rand() * 8));
      data = rand() < 0.5
        ? concat(data.subarray(0, a), data.subarray(b))
        : concat(data.subarray(0, b), data.subarray(a));
    }
    // Without CRC checks the record parser faces the damage directly;
    // re-signing the first batch does the same with CRC checks on.
    const verifyCrc = rand() < 0.5;
    if (verifyCrc && data.length >= 61 && rand() < 0.8) {
      const len = new DataView(data.buffer, data.byteOffset).getInt32(8);
      if (len >= 49 && 12 + len <= data.length) resign(data);
    }
    const abortedTransactions = rand() < 0.5 ? null : [{ producerId: 1n, firstOffset: 0n }];
    try {
      const { records } = decode(data, { verifyCrc, abortedTransactions });
      let previous = -1n;
      for (const r of records) {
        assert.ok(r.offset > previous, "offsets increase");
        previous = r.offset;
        void r.headers.length;
        void r.timestamp;
        for (const b of [r.key, r.value]) {
          if (b !== null && original !== compressed) {
            assert.equal(b.buffer, data.buffer, "views point into the input");
          }
        }
      }
      decoded++;
    } catch (e) {
      if (!(e instanceof CorruptDataError)) {
        throw new Error(`mutation ${i} (kind ${kind}) threw ${e}`, { cause: e });
      }
      assert.match(e.message, /\(topic orders, partition 3, offset -?\d+\)$/);
      corrupt++;
    }
  }
  // Both outcomes must actually occur for the test to mean something.
  assert.ok(decoded > 1000, `decoded ${decoded}`);
  assert.ok(corrupt > 1000, `corrupt ${corrupt}`);
});

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
