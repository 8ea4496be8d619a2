import assert from "node:assert/strict";
import { xxhash32 } from "./xxhash32.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("xxhash32() matches the reference XXH32 values", () => {
  // Values from the reference implementation (seed 0 and seed 1234).
  const cases: Array<[string, number, number]> = [
    ["", 0x02cc5d05, 0xb625a4db],
    ["a", 0x550d7456, 0xea75beb6],
    ["abc", 0x32d153ff, 0xe727cdb9],
    ["abcd", 0xa3643705, 0xfb62cc2c],
    ["Nobody inspects the spammish repetition", 0xe2293b2f, 0x298ce4e5],
    ["x".repeat(100), 0x4bd30d3a, 0x4c6f0827],
  ];
  for (const [text, seed0, seed1234] of cases) {
    const data = enc(text);
    assert.equal(xxhash32(data), seed0, `"${text}"`);
    assert.equal(xxhash32(data, 0, data.length, 1234), seed1234, `"${text}" seed 1234`);
  }
});

Deno.test("xxhash32() hashes a range of a larger array", () => {
  const data = enc("__abc__");
  assert.equal(xxhash32(data, 2, 5), 0x32d153ff);
});
