// Unit tests of the embedded cluster's group coordinator, driven by a fake clock.

import assert from "node:assert/strict";
import { FakeClock } from "./fake_clock.ts";
import { GroupCoordinator, type JoinRequest, type JoinResult } from "./group_coordinator.ts";

import { ErrorCode } from "../protocol/error_codes.ts";

// Kafka error codes used here, from the one table.
const {
  NONE,
  ILLEGAL_GENERATION,
  UNKNOWN_MEMBER_ID,
  REBALANCE_IN_PROGRESS,
  MEMBER_ID_REQUIRED,
  FENCED_INSTANCE_ID,
  INCONSISTENT_GROUP_PROTOCOL,
} = ErrorCode;

const bytes = (s: string) => new TextEncoder().encode(s);

function joinReq(memberId: string, extra: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: "g",
    memberId,
    groupInstanceId: null,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: bytes("m") }],
    clientId: "client",
    clientHost: "/127.0.0.1",
    requireKnownMemberId: false,
    ...extra,
  };
}

/** Resolves `p` if it settled already (microtasks flushed), else undefined. */
async function settled<T>(p: Promise<T>): Promise<T | undefined> {
  let out: T | undefined;
  p.then((v) => (out = v));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return out;
}

async function syncAll(
  gc: GroupCoordinator,
  results: JoinResult[],
): Promise<Map<string, Uint8Array>> {
  const leader = results.find((r) => r.members.length > 0)!;
  const syncs = results.map((r) =>
    gc.sync({
      groupId: "g",
      generationId: r.generationId,
      memberId: r.memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocolName: r.protocolName,
      assignments: r === leader
        ? leader.members.map((m) => ({ memberId: m.memberId, assignment: bytes(m.memberId) }))
        : [],
    })
  );
  const out = new Map<string, Uint8Array>();
  const done = await Promise.all(syncs);
  done.forEach((s, i) => {
    assert.equal(s.errorCode, NONE);
    out.set(results[i].memberId, s.assignment);
  });
  return out;
}

/** A coordinator on a fake clock whose group "g" is Stable with one member, `a` (generation 1). */
async function groupOfOne(
  extra: Partial<JoinRequest> = {},
): Promise<{ clock: FakeClock; gc: GroupCoordinator; a: JoinResult }> {
  const clock = new FakeClock();
  const gc = new GroupCoordinator(clock);
  const a = await gc.join(joinReq("", extra));
  await syncAll(gc, [a]);
  return { clock, gc, a };
}

Deno.test("GroupCoordinator: the first joiner leads; Empty → CompletingRebalance → Stable", async () => {
  const clock = new FakeClock();
  const gc = new GroupCoordinator(clock);
  assert.equal(gc.stateOf("g"), "Dead");
  const a = await gc.join(joinReq(""));
  assert.equal(a.errorCode, NONE);
  assert.equal(a.generationId, 1);
  assert.equal(a.leader, a.memberId);
  assert.equal(a.protocolName, "range");
  assert.equal(a.members.length, 1);
  assert.equal(gc.stateOf("g"), "CompletingRebalance");
  // A heartbeat before the sync: the rebalance is not over yet.
  assert.equal(gc.heartbeat("g", a.memberId, null, 1), REBALANCE_IN_PROGRESS);
  const assignments = await syncAll(gc, [a]);
  assert.deepEqual(assignments.get(a.memberId), bytes(a.memberId));
  assert.equal(gc.stateOf("g"), "Stable");
  assert.equal(gc.heartbeat("g", a.memberId, null, 1), NONE);
  const d = gc.describe("g");
  assert.equal(d.state, "Stable");
  assert.equal(d.protocolType, "consumer");
  assert.equal(d.protocolName, "range");
  assert.deepEqual(d.members.map((m) => [m.clientId, m.clientHost]), [["client", "/127.0.0.1"]]);
  assert.deepEqual(d.members[0].assignment, bytes(a.memberId));
  gc.close();
});

Deno.test("GroupCoordinator: a second member triggers a rebalance; both get generation n+1 and the leader stays", async () => {
  const { gc, a } = await groupOfOne();
  const bJoin = gc.join(joinReq("", { clientId: "b" }));
  assert.equal(gc.stateOf("g"), "PreparingRebalance");
  assert.equal(await settled(bJoin), undefined); // held until a rejoins
  assert.equal(gc.heartbeat("g", a.memberId, null, 1), REBALANCE_IN_PROGRESS);
  // a commits during the rebalance with its old generation: allowed.
  assert.equal(
    gc.commit("g", 1, a.memberId, null, [{
      topic: "t",
      partition: 0,
      offset: 5n,
      leaderEpoch: 0,
      metadata: null,
    }]),
    NONE,
  );
  const a2 = await gc.join(joinReq(a.memberId));
  const b = await bJoin;
  assert.equal(a2.generationId, 2);
  assert.equal(b.generationId, 2);
  assert.equal(a2.leader, a.memberId);
  assert.equal(b.leader, a.memberId);
  assert.equal(a2.members.length, 2);
  assert.equal(b.members.length, 0);
  // b's sync waits for the leader's.
  const bSync = gc.sync({
    groupId: "g",
    generationId: 2,
    memberId: b.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [],
  });
  assert.equal(await settled(bSync), undefined);
  assert.equal(gc.commit("g", 2, b.memberId, null, []), REBALANCE_IN_PROGRESS);
  await syncAll(gc, [a2]);
  assert.deepEqual((await bSync).assignment, bytes(b.memberId));
  assert.equal(gc.stateOf("g"), "Stable");
  // The old generation is now illegal.
  assert.equal(gc.heartbeat("g", a.memberId, null, 1), ILLEGAL_GENERATION);
  gc.close();
});

