// Small helpers of the group tests that run on a Target (both the real
// broker and the embedded cluster): partition keys, expected ends, a round
// of records on every partition, and listener calls as log lines.

import { Consumer, type TopicPartition } from "../mod.ts";
import {
  CONSUMER_PROTOCOL,
  type LineProcess,
  ReadLoop,
  spawnKafkaTool,
  type Tally,
  tpList,
  values,
} from "./_consumer_helpers.ts";
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

/** A line of Kafka's console consumer with `print.partition` and `print.offset`. */
const CONSOLE_LINE = /^Partition:(\d+)\tOffset:(\d+)\t(.*)$/;

/**
 * Kafka's Java console consumer in group `groupId` on `topic` from the
 * beginning, with extra consumer properties (`key=value`); `drain(tally)`
 * adds what it printed so far to the tally, as read by "java".
 */
export function javaGroupConsumer(
  t: Target,
  topic: string,
  groupId: string,
  properties: readonly string[],
): { process: LineProcess; drain: (tally: Tally) => void } {
  const args = [
    "--bootstrap-server",
    t.bootstrap,
    "--topic",
    topic,
    "--group",
    groupId,
    "--from-beginning",
    "--property",
    "print.partition=true",
    "--property",
    "print.offset=true",
  ];
  for (const p of properties) args.push("--consumer-property", p);
  const process = spawnKafkaTool("console-consumer", args);
  const drain = (tally: Tally) => {
    for (const line of process.lines.splice(0)) {
      const m = CONSOLE_LINE.exec(line);
      if (m) tally.addRecord({ topic, partition: Number(m[1]) }, BigInt(m[2]), m[3], "java");
    }
  };
  return { process, drain };
}

/**
 * A consumer-protocol (KIP-848) member of `groupId` reading `topic` from the
 * earliest offset into `tally`, named `name` (also its client id); `extra`
 * options win.
 */
export function protocolMember(
  t: Target,
  groupId: string,
  topic: string,
  tally: Tally,
  name: string,
  extra: Record<string, unknown> = {},
): ReadLoop {
  return new ReadLoop(
    new Consumer(t.options({
      groupId,
      topics: [topic],
      ...CONSUMER_PROTOCOL,
      autoOffsetReset: "earliest",
      clientId: name,
      ...extra,
    })),
    tally,
    name,
  );
}
