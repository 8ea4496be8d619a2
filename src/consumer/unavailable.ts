/**
 * What the consumer wants but the cluster does not have (yet): a subscribed
 * topic that does not exist, an assigned partition beyond the topic's count,
 * a partition without a leader. Never silent: each one is logged when it
 * appears (a warning) and when it goes (info), and listed by
 * `Consumer.unavailable()` meanwhile; the consumer keeps looking, with
 * backoff, as Kafka's Java consumer does.
 *
 * @module
 */

import type { Logger } from "../options/logger.ts";

/**
 * A topic or partition the consumer wants and cannot read now.
 *
 * @example
 * ```ts
 * import type { UnavailablePartition } from "@sluice/kafka";
 * const u: UnavailablePartition = {
 *   topic: "orders",
 *   partition: 7,
 *   reason: "the topic has 1 partition",
 *   since: Date.now(),
 * };
 * ```
 */
export interface UnavailablePartition {
  /** The topic. */
  topic: string;
  /** The partition, or null for a whole topic (a subscribed topic that does not exist). */
  partition: number | null;
  /** Kafka's answer, in words: e.g. `UNKNOWN_TOPIC_OR_PARTITION`, "the topic has 1 partition". */
  reason: string;
  /** Since when (ms since the epoch). */
  since: number;
}

/** The current set, logging each change once. */
export class Unavailable {
  readonly #entries = new Map<string, UnavailablePartition>();
  readonly #logger: Required<Logger>;

  /** Logs through `logger`. */
  constructor(logger: Required<Logger>) {
    this.#logger = logger;
  }

  /** `topic` (partition null: the whole topic) cannot be read, because of `reason`. */
  mark(topic: string, partition: number | null, reason: string): void {
    const key = `${topic}\u0000${partition ?? ""}`;
    const had = this.#entries.get(key);
    if (had?.reason === reason) return;
    this.#entries.set(key, { topic, partition, reason, since: had?.since ?? Date.now() });
    this.#logger.warn(
      partition === null
        ? "a subscribed topic is not available; waiting for it"
        : "an assigned partition is not available; waiting for it",
      { topic, ...(partition === null ? {} : { partition }), reason },
    );
  }

  /** `topic` (or one of its partitions) can be read now. */
  clear(topic: string, partition: number | null): void {
    const key = `${topic}\u0000${partition ?? ""}`;
    const had = this.#entries.get(key);
    if (!had) return;
    this.#entries.delete(key);
    this.#logger.info("available again", {
      topic,
      ...(partition === null ? {} : { partition }),
      waitedMs: Date.now() - had.since,
    });
  }

  /** Forgets entries the consumer no longer wants (an unsubscribed topic, a revoked partition). */
  retain(wanted: (topic: string, partition: number | null) => boolean): void {
    for (const [key, e] of this.#entries) {
      if (!wanted(e.topic, e.partition)) this.#entries.delete(key);
    }
  }

  /** How many there are. */
  get size(): number {
    return this.#entries.size;
  }

  /** Copies of the current entries. */
  list(): UnavailablePartition[] {
    return [...this.#entries.values()].map((e) => ({ ...e }));
  }
}
