/**
 * The server-side assignors of the embedded cluster's consumer-protocol
 * groups (KIP-848 `group.consumer.assignors`): `uniform` (Kafka's default)
 * and `range`. Pure functions from members and topics to a target
 * assignment; partitions are keyed `topicId:partition` (see
 * {@linkcode partitionKey}).
 *
 * @module
 */

/** The key of one partition in assignments: topic id and index. */
export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

/** Splits a {@linkcode partitionKey} back into topic id and index. */
export function splitKey(key: string): { topicId: string; partition: number } {
  const at = key.lastIndexOf(":");
  return { topicId: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

/** One subscribed topic as the assignor sees it. */
export interface AssignorTopic {
  /** Topic name (orders partitions). */
  readonly name: string;
  /** Topic id. */
  readonly id: string;
  /** Partition count. */
  readonly partitions: number;
}

/** One member as the assignor sees it. */
export interface AssignorMember {
  /** Member id. */
  readonly id: string;
  /** Resolved subscription: topic names (existing topics only). */
  readonly topics: ReadonlySet<string>;
  /** The member's previous target (stickiness). */
  readonly previous: ReadonlySet<string>;
}

/** A target assignment: member id → partition keys. */
export type TargetAssignment = Map<string, Set<string>>;

/** An assignor: members (sorted by id) and topics to a target. */
export type ServerAssignor = (
  members: readonly AssignorMember[],
  topics: ReadonlyMap<string, AssignorTopic>,
) => TargetAssignment;

/**
 * Uniform: every member gets as many partitions as the others (±1 when all
 * subscribe to the same topics), keeping what it had where it can. Kafka's
 * UniformAssignor does the same with two strategies (homogeneous and
 * heterogeneous subscriptions); this one keeps previous partitions up to the
 * balanced quota and gives the rest to the least loaded subscriber, which
 * is balanced for homogeneous subscriptions and close to it otherwise.
 */
export const uniformAssignor: ServerAssignor = (members, topics) => {
  const out: TargetAssignment = new Map(members.map((m) => [m.id, new Set<string>()]));
  if (members.length === 0) return out;
  const all: { key: string; topic: string }[] = [];
  const names = [...topics.keys()].sort();
  for (const name of names) {
    if (!members.some((m) => m.topics.has(name))) continue;
    const t = topics.get(name)!;
    for (let p = 0; p < t.partitions; p++) all.push({ key: partitionKey(t.id, p), topic: name });
  }
  const topicOf = new Map(all.map((x) => [x.key, x.topic]));
  const floor = Math.floor(all.length / members.length);
  let extra = all.length % members.length;
  const taken = new Set<string>();
  // Keep previous partitions: up to the floor quota first, then one more for
  // as many members as the remainder allows.
  const kept = (m: AssignorMember) =>
    [...m.previous].filter((k) => {
      const topic = topicOf.get(k);
      return topic !== undefined && m.topics.has(topic);
    }).sort();
  for (const m of members) {
    const mine = out.get(m.id)!;
    for (const k of kept(m)) {
      if (mine.size >= floor) break;
      if (!taken.has(k)) {
        mine.add(k);
        taken.add(k);
      }
    }
  }
  for (const m of members) {
    if (extra === 0) break;
    const mine = out.get(m.id)!;
    const next = kept(m).find((k) => !taken.has(k));
    if (mine.size === floor && next !== undefined) {
      mine.add(next);
      taken.add(next);
      extra--;
    }
  }
  // The rest: to the least loaded subscriber (ties by member id).
  for (const { key, topic } of all) {
    if (taken.has(key)) continue;
    let best: AssignorMember | undefined;
    for (const m of members) {
      if (!m.topics.has(topic)) continue;
      if (best === undefined || out.get(m.id)!.size < out.get(best.id)!.size) best = m;
    }
    if (best !== undefined) {
      out.get(best.id)!.add(key);
      taken.add(key);
    }
  }
  return out;
};

/**
 * Range: per topic, its subscribers sorted by member id get contiguous
 * ranges of partitions, the first ones one more when the count does not
 * divide (as Kafka's RangeAssignor, so topics with the same partition count
 * are co-partitioned). Not sticky.
 */
export const rangeAssignor: ServerAssignor = (members, topics) => {
  const out: TargetAssignment = new Map(members.map((m) => [m.id, new Set<string>()]));
  for (const name of [...topics.keys()].sort()) {
    const t = topics.get(name)!;
    const subs = members.filter((m) => m.topics.has(name)).map((m) => m.id).sort();
    if (subs.length === 0) continue;
    const base = Math.floor(t.partitions / subs.length);
    const more = t.partitions % subs.length;
    let p = 0;
    subs.forEach((id, i) => {
      const n = base + (i < more ? 1 : 0);
      for (let j = 0; j < n; j++) out.get(id)!.add(partitionKey(t.id, p++));
    });
  }
  return out;
};

/** The assignors served, by name; the first is the default. */
export const SERVER_ASSIGNORS: ReadonlyMap<string, ServerAssignor> = new Map([
  ["uniform", uniformAssignor],
  ["range", rangeAssignor],
]);

/** The default server assignor (Kafka's `group.consumer.assignors` first entry). */
export const DEFAULT_ASSIGNOR = "uniform";
