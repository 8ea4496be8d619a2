import assert from "node:assert/strict";
import { compressLz4, decompressLz4, type Lz4DecompressOptions } from "./lz4.ts";
import { fixture, throwsCorrupt } from "./testdata/helpers.ts";
import { tryBitFlips, tryGarbage, tryTruncations } from "./testdata/hostile.ts";
import { samples, sampleText } from "./testdata/samples.ts";
import { hasWasmDecoders } from "./wasm/lz_wasm.ts";
import { xxhash32 } from "./xxhash32.ts";

/** Builds a frame from a descriptor (FLG, BD, optional fields) and raw block bytes. */
function frame(descriptor: number[], body: number[]): Uint8Array {
  const desc = new Uint8Array(descriptor);
  const hc = (xxhash32(desc) >>> 8) & 0xff;
  return new Uint8Array([0x04, 0x22, 0x4d, 0x18, ...desc, hc, ...body]);
}

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const STORED = 0x80000000;
const enc = (s: string): number[] => [...new TextEncoder().encode(s)];

/** Rewrites one of our frames with every optional field: content size, both checksums. */
function withAllFlags(plain: Uint8Array): Uint8Array {
  const ours = compressLz4(plain);
  const body: number[] = [];
  let p = 7;
  for (;;) {
    const header = new DataView(ours.buffer, ours.byteOffset + p).getUint32(0, true);
    p += 4;
    if (header === 0) break;
    const size = header & 0x7fffffff;
    body.push(...u32(header), ...ours.subarray(p, p + size), ...u32(xxhash32(ours, p, p + size)));
    p += size;
  }
  body.push(0, 0, 0, 0, ...u32(xxhash32(plain)));
  return frame([0x7c, 0x40, ...u32(plain.length), 0, 0, 0, 0], body);
}

Deno.test("the WebAssembly decoders load", () => {
  assert.ok(hasWasmDecoders);
});

