/**
 * LZ4 as Kafka carries it: the LZ4 *frame* format (magic 0x184D2204, a frame
 * descriptor with its own checksum byte, then blocks of at most 64 KiB-4 MiB,
 * each either LZ4-compressed or, with the high bit of its size set, stored).
 * Kafka's Java producer writes independent 64 KiB blocks without checksums or
 * content size; librdkafka and lz4-java may add a content size and block or
 * content checksums. The decoder reads all of these, several frames back to
 * back, and skips skippable frames. Only record batch magic v2 is in scope, so
 * the broken header checksum of Kafka's magic v0/v1 era is not accepted.
 *
 * @module
 */

import {
  checkBlockSize,
  checkContentSize,
  readU32,
  skipContentChecksum,
  walkFrames,
} from "./frames.ts";
import { corrupt, DEFAULT_MAX_DECOMPRESSED_BYTES, tooLarge, trimOutput } from "./limits.ts";
import {
  lz4BlockWasm,
  lz4CompressBlockWasm,
  WASM_MALFORMED,
  wasmArena,
  wasmCompressArena,
  wasmDisagreements,
} from "./wasm/lz_wasm.ts";
import { xxhash32 } from "./xxhash32.ts";
import { copyLiteral, copyMatch, HASH_LOG, load32, matchLength, MatchTable } from "./lz77.ts";

const FRAME_MAGIC = 0x184d2204;
const LEGACY_MAGIC = 0x184c2102;

const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;

const BLOCK_UNCOMPRESSED = 0x80000000;

/**
 * A compressed block of `n` bytes decodes to at most 255 bytes per input byte
 * (each length-extension byte adds 255 bytes; every other byte adds less).
 */
const MAX_RATIO = 255;

/** What the first pass learns about one frame. */
interface FrameInfo {
  /** Position of the first block header. */
  blocksStart: number;
  /** Position just past the frame (end mark and content checksum included). */
  end: number;
  flg: number;
  maxBlockSize: number;
  /** Declared content size, or -1. */
  contentSize: number;
  /** Upper bound of the decoded size (the content size when declared). */
  bound: number;
}

/** Options of {@linkcode decompressLz4}. */
export interface Lz4DecompressOptions {
  /**
   * Reject output larger than this.
   * @default {DEFAULT_MAX_DECOMPRESSED_BYTES}
   */
  maxOutputBytes?: number;
  /**
   * Verify block and content checksums when a frame carries them. Kafka's
   * record batch CRC already covers the compressed bytes, so this only adds
   * assurance against a broken producer; it is cheap next to decoding.
   * @default {true}
   */
  verifyChecksums?: boolean;
  /**
   * Which block decoder runs. "auto": the WebAssembly one (about 3x faster)
   * when it loaded and the batch fits its arena, else TypeScript. "js": always
   * TypeScript (tests and benchmarks compare the two; both decode the same
   * bytes the same way).
   * @default {"auto"}
   */
  decoder?: "auto" | "js";
}

/** Decodes one compressed block; see {@linkcode decodeBlock}. */
type BlockDecoder = (src: Uint8Array, dst: Uint8Array, op: number) => number;

/**
 * Decompresses one or more LZ4 frames.
 *
 * @throws {CorruptDataError} for malformed input or output past `maxOutputBytes`.
 * @example
 * ```ts
 * import { compressLz4, decompressLz4 } from "./lz4.ts";
 * const text = new TextEncoder().encode("to be or not to be, to be or not");
 * new TextDecoder().decode(decompressLz4(compressLz4(text))); // "to be or not to be, to be or not"
 * ```
 */
export function decompressLz4(data: Uint8Array, options: Lz4DecompressOptions = {}): Uint8Array {
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const verify = options.verifyChecksums ?? true;

  // Pass 1: parse every header and hop over the blocks. This checks the whole
  // structure before any decoding, and bounds the output size: exact where a
  // frame declares its content size or stores blocks raw, otherwise at most
  // one full block per compressed block, which is exact for Kafka's writer
  // (it fills every block but the last). One allocation usually suffices.
  let bound = 0;
  const frames = walkFrames(data, "lz4", (pos, magic) => {
    const frame = scanFrame(data, pos, magic);
    bound += frame.bound;
    return frame;
  });

  const limited = bound > maxOutputBytes;
  if (!limited && options.decoder !== "js") {
    const arena = wasmArena(data, bound);
    if (arena !== undefined) {
      const { op } = decodeFrames(arena.input, frames, arena.output, decodeBlockWasm, {
        maxOutputBytes,
        verify,
        limited,
      });
      // The arena is reused by the next decode: hand out a copy.
      return arena.output.slice(0, op);
    }
  }
  const out = new Uint8Array(limited ? initialCapacity(data.length, maxOutputBytes) : bound);
  const result = decodeFrames(data, frames, out, decodeBlock, { maxOutputBytes, verify, limited });
  return trimOutput(result.out, result.op);
}

