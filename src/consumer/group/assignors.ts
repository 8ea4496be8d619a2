/**
 * The group leader's partition assignors, "range" and "roundrobin", giving
 * the same results as Kafka's Java `RangeAssignor` and `RoundRobinAssignor`
 * for the same input. A group may mix our consumers and Java ones, and
 * whichever member the coordinator makes leader, the assignment is the same.
 *
 * Member order is Java's: members with a `groupInstanceId` (static members)
 * come first, sorted by instance id; then the others, sorted by member id.
 * Instance ids survive restarts while member ids are fresh each time, so static
 * members keep their partitions across a rolling bounce. Strings compare by
 * UTF-16 code unit, as Java's `String.compareTo` (never `localeCompare`).
 *
 * Pure: no I/O, no clock, no randomness.
 *
 * @module
 */

/** A member as the leader sees it in the JoinGroup response. */
export interface GroupMember {
  /** The member id the coordinator gave it. */
  memberId: string;
  /** Its static membership id, or null for a dynamic member. */
  groupInstanceId: string | null;
  /** The topics it subscribed to (from its subscription metadata). */
  topics: readonly string[];
}

/** Member id -> topic -> partitions (ascending). Every member is present. */
export type GroupAssignment = Map<string, Map<string, number[]>>;

/** The eager assignors' names, as Java consumers use them in JoinGroup (cooperative-sticky is in sticky_assignor.ts). */
export type EagerAssignorName = "range" | "roundrobin";

/** The eager assignors we implement, by their protocol name. */
export const ASSIGNOR_NAMES: readonly EagerAssignorName[] = ["range", "roundrobin"];

/**
 * Computes the assignment of the named assignor.
 *
 * @param name The protocol name the coordinator chose.
 * @param members Every member of the group, in any order.
 * @param partitionsPerTopic Partition counts from metadata; subscribed topics
 *   missing here (unknown to metadata) or with no partitions are skipped.
 * @returns Each member's partitions; members that get nothing map to an empty map.
 * @throws {RangeError} When two members share a member id.
 *
 * @example
 * ```ts
 * import { assign } from "./assignors.ts";
 * const result = assign("range", [
 *   { memberId: "C0", groupInstanceId: null, topics: ["t0"] },
 *   { memberId: "C1", groupInstanceId: null, topics: ["t0"] },
 * ], new Map([["t0", 3]]));
 * result.get("C0")?.get("t0"); // [0, 1]
 * result.get("C1")?.get("t0"); // [2]
 * ```
 */
export function assign(
  name: EagerAssignorName,
  members: readonly GroupMember[],
  partitionsPerTopic: ReadonlyMap<string, number>,
): GroupAssignment {
  switch (name) {
    case "range":
      return rangeAssign(members, partitionsPerTopic);
    case "roundrobin":
      return roundRobinAssign(members, partitionsPerTopic);
    default:
      throw new RangeError(`Unknown assignor ${name}: use one of ${ASSIGNOR_NAMES.join(", ")}`);
  }
}

/**
 * Range: per topic, the members subscribed to it (in member order) get
 * contiguous runs of partitions; with `n` partitions and `m` members each gets
 * `floor(n / m)`, and the first `n % m` one more. Co-partitioned topics (same
 * count, same subscribers) thus give partition `i` of each to the same member,
 * which joins want; the price is imbalance across many topics.
 *
 * (Java's rack-aware variant only differs when members send racks and the
 * partitions' replicas are unevenly racked; we send no racks.)
 *
 * @param members Every member of the group, in any order.
 * @param partitionsPerTopic Partition counts from metadata.
 * @returns Each member's partitions.
 * @throws {RangeError} When two members share a member id.
 *
 * @example
 * ```ts
 * import { rangeAssign } from "./assignors.ts";
 * const result = rangeAssign([
 *   { memberId: "C0", groupInstanceId: null, topics: ["t0", "t1"] },
 *   { memberId: "C1", groupInstanceId: null, topics: ["t0", "t1"] },
 * ], new Map([["t0", 3], ["t1", 3]]));
 * result.get("C1"); // Map { "t0" => [2], "t1" => [2] }
 * ```
 */
export function rangeAssign(
  members: readonly GroupMember[],
  partitionsPerTopic: ReadonlyMap<string, number>,
): GroupAssignment {
  const sorted = sortMembers(members);
  const result = emptyAssignment(sorted);
  const subscribers = new Map<string, GroupMember[]>();
  for (const m of sorted) {
    for (const topic of new Set(m.topics)) {
      let list = subscribers.get(topic);
      if (!list) subscribers.set(topic, list = []);
      list.push(m); // already in member order
    }
  }
  for (const topic of [...subscribers.keys()].sort(compareStrings)) {
    const count = partitionCount(partitionsPerTopic, topic);
    if (count === 0) continue;
    const consumers = subscribers.get(topic)!;
    const each = Math.floor(count / consumers.length);
    const extra = count % consumers.length;
    let next = 0;
    for (let i = 0; i < consumers.length && next < count; i++) {
      const n = each + (i < extra ? 1 : 0);
      if (n === 0) continue;
      result.get(consumers[i].memberId)!.set(topic, range(next, n));
      next += n;
    }
  }
  return sortTopics(result);
}

