// The offset calls Java users reach for: position(), committed(),
// beginningOffsets(), endOffsets(), offsetsForTimes(). Both targets.

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { BatchReader, values } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  "position, committed, beginning/end offsets and offsetsForTimes answer as Java's",
  async (t) => {
    const topic = await t.newTopic("offset-calls", 1);
    const before = Date.now() - 1;
    await t.produceValues(topic, 0, values("v", 10), { perBatch: 10 });
    const tp = { topic, partition: 0 };
    const consumer = new Consumer(t.options({
      groupId: uniqueName("offset-calls"),
      assign: [{ ...tp, offset: "earliest" }],
      commit: "manual",
    }));
    try {
      assert.deepEqual(await consumer.committed([tp]), [{
        ...tp,
        offset: null,
        leaderEpoch: -1,
        metadata: null,
      }]);
      const batch = await new BatchReader(consumer.readable).nextBatch(15_000, "the batch");
      assert.equal(consumer.position(tp), batch.nextOffset);
      batch.ack(batch.records[3]);
      await consumer.commit();
      const [c] = await consumer.committed();
      assert.equal(c.offset, 4n);
      assert.deepEqual(await consumer.beginningOffsets([tp]), [{ ...tp, offset: 0n }]);
      assert.deepEqual(await consumer.endOffsets([tp]), [{ ...tp, offset: 10n }]);
      const [past, future] = await consumer.offsetsForTimes([
        { ...tp, timestamp: before },
        { ...tp, timestamp: Date.now() + 3_600_000 },
      ]);
      assert.equal(past.offset, 0n);
      assert.equal(future.offset, null, "no record that late");
      assert.throws(() => consumer.position({ topic, partition: 5 }), /not assigned/);
      batch.ack();
    } finally {
      await consumer.close();
    }
  },
);
