/**
 * Snappy as Kafka carries it. Kafka's Java producer writes snappy-java's
 * "xerial" stream: the 8-byte magic `\x82SNAPPY\x00`, two big-endian int32
 * version fields, then chunks of [int32 big-endian length][raw snappy block],
 * each block compressing up to 32 KiB on its own. librdkafka may write one raw
 * snappy block instead. The decoder reads both; the encoder writes xerial, as
 * Kafka's producer does.
 *
 * A raw block is a varint of the decompressed length, then elements: literals
 * (1-4 extra length bytes past 60) and back-references with 1-, 2- or 4-byte
 * offsets, which may overlap the bytes they produce.
 *
 * @module
 */

import { corrupt, DEFAULT_MAX_DECOMPRESSED_BYTES, tooLarge } from "./limits.ts";
import { copyLiteral, copyMatch, HASH_LOG, load32, matchLength, MatchTable } from "./lz77.ts";
import {
  snappyBlockWasm,
  snappyCompressFragmentWasm,
  wasmArena,
  type WasmCompressArena,
  wasmCompressArena,
  wasmDisagreements,
} from "./wasm/lz_wasm.ts";

/** The 8 bytes that open a snappy-java (xerial) stream. */
const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
/** Magic, then int32 version and int32 compatible version. */
const XERIAL_HEADER_SIZE = 16;
/** snappy-java's default chunk size, which Kafka's producer uses. */
const XERIAL_CHUNK_SIZE = 32 * 1024;

/**
 * The most a raw block of `n` bytes can decompress to. The densest element is
 * a 3-byte copy of 64 bytes (21x); a declared length above this bound is a lie
 * and is rejected before anything is allocated for it.
 */
function maxDecodedSize(n: number): number {
  return n * 22 + 64;
}

/** Whether `data` opens with the xerial magic at `pos`. */
function hasXerialMagic(data: Uint8Array, pos: number): boolean {
  if (data.length - pos < XERIAL_MAGIC.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) {
    if (data[pos + i] !== XERIAL_MAGIC[i]) return false;
  }
  return true;
}

/**
 * Decompresses snappy data: a xerial stream (possibly several concatenated,
 * as snappy-java reads them) or one raw snappy block.
 *
 * @throws {CorruptDataError} for malformed input or output past `maxOutputBytes`.
 * @example
 * ```ts
 * import { compressSnappy, decompressSnappy } from "./snappy.ts";
 * const text = new TextEncoder().encode("hello hello hello");
 * decompressSnappy(compressSnappy(text)).length; // 17
 * ```
 */
export function decompressSnappy(
  data: Uint8Array,
  options: SnappyDecompressOptions = {},
): Uint8Array {
  if (!hasXerialMagic(data, 0)) return decompressSnappyBlock(data, options);
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;

  // Pass 1: walk the chunks, reading each block's declared length, so that the
  // output is allocated once at its exact size and the structure is checked
  // before any work is done.
  let total = 0;
  let pos = 0;
  while (pos < data.length) {
    if (hasXerialMagic(data, pos)) {
      if (data.length - pos < XERIAL_HEADER_SIZE) {
        throw corrupt("snappy: xerial stream header is truncated");
      }
      pos += XERIAL_HEADER_SIZE;
      continue;
    }
    const chunk = readChunkHeader(data, pos);
    const declared = readVarint32(data, pos + 4, pos + 4 + chunk);
    if (declared.value > maxDecodedSize(chunk)) {
      throw corrupt(
        `snappy: a chunk of ${chunk} bytes declares ${declared.value} decompressed bytes, more than it can hold`,
      );
    }
    total += declared.value;
    if (total > maxOutputBytes) throw tooLarge("snappy", maxOutputBytes);
    pos += 4 + chunk;
  }

  // Pass 2: decode each chunk in place.
  return withOutput(data, total, options.decoder, (input, out, decode) => {
    let op = 0;
    let pos = 0;
    while (pos < input.length) {
      if (hasXerialMagic(input, pos)) {
        pos += XERIAL_HEADER_SIZE;
        continue;
      }
      const chunk = readChunkHeader(input, pos);
      const start = pos + 4;
      const declared = readVarint32(input, start, start + chunk);
      decode(
        input.subarray(start, start + chunk),
        declared.end - start,
        out.subarray(op, op + declared.value),
      );
      op += declared.value;
      pos = start + chunk;
    }
  });
}

