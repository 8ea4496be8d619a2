/**
 * Gzip through `node:zlib` (native zlib in every Deno). Kafka's Java producer
 * writes one gzip member; several members back to back are read as one
 * stream, and anything else after the data is an error.
 *
 * @module
 */

import * as zlib from "node:zlib";
import { corrupt, DEFAULT_MAX_DECOMPRESSED_BYTES, tooLarge } from "./limits.ts";

/** Deflate cannot expand data by more than about 1032:1. */
const MAX_RATIO = 1032;
const MAX_CHUNK_SIZE = 8 * 1024 * 1024;

/** Options of {@linkcode decompressGzip}. */
export interface GzipDecompressOptions {
  /**
   * Reject output larger than this.
   * @default {DEFAULT_MAX_DECOMPRESSED_BYTES}
   */
  maxOutputBytes?: number;
}

/**
 * Decompresses gzip data.
 *
 * @throws {CorruptDataError} for malformed input or output past `maxOutputBytes`.
 * @example
 * ```ts
 * import { compressGzip, decompressGzip } from "./gzip.ts";
 * decompressGzip(compressGzip(new Uint8Array(100))).length; // 100
 * ```
 */
export function decompressGzip(
  data: Uint8Array,
  options: GzipDecompressOptions = {},
): Uint8Array {
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (data.length < 18 || data[0] !== 0x1f || data[1] !== 0x8b) {
    throw corrupt("gzip: not gzip data (bad magic or too short)");
  }
  // The trailer's ISIZE is the last member's size mod 2^32: exact for the
  // single member Kafka writes, and only a hint for node:zlib's output chunk
  // (one chunk of the right size avoids a chunk list and a final copy; a
  // chunk far too big costs more, as node:zlib allocates and clears it).
  const n = data.length;
  const isize = (data[n - 4] | (data[n - 3] << 8) | (data[n - 2] << 16) | (data[n - 1] << 24)) >>>
    0;
  // +64: room to see the end of the stream without allocating a second chunk.
  const hint = Math.min(isize + 64, n * MAX_RATIO, maxOutputBytes, MAX_CHUNK_SIZE);
  let buf: Uint8Array;
  try {
    buf = zlib.gunzipSync(data, {
      maxOutputLength: Math.max(1, maxOutputBytes),
      chunkSize: Math.max(64, hint),
    });
  } catch (e) {
    if (e instanceof Error && (e as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw tooLarge("gzip", maxOutputBytes);
    }
    throw corrupt(`gzip: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (buf.length > maxOutputBytes) throw tooLarge("gzip", maxOutputBytes);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Compresses `data` into one gzip member with `node:zlib`.
 *
 * @example
 * ```ts
 * import { compressGzip } from "./gzip.ts";
 * compressGzip(new Uint8Array(10))[0]; // 0x1f
 * ```
 */
export function compressGzip(data: Uint8Array, level?: number): Uint8Array {
  const buf = zlib.gzipSync(data, level === undefined ? {} : { level });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
