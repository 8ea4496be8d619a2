// Assign mode: explicit partitions, each with its own start (an offset,
// "earliest", "latest", a timestamp, or the group's committed offset); no
// group membership, even with a groupId (commits only).

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import {
  BatchReader,
  closeAll,
  owned,
  readUntil,
  Tally,
  values,
  waitFor,
} from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  "Consumer in assign mode starts each partition where told: offset, earliest, latest, timestamp",
  async (t) => {
    const topic = await t.newTopic("assign-start", 4);
    const base = Date.now() - 3_600_000;
    // Partition 3: record i has timestamp base + i s.
    await Promise.all([
      t.produceValues(topic, 0, values("p0", 10)),
      t.produceValues(topic, 1, values("p1", 10)),
      t.produceValues(topic, 2, values("p2", 10)),
      t.produceValues(
        topic,
        3,
        values("p3", 10).map((value, i) => ({ value, timestamp: base + i * 1000 })),
        { perBatch: 1 },
      ),
    ]);

    const consumer = new Consumer(t.options({
      assign: [
        { topic, partition: 0, offset: 4n },
        { topic, partition: 1, offset: "earliest" },
        { topic, partition: 2, offset: "latest" },
        // The first record at or after base + 5.5 s is offset 6.
        { topic, partition: 3, offset: { timestamp: base + 5500 } },
      ],
    }));
    const reader = new BatchReader(consumer.readable);
    const tally = new Tally();
    try {
      // Nothing starts until the stream is first read: start a read (it
      // stays pending, and is served by the next reader.next()).
      assert.equal(await reader.next(1), undefined);
      const all = [0, 1, 2, 3].map((p) => `${topic}-${p}`);
      await waitFor(
        "assignment() to list the assigned partitions",
        () => JSON.stringify(owned(consumer)) === JSON.stringify(all),
        5000,
        { describe: () => `${owned(consumer)}` },
      );
      // Partition 2 starts at the log end (10): wait until its position is
      // resolved before writing more to it.
      await waitFor("partition 2's position to be resolved", async () => {
        const lag = await consumer.lag();
        return lag.find((l) => l.partition === 2)?.position === 10n;
      }, 15_000);
      await t.produceValues(topic, 2, values("p2-late", 5), { perBatch: 5 });

      const want = 6 + 10 + 5 + 4;
      await readUntil(reader, tally, () => tally.count >= want, 20_000);
      // Nothing more comes.
      assert.equal(await reader.next(500), undefined, "no record beyond the expected ones");

      const offsets = (p: number) => tally.of({ topic, partition: p }).map((s) => Number(s.offset));
      const vals = (p: number) => tally.of({ topic, partition: p }).map((s) => s.value);
      assert.deepEqual(offsets(0), [4, 5, 6, 7, 8, 9]);
      assert.deepEqual(vals(0), values("p0", 10).slice(4));
      assert.deepEqual(offsets(1), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual(offsets(2), [10, 11, 12, 13, 14]);
      assert.deepEqual(vals(2), values("p2-late", 5));
      assert.deepEqual(offsets(3), [6, 7, 8, 9]);
      for (const s of tally.of({ topic, partition: 3 })) {
        assert.ok(s.value?.startsWith("p3-"));
      }
    } finally {
      await consumer.close();
    }
    assert.equal(await reader.next(5000), null, "the stream ends on close()");
  },
);

suiteTest(
  "Consumer in assign mode with a groupId commits to the group without joining it, and resumes from its commit",
  async (t) => {
    const topic = await t.newTopic("assign-group", 2);
    const groupId = uniqueName("assign-group");
    await Promise.all([
      t.produceValues(topic, 0, values("a", 30)),
      t.produceValues(topic, 1, values("b", 30)),
    ]);
    const assign = [{ topic, partition: 0 }, { topic, partition: 1 }];

    const first = new Consumer(t.options({
      groupId,
      assign,
      commit: "manual",
    }));
    const tally = new Tally();
    let second: Consumer | undefined;
    try {
      const reader = new BatchReader(first.readable);
      await readUntil(reader, tally, () => tally.count >= 60, 20_000);
      await first.commit();
      // Kafka sees the commits, and no member: assign mode never joins.
      const group = await t.groupDescription(groupId);
      assert.ok(group.exists, group.output);
      assert.ok(group.noActiveMembers, `no member expected:\n${group.output}`);
      assert.deepEqual(group.rows.map((r) => [r.partition, r.currentOffset]), [[0, 30n], [1, 30n]]);
      assert.ok(group.rows.every((r) => r.consumerId === null), group.output);
      const described = await first.describeGroup();
      assert.equal(described.members.length, 0, JSON.stringify(described));
      await first.close();

      // Without an explicit offset, a partition starts at the group's commit.
      await Promise.all([
        t.produceValues(topic, 0, values("a2", 3)),
        t.produceValues(topic, 1, values("b2", 3)),
      ]);
      second = new Consumer(t.options({ groupId, assign, commit: "manual" }));
      const tally2 = new Tally();
      await readUntil(new BatchReader(second.readable), tally2, () => tally2.count >= 6, 20_000);
      assert.deepEqual(tally2.of({ topic, partition: 0 }).map((s) => s.value), values("a2", 3));
      assert.deepEqual(tally2.of({ topic, partition: 1 }).map((s) => s.value), values("b2", 3));
    } finally {
      await closeAll(first, second);
    }
  },
);
