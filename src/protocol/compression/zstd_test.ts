import assert from "node:assert/strict";
import { fixture, throwsCorrupt } from "./testdata/helpers.ts";
import { tryBitFlips, tryGarbage, tryTruncations } from "./testdata/hostile.ts";
import { samples, sampleText } from "./testdata/samples.ts";
import { compressZstd, decompressZstd, hasNativeZstd } from "./zstd.ts";

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

Deno.test("node:zlib has zstd in this Deno", () => {
  assert.ok(hasNativeZstd);
});

for (const decoder of ["auto", "fzstd"] as const) {
  const decode = (d: Uint8Array, max = 1 << 28) =>
    decompressZstd(d, { maxOutputBytes: max, decoder });

  Deno.test(`decompressZstd(${decoder}) reads Kafka's streamed frame without a content size`, () => {
    const kafka = fixture("text.zstd.kafka.bin");
    assert.equal(kafka[4] >>> 6, 0, "the fixture's frame has no content size");
    assert.deepEqual(decode(kafka), fixture("text.bin"));
  });

  Deno.test(`decompressZstd(${decoder}) reads two frames back to back`, () => {
    assert.deepEqual(decode(fixture("text.zstd.two-frames.bin")), fixture("text.bin"));
  });

  Deno.test(`decompressZstd(${decoder}) skips skippable frames`, () => {
    const a = compressZstd(sampleText(1000, 1));
    const skippable = [0x5a, 0x2a, 0x4d, 0x18, ...u32(2), 9, 9];
    const input = new Uint8Array([...skippable, ...a, ...skippable]);
    assert.deepEqual(decode(input), sampleText(1000, 1));
  });

  for (const [name, data] of Object.entries(samples())) {
    Deno.test(`zstd(${decoder}) round-trips ${name} (${data.length} bytes)`, () => {
      assert.deepEqual(decode(compressZstd(data)), data);
    });
  }

  Deno.test(`decompressZstd(${decoder}) rejects truncated input and trailing garbage`, () => {
    const valid = fixture("text.zstd.kafka.bin");
    // node:zlib alone returns a prefix of the output for these; the frame walk catches them.
    throwsCorrupt(() => decode(valid.subarray(0, 5000)), /runs past the end of the input/);
    throwsCorrupt(() => decode(valid.subarray(0, valid.length - 1)), /truncated|runs past/);
    throwsCorrupt(
      () => decode(new Uint8Array([...valid, 1, 2, 3, 4])),
      /bad frame magic 0x04030201/,
    );
    throwsCorrupt(() => decode(new Uint8Array([...valid, 1, 2])), /frame magic is truncated/);
  });

  Deno.test(`decompressZstd(${decoder}) caps the output at maxOutputBytes`, () => {
    const kafka = fixture("text.zstd.kafka.bin");
    throwsCorrupt(() => decode(kafka, 69_999), /zstd: .*larger than the limit of 69999 bytes/);
    assert.equal(decode(kafka, 70_000).length, 70_000);
    // With a declared content size the cap applies before decoding.
    throwsCorrupt(() => decode(compressZstd(new Uint8Array(5000)), 4999), /limit of 4999/);
  });

  Deno.test(`decompressZstd(${decoder}) survives every truncation, bit flips and garbage`, () => {
    const plain = sampleText(6000);
    for (const valid of [compressZstd(plain), fixture("text.zstd.kafka.bin").subarray(0)]) {
      tryTruncations((d) => decode(d, 1 << 20), valid.subarray(0, 3000));
      const flips = tryBitFlips((d) => decode(d, 1 << 20), valid, 1500);
      assert.ok(flips.rejected > 0, JSON.stringify(flips));
    }
    tryGarbage((d) => decode(d, 1 << 20), new Uint8Array([...MAGIC, 0]));
  });
}

Deno.test("decompressZstd() checks frame headers before decoding", () => {
  throwsCorrupt(() => decompressZstd(new Uint8Array(0)), /holds no zstd frame/);
  throwsCorrupt(() => decompressZstd(new Uint8Array([...MAGIC])), /frame header is truncated/);
  // Reserved bit 3 of the frame header descriptor.
  throwsCorrupt(() => decompressZstd(new Uint8Array([...MAGIC, 0x08, 0x50])), /reserved bit/);
  // Dictionary id 7 (1-byte field), window descriptor 0x50.
  throwsCorrupt(
    () => decompressZstd(new Uint8Array([...MAGIC, 0x01, 0x50, 7])),
    /needs dictionary 7/,
  );
  // Window log 10 + 22 = 32: 4 GiB.
  throwsCorrupt(
    () => decompressZstd(new Uint8Array([...MAGIC, 0x00, 22 << 3, 1, 0, 0])),
    /window of 4294967296 bytes/,
  );
  // Reserved block type 3.
  throwsCorrupt(
    () => decompressZstd(new Uint8Array([...MAGIC, 0x00, 0x50, 0x07, 0, 0])),
    /reserved block type/,
  );
  // A content size of 1 GiB backed by one raw block of 1 byte: no allocation, an error.
  throwsCorrupt(
    () => decompressZstd(new Uint8Array([...MAGIC, 0x80, 0x50, ...u32(1 << 30), 0x09, 0, 0, 65])),
    /limit of|declares 1073741824 bytes of content, but its blocks hold at most 1/,
  );
  // A raw block bigger than the 128 KiB block maximum.
  throwsCorrupt(
    () => decompressZstd(new Uint8Array([...MAGIC, 0x00, 0x50, ...u32((200_000 << 3) | 1)])),
    /block of 200000 bytes exceeds/,
  );
});
