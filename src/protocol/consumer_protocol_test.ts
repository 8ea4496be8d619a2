import assert from "node:assert/strict";
import {
  CONSUMER_PROTOCOL_VERSION,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from "./consumer_protocol.ts";
import { CorruptDataError } from "./errors.ts";

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));

/** Asserts that `decode` refuses every prefix of `bytes` that keeps the version header. */
function refusesEveryCut(decode: (bytes: Uint8Array) => unknown, bytes: number[]): void {
  for (let cut = 2; cut < bytes.length; cut++) {
    assert.throws(
      () => decode(new Uint8Array(bytes.slice(0, cut))),
      CorruptDataError,
      `cut at ${cut}`,
    );
  }
}

// Derived by hand from ConsumerProtocolSubscription.json: int16 version, then
// (classic, non-flexible encoding) int32-counted arrays, int16-length strings,
// int32-length nullable bytes.
const SUB_V0 = [
  0,
  0, // version 0
  0,
  0,
  0,
  2, // topics: 2
  0,
  2,
  ...ascii("t0"),
  0,
  2,
  ...ascii("t1"),
  0xff,
  0xff,
  0xff,
  0xff, // userData: null
];

const SUB_V3 = [
  0,
  3, // version 3
  0,
  0,
  0,
  2, // topics: 2, sorted
  0,
  1,
  ...ascii("a"),
  0,
  1,
  ...ascii("b"),
  0,
  0,
  0,
  2,
  1,
  2, // userData: 2 bytes
  0,
  0,
  0,
  1, // ownedPartitions: 1 topic
  0,
  1,
  ...ascii("a"),
  0,
  0,
  0,
  2,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1, // partitions [0, 1], sorted
  0,
  0,
  0,
  7, // generationId 7
  0,
  2,
  ...ascii("r1"), // rackId "r1"
];

const ASSIGNMENT_V3 = [
  0,
  3, // version 3
  0,
  0,
  0,
  2, // assignedPartitions: 2 topics
  0,
  1,
  ...ascii("t"),
  0,
  0,
  0,
  2,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  2, // [0, 2]
  0,
  1,
  ...ascii("u"),
  0,
  0,
  0,
  1,
  0,
  0,
  0,
  1, // [1]
  0xff,
  0xff,
  0xff,
  0xff, // userData: null
];

Deno.test("encodeSubscription() writes v0 byte for byte", () => {
  assert.deepEqual([...encodeSubscription({ topics: ["t1", "t0"] }, 0)], SUB_V0);
});

Deno.test("encodeSubscription() writes v3 byte for byte, sorting topics and owned partitions", () => {
  const bytes = encodeSubscription({
    topics: ["b", "a", "b"],
    userData: new Uint8Array([1, 2]),
    ownedPartitions: [{ topic: "a", partitions: [1, 0] }],
    generationId: 7,
    rackId: "r1",
  });
  assert.deepEqual([...bytes], SUB_V3);
});

Deno.test("encodeSubscription() matches what Kafka's Java client writes", () => {
  // ConsumerProtocol.serializeSubscription of kafka-clients 4.1.1, same input as SUB_V3.
  const sub = {
    topics: ["b", "a"],
    userData: new Uint8Array([1, 2]),
    ownedPartitions: [{ topic: "a", partitions: [1, 0] }],
    generationId: 7,
    rackId: "r1",
  };
  assert.deepEqual(
    encodeSubscription(sub, 3),
    hex(
      "000300000002000161000162000000020102000000010001610000000200000000000000010000000700027231",
    ),
  );
  assert.deepEqual(
    encodeSubscription(sub, 1),
    hex("00010000000200016100016200000002010200000001000161000000020000000000000001"),
  );
  // Defaults: no user data, nothing owned, generation -1, no rack.
  assert.deepEqual(
    encodeSubscription({ topics: ["orders"] }),
    hex("00030000000100066f7264657273ffffffff00000000ffffffffffff"),
  );
});

Deno.test("decodeSubscription() reads v0 and fills later fields with defaults", () => {
  assert.deepEqual(decodeSubscription(new Uint8Array(SUB_V0)), {
    topics: ["t0", "t1"],
    userData: null,
    ownedPartitions: [],
    generationId: -1,
    rackId: null,
    version: 0,
  });
});

Deno.test("decodeSubscription() reads v3", () => {
  assert.deepEqual(decodeSubscription(new Uint8Array(SUB_V3)), {
    topics: ["a", "b"],
    userData: new Uint8Array([1, 2]),
    ownedPartitions: [{ topic: "a", partitions: [0, 1] }],
    generationId: 7,
    rackId: "r1",
    version: 3,
  });
});

Deno.test("decodeSubscription() reads a newer version with our highest, ignoring appended fields", () => {
  const bytes = new Uint8Array([0, 5, ...SUB_V3.slice(2), 0xde, 0xad, 0xbe, 0xef]);
  const sub = decodeSubscription(bytes);
  assert.equal(sub.version, 5);
  assert.deepEqual(sub.topics, ["a", "b"]);
  assert.equal(sub.generationId, 7);
  assert.equal(sub.rackId, "r1");
});

Deno.test("decodeSubscription() reads an empty rack id as none, as Java does", () => {
  const bytes = encodeSubscription({ topics: ["t"], rackId: "" });
  assert.equal(decodeSubscription(bytes).rackId, null);
});

