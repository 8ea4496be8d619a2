// Consumer groups: members split the partitions with no overlap; a member
// that closes hands its partitions over with nothing lost; a member killed
// without LeaveGroup loses its partitions once its session expires; a
// rebalance fences the acks of batches delivered before it; a revocation
// commits what was acknowledged, and the new owner starts there.

import assert from "node:assert/strict";
import { Consumer, type RecordBatch } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import {
  BatchReader,
  closeAll,
  type Member,
  owned,
  ReadLoop,
  spawnMember,
  splitProblem,
  Tally,
  tpKey,
  values,
  waitFor,
} from "./_consumer_helpers.ts";
import { suiteTest, type Target } from "./_targets.ts";

function allPartitions(topic: string, count: number): string[] {
  return Array.from({ length: count }, (_, p) => `${topic}-${p}`).sort();
}

function endsOf(topic: string, count: number, end: number): Map<string, bigint> {
  return new Map(Array.from({ length: count }, (_, p) => [`${topic}-${p}`, BigInt(end)]));
}

async function produceRound(
  t: Target,
  topic: string,
  partitions: number,
  round: string,
  perPartition: number,
) {
  await Promise.all(
    Array.from(
      { length: partitions },
      (_, p) => t.produceValues(topic, p, values(`${round}-p${p}`, perPartition)),
    ),
  );
}

suiteTest(
  "Consumers in a group split 6 partitions with no overlap; one closes and its partitions move with nothing lost",
  async (t) => {
    const topic = await t.newTopic("group-split", 6);
    const groupId = uniqueName("group-split");
    const all = allPartitions(topic, 6);
    await produceRound(t, topic, 6, "r1", 50);

    const tally = new Tally();
    const loops = ["c1", "c2", "c3"].map((name) =>
      new ReadLoop(new Consumer(t.options({ groupId, topics: [topic] })), tally, name)
    );
    const consumers = loops.map((l) => l.consumer);
    try {
      // Only members still open can say what they own (assignment() throws after close()).
      const open = new Set(loops);
      const describe = () =>
        [...open].map((l) => `${l.name}: [${owned(l.consumer).join(", ")}]`).join("; ") +
        `; ${tally.summary()}`;
      await waitFor(
        "3 members with 2 partitions each, no overlap, and round 1 read",
        () =>
          splitProblem(consumers, all) === undefined &&
          consumers.every((c) => owned(c).length === 2) &&
          tally.complete(endsOf(topic, 6, 50)),
        30_000,
        { describe },
      );
      assert.ok(loops.every((l) => l.error === undefined));

      // describeGroup(): the broker's view agrees.
      const group = await consumers[0].describeGroup();
      assert.equal(group.state, "Stable");
      assert.equal(group.members.length, 3);
      const brokerView = group.members.flatMap((m) => m.assignment.map(tpKey)).sort();
      assert.deepEqual(brokerView, all);

      // c3 leaves cleanly: c1 and c2 take its partitions.
      const gone = owned(consumers[2]);
      open.delete(loops[2]);
      await loops[2].stop();
      await waitFor(
        "c1 and c2 to own all 6 partitions, 3 each",
        () =>
          splitProblem(consumers.slice(0, 2), all) === undefined &&
          consumers.slice(0, 2).every((c) => owned(c).length === 3),
        30_000,
        { describe },
      );
      await produceRound(t, topic, 6, "r2", 50);
      await waitFor(
        "every record of both rounds",
        () => tally.complete(endsOf(topic, 6, 100)),
        30_000,
        {
          describe,
        },
      );
      assert.ok(
        loops.every((l) => l.error === undefined),
        String(loops.find((l) => l.error)?.error),
      );
      assert.deepEqual(tally.duplicates(), [], "clean handovers deliver nothing twice");
      assert.deepEqual(tally.orderViolations(), []);
      // c3's partitions' round-2 records were read by the others.
      for (const key of gone) {
        const readers = new Set(
          tally.partitions.get(key)!.filter((s) => s.offset >= 50n).map((s) => s.by),
        );
        assert.ok(!readers.has("c3"), `${key} moved away from c3`);
      }
    } finally {
      await Promise.all(loops.map((l) => l.stop().catch(() => {})));
      await closeAll(...consumers);
    }
  },
);

