// The consumer group protocol (KIP-848, `groupProtocol: "consumer"`) on
// real Kafka: the broker assigns, members reconcile incrementally — a joining
// member takes partitions while the others keep theirs, a leaving member's
// partitions move with nothing lost — and a group shared with Kafka's Java
// console consumer (group.protocol=consumer) splits the partitions.
// Both targets: the embedded cluster serves the consumer protocol too
// (src/testing/consumer_group_coordinator.ts).

import assert from "node:assert/strict";
import { Admin, Consumer, type Logger } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import {
  closeAll,
  CONSUMER_PROTOCOL,
  owned,
  ReadLoop,
  splitProblem,
  Tally,
  values,
  waitFor,
} from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";
import {
  endsAt,
  javaGroupConsumer,
  loggedListeners,
  partitionKeys,
  produceRound,
} from "./_group_helpers.ts";

suiteTest(
  "groupProtocol consumer: a joining member takes half while the other keeps the rest; a leaving one hands over; nothing lost or read twice",
  async (t) => {
    const topic = await t.newTopic("kip848-join", 4);
    const groupId = uniqueName("kip848-join");
    await produceRound(t, topic, 4, "r1", 20);
    const events: string[] = [];
    const tally = new Tally();
    const member = (name: string) =>
      new ReadLoop(
        new Consumer(t.options({
          groupId,
          topics: [topic],
          ...CONSUMER_PROTOCOL,
          groupRemoteAssignor: "range",
          ...loggedListeners(name, events),
        })),
        tally,
        name,
      );
    const c1 = member("c1");
    let c2: ReadLoop | undefined;
    const snapshots: string[][] = [];
    const sampler = setInterval(() => {
      try {
        snapshots.push(owned(c1.consumer));
      } catch { /* closed */ }
    }, 20);
    try {
      await waitFor(
        "c1 to own the 4 partitions and read round 1",
        () => owned(c1.consumer).length === 4 && tally.complete(endsAt(topic, 4, 20)),
        30_000,
        { describe: () => `${events.join("; ")}; ${tally.summary()}` },
      );
      const start = snapshots.length;
      c2 = member("c2");
      await waitFor(
        "2 partitions each, no overlap",
        () =>
          splitProblem([c1.consumer, c2!.consumer], partitionKeys(topic, 4)) === undefined &&
          owned(c1.consumer).length === 2 && owned(c2!.consumer).length === 2,
        30_000,
        { describe: () => events.join("; ") },
      );
      const kept = owned(c1.consumer);
      for (const s of snapshots.slice(start)) {
        assert.ok(kept.every((k) => s.includes(k)), `c1's kept partitions stayed: ${s}`);
      }
      const group = await c1.consumer.describeGroup();
      assert.equal(group.type, "consumer");
      assert.equal(group.protocol, "range", "the broker used the assignor asked for");
      assert.equal(group.state, "Stable");
      assert.equal(group.members.length, 2);

      await produceRound(t, topic, 4, "r2", 20);
      await waitFor("round 2", () => tally.complete(endsAt(topic, 4, 40)), 30_000, {
        describe: () => tally.summary(),
      });
      // c2 leaves (epoch -1): c1 gets everything back.
      await c2.stop();
      await waitFor("c1 to own all 4 again", () => owned(c1.consumer).length === 4, 30_000, {
        describe: () => events.join("; "),
      });
      await produceRound(t, topic, 4, "r3", 20);
      await waitFor("round 3", () => tally.complete(endsAt(topic, 4, 60)), 30_000, {
        describe: () => tally.summary(),
      });
      assert.deepEqual(tally.duplicates(), [], "incremental handovers deliver nothing twice");
      const of = (name: string) => events.filter((e) => e.startsWith(`${name} `));
      assert.ok(!events.some((e) => e.includes(" lost ")), events.join("; "));
      assert.equal(of("c1").filter((e) => e.includes("revoked")).length, 1, events.join("; "));
      assert.equal(c1.error, undefined);
      assert.equal(c2.error, undefined);
      clearInterval(sampler);
      await c1.stop();
      // Kafka's own tool: every partition committed to the end.
      const described = await t.groupDescription(groupId);
      assert.deepEqual(
        described.rows.map((r) => r.currentOffset),
        [60n, 60n, 60n, 60n],
        described.output,
      );
    } finally {
      clearInterval(sampler);
      await Promise.all([c1, c2].map((l) => l?.stop().catch(() => {})));
      await closeAll(c1.consumer, c2?.consumer);
    }
  },
);

