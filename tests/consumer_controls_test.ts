// seek(), pause()/resume() and lag(): the per-partition controls.
//
// Records are written as record batches of 10 and `maxPartitionFetchBytes: 1`
// makes each Fetch return one of them, so the stream moves in steps of 10.

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { BatchReader, readUntil, Tally, values, waitFor } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";

const json = (v: unknown) => JSON.stringify(v, (_, x) => typeof x === "bigint" ? `${x}n` : x);

suiteTest(
  "seek() moves a partition to an offset (mid-batch too), earliest, latest or a timestamp",
  async (t) => {
    const topic = await t.newTopic("ctl-seek", 2);
    const base = Date.now() - 600_000;
    await Promise.all([
      t.produceValues(
        topic,
        0,
        values("a", 50).map((value, i) => ({ value, timestamp: base + i * 1000 })),
      ),
      t.produceValues(topic, 1, values("b", 50)),
    ]);
    const p0 = { topic, partition: 0 };
    const consumer = new Consumer(t.options({
      assign: [{ topic, partition: 0, offset: "earliest" }, {
        topic,
        partition: 1,
        offset: "earliest",
      }],
      maxPartitionFetchBytes: 1,
    }));
    const reader = new BatchReader(consumer.readable);
    /** The next batch of partition 0 (acknowledging the others). */
    const nextOfP0 = async (what: string) => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        assert.ok(Date.now() < deadline, `no batch of partition 0 for ${what}`);
        const batch = await reader.nextBatch(15_000, what);
        batch.ack();
        if (batch.partition === 0) return batch;
      }
    };
    try {
      const first = await nextOfP0("the first batch");
      assert.equal(first.records[0].offset, 0n);

      // Into the middle of a produced batch: records before 35 are not delivered.
      await consumer.seek(p0, 35n);
      let batch = await nextOfP0("after seek(35n)");
      assert.equal(batch.records[0].offset, 35n, `got ${batch.records.map((r) => r.offset)}`);
      assert.equal(new TextDecoder().decode(batch.records[0].value!), "a-35");

      await consumer.seek(p0, "earliest");
      batch = await nextOfP0("after seek(earliest)");
      assert.equal(batch.records[0].offset, 0n);

      // The first record at or after base + 20.5 s is offset 21.
      await consumer.seek(p0, { timestamp: base + 20_500 });
      batch = await nextOfP0("after seek({ timestamp })");
      assert.equal(batch.records[0].offset, 21n);

      await consumer.seek(p0, "latest");
      // Nothing of partition 0 until a new record arrives; then exactly it.
      const lagDeadline = Date.now() + 10_000;
      for (;;) {
        const l = (await consumer.lag()).find((x) => x.partition === 0);
        if (l?.position === 50n) break;
        assert.ok(Date.now() < lagDeadline, `position after seek(latest): ${json(l)}`);
        const b = await reader.next(100);
        if (b) {
          assert.notEqual(b.partition, 0, "no old record of partition 0 after seek(latest)");
          b.ack();
        }
      }
      await t.produceValues(topic, 0, ["a-new"]);
      batch = await nextOfP0("the record written after seek(latest)");
      assert.deepEqual(batch.records.map((r) => r.offset), [50n]);
    } finally {
      await consumer.close();
    }
  },
);

suiteTest(
  "pause() stops delivering a partition while others flow; resume() delivers it from where it was",
  async (t) => {
    const topic = await t.newTopic("ctl-pause", 2);
    await Promise.all([
      t.produceValues(topic, 0, values("a", 50)),
      t.produceValues(topic, 1, values("b", 50)),
    ]);
    const p1 = { topic, partition: 1 };
    const consumer = new Consumer(t.options({
      assign: [{ topic, partition: 0 }, { topic, partition: 1 }],
      maxPartitionFetchBytes: 1,
    }));
    const reader = new BatchReader(consumer.readable);
    const tally = new Tally();
    try {
      // Read one batch of partition 1, then pause it.
      await readUntil(reader, tally, () => tally.of(p1).length >= 10, 15_000);
      consumer.pause([p1]);
      const beforePause = tally.of(p1).length;
      // Partition 0 keeps flowing to its end, partition 1 stays silent.
      await readUntil(reader, tally, () => tally.of({ topic, partition: 0 }).length >= 50, 15_000);
      const quietUntil = Date.now() + 1500;
      while (Date.now() < quietUntil) {
        const b = await reader.next(quietUntil - Date.now());
        assert.equal(
          b,
          undefined,
          `nothing while partition 1 is paused, got ${
            b && `${b.partition}@${b.records[0].offset}`
          }`,
        );
      }
      assert.equal(tally.of(p1).length, beforePause);

      consumer.resume([p1]);
      await readUntil(reader, tally, () => tally.of(p1).length >= 50, 15_000);
      // No gap and no repeat across the pause: 0..49 once each, in order.
      assert.deepEqual(
        tally.of(p1).map((s) => Number(s.offset)),
        Array.from({ length: 50 }, (_, i) => i),
      );
      assert.deepEqual(tally.duplicates(), []);
    } finally {
      await consumer.close();
    }
  },
);

suiteTest(
  "lag() reports position, committed offset, high watermark and lag per partition",
  async (t) => {
    const topic = await t.newTopic("ctl-lag", 1);
    const groupId = uniqueName("ctl-lag");
    await t.produceValues(topic, 0, values("l", 30));
    const consumer = new Consumer(t.options({
      groupId,
      assign: [{ topic, partition: 0, offset: "earliest" }],
      commit: "manual",
    }));
    const reader = new BatchReader(consumer.readable);
    const tally = new Tally();
    try {
      await readUntil(reader, tally, () => tally.count >= 30, 15_000);
      await consumer.commit();
      let lag = await consumer.lag();
      assert.equal(lag.length, 1, json(lag));
      assert.deepEqual(
        { ...lag[0] },
        { topic, partition: 0, position: 30n, committed: 30n, highWatermark: 30n, lag: 0n },
      );

      // New records, not read yet: the high watermark moves (the consumer
      // fetches ahead into its buffer), the position does not.
      await t.produceValues(topic, 0, values("more", 5), { perBatch: 5 });
      lag = await waitFor("lag() to see the new high watermark", async () => {
        const l = await consumer.lag();
        return l[0].highWatermark === 35n ? l : undefined;
      }, 10_000);
      assert.equal(lag[0].position, 30n);
      assert.equal(lag[0].committed, 30n);
      assert.equal(lag[0].lag, 5n);

      await readUntil(reader, tally, () => tally.count >= 35, 15_000);
      lag = await consumer.lag();
      assert.equal(lag[0].position, 35n);
      assert.equal(lag[0].lag, 0n);
      assert.equal(lag[0].committed, 30n, "manual: nothing committed without commit()");
    } finally {
      await consumer.close();
    }
  },
);