Deno.test("GroupCoordinator: members that do not rejoin within the rebalance timeout are removed", async () => {
  const { clock, gc, a } = await groupOfOne({ rebalanceTimeoutMs: 5000, sessionTimeoutMs: 60_000 });
  const bJoin = gc.join(joinReq("", { rebalanceTimeoutMs: 3000 }));
  clock.advance(4999);
  assert.equal(await settled(bJoin), undefined);
  clock.advance(1);
  const b = await bJoin;
  assert.equal(b.errorCode, NONE);
  assert.equal(b.generationId, 2);
  assert.equal(b.leader, b.memberId); // a is gone; b leads
  assert.equal(gc.heartbeat("g", a.memberId, null, 1), UNKNOWN_MEMBER_ID);
  gc.close();
});

Deno.test("GroupCoordinator: session expiry removes a member and rebalances", async () => {
  const clock = new FakeClock();
  const gc = new GroupCoordinator(clock);
  const a = await gc.join(joinReq("", { sessionTimeoutMs: 6000 }));
  const bJoin = gc.join(joinReq("", { sessionTimeoutMs: 6000 }));
  const a2 = await gc.join(joinReq(a.memberId, { sessionTimeoutMs: 6000 }));
  const b = await bJoin;
  assert.equal(a2.generationId, 2);
  await syncAll(gc, [a2, b]);
  // a heartbeats, b goes silent.
  for (let t = 0; t < 5; t++) {
    clock.advance(1000);
    assert.equal(gc.heartbeat("g", a.memberId, null, 2), NONE);
  }
  assert.equal(gc.stateOf("g"), "Stable");
  clock.advance(1000); // b's last sign of life was 6 s ago

  assert.equal(gc.stateOf("g"), "PreparingRebalance");
  assert.equal(gc.heartbeat("g", b.memberId, null, 2), UNKNOWN_MEMBER_ID);
  assert.equal(gc.heartbeat("g", a.memberId, null, 2), REBALANCE_IN_PROGRESS);
  const a3 = await gc.join(joinReq(a.memberId, { sessionTimeoutMs: 6000 }));
  assert.equal(a3.generationId, 3);
  assert.equal(a3.members.length, 1);
  gc.close();
});

Deno.test("GroupCoordinator: the last member leaving makes the group Empty with offsets, Dead without", async () => {
  for (const commit of [true, false]) {
    const { gc, a } = await groupOfOne();
    if (commit) {
      const offsets = [{ topic: "t", partition: 1, offset: 7n, leaderEpoch: 0, metadata: "x" }];
      assert.equal(gc.commit("g", 1, a.memberId, null, offsets), NONE);
    }
    const left = gc.leave("g", [{ memberId: a.memberId, groupInstanceId: null }]);
    assert.deepEqual(left.members.map((m) => m.errorCode), [NONE]);
    assert.equal(gc.stateOf("g"), commit ? "Empty" : "Dead");
    assert.deepEqual(gc.list().map((g) => g.state), commit ? ["Empty"] : []);
    const fetched = gc.fetchOffsets("g", [{ topic: "t", partitions: [1] }]);
    assert.deepEqual(fetched[0].partitions[0].committed?.offset, commit ? 7n : undefined);
    // Unknown members leaving get UNKNOWN_MEMBER_ID.
    const again = gc.leave("g", [{ memberId: a.memberId, groupInstanceId: null }]);
    assert.deepEqual(again.members.map((m) => m.errorCode), [UNKNOWN_MEMBER_ID]);
    gc.close();
  }
});

Deno.test("GroupCoordinator: MEMBER_ID_REQUIRED, then the join with the given id", async () => {
  const gc = new GroupCoordinator(new FakeClock());
  const first = await gc.join(joinReq("", { requireKnownMemberId: true, clientId: "cli" }));
  assert.equal(first.errorCode, MEMBER_ID_REQUIRED);
  assert.match(first.memberId, /^cli-/);
  assert.equal(gc.describe("g").members.length, 0);
  const second = await gc.join(joinReq(first.memberId, { requireKnownMemberId: true }));
  assert.equal(second.errorCode, NONE);
  assert.equal(second.memberId, first.memberId);
  assert.equal(second.leader, first.memberId);
  // An id the coordinator never handed out.
  const bogus = await gc.join(joinReq("nobody", { requireKnownMemberId: true }));
  assert.equal(bogus.errorCode, UNKNOWN_MEMBER_ID);
  gc.close();
});