suiteTest(
  "A revocation commits what was acknowledged (auto mode, before any auto-commit tick): the new owner starts there",
  async (t) => {
    const topic = await t.newTopic("group-revoke-commit", 4);
    const groupId = uniqueName("group-revoke-commit");
    const all = allPartitions(topic, 4);
    await produceRound(t, topic, 4, "r1", 30);
    const tally = new Tally();
    // No auto-commit tick within the test: only the revocation can commit
    // while the first member stays open.
    const options = { groupId, topics: [topic], autoCommitIntervalMs: 600_000 };
    const a = new ReadLoop(new Consumer(t.options(options)), tally, "a");
    const loops = [a];
    try {
      await waitFor(
        "a to read and ack round 1",
        () => tally.complete(endsOf(topic, 4, 30)),
        30_000,
      );
      const before = (await t.groupDescription(groupId)).rows;
      assert.deepEqual(
        before.filter((r) => r.currentOffset !== null),
        [],
        "nothing committed before the rebalance",
      );

      const b = new ReadLoop(new Consumer(t.options(options)), tally, "b");
      loops.push(b);
      await waitFor(
        "a and b to own 2 partitions each",
        () =>
          splitProblem([a.consumer, b.consumer], all) === undefined &&
          owned(b.consumer).length === 2,
        30_000,
        { describe: () => `a: ${owned(a.consumer)}; b: ${owned(b.consumer)}` },
      );
      // The partitions that moved were committed at 30 by a's revocation; a is still open.
      const rows = (await t.groupDescription(groupId)).rows;
      for (const key of owned(b.consumer)) {
        const row = rows.find((r) => `${r.topic}-${r.partition}` === key);
        assert.equal(row?.currentOffset, 30n, `${key}: committed by the revocation`);
      }
      await produceRound(t, topic, 4, "r2", 10);
      await waitFor(
        "every record of both rounds",
        () => tally.complete(endsOf(topic, 4, 40)),
        30_000,
      );
      assert.ok(
        loops.every((l) => l.error === undefined),
        String(loops.find((l) => l.error)?.error),
      );
      // b's first offset of every partition it took is where a's revocation committed.
      const early = [...tally.partitions].flatMap(([key, list]) =>
        list.filter((r) => r.by === "b" && r.offset < 30n).map((r) => `${key}@${r.offset}`)
      );
      assert.deepEqual(early, [], "b read nothing a had acknowledged before the rebalance");
    } finally {
      await Promise.all(loops.map((l) => l.stop().catch(() => {})));
      await closeAll(...loops.map((l) => l.consumer));
    }
  },
);

