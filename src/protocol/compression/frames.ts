/**
 * What the lz4 and zstd frame formats share: little-endian 32-bit fields;
 * skippable frames (magic 0x184D2A50 to 0x184D2A5F, a 4-byte size, then that
 * many bytes of anything), which a reader hops over; and the checks of a
 * frame's walk: block sizes against the frame's maximum, the optional 4-byte
 * content checksum at the end, the declared content size against the blocks.
 *
 * @module
 */

import { corrupt } from "./limits.ts";

const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** The little-endian unsigned 32-bit integer at `b[i]`. */
export function readU32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/**
 * Walks the frames of `data`, back to back, hopping over skippable ones:
 * `scan` reads the frame of `codec` at `pos` (its magic, read already, may
 * still be garbage for it to refuse) and says where that frame ends.
 *
 * @throws {CorruptDataError} On a cut-short magic or skippable frame, or no frame at all.
 */
export function walkFrames<F extends { end: number }>(
  data: Uint8Array,
  codec: string,
  scan: (pos: number, magic: number) => F,
): F[] {
  const frames: F[] = [];
  let pos = 0;
  while (pos < data.length) {
    const skipped = skippableFrameEnd(data, pos, codec);
    if (skipped !== -1) {
      pos = skipped;
      continue;
    }
    const frame = scan(pos, readU32(data, pos));
    frames.push(frame);
    pos = frame.end;
  }
  if (frames.length === 0) throw corrupt(`${codec}: the input holds no ${codec} frame`);
  return frames;
}

/**
 * Checks that a frame magic starts at `data[pos]`; when it is a skippable
 * frame's, returns where that frame ends, else -1.
 */
function skippableFrameEnd(data: Uint8Array, pos: number, codec: string): number {
  if (data.length - pos < 4) throw corrupt(`${codec}: frame magic is truncated`);
  if (((readU32(data, pos) & SKIPPABLE_MASK) >>> 0) !== SKIPPABLE_MAGIC) return -1;
  if (data.length - pos < 8) throw corrupt(`${codec}: skippable frame header is truncated`);
  const size = readU32(data, pos + 4);
  if (size > data.length - pos - 8) throw corrupt(`${codec}: skippable frame is truncated`);
  return pos + 8 + size;
}

/** Checks a block's size against the maximum its frame declares. */
export function checkBlockSize(codec: string, size: number, maxBlockSize: number): void {
  if (size > maxBlockSize) {
    throw corrupt(
      `${codec}: block of ${size} bytes exceeds the frame's maximum of ${maxBlockSize}`,
    );
  }
}

/** Hops over the 4-byte content checksum at `data[p]`; returns the position after it. */
export function skipContentChecksum(data: Uint8Array, p: number, codec: string): number {
  if (data.length - p < 4) throw corrupt(`${codec}: content checksum is truncated`);
  return p + 4;
}

/** Checks a frame's declared content size against what its blocks can hold. */
export function checkContentSize(codec: string, contentSize: number, blockBound: number): void {
  if (contentSize > blockBound) {
    throw corrupt(
      `${codec}: frame declares ${contentSize} bytes of content, but its blocks hold at most ${blockBound}`,
    );
  }
}
