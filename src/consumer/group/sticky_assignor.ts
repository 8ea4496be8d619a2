/**
 * The cooperative-sticky assignor (KIP-429): what the group leader computes
 * when the coordinator picked "cooperative-sticky". Members keep what they
 * own as far as balance allows; a partition that must change owner is left
 * out of this round (its owner revokes it and rejoins, and the follow-up
 * rebalance hands it out), so partitions that do not move never stop.
 *
 * Two cases, as in Kafka's Java `CooperativeStickyAssignor`:
 *
 * - **Every member subscribes to the same topics** (the usual group): the
 *   same result as Java's constrained builder for the same input, step for
 *   step — claims resolved by generation, owned partitions kept up to the
 *   quota (`floor` or `ceil` of partitions / members), the rest dealt round
 *   robin to the members below quota in member id order. Java walks the
 *   members in `HashMap` iteration order at two places (who keeps `ceil`,
 *   and the claim contest); {@linkcode javaHashMapOrder} reproduces that
 *   order, so a group that mixes our members and Java's gets the same
 *   assignment whichever member leads.
 * - **Subscriptions differ**: our own algorithm, not Java's heuristic search:
 *   valid claims kept, free partitions to the least loaded subscriber, then
 *   single moves from a member with `n` partitions to a subscriber with
 *   fewer than `n - 1` until none is left — "balanced" exactly as Java's
 *   `isBalanced()` defines it, moving newly assigned partitions before owned
 *   ones, and undoing an earlier move of the same topic rather than trading
 *   partitions of one topic both ways between two members (what Java's
 *   stickiness check looks for).
 *
 * Both cases end with Java's cooperative adjustment: a partition that another
 * member still owns is withheld from its new owner this round.
 *
 * Known, deliberate differences from Java, only on input Kafka does not
 * produce: an owned partition beyond a topic's partition count is dropped
 * (Java's constrained builder would assign it and may then fail), and a
 * `HashMap` bucket that Java would turn into a tree (9+ member ids with
 * colliding hashes) is ordered as a list. Racks are not used (we send none).
 *
 * Pure: no I/O, no clock, no randomness.
 *
 * @module
 */

import type { GroupAssignment } from "./assignors.ts";

/** A member as the leader sees it in the JoinGroup response, with its subscription's v1+ fields. */
export interface StickyMember {
  /** The member id the coordinator gave it. */
  memberId: string;
  /** The topics it subscribed to, as sent. */
  topics: readonly string[];
  /** The partitions it says it owns (subscription v1+). */
  ownedPartitions: readonly { topic: string; partition: number }[];
  /** The subscription's generation field (v2+); -1 when absent. */
  generationId: number;
  /**
   * The subscription's user data: Java's cooperative-sticky members put their
   * generation there as an int32 too, for leaders that read v0/v1 subscriptions.
   */
  userData: Uint8Array | null;
}