/** Settings {@linkcode decodeFrames} needs besides the data. */
interface FrameDecodeSettings {
  maxOutputBytes: number;
  verify: boolean;
  /** The bound passed the cap: `out` is smaller than the bound and may grow. */
  limited: boolean;
}

/**
 * Pass 2: decodes the scanned frames of `data` into `out` (grown when
 * `limited`) with `decodeBlockFn`. Returns the output array and its length.
 */
function decodeFrames(
  data: Uint8Array,
  frames: FrameInfo[],
  out: Uint8Array,
  decodeBlockFn: BlockDecoder,
  { maxOutputBytes, verify, limited }: FrameDecodeSettings,
): { out: Uint8Array; op: number } {
  let op = 0;
  for (const frame of frames) {
    const frameStart = op;
    const independent = (frame.flg & FLG_BLOCK_INDEPENDENCE) !== 0;
    const blockChecksums = verify && (frame.flg & FLG_BLOCK_CHECKSUM) !== 0;
    let ip = frame.blocksStart;
    for (;;) {
      const header = readU32(data, ip);
      ip += 4;
      if (header === 0) break;
      const size = (header & ~BLOCK_UNCOMPRESSED) >>> 0;
      if (blockChecksums && xxhash32(data, ip, ip + size) !== readU32(data, ip + size)) {
        throw corrupt("lz4: block checksum mismatch");
      }
      const stored = header >= BLOCK_UNCOMPRESSED;
      const room = stored ? size : Math.min(frame.maxBlockSize, size * MAX_RATIO);
      if (limited && out.length - op < room) {
        // Only when the bound passes the cap do we allocate less and grow:
        // a short hostile input must not buy a huge allocation up front.
        if (out.length === maxOutputBytes) {
          if (stored) throw tooLarge("lz4", maxOutputBytes);
        } else {
          out = grow(out, op, op + room, maxOutputBytes);
        }
      }
      let opEnd = out.length;
      if (frame.contentSize >= 0) opEnd = Math.min(opEnd, frameStart + frame.contentSize);
      if (stored) {
        if (size > opEnd - op) throw outputOverrun(frame, opEnd, frameStart, maxOutputBytes);
        out.set(data.subarray(ip, ip + size), op);
        op += size;
      } else {
        const blockEnd = Math.min(opEnd, op + frame.maxBlockSize);
        const windowStart = independent ? op : frameStart;
        const end = decodeBlockFn(
          data.subarray(ip, ip + size),
          out.subarray(windowStart, blockEnd),
          op - windowStart,
        );
        if (end === OUTPUT_OVERRUN) {
          throw outputOverrun(frame, blockEnd, frameStart, maxOutputBytes);
        }
        op = windowStart + end;
      }
      ip += size + (frame.flg & FLG_BLOCK_CHECKSUM ? 4 : 0);
    }
    if (frame.contentSize >= 0 && op - frameStart !== frame.contentSize) {
      throw corrupt(
        `lz4: frame decoded to ${
          op - frameStart
        } bytes, but its header declares ${frame.contentSize}`,
      );
    }
    if (verify && (frame.flg & FLG_CONTENT_CHECKSUM)) {
      if (xxhash32(out, frameStart, op) !== readU32(data, ip)) {
        throw corrupt("lz4: content checksum mismatch");
      }
    }
  }
  return { out, op };
}

/**
 * The WebAssembly block decoder, with the TypeScript one as the judge of
 * malformed blocks: it names what is wrong (and would decode the block, were
 * the two ever to disagree, which the tests rule out).
 */
function decodeBlockWasm(src: Uint8Array, dst: Uint8Array, op: number): number {
  const end = lz4BlockWasm(src, dst, op);
  if (end !== WASM_MALFORMED) return end;
  const judged = decodeBlock(src, dst, op);
  wasmDisagreements.count++;
  return judged;
}

