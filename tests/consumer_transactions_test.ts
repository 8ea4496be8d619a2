// Transactions: Kafka's transactional message copier copies an input topic
// whose values are all distinct to an output topic, in transactions of 50
// records, aborting about a third of them at random (then copying those
// records again). So in the output log:
//   - every input value is in exactly one committed transaction, and that
//     copy is its last occurrence in the log (a value is only re-copied
//     after an abort, never after its commit);
//   - every earlier occurrence of a value belongs to an aborted transaction.
// A read_uncommitted read shows the whole log (aborted copies included); a
// read_committed consumer must deliver exactly the last occurrence of each
// value, nothing else, and commit past the final transaction markers so the
// group's lag reaches 0.

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { kafkaTool, uniqueName } from "./_kafka.ts";
import { produce, type ProduceOptions } from "../src/net/admin.ts";
import { Cluster } from "../src/net/cluster.ts";
import { suiteTest } from "./_targets.ts";
import {
  BatchReader,
  caughtUp,
  closeAll,
  readAll,
  readUntil,
  Tally,
  tpKey,
  values,
  waitFor,
} from "./_consumer_helpers.ts";

const PER_PARTITION = 1000;

// Kafka's transactional copier needs a transaction coordinator: real Kafka only.
suiteTest(
  "read_committed delivers no record of an aborted transaction (Kafka's transactional copier with random aborts) and lag reaches 0",
  async (t) => {
    const input = await t.newTopic("txn-in", 2);
    const output = await t.newTopic("txn-out", 2);
    await Promise.all(
      [0, 1].map((p) =>
        t.produceValues(input, p, values(`in${p}`, PER_PARTITION), { perBatch: 100 })
      ),
    );
    // One copier per input partition; each writes to the same partition of
    // the output topic.
    const prefix = uniqueName("copier");
    await Promise.all([0, 1].map((p) =>
      kafkaTool("transactional-message-copier", [
        "--broker-list",
        t.bootstrap,
        "--input-topic",
        input,
        "--input-partition",
        String(p),
        "--output-topic",
        output,
        "--transactional-id",
        `${prefix}-${p}`,
        "--consumer-group",
        `${prefix}-group-${p}`,
        "--max-messages",
        String(PER_PARTITION),
        "--transaction-size",
        "50",
        "--enable-random-aborts",
        "--use-group-metadata",
      ])
    ));

    // The whole log, aborted copies included.
    const uncommitted = new Consumer(t.options({
      assign: [{ topic: output, partition: 0 }, { topic: output, partition: 1 }],
      isolationLevel: "read_uncommitted",
    }));
    let all: Tally;
    try {
      all = await readAll(uncommitted, 2, 60_000);
    } finally {
      await uncommitted.close();
    }
    // value -> offset of its last occurrence (its committed copy).
    const lastCopy = new Map<string, string>();
    let aborted = 0;
    for (const [key, list] of all.partitions) {
      for (const s of list) {
        if (lastCopy.has(s.value!)) aborted++;
        lastCopy.set(s.value!, `${key}@${s.offset}`);
      }
    }
    const inputs = [0, 1].flatMap((p) => values(`in${p}`, PER_PARTITION));
    assert.deepEqual(
      [...lastCopy.keys()].sort(),
      [...inputs].sort(),
      "every input value was copied",
    );
    assert.ok(aborted > 0, "the copier aborted some transactions (else this test proves nothing)");

    // read_committed, in a group.
    const groupId = uniqueName("txn-group");
    const committed = new Consumer(t.options({
      groupId,
      topics: [output],
      isolationLevel: "read_committed",
    }));
    let got: Tally;
    try {
      got = await readAll(committed, 2, 60_000);
      await waitFor("lag() to be 0 everywhere", () => caughtUp(committed, 2), 5000);
    } finally {
      await committed.close();
    }
    assert.equal(got.count, inputs.length, `each value once, no aborted copy: ${got.summary()}`);
    for (const [key, list] of got.partitions) {
      for (const s of list) {
        assert.equal(
          `${key}@${s.offset}`,
          lastCopy.get(s.value!),
          `${s.value} delivered from its committed copy, not an aborted one`,
        );
      }
    }
    assert.deepEqual(got.duplicates(), []);
    assert.deepEqual(got.orderViolations(), []);

    // Committed past the final COMMIT markers: Kafka's tool shows lag 0.
    const group = await t.groupDescription(groupId);
    assert.equal(group.rows.length, 2, group.output);
    for (const row of group.rows) {
      assert.equal(row.lag, 0n, `${row.topic}-${row.partition}:\n${group.output}`);
    }
    // The log ends with a control record (the last transaction's marker).
    for (const row of group.rows) {
      const records = all.of(row).length;
      assert.ok(
        row.logEndOffset > BigInt(records),
        `${tpKey(row)}: log end ${row.logEndOffset} counts markers beyond ${records} records`,
      );
    }
  },
  { targets: ["kafka"] },
);

