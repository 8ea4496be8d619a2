// Small helpers of the group tests that run on a Target (both the real
// broker and the embedded cluster): partition keys, expected ends, a round
// of records on every partition, and listener calls as log lines.

import type { TopicPartition } from "../mod.ts";
import { tpList, values } from "./_consumer_helpers.ts";
import type { Target } from "./_targets.ts";

/** `topic-0` … `topic-(n-1)`. */
export function partitionKeys(topic: string, n: number): string[] {
  return Array.from({ length: n }, (_, p) => `${topic}-${p}`);
}

/** Every partition of `topic` ending at offset `end` (for `Tally.complete`). */
export function endsAt(topic: string, n: number, end: number): Map<string, bigint> {
  return new Map(partitionKeys(topic, n).map((k) => [k, BigInt(end)]));
}

/** `count` records on each of the `n` partitions, values `round-p<partition>-<i>`. */
export async function produceRound(
  t: Target,
  topic: string,
  n: number,
  round: string,
  count: number,
): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, p) => t.produceValues(topic, p, values(`${round}-p${p}`, count))),
  );
}

/** Listener options that log each call into `events` as `name event [partitions]`. */
export function loggedListeners(name: string, events: string[]) {
  const log = (what: string) => (ps: TopicPartition[]) => {
    events.push(`${name} ${what} [${tpList(ps).join(",")}]`);
  };
  return { onAssigned: log("assigned"), onRevoked: log("revoked"), onLost: log("lost") };
}
