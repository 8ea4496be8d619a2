// Proves the test helpers in _kafka.ts work against the broker that
// scripts/test.sh started (KAFKA_BROKERS).
import assert from "node:assert/strict";
import {
  brokers,
  consumeConsole,
  consumerGroupOffsets,
  createTopic,
  deleteTopic,
  kafkaTool,
  KafkaToolError,
  produceConsole,
  producePerf,
  topicOffsets,
  uniqueName,
} from "./_kafka.ts";

Deno.test("brokers() names the broker the test run started", () => {
  assert.match(brokers(), /^[\w.-]+:\d+(,[\w.-]+:\d+)*$/);
});

Deno.test("produceConsole() writes keyed records with headers to a 3-partition topic", async () => {
  const topic = uniqueName("scripts-console");
  const group = uniqueName("scripts-group");
  await createTopic(topic, { partitions: 3 });
  try {
    // headers<TAB>key<TAB>value, the console producer's default layout
    const lines = Array.from({ length: 10 }, (_, i) => `trace:t${i},n:${i}\tkey-${i}\tvalue-${i}`);
    await produceConsole(topic, lines, { parseKey: true, parseHeaders: true, compression: "lz4" });

    const ends = await topicOffsets(topic);
    assert.deepEqual(ends.map((p) => p.partition), [0, 1, 2]);
    assert.equal(ends.reduce((sum, p) => sum + p.offset, 0n), 10n);

    // Read back with keys and headers; the group commits what it read.
    const read = await consumeConsole(topic, {
      maxMessages: 10,
      group,
      printKey: true,
      printHeaders: true,
    });
    assert.deepEqual([...read].sort(), [...lines].sort());

    const committed = await consumerGroupOffsets(group);
    assert.deepEqual(committed.map((row) => [row.topic, row.partition]), [
      [topic, 0],
      [topic, 1],
      [topic, 2],
    ]);
    for (const row of committed) {
      assert.equal(row.currentOffset, row.logEndOffset);
      assert.equal(row.lag, 0n);
    }
    assert.equal(committed.reduce((sum, row) => sum + row.logEndOffset, 0n), 10n);
  } finally {
    await deleteTopic(topic);
  }
});

Deno.test("producePerf() reports what it sent; consumerGroupOffsets() of an unknown group is empty", async () => {
  const topic = uniqueName("scripts-perf");
  await createTopic(topic, { partitions: 2 });
  try {
    const [report, unknown] = await Promise.all([
      producePerf(topic, { numRecords: 2000, recordSize: 100, compression: "zstd" }),
      consumerGroupOffsets(uniqueName("no-such-group")),
    ]);
    assert.equal(report.records, 2000);
    assert.ok(report.recordsPerSec > 0);
    assert.deepEqual(unknown, []);
    const ends = await topicOffsets(topic);
    assert.equal(ends.reduce((sum, p) => sum + p.offset, 0n), 2000n);
  } finally {
    await deleteTopic(topic);
  }
});

Deno.test("kafkaTool() throws KafkaToolError with the tool's output on failure", async () => {
  const topic = uniqueName("missing");
  await assert.rejects(
    kafkaTool("topics", ["--bootstrap-server", brokers(), "--describe", "--topic", topic]),
    (error: unknown) => {
      assert.ok(error instanceof KafkaToolError);
      assert.notEqual(error.code, 0);
      assert.match(error.message, new RegExp(`${topic}.*does not exist`));
      return true;
    },
  );
});
