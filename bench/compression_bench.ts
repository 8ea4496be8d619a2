/**
 * Decode and encode speed of each record batch codec: ours (WebAssembly and
 * TypeScript block decoders, TypeScript lz4 and snappy compressors, node:zlib
 * for gzip and zstd) next to the npm alternatives that run under Deno without
 * native add-ons. snappy-wasm and lz4-wasm-nodejs load their .wasm from disk
 * (they need --allow-read); ours is embedded.
 *
 *   deno bench -A bench/compression_bench.ts   time per call (deno bench)
 *   deno run -A bench/compression_bench.ts     the same cases as an MB/s table
 *                                              (plaintext bytes per second) with
 *                                              each encoder's ratio (in / out)
 *   ONLY=encode deno run -A bench/compression_bench.ts   one side only
 *                                              (ONLY=decode likewise; ROUNDS=n)
 *
 * Inputs are record-like JSON text (about 4:1) at 16 KiB (the Java producer's
 * default batch.size) and 1 MiB, plus 1 MiB of random bytes for the
 * literal-copy path of snappy and lz4. Each alternative decodes data in its
 * own format where it has no Kafka framing (noted in the case name).
 *
 * @module
 */

import process from "node:process";
import * as zlib from "node:zlib";
// deno-lint-ignore no-import-prefix -- pinned inline: deno.json is shared, this dependency is ours
import SnappyJS from "npm:snappyjs@0.7.0";
// deno-lint-ignore no-import-prefix -- pinned inline: deno.json is shared, this dependency is ours
import * as snappyWasm from "npm:snappy-wasm@0.3.0";
// deno-lint-ignore no-import-prefix -- pinned inline: deno.json is shared, this dependency is ours
import lz4js from "npm:lz4js@0.2.0";
// deno-lint-ignore no-import-prefix -- pinned inline: deno.json is shared, this dependency is ours
import * as lz4Wasm from "npm:lz4-wasm-nodejs@0.9.2";
// deno-lint-ignore no-import-prefix -- pinned inline: deno.json is shared, this dependency is ours
import { decompress as fzstdDecompress } from "npm:fzstd@0.1.1";
// deno-lint-ignore no-import-prefix -- pinned inline: deno.json is shared, this dependency is ours
import { ZSTDDecoder } from "npm:zstddec@0.3.4";
import { compress, Compression, decompress } from "../src/protocol/compression/mod.ts";
import {
  compressSnappy,
  compressSnappyBlock,
  decompressSnappy,
  decompressSnappyBlock,
} from "../src/protocol/compression/snappy.ts";
import { compressLz4, decompressLz4 } from "../src/protocol/compression/lz4.ts";
import { decompressZstd } from "../src/protocol/compression/zstd.ts";
import { sampleRandom, sampleText } from "../src/protocol/compression/testdata/samples.ts";

// The package's ES build needs its wasm loaded first (its default export).
await (snappyWasm as unknown as { default: () => Promise<unknown> }).default();
const zstddec = new ZSTDDecoder();
await zstddec.init();

interface Case {
  group: string;
  name: string;
  plainBytes: number;
  /** Compressed size, for encoders. */
  packedBytes?: number;
  decode: () => Uint8Array;
}

const inputs: Array<[string, Uint8Array]> = [
  ["text 16KiB", sampleText(16 * 1024)],
  ["text 1MiB", sampleText(1024 * 1024)],
  ["random 16KiB", sampleRandom(16 * 1024)],
  ["random 1MiB", sampleRandom(1024 * 1024)],
];

const only = Deno.env.get("ONLY");

