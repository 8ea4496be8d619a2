import assert from "node:assert/strict";
import type { GroupAssignment } from "./assignors.ts";
import { cooperativeStickyAssign, javaHashMapOrder, type StickyMember } from "./sticky_assignor.ts";
import { Rng } from "../../util/random.ts";

const member = (
  memberId: string,
  topics: string[],
  owned: [string, number][] = [],
  generation = owned.length > 0 ? 1 : -1,
): StickyMember => ({
  memberId,
  topics,
  ownedPartitions: owned.map(([topic, partition]) => ({ topic, partition })),
  generationId: generation,
  userData: null,
});

function plain(a: GroupAssignment): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const m of [...a.keys()].sort()) out[m] = Object.fromEntries([...a.get(m)!].sort());
  return out;
}

Deno.test("cooperativeStickyAssign() balances a fresh group", () => {
  const t = ["t0", "t1"];
  const r = cooperativeStickyAssign(
    [member("C0", t), member("C1", t), member("C2", t)],
    new Map([["t0", 3], ["t1", 3]]),
  );
  for (const m of r.values()) assert.equal([...m.values()].flat().length, 2);
});

Deno.test("cooperativeStickyAssign() keeps owned partitions and spreads a leaver's (C1 leaves a three-member group)", () => {
  // Javadoc: t0..t3 with 2 partitions each, C0..C2; C1 leaves. Sticky keeps
  // C0's and C2's partitions and spreads C1's; nothing moves between owners.
  const t = ["t0", "t1", "t2", "t3"];
  const r = cooperativeStickyAssign([
    member("C0", t, [["t0", 0], ["t1", 1], ["t3", 0]]),
    member("C2", t, [["t1", 0], ["t2", 1]]),
  ], new Map(t.map((x) => [x, 2])));
  const c0 = [...r.get("C0")!.values()].flat().length;
  const c2 = [...r.get("C2")!.values()].flat().length;
  assert.deepEqual([c0, c2].sort(), [4, 4]);
  // Each keeps what it owned; C1's partitions had no live owner, so none is withheld.
  for (const [t, p] of [["t0", 0], ["t1", 1], ["t3", 0]] as const) {
    assert.ok(r.get("C0")!.get(t)!.includes(p), `C0 keeps ${t}-${p}`);
  }
  assert.ok(r.get("C2")!.get("t2")!.includes(1) && r.get("C2")!.get("t1")!.includes(0));
});

Deno.test("cooperativeStickyAssign() revokes first: a joining member gets nothing until the owner gave it up", () => {
  const r = cooperativeStickyAssign([
    member("C0", ["t0"], [["t0", 0], ["t0", 1]]),
    member("C1", ["t0"]),
  ], new Map([["t0", 2]]));
  assert.deepEqual(plain(r), { C0: { t0: [0] }, C1: {} });
  // Next round C0 owns only p0: p1 goes to C1.
  const r2 = cooperativeStickyAssign([
    member("C0", ["t0"], [["t0", 0]], 2),
    member("C1", ["t0"], [], 2),
  ], new Map([["t0", 2]]));
  assert.deepEqual(plain(r2), { C0: { t0: [0] }, C1: { t0: [1] } });
});

Deno.test("cooperativeStickyAssign() withholds a partition two members of one generation claim; an older uncontested claim stands", () => {
  const r = cooperativeStickyAssign([
    member("C0", ["t0"], [["t0", 0]], 5),
    member("C1", ["t0"], [["t0", 0]], 5),
    member("C2", ["t0"], [["t0", 1]], 4),
  ], new Map([["t0", 3]]));
  // p0 is void for both claimants and, as in Java, withheld this round from
  // whoever gets it; C2 keeps p1 although its generation is older.
  assert.deepEqual(plain(r), { C0: {}, C1: { t0: [2] }, C2: { t0: [1] } });
});

