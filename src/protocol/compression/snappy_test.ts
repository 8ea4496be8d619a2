import assert from "node:assert/strict";
import {
  compressSnappy,
  compressSnappyBlock,
  decompressSnappy,
  decompressSnappyBlock,
  type SnappyDecompressOptions,
} from "./snappy.ts";
import { fixture, throwsCorrupt } from "./testdata/helpers.ts";
import { tryBitFlips, tryGarbage, tryTruncations } from "./testdata/hostile.ts";
import { samples, sampleText } from "./testdata/samples.ts";

for (const decoder of ["js", "auto"] as const) {
  const decodeXerial = (data: Uint8Array, options: SnappyDecompressOptions = {}) =>
    decompressSnappy(data, { decoder, ...options });
  const decodeBlock = (data: Uint8Array, options: SnappyDecompressOptions = {}) =>
    decompressSnappyBlock(data, { decoder, ...options });

  Deno.test(`decompressSnappy() reads what Kafka's Java producer wrote (xerial framing) [${decoder}]`, () => {
    assert.deepEqual(decodeXerial(fixture("text.snappy.kafka.bin")), fixture("text.bin"));
    assert.deepEqual(decodeXerial(fixture("mixed.snappy.kafka.bin")), fixture("mixed.bin"));
  });

  Deno.test(`decompressSnappy() reads a raw snappy block, as librdkafka may write [${decoder}]`, () => {
    assert.deepEqual(decodeXerial(fixture("text.snappy.raw.bin")), fixture("text.bin"));
    assert.deepEqual(decodeBlock(fixture("text.snappy.raw.bin")), fixture("text.bin"));
  });

  Deno.test(`decompressSnappy() reads concatenated xerial streams [${decoder}]`, () => {
    const a = sampleText(50_000, 1);
    const b = sampleText(40_000, 2);
    const both = new Uint8Array([...compressSnappy(a), ...compressSnappy(b)]);
    assert.deepEqual(decodeXerial(both), new Uint8Array([...a, ...b]));
  });

  for (const [name, data] of Object.entries(samples())) {
    Deno.test(`snappy round-trips ${name} (${data.length} bytes) [${decoder}]`, () => {
      assert.deepEqual(decodeXerial(compressSnappy(data)), data);
      assert.deepEqual(decodeBlock(compressSnappyBlock(data)), data);
      assert.deepEqual(decodeXerial(compressSnappyBlock(data)), data);
    });
  }

  Deno.test(`compressSnappy() writes the xerial header and 32 KiB chunks [${decoder}]`, () => {
    const out = compressSnappy(sampleText(70_000));
    assert.deepEqual([...out.subarray(0, 16)], [
      0x82,
      0x53,
      0x4e,
      0x41,
      0x50,
      0x50,
      0x59,
      0x00,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      1,
    ]);
    // Three chunks: 32 KiB, 32 KiB, the rest; each opens with its own varint length.
    let pos = 16;
    const sizes: number[] = [];
    while (pos < out.length) {
      const len = new DataView(out.buffer, out.byteOffset + pos).getInt32(0);
      sizes.push(decodeBlock(out.subarray(pos + 4, pos + 4 + len)).length);
      pos += 4 + len;
    }
    assert.deepEqual(sizes, [32768, 32768, 70_000 - 65536]);
  });

  Deno.test(`decompressSnappy() rejects a copy that reaches before the start of the output [${decoder}]`, () => {
    // Length 8; literal "ab"; copy-2 of 6 bytes at offset 3 (only 2 bytes exist).
    const block = new Uint8Array([8, 1 << 2, 0x61, 0x62, 2 | (5 << 2), 3, 0]);
    throwsCorrupt(() => decodeXerial(block), /snappy: copy offset 3 points before the start/);
    // Offset 0 is never valid.
    throwsCorrupt(() => decodeXerial(new Uint8Array([4, 0, 0x61, 1, 0])), /copy offset 0/);
  });

  Deno.test(`decompressSnappy() rejects a copy reaching into the previous xerial chunk [${decoder}]`, () => {
    const first = compressSnappyBlock(new TextEncoder().encode("abcdefgh"));
    // Second chunk: length 4, a copy-1 of 4 bytes at offset 2, with no literal before it.
    const second = new Uint8Array([4, 1 | (0 << 2), 2]);
    const header = compressSnappy(new Uint8Array(0));
    const chunk = (b: Uint8Array) => [0, 0, 0, b.length, ...b];
    const stream = new Uint8Array([...header, ...chunk(first), ...chunk(second)]);
    throwsCorrupt(() => decodeXerial(stream), /copy offset 2 points before the start/);
  });

  Deno.test(`decompressSnappy() rejects lengths that disagree with the data [${decoder}]`, () => {
    // Declares 10 bytes, holds a 3-byte literal.
    throwsCorrupt(
      () => decodeXerial(new Uint8Array([10, 2 << 2, 1, 2, 3])),
      /decoded to 3 bytes, but its header declares 10/,
    );
    // Declares 2 bytes, holds a 3-byte literal.
    throwsCorrupt(
      () => decodeXerial(new Uint8Array([2, 2 << 2, 1, 2, 3])),
      /more than the 2 bytes its header declares/,
    );
    // Literal runs past the input.
    throwsCorrupt(
      () => decodeXerial(new Uint8Array([3, 2 << 2, 1, 2])),
      /literal of 3 bytes runs past the end/,
    );
    // A varint longer than 32 bits.
    throwsCorrupt(
      () => decodeXerial(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
      /not a valid 32-bit varint/,
    );
  });

  Deno.test(`decompressSnappy() refuses to allocate for a lying or oversized length [${decoder}]`, () => {
    // 4 GiB declared by a 6-byte block: rejected before any allocation.
    throwsCorrupt(
      () => decodeBlock(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0])),
      /limit of|more than it can hold/,
    );
    throwsCorrupt(
      () => decodeBlock(new Uint8Array([0xff, 0xff, 0x7f, 0])),
      /more than it can hold/,
    );
    const big = compressSnappy(new Uint8Array(100_000));
    throwsCorrupt(
      () => decodeXerial(big, { maxOutputBytes: 99_999 }),
      /larger than the limit of 99999 bytes/,
    );
    assert.deepEqual(decodeXerial(big, { maxOutputBytes: 100_000 }).length, 100_000);
    const raw = compressSnappyBlock(new Uint8Array(1000));
    throwsCorrupt(() => decodeBlock(raw, { maxOutputBytes: 999 }), /limit of 999 bytes/);
  });

  Deno.test(`decompressSnappy() rejects bad xerial framing [${decoder}]`, () => {
    const header = compressSnappy(new Uint8Array(0));
    throwsCorrupt(
      () => decodeXerial(new Uint8Array([...header, 0, 0, 1, 0, 1, 2])),
      /declares 256 bytes, but 2 remain/,
    );
    throwsCorrupt(() => decodeXerial(new Uint8Array([...header, 0, 0])), /truncated/);
    throwsCorrupt(() => decodeXerial(header.subarray(0, 12)), /header is truncated/);
    assert.deepEqual(decodeXerial(header).length, 0);
  });

  Deno.test(`decompressSnappy() survives every truncation, bit flips and garbage [${decoder}]`, () => {
    const plain = sampleText(6000);
    for (const valid of [compressSnappy(plain), compressSnappyBlock(plain)]) {
      const cut = tryTruncations((d) => decodeXerial(d), valid);
      assert.ok(cut.rejected > valid.length / 2, `${cut.rejected} truncations rejected`);
      const flips = tryBitFlips((d) => decodeXerial(d, { maxOutputBytes: 1 << 20 }), valid);
      assert.ok(flips.rejected > 0 && flips.decoded > 0, JSON.stringify(flips));
    }
    tryGarbage(
      (d) => decodeXerial(d, { maxOutputBytes: 1 << 20 }),
      compressSnappy(new Uint8Array(0)),
    );
  });
}