/** First allocation when the bound passes the cap: a generous guess at the ratio. */
function initialCapacity(inputLength: number, maxOutputBytes: number): number {
  return Math.min(maxOutputBytes, inputLength * 8 + (1 << 20));
}

function grow(out: Uint8Array, used: number, needed: number, maxOutputBytes: number): Uint8Array {
  const size = Math.min(maxOutputBytes, Math.max(needed, out.length * 2));
  const bigger = new Uint8Array(size);
  bigger.set(out.subarray(0, used));
  return bigger;
}

/** Parses a frame header at `pos` and hops over its blocks. */
function scanFrame(data: Uint8Array, pos: number, magic: number): FrameInfo {
  if (magic !== FRAME_MAGIC) {
    if (magic === LEGACY_MAGIC) {
      throw corrupt("lz4: the legacy lz4 format (magic 0x184C2102) is not what Kafka writes");
    }
    throw corrupt(
      `lz4: bad frame magic 0x${magic.toString(16).padStart(8, "0")} (expected 0x184d2204)`,
    );
  }
  const descStart = pos + 4;
  if (data.length - descStart < 3) throw corrupt("lz4: frame descriptor is truncated");
  const flg = data[descStart];
  const bd = data[descStart + 1];
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) {
    throw corrupt(`lz4: unsupported frame version ${(flg >>> 6) & 3}`);
  }
  if (flg & FLG_RESERVED || bd & 0x8f) {
    throw corrupt("lz4: reserved bits are set in the frame descriptor");
  }
  const blockSizeId = (bd >>> 4) & 7;
  if (blockSizeId < 4) throw corrupt(`lz4: invalid block size id ${blockSizeId}`);
  const maxBlockSize = 1 << (2 * blockSizeId + 8);
  let p = descStart + 2;
  const headerLength = 2 + (flg & FLG_CONTENT_SIZE ? 8 : 0) + (flg & FLG_DICT_ID ? 4 : 0);
  if (data.length - descStart < headerLength + 1) {
    throw corrupt("lz4: frame descriptor is truncated");
  }
  let contentSize = -1;
  if (flg & FLG_CONTENT_SIZE) {
    const high = readU32(data, p + 4);
    // Beyond 2^53 a number loses precision; no real batch comes near either way.
    if (high >= 0x200000) throw corrupt("lz4: frame declares an impossible content size");
    contentSize = high * 2 ** 32 + readU32(data, p);
    p += 8;
  }
  if (flg & FLG_DICT_ID) {
    throw corrupt("lz4: frames that need a dictionary are not supported (Kafka does not use them)");
  }
  const hc = (xxhash32(data, descStart, p) >>> 8) & 0xff;
  if (data[p] !== hc) throw corrupt("lz4: frame descriptor checksum mismatch");
  p += 1;

  const blocksStart = p;
  const blockChecksum = flg & FLG_BLOCK_CHECKSUM ? 4 : 0;
  let blockBound = 0;
  for (;;) {
    if (data.length - p < 4) throw corrupt("lz4: block header is truncated");
    const header = readU32(data, p);
    p += 4;
    if (header === 0) break;
    const size = (header & ~BLOCK_UNCOMPRESSED) >>> 0;
    checkBlockSize("lz4", size, maxBlockSize);
    if (data.length - p < size + blockChecksum) {
      throw corrupt(
        `lz4: block of ${size} bytes runs past the end of the input (${data.length - p} left)`,
      );
    }
    blockBound += header >= BLOCK_UNCOMPRESSED ? size : Math.min(maxBlockSize, size * MAX_RATIO);
    p += size + blockChecksum;
  }
  if (flg & FLG_CONTENT_CHECKSUM) p = skipContentChecksum(data, p, "lz4");
  checkContentSize("lz4", contentSize, blockBound);
  return {
    blocksStart,
    end: p,
    flg,
    maxBlockSize,
    contentSize,
    bound: contentSize >= 0 ? contentSize : blockBound,
  };
}

/**
 * What {@linkcode decodeBlock} returns when the block would write past the end
 * of `dst` (the WebAssembly decoder's code for the same is the same -1).
 */
const OUTPUT_OVERRUN = -1;

