import assert from "node:assert/strict";
import { concatBytes } from "./bytes.ts";

Deno.test("concatBytes() joins parts in order", () => {
  const joined = concatBytes([new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])]);
  assert.deepEqual(joined, new Uint8Array([1, 2, 3]));
  assert.deepEqual(concatBytes([]), new Uint8Array(0));
});

Deno.test("concatBytes() returns a single part without copying it", () => {
  const only = new Uint8Array([7]);
  assert.equal(concatBytes([only]), only);
});
