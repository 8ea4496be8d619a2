// Acks at record granularity (`batch.ack(upTo)`) and bounded batches
// (`maxBatchRecords`), on both targets. Each partition is written as one
// record batch of 20 records, and `maxPartitionFetchBytes: 1` makes a Fetch
// return exactly that batch.

import assert from "node:assert/strict";
import { Consumer, type RecordBatch } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { BatchReader, closeAll, values } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  "batch.ack(record) commits inside the batch; a restart resumes after that record",
  async (t) => {
    const topic = await t.newTopic("ack-upto", 1);
    const groupId = uniqueName("ack-upto");
    await t.produceValues(topic, 0, values("v", 20), { perBatch: 20 });
    const options = t.options({
      groupId,
      topics: [topic],
      maxPartitionFetchBytes: 1,
      closeTimeoutMs: 500,
    });
    const first = new Consumer(options);
    let second: Consumer | undefined;
    try {
      const batch = await new BatchReader(first.readable).nextBatch(15_000, "the batch");
      assert.equal(batch.records.length, 20);
      assert.equal(batch.ack(batch.records[6]), true);
      assert.equal(batch.ack(3n), true, "lower: changes nothing");
      await first.close();
      const group = await t.groupDescription(groupId);
      assert.deepEqual(group.rows.map((r) => r.currentOffset), [7n], group.output);

      second = new Consumer(options);
      const again = await new BatchReader(second.readable).nextBatch(15_000, "after restart");
      assert.equal(again.records[0].offset, 7n, "resumes after the last acknowledged record");
    } finally {
      await closeAll(first, second);
    }
  },
);

suiteTest(
  "maxBatchRecords delivers a long batch in pieces, each with its own nextOffset",
  async (t) => {
    const topic = await t.newTopic("max-batch-records", 1);
    const groupId = uniqueName("max-batch-records");
    await t.produceValues(topic, 0, values("v", 20), { perBatch: 20 });
    const consumer = new Consumer(t.options({
      groupId,
      topics: [topic],
      maxPartitionFetchBytes: 1,
      maxBatchRecords: 6,
    }));
    try {
      const reader = new BatchReader(consumer.readable);
      const pieces: RecordBatch[] = [];
      while (pieces.reduce((n, b) => n + b.records.length, 0) < 20) {
        pieces.push(await reader.nextBatch(15_000, `piece ${pieces.length}`));
      }
      assert.deepEqual(pieces.map((b) => b.records.length), [6, 6, 6, 2]);
      assert.deepEqual(pieces.map((b) => b.nextOffset), [6n, 12n, 18n, 20n]);
      assert.deepEqual(
        pieces.flatMap((b) => b.records.map((r) => Number(r.offset))),
        Array.from({ length: 20 }, (_, i) => i),
      );
      // Acks out of order: the prefix only passes a piece once it is acknowledged.
      pieces[1].ack();
      pieces[0].ack(pieces[0].records[2]);
      await consumer.commit();
      let group = await t.groupDescription(groupId);
      assert.deepEqual(group.rows.map((r) => r.currentOffset), [3n], group.output);
      for (const p of pieces) p.ack();
      await consumer.commit();
      group = await t.groupDescription(groupId);
      assert.deepEqual(group.rows.map((r) => r.currentOffset), [20n], group.output);
    } finally {
      await consumer.close();
    }
  },
);