/**
 * Decodes the LZ4 block `src` (a view of exactly the block) into `dst` from
 * position `op` to at most the end of `dst`. Matches may reach back to the
 * start of `dst`: callers pass a view starting at the block for independent
 * blocks, at the frame for linked ones. Returns the new output position, or
 * {@linkcode OUTPUT_OVERRUN} (the caller knows which limit `dst` ended at).
 * Views keep the live variables few and the bounds the arrays' own lengths,
 * which V8 optimizes best (measured).
 *
 * A sequence is a token (literal length : match length, 4 bits each, 15
 * meaning "more bytes follow, 255 meaning more again"), the literals, a 2-byte
 * little-endian offset and the match. The last sequence has literals only.
 */
function decodeBlock(src: Uint8Array, dst: Uint8Array, op: number): number {
  const ipEnd = src.length;
  const opEnd = dst.length;
  let ip = 0;
  for (;;) {
    if (ip >= ipEnd) throw corrupt("lz4: block ends in the middle of a sequence");
    const token = src[ip];
    ip += 1;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= ipEnd) throw corrupt("lz4: literal length is truncated");
        b = src[ip];
        ip += 1;
        lit += b;
      } while (b === 255);
    }
    if (ip + lit > ipEnd) {
      throw corrupt(
        `lz4: literal run of ${lit} bytes runs past the end of the block (${ipEnd - ip} left)`,
      );
    }
    if (op + lit > opEnd) return OUTPUT_OVERRUN;
    copyLiteral(src, ip, dst, op, lit, 32);
    ip += lit;
    op += lit;
    if (ip === ipEnd) return op;

    if (ip + 2 > ipEnd) throw corrupt("lz4: match offset is truncated");
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op) {
      throw corrupt(
        `lz4: match offset ${offset} points before the start of the output (at byte ${op})`,
      );
    }
    let len = (token & 15) + 4;
    if (len === 19) {
      let b: number;
      do {
        if (ip >= ipEnd) throw corrupt("lz4: match length is truncated");
        b = src[ip];
        ip += 1;
        len += b;
      } while (b === 255);
    }
    if (op + len > opEnd) return OUTPUT_OVERRUN;
    copyMatch(dst, op, offset, len);
    op += len;
  }
}

function outputOverrun(frame: FrameInfo, opEnd: number, frameStart: number, max: number) {
  if (frame.contentSize >= 0 && opEnd === frameStart + frame.contentSize) {
    return corrupt(`lz4: frame holds more than the ${frame.contentSize} bytes its header declares`);
  }
  if (opEnd >= max) return tooLarge("lz4", max);
  return corrupt(
    `lz4: a block decodes to more than the frame's maximum block size of ${frame.maxBlockSize} bytes`,
  );
}

// ---------------------------------------------------------------------------
// Compression: independent 64 KiB blocks without checksums or content size,
// exactly the frame shape Kafka's Java producer writes (its broker-side reader
// rejects dependent blocks). A greedy single-probe hash matcher like the
// reference lz4's fast mode (level 1), with the same ratio on record data, in
// hand-written WebAssembly (lz.wat, lz4_compress) with this TypeScript version
// as the fallback; see DESIGN.md "Performance choices" for the measurements.

const BLOCK_SIZE = 65536;
const BD_64KB = 4 << 4;
/** The format's end rules: the last 5 bytes are literals; no match starts in the last 12. */
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const MIN_MATCH = 4;
/** Recent positions by hash, shared across calls (see lz77.ts). */
const table = new MatchTable();
/** Reused output buffer, grown on demand; results are copied out of it. */
let scratch = new Uint8Array(0);

/**
 * Compresses `data` into one LZ4 frame shaped like Kafka's: independent
 * 64 KiB blocks, blocks that do not shrink stored raw, no checksums.
 *
 * @example
 * ```ts
 * import { compressLz4 } from "./lz4.ts";
 * compressLz4(new Uint8Array(0)).length; // 11: magic, descriptor, end mark
 * ```
 */