Deno.test("decodeSubscription() copies user data out of the input", () => {
  const bytes = new Uint8Array(SUB_V3);
  const sub = decodeSubscription(bytes);
  bytes.fill(0);
  assert.deepEqual(sub.userData, new Uint8Array([1, 2]));
});

Deno.test("decodeSubscription() refuses a negative version, a missing header and truncated bytes", () => {
  assert.throws(() => decodeSubscription(new Uint8Array([0xff, 0xff, ...SUB_V0.slice(2)])), {
    name: "CorruptDataError",
    message: /unsupported version -1/,
  });
  assert.throws(() => decodeSubscription(new Uint8Array(0)), CorruptDataError);
  assert.throws(() => decodeSubscription(new Uint8Array([0])), CorruptDataError);
  refusesEveryCut(decodeSubscription, SUB_V3);
});

Deno.test("encodeAssignment() writes v3 byte for byte, as Java does", () => {
  const bytes = encodeAssignment({
    assignedPartitions: [{ topic: "u", partitions: [1] }, { topic: "t", partitions: [2, 0] }],
  });
  assert.deepEqual([...bytes], ASSIGNMENT_V3);
  // ConsumerProtocol.serializeAssignment of kafka-clients 4.1.1.
  assert.deepEqual(
    bytes,
    hex("0003000000020001740000000200000000000000020001750000000100000001ffffffff"),
  );
});

Deno.test("encodeAssignment() writes v0 with the same struct under header 0", () => {
  const bytes = encodeAssignment({
    assignedPartitions: [{ topic: "t", partitions: [0, 2] }, { topic: "u", partitions: [1] }],
  }, 0);
  assert.deepEqual([...bytes], [0, 0, ...ASSIGNMENT_V3.slice(2)]);
});

Deno.test("encodeAssignment() merges a topic listed twice and writes user data", () => {
  const bytes = encodeAssignment({
    assignedPartitions: [{ topic: "t", partitions: [2] }, { topic: "t", partitions: [0, 2] }],
    userData: new Uint8Array([9]),
  });
  assert.deepEqual(decodeAssignment(bytes), {
    assignedPartitions: [{ topic: "t", partitions: [0, 2] }],
    userData: new Uint8Array([9]),
    version: CONSUMER_PROTOCOL_VERSION,
  });
});

Deno.test("decodeAssignment() reads v0 and v3", () => {
  const partitions = [{ topic: "t", partitions: [0, 2] }, { topic: "u", partitions: [1] }];
  assert.deepEqual(decodeAssignment(new Uint8Array(ASSIGNMENT_V3)), {
    assignedPartitions: partitions,
    userData: null,
    version: 3,
  });
  assert.deepEqual(decodeAssignment(new Uint8Array([0, 0, ...ASSIGNMENT_V3.slice(2)])), {
    assignedPartitions: partitions,
    userData: null,
    version: 0,
  });
});

Deno.test("decodeAssignment() reads empty bytes as nothing assigned", () => {
  assert.deepEqual(decodeAssignment(new Uint8Array(0)), {
    assignedPartitions: [],
    userData: null,
    version: 0,
  });
});

Deno.test("decodeAssignment() reads a newer version with our highest", () => {
  const bytes = new Uint8Array([0, 5, ...ASSIGNMENT_V3.slice(2), 1, 2, 3]);
  const a = decodeAssignment(bytes);
  assert.equal(a.version, 5);
  assert.deepEqual(a.assignedPartitions, [
    { topic: "t", partitions: [0, 2] },
    { topic: "u", partitions: [1] },
  ]);
});

Deno.test("decodeAssignment() refuses a negative version and truncated bytes", () => {
  assert.throws(() => decodeAssignment(new Uint8Array([0x80, 0, ...ASSIGNMENT_V3.slice(2)])), {
    name: "CorruptDataError",
    message: /assignment: unsupported version -32768/,
  });
  assert.throws(() => decodeAssignment(new Uint8Array([3])), CorruptDataError);
  refusesEveryCut(decodeAssignment, ASSIGNMENT_V3);
  // A huge array count is refused before allocating.
  assert.throws(
    () => decodeAssignment(new Uint8Array([0, 3, 0x7f, 0xff, 0xff, 0xff])),
    /exceeds the 0 bytes left/,
  );
});

Deno.test("encode*() refuse versions they cannot write", () => {
  assert.throws(() => encodeSubscription({ topics: [] }, 4), RangeError);
  assert.throws(() => encodeSubscription({ topics: [] }, -1), RangeError);
  assert.throws(() => encodeAssignment({ assignedPartitions: [] }, 1.5), RangeError);
});

Deno.test("subscriptions round-trip at every version, dropping fields the version lacks", () => {
  const full = {
    topics: ["a"],
    userData: new Uint8Array([7]),
    ownedPartitions: [{ topic: "a", partitions: [3] }],
    generationId: 12,
    rackId: "rack",
  };
  const want = [
    { ownedPartitions: [], generationId: -1, rackId: null },
    { ownedPartitions: full.ownedPartitions, generationId: -1, rackId: null },
    { ownedPartitions: full.ownedPartitions, generationId: 12, rackId: null },
    { ownedPartitions: full.ownedPartitions, generationId: 12, rackId: "rack" },
  ];
  for (let v = 0; v <= CONSUMER_PROTOCOL_VERSION; v++) {
    assert.deepEqual(decodeSubscription(encodeSubscription(full, v)), {
      topics: ["a"],
      userData: new Uint8Array([7]),
      ...want[v],
      version: v,
    });
  }
});
