import assert from "node:assert/strict";
import { crc32c, crc32cBytewise } from "./crc32c.ts";

const text = (s: string) => new TextEncoder().encode(s);
const fill = (n: number, f: (i: number) => number) =>
  Uint8Array.from({ length: n }, (_, i) => f(i));
const hex = (...rows: string[]) =>
  Uint8Array.from(rows.join("").replaceAll(" ", "").match(/../g)!, (b) => parseInt(b, 16));

Deno.test("crc32c() matches the standard check value", () => {
  assert.equal(crc32c(text("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

// RFC 3720 appendix B.4 (iSCSI) CRC32C examples.
Deno.test("crc32c() matches the RFC 3720 examples", () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(fill(32, () => 0xff)), 0x62a8ab43);
  assert.equal(crc32c(fill(32, (i) => i)), 0x46dd794e);
  assert.equal(crc32c(fill(32, (i) => 31 - i)), 0x113fdb5c);
  // The RFC's 48-byte iSCSI Read PDU, in the 4-byte words it prints.
  const readPdu = hex(
    "01 c0 00 00  00 00 00 00  00 00 00 00  00 00 00 00",
    "14 00 00 00  00 00 04 00  00 00 00 14  00 00 00 18",
    "28 00 00 00  00 00 00 00  02 00 00 00  00 00 00 00",
  );
  assert.equal(crc32c(readPdu), 0xd9963a56);
});

Deno.test("crc32c() agrees with the byte-at-a-time loop at every alignment and length", () => {
  // Lengths around the 16-byte block and the word-path threshold, at every
  // byte offset, so the alignment prologue and both tails are exercised.
  const big = new Uint8Array(5000);
  let seed = 12345;
  for (let i = 0; i < big.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    big[i] = seed >>> 24;
  }
  for (const len of [0, 1, 7, 15, 16, 17, 31, 255, 256, 257, 300, 1023, 4096]) {
    for (let off = 0; off < 8; off++) {
      const view = big.subarray(off, off + len);
      assert.equal(crc32c(view), crc32cBytewise(view), `len ${len} off ${off}`);
      assert.equal(crc32c(big, off, off + len), crc32cBytewise(view), `range len ${len}`);
    }
  }
  assert.equal(crc32c(big), crc32cBytewise(big));
});

Deno.test("crc32c() checksums only the requested range", () => {
  const data = text("xx123456789yy");
  assert.equal(crc32c(data, 2, 11), 0xe3069283);
});

Deno.test("crc32c() rejects a range outside the input", () => {
  assert.throws(() => crc32c(new Uint8Array(4), 0, 5), RangeError);
  assert.throws(() => crc32c(new Uint8Array(4), 3, 2), RangeError);
  assert.throws(() => crc32c(new Uint8Array(4), -1), RangeError);
});
