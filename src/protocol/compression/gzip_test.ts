import assert from "node:assert/strict";
import { compressGzip, decompressGzip } from "./gzip.ts";
import { fixture, throwsCorrupt } from "./testdata/helpers.ts";
import { tryBitFlips, tryGarbage, tryTruncations } from "./testdata/hostile.ts";
import { samples, sampleText } from "./testdata/samples.ts";

Deno.test("decompressGzip() reads what Kafka's Java producer wrote", () => {
  assert.deepEqual(decompressGzip(fixture("text.gzip.kafka.bin")), fixture("text.bin"));
});

for (const [name, data] of Object.entries(samples())) {
  Deno.test(`gzip round-trips ${name} (${data.length} bytes)`, () => {
    assert.deepEqual(decompressGzip(compressGzip(data)), data);
  });
}

Deno.test("decompressGzip() reads several members as one stream", () => {
  const a = sampleText(5000, 1);
  const b = sampleText(3000, 2);
  const both = new Uint8Array([...compressGzip(a), ...compressGzip(b)]);
  assert.deepEqual(decompressGzip(both), new Uint8Array([...a, ...b]));
});

Deno.test("decompressGzip() rejects bad magic, truncation and trailing garbage", () => {
  const valid = compressGzip(sampleText(5000));
  throwsCorrupt(() => decompressGzip(new Uint8Array(30)), /gzip: not gzip data/);
  throwsCorrupt(() => decompressGzip(valid.subarray(0, valid.length - 1)), /gzip: /);
  throwsCorrupt(() => decompressGzip(new Uint8Array([...valid, 1, 2, 3])), /gzip: /);
});

Deno.test("decompressGzip() caps the output at maxOutputBytes", () => {
  const zeros = compressGzip(new Uint8Array(1 << 20));
  throwsCorrupt(
    () => decompressGzip(zeros, { maxOutputBytes: (1 << 20) - 1 }),
    /gzip: .*limit of 1048575 bytes/,
  );
  assert.equal(decompressGzip(zeros, { maxOutputBytes: 1 << 20 }).length, 1 << 20);
  throwsCorrupt(() => decompressGzip(zeros, { maxOutputBytes: 0 }), /limit of 0 bytes/);
});

Deno.test("decompressGzip() survives every truncation, bit flips and garbage", () => {
  const valid = compressGzip(sampleText(6000));
  const cut = tryTruncations((d) => decompressGzip(d), valid);
  assert.equal(cut.decoded, 0);
  const flips = tryBitFlips((d) => decompressGzip(d, { maxOutputBytes: 1 << 20 }), valid, 2000);
  assert.ok(flips.rejected > 0, JSON.stringify(flips));
  tryGarbage((d) => decompressGzip(d, { maxOutputBytes: 1 << 20 }), valid.subarray(0, 10));
});
