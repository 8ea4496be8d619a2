/**
 * Joining byte arrays: the embedded cluster's Fetch answers, tests that build
 * Fetch data out of several batches.
 *
 * @module
 */

/**
 * The bytes of `parts` one after another, in a new array.
 *
 * @param parts The arrays to join.
 * @param size Their total length, when the caller knows it already.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./concat_bytes.ts";
 * concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(
  parts: readonly Uint8Array[],
  size: number = parts.reduce((n, p) => n + p.length, 0),
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
