// The consumer group protocol (KIP-848, `groupProtocol: "consumer"`) on
// real Kafka: the broker assigns, members reconcile incrementally — a joining
// member takes partitions while the others keep theirs, a leaving member's
// partitions move with nothing lost — and a group shared with Kafka's Java
// console consumer (group.protocol=consumer) splits the partitions.
// Both targets: the embedded cluster serves the consumer protocol too
// (src/testing/consumer_group_coordinator.ts).

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import {
  closeAll,
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
          groupProtocol: "consumer",
          groupRemoteAssignor: "range",
          sessionTimeoutMs: undefined,
          heartbeatIntervalMs: undefined,
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
          groupProtocol: "consumer",
          sessionTimeoutMs: undefined,
          heartbeatIntervalMs: undefined,
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