suiteTest(
  "groupProtocol consumer: a group with Kafka's Java console consumer (group.protocol=consumer) splits the partitions, nothing read twice",
  async (t) => {
    const topic = await t.newTopic("kip848-java", 6);
    const groupId = uniqueName("kip848-java");
    const all = partitionKeys(topic, 6);
    const { process: java, drain } = javaGroupConsumer(t, topic, groupId, [
      "group.protocol=consumer",
    ]);
    const tally = new Tally();
    const javaSeen = () => drain(tally);
    let loop: ReadLoop | undefined;
    try {
      loop = new ReadLoop(
        new Consumer(t.options({
          groupId,
          topics: [topic],
          ...CONSUMER_PROTOCOL,
        })),
        tally,
        "sluice",
      );
      const ours = loop.consumer;
      await waitFor(
        "a stable consumer-protocol group of 2, 3 partitions each",
        async () => {
          if (java.exited) throw new Error(`the console consumer exited: ${await java.stderr()}`);
          if (owned(ours).length !== 3) return undefined;
          const g = await ours.describeGroup();
          return g.type === "consumer" && g.members.length === 2 &&
            g.members.every((m) => m.assignment.length === 3);
        },
        60_000,
        { intervalMs: 250, describe: () => `ours: ${owned(ours)}` },
      );
      await Promise.all(
        Array.from({ length: 6 }, (_, p) => t.produceValues(topic, p, values(`j${p}`, 40))),
      );
      await waitFor(
        "every record, by one member or the other",
        () => {
          javaSeen();
          return tally.complete(new Map(all.map((k) => [k, 40n])));
        },
        60_000,
        { intervalMs: 200, describe: () => tally.summary() },
      );
      assert.deepEqual(tally.duplicates(), [], "no record read by both");
      for (const [key, list] of tally.partitions) {
        const by = new Set(list.map((s) => s.by));
        assert.equal(by.size, 1, `${key} read by ${[...by]}`);
        assert.equal(by.has("sluice"), owned(ours).includes(key), `${key} read by its owner`);
      }
      assert.equal(loop.error, undefined);
    } finally {
      java.kill("SIGTERM");
      await java.finish(20_000);
      await loop?.stop().catch(() => {});
      await closeAll(loop?.consumer);
    }
  },
);

suiteTest(
  "groupProtocol consumer: a RegExp subscription is resolved by the broker (sent as RE2J), a topic created later is picked up, nothing else is read",
  async (t) => {
    const prefix = uniqueName("kip848-re");
    const first = await t.newTopic(`${prefix}-a`, 2);
    const other = await t.newTopic(`x${prefix}-b`, 1); // contains the prefix, does not start with it
    await produceRound(t, first, 2, "a", 10);
    await t.produceValues(other, 0, values("x", 10));
    const groupId = uniqueName("kip848-re");
    const tally = new Tally();
    const pattern = new RegExp(`^${prefix.replace(/[-]/g, "\\-")}-`);
    const loop = new ReadLoop(
      new Consumer(t.options({
        groupId,
        topics: pattern,
        ...CONSUMER_PROTOCOL,
      })),
      tally,
      "re",
    );
    try {
      await waitFor("the first topic read", () => tally.complete(endsAt(first, 2, 10)), 30_000, {
        describe: () => tally.summary(),
      });
      const group = await loop.consumer.describeGroup();
      const regex = group.members[0].subscribedTopicRegex;
      assert.ok(regex, "the member subscribed by regex, not by names");
      assert.equal(group.members[0].subscribedTopicNames?.length ?? 0, 0, String(regex));
      // A matching topic created now: the broker's regex finds it.
      const later = await t.newTopic(`${prefix}-c`, 1);
      await t.produceValues(later, 0, values("c", 5));
      await waitFor(
        "the topic created later read",
        () => tally.complete(new Map([...endsAt(first, 2, 10), [`${later}-0`, 5n]])),
        60_000,
        { describe: () => tally.summary() },
      );
      assert.ok(
        ![...tally.partitions.keys()].some((k) => k.startsWith(other)),
        "the topic that only contains the prefix was not read",
      );
      assert.equal(loop.error, undefined);
    } finally {
      await loop.stop().catch(() => {});
      await closeAll(loop.consumer);
    }
  },
  { targets: ["kafka"] },
);

suiteTest(
  "groupProtocol consumer: the stale-session bound is the group's consumer.session.timeout.ms (the brokers' default, or the group's own)",
  async (t) => {
    const topic = await t.newTopic("kip848-session", 1);
    const read = async (groupId: string) => {
      const lines: Array<{ message: string; fields?: Record<string, unknown> }> = [];
      const logger: Logger = {
        info: (message, fields) => lines.push({ message, fields }),
        warn: (message, fields) => lines.push({ message, fields }),
      };
      // Reading starts the consumer.
      const loop = new ReadLoop(
        new Consumer(t.options({
          groupId,
          topics: [topic],
          ...CONSUMER_PROTOCOL,
          logger,
        })),
        new Tally(),
        "s",
      );
      try {
        return await waitFor(
          "the member to read its group's session timeout",
          () => lines.find((l) => l.message === "the group's session timeout")?.fields,
          30_000,
          { describe: () => lines.map((l) => l.message).join("; ") },
        );
      } finally {
        await loop.stop().catch(() => {});
        await closeAll(loop.consumer);
      }
    };
    // scripts/kafka.sh sets group.consumer.session.timeout.ms=10000.
    assert.equal((await read(uniqueName("kip848-session")))?.sessionTimeoutMs, 10_000);
    const groupId = uniqueName("kip848-session-own");
    {
      await using admin = new Admin({ brokers: t.bootstrap });
      await admin.alterConfigs([
        { type: "group", name: groupId, set: { "consumer.session.timeout.ms": "7000" } },
      ]);
    }
    assert.equal((await read(groupId))?.sessionTimeoutMs, 7000);
  },
  { targets: ["kafka"] },
);
