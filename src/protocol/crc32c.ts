/**
 * CRC32C (Castagnoli), the checksum of magic v2 record batches.
 *
 * Table-driven "slicing-by-16": sixteen 256-entry tables let one loop step
 * fold 16 input bytes into the running CRC with 16 independent table lookups
 * instead of 16 dependent ones. Measured on Deno 2.9 (bench/crc32c_bench.ts):
 * byte-at-a-time ≈ 0.4 GB/s, slicing-by-8 ≈ 1.6 GB/s, slicing-by-16 with
 * 32-bit word loads ≈ 2.2 GB/s; a hand-written WebAssembly slicing-by-16 was no
 * faster once the copy into its memory was paid, so this stays plain
 * TypeScript (which also runs on every edge runtime without instantiating a
 * module).
 *
 * @module
 */

/** The reflected Castagnoli polynomial. */
const POLY = 0x82f63b78;

/**
 * Sixteen lookup tables, flat: table k lives at [k * 256, k * 256 + 256).
 * Table 0 is the classic byte-at-a-time table; table k advances a byte's
 * contribution through k further zero bytes. Int32Array (not Uint32Array) so
 * that loads stay small integers in V8 instead of boxed doubles.
 */
const TABLES: Int32Array = buildTables(16);

function buildTables(count: number): Int32Array {
  const t = new Int32Array(256 * count);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < count; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 255];
    }
  }
  return t;
}

/**
 * Word loads through an Int32Array view read bytes in platform order; the
 * fast path assumes little-endian (every platform Deno ships for) and falls
 * back to byte loads otherwise.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Below this many bytes the view allocation and alignment prologue cost more than they save. */
const WORD_PATH_MIN = 256;

/**
 * Computes the CRC32C (Castagnoli) checksum of `data[start, end)`.
 *
 * @param data The bytes to checksum.
 * @param start First byte included. @default {0}
 * @param end One past the last byte included. @default {data.length}
 * @returns The checksum as an unsigned 32-bit integer.
 * @throws {RangeError} When `start`/`end` do not describe a range inside `data`.
 *
 * @example Check value of the standard test string
 * ```ts
 * import { crc32c } from "./crc32c.ts";
 * const crc = crc32c(new TextEncoder().encode("123456789"));
 * crc === 0xe3069283; // true
 * ```
 */
export function crc32c(data: Uint8Array, start = 0, end: number = data.length): number {
  if (!(start >= 0 && start <= end && end <= data.length)) {
    throw new RangeError(
      `crc32c range [${start}, ${end}) is outside the ${data.length}-byte input`,
    );
  }
  let crc = -1;
  let i = start;
  const t = TABLES;
  if (LITTLE_ENDIAN && end - i >= WORD_PATH_MIN) {
    // Align to 4 bytes so the Int32Array view can be created over the buffer.
    while (((data.byteOffset + i) & 3) !== 0) crc = (crc >>> 8) ^ t[(crc ^ data[i++]) & 255];
    const blocks = (end - i) >>> 4;
    const words = new Int32Array(data.buffer, data.byteOffset + i, blocks * 4);
    for (let j = 0; j < words.length; j += 4) {
      const a = crc ^ words[j];
      const b = words[j + 1];
      const c = words[j + 2];
      const d = words[j + 3];
      crc = t[3840 + (a & 255)] ^ t[3584 + ((a >>> 8) & 255)] ^
        t[3328 + ((a >>> 16) & 255)] ^ t[3072 + (a >>> 24)] ^
        t[2816 + (b & 255)] ^ t[2560 + ((b >>> 8) & 255)] ^
        t[2304 + ((b >>> 16) & 255)] ^ t[2048 + (b >>> 24)] ^
        t[1792 + (c & 255)] ^ t[1536 + ((c >>> 8) & 255)] ^
        t[1280 + ((c >>> 16) & 255)] ^ t[1024 + (c >>> 24)] ^
        t[768 + (d & 255)] ^ t[512 + ((d >>> 8) & 255)] ^
        t[256 + ((d >>> 16) & 255)] ^ t[d >>> 24];
    }
    i += blocks * 16;
  } else {
    for (; i + 16 <= end; i += 16) {
      const a = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
      crc = t[3840 + (a & 255)] ^ t[3584 + ((a >>> 8) & 255)] ^
        t[3328 + ((a >>> 16) & 255)] ^ t[3072 + (a >>> 24)] ^
        t[2816 + data[i + 4]] ^ t[2560 + data[i + 5]] ^
        t[2304 + data[i + 6]] ^ t[2048 + data[i + 7]] ^
        t[1792 + data[i + 8]] ^ t[1536 + data[i + 9]] ^
        t[1280 + data[i + 10]] ^ t[1024 + data[i + 11]] ^
        t[768 + data[i + 12]] ^ t[512 + data[i + 13]] ^
        t[256 + data[i + 14]] ^ t[data[i + 15]];
    }
  }
  for (; i < end; i++) crc = (crc >>> 8) ^ t[(crc ^ data[i]) & 255];
  return ~crc >>> 0;
}

/**
 * Byte-at-a-time CRC32C: the textbook loop, kept as the reference that tests
 * and benchmarks compare {@linkcode crc32c} against.
 *
 * @param data The bytes to checksum.
 * @param start First byte included. @default {0}
 * @param end One past the last byte included. @default {data.length}
 * @returns The checksum as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { crc32c, crc32cBytewise } from "./crc32c.ts";
 * const data = new Uint8Array([1, 2, 3]);
 * crc32cBytewise(data) === crc32c(data); // true
 * ```
 */
export function crc32cBytewise(
  data: Uint8Array,
  start = 0,
  end: number = data.length,
): number {
  let crc = -1;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLES[(crc ^ data[i]) & 255];
  return ~crc >>> 0;
}
