// Fairness under a small memory budget: partitions rotate in fetch order (a
// partition whose data was delivered goes to the end, as Java's consumer
// does), so one partition with a backlog does not starve the others until
// it has drained. Both targets.

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { BatchReader, fastOptions, produceValues } from "./_consumer_helpers.ts";
import { EmbeddedCluster } from "../testing.ts";
import { suiteTest } from "./_targets.ts";

suiteTest("partitions take turns when the budget is small", async (t) => {
  const topic = await t.newTopic("fairness", 3);
  const value = "x".repeat(1000);
  for (let p = 0; p < 3; p++) {
    await t.produceValues(topic, p, Array.from({ length: 300 }, () => value), { perBatch: 10 });
  }
  const consumer = new Consumer(t.options({
    assign: [0, 1, 2].map((partition) => ({ topic, partition, offset: "earliest" as const })),
    maxBufferedBytes: 64 * 1024,
  }));
  try {
    const reader = new BatchReader(consumer.readable);
    const order: number[] = [];
    while (order.length < 12) {
      const batch = await reader.nextBatch(15_000, `batch ${order.length}`);
      order.push(batch.partition);
      batch.ack();
    }
    // Each partition has 300 KB waiting, the budget is 64 KiB: without
    // rotation the first dozen batches all come from one partition.
    assert.deepEqual(new Set(order).size, 3, `partitions in delivery order: ${order.join(",")}`);
  } finally {
    await consumer.close();
  }
});

Deno.test("partitions of one broker take turns when the budget is small [embedded]", async () => {
  // One broker: one fetch loop, so only the request order decides.
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  await cluster.createTopic("t", { partitions: 3 });
  const value = "x".repeat(1000);
  for (let p = 0; p < 3; p++) {
    await produceValues("t", p, Array.from({ length: 300 }, () => value), {
      perBatch: 10,
      bootstrap: cluster.bootstrap,
    });
  }
  const consumer = new Consumer(fastOptions({
    brokers: cluster.bootstrap,
    assign: [0, 1, 2].map((partition) => ({ topic: "t", partition, offset: "earliest" as const })),
    maxBufferedBytes: 64 * 1024,
    maxPartitionFetchBytes: 64 * 1024,
  }));
  try {
    const reader = new BatchReader(consumer.readable);
    const order: number[] = [];
    while (order.length < 6) {
      const batch = await reader.nextBatch(15_000, `batch ${order.length}`);
      order.push(batch.partition);
      batch.ack();
    }
    assert.deepEqual(new Set(order).size, 3, `partitions in delivery order: ${order.join(",")}`);
  } finally {
    await consumer.close();
  }
});
