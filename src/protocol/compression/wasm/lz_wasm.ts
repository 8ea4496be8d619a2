/**
 * Loads the WebAssembly block decoders of lz.wat and manages their memory.
 * The module is small and embedded (base64), so it instantiates synchronously
 * at import, with no file reads, no fetches and no permissions. Where
 * WebAssembly is unavailable, {@linkcode wasmArena} returns undefined and the
 * TypeScript decoders do the work.
 *
 * @module
 */

import { LZ_WASM_BASE64 } from "./lz_wasm_bytes.ts";

interface LzExports {
  memory: WebAssembly.Memory;
  lz4_block(ip: number, ipEnd: number, op: number, opEnd: number, win: number): number;
  snappy_block(ip: number, ipEnd: number, op: number, opEnd: number): number;
  lz4_compress(s: number, sEnd: number, op: number, tab: number): number;
  snappy_compress(s: number, sEnd: number, op: number, tab: number): number;
}

/** What the block functions return for output past the end of `dst`. */
export const WASM_OUTPUT_OVERRUN: -1 = -1;
/** What the block functions return for malformed input. */
export const WASM_MALFORMED: -2 = -2;

/**
 * The most memory (input and output together) the WebAssembly decoders use.
 * Their memory only grows, so this bounds what stays allocated; bigger
 * batches are decoded in TypeScript.
 */
export const WASM_ARENA_LIMIT: number = 16 * 1024 * 1024;

const lz: LzExports | undefined = instantiate();

function instantiate(): LzExports | undefined {
  try {
    const bytes = Uint8Array.from(atob(LZ_WASM_BASE64), (c) => c.charCodeAt(0));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    return instance.exports as unknown as LzExports;
  } catch {
    return undefined;
  }
}

/**
 * How often the TypeScript decoder decoded a block the WebAssembly one had
 * rejected. Always 0 unless the two disagree (a bug): tests assert it.
 */
export const wasmDisagreements: { count: number } = { count: 0 };

/** Whether the WebAssembly decoders loaded. */
export const hasWasmDecoders: boolean = lz !== undefined;

/** Regions of WebAssembly memory for one decode. */
export interface WasmArena {
  /** A copy of the compressed data. */
  input: Uint8Array;
  /** Room for the output; copy out what was written before the next decode. */
  output: Uint8Array;
}

/**
 * Copies `data` into WebAssembly memory and reserves `outputSize` bytes after
 * it, or returns undefined when the decoders are unavailable or the sizes
 * pass {@linkcode WASM_ARENA_LIMIT}. The views are valid until the next call.
 */
export function wasmArena(data: Uint8Array, outputSize: number): WasmArena | undefined {
  if (lz === undefined) return undefined;
  const outputStart = (data.length + 15) & ~15;
  const needed = outputStart + outputSize;
  if (needed > WASM_ARENA_LIMIT) return undefined;
  const have = lz.memory.buffer.byteLength;
  if (have < needed) lz.memory.grow(Math.ceil((needed - have) / 65536));
  const memory = new Uint8Array(lz.memory.buffer);
  memory.set(data, 0);
  return {
    input: memory.subarray(0, data.length),
    output: memory.subarray(outputStart, outputStart + outputSize),
  };
}

/**
 * Decodes the LZ4 block `src` into `dst` from `op` (both views from
 * {@linkcode wasmArena}); matches may reach back to the start of `dst`.
 * Returns the new position in `dst`, {@linkcode WASM_OUTPUT_OVERRUN} or
 * {@linkcode WASM_MALFORMED}.
 */
export function lz4BlockWasm(src: Uint8Array, dst: Uint8Array, op: number): number {
  const base = dst.byteOffset;
  try {
    const end = lz!.lz4_block(
      src.byteOffset,
      src.byteOffset + src.length,
      base + op,
      base + dst.length,
      base,
    );
    return end < 0 ? end : end - base;
  } catch {
    // A trap would be our bug, not the data's: let the TypeScript decoder judge.
    return WASM_MALFORMED;
  }
}

/**
 * Decodes the snappy elements of `src` from `ip` into `dst` (views from
 * {@linkcode wasmArena}). Returns the number of bytes written (the caller
 * checks it equals `dst.length`) or {@linkcode WASM_MALFORMED}.
 */
export function snappyBlockWasm(src: Uint8Array, ip: number, dst: Uint8Array): number {
  const base = dst.byteOffset;
  try {
    const end = lz!.snappy_block(
      src.byteOffset + ip,
      src.byteOffset + src.length,
      base,
      base + dst.length,
    );
    return end < 0 ? end : end - base;
  } catch {
    return WASM_MALFORMED;
  }
}

/** Bytes at the start of memory for the compressor's hash table (2^14 addresses). */
const LZ4_TABLE_BYTES = 1 << 16;

/** Memory for one compression: the input is copied to `inputAt`, output goes at `outputAt`. */
export interface WasmCompressArena {
  /** The whole module memory (valid until the next call that may grow it). */
  memory: Uint8Array;
  /** Where the input starts. */
  inputAt: number;
  /** Where the output region starts. */
  outputAt: number;
}

/**
 * Copies `data` into WebAssembly memory after the compressor's hash table and
 * reserves `outputSize` bytes after it, or returns undefined without the
 * module or past {@linkcode WASM_ARENA_LIMIT} (the caller compresses in
 * TypeScript). The table is never cleared (see lz.wat): decoders may overwrite it.
 */
export function wasmCompressArena(
  data: Uint8Array,
  outputSize: number,
): WasmCompressArena | undefined {
  if (lz === undefined) return undefined;
  const inputAt = LZ4_TABLE_BYTES;
  const outputAt = (inputAt + data.length + 15) & ~15;
  const needed = outputAt + outputSize;
  if (needed > WASM_ARENA_LIMIT) return undefined;
  const have = lz.memory.buffer.byteLength;
  if (have < needed) lz.memory.grow(Math.ceil((needed - have) / 65536));
  const memory = new Uint8Array(lz.memory.buffer);
  memory.set(data, inputAt);
  return { memory, inputAt, outputAt };
}

/**
 * Compresses the memory range `[s, sEnd)` (at most 64 KiB, inside an arena's
 * input) as one LZ4 block at address `op`; returns the end address.
 */
export function lz4CompressBlockWasm(s: number, sEnd: number, op: number): number {
  return lz!.lz4_compress(s, sEnd, op, 0);
}

/**
 * Compresses the memory range `[s, sEnd)` (at most 64 KiB, inside an arena's
 * input) as snappy elements (no length preamble) at address `op`; returns the
 * end address.
 */
export function snappyCompressFragmentWasm(s: number, sEnd: number, op: number): number {
  return lz!.snappy_compress(s, sEnd, op, 0);
}
