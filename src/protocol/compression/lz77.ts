/**
 * What the two LZ77 formats (lz4.ts, snappy.ts) share. Compressing: a hash
 * table of recent positions and the length of a match once a candidate is
 * found. Decompressing: copying a literal run and a back-reference. The
 * formats differ in the hash multiplier, the limits and how a sequence is
 * written, not in these.
 *
 * @module
 */

/** log2 of the table's slot count (16 Ki slots, as the reference encoders). */
export const HASH_LOG = 14;

/**
 * Positions by hash, one table per compressor, shared across its calls
 * (compression is synchronous). A position `p` of the current range is
 * stored as `p + delta`; every range starts above the last one's values,
 * so entries of earlier ranges (`<= floor`) read as "no candidate" without
 * clearing the table per block.
 */
export class MatchTable {
  /** Stored positions, by hash. */
  readonly slots: Int32Array = new Int32Array(1 << HASH_LOG);
  /** Entries at or below this are of earlier ranges: no candidate. */
  floor = 0;
  /** What a position of the current range is stored as, minus the position. */
  delta = 0;
  #next = 0;

  /** Starts the range `[start, end)` of the input. */
  begin(start: number, end: number): void {
    if (this.#next > 0x3fff0000) {
      this.slots.fill(0);
      this.#next = 0;
    }
    this.floor = this.#next;
    this.delta = this.#next + 1 - start;
    this.#next += end - start + 1;
  }
}

/** Four bytes at `i`, little-endian, as an int32. */
export function load32(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

/**
 * How far the bytes at `ip` repeat those at `ref`, starting from `len`
 * bytes known equal, without reading at or past `limit`.
 */
export function matchLength(
  src: Uint8Array,
  ref: number,
  ip: number,
  len: number,
  limit: number,
): number {
  while (ip + len + 4 <= limit && load32(src, ref + len) === load32(src, ip + len)) len += 4;
  while (ip + len < limit && src[ref + len] === src[ip + len]) len++;
  return len;
}

/**
 * Copies a literal run: a byte loop up to `loopMax` bytes (cheaper than a
 * `set` call and its subarray for short runs; where it stops paying differs
 * by format, as measured), `set` above.
 */
export function copyLiteral(
  src: Uint8Array,
  sp: number,
  dst: Uint8Array,
  dp: number,
  len: number,
  loopMax: number,
): void {
  if (len > loopMax) {
    dst.set(src.subarray(sp, sp + len), dp);
    return;
  }
  for (let i = 0; i < len; i++) dst[dp + i] = src[sp + i];
}

/** Copies `len` bytes from `offset` back, repeating them where the two overlap. */
export function copyMatch(dst: Uint8Array, dp: number, offset: number, len: number): void {
  const sp = dp - offset;
  if (len <= 32) {
    for (let i = 0; i < len; i++) dst[dp + i] = dst[sp + i];
  } else if (offset >= len) {
    dst.copyWithin(dp, sp, sp + len);
  } else {
    // A long overlapping match repeats the last `offset` bytes. Copying from
    // the start of that pattern in doubling chunks (each a multiple of the
    // period, so the pattern stays aligned) turns a byte loop into a few
    // block moves.
    const end = dp + len;
    let chunk = offset;
    while (dp < end) {
      const n = Math.min(chunk, end - dp);
      dst.copyWithin(dp, sp, sp + n);
      dp += n;
      chunk = dp - sp;
    }
  }
}
