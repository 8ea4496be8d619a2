import assert from "node:assert/strict";
import {
  assign,
  compareMembers,
  type EagerAssignorName,
  type GroupAssignment,
  type GroupMember,
  rangeAssign,
  roundRobinAssign,
} from "./assignors.ts";
import { Rng } from "../../util/random.ts";

const dynamic = (memberId: string, topics: string[]): GroupMember => ({
  memberId,
  groupInstanceId: null,
  topics,
});

/** Assignment as plain objects, members and topics sorted, for deepEqual. */
function plain(a: GroupAssignment): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const m of [...a.keys()].sort()) out[m] = Object.fromEntries(a.get(m)!);
  return out;
}

Deno.test("rangeAssign() gives the RangeAssignor javadoc example", () => {
  const members = [dynamic("C0", ["t0", "t1"]), dynamic("C1", ["t0", "t1"])];
  assert.deepEqual(plain(rangeAssign(members, new Map([["t0", 3], ["t1", 3]]))), {
    C0: { t0: [0, 1], t1: [0, 1] },
    C1: { t0: [2], t1: [2] },
  });
});

Deno.test("rangeAssign() orders static members by instance id, ahead of dynamic ones", () => {
  const partitions = new Map([["t0", 3], ["t1", 3]]);
  // The javadoc's rolling bounce: C0 came back as C3, C1 as C2. Without
  // instance ids the member id order flips the assignment …
  assert.deepEqual(
    plain(rangeAssign([dynamic("C3", ["t0", "t1"]), dynamic("C2", ["t0", "t1"])], partitions)),
    { C2: { t0: [0, 1], t1: [0, 1] }, C3: { t0: [2], t1: [2] } },
  );
  // … with them, I0 keeps its share whatever its member id.
  const members: GroupMember[] = [
    { memberId: "C3", groupInstanceId: "I0", topics: ["t0", "t1"] },
    { memberId: "C2", groupInstanceId: "I1", topics: ["t0", "t1"] },
  ];
  assert.deepEqual(plain(rangeAssign(members, partitions)), {
    C3: { t0: [0, 1], t1: [0, 1] },
    C2: { t0: [2], t1: [2] },
  });
  // A static member sorts before a dynamic one even with a larger member id.
  const mixed: GroupMember[] = [
    dynamic("a", ["t0"]),
    { memberId: "z", groupInstanceId: "i", topics: ["t0"] },
  ];
  assert.deepEqual(plain(rangeAssign(mixed, new Map([["t0", 3]]))), {
    a: { t0: [2] },
    z: { t0: [0, 1] },
  });
});

Deno.test("rangeAssign() gives nothing to the last members when there are fewer partitions", () => {
  const members = ["A", "B", "C", "D"].map((id) => dynamic(id, ["t"]));
  assert.deepEqual(plain(rangeAssign(members, new Map([["t", 2]]))), {
    A: { t: [0] },
    B: { t: [1] },
    C: {},
    D: {},
  });
});

Deno.test("roundRobinAssign() gives the RoundRobinAssignor javadoc example", () => {
  const members = [dynamic("C0", ["t0", "t1"]), dynamic("C1", ["t0", "t1"])];
  assert.deepEqual(plain(roundRobinAssign(members, new Map([["t0", 3], ["t1", 3]]))), {
    C0: { t0: [0, 2], t1: [1] },
    C1: { t0: [1], t1: [0, 2] },
  });
});

Deno.test("roundRobinAssign() gives the javadoc example for uneven subscriptions", () => {
  const members = [
    dynamic("C0", ["t0"]),
    dynamic("C1", ["t0", "t1"]),
    dynamic("C2", ["t0", "t1", "t2"]),
  ];
  assert.deepEqual(
    plain(roundRobinAssign(members, new Map([["t0", 1], ["t1", 2], ["t2", 3]]))),
    {
      C0: { t0: [0] },
      C1: { t1: [0] },
      C2: { t1: [1], t2: [0, 1, 2] },
    },
  );
});

Deno.test("roundRobinAssign() gives the javadoc's static membership example", () => {
  const partitions = new Map([["t0", 3], ["t1", 3]]);
  const topics = ["t0", "t1"];
  // After a bounce, C0 -> C5, C1 -> C3, C2 -> C4: dynamic members get shuffled …
  assert.deepEqual(
    plain(roundRobinAssign(["C5", "C3", "C4"].map((id) => dynamic(id, topics)), partitions)),
    {
      C3: { t0: [0], t1: [0] },
      C4: { t0: [1], t1: [1] },
      C5: { t0: [2], t1: [2] },
    },
  );
  // … static ones keep their partitions.
  const members: GroupMember[] = [
    { memberId: "C5", groupInstanceId: "I0", topics },
    { memberId: "C3", groupInstanceId: "I1", topics },
    { memberId: "C4", groupInstanceId: "I2", topics },
  ];
  assert.deepEqual(plain(roundRobinAssign(members, partitions)), {
    C5: { t0: [0], t1: [0] },
    C3: { t0: [1], t1: [1] },
    C4: { t0: [2], t1: [2] },
  });
});

