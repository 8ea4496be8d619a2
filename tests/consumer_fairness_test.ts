// Fairness under a small memory budget: partitions rotate in fetch order (a
// partition whose data was delivered goes to the end, as Java's consumer
// does), so one partition with a backlog does not starve the others until
// it has drained. Both targets.

import assert from "node:assert/strict";
import { Consumer, type ConsumerOptions } from "../mod.ts";
import { BatchReader, fastOptions, produceValues } from "./_consumer_helpers.ts";
import { EmbeddedCluster } from "../testing.ts";
import { suiteTest } from "./_targets.ts";

/** 300 records of 1 KB in each of 3 partitions, 10 per wire batch. */
async function backlog(topic: string, bootstrap: string): Promise<void> {
  const value = "x".repeat(1000);
  for (let p = 0; p < 3; p++) {
    await produceValues(topic, p, Array.from({ length: 300 }, () => value), {
      perBatch: 10,
      bootstrap,
    });
  }
}

/** The partitions of the first `count` batches read with a 64 KiB budget. */
async function deliveryOrder(options: ConsumerOptions, topic: string, count: number) {
  const consumer = new Consumer({
    ...options,
    assign: [0, 1, 2].map((partition) => ({ topic, partition, offset: "earliest" as const })),
    maxBufferedBytes: 64 * 1024,
  });
  try {
    const reader = new BatchReader(consumer.readable);
    const order: number[] = [];
    while (order.length < count) {
      const batch = await reader.nextBatch(15_000, `batch ${order.length}`);
      order.push(batch.partition);
      batch.ack();
    }
    return order;
  } finally {
    await consumer.close();
  }
}

suiteTest("partitions take turns when the budget is small", async (t) => {
  const topic = await t.newTopic("fairness", 3);
  await backlog(topic, t.bootstrap);
  // Each partition has 300 KB waiting, the budget is 64 KiB: without
  // rotation the first dozen batches all come from one partition.
  const order = await deliveryOrder(t.options({}), topic, 12);
  assert.deepEqual(new Set(order).size, 3, `partitions in delivery order: ${order.join(",")}`);
});

Deno.test("partitions of one broker take turns when the budget is small [embedded]", async () => {
  // One broker: one fetch loop, so only the request order decides.
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  await cluster.createTopic("t", { partitions: 3 });
  await backlog("t", cluster.bootstrap);
  const order = await deliveryOrder(
    fastOptions({ brokers: cluster.bootstrap, maxPartitionFetchBytes: 64 * 1024 }),
    "t",
    6,
  );
  assert.deepEqual(new Set(order).size, 3, `partitions in delivery order: ${order.join(",")}`);
});