export function compressLz4(data: Uint8Array, options: Lz4CompressOptions = {}): Uint8Array {
  const blocks = Math.ceil(data.length / BLOCK_SIZE);
  // Worst case: the bytes, a length byte per 255, a token and a size per block.
  const need = 7 + data.length + (data.length >>> 8) + blocks * 20 + 4;
  const arena = options.encoder === "js" ? undefined : wasmCompressArena(data, need);
  let out: Uint8Array;
  let o0 = 0;
  let i0 = 0;
  if (arena !== undefined) {
    out = arena.memory;
    o0 = arena.outputAt;
    i0 = arena.inputAt;
  } else {
    if (scratch.length < need) scratch = new Uint8Array(Math.max(need, 1 << 16));
    out = scratch;
  }
  out[o0] = 0x04;
  out[o0 + 1] = 0x22;
  out[o0 + 2] = 0x4d;
  out[o0 + 3] = 0x18;
  out[o0 + 4] = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENCE;
  out[o0 + 5] = BD_64KB;
  out[o0 + 6] = (xxhash32(out, o0 + 4, o0 + 6) >>> 8) & 0xff;
  let op = o0 + 7;
  for (let s = 0; s < data.length; s += BLOCK_SIZE) {
    const e = Math.min(s + BLOCK_SIZE, data.length);
    let end: number;
    if (arena === undefined) {
      end = encodeBlock(data, s, e, out, op + 4);
    } else {
      try {
        end = lz4CompressBlockWasm(i0 + s, i0 + e, op + 4);
      } catch {
        // A trap would be our bug, not the data's: compress in TypeScript.
        return compressLz4(data, { encoder: "js" });
      }
    }
    let size = end - op - 4;
    if (size >= e - s) {
      size = e - s;
      if (arena !== undefined) out.copyWithin(op + 4, i0 + s, i0 + e);
      else out.set(data.subarray(s, e), op + 4);
      writeU32(out, op, (size | BLOCK_UNCOMPRESSED) >>> 0);
    } else {
      writeU32(out, op, size);
    }
    op += 4 + size;
  }
  writeU32(out, op, 0);
  return out.slice(o0, op + 4);
}

/** Options of {@linkcode compressLz4}. */
export interface Lz4CompressOptions {
  /**
   * The block compressor: hand-written WebAssembly, or the TypeScript one
   * (always used where WebAssembly is unavailable or the input is over 16 MiB).
   * Both write the same format; tests compare them.
   * @default {"wasm"}
   */
  encoder?: "wasm" | "js";
}

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v;
  b[i + 1] = v >>> 8;
  b[i + 2] = v >>> 16;
  b[i + 3] = v >>> 24;
}

/** Writes an LZ4 block for `src[s, sEnd)` at `dst[op]`; returns the end position. */
function encodeBlock(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  op: number,
): number {
  table.begin(s, sEnd);
  const { slots: hashTable, floor, delta } = table;
  let anchor = s;
  let ip = s;
  const matchStartLimit = sEnd - MF_LIMIT;
  const matchEndLimit = sEnd - LAST_LITERALS;
  while (ip < matchStartLimit) {
    const seq = load32(src, ip);
    const h = Math.imul(seq, 0x9e3779b1) >>> (32 - HASH_LOG);
    const v = hashTable[h];
    hashTable[h] = ip + delta;
    const ref = v - delta;
    if (v <= floor || load32(src, ref) !== seq) {
      // Skip faster through data that does not compress.
      ip += 1 + ((ip - anchor) >>> 6);
      continue;
    }
    const len = matchLength(src, ref, ip, MIN_MATCH, matchEndLimit);
    op = emitSequence(src, anchor, ip, ip - ref, len, dst, op);
    ip += len;
    anchor = ip;
    // Index a position inside the match too, as the reference encoder does.
    if (ip < matchStartLimit) {
      const p = ip - 2;
      hashTable[Math.imul(load32(src, p), 0x9e3779b1) >>> (32 - HASH_LOG)] = p + delta;
    }
  }
  return emitSequence(src, anchor, sEnd, 0, 0, dst, op);
}

/** Emits literals `src[from, to)`, then a match unless `len` is 0 (the last sequence). */
function emitSequence(
  src: Uint8Array,
  from: number,
  to: number,
  offset: number,
  len: number,
  dst: Uint8Array,
  op: number,
): number {
  const lit = to - from;
  const ml = len === 0 ? 0 : len - MIN_MATCH;
  dst[op++] = ((lit < 15 ? lit : 15) << 4) | (ml < 15 ? ml : 15);
  if (lit >= 15) op = emitLength(lit - 15, dst, op);
  copyLiteral(src, from, dst, op, lit, 31);
  op += lit;
  if (len === 0) return op;
  dst[op++] = offset;
  dst[op++] = offset >>> 8;
  if (ml >= 15) op = emitLength(ml - 15, dst, op);
  return op;
}

function emitLength(n: number, dst: Uint8Array, op: number): number {
  while (n >= 255) {
    dst[op++] = 255;
    n -= 255;
  }
  dst[op++] = n;
  return op;
}
