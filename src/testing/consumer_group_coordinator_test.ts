// Unit tests of the embedded cluster's consumer-protocol (KIP-848) group
// coordinator, driven by a fake clock and simulated members.

import assert from "node:assert/strict";
import { ErrorCode } from "../protocol/error_codes.ts";
import { Rng } from "../util/random.ts";
import type { AssignorTopic } from "./consumer_assignors.ts";
import { rangeAssignor, uniformAssignor } from "./consumer_assignors.ts";
import {
  ConsumerGroupCoordinator,
  type ConsumerHeartbeat,
  type ConsumerHeartbeatResult,
  type TopicPartitions,
} from "./consumer_group_coordinator.ts";
import { FakeClock } from "./fake_clock.ts";

const {
  NONE,
  UNKNOWN_MEMBER_ID,
  FENCED_MEMBER_EPOCH,
  STALE_MEMBER_EPOCH,
  UNSUPPORTED_ASSIGNOR,
  INVALID_REGULAR_EXPRESSION,
  UNRELEASED_INSTANCE_ID,
  GROUP_ID_NOT_FOUND,
  INVALID_REQUEST,
} = ErrorCode;

const SESSION = 10_000;
const REBALANCE = 5_000;

function setup(topics: AssignorTopic[] = [{ name: "t", id: "T", partitions: 4 }]) {
  const clock = new FakeClock();
  const catalog = { list: topics };
  let classicState = "Dead";
  const c = new ConsumerGroupCoordinator(
    { topics: () => catalog.list },
    { stateOf: () => classicState },
    { sessionTimeoutMs: SESSION, heartbeatIntervalMs: 500 },
    clock,
  );
  return { c, clock, catalog, setClassic: (s: string) => (classicState = s) };
}

type Coordinator = ConsumerGroupCoordinator;

function req(over: Partial<ConsumerHeartbeat> & { memberId: string }): ConsumerHeartbeat {
  return {
    groupId: "g",
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: -1,
    subscribedTopicNames: null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: null,
    clientId: "test",
    clientHost: "/127.0.0.1",
    ...over,
  };
}

const keys = (tps: readonly TopicPartitions[] | null) =>
  tps === null ? null : tps.flatMap((t) => t.partitions.map((p) => `${t.topicId}:${p}`)).sort();

/**
 * A simulated member: joins, heartbeats, applies each assignment at once
 * (revoked partitions dropped, new ones taken) and acknowledges with its
 * owned partitions on the next heartbeat, as the client does.
 */
class Sim {
  epoch = 0;
  owned: string[] = [];
  changed = false;
  constructor(
    readonly c: Coordinator,
    readonly id: string,
    readonly opts: Partial<ConsumerHeartbeat> = {},
  ) {}
  join(): ConsumerHeartbeatResult {
    this.owned = [];
    this.epoch = 0;
    return this.#send({
      memberEpoch: 0,
      rebalanceTimeoutMs: REBALANCE,
      subscribedTopicNames: ["t"],
      topicPartitions: [],
      ...this.opts,
    });
  }
  /** A heartbeat; `ack` sends the owned partitions when they changed. */
  beat(ack = true): ConsumerHeartbeatResult {
    const tp = ack && this.changed ? this.#ownedTps() : null;
    if (tp !== null) this.changed = false;
    return this.#send({ memberEpoch: this.epoch, topicPartitions: tp });
  }
  leave(epoch = -1): ConsumerHeartbeatResult {
    return this.c.heartbeat(req({ memberId: this.id, memberEpoch: epoch, ...this.opts }));
  }
  #ownedTps(): TopicPartitions[] {
    const by = new Map<string, number[]>();
    for (const k of this.owned) {
      const [t, p] = k.split(":");
      by.set(t, [...(by.get(t) ?? []), Number(p)]);
    }
    return [...by].map(([topicId, partitions]) => ({ topicId, partitions }));
  }
  #send(over: Partial<ConsumerHeartbeat>): ConsumerHeartbeatResult {
    const r = this.c.heartbeat(req({ memberId: this.id, ...this.opts, ...over }));
    if (r.errorCode === NONE) {
      this.epoch = r.memberEpoch;
      if (r.assignment !== null) {
        const next = keys(r.assignment)!;
        if (next.join() !== this.owned.join()) this.changed = true;
        this.owned = next;
      }
    }
    return r;
  }
}

