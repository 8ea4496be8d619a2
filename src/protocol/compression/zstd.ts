/**
 * Zstandard, decoded by the zstd library inside `node:zlib` (native: 1.5x the
 * best WebAssembly decoder measured at 1 MiB, on par at 16 KiB, where its
 * per-call setup dominates), with `fzstd` (pure JavaScript, 3-5x slower) as
 * the fallback for runtimes whose `node:zlib` lacks zstd.
 *
 * Both decoders get frames one at a time from our own walk over the frame and
 * block headers, because `node:zlib` in Deno 2.9 stops after the first frame of
 * a multi-frame input and returns what it has for truncated input without an
 * error. The walk catches truncation and trailing garbage, skips skippable
 * frames, and bounds each frame's output before anything is decoded.
 *
 * @module
 */

import * as zlib from "node:zlib";
// deno-lint-ignore no-import-prefix -- pinned inline: deno.json is shared, this dependency is ours
import { decompress as fzstdDecompress } from "npm:fzstd@0.1.1";
import { concatBytes } from "../../util/bytes.ts";
import { CorruptDataError } from "../errors.ts";
import { checkBlockSize, checkContentSize, skipContentChecksum, walkFrames } from "./frames.ts";
import { corrupt, DEFAULT_MAX_DECOMPRESSED_BYTES, tooLarge } from "./limits.ts";

const FRAME_MAGIC = 0xfd2fb528;
/** A block never decodes to more than this (the format's Block_Maximum_Size). */
const MAX_BLOCK_SIZE = 128 * 1024;
/** libzstd's default window limit (window log 27): larger frames need opt-in there too. */
const MAX_WINDOW_SIZE = 1 << 27;
/** Output chunk ceiling for `node:zlib`: beyond this, a size hint buys nothing. */
const MAX_CHUNK_SIZE = 8 * 1024 * 1024;

/** Whether this runtime's `node:zlib` has zstd (Deno 2.x does). */
export const hasNativeZstd: boolean = typeof zlib.zstdDecompressSync === "function";

/** One frame found by the header walk. */
interface ZstdFrame {
  start: number;
  end: number;
  /** Declared content size, or -1. */
  contentSize: number;
  /** Upper bound of the decoded size. */
  bound: number;
  windowSize: number;
}

/** Options of {@linkcode decompressZstd}. */
export interface ZstdDecompressOptions {
  /**
   * Reject output larger than this.
   * @default {DEFAULT_MAX_DECOMPRESSED_BYTES}
   */
  maxOutputBytes?: number;
  /**
   * Which decoder runs: "auto" is `node:zlib` where it has zstd, else fzstd;
   * "fzstd" forces the fallback (tests and benchmarks compare the two).
   * @default {"auto"}
   */
  decoder?: "auto" | "fzstd";
}

/**
 * Decompresses one or more zstd frames (skippable frames are skipped).
 *
 * @throws {CorruptDataError} for malformed input or output past `maxOutputBytes`.
 * @example
 * ```ts
 * import { compressZstd, decompressZstd } from "./zstd.ts";
 * decompressZstd(compressZstd(new Uint8Array(100))).length; // 100
 * ```
 */
export function decompressZstd(
  data: Uint8Array,
  options: ZstdDecompressOptions = {},
): Uint8Array {
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const native = hasNativeZstd && options.decoder !== "fzstd";
  const frames = scanFrames(data, maxOutputBytes);
  if (frames.length === 1) return decodeFrame(data, frames[0], maxOutputBytes, native);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const frame of frames) {
    const part = decodeFrame(data, frame, maxOutputBytes - total, native);
    parts.push(part);
    total += part.length;
  }
  return concatBytes(parts);
}

