import assert from "node:assert/strict";
import { CorruptDataError } from "../errors.ts";
import {
  compress,
  Compression,
  compressionName,
  decompress,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
} from "./mod.ts";
import { fixture } from "./testdata/helpers.ts";
import { sampleText } from "./testdata/samples.ts";

const codecs = [Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd];

Deno.test("decompress() dispatches on the codec id to every Kafka fixture", () => {
  const text = fixture("text.bin");
  assert.deepEqual(decompress(Compression.gzip, fixture("text.gzip.kafka.bin")), text);
  assert.deepEqual(decompress(Compression.snappy, fixture("text.snappy.kafka.bin")), text);
  assert.deepEqual(decompress(Compression.snappy, fixture("text.snappy.raw.bin")), text);
  assert.deepEqual(decompress(Compression.lz4, fixture("text.lz4.kafka.bin")), text);
  assert.deepEqual(decompress(Compression.zstd, fixture("text.zstd.kafka.bin")), text);
});

Deno.test("compress() then decompress() round-trips for every codec", () => {
  const data = sampleText(100_000);
  for (const codec of [Compression.none, ...codecs]) {
    const packed = compress(codec, data);
    if (codec !== Compression.none) assert.ok(packed.length < data.length / 2);
    assert.deepEqual(decompress(codec, packed), data, compressionName(codec));
  }
  assert.deepEqual(
    decompress(Compression.gzip, compress(Compression.gzip, data, { level: 9 })),
    data,
  );
  assert.deepEqual(
    decompress(Compression.zstd, compress(Compression.zstd, data, { level: 19 })),
    data,
  );
});

Deno.test("decompress() returns codec 0 data itself and an empty input as empty", () => {
  const data = new Uint8Array([1, 2, 3]);
  assert.equal(decompress(Compression.none, data), data);
  for (const codec of codecs) assert.equal(decompress(codec, new Uint8Array(0)).length, 0);
});

Deno.test("decompress() names an unknown codec id and says the data cannot be read", () => {
  for (const codec of [5, 6, 7, -1, 2.5]) {
    assert.throws(() => decompress(codec, new Uint8Array([1])), (e: unknown) => {
      assert.ok(e instanceof CorruptDataError);
      assert.match(e.message, new RegExp(`^compression codec ${codec} is not one Kafka defines`));
      assert.match(e.message, /cannot be read/);
      return true;
    });
    assert.throws(() => compress(codec, new Uint8Array([1])), CorruptDataError);
  }
});

Deno.test("decompress() applies maxDecompressedBytes to every codec", () => {
  const data = new Uint8Array(10_000);
  for (const codec of codecs) {
    const packed = compress(codec, data);
    assert.equal(decompress(codec, packed, { maxDecompressedBytes: 10_000 }).length, 10_000);
    assert.throws(
      () => decompress(codec, packed, { maxDecompressedBytes: 9_999 }),
      (e: unknown) => {
        assert.ok(e instanceof CorruptDataError);
        assert.match(e.message, /larger than the limit of 9999 bytes/);
        return true;
      },
    );
  }
  assert.throws(() => decompress(1, data, { maxDecompressedBytes: -1 }), RangeError);
  assert.equal(DEFAULT_MAX_DECOMPRESSED_BYTES, 256 * 1024 * 1024);
});

Deno.test("compressionName() names codec ids", () => {
  assert.deepEqual([0, 1, 2, 3, 4].map(compressionName), ["none", "gzip", "snappy", "lz4", "zstd"]);
  assert.equal(compressionName(6), "unknown codec 6");
});