Deno.test("a first member joins at epoch 0 and gets every partition at epoch 1", () => {
  const { c } = setup();
  const m = new Sim(c, "a");
  const r = m.join();
  assert.equal(r.errorCode, NONE);
  assert.equal(r.memberId, "a");
  assert.equal(r.memberEpoch, 1);
  assert.equal(r.heartbeatIntervalMs, 500);
  assert.deepEqual(keys(r.assignment), ["T:0", "T:1", "T:2", "T:3"]);
  assert.equal(c.stateOf("g"), "Stable");
  // Nothing changed: no assignment in the answer.
  assert.equal(m.beat().assignment, null);
});

Deno.test("a joining member waits for the partitions until their owner revoked them (pending revocation)", () => {
  const { c } = setup();
  const a = new Sim(c, "a");
  a.join();
  a.beat();
  const b = new Sim(c, "b");
  const rb = b.join();
  assert.equal(rb.memberEpoch, 2, "the new member is at the new group epoch");
  assert.deepEqual(keys(rb.assignment), [], "but gets nothing still owned by a");
  assert.equal(c.stateOf("g"), "Reconciling");
  const ra = a.beat();
  assert.equal(ra.memberEpoch, 1, "a keeps its epoch until it revoked");
  assert.equal(ra.assignment!.flatMap((t) => t.partitions).length, 2, "a is told to keep 2");
  // Before a acknowledges, b still gets nothing, and a still holds all 4.
  assert.deepEqual(keys(b.beat().assignment ?? []), []);
  assert.equal(c.holders("g").size, 4);
  assert.ok([...c.holders("g").values()].every((h) => h.length === 1 && h[0] === "a"));
  // a acknowledges (owned = its 2): it moves to epoch 2 and frees the others.
  const ack = a.beat();
  assert.equal(ack.memberEpoch, 2);
  const rb2 = b.beat();
  assert.equal(rb2.memberEpoch, 2);
  assert.equal(keys(rb2.assignment)!.length, 2);
  assert.deepEqual(
    [...a.owned, ...b.owned].sort(),
    ["T:0", "T:1", "T:2", "T:3"],
    "each partition with exactly one member",
  );
  b.beat();
  assert.equal(c.stateOf("g"), "Stable");
});

Deno.test("epochs: a wrong epoch is FENCED_MEMBER_EPOCH, the previous one with a subset is accepted, an unknown member UNKNOWN_MEMBER_ID", () => {
  const { c } = setup();
  const a = new Sim(c, "a");
  a.join();
  const b = new Sim(c, "b");
  b.join();
  a.beat();
  a.beat(); // acknowledges: epoch 2
  assert.equal(a.epoch, 2);
  const ahead = c.heartbeat(req({ memberId: "a", memberEpoch: 3 }));
  assert.equal(ahead.errorCode, FENCED_MEMBER_EPOCH);
  assert.match(ahead.errorMessage!, /member epoch/);
  // The answer bumping a to 2 was lost: epoch 1 with owned ⊆ assignment passes.
  const lost = c.heartbeat(
    req({
      memberId: "a",
      memberEpoch: 1,
      topicPartitions: [{
        topicId: "T",
        partitions: [a.owned.map((k) => Number(k.split(":")[1]))[0]],
      }],
    }),
  );
  assert.equal(lost.errorCode, NONE);
  assert.equal(lost.memberEpoch, 2);
  // Epoch 1 without owned partitions: fenced.
  assert.equal(c.heartbeat(req({ memberId: "a", memberEpoch: 1 })).errorCode, FENCED_MEMBER_EPOCH);
  assert.equal(c.heartbeat(req({ memberId: "zz", memberEpoch: 2 })).errorCode, UNKNOWN_MEMBER_ID);
});

Deno.test("session timeout expires a silent member; rebalance timeout fences one that does not revoke", () => {
  const { c, clock } = setup();
  const a = new Sim(c, "a");
  a.join();
  const b = new Sim(c, "b");
  b.join();
  // b heartbeats; a stays silent past the session timeout.
  for (let i = 0; i < 25; i++) {
    clock.advance(500);
    b.beat();
  }
  assert.equal(c.describe("g")!.members.length, 1);
  assert.equal(keys(c.describe("g")!.members[0].assignment.map((t) => t))!.length, 4);
  assert.equal(a.beat().errorCode, UNKNOWN_MEMBER_ID);

  // A member told to revoke that never acknowledges is fenced after its rebalance timeout.
  const d = new Sim(c, "d");
  d.join();
  b.beat(false); // told to revoke, does not acknowledge
  for (let i = 0; i < 12; i++) {
    clock.advance(500);
    b.beat(false);
    d.beat();
  }
  assert.equal(b.beat(false).errorCode, UNKNOWN_MEMBER_ID, "b was fenced");
  assert.equal(keys(c.describe("g")!.members[0].assignment)!.length, 4, "d got everything");
});

