/**
 * The one seeded random generator of the tests and scripts (mulberry32): the
 * fuzzer (seeded per case from the run's seed and the case number, so that
 * `deno task fuzz --seed S --case N` replays case N alone, exactly), the
 * chaos task's fault schedule, and the property tests. Not part of the
 * published package (deno.json excludes it): the library itself draws no
 * seeded numbers.
 *
 * @module
 */

/** A seeded random source with the few draws the mutators need. */
export class Rng {
  #state: number;

  /** A generator starting from `seed` (any 32-bit integer). */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The generator of case `index` of a run seeded with `seed`. */
  static forCase(seed: number, index: number): Rng {
    // Two rounds of an integer hash: neighbouring cases get unrelated streams.
    let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
    for (let i = 0; i < 2; i++) {
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      h = (h ^ (h >>> 16)) >>> 0;
    }
    return new Rng(h);
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.#state ^ (this.#state >>> 15), 1 | this.#state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}