const cases: Case[] = [];
for (const [label, plain] of inputs) {
  const add = (group: string, name: string, decode: () => Uint8Array) => {
    const out = decode();
    if (out.length !== plain.length || out[out.length - 1] !== plain[plain.length - 1]) {
      throw new Error(`${group} ${name} does not round-trip`);
    }
    cases.push({ group: `${group} ${label}`, name, plainBytes: plain.length, decode });
  };
  /** An encoder, checked by decoding its output with `check`. */
  const enc = (
    group: string,
    name: string,
    encode: () => Uint8Array,
    check: (packed: Uint8Array) => Uint8Array,
  ) => {
    const packed = encode();
    const back = check(packed);
    if (back.length !== plain.length || back.some((b, i) => b !== plain[i])) {
      throw new Error(`${group} ${name} does not round-trip`);
    }
    cases.push({
      group: `compress ${group} ${label}`,
      name,
      plainBytes: plain.length,
      packedBytes: packed.length,
      decode: encode,
    });
  };

  if (only !== "decode") {
    const dSnappy = (p: Uint8Array) => decompress(Compression.snappy, p);
    const dLz4 = (p: Uint8Array) => decompress(Compression.lz4, p);
    const js = { encoder: "js" } as const;
    enc("snappy", "ours, wasm (xerial, 32 KiB chunks)", () => compressSnappy(plain), dSnappy);
    enc("snappy", "ours, TS (xerial, 32 KiB chunks)", () => compressSnappy(plain, js), dSnappy);
    enc("snappy", "ours, wasm (raw block)", () => compressSnappyBlock(plain), dSnappy);
    enc("snappy", "ours, TS (raw block)", () => compressSnappyBlock(plain, js), dSnappy);
    enc("snappy", "snappyjs (raw block)", () => SnappyJS.compress(plain), dSnappy);
    enc("snappy", "snappy-wasm (raw block)", () => snappyWasm.compress_raw(plain), dSnappy);
    enc("lz4", "ours, wasm (frame, 64 KiB blocks)", () => compressLz4(plain), dLz4);
    enc(
      "lz4",
      "ours, TS (frame, 64 KiB blocks)",
      () => compressLz4(plain, { encoder: "js" }),
      dLz4,
    );
    enc("lz4", "lz4js (frame, 4 MiB blocks)", () => lz4js.compress(plain), dLz4);
    enc(
      "lz4",
      "lz4-wasm-nodejs (one block, own format)",
      () => lz4Wasm.compress(plain),
      (p) => lz4Wasm.decompress(p),
    );
    if (!label.startsWith("random 16")) {
      const dZstd = (p: Uint8Array) => decompress(Compression.zstd, p);
      const dGzip = (p: Uint8Array) => decompress(Compression.gzip, p);
      enc("zstd", "ours (node:zlib, level 3)", () => compress(Compression.zstd, plain), dZstd);
      enc("gzip", "ours (node:zlib, level 6)", () => compress(Compression.gzip, plain), dGzip);
    }
  }
  if (only === "encode" || label.startsWith("random 16")) continue;

  const snappy = compress(Compression.snappy, plain);
  const snappyRaw = compressSnappyBlock(plain);
  const snappyJsRaw = SnappyJS.compress(plain);
  const snappyWasmRaw = snappyWasm.compress_raw(plain);
  add("snappy", "ours, wasm (xerial, 32 KiB chunks)", () => decompress(Compression.snappy, snappy));
  add(
    "snappy",
    "ours, TS (xerial, 32 KiB chunks)",
    () => decompressSnappy(snappy, { decoder: "js" }),
  );
  add("snappy", "ours, wasm (raw block)", () => decompressSnappyBlock(snappyRaw));
  add("snappy", "ours, TS (raw block)", () => decompressSnappyBlock(snappyRaw, { decoder: "js" }));
  add("snappy", "snappyjs (raw block)", () => SnappyJS.uncompress(snappyJsRaw));
  add("snappy", "snappy-wasm (raw block)", () => snappyWasm.decompress_raw(snappyWasmRaw));

  const lz4 = compress(Compression.lz4, plain);
  const lz4WasmBlock = lz4Wasm.compress(plain);
  add("lz4", "ours, wasm (frame, 64 KiB blocks)", () => decompress(Compression.lz4, lz4));
  add("lz4", "ours, TS (frame, 64 KiB blocks)", () => decompressLz4(lz4, { decoder: "js" }));
  add("lz4", "lz4js (frame)", () => lz4js.decompress(lz4));
  add("lz4", "lz4-wasm-nodejs (one block, own format)", () => lz4Wasm.decompress(lz4WasmBlock));

  if (label.startsWith("random")) continue;

  const zstd = compress(Compression.zstd, plain);
  add("zstd", "ours (node:zlib + frame walk)", () => decompress(Compression.zstd, zstd));
  add("zstd", "node:zlib zstdDecompressSync", () => zlib.zstdDecompressSync(zstd));
  add(
    "zstd",
    "ours fallback (fzstd + frame walk)",
    () => decompressZstd(zstd, { decoder: "fzstd" }),
  );
  add("zstd", "fzstd", () => fzstdDecompress(zstd));
  add("zstd", "zstddec (wasm)", () => zstddec.decode(zstd, plain.length));

  const gzip = compress(Compression.gzip, plain);
  add("gzip", "ours (node:zlib)", () => decompress(Compression.gzip, gzip));
  add("gzip", "node:zlib gunzipSync", () => zlib.gunzipSync(gzip));
}

for (const c of cases) {
  Deno.bench({ name: c.name, group: c.group, fn: () => void c.decode() });
}

if (import.meta.main) {
  // The machine may be shared: each case runs in short rounds interleaved with
  // the others, timed by this process's CPU time (being descheduled does not
  // count), and the best round counts, since noise only ever slows one down.
  const rounds = Number(Deno.env.get("ROUNDS") ?? 10);
  const best = new Array<number>(cases.length).fill(0);
  for (const c of cases) for (let i = 0; i < 20; i++) c.decode();
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, i) => {
      let n = 0;
      const wallStart = performance.now();
      const cpuStart = process.cpuUsage();
      while (performance.now() - wallStart < 50) {
        c.decode();
        n++;
      }
      const cpu = process.cpuUsage(cpuStart);
      const seconds = (cpu.user + cpu.system) / 1e6;
      best[i] = Math.max(best[i], (n * c.plainBytes) / 1e6 / seconds);
    });
  }
  console.table(
    cases.map((c, i) => ({
      input: c.group,
      codec: c.name,
      "MB/s": Math.round(best[i]),
      ratio: c.packedBytes === undefined ? "" : (c.plainBytes / c.packedBytes).toFixed(2),
    })),
  );
}