Deno.test("leave: epoch -1 frees the partitions; -2 keeps a static member's reserved for its next instance", () => {
  const { c } = setup();
  const a = new Sim(c, "a", { instanceId: "i-a" });
  a.join();
  const b = new Sim(c, "b");
  b.join();
  a.beat();
  a.beat();
  b.beat();
  const aOwned = a.owned.slice();
  assert.equal(aOwned.length, 2);
  const epochBefore = c.describe("g")!.groupEpoch;
  assert.equal(a.leave(-2).memberEpoch, -2);
  assert.equal(c.describe("g")!.groupEpoch, epochBefore, "no rebalance for a static leave");
  assert.deepEqual(b.beat().assignment, null, "b gets nothing of a's");
  // Another live member may not take the instance id while... it is reserved: a new one takes over.
  const a2 = new Sim(c, "a2", { instanceId: "i-a" });
  const r = a2.join();
  assert.equal(r.errorCode, NONE);
  assert.deepEqual(keys(r.assignment), aOwned, "the new instance gets the reserved partitions");
  const a3 = new Sim(c, "a3", { instanceId: "i-a" });
  assert.equal(a3.join().errorCode, UNRELEASED_INSTANCE_ID);
  // A dynamic leave frees the partitions for b.
  assert.equal(b.leave(-1).memberEpoch, -1);
  a2.beat();
  assert.equal(a2.owned.length, 4);
});

Deno.test("assignors: range and uniform served, an unknown one UNSUPPORTED_ASSIGNOR; regex subscriptions; invalid requests", () => {
  const { c, catalog } = setup([{ name: "t", id: "T", partitions: 4 }]);
  assert.equal(
    new Sim(c, "x", { serverAssignor: "sticky" }).join().errorCode,
    UNSUPPORTED_ASSIGNOR,
  );
  const a = new Sim(c, "a", { serverAssignor: "range" });
  a.join();
  assert.equal(c.describe("g")!.assignorName, "range");
  // Regex: a full match on the name (JavaScript RegExp here, RE2/J in Kafka).
  const r = new Sim(c, "r", { subscribedTopicNames: null, subscribedTopicRegex: "ord.*" });
  assert.equal(r.join().errorCode, NONE);
  assert.deepEqual(r.owned, []);
  catalog.list = [...catalog.list, { name: "orders", id: "O", partitions: 2 }, {
    name: "xorders",
    id: "X",
    partitions: 1,
  }];
  r.beat();
  assert.deepEqual(r.owned, ["O:0", "O:1"], "a new matching topic bumps the epoch and is assigned");
  assert.equal(
    new Sim(c, "bad", { subscribedTopicRegex: "(" }).join().errorCode,
    INVALID_REGULAR_EXPRESSION,
  );
  assert.equal(c.heartbeat(req({ memberId: "" })).errorCode, INVALID_REQUEST);
  assert.equal(
    c.heartbeat(req({ memberId: "n", rebalanceTimeoutMs: 1, topicPartitions: [] })).errorCode,
    INVALID_REQUEST,
    "a join needs a subscription",
  );
});

Deno.test("a group id held by a non-empty classic group is not a consumer group", () => {
  const { c, setClassic } = setup();
  setClassic("Stable");
  assert.equal(new Sim(c, "a").join().errorCode, GROUP_ID_NOT_FOUND);
  setClassic("Empty");
  assert.equal(new Sim(c, "a").join().errorCode, NONE);
});

Deno.test("offset commit and fetch check the member epoch (STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID)", () => {
  const { c } = setup();
  const a = new Sim(c, "a");
  a.join();
  assert.equal(c.validateCommit("g", "a", a.epoch, 10), NONE);
  assert.equal(c.validateCommit("g", "a", a.epoch - 1, 10), STALE_MEMBER_EPOCH);
  assert.equal(c.validateCommit("g", "a", a.epoch + 1, 10), STALE_MEMBER_EPOCH);
  assert.equal(c.validateCommit("g", "nobody", 1, 10), UNKNOWN_MEMBER_ID);
  assert.equal(c.validateCommit("g", "a", a.epoch, 8), ErrorCode.UNSUPPORTED_VERSION);
  assert.equal(
    c.validateCommit("g", "", -1, 10),
    UNKNOWN_MEMBER_ID,
    "members present: admin commit refused",
  );
  assert.equal(c.validateFetch("g", null, -1), NONE, "admin fetch");
  assert.equal(c.validateFetch("g", "a", a.epoch), NONE);
  assert.equal(c.validateFetch("g", "a", 0), STALE_MEMBER_EPOCH);
  assert.equal(c.validateFetch("g", "b", 1), UNKNOWN_MEMBER_ID);
  a.leave();
  assert.equal(c.validateCommit("g", "", -1, 10), NONE, "an empty group takes an admin commit");
});