suiteTest(
  "An eager rebalance fences the acks of batches delivered before it; their records are delivered again",
  async (t) => {
    const topic = await t.newTopic("group-fence", 2);
    const groupId = uniqueName("group-fence");
    await produceRound(t, topic, 2, "f", 20);
    const revokedA: string[] = [];
    // Eager on purpose: every partition is revoked. (Under cooperative-sticky
    // a kept partition's batches stay ackable: consumer_cooperative_test.ts.)
    const eager = { assignors: ["range" as const] };
    const a = new Consumer(t.options({
      ...eager,
      groupId,
      topics: [topic],
      maxPartitionFetchBytes: 1, // one 10-record batch per Fetch
      // Revocation waits part of this for the held batches, then goes on.
      rebalanceTimeoutMs: 3000,
      onRevoked: (ps) => {
        revokedA.push(...ps.map(tpKey));
      },
    }));
    let b: Consumer | undefined;
    let loopB: ReadLoop | undefined;
    const tallyB = new Tally();
    try {
      // A holds one unacknowledged batch of each partition.
      const readerA = new BatchReader(a.readable);
      const held = new Map<string, RecordBatch>();
      const deadline = Date.now() + 20_000;
      while (held.size < 2) {
        assert.ok(Date.now() < deadline, "A got a batch of each partition");
        const batch = await readerA.nextBatch(15_000);
        if (!held.has(tpKey(batch))) held.set(tpKey(batch), batch);
      }
      for (const batch of held.values()) assert.equal(batch.records[0].offset, 0n);

      // B joins: the group rebalances; A gives its partitions up.
      b = new Consumer(t.options({ ...eager, groupId, topics: [topic] }));
      loopB = new ReadLoop(b, tallyB, "b");
      await waitFor(
        "A and B to own one partition each",
        () => owned(a).length === 1 && owned(b!).length === 1,
        30_000,
        { describe: () => `A: ${owned(a)}, B: ${owned(b!)}, A revoked: ${revokedA}` },
      );
      assert.deepEqual(revokedA.sort(), allPartitions(topic, 2), "A's revocation covered both");
      for (const [key, batch] of held) {
        assert.equal(
          batch.ack(),
          false,
          `the ack of ${key}'s batch from before the rebalance is fenced`,
        );
      }

      // Nothing was committed: both partitions are read again from offset 0.
      const [keyA] = owned(a);
      const [keyB] = owned(b);
      const tallyA = new Tally();
      await waitFor(
        "B to read its partition from 0",
        () => tallyB.of(tpOf(keyB)).length >= 20,
        20_000,
        {
          describe: () => tallyB.summary(),
        },
      );
      assert.equal(tallyB.of(tpOf(keyB))[0].offset, 0n);
      const deadlineA = Date.now() + 20_000;
      while (tallyA.of(tpOf(keyA)).length < 20) {
        assert.ok(Date.now() < deadlineA, `A reads ${keyA} again: ${tallyA.summary()}`);
        const batch = await readerA.next(1000);
        assert.notEqual(batch, null);
        if (batch) {
          tallyA.add(batch, "a");
          assert.equal(batch.ack(), true);
        }
      }
      assert.equal(tallyA.of(tpOf(keyA))[0].offset, 0n);
    } finally {
      await loopB?.stop().catch(() => {});
      await closeAll(a, b);
    }
  },
);