Deno.test("GroupCoordinator: heartbeat and OffsetCommit answers per state and generation", async () => {
  const gc = new GroupCoordinator(new FakeClock());
  const o = [{ topic: "t", partition: 0, offset: 1n, leaderEpoch: -1, metadata: null }];
  assert.equal(gc.heartbeat("g", "x", null, 0), UNKNOWN_MEMBER_ID); // unknown group
  // Simple commits (generation -1, no member id) on a group without members.
  assert.equal(gc.commit("g", -1, "", null, o), NONE);
  assert.equal(gc.stateOf("g"), "Empty");
  assert.equal(gc.commit("g", 3, "x", null, o), UNKNOWN_MEMBER_ID);
  const a = await gc.join(joinReq(""));
  assert.equal(gc.heartbeat("g", a.memberId, null, 1), REBALANCE_IN_PROGRESS);
  assert.equal(gc.commit("g", 1, a.memberId, null, o), REBALANCE_IN_PROGRESS);
  await syncAll(gc, [a]);
  assert.equal(gc.heartbeat("g", "nobody", null, 1), UNKNOWN_MEMBER_ID);
  assert.equal(gc.heartbeat("g", a.memberId, null, 7), ILLEGAL_GENERATION);
  assert.equal(gc.commit("g", -1, "", null, o), UNKNOWN_MEMBER_ID); // the group has members
  assert.equal(gc.commit("g", 2, a.memberId, null, o), ILLEGAL_GENERATION);
  assert.equal(gc.commit("g", 1, "nobody", null, o), UNKNOWN_MEMBER_ID);
  assert.equal(gc.commit("g", 1, a.memberId, null, o), NONE);
  gc.close();
});

Deno.test("GroupCoordinator: protocol selection by votes; inconsistent protocols are refused", async () => {
  const p = (...names: string[]) => names.map((name) => ({ name, metadata: bytes(name) }));
  const { gc, a } = await groupOfOne({ protocols: p("range", "sticky") });
  const bJoin = gc.join(joinReq("", { protocols: p("sticky", "range") }));
  const cJoin = gc.join(joinReq("", { protocols: p("sticky") }));
  const a2 = await gc.join(joinReq(a.memberId, { protocols: p("range", "sticky") }));
  await bJoin;
  await cJoin;
  assert.equal(a2.protocolName, "sticky");
  assert.deepEqual(a2.members.map((m) => new TextDecoder().decode(m.metadata)), [
    "sticky",
    "sticky",
    "sticky",
  ]);
  const bad = await gc.join(joinReq("", { protocols: p("roundrobin") }));
  assert.equal(bad.errorCode, INCONSISTENT_GROUP_PROTOCOL);
  gc.close();
});

Deno.test("GroupCoordinator: a static member rejoining replaces its old id without a rebalance", async () => {
  const gc = new GroupCoordinator(new FakeClock());
  const a = await gc.join(joinReq("", { groupInstanceId: "i-a" }));
  const bJoin = gc.join(joinReq("", { groupInstanceId: "i-b" }));
  const a2 = await gc.join(joinReq(a.memberId, { groupInstanceId: "i-a" }));
  const b = await bJoin;
  const assignments = await syncAll(gc, [a2, b]);
  // b restarts: same instance id, a new member id, same generation.
  const b2 = await gc.join(joinReq("", { groupInstanceId: "i-b" }));
  assert.equal(b2.errorCode, NONE);
  assert.notEqual(b2.memberId, b.memberId);
  assert.equal(b2.generationId, 2);
  assert.equal(gc.stateOf("g"), "Stable");
  const s = await gc.sync({
    groupId: "g",
    generationId: 2,
    memberId: b2.memberId,
    groupInstanceId: "i-b",
    protocolType: null,
    protocolName: null,
    assignments: [],
  });
  assert.deepEqual(s.assignment, assignments.get(b.memberId));
  // The old id is fenced.
  assert.equal(gc.heartbeat("g", b.memberId, "i-b", 2), FENCED_INSTANCE_ID);
  assert.equal(gc.heartbeat("g", b2.memberId, "i-b", 2), NONE);
  gc.close();
});

Deno.test("GroupCoordinator: close() answers held joins and clears every timer", async () => {
  const { clock, gc } = await groupOfOne();
  const held = gc.join(joinReq(""));
  assert.ok(clock.timers.size > 0);
  gc.close();
  assert.equal(clock.timers.size, 0);
  assert.equal((await held).errorCode, 15); // COORDINATOR_NOT_AVAILABLE
});
