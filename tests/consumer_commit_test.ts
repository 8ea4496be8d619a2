// Acks -> commits (GUIDE §2): the committed offset is the nextOffset of the
// longest acknowledged prefix; acks may come out of order; nothing
// unacknowledged is ever committed; a restart resumes right after the
// acknowledged prefix. `commit: "manual"` commits only on commit().
//
// Each partition is written as record batches of 10 records, and
// `maxPartitionFetchBytes: 1` makes every Fetch return exactly one of them
// (a broker always returns at least one whole batch), so the stream yields
// batches of exactly 10 records: b0 = 0..9, b1 = 10..19, ...

import assert from "node:assert/strict";
import { Consumer, type RecordBatch } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { BatchReader, closeAll, values } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";

/** Reads `count` batches of partition 0 without acknowledging them. */
async function readBatches(reader: BatchReader, count: number): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  while (out.length < count) {
    out.push(await reader.nextBatch(15_000, `batch ${out.length} of ${count}`));
  }
  for (const [i, b] of out.entries()) {
    assert.equal(b.records.length, 10, `batch ${i} has one produced batch (10 records)`);
  }
  return out;
}

function firstOffsets(batches: RecordBatch[]): number[] {
  return batches.map((b) => Number(b.records[0].offset));
}

suiteTest(
  "Consumer commits only the acknowledged prefix on close, and a restart resumes right after it",
  async (t) => {
    const topic = await t.newTopic("commit-prefix", 1);
    const groupId = uniqueName("commit-prefix");
    await t.produceValues(topic, 0, values("v", 100), { perBatch: 10 });
    const options = t.options({
      groupId,
      topics: [topic],
      maxPartitionFetchBytes: 1,
      // close() waits this long for the unacknowledged batch, then commits.
      closeTimeoutMs: 1000,
    });

    const first = new Consumer(options);
    let second: Consumer | undefined;
    try {
      const reader = new BatchReader(first.readable);
      const b = await readBatches(reader, 6);
      assert.deepEqual(firstOffsets(b), [0, 10, 20, 30, 40, 50]);
      // Out of order: b5, b4, then b0..b2; b3 is never acknowledged.
      for (const i of [5, 4, 1, 0, 2]) assert.equal(b[i].ack(), true, `ack of b${i}`);
      await first.close();

      const group = await t.groupDescription(groupId);
      assert.deepEqual(
        group.rows.map((r) => r.currentOffset),
        [30n],
        `only b0..b2 (0..29) form the acknowledged prefix:\n${group.output}`,
      );

      // A restart resumes at 30: the unacknowledged b3 is delivered again,
      // and so is everything after it.
      second = new Consumer(options);
      const reader2 = new BatchReader(second.readable);
      const again = await readBatches(reader2, 7);
      assert.deepEqual(firstOffsets(again), [30, 40, 50, 60, 70, 80, 90]);
      assert.deepEqual(
        again[0].records.map((r) => r.value && new TextDecoder().decode(r.value)),
        values("v", 40).slice(30),
      );
    } finally {
      await closeAll(first, second);
    }
  },
);

suiteTest(
  'Consumer with commit: "manual" commits the contiguous prefix on commit() only, never on its own',
  async (t) => {
    const topic = await t.newTopic("commit-manual", 1);
    const groupId = uniqueName("commit-manual");
    await t.produceValues(topic, 0, values("m", 50), { perBatch: 10 });
    const options = t.options({
      groupId,
      topics: [topic],
      commit: "manual",
      maxPartitionFetchBytes: 1,
      closeTimeoutMs: 1000,
      // Were auto commits running, several would happen during the test.
      autoCommitIntervalMs: 100,
    });

    const consumers: Consumer[] = [];
    try {
      // 1. Everything but b0 acknowledged and committed: the prefix is empty,
      //    nothing may be committed, and a restart starts at 0.
      const c1 = new Consumer(options);
      consumers.push(c1);
      const b = await readBatches(new BatchReader(c1.readable), 5);
      for (const i of [4, 2, 3, 1]) assert.equal(b[i].ack(), true);
      await c1.commit();
      await c1.close();

      // 2. From 0 again; b0 and b2 acknowledged, commit(): the prefix is b0
      //    (10). Then b1 acknowledged but no commit() before close: stays 10.
      const c2 = new Consumer(options);
      consumers.push(c2);
      const b2 = await readBatches(new BatchReader(c2.readable), 5);
      assert.deepEqual(firstOffsets(b2), [0, 10, 20, 30, 40], "nothing was committed in step 1");
      assert.equal(b2[0].ack(), true);
      assert.equal(b2[2].ack(), true);
      await c2.commit();
      assert.equal(b2[1].ack(), true);
      await c2.close();

      const group = await t.groupDescription(groupId);
      assert.deepEqual(group.rows.map((r) => r.currentOffset), [10n], group.output);

      // 3. A restart resumes at 10.
      const c3 = new Consumer(options);
      consumers.push(c3);
      const b3 = await readBatches(new BatchReader(c3.readable), 1);
      assert.equal(b3[0].records[0].offset, 10n);
    } finally {
      await closeAll(...consumers);
    }
  },
);

suiteTest("Consumer fences acks of a batch delivered before a seek of its partition", async (t) => {
  const topic = await t.newTopic("commit-seek-fence", 1);
  const groupId = uniqueName("commit-seek-fence");
  await t.produceValues(topic, 0, values("s", 30), { perBatch: 10 });
  const consumer = new Consumer(t.options({
    groupId,
    assign: [{ topic, partition: 0, offset: "earliest" }],
    commit: "manual",
    maxPartitionFetchBytes: 1,
  }));
  try {
    const reader = new BatchReader(consumer.readable);
    const [b0, b1] = await readBatches(reader, 2);
    assert.equal(b0.ack(), true, "acks before the seek count");
    await consumer.seek({ topic, partition: 0 }, 0n);
    assert.equal(b1.ack(), false, "a batch delivered before the seek is fenced");
    // Delivered again from the new position.
    const [again] = await readBatches(reader, 1);
    assert.equal(again.records[0].offset, 0n);
    assert.equal(again.ack(), true);
    await consumer.commit();
    const lag = await consumer.lag();
    assert.equal(
      lag[0].committed,
      10n,
      JSON.stringify(lag, (_, v) => typeof v === "bigint" ? `${v}` : v),
    );
  } finally {
    await consumer.close();
  }
});
