/**
 * CRC32C variants, measured against the shipped `crc32c()`:
 *
 * - byte-at-a-time (the textbook loop, `crc32cBytewise`),
 * - slicing-by-8 and slicing-by-16 with byte loads,
 * - slicing-by-8 with 32-bit word loads,
 * - the shipped function: slicing-by-16 with 32-bit word loads,
 * - WebAssembly slicing-by-16 (word loads, tables in linear memory), with
 *   the copy into its memory that real use needs, and without it to show the
 *   bound. Its module was written as WAT and assembled with the `wabt` npm
 *   package; the bytes are inlined below.
 *
 *     deno bench bench/crc32c_bench.ts
 *     deno run bench/crc32c_bench.ts     # GB/s summary
 *
 * GB/s = bytes per iteration (in the case name) / (time/iter).
 *
 * @module
 */

import process from "node:process";
import { crc32c, crc32cBytewise } from "../src/protocol/crc32c.ts";

const POLY = 0x82f63b78;
const T = (() => {
  const t = new Int32Array(256 * 16);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 16; k++) {
    for (let n = 0; n < 256; n++) {
      const p = t[(k - 1) * 256 + n];
      t[k * 256 + n] = (p >>> 8) ^ t[p & 255];
    }
  }
  return t;
})();

function slicing8(d: Uint8Array): number {
  let c = -1;
  let i = 0;
  const end = d.length;
  const t = T;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24));
    c = t[1792 + (a & 255)] ^ t[1536 + ((a >>> 8) & 255)] ^ t[1280 + ((a >>> 16) & 255)] ^
      t[1024 + (a >>> 24)] ^ t[768 + d[i + 4]] ^ t[512 + d[i + 5]] ^ t[256 + d[i + 6]] ^
      t[d[i + 7]];
  }
  for (; i < end; i++) c = (c >>> 8) ^ t[(c ^ d[i]) & 255];
  return ~c >>> 0;
}

function slicing16(d: Uint8Array): number {
  let c = -1;
  let i = 0;
  const end = d.length;
  const t = T;
  for (; i + 16 <= end; i += 16) {
    const a = c ^ (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24));
    c = t[3840 + (a & 255)] ^ t[3584 + ((a >>> 8) & 255)] ^ t[3328 + ((a >>> 16) & 255)] ^
      t[3072 + (a >>> 24)] ^ t[2816 + d[i + 4]] ^ t[2560 + d[i + 5]] ^ t[2304 + d[i + 6]] ^
      t[2048 + d[i + 7]] ^ t[1792 + d[i + 8]] ^ t[1536 + d[i + 9]] ^ t[1280 + d[i + 10]] ^
      t[1024 + d[i + 11]] ^ t[768 + d[i + 12]] ^ t[512 + d[i + 13]] ^ t[256 + d[i + 14]] ^
      t[d[i + 15]];
  }
  for (; i < end; i++) c = (c >>> 8) ^ t[(c ^ d[i]) & 255];
  return ~c >>> 0;
}

function slicing8Words(d: Uint8Array): number {
  let c = -1;
  let i = 0;
  const end = d.length;
  const t = T;
  while (i < end && ((d.byteOffset + i) & 3) !== 0) c = (c >>> 8) ^ t[(c ^ d[i++]) & 255];
  const blocks = (end - i) >>> 3;
  const w = new Int32Array(d.buffer, d.byteOffset + i, blocks * 2);
  for (let j = 0; j < w.length; j += 2) {
    const a = c ^ w[j];
    const b = w[j + 1];
    c = t[1792 + (a & 255)] ^ t[1536 + ((a >>> 8) & 255)] ^ t[1280 + ((a >>> 16) & 255)] ^
      t[1024 + (a >>> 24)] ^ t[768 + (b & 255)] ^ t[512 + ((b >>> 8) & 255)] ^
      t[256 + ((b >>> 16) & 255)] ^ t[b >>> 24];
  }
  i += blocks * 8;
  for (; i < end; i++) c = (c >>> 8) ^ t[(c ^ d[i]) & 255];
  return ~c >>> 0;
}

