/**
 * Topic-partition helpers used across the layers, written once: a map key
 * for a partition, and grouping partitions (or anything naming a topic) by
 * topic, as Kafka's requests nest them.
 *
 * @module
 */

/**
 * A partition of a topic.
 *
 * @example
 * ```ts
 * import type { TopicPartition } from "@sluice/kafka";
 * const tp: TopicPartition = { topic: "orders", partition: 3 };
 * ```
 */
export interface TopicPartition {
  /** Topic name. */
  topic: string;
  /** Partition index, from 0. */
  partition: number;
}

/** A map key for `topic`/`partition` (NUL cannot occur in a topic name). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Groups items by their `topic`, keeping first-seen topic order and the
 * items' order within each topic; `pick` maps each item to what is kept.
 */
export function groupByTopic<T extends { readonly topic: string }, V>(
  items: Iterable<T>,
  pick: (item: T) => V,
): Map<string, V[]> {
  const out = new Map<string, V[]>();
  for (const item of items) {
    const list = out.get(item.topic);
    if (list) list.push(pick(item));
    else out.set(item.topic, [pick(item)]);
  }
  return out;
}
