// autoOffsetReset "none": a group with no committed offset cannot start, and
// the reader gets a typed error saying what to do, instead of a hang or a
// silent reset.

import assert from "node:assert/strict";
import { Consumer, KafkaError } from "../mod.ts";
import { BatchReader } from "./_consumer_helpers.ts";
import { uniqueName } from "./_kafka.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  'autoOffsetReset "none" without a committed offset ends the stream with a typed error',
  async (t) => {
    const topic = await t.newTopic("reset-none", 1);
    await t.produceValues(topic, 0, ["a", "b"]);
    const consumer = new Consumer(t.options({
      groupId: uniqueName("reset-none"),
      topics: [topic],
      autoOffsetReset: "none",
    }));
    const reader = new BatchReader(consumer.readable);
    try {
      await assert.rejects(() => reader.next(20_000), (e: unknown) => {
        assert.ok(e instanceof KafkaError, `a KafkaError, got ${e}`);
        assert.match(e.message, /autoOffsetReset is "none"/);
        return true;
      });
    } finally {
      await consumer.close();
    }
  },
);
