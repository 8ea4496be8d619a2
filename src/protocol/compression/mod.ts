/**
 * Record batch compression codecs, by the codec id in the batch attributes
 * (bits 0-2): 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
 *
 * - gzip: `node:zlib`.
 * - snappy: our own decoder and encoder; reads snappy-java's xerial stream
 *   (what Kafka's Java producer writes) and raw blocks (librdkafka).
 * - lz4: our own LZ4 frame decoder and encoder.
 * - zstd: `node:zlib` (native), behind our own frame walker; `fzstd` (pure
 *   JavaScript) where `node:zlib` lacks zstd.
 *
 * The snappy and lz4 block decoders exist twice: in TypeScript, and in
 * hand-written WebAssembly (`wasm/lz.wat`, embedded, so no permissions and no
 * file reads) that runs 2-3x faster by moving 8 bytes per step. The
 * WebAssembly one is used when it loads and the batch fits its 16 MiB arena;
 * the TypeScript one covers the rest and names what is wrong in a malformed
 * block. Numbers: `deno run -A bench/compression_bench.ts`.
 *
 * Every decoder is hardened: malformed input throws
 * {@linkcode CorruptDataError}, never another error, and output is capped at
 * `maxDecompressedBytes`.
 *
 * @example
 * ```ts
 * import { Compression, compress, decompress } from "./mod.ts";
 * const data = new TextEncoder().encode("hello, hello, hello");
 * const packed = compress(Compression.lz4, data);
 * new TextDecoder().decode(decompress(Compression.lz4, packed)); // "hello, hello, hello"
 * ```
 *
 * @module
 */

import { CorruptDataError } from "../errors.ts";
import { compressGzip, decompressGzip } from "./gzip.ts";
import { checkMaxOutputBytes, DEFAULT_MAX_DECOMPRESSED_BYTES } from "./limits.ts";
import { compressLz4, decompressLz4 } from "./lz4.ts";
import { compressSnappy, decompressSnappy } from "./snappy.ts";
import { compressZstd, decompressZstd } from "./zstd.ts";

export { DEFAULT_MAX_DECOMPRESSED_BYTES };

/** Codec ids as stored in record batch attributes. */
export const Compression = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const;

/** A codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
export type CompressionCodec = typeof Compression[keyof typeof Compression];

const NAMES = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

/**
 * The name of a codec id ("none", "gzip", "snappy", "lz4", "zstd"), or
 * `"unknown codec N"`, for messages and metrics.
 *
 * @example
 * ```ts
 * import { compressionName } from "./mod.ts";
 * compressionName(3); // "lz4"
 * ```
 */
export function compressionName(codec: number): string {
  return NAMES[codec] ?? `unknown codec ${codec}`;
}

/** Options of {@linkcode decompress}. */
export interface DecompressOptions {
  /**
   * Reject a batch whose decompressed size exceeds this many bytes, so that a
   * corrupt or hostile length field cannot exhaust memory.
   * @default {DEFAULT_MAX_DECOMPRESSED_BYTES} (256 MiB)
   */
  maxDecompressedBytes?: number;
}

/** Options of {@linkcode compress}. */
export interface CompressOptions {
  /**
   * Compression level for gzip (1-9) and zstd (1-22); lz4 and snappy have one
   * level. Defaults to the codec library's default.
   */
  level?: number;
}

function unknownCodec(codec: number): CorruptDataError {
  return new CorruptDataError(
    `compression codec ${codec} is not one Kafka defines (0 none, 1 gzip, 2 snappy, 3 lz4, ` +
      "4 zstd), so the record data cannot be read; the batch is corrupt or was written by a " +
      "newer producer",
  );
}

/**
 * Decompresses the records section of a batch written with `codec`. Codec 0
 * returns `data` itself. An empty input gives an empty output for every codec
 * (a batch emptied by compaction has no records to decompress).
 *
 * @throws {CorruptDataError} for an unknown codec id, malformed data, or
 * output larger than `maxDecompressedBytes`.
 * @throws {RangeError} when `maxDecompressedBytes` is not a non-negative integer.
 * @example
 * ```ts
 * import { Compression, compress, decompress } from "./mod.ts";
 * const bytes = new Uint8Array(1000).fill(7);
 * decompress(Compression.snappy, compress(Compression.snappy, bytes)).length; // 1000
 * ```
 */
export function decompress(
  codec: number,
  data: Uint8Array,
  options: DecompressOptions = {},
): Uint8Array {
  const max = checkMaxOutputBytes(options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  if (codec === Compression.none) return data;
  if (codec < 0 || codec > 4 || !Number.isInteger(codec)) throw unknownCodec(codec);
  if (data.length === 0) return new Uint8Array(0);
  switch (codec) {
    case Compression.gzip:
      return decompressGzip(data, { maxOutputBytes: max });
    case Compression.snappy:
      return decompressSnappy(data, { maxOutputBytes: max });
    case Compression.lz4:
      return decompressLz4(data, { maxOutputBytes: max });
    default:
      return decompressZstd(data, { maxOutputBytes: max });
  }
}

/**
 * Compresses `data` with `codec` in the shape Kafka's Java producer writes:
 * one gzip member, a snappy-java (xerial) stream, an LZ4 frame of independent
 * 64 KiB blocks, one zstd frame. Codec 0 returns `data` itself.
 *
 * @throws {CorruptDataError} for an unknown codec id.
 * @example
 * ```ts
 * import { Compression, compress } from "./mod.ts";
 * const packed = compress(Compression.gzip, new Uint8Array(4096));
 * packed.length < 100; // true
 * ```
 */
export function compress(
  codec: number,
  data: Uint8Array,
  options: CompressOptions = {},
): Uint8Array {
  switch (codec) {
    case Compression.none:
      return data;
    case Compression.gzip:
      return compressGzip(data, options.level);
    case Compression.snappy:
      return compressSnappy(data);
    case Compression.lz4:
      return compressLz4(data);
    case Compression.zstd:
      return compressZstd(data, options.level);
    default:
      throw unknownCodec(codec);
  }
}
