// A group mixing our consumer and Kafka's own Java console consumer: the
// classic protocol with the standard ConsumerProtocol encoding lets them
// share a topic, with the eager range assignor and with cooperative-sticky
// (KIP-429: owned partitions in the subscription, revocation of the moving
// ones only, a follow-up rebalance). Whoever joins first leads, so either
// side's assignor may compute the split. Both get partitions; while the
// group is stable, no record is read by both.

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { closeAll, owned, ReadLoop, Tally, values, waitFor } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";
import { javaGroupConsumer } from "./_group_helpers.ts";

const ASSIGNORS = [
  { name: "range", java: "org.apache.kafka.clients.consumer.RangeAssignor" },
  {
    name: "cooperative-sticky",
    java: "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
  },
] as const;

for (const assignor of ASSIGNORS) {
  suiteTest(
    `Consumer shares a group with Kafka's Java console consumer (${assignor.name}): both get partitions, nothing read twice`,
    async (t) => {
      const topic = await t.newTopic("java-group", 6);
      const groupId = uniqueName("java-group");
      const all = Array.from({ length: 6 }, (_, p) => `${topic}-${p}`);

      const { process: java, drain } = javaGroupConsumer(t, topic, groupId, [
        `partition.assignment.strategy=${assignor.java}`,
        "session.timeout.ms=6000",
        "heartbeat.interval.ms=500",
      ]);
      const tally = new Tally();
      const javaSeen = () => drain(tally);
      let loop: ReadLoop | undefined;
      try {
        // Ours joins while the JVM starts; whichever joins first leads.
        loop = new ReadLoop(
          new Consumer(t.options({ groupId, topics: [topic], assignors: [assignor.name] })),
          tally,
          "sluice",
        );
        const ours = loop.consumer;
        const group = await waitFor(
          "a stable group of 2 members, 3 partitions each",
          async () => {
            if (java.exited) throw new Error(`the console consumer exited: ${await java.stderr()}`);
            if (owned(ours).length !== 3) return undefined;
            const g = await ours.describeGroup();
            return g.state === "Stable" && g.members.length === 2 &&
                g.members.every((m) => m.assignment.length === 3)
              ? g
              : undefined;
          },
          60_000,
          { intervalMs: 250, describe: () => `ours: ${owned(ours)}` },
        );
        assert.equal(group.protocol, assignor.name);
        const javaOwned = group.members
          .flatMap((m) => m.assignment)
          .map((tp) => `${tp.topic}-${tp.partition}`)
          .filter((k) => !owned(ours).includes(k));
        assert.equal(javaOwned.length, 3, "the Java member owns the other 3");
        assert.deepEqual([...owned(ours), ...javaOwned].sort(), all.sort());

        // Written once the group is stable: each record is read by exactly one member.
        await Promise.all(
          Array.from({ length: 6 }, (_, p) => t.produceValues(topic, p, values(`j${p}`, 40))),
        );
        const ends = new Map(all.map((k) => [k, 40n]));
        await waitFor(
          "every record, by one member or the other",
          () => {
            javaSeen();
            return tally.complete(ends);
          },
          60_000,
          { intervalMs: 200, describe: () => tally.summary() },
        );

        assert.deepEqual(tally.duplicates(), [], "no record read by both");
        for (const [key, list] of tally.partitions) {
          const by = new Set(list.map((s) => s.by));
          assert.equal(by.size, 1, `${key} read by ${[...by]}`);
          assert.equal(
            by.has("sluice"),
            owned(ours).includes(key),
            `${key} read by its owner`,
          );
        }
        assert.ok(
          [...tally.partitions.values()].some((l) => l[0].by === "java") &&
            [...tally.partitions.values()].some((l) => l[0].by === "sluice"),
          "both members read records",
        );
        assert.equal(loop.error, undefined);
      } finally {
        java.kill("SIGTERM");
        await java.finish(20_000);
        await loop?.stop().catch(() => {});
        await closeAll(loop?.consumer);
      }
    },
  );
}