/**
 * RoundRobin: all partitions of all subscribed topics, sorted by topic then
 * partition, dealt one by one to the members in member order, cycling; a
 * member not subscribed to a partition's topic is skipped (the cycle goes on
 * from the one that took it). Balanced to within one partition when every
 * member subscribes to the same topics; uneven subscriptions can skew it.
 *
 * @param members Every member of the group, in any order.
 * @param partitionsPerTopic Partition counts from metadata.
 * @returns Each member's partitions.
 * @throws {RangeError} When two members share a member id.
 *
 * @example
 * ```ts
 * import { roundRobinAssign } from "./assignors.ts";
 * const result = roundRobinAssign([
 *   { memberId: "C0", groupInstanceId: null, topics: ["t0", "t1"] },
 *   { memberId: "C1", groupInstanceId: null, topics: ["t0", "t1"] },
 * ], new Map([["t0", 3], ["t1", 3]]));
 * result.get("C0"); // Map { "t0" => [0, 2], "t1" => [1] }
 * ```
 */
export function roundRobinAssign(
  members: readonly GroupMember[],
  partitionsPerTopic: ReadonlyMap<string, number>,
): GroupAssignment {
  const sorted = sortMembers(members);
  const result = emptyAssignment(sorted);
  const subscribed = sorted.map((m) => new Set(m.topics));
  const topics = new Set<string>();
  for (const s of subscribed) for (const t of s) topics.add(t);
  let cursor = 0; // index in `sorted` of the member the cycle offers next
  for (const topic of [...topics].sort(compareStrings)) {
    const count = partitionCount(partitionsPerTopic, topic);
    for (let p = 0; p < count; p++) {
      // Terminates: `topic` came from some member's subscription.
      while (!subscribed[cursor].has(topic)) cursor = (cursor + 1) % sorted.length;
      const owned = result.get(sorted[cursor].memberId)!;
      const list = owned.get(topic);
      if (list) list.push(p);
      else owned.set(topic, [p]);
      cursor = (cursor + 1) % sorted.length;
    }
  }
  return sortTopics(result);
}

/**
 * Java's member order (`AbstractPartitionAssignor.MemberInfo`): static members
 * first, by instance id; then dynamic members, by member id. Two static
 * members with the same instance id (the coordinator fences one of them) fall
 * back to member id, so the order is total and the result deterministic.
 *
 * @param a A member.
 * @param b Another member.
 * @returns Negative when `a` comes first, positive when `b` does, 0 when equal.
 *
 * @example
 * ```ts
 * import { compareMembers } from "./assignors.ts";
 * const staticMember = { memberId: "z", groupInstanceId: "i1", topics: [] };
 * const dynamicMember = { memberId: "a", groupInstanceId: null, topics: [] };
 * compareMembers(staticMember, dynamicMember) < 0; // true
 * ```
 */
export function compareMembers(
  a: Pick<GroupMember, "memberId" | "groupInstanceId">,
  b: Pick<GroupMember, "memberId" | "groupInstanceId">,
): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) {
    const c = compareStrings(a.groupInstanceId, b.groupInstanceId);
    if (c !== 0) return c;
  } else if (a.groupInstanceId !== null) {
    return -1;
  } else if (b.groupInstanceId !== null) {
    return 1;
  }
  return compareStrings(a.memberId, b.memberId);
}

function sortMembers(members: readonly GroupMember[]): GroupMember[] {
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.memberId)) {
      throw new RangeError(`Member id ${m.memberId} appears twice in the group's member list`);
    }
    seen.add(m.memberId);
  }
  return [...members].sort(compareMembers);
}

function emptyAssignment(sorted: readonly GroupMember[]): GroupAssignment {
  const result: GroupAssignment = new Map();
  for (const m of sorted) result.set(m.memberId, new Map());
  return result;
}

// Each member's topics in sorted order, so equal assignments print and
// iterate alike whatever the input order.
function sortTopics(result: GroupAssignment): GroupAssignment {
  for (const [memberId, topics] of result) {
    if (topics.size < 2) continue;
    result.set(
      memberId,
      new Map([...topics].sort(([a], [b]) => compareStrings(a, b))),
    );
  }
  return result;
}

function partitionCount(partitionsPerTopic: ReadonlyMap<string, number>, topic: string): number {
  const n = partitionsPerTopic.get(topic);
  return n !== undefined && Number.isInteger(n) && n > 0 ? n : 0;
}

function range(from: number, n: number): number[] {
  const a = new Array<number>(n);
  for (let i = 0; i < n; i++) a[i] = from + i;
  return a;
}

// Java's String.compareTo: UTF-16 code units, which is what `<` compares.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