// What both of Kafka's assignors gave the group of m759-0 .. m377-5 in JAVA_CASES.
const BOTH_ASSIGNORS = {
  "m377-5": { t1x: [1] },
  "m436-2": { t7x: [1] },
  "m494-3": {},
  "m620-1": { t1x: [2] },
  "m759-0": {},
  "m967-4": { t1x: [0], t7x: [0] },
};

// Inputs and outputs recorded from Kafka 4.1.1's RangeAssignor and
// RoundRobinAssignor (a static member, topics absent from metadata, a topic
// listed twice in one subscription, members subscribed to nothing).
const JAVA_CASES: {
  members: GroupMember[];
  partitions: Record<string, number>;
  range: Record<string, Record<string, number[]>>;
  roundrobin: Record<string, Record<string, number[]>>;
}[] = [
  {
    members: [
      { memberId: "m592-0", groupInstanceId: "i76-0", topics: ["t7", "t5", "t0x"] },
      { memberId: "m55-1", groupInstanceId: null, topics: ["t8", "t7", "t5", "t0x"] },
      { memberId: "m600-2", groupInstanceId: null, topics: ["t4x", "t8", "t5"] },
      { memberId: "m514-3", groupInstanceId: null, topics: ["t4x", "t8", "t7", "t5", "t0x"] },
    ],
    partitions: { t5: 5, t7: 8, t8: 6, t4x: 6, t0x: 6 },
    range: {
      "m514-3": { t0x: [2, 3], t4x: [0, 1, 2], t5: [2], t7: [3, 4, 5], t8: [0, 1] },
      "m55-1": { t0x: [4, 5], t5: [3], t7: [6, 7], t8: [2, 3] },
      "m592-0": { t0x: [0, 1], t5: [0, 1], t7: [0, 1, 2] },
      "m600-2": { t4x: [3, 4, 5], t5: [4], t8: [4, 5] },
    },
    roundrobin: {
      "m514-3": { t0x: [1, 4], t4x: [1, 3, 5], t5: [3], t7: [1, 4, 7], t8: [2, 5] },
      "m55-1": { t0x: [2, 5], t5: [0, 4], t7: [2, 5], t8: [0, 3] },
      "m592-0": { t0x: [0, 3], t5: [2], t7: [0, 3, 6] },
      "m600-2": { t4x: [0, 2, 4], t5: [1], t8: [1, 4] },
    },
  },
  {
    members: [
      { memberId: "m759-0", groupInstanceId: null, topics: [] },
      { memberId: "m620-1", groupInstanceId: null, topics: ["t7x", "t1x", "t7x"] },
      { memberId: "m436-2", groupInstanceId: "i75-2", topics: ["t7x"] },
      { memberId: "m494-3", groupInstanceId: "i47-3", topics: [] },
      { memberId: "m967-4", groupInstanceId: "i66-4", topics: ["t7x", "t1x", "t7x"] },
      { memberId: "m377-5", groupInstanceId: null, topics: ["t7x", "t1x", "t7x"] },
    ],
    partitions: { t7x: 2, t1x: 3 },
    range: BOTH_ASSIGNORS,
    roundrobin: BOTH_ASSIGNORS,
  },
  {
    members: [
      { memberId: "m1-0", groupInstanceId: null, topics: ["a", "b"] },
      { memberId: "m2-1", groupInstanceId: "s", topics: ["b", "gone"] },
      { memberId: "m3-2", groupInstanceId: null, topics: ["a", "gone"] },
    ],
    partitions: { a: 5, b: 4, empty: 0 },
    // "gone" is not in metadata, "empty" has no partitions; m2-1 is static
    // so it comes first.
    range: {
      "m1-0": { a: [0, 1, 2], b: [2, 3] },
      "m2-1": { b: [0, 1] },
      "m3-2": { a: [3, 4] },
    },
    roundrobin: {
      "m1-0": { a: [0, 2, 4], b: [1, 3] },
      "m2-1": { b: [0, 2] },
      "m3-2": { a: [1, 3] },
    },
  },
];

Deno.test("assign() gives the same results as Kafka's Java assignors", () => {
  for (const c of JAVA_CASES) {
    const partitions = new Map(Object.entries(c.partitions));
    for (const name of ["range", "roundrobin"] as const) {
      assert.deepEqual(plain(assign(name, c.members, partitions)), plain(toMaps(c[name])), name);
    }
  }
});

