/**
 * The public Producer against real Kafka (read back with Kafka's own console
 * consumer, partitions compared with Java's producer) and the embedded
 * cluster (faults): codecs, keys, headers, tombstones, partitioning, bad
 * input, a lost answer after the append.
 */

import assert from "node:assert/strict";
import {
  Consumer,
  ProduceError,
  Producer,
  ProducerClosedError,
  type ProducerRecord,
  ProducerTimeoutError,
  type RecordMetadata,
  RecordTooLargeError,
} from "../mod.ts";
import { keyPartition } from "../src/producer/partitioner.ts";
import { ProduceApi } from "../src/protocol/messages/produce.ts";
import { consumeConsole } from "./_kafka.ts";
import { readAll } from "./_consumer_helpers.ts";
import { startRecordingProxy } from "./_proxy.ts";
import { suiteTest, type Target } from "./_targets.ts";

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

function producerFor(t: Target, extra: Partial<ConstructorParameters<typeof Producer>[0]> = {}) {
  return new Producer({ brokers: t.bootstrap, lingerMs: 0, ...extra });
}

/** Every record of `topic` (all partitions from the start), read with our consumer. */
async function readBack(t: Target, topic: string, partitions: number) {
  const consumer = new Consumer(t.options({
    assign: Array.from({ length: partitions }, (_, partition) => ({
      topic,
      partition,
      offset: "earliest" as const,
    })),
  }));
  try {
    return await readAll(consumer, partitions, 30_000);
  } finally {
    await consumer.close();
  }
}

suiteTest(
  "Kafka's console consumer reads keys, headers and tombstones the producer wrote in every codec",
  async (t) => {
    const topic = await t.newTopic("produce-codecs", 1);
    const expected: string[] = [];
    for (const compression of CODECS) {
      await using producer = producerFor(t, { compression });
      const records: ProducerRecord[] = [
        {
          topic,
          key: `k-${compression}`,
          value: `v-${compression}`,
          headers: { codec: compression },
        },
        {
          topic,
          key: `k-${compression}`,
          value: null,
          headers: [{ key: "a", value: "1" }, { key: "a", value: "2" }],
        },
      ];
      const metas = await producer.send(records);
      assert.equal(metas.length, 2);
      assert.equal(metas[1].offset, metas[0].offset + 1n, "one partition, in order");
      expected.push(`codec:${compression}\tk-${compression}\tv-${compression}`);
      expected.push(`a:1,a:2\tk-${compression}\tnull`);
    }
    const lines = await consumeConsole(topic, {
      bootstrap: t.bootstrap,
      maxMessages: expected.length,
      printKey: true,
      printHeaders: true,
    });
    assert.deepEqual(lines, expected);
  },
  { targets: ["kafka"] },
);

suiteTest("keyed records go to the partition Java's producer chooses", async (t) => {
  const partitions = 7;
  const javaTopic = await t.newTopic("produce-keys-java", partitions);
  const ourTopic = await t.newTopic("produce-keys-ours", partitions);
  const keys = Array.from(
    { length: 120 },
    (_, i) => `${i}-${crypto.randomUUID().slice(0, 4 + (i % 20))}`,
  );
  // Java's producer writes each key as its own value.
  await t.produceConsole(javaTopic, keys.map((k) => `${k}\t${k}`), { parseKey: true });
  const java = await readBack(t, javaTopic, partitions);
  const javaPartition = new Map<string, number>();
  for (const [tp, seen] of java.partitions) {
    const partition = Number(tp.slice(tp.lastIndexOf("-") + 1));
    for (const s of seen) javaPartition.set(s.value!, partition);
  }
  assert.equal(javaPartition.size, keys.length);
  await using producer = producerFor(t);
  const metas = await producer.send(keys.map((key) => ({ topic: ourTopic, key, value: key })));
  const enc = new TextEncoder();
  keys.forEach((key, i) => {
    assert.equal(metas[i].partition, javaPartition.get(key), `key ${key}`);
    assert.equal(keyPartition(enc.encode(key), partitions), javaPartition.get(key));
  });
  assert.ok(new Set(metas.map((m) => m.partition)).size > 1, "keys spread over partitions");
}, { targets: ["kafka"] });