for (const decoder of ["js", "auto"] as const) {
  const decode = (data: Uint8Array, options: Lz4DecompressOptions = {}) =>
    decompressLz4(data, { decoder, ...options });

  Deno.test(`decompressLz4() reads what Kafka's Java producer wrote [${decoder}]`, () => {
    assert.deepEqual(decode(fixture("text.lz4.kafka.bin")), fixture("text.bin"));
    // compression.lz4.level=12: lz4-java's HC compressor, longer and farther matches.
    assert.deepEqual(decode(fixture("text.lz4.kafka-level12.bin")), fixture("text.bin"));
    // The first 64 KiB of random bytes is stored as an uncompressed block.
    assert.deepEqual(decode(fixture("mixed.lz4.kafka.bin")), fixture("mixed.bin"));
  });

  Deno.test(`decompressLz4() reads content size, block and content checksums, 256 KiB blocks [${decoder}]`, () => {
    assert.deepEqual(decode(fixture("text.lz4.frame-all-flags.bin")), fixture("text.bin"));
  });

  for (const [name, data] of Object.entries(samples())) {
    Deno.test(`lz4 round-trips ${name} (${data.length} bytes) [${decoder}]`, () => {
      assert.deepEqual(decode(compressLz4(data)), data);
    });
  }

  Deno.test(`compressLz4() writes Kafka's frame shape: independent 64 KiB blocks, no checksums [${decoder}]`, () => {
    const out = compressLz4(sampleText(1000));
    assert.deepEqual([...out.subarray(0, 6)], [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40]);
    assert.equal(out[6], (xxhash32(out, 4, 6) >>> 8) & 0xff);
    assert.deepEqual([...out.subarray(out.length - 4)], [0, 0, 0, 0]);
    // Incompressible data goes into stored blocks (high bit of the size set).
    const random = compressLz4(samples().random1MiB);
    assert.equal(random[7 + 3] & 0x80, 0x80);
    assert.equal(random.length, 7 + 16 * (4 + 65536) + 4);
  });

  Deno.test(`decompressLz4() follows matches across linked (dependent) blocks [${decoder}]`, () => {
    const first = enc("0123456789abcdef");
    // A 16-byte match at offset 16, then an empty last sequence.
    const second = [0x0c, 16, 0, 0x00];
    const body = [
      ...u32((16 | STORED) >>> 0),
      ...first,
      ...u32(second.length),
      ...second,
      0,
      0,
      0,
      0,
    ];
    const linked = frame([0x40, 0x40], body);
    assert.equal(new TextDecoder().decode(decode(linked)), "0123456789abcdef".repeat(2));
    // The same blocks marked independent must not reach into the first block.
    throwsCorrupt(
      () => decode(frame([0x60, 0x40], body)),
      /lz4: match offset 16 points before the start of the output \(at byte 0\)/,
    );
  });

  Deno.test(`decompressLz4() reads several frames back to back and skips skippable frames [${decoder}]`, () => {
    const a = sampleText(70_000, 1);
    const b = sampleText(1000, 2);
    const skippable = [0x50, 0x2a, 0x4d, 0x18, ...u32(3), 1, 2, 3];
    const input = new Uint8Array([...compressLz4(a), ...skippable, ...compressLz4(b)]);
    assert.deepEqual(decode(input), new Uint8Array([...a, ...b]));
  });

  Deno.test(`decompressLz4() rejects bad headers [${decoder}]`, () => {
    throwsCorrupt(
      () => decode(new Uint8Array([1, 2, 3, 4, 0x60, 0x40, 0, 0, 0, 0, 0])),
      /lz4: bad frame magic 0x04030201/,
    );
    throwsCorrupt(
      () => decode(new Uint8Array([0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0])),
      /legacy lz4 format/,
    );
    const good = compressLz4(new TextEncoder().encode("hello"));
    const badChecksum = good.slice();
    badChecksum[6] ^= 1;
    throwsCorrupt(() => decode(badChecksum), /frame descriptor checksum mismatch/);
    throwsCorrupt(
      () => decode(frame([0x80, 0x40], [0, 0, 0, 0])),
      /unsupported frame version 2/,
    );
    throwsCorrupt(() => decode(frame([0x62, 0x40], [0, 0, 0, 0])), /reserved bits/);
    throwsCorrupt(() => decode(frame([0x60, 0x30], [0, 0, 0, 0])), /invalid block size id 3/);
    throwsCorrupt(
      () => decode(frame([0x61, 0x40, 1, 2, 3, 4], [0, 0, 0, 0])),
      /dictionary are not supported/,
    );
  });

  Deno.test(`decompressLz4() checks declared content size and checksums [${decoder}]`, () => {
    const hello = enc("hello");
    const stored = [...u32((5 | STORED) >>> 0), ...hello, 0, 0, 0, 0];
    // Content size 5 (FLG bit 3), as declared: fine.
    const size = (n: number) => [...u32(n), 0, 0, 0, 0];
    assert.deepEqual([...decode(frame([0x68, 0x40, ...size(5)], stored))], hello);
    throwsCorrupt(
      () => decode(frame([0x68, 0x40, ...size(4)], stored)),
      /more than the 4 bytes its header declares/,
    );
    throwsCorrupt(
      () => decode(frame([0x68, 0x40, ...size(6)], stored)),
      /declares 6 bytes of content, but its blocks hold at most 5/,
    );
    // A content size of 2^40 with no blocks to back it allocates nothing.
    throwsCorrupt(
      () => decode(frame([0x68, 0x40, 0, 0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0])),
      /declares 1099511627776 bytes of content, but its blocks hold at most 0/,
    );
    // Past 2^53.
    throwsCorrupt(
      () => decode(frame([0x68, 0x40, 0, 0, 0, 0, 0, 0, 0x20, 0], [0, 0, 0, 0])),
      /impossible content size/,
    );
    // Content checksum (FLG bit 2).
    const sum = u32(xxhash32(new Uint8Array(hello)));
    assert.deepEqual([...decode(frame([0x64, 0x40], [...stored, ...sum]))], hello);
    const wrong = [...sum];
    wrong[0] ^= 1;
    throwsCorrupt(
      () => decode(frame([0x64, 0x40], [...stored, ...wrong])),
      /content checksum/,
    );
    assert.deepEqual(
      [...decode(frame([0x64, 0x40], [...stored, ...wrong]), { verifyChecksums: false })],
      hello,
    );
    // Block checksum (FLG bit 4): over the stored block bytes.
    const blockSum = u32(xxhash32(new Uint8Array(hello)));
    const withBlockSum = [...u32((5 | STORED) >>> 0), ...hello, ...blockSum, 0, 0, 0, 0];
    assert.deepEqual([...decode(frame([0x70, 0x40], withBlockSum))], hello);
    withBlockSum[9] ^= 1;
    throwsCorrupt(() => decode(frame([0x70, 0x40], withBlockSum)), /block checksum mismatch/);
  });

  Deno.test(`decompressLz4() rejects malformed blocks [${decoder}]`, () => {
    const block = (bytes: number[]) =>
      frame([0x60, 0x40], [...u32(bytes.length), ...bytes, 0, 0, 0, 0]);
    // Literal run longer than the block.
    throwsCorrupt(() => decode(block([0x50, 1, 2])), /literal run of 5 bytes runs past/);
    // Literal length extension cut off.
    throwsCorrupt(() => decode(block([0xf0])), /literal length is truncated/);
    // Offset cut off after the literals.
    throwsCorrupt(() => decode(block([0x10, 65, 1])), /match offset is truncated/);
    // Offset 0.
    throwsCorrupt(() => decode(block([0x10, 65, 0, 0, 0x00])), /match offset 0/);
    // Offset before the start.
    throwsCorrupt(
      () => decode(block([0x10, 65, 0x70, 0x11, 0x00])),
      /lz4: match offset 4464 points before the start of the output \(at byte 1\)/,
    );
    // Match length extension cut off.
    throwsCorrupt(() => decode(block([0x1f, 65, 1, 0])), /match length is truncated/);
    // A block that ends right after a match (the last sequence must be literals).
    throwsCorrupt(() => decode(block([0x10, 65, 1, 0])), /ends in the middle of a sequence/);
    // A block whose size is past the frame's maximum.
    throwsCorrupt(
      () => decode(frame([0x60, 0x40], [...u32(65537), 0])),
      /block of 65537 bytes exceeds the frame's maximum of 65536/,
    );
    // Missing end mark.
    throwsCorrupt(() => decode(frame([0x60, 0x40], [])), /block header is truncated/);
  });

  Deno.test(`decompressLz4() caps the output at maxOutputBytes [${decoder}]`, () => {
    const zeros = compressLz4(new Uint8Array(1 << 20));
    assert.equal(decode(zeros, { maxOutputBytes: 1 << 20 }).length, 1 << 20);
    throwsCorrupt(
      () => decode(zeros, { maxOutputBytes: (1 << 20) - 1 }),
      /lz4: the decompressed data is larger than the limit of 1048575 bytes/,
    );
    throwsCorrupt(
      () => decode(compressLz4(samples().random1MiB), { maxOutputBytes: 100_000 }),
      /limit of 100000 bytes/,
    );
    // A highly compressible input whose bound passes the cap grows its buffer and still fits.
    const big = compressLz4(new Uint8Array(20 << 20));
    assert.equal(decode(big, { maxOutputBytes: 20 << 20 }).length, 20 << 20);
  });

  Deno.test(`decompressLz4() survives every truncation, bit flips and garbage [${decoder}]`, () => {
    const plain = sampleText(6000);
    assert.deepEqual(decode(withAllFlags(plain)), plain);
    for (const valid of [compressLz4(plain), withAllFlags(plain)]) {
      const cut = tryTruncations((d) => decode(d), valid);
      // Every proper prefix of a single frame lacks its end mark.
      assert.equal(cut.rejected, valid.length, JSON.stringify(cut));
      const flips = tryBitFlips((d) => decode(d, { maxOutputBytes: 1 << 20 }), valid);
      assert.ok(flips.rejected > 0, JSON.stringify(flips));
    }
    tryGarbage((d) => decode(d, { maxOutputBytes: 1 << 20 }), frame([0x60, 0x40], []));
  });
}