/** Options of {@linkcode decompressSnappy} and {@linkcode decompressSnappyBlock}. */
export interface SnappyDecompressOptions {
  /**
   * Reject output larger than this.
   * @default {DEFAULT_MAX_DECOMPRESSED_BYTES}
   */
  maxOutputBytes?: number;
  /**
   * Which block decoder runs. "auto": the WebAssembly one (about 2x faster)
   * when it loaded and the batch fits its arena, else TypeScript. "js": always
   * TypeScript (tests and benchmarks compare the two; both decode the same
   * bytes the same way).
   * @default {"auto"}
   */
  decoder?: "auto" | "js";
}

/** Decodes one raw block's elements; see {@linkcode decodeBlock}. */
type BlockDecoder = (src: Uint8Array, ip: number, dst: Uint8Array) => void;

/**
 * Runs `fill` on the input and an output of exactly `size` bytes: in
 * WebAssembly memory with the WebAssembly decoder when possible (then copies
 * the output out, as that memory is reused), else in plain arrays.
 */
function withOutput(
  data: Uint8Array,
  size: number,
  decoder: SnappyDecompressOptions["decoder"],
  fill: (input: Uint8Array, out: Uint8Array, decode: BlockDecoder) => void,
): Uint8Array {
  if (decoder !== "js") {
    const arena = wasmArena(data, size);
    if (arena !== undefined) {
      fill(arena.input, arena.output, decodeBlockWasm);
      return arena.output.slice();
    }
  }
  const out = new Uint8Array(size);
  fill(data, out, decodeBlock);
  return out;
}

/**
 * The WebAssembly block decoder, with the TypeScript one as the judge of
 * malformed blocks: it names what is wrong (and would decode the block, were
 * the two ever to disagree, which the tests rule out).
 */
function decodeBlockWasm(src: Uint8Array, ip: number, dst: Uint8Array): void {
  if (snappyBlockWasm(src, ip, dst) !== dst.length) {
    decodeBlock(src, ip, dst);
    wasmDisagreements.count++;
  }
}

/** Reads and checks a xerial chunk length at `pos`. */
function readChunkHeader(data: Uint8Array, pos: number): number {
  if (data.length - pos < 4) {
    throw corrupt(`snappy: xerial chunk header at byte ${pos} is truncated`);
  }
  const chunk = ((data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) |
    data[pos + 3]) >>> 0;
  if (chunk === 0 || chunk > data.length - pos - 4) {
    throw corrupt(
      `snappy: xerial chunk at byte ${pos} declares ${chunk} bytes, but ${
        data.length - pos - 4
      } remain`,
    );
  }
  return chunk;
}

/**
 * Decompresses one raw snappy block (no xerial framing).
 *
 * @throws {CorruptDataError} for malformed input or output past `maxOutputBytes`.
 * @example
 * ```ts
 * import { compressSnappyBlock, decompressSnappyBlock } from "./snappy.ts";
 * const block = compressSnappyBlock(new Uint8Array(1000));
 * decompressSnappyBlock(block).length; // 1000
 * ```
 */
export function decompressSnappyBlock(
  data: Uint8Array,
  options: SnappyDecompressOptions = {},
): Uint8Array {
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const declared = readVarint32(data, 0, data.length);
  if (declared.value > maxOutputBytes) throw tooLarge("snappy", maxOutputBytes);
  if (declared.value > maxDecodedSize(data.length)) {
    throw corrupt(
      `snappy: a block of ${data.length} bytes declares ${declared.value} decompressed bytes, more than it can hold`,
    );
  }
  return withOutput(data, declared.value, options.decoder, (input, out, decode) => {
    decode(input, declared.end, out);
  });
}