type Tp = { topic: string; partition: number };
const keyOf = (t: string, p: number) => `${t}\u0000${p}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Computes the cooperative-sticky assignment, after the cooperative
 * adjustment (partitions changing owner are withheld this round).
 *
 * @param members Every member of the group, in JoinGroup response order
 *   (Java's leader inserts them into its `HashMap` in that order).
 * @param partitionsPerTopic Partition counts from metadata; topics nobody
 *   subscribes to, unknown ones and empty ones are skipped.
 * @returns Each member's partitions (ascending); every member is present.
 * @throws {RangeError} When two members share a member id.
 *
 * @example
 * ```ts
 * import { cooperativeStickyAssign } from "./sticky_assignor.ts";
 * // C0 owned all four partitions; C1 joins. C0 keeps two, and the two that
 * // move are withheld until C0 has revoked them.
 * const result = cooperativeStickyAssign([
 *   {
 *     memberId: "C0", topics: ["t"], generationId: 1, userData: null,
 *     ownedPartitions: [0, 1, 2, 3].map((partition) => ({ topic: "t", partition })),
 *   },
 *   { memberId: "C1", topics: ["t"], ownedPartitions: [], generationId: -1, userData: null },
 * ], new Map([["t", 4]]));
 * result.get("C0")?.get("t"); // [0, 1]
 * result.get("C1")?.get("t"); // undefined: nothing yet
 * ```
 */
export function cooperativeStickyAssign(
  members: readonly StickyMember[],
  partitionsPerTopic: ReadonlyMap<string, number>,
): GroupAssignment {
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.memberId)) throw new RangeError(`Duplicate member id ${m.memberId}`);
    seen.add(m.memberId);
  }
  // As Java's AbstractPartitionAssignor: subscribed topics metadata knows, with partitions.
  const counts = new Map<string, number>();
  for (const m of members) {
    for (const t of m.topics) {
      const n = partitionsPerTopic.get(t) ?? 0;
      if (n > 0) counts.set(t, n);
    }
  }
  const ordered = javaHashMapOrder(members, (m) => m.memberId);
  const claims = resolveClaims(ordered, counts);
  const target = claims.allEqual
    ? constrainedAssign(ordered, counts, claims)
    : generalAssign(ordered, counts, claims);
  // Cooperative adjustment: withhold what changes owner.
  const transferring = claims.allEqual
    ? target.transferring
    : transferringOwnership(members, target.assignment);
  const result: GroupAssignment = new Map();
  for (const m of members) {
    const byTopic = new Map<string, number[]>();
    for (const tp of target.assignment.get(m.memberId) ?? []) {
      if (transferring.get(keyOf(tp.topic, tp.partition)) === m.memberId) continue;
      const list = byTopic.get(tp.topic);
      if (list) list.push(tp.partition);
      else byTopic.set(tp.topic, [tp.partition]);
    }
    for (const list of byTopic.values()) list.sort((a, b) => a - b);
    result.set(m.memberId, new Map([...byTopic].sort(([a], [b]) => cmp(a, b))));
  }
  return result;
}

/**
 * Orders `items` as Java's `HashMap<String, _>` iterates after putting them
 * in this order (default capacity 16, load factor 0.75, no removals): by
 * bucket (`String.hashCode` spread as `h ^ (h >>> 16)`, masked by the final
 * capacity), then insertion order within a bucket.
 *
 * @param items The entries, in insertion order.
 * @param key Each entry's key.
 * @returns A new array in iteration order.
 *
 * @example
 * ```ts
 * import { javaHashMapOrder } from "./sticky_assignor.ts";
 * javaHashMapOrder(["b", "a", "c"], (s) => s); // ["a", "b", "c"] ("a".hashCode() is 97)
 * ```
 */
export function javaHashMapOrder<T>(items: readonly T[], key: (item: T) => string): T[] {
  let capacity = 16;
  while (items.length > capacity * 0.75) capacity *= 2;
  const bucket = items.map((item, i) => {
    let h = 0;
    const s = key(item);
    for (let j = 0; j < s.length; j++) h = (Math.imul(31, h) + s.charCodeAt(j)) | 0;
    return { item, i, b: (h ^ (h >>> 16)) & (capacity - 1) };
  });
  bucket.sort((x, y) => x.b - y.b || x.i - y.i);
  return bucket.map((x) => x.item);
}

/** The generation a member's owned partitions belong to, as Java's `memberData()` reads it. */
function memberGeneration(m: StickyMember): number {
  if (m.generationId >= 0) return m.generationId;
  const u = m.userData;
  if (u === null) return -1;
  // Java reads an INT32 struct; too short a buffer is a parse error → -1.
  if (u.length < 4) return -1;
  return new DataView(u.buffer, u.byteOffset, 4).getInt32(0);
}

interface Claims {
  allEqual: boolean;
  /** Member id → the partitions it may keep, in claim order (Java's consumerToOwnedPartitions). */
  owned: Map<string, Tp[]>;
  /** Partitions claimed by two members of one generation: nobody keeps them. */
  multiple: Set<string>;
}

/**
 * Java's `allSubscriptionsEqual()`: whether the subscriptions are equal and
 * who may keep which owned partition. A partition claimed twice goes to the
 * newer generation; a tie invalidates it for both. The contest compares the
 * claimant's generation (as `memberData()` reads it) with the earlier owner's
 * subscription field alone, and depends on the order — both as Java does.
 */
function resolveClaims(ordered: StickyMember[], counts: Map<string, number>): Claims {
  let allEqual = true;
  let subscribed = new Set<string>();
  const owned = new Map<string, Tp[]>();
  const multiple = new Set<string>();
  const owner = new Map<string, StickyMember>();
  for (const m of ordered) {
    // Java compares sizes of the raw list and the set, so duplicates differ;
    // and an empty first subscription leaves the set to the next member.
    if (subscribed.size === 0) subscribed = new Set(m.topics);
    else if (
      allEqual && !(m.topics.length === subscribed.size && m.topics.every((t) => subscribed.has(t)))
    ) allEqual = false;
    const generation = memberGeneration(m);
    const mine: Tp[] = [];
    owned.set(m.memberId, mine);
    for (const tp of m.ownedPartitions) {
      const count = counts.get(tp.topic);
      if (count === undefined || tp.partition < 0 || tp.partition >= count) continue;
      const k = keyOf(tp.topic, tp.partition);
      const other = owner.get(k);
      if (other === undefined) {
        mine.push(tp);
        owner.set(k, m);
        continue;
      }
      const otherGeneration = other.generationId >= 0 ? other.generationId : -1;
      if (generation === otherGeneration) {
        multiple.add(k);
        removeFirst(owned.get(other.memberId)!, tp);
        owner.set(k, m);
      } else if (generation > otherGeneration) {
        mine.push(tp);
        removeFirst(owned.get(other.memberId)!, tp);
        owner.set(k, m);
      }
    }
  }
  return { allEqual, owned, multiple };
}

function removeFirst(list: Tp[], tp: Tp): void {
  const i = list.findIndex((x) => x.topic === tp.topic && x.partition === tp.partition);
  if (i >= 0) list.splice(i, 1);
}

interface Target {
  assignment: Map<string, Tp[]>;
  /** Partition key → the member it is withheld from this round. */
  transferring: Map<string, string>;
}

/** Java's `ConstrainedAssignmentBuilder`, for groups whose members all subscribe alike. */
function constrainedAssign(
  ordered: StickyMember[],
  counts: Map<string, number>,
  claims: Claims,
): Target {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const n = ordered.length;
  const minQuota = Math.floor(total / n);
  const maxQuota = Math.ceil(total / n);
  const expectedOver = total % n;
  let currentOver = 0;
  const assignment = new Map<string, Tp[]>(ordered.map((m) => [m.memberId, []]));
  const assigned: Tp[] = [];
  const maybeRevoked = new Map<string, string>();
  let under: string[] = [];
  let exact: string[] = [];

  for (const m of ordered) {
    const id = m.memberId;
    const owned = claims.owned.get(id)!
      .filter((tp) => !claims.multiple.has(keyOf(tp.topic, tp.partition)))
      .sort((a, b) => a.partition - b.partition || cmp(a.topic, b.topic));
    const mine = assignment.get(id)!;
    let keep: number;
    if (owned.length < minQuota) {
      keep = owned.length;
      under.push(id);
    } else if (owned.length >= maxQuota && currentOver < expectedOver) {
      currentOver++;
      if (currentOver === expectedOver) exact = [];
      keep = maxQuota;
    } else {
      keep = minQuota;
      if (currentOver < expectedOver) exact.push(id);
    }
    mine.push(...owned.slice(0, keep));
    assigned.push(...owned.slice(0, keep));
    for (const tp of owned.slice(keep)) maybeRevoked.set(keyOf(tp.topic, tp.partition), id);
  }

  const unassigned = unassignedPartitions(counts, assigned);
  under = under.sort(cmp);
  exact = exact.sort(cmp);
  const transferring = new Map<string, string>();
  const give = (tp: Tp, id: string): number => {
    const mine = assignment.get(id)!;
    mine.push(tp);
    const k = keyOf(tp.topic, tp.partition);
    const revokedBy = maybeRevoked.get(k);
    if ((revokedBy !== undefined && revokedBy !== id) || claims.multiple.has(k)) {
      transferring.set(k, id);
    }
    return mine.length;
  };

  // Round robin over the members below minQuota (a live iterator, as Java's),
  // then one more each for members at minQuota while some may reach maxQuota.
  let next = 0;
  let last = -1;
  for (const tp of unassigned) {
    let id: string;
    if (next < under.length) {
      last = next++;
      id = under[last];
    } else if (under.length === 0 && exact.length === 0) {
      throw new Error("cooperative-sticky: no member left below its quota (assignor bug)");
    } else if (under.length === 0) {
      id = exact.shift()!;
    } else {
      last = 0;
      next = 1;
      id = under[0];
    }
    const count = give(tp, id);
    if (count === minQuota) {
      under.splice(last, 1);
      next--;
      exact.push(id);
    } else if (count === maxQuota) {
      currentOver++;
    }
  }
  return { assignment, transferring };
}

/** All partitions in (topic, partition) order minus the assigned ones (Java's two-pointer walk). */
function unassignedPartitions(counts: Map<string, number>, assigned: Tp[]): Tp[] {
  const taken = new Set(assigned.map((tp) => keyOf(tp.topic, tp.partition)));
  const out: Tp[] = [];
  for (const topic of [...counts.keys()].sort(cmp)) {
    for (let partition = 0; partition < counts.get(topic)!; partition++) {
      if (!taken.has(keyOf(topic, partition))) out.push({ topic, partition });
    }
  }
  return out;
}

/**
 * Subscriptions differ: keep valid claims on subscribed topics, give free
 * partitions to the least loaded subscriber, then move single partitions
 * from loaded members to subscribers with at least two fewer until none can
 * move.
 */
function generalAssign(
  ordered: StickyMember[],
  counts: Map<string, number>,
  claims: Claims,
): Target {
  const ids = ordered.map((m) => m.memberId).sort(cmp);
  const topicsOf = new Map(ordered.map((m) => [m.memberId, new Set(m.topics)]));
  const subscribers = new Map<string, string[]>();
  for (const id of ids) {
    for (const t of topicsOf.get(id)!) {
      if (!counts.has(t)) continue;
      const list = subscribers.get(t);
      if (list) list.push(id);
      else subscribers.set(t, [id]);
    }
  }
  const assignment = new Map<string, Tp[]>(ids.map((id) => [id, []]));
  const ownerOf = new Map<string, string>();
  const previous = new Map<string, string>();
  for (const id of ids) {
    for (const tp of claims.owned.get(id)!) {
      const k = keyOf(tp.topic, tp.partition);
      if (claims.multiple.has(k) || !topicsOf.get(id)!.has(tp.topic)) continue;
      assignment.get(id)!.push(tp);
      ownerOf.set(k, id);
      previous.set(k, id);
    }
  }
  const load = (id: string) => assignment.get(id)!.length;
  const leastLoaded = (candidates: readonly string[]) =>
    candidates.reduce((best, id) => (load(id) < load(best) ? id : best));

  // Free partitions, those with the fewest possible owners first (as Java sorts them).
  const topics = [...subscribers.keys()].sort((a, b) =>
    subscribers.get(a)!.length - subscribers.get(b)!.length || cmp(a, b)
  );
  for (const topic of topics) {
    for (let partition = 0; partition < counts.get(topic)!; partition++) {
      const k = keyOf(topic, partition);
      if (ownerOf.has(k)) continue;
      const id = leastLoaded(subscribers.get(topic)!);
      assignment.get(id)!.push({ topic, partition });
      ownerOf.set(k, id);
    }
  }

  // Balance by single moves; each lowers the sum of squared loads, so this ends.
  const moved = new Map<string, string>(); // partition key → where it came from this round
  for (;;) {
    let move: { tp: Tp; from: string; to: string } | null = null;
    const byLoad = [...ids].sort((a, b) => load(b) - load(a) || cmp(a, b));
    const lightest = load(byLoad[byLoad.length - 1]);
    for (const from of byLoad) {
      if (load(from) <= lightest + 1) break; // nobody is light enough to take one
      // Newly assigned partitions move before owned ones.
      const candidates = [...assignment.get(from)!].sort((a, b) =>
        Number(previous.get(keyOf(a.topic, a.partition)) === from) -
        Number(previous.get(keyOf(b.topic, b.partition)) === from)
      );
      for (const tp of candidates) {
        const to = leastLoaded(subscribers.get(tp.topic)!);
        if (load(from) > load(to) + 1) {
          move = { tp, from, to };
          break;
        }
      }
      if (move) break;
    }
    if (!move) break;
    // Rather than trade partitions of one topic both ways, undo the earlier move.
    const back = assignment.get(move.from)!.find((tp) =>
      tp.topic === move!.tp.topic && moved.get(keyOf(tp.topic, tp.partition)) === move!.to
    );
    const tp = back ?? move.tp;
    const k = keyOf(tp.topic, tp.partition);
    const list = assignment.get(move.from)!;
    list.splice(list.indexOf(tp), 1);
    assignment.get(move.to)!.push(tp);
    ownerOf.set(k, move.to);
    if (back) moved.delete(k);
    else if (!moved.has(k)) moved.set(k, move.from);
    else if (moved.get(k) === move.to) moved.delete(k);
  }
  return { assignment, transferring: new Map() };
}

/**
 * Java's `computePartitionsTransferringOwnership()` for the general case:
 * partitions newly given to a member that some member owned and is losing.
 */
function transferringOwnership(
  members: readonly StickyMember[],
  assignment: Map<string, Tp[]>,
): Map<string, string> {
  const added = new Map<string, string>();
  const revoked = new Set<string>();
  for (const m of members) {
    const owned = new Set(m.ownedPartitions.map((tp) => keyOf(tp.topic, tp.partition)));
    const now = new Set(
      (assignment.get(m.memberId) ?? []).map((tp) => keyOf(tp.topic, tp.partition)),
    );
    for (const k of now) if (!owned.has(k)) added.set(k, m.memberId);
    for (const k of owned) if (!now.has(k)) revoked.add(k);
  }
  for (const k of [...added.keys()]) if (!revoked.has(k)) added.delete(k);
  return added;
}
