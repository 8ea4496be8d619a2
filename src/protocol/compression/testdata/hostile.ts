/**
 * Hostile-input checks shared by the codec tests: every truncation and
 * thousands of bit flips of a valid input must either decode or throw
 * CorruptDataError, never another error, never hang.
 *
 * @module
 */

import { CorruptDataError } from "../../errors.ts";
import { lcg } from "./samples.ts";

/** Counts of what a hostile run saw, for the test to sanity-check. */
export interface HostileReport {
  decoded: number;
  rejected: number;
}

function attempt(
  decode: (data: Uint8Array) => unknown,
  input: Uint8Array,
  what: string,
  report: HostileReport,
): void {
  try {
    decode(input);
    report.decoded++;
  } catch (e) {
    if (!(e instanceof CorruptDataError)) {
      throw new Error(`${what}: expected CorruptDataError, got ${e}`, { cause: e });
    }
    report.rejected++;
  }
}

/** Decodes every proper prefix of `valid`. */
export function tryTruncations(
  decode: (data: Uint8Array) => unknown,
  valid: Uint8Array,
): HostileReport {
  const report = { decoded: 0, rejected: 0 };
  for (let n = 0; n < valid.length; n++) {
    attempt(decode, valid.subarray(0, n), `truncated to ${n} of ${valid.length} bytes`, report);
  }
  return report;
}

/**
 * Decodes `count` inputs drawn from a generator seeded with `seed`: `make`
 * builds input `i` and says what it is, for the failure message.
 */
function tryGenerated(
  decode: (data: Uint8Array) => unknown,
  count: number,
  seed: number,
  make: (next: () => number, i: number) => [input: Uint8Array, what: string],
): HostileReport {
  const next = lcg(seed);
  const report = { decoded: 0, rejected: 0 };
  for (let i = 0; i < count; i++) {
    const [input, what] = make(next, i);
    attempt(decode, input, what, report);
  }
  return report;
}

/** Decodes `count` copies of `valid`, each with 1-3 random bits flipped. */
export function tryBitFlips(
  decode: (data: Uint8Array) => unknown,
  valid: Uint8Array,
  count = 3000,
  seed = 7,
): HostileReport {
  return tryGenerated(decode, count, seed, (next) => {
    const copy = valid.slice();
    const flips = 1 + (next() % 3);
    const where: number[] = [];
    for (let f = 0; f < flips; f++) {
      const bit = next() % (copy.length * 8);
      copy[bit >>> 3] ^= 1 << (bit & 7);
      where.push(bit);
    }
    return [copy, `bits ${where.join(", ")} flipped`];
  });
}

/** Decodes `count` inputs of random bytes, some behind a valid-looking prefix. */
export function tryGarbage(
  decode: (data: Uint8Array) => unknown,
  prefix: Uint8Array,
  count = 1000,
  seed = 11,
): HostileReport {
  return tryGenerated(decode, count, seed, (next, i) => {
    const len = next() % 300;
    const input = new Uint8Array((i & 1 ? prefix.length : 0) + len);
    if (i & 1) input.set(prefix);
    for (let j = input.length - len; j < input.length; j++) input[j] = next() >>> 24;
    return [input, `random input #${i}`];
  });
}
