// One consumer in subscribe mode reads what Kafka's own producer wrote to 6
// partitions: every record once, in order per partition; after close(),
// Kafka's own consumer-groups tool shows the group's lag at 0.

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { producePerf } from "./_kafka.ts";
import {
  fastOptions,
  groupDescription,
  newTopic,
  Tally,
  tpKey,
  withTimeout,
} from "./_consumer_helpers.ts";
import { uniqueName } from "./_kafka.ts";

Deno.test("Consumer reads every record Kafka's producer wrote to 6 partitions, once and in order, and commits lag 0", async () => {
  const topic = await newTopic("sub-six", 6);
  const groupId = uniqueName("sub-six-group");
  const n = 20_000;
  // Small batches so that the sticky partitioner spreads records over all
  // six partitions.
  await producePerf(topic, { numRecords: n, recordSize: 100, props: { "batch.size": 4096 } });

  const tally = new Tally();
  const consumer = new Consumer(fastOptions({ groupId, topics: [topic] }));
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
    assert.equal(BigInt(list.length), end, `${key}: ${list.length} records, high watermark ${end}`);
    list.forEach((s, i) => assert.equal(s.offset, BigInt(i), `${key} record ${i}`));
    total += end;
  }
  assert.equal(total, BigInt(n));

  // Kafka's own view of the group, after close(): committed = log end.
  const group = await groupDescription(groupId);
  assert.ok(group.exists, group.output);
  assert.equal(group.rows.length, 6, group.output);
  for (const row of group.rows) {
    assert.equal(row.lag, 0n, `${row.topic}-${row.partition}: ${group.output}`);
    assert.equal(row.currentOffset, row.logEndOffset);
  }
  assert.ok(group.noActiveMembers, `the group was left on close():\n${group.output}`);
});
