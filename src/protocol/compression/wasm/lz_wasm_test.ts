import assert from "node:assert/strict";
import { CorruptDataError } from "../../errors.ts";
import { compressLz4, decompressLz4 } from "../lz4.ts";
import { compressSnappy, compressSnappyBlock, decompressSnappy } from "../snappy.ts";
import { lcg, sampleRepetitive, sampleText } from "../testdata/samples.ts";
import { assemble, render } from "./build.ts";
import { hasWasmDecoders, WASM_ARENA_LIMIT, wasmArena, wasmDisagreements } from "./lz_wasm.ts";

/** What a decode produced: its bytes, or that it threw CorruptDataError. */
function outcome(decode: () => Uint8Array): Uint8Array | "corrupt" {
  try {
    return decode();
  } catch (e) {
    if (e instanceof CorruptDataError) return "corrupt";
    throw e;
  }
}

/** Mutations of `valid`: bit flips, byte overwrites, and cuts. */
function* mutations(valid: Uint8Array, count: number, seed: number): Generator<Uint8Array> {
  const next = lcg(seed);
  for (let i = 0; i < count; i++) {
    const copy = valid.slice();
    switch (i % 3) {
      case 0:
        for (let f = 0; f <= next() % 3; f++) {
          const bit = next() % (copy.length * 8);
          copy[bit >>> 3] ^= 1 << (bit & 7);
        }
        yield copy;
        break;
      case 1:
        copy[next() % copy.length] = next() >>> 24;
        yield copy;
        break;
      default:
        yield copy.subarray(0, next() % copy.length);
    }
  }
}

Deno.test("the WebAssembly decoders load from the embedded bytes", () => {
  assert.ok(hasWasmDecoders);
});

Deno.test("lz4: the WebAssembly and TypeScript decoders agree on mutated frames", () => {
  for (const plain of [sampleText(20_000), sampleRepetitive(20_000)]) {
    for (const input of mutations(compressLz4(plain), 4000, 3)) {
      const wasm = outcome(() => decompressLz4(input, { maxOutputBytes: 1 << 20 }));
      const js = outcome(() => decompressLz4(input, { maxOutputBytes: 1 << 20, decoder: "js" }));
      assert.deepEqual(wasm, js);
    }
  }
  assert.equal(wasmDisagreements.count, 0, "the TypeScript decoder accepted a rejected block");
});

Deno.test("snappy: the WebAssembly and TypeScript decoders agree on mutated input", () => {
  for (const plain of [sampleText(20_000), sampleRepetitive(20_000)]) {
    for (const valid of [compressSnappy(plain), compressSnappyBlock(plain)]) {
      for (const input of mutations(valid, 3000, 5)) {
        const wasm = outcome(() => decompressSnappy(input, { maxOutputBytes: 1 << 20 }));
        const js = outcome(() =>
          decompressSnappy(input, { maxOutputBytes: 1 << 20, decoder: "js" })
        );
        assert.deepEqual(wasm, js);
      }
    }
  }
  assert.equal(wasmDisagreements.count, 0, "the TypeScript decoder accepted a rejected block");
});

Deno.test("wasmArena() hands out regions inside its limit only", () => {
  const data = new Uint8Array([1, 2, 3]);
  const arena = wasmArena(data, 100);
  assert.ok(arena);
  assert.deepEqual([...arena.input], [1, 2, 3]);
  assert.equal(arena.output.length, 100);
  assert.equal(arena.output.byteOffset % 16, 0);
  assert.equal(wasmArena(data, WASM_ARENA_LIMIT), undefined);
});

Deno.test("lz_wasm_bytes.ts is what build.ts assembles from lz.wat", async () => {
  const current = await Deno.readTextFile(new URL("./lz_wasm_bytes.ts", import.meta.url));
  assert.equal(
    current,
    render(await assemble()),
    "stale: run deno run -A src/protocol/compression/wasm/build.ts",
  );
});