suiteTest("records without a key stick to one partition for a batch, then move on", async (t) => {
  const topic = await t.newTopic("produce-sticky", 4);
  await using producer = producerFor(t, { batchSize: 1000 });
  const value = "x".repeat(80);
  const metas = await producer.send(Array.from({ length: 200 }, () => ({ topic, value })));
  // ~100 B a record: a partition takes about 10 in a row before the next is drawn.
  let runs = 1;
  for (let i = 1; i < metas.length; i++) if (metas[i].partition !== metas[i - 1].partition) runs++;
  assert.ok(runs >= 10 && runs <= 40, `${runs} runs of one partition`);
  const tally = await readBack(t, topic, 4);
  assert.equal(tally.count, 200);
});

suiteTest("send() and writable keep call order per partition", async (t) => {
  const topic = await t.newTopic("produce-order", 2);
  await using producer = producerFor(t, { lingerMs: 5, batchSize: 512 });
  const writer = producer.writable.getWriter();
  const sends: Promise<RecordMetadata[]>[] = [];
  for (let i = 0; i < 300; i++) {
    const record = { topic, key: `k${i % 10}`, value: String(i) };
    if (i % 3 === 0) await writer.write(record);
    else sends.push(producer.send([record]));
  }
  await writer.close();
  await Promise.all(sends);
  const tally = await readBack(t, topic, 2);
  assert.equal(tally.count, 300);
  for (const seen of tally.partitions.values()) {
    const values = seen.map((s) => Number(s.value));
    assert.deepEqual(values, [...values].sort((a, b) => a - b), "in call order");
  }
});

suiteTest("a record above maxRequestSize fails alone; the others are written", async (t) => {
  const topic = await t.newTopic("produce-too-large", 1);
  await using producer = producerFor(t, { maxRequestSize: 2048 });
  const err = await producer.send([
    { topic, value: "a" },
    { topic, value: "x".repeat(5000) },
    { topic, value: "b" },
  ]).catch((e) => e);
  assert.ok(err instanceof ProduceError, String(err));
  assert.match(err.message, /1 of 3 records failed \(the others were written\)/);
  const [a, big, b] = err.results;
  assert.ok(big instanceof RecordTooLargeError);
  assert.match(big.message, /maxRequestSize \(2048\)/);
  assert.ok(!(a instanceof Error) && !(b instanceof Error));
  assert.equal(b.offset, a.offset + 1n);
});

suiteTest("a record above the topic's max.message.bytes fails alone", async (t) => {
  const topic = await t.newTopic("produce-topic-limit", 1, {
    configs: { "max.message.bytes": "3000" },
  });
  await using producer = producerFor(t, { lingerMs: 20 });
  // One batch would hold all three: the broker refuses it, the producer
  // splits it, and only the large record fails.
  const err = await producer.send([
    { topic, value: "a" },
    { topic, value: "x".repeat(5000) },
    { topic, value: "b" },
  ]).catch((e) => e);
  assert.ok(err instanceof ProduceError, String(err));
  const [a, big, b] = err.results;
  assert.ok(big instanceof RecordTooLargeError, String(big));
  assert.match(big.message, /max\.message\.bytes/);
  assert.ok(!(a instanceof Error) && !(b instanceof Error), String(a) + String(b));
  const tally = await readBack(t, topic, 1);
  assert.deepEqual([...tally.partitions.values()][0].map((s) => s.value), ["a", "b"]);
}, { targets: ["kafka"] });

suiteTest("an unknown topic fails after maxBlockMs, naming it", async (t) => {
  await using producer = producerFor(t, { maxBlockMs: 1200 });
  const started = Date.now();
  const err = await producer.send([{ topic: "no-such-topic-here", value: "v" }]).catch((e) => e);
  assert.ok(Date.now() - started >= 1000, "waited for the topic");
  assert.ok(err instanceof ProduceError);
  const [r] = err.results;
  assert.ok(r instanceof ProducerTimeoutError);
  assert.match(
    r.message,
    /"no-such-topic-here" is not in the metadata after maxBlockMs \(1200 ms\)/,
  );
});