// crc(p, n, state) -> state over memory [p, p+n); tables at [0, 16 KiB).
const WASM = Uint8Array.from(
  atob(
    "AGFzbQEAAAABCAFgA39/fwF/AwIBAAUDAQACBxACBm1lbW9yeQIAA2NyYwAACuwCAekCAQV/IAAgAWohAwJAA0AgAEEQaiADSw0BIAIgACgCAHMhBCAAKAIEIQUgACgCCCEGIAAoAgwhByAEQf8BcUECdCgCgHggBEEIdkH/AXFBAnQoAoBwcyAEQRB2Qf8BcUECdCgCgGhzIARBGHZBAnQoAoBgcyAFQf8BcUECdCgCgFhzIAVBCHZB/wFxQQJ0KAKAUHMgBUEQdkH/AXFBAnQoAoBIcyAFQRh2QQJ0KAKAQHMgBkH/AXFBAnQoAoA4cyAGQQh2Qf8BcUECdCgCgDBzIAZBEHZB/wFxQQJ0KAKAKHMgBkEYdkECdCgCgCBzIAdB/wFxQQJ0KAKAGHMgB0EIdkH/AXFBAnQoAoAQcyAHQRB2Qf8BcUECdCgCgAhzIAdBGHZBAnQoAgBzIQIgAEEQaiEADAALCwJAA0AgACADTw0BIAJBCHYgAiAALQAAc0H/AXFBAnQoAgBzIQIgAEEBaiEADAALCyACCw==",
  ),
  (c) => c.charCodeAt(0),
);
const instance = new WebAssembly.Instance(new WebAssembly.Module(WASM), {});
const wasmCrc = instance.exports.crc as (p: number, n: number, state: number) => number;
const wasmMemory = new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer);
new Int32Array(wasmMemory.buffer, 0, 4096).set(T);
const WASM_DATA_AT = 16384;
const WASM_CHUNK = 65536;

function wasmWithCopy(d: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < d.length; i += WASM_CHUNK) {
    const part = d.subarray(i, Math.min(i + WASM_CHUNK, d.length));
    wasmMemory.set(part, WASM_DATA_AT);
    c = wasmCrc(WASM_DATA_AT, part.length, c);
  }
  return ~c >>> 0;
}

function wasmInPlace(length: number): number {
  let c = -1;
  for (let i = 0; i < length; i += WASM_CHUNK) {
    c = wasmCrc(WASM_DATA_AT, Math.min(WASM_CHUNK, length - i), c);
  }
  return ~c >>> 0;
}

const variants: Array<[string, (d: Uint8Array) => number]> = [
  ["byte-at-a-time", (d) => crc32cBytewise(d)],
  ["slicing-by-8, byte loads", slicing8],
  ["slicing-by-16, byte loads", slicing16],
  ["slicing-by-8, word loads", slicing8Words],
  ["crc32c() (slicing-by-16, word loads)", (d) => crc32c(d)],
  ["wasm slicing-by-16 + copy in", wasmWithCopy],
  ["wasm slicing-by-16, no copy (bound)", (d) => wasmInPlace(d.length)],
];

const sizes = [64, 1024, 16384, 1 << 20];
const data = new Uint8Array((1 << 20) + 1);
for (let i = 0; i < data.length; i++) data[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
wasmMemory.set(data.subarray(1, WASM_CHUNK + 1), WASM_DATA_AT);

// Every variant must agree before its speed means anything.
for (const [name, f] of variants) {
  for (const size of sizes) {
    const input = data.subarray(1, 1 + size); // unaligned on purpose
    if (name.includes("no copy")) continue;
    if (f(input) !== crc32cBytewise(input)) throw new Error(`${name} is wrong at ${size} bytes`);
  }
}

let sink = 0;
for (const size of sizes) {
  const input = data.subarray(1, 1 + size);
  for (const [name, f] of variants) {
    Deno.bench({
      name: `${name}, ${size} B`,
      group: `${size} B`,
      baseline: name.startsWith("crc32c()"),
      fn: () => {
        sink ^= f(input);
      },
    });
  }
}

if (import.meta.main) {
  // Process CPU time, best of 5 rounds of 200 ms: steadier than wall time on
  // a shared machine.
  console.log(`variant | ${sizes.map((s) => `${s} B`).join(" | ")} (GB/s)`);
  for (const [name, f] of variants) {
    const cells: string[] = [];
    for (const size of sizes) {
      const input = data.subarray(1, 1 + size);
      const reps = Math.max(1, Math.floor((1 << 20) / size));
      let best = Infinity;
      for (let round = 0; round < 6; round++) {
        let n = 0;
        const cpu = process.cpuUsage();
        const start = performance.now();
        while (performance.now() - start < 200) {
          for (let r = 0; r < reps; r++) sink ^= f(input);
          n++;
        }
        const used = process.cpuUsage(cpu);
        const ms = (used.user + used.system) / 1000 / n;
        if (round > 0) best = Math.min(best, ms); // round 0 warms up
      }
      cells.push(((size * reps) / (best / 1000) / 1e9).toFixed(2));
    }
    console.log(`${name} | ${cells.join(" | ")}`);
  }
  if (sink === 0.5) console.log(sink);
}