Deno.test("assignors: uniform balances (±1) and keeps partitions; range gives contiguous ranges", () => {
  const topics = new Map([["t", { name: "t", id: "T", partitions: 7 }]]);
  const members = ["m1", "m2", "m3"].map((id) => ({
    id,
    topics: new Set(["t"]),
    previous: new Set<string>(),
  }));
  const u = uniformAssignor(members, topics);
  const sizes = [...u.values()].map((s) => s.size).sort();
  assert.deepEqual(sizes, [2, 2, 3]);
  // A fourth member: the others keep what they had, up to the new quota.
  const again = uniformAssignor(
    [...members.map((m) => ({ ...m, previous: u.get(m.id)! })), {
      id: "m4",
      topics: new Set(["t"]),
      previous: new Set<string>(),
    }],
    topics,
  );
  for (const m of members) {
    for (const k of again.get(m.id)!) assert.ok(u.get(m.id)!.has(k), `${m.id} kept ${k}`);
  }
  assert.deepEqual([...again.values()].map((s) => s.size).sort(), [1, 2, 2, 2]);
  const r = rangeAssignor(members, topics);
  assert.deepEqual([...r.get("m1")!], ["T:0", "T:1", "T:2"]);
  assert.deepEqual([...r.get("m2")!], ["T:3", "T:4"]);
  assert.deepEqual([...r.get("m3")!], ["T:5", "T:6"]);
});

Deno.test("property: random joins, leaves, heartbeats, silences and new partitions never give a partition to two members at once", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rng = new Rng(seed);
    const { c, clock, catalog } = setup([{ name: "t", id: "T", partitions: 6 }]);
    const sims = new Map<string, Sim>();
    let next = 0;
    let pendingSeen = 0;
    for (let step = 0; step < 300; step++) {
      const roll = rng.int(100);
      const live = [...sims.values()];
      if (roll < 12 || live.length === 0) {
        const s = new Sim(c, `m${next++}`, {
          serverAssignor: rng.chance(0.5) ? "range" : "uniform",
        });
        sims.set(s.id, s);
        s.join();
      } else if (roll < 18) {
        const s = live[rng.int(live.length)];
        s.leave();
        sims.delete(s.id);
      } else if (roll < 22) {
        clock.advance(rng.int(4000));
      } else if (roll < 24) {
        const t = catalog.list[0];
        catalog.list = [{ ...t, partitions: t.partitions + 1 }];
      } else {
        const s = live[rng.int(live.length)];
        const r = s.beat(rng.chance(0.8));
        if (r.errorCode === UNKNOWN_MEMBER_ID || r.errorCode === FENCED_MEMBER_EPOCH) {
          // Fenced: the member gives everything up and joins again.
          s.join();
        }
      }
      // The coordinator never has two holders of one partition...
      const holders = c.holders("g");
      for (const [k, h] of holders) {
        assert.equal(h.length, 1, `seed ${seed} step ${step}: ${k} held by ${h}`);
      }
      const described = c.describe("g")!;
      for (const m of described.members) {
        const held = new Set(keys(m.assignment));
        for (const k of [...holders].filter(([, h]) => h[0] === m.memberId).map(([k]) => k)) {
          if (!held.has(k)) pendingSeen++;
        }
      }
      // ...and no two members the coordinator knows own one at the same time.
      const known = new Set(described.members.map((m) => m.memberId));
      const seen = new Map<string, string>();
      for (const s of sims.values()) {
        if (!known.has(s.id)) continue;
        for (const k of s.owned) {
          assert.equal(
            seen.get(k),
            undefined,
            `seed ${seed} step ${step}: ${k} owned by ${seen.get(k)} and ${s.id}`,
          );
          seen.set(k, s.id);
        }
      }
    }
    assert.ok(pendingSeen > 0, `seed ${seed}: some pending revocations were exercised`);
  }
});
