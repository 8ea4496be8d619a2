// One consumer in subscribe mode reads what Kafka's own producer wrote to 6
// partitions: every record once, in order per partition; after close(),
// Kafka's own consumer-groups tool shows the group's lag at 0.

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { BatchReader, readUntil, Tally, text, tpKey, withTimeout } from "./_consumer_helpers.ts";
import { uniqueName } from "./_kafka.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  "Consumer reads every record Kafka's producer wrote to 6 partitions, once and in order, and commits lag 0",
  async (t) => {
    const topic = await t.newTopic("sub-six", 6);
    const groupId = uniqueName("sub-six-group");
    const n = 20_000;
    // Small batches so that the sticky partitioner spreads records over all
    // six partitions.
    await t.producePerf(topic, { numRecords: n, recordSize: 100, props: { "batch.size": 4096 } });

    const tally = new Tally();
    const consumer = new Consumer(t.options({ groupId, topics: [topic] }));
    const highWatermarks = new Map<string, bigint>();
    try {
      await withTimeout(
        (async () => {
          for await (const batch of consumer) {
            assert.equal(batch.topic, topic);
            assert.ok(batch.records.length > 0, "a batch is never empty");
            assert.ok(
              batch.nextOffset > batch.records[batch.records.length - 1].offset,
              "nextOffset is past the batch's last record",
            );
            tally.add(batch);
            highWatermarks.set(tpKey(batch), batch.highWatermark);
            assert.equal(batch.ack(), true);
            if (tally.count >= n) break;
          }
        })(),
        60_000,
        `reading ${n} records`,
      );
    } finally {
      await consumer.close();
    }

    assert.equal(tally.count, n, tally.summary());
    assert.deepEqual(tally.duplicates(), [], "no record delivered twice");
    assert.deepEqual(tally.orderViolations(), [], "offsets increase within each partition");
    // Offsets of a plain topic are contiguous from 0: all present.
    let total = 0n;
    for (const [key, list] of tally.partitions) {
      const end = highWatermarks.get(key)!;
      assert.equal(
        BigInt(list.length),
        end,
        `${key}: ${list.length} records, high watermark ${end}`,
      );
      list.forEach((s, i) => assert.equal(s.offset, BigInt(i), `${key} record ${i}`));
      total += end;
    }
    assert.equal(total, BigInt(n));

    // Kafka's own view of the group, after close(): committed = log end.
    const group = await t.groupDescription(groupId);
    assert.ok(group.exists, group.output);
    assert.equal(group.rows.length, 6, group.output);
    for (const row of group.rows) {
      assert.equal(row.lag, 0n, `${row.topic}-${row.partition}: ${group.output}`);
      assert.equal(row.currentOffset, row.logEndOffset);
    }
    assert.ok(group.noActiveMembers, `the group was left on close():\n${group.output}`);
  },
);

suiteTest(
  "Consumer delivers keys, values, headers and timestamps written by Kafka's console producer (lz4)",
  async (t) => {
    const topic = await t.newTopic("sub-records", 1);
    const groupId = uniqueName("sub-records");
    const lines: string[] = [];
    for (let i = 0; i < 50; i++) {
      // Headers in order, a duplicate key kept; every third record has none.
      const headers = i % 3 === 0 ? "" : `trace:t${i},dup:a,dup:b`;
      lines.push(`${headers}\tkey-${i}\tvalue-${i}`);
    }
    const before = Date.now();
    await t.produceConsole(topic, lines, {
      parseKey: true,
      parseHeaders: true,
      compression: "lz4",
    });
    const consumer = new Consumer(t.options({ groupId, topics: [topic] }));
    const tally = new Tally();
    try {
      const batches = await readUntil(
        new BatchReader(consumer.readable),
        tally,
        () => tally.count >= 50,
        30_000,
      );
      const records = batches.flatMap((b) => [...b.records]);
      assert.equal(records.length, 50);
      records.forEach((r, i) => {
        assert.equal(r.offset, BigInt(i));
        assert.equal(text(r.key), `key-${i}`);
        assert.equal(text(r.value), `value-${i}`);
        assert.ok(
          r.timestamp >= before - 60_000 && r.timestamp <= Date.now() + 60_000,
          `timestamp ${r.timestamp}`,
        );
        const headers = r.headers.map((h) => [h.key, text(h.value)]);
        assert.deepEqual(
          headers,
          i % 3 === 0 ? [] : [["trace", `t${i}`], ["dup", "a"], ["dup", "b"]],
        );
      });
    } finally {
      await consumer.close();
    }
  },
);