function tpOf(key: string): { topic: string; partition: number } {
  const i = key.lastIndexOf("-");
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

suiteTest(
  "A member killed without LeaveGroup loses its partitions after sessionTimeoutMs; nothing is lost",
  async (t) => {
    const topic = await t.newTopic("group-kill", 4);
    const groupId = uniqueName("group-kill");
    const all = allPartitions(topic, 4);
    const sessionTimeoutMs = 6000;
    await produceRound(t, topic, 4, "k1", 25);

    const memberOptions = {
      brokers: t.options({}).brokers,
      groupId,
      topics: [topic],
      autoOffsetReset: "earliest" as const,
      sessionTimeoutMs,
      heartbeatIntervalMs: 500,
      maxPollIntervalMs: 20000,
      fetchMaxWaitMs: 100,
      autoCommitIntervalMs: 200,
    };
    let member: Member | undefined = spawnMember({ options: memberOptions });
    const tally = new Tally();
    let loop: ReadLoop | undefined;
    try {
      await waitFor("the subprocess member to own all 4 partitions", async () => {
        await member!.check();
        return member!.owned().length === 4;
      }, 30_000);

      loop = new ReadLoop(
        new Consumer(t.options({ groupId, topics: [topic], sessionTimeoutMs })),
        tally,
        "c1",
      );
      const c1 = loop.consumer;
      const split = () => {
        const mine = owned(c1);
        const theirs = member!.owned();
        const both = [...mine, ...theirs].sort();
        return mine.length === 2 && theirs.length === 2 &&
          JSON.stringify(both) === JSON.stringify(all);
      };
      await waitFor(
        "c1 and the subprocess to own 2 partitions each",
        async () => {
          await member!.check();
          return split();
        },
        30_000,
        { describe: () => `c1: ${owned(c1)}; member: ${member!.owned()}` },
      );

      await produceRound(t, topic, 4, "k2", 25);
      const union = () => {
        const t = new Tally();
        member!.tallyInto(t, "member");
        for (const [key, list] of tally.partitions) {
          for (const s of list) t.addRecord(tpOf(key), s.offset, s.value, s.by);
        }
        return t;
      };
      await waitFor(
        "rounds 1-2 read by c1 and the subprocess",
        () => union().complete(endsOf(topic, 4, 50)),
        30_000,
        {
          describe: () => union().summary(),
        },
      );
      // Let the subprocess's auto-commit (every 200 ms) catch up is not needed:
      // whatever it did not commit is delivered again to c1 (at least once).
      const theirs = member.owned();

      member.process.kill("SIGKILL");
      const killedAt = Date.now();
      const { status } = await member.process.finish(10_000);
      assert.equal(status.signal, "SIGKILL");
      const reported = member;
      member = undefined;

      await waitFor(
        "c1 to own all 4 partitions",
        () => owned(c1).length === 4,
        sessionTimeoutMs + 20_000,
        {
          intervalMs: 50,
          describe: () => `c1: ${owned(c1)}`,
        },
      );
      const movedAfterMs = Date.now() - killedAt;
      // No LeaveGroup: the coordinator notices only when the session expires
      // (the last heartbeat was at most heartbeatIntervalMs before the kill).
      assert.ok(
        movedAfterMs >= sessionTimeoutMs - 1000,
        `partitions moved ${movedAfterMs} ms after the kill, before the session could expire`,
      );

      await produceRound(t, topic, 4, "k3", 25);
      const final = () => {
        const t = new Tally();
        reported.tallyInto(t, "member");
        for (const [key, list] of tally.partitions) {
          for (const s of list) t.addRecord(tpOf(key), s.offset, s.value, s.by);
        }
        return t;
      };
      await waitFor(
        "every record of rounds 1-3",
        () => final().complete(endsOf(topic, 4, 75)),
        30_000,
        {
          describe: () => final().summary(),
        },
      );
      for (const key of theirs) {
        assert.ok(
          tally.of(tpOf(key)).some((s) => s.offset >= 50n),
          `c1 read ${key}'s round 3 after the kill`,
        );
      }
      assert.equal(loop.error, undefined);
    } finally {
      if (member !== undefined) {
        member.process.kill("SIGKILL");
        await member.process.finish(5000);
      }
      await loop?.stop().catch(() => {});
    }
  },
);

suiteTest("onAssigned is awaited before any batch of its partitions is delivered", async (t) => {
  const topic = await t.newTopic("group-on-assigned", 6);
  const groupId = uniqueName("group-on-assigned");
  await produceRound(t, topic, 6, "oa", 10);
  const assigned = new Set<string>();
  const consumer = new Consumer(t.options({
    groupId,
    topics: [topic],
    onAssigned: async (ps) => {
      // A listener that awaits (e.g. loads state for the partitions).
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const p of ps) assigned.add(tpKey(p));
    },
  }));
  try {
    const reader = new BatchReader(consumer.readable);
    const tally = new Tally();
    while (tally.count < 60) {
      const batch = await reader.nextBatch(20_000, "the 60 records");
      assert.ok(
        assigned.has(tpKey(batch)),
        `${tpKey(batch)} delivered before onAssigned returned (assigned so far: ${[...assigned]})`,
      );
      tally.add(batch);
      batch.ack();
    }
  } finally {
    await consumer.close();
  }
});
