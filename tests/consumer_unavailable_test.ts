// Missing topics and partitions are never silent (issue 16): a warning
// naming them and Kafka's answer, `unavailable()` listing them, and the
// consumer reads them once they exist. Both targets.

import assert from "node:assert/strict";
import { Admin, Consumer, type Logger } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { BatchReader, values, waitFor } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";

function capture(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    logger: { warn: (msg, fields) => warnings.push(`${msg} ${JSON.stringify(fields)}`) },
  };
}

suiteTest(
  "an assigned partition that does not exist is reported, then read once created",
  async (t) => {
    const topic = await t.newTopic("unavailable-partition", 1);
    await t.produceValues(topic, 0, values("p0-", 3));
    const { logger, warnings } = capture();
    const consumer = new Consumer(t.options({
      assign: [
        { topic, partition: 0, offset: "earliest" },
        { topic, partition: 2, offset: "earliest" },
      ],
      logger,
    }));
    try {
      const reader = new BatchReader(consumer.readable);
      const first = await reader.nextBatch(15_000, "partition 0");
      assert.equal(first.partition, 0);
      first.ack();
      const [u] = await waitFor("partition 2 reported", () => {
        const list = consumer.unavailable();
        return list.length > 0 ? list : null;
      }, 10_000);
      assert.deepEqual([u.topic, u.partition, u.reason], [topic, 2, "the topic has 1 partition"]);
      assert.ok(
        warnings.some((w) =>
          w.includes("an assigned partition is not available") && w.includes(topic)
        ),
        warnings.join("\n"),
      );
      await t.addPartitions(topic, 3);
      await t.produceValues(topic, 2, values("p2-", 2));
      const later = await reader.nextBatch(20_000, "partition 2 once created");
      assert.equal(later.partition, 2);
      later.ack();
      assert.deepEqual(consumer.unavailable(), []);
    } finally {
      await consumer.close();
    }
  },
);

suiteTest(
  "a subscribed topic that does not exist is reported, then read once created",
  async (t) => {
    const topic = uniqueName("unavailable-topic");
    const { logger, warnings } = capture();
    const consumer = new Consumer(t.options({
      groupId: uniqueName("unavailable-topic"),
      topics: [topic],
      logger,
    }));
    try {
      const reader = new BatchReader(consumer.readable);
      const waiting = reader.nextBatch(30_000, "the topic's first batch");
      const [u] = await waitFor("the topic reported", () => {
        const list = consumer.unavailable();
        return list.length > 0 ? list : null;
      }, 10_000);
      assert.equal(u.topic, topic);
      assert.equal(u.partition, null);
      assert.ok(warnings.some((w) => w.includes("a subscribed topic is not available")));
      {
        await using admin = new Admin({ brokers: t.bootstrap });
        await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
      }
      await t.produceValues(topic, 0, values("v", 2));
      const batch = await waiting;
      assert.equal(batch.topic, topic);
      batch.ack();
      assert.deepEqual(consumer.unavailable(), []);
    } finally {
      await consumer.close();
    }
  },
);