/** A varint value and the position just past it. */
interface Varint {
  value: number;
  end: number;
}

/** Reads the little-endian base-128 length that opens a raw block (at most 32 bits). */
function readVarint32(data: Uint8Array, pos: number, end: number): Varint {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw corrupt("snappy: block length is truncated");
    const b = data[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (value > 0xffffffff) break;
      return { value, end: pos };
    }
  }
  throw corrupt("snappy: block length is not a valid 32-bit varint");
}

/**
 * Decodes the elements of `src` from `ip` to its end into exactly all of
 * `dst`. Callers pass subarray views (one per xerial chunk), so positions start
 * at 0 and the bounds are the arrays' own lengths: back-references cannot
 * reach before the chunk, as each raw block is self-contained.
 *
 * Shaped for V8, each choice measured against the alternatives: few live
 * variables, every bound checked before the bytes it guards are read, copies
 * in small loops that get inlined (byte loops beat the call overhead of
 * `set`/`copyWithin` for the short copies text produces; snappy copies are
 * at most 64 bytes), `set` only for long literals. Overlapping copies must go
 * byte by byte so that they repeat the bytes they have just written.
 */
function decodeBlock(src: Uint8Array, ip: number, dst: Uint8Array): void {
  const ipEnd = src.length;
  const opEnd = dst.length;
  let op = 0;
  while (ip < ipEnd) {
    const tag = src[ip];
    ip += 1;
    let len: number;
    if ((tag & 3) === 0) {
      len = (tag >>> 2) + 1;
      if (len > 60) {
        // 1-4 little-endian bytes hold the length minus one.
        const n = len - 60;
        if (ip + n > ipEnd) throw corrupt("snappy: literal length is truncated");
        len = src[ip];
        if (n > 1) len |= src[ip + 1] << 8;
        if (n > 2) len |= src[ip + 2] << 16;
        if (n > 3) len |= src[ip + 3] << 24;
        len = (len >>> 0) + 1;
        ip += n;
      }
      if (ip + len > ipEnd) {
        throw corrupt(
          `snappy: literal of ${len} bytes runs past the end of the input (${ipEnd - ip} left)`,
        );
      }
      if (op + len > opEnd) throw overrun(opEnd);
      copyLiteral(src, ip, dst, op, len, 128);
      ip += len;
      op += len;
    } else {
      let offset: number;
      switch (tag & 3) {
        case 1:
          if (ip >= ipEnd) throw truncatedCopy();
          len = ((tag >>> 2) & 7) + 4;
          offset = src[ip] | ((tag >>> 5) << 8);
          ip += 1;
          break;
        case 2:
          if (ip + 1 >= ipEnd) throw truncatedCopy();
          len = (tag >>> 2) + 1;
          offset = src[ip] | (src[ip + 1] << 8);
          ip += 2;
          break;
        default:
          if (ip + 3 >= ipEnd) throw truncatedCopy();
          len = (tag >>> 2) + 1;
          offset = (src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16) | (src[ip + 3] << 24)) >>>
            0;
          ip += 4;
      }
      if (offset === 0 || offset > op) {
        throw corrupt(
          `snappy: copy offset ${offset} points before the start of the output (at byte ${op})`,
        );
      }
      if (op + len > opEnd) throw overrun(opEnd);
      copyMatch(dst, op, offset, len);
      op += len;
    }
  }
  if (op !== opEnd) {
    throw corrupt(`snappy: block decoded to ${op} bytes, but its header declares ${opEnd}`);
  }
}

function truncatedCopy() {
  return corrupt("snappy: copy element is truncated");
}

function overrun(declared: number) {
  return corrupt(`snappy: block decodes to more than the ${declared} bytes its header declares`);
}

