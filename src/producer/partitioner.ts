/**
 * Which partition a record goes to, as Kafka's Java producer chooses: keyed
 * records by murmur2 of the key bytes (so our producer and Java's put a key
 * in the same partition), records without a key to a "sticky" partition
 * that changes once a batch's worth of bytes went to it (KIP-480/794).
 *
 * @module
 */

/**
 * Kafka's murmur2 hash of `data` (32-bit, seed 0x9747b28c), as a signed
 * int32 like Java's `Utils.murmur2`.
 *
 * @example
 * ```ts
 * import { murmur2 } from "./partitioner.ts";
 * murmur2(new TextEncoder().encode("21")); // -973932308, as in Kafka's UtilsTest
 * ```
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[whole + 2] << 16;
    if (tail >= 2) h ^= data[whole + 1] << 8;
    h ^= data[whole];
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition of a keyed record among `partitionCount`: Java's
 * `toPositive(murmur2(key)) % partitionCount`, over all partitions (whether
 * or not they have a leader right now, so a key never moves while the
 * partition count stays).
 *
 * @example
 * ```ts
 * import { keyPartition } from "./partitioner.ts";
 * keyPartition(new TextEncoder().encode("order-17"), 6); // the same as Java's producer
 * ```
 */
export function keyPartition(key: Uint8Array, partitionCount: number): number {
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}

/**
 * Records without a key: one partition per topic takes them until
 * `batchSize` bytes went to it, then another is drawn at random among the
 * partitions with a leader, so batches fill up (fewer, larger requests)
 * while load spreads over time. Java weighs the draw by queue sizes
 * (adaptive partitioning); this draws uniformly.
 */
export class StickyPartitioner {
  readonly #batchSize: number;
  readonly #current = new Map<string, { partition: number; bytes: number }>();
  readonly #random: () => number;

  /** `random` is for tests; `Math.random` by default. */
  constructor(batchSize: number, random: () => number = Math.random) {
    this.#batchSize = Math.max(1, batchSize);
    this.#random = random;
  }

  /**
   * The partition for a record of `size` bytes to `topic`; `available` are
   * the partitions with a leader (all partitions when none has one).
   */
  partition(topic: string, size: number, available: readonly number[]): number {
    let cur = this.#current.get(topic);
    if (cur === undefined || cur.bytes >= this.#batchSize || !available.includes(cur.partition)) {
      cur = { partition: this.#draw(available, cur?.partition), bytes: 0 };
      this.#current.set(topic, cur);
    }
    cur.bytes += size;
    return cur.partition;
  }

  #draw(available: readonly number[], previous: number | undefined): number {
    if (available.length === 1) return available[0];
    for (;;) {
      const p = available[Math.floor(this.#random() * available.length)];
      if (p !== previous) return p;
    }
  }
}