suiteTest("writes after close() fail with ProducerClosedError", async (t) => {
  const topic = await t.newTopic("produce-closed", 1);
  const producer = producerFor(t);
  const writer = producer.writable.getWriter();
  await writer.write({ topic, value: "before" });
  await producer.close();
  await assert.rejects(producer.send([{ topic, value: "after" }]), ProducerClosedError);
  await assert.rejects(writer.write({ topic, value: "after" }), ProducerClosedError);
  const tally = await readBack(t, topic, 1);
  assert.deepEqual([...tally.partitions.values()][0].map((s) => s.value), ["before"]);
});

suiteTest("a bad record fails alone with a clear error", async (t) => {
  const topic = await t.newTopic("produce-bad-record", 2);
  await using producer = producerFor(t);
  const err = await producer.send([
    { topic, value: "ok" },
    { topic, value: 42 as unknown as string },
    { topic, value: "wrong partition", partition: 9 },
  ]).catch((e) => e);
  assert.ok(err instanceof ProduceError);
  assert.match(String(err.results[1]), /record\.value must be a string, a Uint8Array or null/);
  assert.match(String(err.results[2]), /UNKNOWN_TOPIC_OR_PARTITION.*has 2 partitions/);
  assert.ok(!(err.results[0] instanceof Error));
});

suiteTest("acks 0 writes without waiting for an answer (offsets -1)", async (t) => {
  const topic = await t.newTopic("produce-acks0", 1);
  await using producer = producerFor(t, { acks: 0 });
  const metas = await producer.send([{ topic, value: "a" }, { topic, value: "b" }]);
  assert.deepEqual(metas.map((m) => m.offset), [-1n, -1n]);
  const tally = await readBack(t, topic, 1);
  assert.equal(tally.count, 2);
});

suiteTest(
  "an answer lost after the broker appended creates no duplicate (idempotence)",
  async (t) => {
    const topic = await t.newTopic("produce-lost-answer", 1);
    const [host, port] = t.bootstrap.split(",")[0].split(":");
    let cut = 0;
    const proxy = startRecordingProxy({
      upstream: { hostname: host, port: Number(port) },
      cutResponse: (r) => r.apiKey === ProduceApi.apiKey && cut++ === 0,
    });
    try {
      await using producer = new Producer({
        brokers: `127.0.0.1:${proxy.port}`,
        lingerMs: 0,
        retryBackoffMs: 50,
      });
      const metas = await producer.send([{ topic, value: "once" }, { topic, value: "twice?" }]);
      assert.equal(cut, 2, "the first answer was cut, the retry answered");
      assert.deepEqual(metas.map((m) => m.offset), [0n, 1n], "the original offsets");
    } finally {
      await proxy.close();
    }
    const tally = await readBack(t, topic, 1);
    assert.deepEqual([...tally.partitions.values()][0].map((s) => s.value), ["once", "twice?"]);
  },
  { targets: ["kafka"] },
);

suiteTest("the producer's memory bound holds while a broker stalls", async (t) => {
  const topic = await t.newTopic("produce-memory", 1);
  const embedded = t.embedded!;
  await using producer = producerFor(t, {
    bufferMemory: 4096,
    batchSize: 1024,
    maxBlockMs: 10_000,
  });
  await producer.send([{ topic, value: "metadata known" }]);
  embedded.setLatency(1500);
  const writer = producer.writable.getWriter();
  const value = "v".repeat(100);
  let buffered = 0;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) {
    const write = writer.write({ topic, value }).then(() => void buffered++);
    write.catch(() => {}); // awaited below; a failed assertion must not leave it unhandled
    writes.push(write);
  }
  await new Promise((r) => setTimeout(r, 700));
  // Each record holds more than its 100-byte value: at most 4096 / 100 of
  // them are buffered while the broker holds the answers.
  assert.ok(buffered > 0 && buffered <= 4096 / 100, `${buffered} writes buffered`);
  embedded.setLatency(0);
  await Promise.all(writes);
  await writer.close();
  const tally = await readBack(t, topic, 1);
  assert.equal(tally.count, 101);
}, { targets: ["embedded"] });