// ---------------------------------------------------------------------------
// Compression: a greedy single-probe matcher over a hash table of 4-byte
// sequences, like the reference snappy, with its ratio on record data, in
// hand-written WebAssembly (lz.wat, snappy_compress) with this TypeScript version
// as the fallback; see DESIGN.md "Performance choices" for the measurements.

/** Offsets must fit in a copy element; blocks are compressed in fragments of this size. */
const FRAGMENT_SIZE = 65536;
/** Recent positions by hash, shared across calls (see lz77.ts). */
const table = new MatchTable();
/** Reused output buffer, grown on demand; results are copied out of it. */
let scratch = new Uint8Array(0);

function scratchOf(size: number): Uint8Array {
  if (scratch.length < size) scratch = new Uint8Array(Math.max(size, 1 << 16));
  return scratch;
}

/** Worst-case size of a raw block for `n` input bytes (varint, literal tags). */
function maxCompressedSize(n: number): number {
  return 32 + n + Math.ceil(n / 6);
}

/**
 * Compresses `data` into one raw snappy block (no xerial framing), the form
 * librdkafka may write.
 *
 * @example
 * ```ts
 * import { compressSnappyBlock } from "./snappy.ts";
 * compressSnappyBlock(new Uint8Array(0)); // Uint8Array [0]
 * ```
 */
export function compressSnappyBlock(
  data: Uint8Array,
  options: SnappyCompressOptions = {},
): Uint8Array {
  const need = maxCompressedSize(data.length);
  const arena = options.encoder === "js" ? undefined : wasmCompressArena(data, need);
  if (arena === undefined) {
    const out = scratchOf(need);
    return out.slice(0, encodeBlock(data, 0, data.length, out, 0, undefined));
  }
  const end = encodeBlock(
    arena.memory,
    arena.inputAt,
    arena.inputAt + data.length,
    arena.memory,
    arena.outputAt,
    arena,
  );
  return end < 0 ? compressSnappyBlock(data, { encoder: "js" }) : arena.memory.slice(
    arena.outputAt,
    end,
  );
}

/** Options of {@linkcode compressSnappy} and {@linkcode compressSnappyBlock}. */
export interface SnappyCompressOptions {
  /**
   * The compressor: hand-written WebAssembly, or the TypeScript one (always
   * used where WebAssembly is unavailable or the input is over 16 MiB). Both
   * write the same format; tests compare them.
   * @default {"wasm"}
   */
  encoder?: "wasm" | "js";
}

/**
 * Compresses `data` as a xerial stream of 32 KiB chunks, as Kafka's Java
 * producer does with snappy-java.
 *
 * @example
 * ```ts
 * import { compressSnappy } from "./snappy.ts";
 * compressSnappy(new Uint8Array(10)).subarray(1, 7); // "SNAPPY" in ASCII
 * ```
 */
export function compressSnappy(data: Uint8Array, options: SnappyCompressOptions = {}): Uint8Array {
  const chunks = Math.ceil(data.length / XERIAL_CHUNK_SIZE);
  const need = XERIAL_HEADER_SIZE + chunks * 4 + maxCompressedSize(data.length) + chunks * 33;
  const arena = options.encoder === "js" ? undefined : wasmCompressArena(data, need);
  const out = arena === undefined ? scratchOf(need) : arena.memory;
  const src = arena === undefined ? data : arena.memory;
  const i0 = arena === undefined ? 0 : arena.inputAt;
  const o0 = arena === undefined ? 0 : arena.outputAt;
  out.fill(0, o0, o0 + XERIAL_HEADER_SIZE);
  out.set(XERIAL_MAGIC, o0);
  // version 1, compatible version 1: what snappy-java writes and checks.
  out[o0 + 11] = 1;
  out[o0 + 15] = 1;
  let op = o0 + XERIAL_HEADER_SIZE;
  for (let s = 0; s < data.length; s += XERIAL_CHUNK_SIZE) {
    const e = Math.min(s + XERIAL_CHUNK_SIZE, data.length);
    const end = encodeBlock(src, i0 + s, i0 + e, out, op + 4, arena);
    if (end < 0) return compressSnappy(data, { encoder: "js" });
    const len = end - op - 4;
    out[op] = len >>> 24;
    out[op + 1] = len >>> 16;
    out[op + 2] = len >>> 8;
    out[op + 3] = len;
    op = end;
  }
  return out.slice(o0, op);
}