Deno.test("assign() puts every member in the result, subscribed or not", () => {
  const members = [dynamic("a", []), dynamic("b", ["unknown"]), dynamic("c", ["t"])];
  for (const name of ["range", "roundrobin"] as const) {
    const result = assign(name, members, new Map([["t", 1]]));
    assert.deepEqual(plain(result), { a: {}, b: {}, c: { t: [0] } });
  }
  assert.deepEqual(plain(assign("range", [], new Map([["t", 1]]))), {});
  assert.deepEqual(plain(assign("roundrobin", [], new Map([["t", 1]]))), {});
});

Deno.test("assign() refuses duplicate member ids and unknown assignors", () => {
  const members = [dynamic("a", ["t"]), dynamic("a", ["t"])];
  assert.throws(() => rangeAssign(members, new Map([["t", 1]])), RangeError);
  assert.throws(() => roundRobinAssign(members, new Map([["t", 1]])), RangeError);
  assert.throws(
    () => assign("sticky" as EagerAssignorName, [], new Map()),
    /Unknown assignor sticky/,
  );
});

Deno.test("compareMembers() orders as Java's MemberInfo, by UTF-16 code unit", () => {
  const m = (memberId: string, groupInstanceId: string | null) => ({ memberId, groupInstanceId });
  const sorted = [m("b", null), m("Z", null), m("x", "i2"), m("y", "i10"), m("\u{1F600}", null)]
    .sort(compareMembers)
    .map((x) => x.memberId);
  // "i10" < "i2"; "Z" (0x5a) < "b" (0x62) < U+1F600 (surrogate 0xd83d).
  assert.deepEqual(sorted, ["y", "x", "Z", "b", "\u{1F600}"]);
  // Code unit order, not code point order: U+FF5E sorts after a surrogate pair.
  assert.ok(compareMembers(m("\u{FF5E}", null), m("\u{1F600}", null)) > 0);
});

Deno.test("assign() properties hold over random groups: exclusive, complete, deterministic", () => {
  const rng = new Rng(0x5eed);
  const rand = () => rng.next();
  const int = (n: number) => Math.floor(rand() * n);
  for (let round = 0; round < 500; round++) {
    const topics = Array.from({ length: 1 + int(5) }, (_, i) => `t${i}`);
    const partitions = new Map<string, number>();
    for (const t of topics) if (int(6) !== 0) partitions.set(t, int(10));
    const members: GroupMember[] = Array.from({ length: 1 + int(7) }, (_, i) => ({
      memberId: `m${int(1000)}-${i}`,
      groupInstanceId: int(3) === 0 ? `i${int(100)}-${i}` : null,
      topics: topics.filter(() => int(3) !== 0),
    }));
    for (const name of ["range", "roundrobin"] as const) {
      const result = assign(name, members, partitions);
      const owner = new Map<string, string>();
      for (const m of members) {
        const got = result.get(m.memberId);
        assert.ok(got, "every member is present");
        for (const [topic, ps] of got) {
          assert.ok(m.topics.includes(topic), "only subscribed topics");
          assert.ok(ps.length > 0, "no empty partition lists");
          assert.deepEqual(ps, [...ps].sort((a, b) => a - b), "partitions ascending");
          for (const p of ps) {
            const key = `${topic}-${p}`;
            assert.equal(owner.get(key), undefined, `${key} assigned twice`);
            owner.set(key, m.memberId);
          }
        }
      }
      for (const [topic, count] of partitions) {
        const subscribed = members.some((m) => m.topics.includes(topic));
        for (let p = 0; p < count; p++) {
          assert.equal(owner.has(`${topic}-${p}`), subscribed, `${topic}-${p}`);
        }
      }
      assert.equal(result.size, members.length);
      const shuffled = [...members].sort(() => rand() - 0.5);
      assert.deepEqual(plain(assign(name, shuffled, partitions)), plain(result), "order-free");
    }
  }
});

Deno.test("roundRobinAssign() balances to within one partition when subscriptions agree", () => {
  const rng = new Rng(7);
  const rand = () => rng.next();
  for (let round = 0; round < 200; round++) {
    const topics = ["a", "b", "c"].slice(0, 1 + Math.floor(rand() * 3));
    const partitions = new Map(topics.map((t) => [t, Math.floor(rand() * 12)]));
    const members = Array.from(
      { length: 1 + Math.floor(rand() * 6) },
      (_, i) => dynamic(`m${i}`, topics),
    );
    const counts = [...roundRobinAssign(members, partitions).values()].map((m) =>
      [...m.values()].reduce((n, ps) => n + ps.length, 0)
    );
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, String(counts));
  }
});

function toMaps(o: Record<string, Record<string, number[]>>): GroupAssignment {
  return new Map(Object.entries(o).map(([m, t]) => [m, new Map(Object.entries(t))]));
}
