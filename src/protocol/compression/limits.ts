/**
 * Limits shared by the decoders, and the one way they report bad input.
 *
 * @module
 */

import { CorruptDataError } from "../errors.ts";

/**
 * Default cap on the decompressed size of one compressed record batch: 256 MiB.
 * Kafka's default `message.max.bytes` is 1 MiB and a batch rarely compresses
 * better than 100:1, so real data stays far below it; the cap exists so that a
 * corrupt or hostile length field cannot make us allocate gigabytes.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** Creates the error every decoder throws for input it cannot read. */
export function corrupt(message: string, cause?: unknown): CorruptDataError {
  return new CorruptDataError(message, {}, cause === undefined ? undefined : { cause });
}

/** The error for output that would pass `maxOutputBytes`. */
export function tooLarge(codec: string, maxOutputBytes: number): CorruptDataError {
  return corrupt(
    `${codec}: the decompressed data is larger than the limit of ${maxOutputBytes} bytes; ` +
      "the data is corrupt, or the limit (maxDecompressedBytes) is too low for it",
  );
}

/** Checks a caller-supplied output cap, so a typo fails loudly instead of reading nothing. */
export function checkMaxOutputBytes(maxOutputBytes: number): number {
  if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0) {
    throw new RangeError(
      `maxOutputBytes must be a non-negative integer, got ${maxOutputBytes}`,
    );
  }
  return maxOutputBytes;
}

/**
 * Returns `out[0, length)`, copying it into a right-sized array when more than
 * a quarter of `out` would be dead weight: callers keep record views into the
 * result alive, and memory budgets count its bytes.
 */
export function trimOutput(out: Uint8Array, length: number): Uint8Array {
  if (length === out.length) return out;
  return out.length - length > length >>> 2 ? out.slice(0, length) : out.subarray(0, length);
}