/**
 * Writes a raw block for `src[s, sEnd)` at `dst[op]`; returns the end position,
 * or -1 if the WebAssembly compressor trapped (our bug: the caller retries in
 * TypeScript). With an arena, `src` and `dst` are its memory.
 */
function encodeBlock(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  op: number,
  arena: WasmCompressArena | undefined,
): number {
  let n = sEnd - s;
  while (n >= 0x80) {
    dst[op++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  dst[op++] = n;
  for (let f = s; f < sEnd; f += FRAGMENT_SIZE) {
    const e = Math.min(f + FRAGMENT_SIZE, sEnd);
    if (arena === undefined) {
      op = encodeFragment(src, f, e, dst, op);
    } else {
      try {
        op = snappyCompressFragmentWasm(f, e, op);
      } catch {
        return -1;
      }
    }
  }
  return op;
}

function encodeFragment(
  src: Uint8Array,
  base: number,
  end: number,
  dst: Uint8Array,
  op: number,
): number {
  table.begin(base, end);
  const { slots: hashTable, floor, delta } = table;
  let anchor = base;
  let ip = base;
  const searchEnd = end - 4;
  while (ip <= searchEnd) {
    const seq = load32(src, ip);
    const h = Math.imul(seq, 0x1e35a7bd) >>> (32 - HASH_LOG);
    const v = hashTable[h];
    hashTable[h] = ip + delta;
    const candidate = v - delta;
    if (v <= floor || load32(src, candidate) !== seq) {
      // Skip faster through data that does not compress.
      ip += 1 + ((ip - anchor) >>> 5);
      continue;
    }
    const len = matchLength(src, candidate, ip, 4, end);
    op = emitLiteral(src, anchor, ip, dst, op);
    op = emitCopy(ip - candidate, len, dst, op);
    ip += len;
    anchor = ip;
    // Index the position before the next one too, as the reference encoder does.
    if (ip <= searchEnd) {
      const p = ip - 1;
      hashTable[Math.imul(load32(src, p), 0x1e35a7bd) >>> (32 - HASH_LOG)] = p + delta;
    }
  }
  return emitLiteral(src, anchor, end, dst, op);
}

function emitLiteral(
  src: Uint8Array,
  from: number,
  to: number,
  dst: Uint8Array,
  op: number,
): number {
  const len = to - from;
  if (len === 0) return op;
  const n = len - 1;
  if (n < 60) {
    dst[op++] = n << 2;
  } else if (n < 0x100) {
    dst[op++] = 60 << 2;
    dst[op++] = n;
  } else {
    // Fragments are at most 64 KiB, so two length bytes always suffice.
    dst[op++] = 61 << 2;
    dst[op++] = n;
    dst[op++] = n >>> 8;
  }
  copyLiteral(src, from, dst, op, len, 31);
  return op + len;
}

function emitCopy(offset: number, len: number, dst: Uint8Array, op: number): number {
  // Copy elements carry at most 64 bytes; leave at least 4 for the last one so
  // that it can use the 2-byte form when it is short and near.
  while (len >= 68) {
    op = emitCopy2(offset, 64, dst, op);
    len -= 64;
  }
  if (len > 64) {
    op = emitCopy2(offset, 60, dst, op);
    len -= 60;
  }
  if (len < 12 && offset < 2048) {
    dst[op++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    dst[op++] = offset;
    return op;
  }
  return emitCopy2(offset, len, dst, op);
}

function emitCopy2(offset: number, len: number, dst: Uint8Array, op: number): number {
  dst[op++] = 2 | ((len - 1) << 2);
  dst[op++] = offset;
  dst[op++] = offset >>> 8;
  return op;
}