// The embedded cluster has no transaction coordinator (Java's transactional
// producer cannot run against it), but it keeps transactions per producer id
// as real Kafka does: the test writes transactional batches and the markers
// itself (only the embedded cluster accepts markers from a client).
suiteTest(
  "read_committed stops at the last stable offset and skips aborted transactions (markers written to the embedded cluster)",
  async (t) => {
    const cluster = t.embedded!;
    const topic = "txn-embedded";
    await cluster.createTopic(topic, { partitions: 1 });
    const admin = new Cluster({ brokers: t.bootstrap.split(",") });
    const enc = new TextEncoder();
    const write = (vals: string[], opts: ProduceOptions = {}) =>
      produce(admin, topic, 0, vals.map((v) => ({ value: enc.encode(v) })), opts);
    const consumers: Consumer[] = [];
    try {
      await write(values("plain", 3)); // 0..2
      await write(values("aborted", 3), { transactionalProducerId: 1n }); // 3..5
      await write(values("committed", 3), { transactionalProducerId: 2n }); // 6..8
      await write([], { transactionalProducerId: 1n, marker: "abort" }); // 9
      await write([], { transactionalProducerId: 2n, marker: "commit" }); // 10
      await write(values("open", 2), { transactionalProducerId: 3n }); // 11..12, stays open
      await write(["late"]); // 13: after the open transaction

      const info = cluster.topic(topic)!.partitions[0];
      assert.equal(info.highWatermark, 14n);

      const committed = new Consumer(t.options({
        assign: [{ topic, partition: 0, offset: "earliest" }],
        isolationLevel: "read_committed",
      }));
      consumers.push(committed);
      const reader = new BatchReader(committed.readable);
      const tally = new Tally();
      await readUntil(reader, tally, () => tally.count >= 6, 10_000);
      const seen = () => tally.of({ topic, partition: 0 }).map((s) => s.value);
      assert.deepEqual(seen(), [...values("plain", 3), ...values("committed", 3)]);
      // Nothing at or past the last stable offset (11) comes while the
      // transaction is open, though "late" (13) is below the high watermark.
      assert.equal(await reader.next(1000), undefined, "nothing past the last stable offset");

      await write([], { transactionalProducerId: 3n, marker: "commit" }); // 14
      await readUntil(reader, tally, () => tally.count >= 9, 10_000);
      assert.deepEqual(seen(), [
        ...values("plain", 3),
        ...values("committed", 3),
        ...values("open", 2),
        "late",
      ]);

      // read_uncommitted shows every data record, the aborted ones included.
      const uncommitted = new Consumer(t.options({
        assign: [{ topic, partition: 0, offset: "earliest" }],
      }));
      consumers.push(uncommitted);
      const all = new Tally();
      await readUntil(new BatchReader(uncommitted.readable), all, () => all.count >= 12, 10_000);
      assert.equal(
        all.of({ topic, partition: 0 }).filter((s) => s.value?.startsWith("aborted")).length,
        3,
      );
    } finally {
      await closeAll(...consumers);
      await admin.close();
    }
  },
  { targets: ["embedded"] },
);