function decodeFrame(
  data: Uint8Array,
  frame: ZstdFrame,
  maxOutputBytes: number,
  native: boolean,
): Uint8Array {
  let input = data.subarray(frame.start, frame.end);
  let out: Uint8Array;
  try {
    if (native) {
      const buf = zlib.zstdDecompressSync(input, {
        // node:zlib rejects a limit of 0; the check below enforces it.
        maxOutputLength: Math.max(1, maxOutputBytes),
        // With a declared size, one output chunk of that size (plus room to
        // see the frame end) saves the chunk list and the final copy: ~20%
        // faster. Without one (Kafka's Java producer streams its frames), the
        // default 16 KiB chunks: every chunk is allocated and cleared, so a
        // generous guess costs more than it saves (measured 2-5x slower for a
        // 16 KiB batch with 128 KiB chunks).
        chunkSize: frame.contentSize >= 0
          ? Math.min(frame.contentSize + 64, MAX_CHUNK_SIZE)
          : undefined,
      });
      // A plain Uint8Array view: Node's Buffer stays out of our API.
      out = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } else {
      if (frame.contentSize < 0 && frame.windowSize > frame.bound) {
        input = withSmallerWindow(input, frame.bound);
      }
      out = fzstdDecompress(input);
    }
  } catch (e) {
    if (e instanceof Error && (e as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw tooLarge("zstd", maxOutputBytes);
    }
    if (e instanceof CorruptDataError) throw e;
    throw corrupt(`zstd: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (out.length > maxOutputBytes) throw tooLarge("zstd", maxOutputBytes);
  if (frame.contentSize >= 0 && out.length !== frame.contentSize) {
    throw corrupt(
      `zstd: frame decoded to ${out.length} bytes, but its header declares ${frame.contentSize}`,
    );
  }
  return out;
}

/**
 * fzstd allocates the frame's whole window for a frame of unknown size: 2 MiB
 * per batch for Kafka's default level, up to 128 MiB for a hostile header.
 * The output cannot exceed `bound`, so no match reaches further back than
 * that; a copy with the window descriptor lowered to cover `bound` decodes to
 * the same bytes and allocates no more than the output needs.
 */
function withSmallerWindow(frame: Uint8Array, bound: number): Uint8Array {
  const windowLog = Math.max(10, Math.ceil(Math.log2(Math.max(bound, 1))));
  const copy = frame.slice();
  // Byte 4 is the frame header descriptor; a frame without a content size is
  // never single-segment, so byte 5 is its window descriptor (mantissa 0).
  copy[5] = (windowLog - 10) << 3;
  return copy;
}

/** Walks frame and block headers; checks structure and sizes, decodes nothing. */
function scanFrames(data: Uint8Array, maxOutputBytes: number): ZstdFrame[] {
  let total = 0;
  return walkFrames(data, "zstd", (pos, magic) => {
    if (magic !== FRAME_MAGIC) {
      throw corrupt(
        `zstd: bad frame magic 0x${magic.toString(16).padStart(8, "0")} (expected 0xfd2fb528)`,
      );
    }
    const frame = scanFrame(data, pos);
    // Declared sizes are exact, so a frame that will not fit fails before decoding.
    if (frame.contentSize >= 0) total += frame.contentSize;
    if (total > maxOutputBytes) throw tooLarge("zstd", maxOutputBytes);
    return frame;
  });
}

function scanFrame(data: Uint8Array, start: number): ZstdFrame {
  let p = start + 4;
  if (p >= data.length) throw corrupt("zstd: frame header is truncated");
  const fhd = data[p++];
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd & 0x20) !== 0;
  const checksum = (fhd & 0x04) !== 0;
  const dictFlag = fhd & 3;
  if (fhd & 0x08) throw corrupt("zstd: reserved bit is set in the frame header");
  const dictBytes = [0, 1, 2, 4][dictFlag];
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag];
  const headerRest = (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
  if (data.length - p < headerRest) throw corrupt("zstd: frame header is truncated");
  let windowSize = 0;
  if (!singleSegment) {
    const wd = data[p++];
    const base = 2 ** (10 + (wd >>> 3));
    windowSize = base + (base / 8) * (wd & 7);
  }
  let dictId = 0;
  for (let i = 0; i < dictBytes; i++) dictId += data[p++] * 2 ** (8 * i);
  if (dictId !== 0) {
    throw corrupt(`zstd: frame needs dictionary ${dictId}; dictionaries are not supported`);
  }
  let contentSize = -1;
  if (fcsBytes > 0) {
    contentSize = 0;
    for (let i = 0; i < fcsBytes; i++) contentSize += data[p++] * 2 ** (8 * i);
    if (fcsBytes === 2) contentSize += 256;
  }
  if (singleSegment) windowSize = contentSize;
  if (windowSize > MAX_WINDOW_SIZE) {
    throw corrupt(
      `zstd: frame window of ${windowSize} bytes is larger than the ${MAX_WINDOW_SIZE} this decoder accepts`,
    );
  }
  const maxBlock = Math.min(MAX_BLOCK_SIZE, Math.max(windowSize, 1));
  let bound = 0;
  for (;;) {
    if (data.length - p < 3) throw corrupt("zstd: block header is truncated");
    const header = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16);
    p += 3;
    const last = header & 1;
    const type = (header >>> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw corrupt("zstd: reserved block type");
    checkBlockSize("zstd", size, maxBlock);
    const stored = type === 1 ? 1 : size;
    if (data.length - p < stored) {
      throw corrupt(
        `zstd: block of ${stored} bytes runs past the end of the input (${data.length - p} left)`,
      );
    }
    bound += type === 2 ? maxBlock : size;
    p += stored;
    if (last) break;
  }
  if (checksum) p = skipContentChecksum(data, p, "zstd");
  checkContentSize("zstd", contentSize, bound);
  return {
    start,
    end: p,
    contentSize,
    bound: contentSize >= 0 ? contentSize : bound,
    windowSize,
  };
}

/**
 * Compresses `data` into one zstd frame with `node:zlib`.
 *
 * @example
 * ```ts
 * import { compressZstd } from "./zstd.ts";
 * compressZstd(new Uint8Array(1000)).length < 100; // true
 * ```
 */
export function compressZstd(data: Uint8Array, level?: number): Uint8Array {
  if (!hasNativeZstd) {
    throw new Error("zstd compression needs node:zlib with zstd support (Deno 2.x)");
  }
  const params = level === undefined ? {} : { [zlib.constants.ZSTD_c_compressionLevel]: level };
  const buf = zlib.zstdCompressSync(data, { params });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