Deno.test("cooperativeStickyAssign() reads the generation from user data when the field is absent", () => {
  const gen = (g: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, g);
    return b;
  };
  const owned = [{ topic: "t", partition: 0 }];
  // Same claim; C1's user data says generation 7, newer than C0's field 6: C1 keeps it.
  const r = cooperativeStickyAssign([
    { memberId: "C0", topics: ["t"], ownedPartitions: owned, generationId: 6, userData: null },
    { memberId: "C1", topics: ["t"], ownedPartitions: owned, generationId: -1, userData: gen(7) },
  ], new Map([["t", 2]]));
  assert.deepEqual(plain(r), { C0: { t: [1] }, C1: { t: [0] } });
  // Too short user data counts as no generation (-1): the older claim loses to C0's 6.
  const r2 = cooperativeStickyAssign([
    { memberId: "C0", topics: ["t"], ownedPartitions: owned, generationId: 6, userData: null },
    {
      memberId: "C1",
      topics: ["t"],
      ownedPartitions: owned,
      generationId: -1,
      userData: gen(7).subarray(0, 2),
    },
  ], new Map([["t", 2]]));
  assert.deepEqual(plain(r2), { C0: { t: [0] }, C1: { t: [1] } });
});

Deno.test("javaHashMapOrder() follows String.hashCode buckets, then insertion order", () => {
  // "Aa" and "BB" share String.hashCode 2112 (same bucket): insertion order decides.
  assert.deepEqual(javaHashMapOrder(["BB", "Aa", "a"], (s) => s), ["BB", "Aa", "a"]);
  assert.deepEqual(javaHashMapOrder(["Aa", "BB", "a"], (s) => s), ["Aa", "BB", "a"]);
  // 97 & 15 = 1 ("a"), 2112 & 15 = 0 ("Aa", "BB"): bucket order beats insertion order.
  assert.deepEqual(javaHashMapOrder(["a", "Aa"], (s) => s), ["Aa", "a"]);
  // 13 entries grow the table to 32 buckets: "a" (97 & 31 = 1) and "q" (113 & 31 = 17) split.
  const keys = "qabcdefghijkl".split("");
  assert.deepEqual(javaHashMapOrder(keys, (s) => s).slice(0, 2), ["a", "b"]);
  assert.equal(javaHashMapOrder(keys, (s) => s).indexOf("q"), 12);
});

Deno.test("cooperativeStickyAssign() properties on random groups", () => {
  const rng = new Rng(429);
  for (let c = 0; c < 500; c++) {
    const topics = ["a", "b", "c", "d"].slice(0, rng.range(1, 4));
    const counts = new Map(topics.map((t) => [t, rng.range(0, 12)]));
    const all = topics.flatMap((t) =>
      Array.from({ length: counts.get(t)! }, (_, p) => [t, p] as [string, number])
    );
    const n = rng.range(1, 8);
    const owned: [string, number][][] = Array.from({ length: n }, () => []);
    for (const p of all) if (rng.int(4) > 0) owned[rng.int(n)].push(p);
    const members = owned.map((o, i) => member(`m${i}`, topics, o, 3));
    const r = cooperativeStickyAssign(members, counts);
    const seen = new Set<string>();
    const sizes: number[] = [];
    for (const [id, m] of r) {
      let size = 0;
      for (const [t, ps] of m) {
        for (const p of ps) {
          const k = `${t}-${p}`;
          assert.ok(!seen.has(k), `${k} twice`);
          seen.add(k);
          size++;
        }
      }
      sizes.push(size);
      // Stickiness: a member keeps its owned partitions up to ceil(n / m).
      const mine = owned[Number(id.slice(1))];
      const kept = mine.filter(([t, p]) => m.get(t)?.includes(p)).length;
      assert.ok(
        kept >= Math.min(mine.length, Math.floor(all.length / n)),
        `case ${c}: ${id} kept ${kept}`,
      );
    }
    // After the adjustment no member exceeds ceil(n / m).
    assert.ok(Math.max(...sizes) <= Math.ceil(all.length / n), `case ${c}`);
  }
});