suiteTest(
  "producer.sink() acknowledges a consumed batch once its outputs are written",
  async (t) => {
    const input = await t.newTopic("sink-in", 2);
    const output = await t.newTopic("sink-out", 1);
    await t.produceValues(input, 0, ["a", "b", "c"]);
    await t.produceValues(input, 1, ["d", "e"]);
    const groupId = `sink-${crypto.randomUUID()}`;
    const consumer = new Consumer(t.options({ groupId, topics: [input] }));
    await using producer = producerFor(t);
    let mapped = 0;
    const piping = consumer.readable.pipeTo(producer.sink((batch) => {
      mapped += batch.records.length;
      return batch.records.map((r) => ({
        topic: output,
        value: new TextDecoder().decode(r.value!).toUpperCase(),
      }));
    }));
    // The outputs come as the input batches are read: look until all five are there.
    let tally = await readBack(t, output, 1);
    for (let i = 0; i < 40 && tally.count < 5; i++) {
      await new Promise((r) => setTimeout(r, 250));
      tally = await readBack(t, output, 1);
    }
    assert.deepEqual([...tally.partitions.values()][0].map((s) => s.value).sort(), [
      "A",
      "B",
      "C",
      "D",
      "E",
    ]);
    assert.equal(mapped, 5);
    // close() commits what was acknowledged: every input batch, once its
    // outputs were written.
    await consumer.close();
    await piping.catch(() => {});
    const group = await t.groupDescription(groupId);
    assert.deepEqual(
      group.rows.map((r) => [r.partition, r.currentOffset]),
      [[0, 3n], [1, 2n]],
      group.output,
    );
  },
);

suiteTest("a Produce answer swallowed after the append creates no duplicate", async (t) => {
  const topic = await t.newTopic("produce-swallowed", 1);
  const lost = t.embedded!.intercept({
    apiKey: "Produce",
    times: 1,
    action: { mutate: () => new Uint8Array(0) },
  });
  await using producer = producerFor(t, {
    requestTimeoutMs: 1000,
    deliveryTimeoutMs: 10_000,
    retryBackoffMs: 50,
  });
  const metas = await producer.send([{ topic, value: "once" }, { topic, value: "also once" }]);
  assert.equal(lost.hits, 1, "the first answer was swallowed");
  assert.deepEqual(metas.map((m) => m.offset), [0n, 1n], "the original offsets");
  const tally = await readBack(t, topic, 1);
  assert.deepEqual([...tally.partitions.values()][0].map((s) => s.value), ["once", "also once"]);
}, { targets: ["embedded"] });

suiteTest(
  "our producer and Java's write one topic together; each key keeps both orders",
  async (t) => {
    const topic = await t.newTopic("produce-with-java", 3);
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const n = 400;
    await using producer = producerFor(t, { lingerMs: 2 });
    const ours = (async () => {
      for (let i = 0; i < n; i += 20) {
        await producer.send(
          Array.from({ length: 20 }, (_, j) => ({
            topic,
            key: keys[(i + j) % 10],
            value: `ours-${i + j}`,
          })),
        );
      }
    })();
    const java = t.produceConsole(
      topic,
      Array.from({ length: n }, (_, i) => `${keys[i % 10]}\tjava-${i}`),
      { parseKey: true },
    );
    await Promise.all([ours, java]);
    const tally = await readBack(t, topic, 3);
    assert.equal(tally.count, 2 * n);
    for (const seen of tally.partitions.values()) {
      for (const who of ["ours", "java"]) {
        const mine = seen.map((s) => s.value!).filter((v) => v.startsWith(who))
          .map((v) => Number(v.slice(who.length + 1)));
        assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `${who}'s records in order`);
      }
    }
  },
);

suiteTest("aborting the signal closes the producer after delivering what it holds", async (t) => {
  const topic = await t.newTopic("produce-signal", 1);
  const abort = new AbortController();
  const producer = producerFor(t, { signal: abort.signal, lingerMs: 50 });
  const sent = producer.send([{ topic, value: "held" }]);
  abort.abort();
  const [m] = await sent;
  assert.equal(m.offset, 0n);
  await assert.rejects(producer.send([{ topic, value: "late" }]), ProducerClosedError);
  await producer.close(); // idempotent
});
