// seek() where Java users call it (inside onAssigned; before the first read
// in assign mode), and listener errors that end the stream — only after the
// final commit and LeaveGroup — instead of being swallowed. Both targets.

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { BatchReader, values } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";

suiteTest("seek() before the first read in assign mode sets where reading starts", async (t) => {
  const topic = await t.newTopic("seek-before-read", 1);
  await t.produceValues(topic, 0, values("v", 10), { perBatch: 10 });
  const consumer = new Consumer(
    t.options({ assign: [{ topic, partition: 0, offset: "earliest" }] }),
  );
  try {
    await consumer.seek({ topic, partition: 0 }, 6n);
    const batch = await new BatchReader(consumer.readable).nextBatch(15_000, "after the seek");
    assert.equal(batch.records[0].offset, 6n);
    batch.ack();
  } finally {
    await consumer.close();
  }
});

suiteTest("seek() inside onAssigned sets where fetching starts", async (t) => {
  const topic = await t.newTopic("seek-on-assigned", 1);
  await t.produceValues(topic, 0, values("v", 10), { perBatch: 10 });
  const consumer: Consumer = new Consumer(t.options({
    groupId: uniqueName("seek-on-assigned"),
    topics: [topic],
    onAssigned: async (partitions) => {
      for (const tp of partitions) await consumer.seek(tp, 4n);
    },
  }));
  try {
    const batch = await new BatchReader(consumer.readable).nextBatch(15_000, "after the seek");
    assert.equal(batch.records[0].offset, 4n);
    batch.ack();
  } finally {
    await consumer.close();
  }
});

suiteTest(
  "an error thrown by onAssigned ends the stream with it, after the member left",
  async (t) => {
    const topic = await t.newTopic("listener-throws", 1);
    await t.produceValues(topic, 0, values("v", 5), { perBatch: 5 });
    const groupId = uniqueName("listener-throws");
    const thrown = new Error("not ready for partitions");
    const consumer = new Consumer(t.options({
      groupId,
      topics: [topic],
      onAssigned: () => {
        throw thrown;
      },
    }));
    try {
      const reader = consumer.readable.getReader();
      await assert.rejects(reader.read(), (e) => e === thrown);
      // The reader heard of it only after the LeaveGroup: the group is empty now.
      const state = await t.groupState(groupId);
      assert.equal(state?.members ?? 0, 0, JSON.stringify(state));
    } finally {
      await consumer.close();
    }
  },
);
