// Subscriptions follow the cluster: a RegExp subscription picks up a topic
// created after the consumer joined, and any subscription picks up partitions
// added to its topics, through the periodic metadata refresh
// (`metadataMaxAgeMs`), each starting a rebalance.

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { BatchReader, text, waitFor } from "./_consumer_helpers.ts";
import { uniqueName } from "./_kafka.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  "a RegExp subscription picks up a new matching topic and partitions added later",
  async (t) => {
    const prefix = uniqueName("rx");
    const first = await t.newTopic(`${prefix}-a`, 1);
    await t.produceValues(first, 0, ["a0", "a1"]);
    const unrelated = await t.newTopic(uniqueName("other"), 1);
    await t.produceValues(unrelated, 0, ["never"]);
    const assigned: string[] = [];
    const consumer = new Consumer(t.options({
      groupId: uniqueName("rx-group"),
      topics: new RegExp(`^${prefix}-`),
      metadataMaxAgeMs: 500,
      onAssigned: (tps) => {
        for (const tp of tps) assigned.push(`${tp.topic}/${tp.partition}`);
      },
    }));
    const reader = new BatchReader(consumer.readable);
    const seen = new Set<string>();
    const readUntilSeen = (want: string[], what: string) =>
      waitFor(
        what,
        async () => {
          const batch = await reader.next(500);
          if (batch) {
            assert.notEqual(batch.topic, unrelated, "a topic that does not match was delivered");
            for (const r of batch.records) seen.add(text(r.value)!);
            batch.ack();
          }
          return want.every((v) => seen.has(v)) ? true : undefined;
        },
        30_000,
        { describe: () => `seen ${[...seen]}, assigned ${assigned}` },
      );
    try {
      await readUntilSeen(["a0", "a1"], "the first topic's records");

      // A new topic matching the pattern: joins the subscription.
      const second = await t.newTopic(`${prefix}-b`, 1);
      await t.produceValues(second, 0, ["b0"]);
      await readUntilSeen(["b0"], "the new topic's records");
      assert.ok(assigned.includes(`${second}/0`));

      // A partition added to the first topic.
      await t.addPartitions(first, 2);
      await t.produceValues(first, 1, ["a-new-partition"]);
      await readUntilSeen(["a-new-partition"], "the added partition's records");
      assert.ok(assigned.includes(`${first}/1`));
      assert.deepEqual(
        consumer.assignment().map((tp) => `${tp.topic}/${tp.partition}`).sort(),
        [`${first}/0`, `${first}/1`, `${second}/0`].sort(),
      );
    } finally {
      await consumer.close();
    }
  },
);
