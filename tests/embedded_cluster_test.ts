// The embedded cluster (`@sluice/kafka/testing`) end to end: our Consumer and
// minimal producer against a 3-broker embedded cluster, and Kafka's own Java
// tools against it (a client we did not write accepts our broker).

import assert from "node:assert/strict";
import { Admin, Consumer, type RecordBatch } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";
import { Cluster } from "../src/net/cluster.ts";
import { fetchPartition, produce } from "../src/net/admin.ts";
import { Connection } from "../src/net/connection.ts";
import { FetchApi } from "../src/protocol/messages/fetch.ts";
import { ListOffsetsApi } from "../src/protocol/messages/list_offsets.ts";
import { MetadataApi } from "../src/protocol/messages/metadata.ts";
import { ProduceApi } from "../src/protocol/messages/produce.ts";
import { encodeRecordBatch, type RecordToEncode } from "../src/protocol/wire_batch.ts";
import { BatchReader } from "./_consumer_helpers.ts";
import { kafkaTool } from "./_kafka.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (b: Uint8Array | null) => (b === null ? null : dec.decode(b));

function consumerOptions(bootstrap: string) {
  return {
    brokers: bootstrap.split(","),
    clientId: "sluice-embedded-test",
    fetchMaxWaitMs: 100,
    closeTimeoutMs: 2000,
    retryBackoffMs: 50,
    retryBackoffMaxMs: 500,
  };
}

/** Reads until `want` records came from every listed partition (bounded). */
async function readAll(
  consumer: Consumer,
  want: number,
  timeoutMs = 20_000,
): Promise<Map<number, RecordBatch["records"][number][]>> {
  const reader = new BatchReader(consumer.readable);
  const seen = new Map<number, RecordBatch["records"][number][]>();
  let count = 0;
  const deadline = Date.now() + timeoutMs;
  while (count < want) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`read ${count} of ${want} records in ${timeoutMs} ms`);
    const batch = await reader.next(Math.min(left, 1000));
    if (batch === null) throw new Error("stream ended");
    if (batch === undefined) continue;
    const list = seen.get(batch.partition) ?? [];
    list.push(...batch.records);
    seen.set(batch.partition, list);
    count += batch.records.length;
    batch.ack();
  }
  return seen;
}

Deno.test("EmbeddedCluster: Consumer in assign mode reads every record, in order, with headers and compression", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  assert.equal(cluster.bootstrap.split(",").length, 3);
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    {
      await using admin = new Admin({ brokers: cluster.bootstrap });
      await admin.createTopics([{ name: "orders", partitions: 3, replicationFactor: 3 }]);
    }
    const info = cluster.topic("orders")!;
    assert.deepEqual(info.partitions.map((p) => p.leader).sort(), [0, 1, 2]);
    await client.refreshMetadata(["orders"]);
    assert.equal(client.topics.get("orders")!.topicId, info.topicId);
    assert.equal(client.clusterId, cluster.clusterId);

    // Five batches per partition, one per codec, with keys and headers.
    const codecs = [0, 1, 2, 3, 4]; // none, gzip, snappy, lz4, zstd
    const expected = new Map<number, { key: string; value: string; h: string }[]>();
    for (let p = 0; p < 3; p++) {
      const list: { key: string; value: string; h: string }[] = [];
      for (const compression of codecs) {
        const records: RecordToEncode[] = [];
        for (let i = 0; i < 20; i++) {
          const n = list.length;
          const r = {
            key: `k${p}-${n}`,
            value: `p${p}-value-${n}-${"x".repeat(n % 7)}`,
            h: `${n}`,
          };
          list.push(r);
          records.push({
            key: enc.encode(r.key),
            value: enc.encode(r.value),
            headers: [{ key: "n", value: enc.encode(r.h) }, { key: "null", value: null }],
            timestamp: 1_700_000_000_000 + n,
          });
        }
        const base = await produce(client, "orders", p, records, { compression });
        assert.equal(base, BigInt(list.length - 20));
      }
      expected.set(p, list);
    }
    assert.deepEqual(cluster.topic("orders")!.partitions.map((p) => p.highWatermark), [
      100n,
      100n,
      100n,
    ]);

    await using consumer = new Consumer({
      ...consumerOptions(cluster.bootstrap),
      assign: [0, 1, 2].map((partition) => ({
        topic: "orders",
        partition,
        offset: "earliest" as const,
      })),
    });
    const seen = await readAll(consumer, 300);
    for (let p = 0; p < 3; p++) {
      const got = seen.get(p)!;
      assert.deepEqual(got.map((r) => r.offset), Array.from({ length: 100 }, (_, i) => BigInt(i)));
      assert.deepEqual(
        got.map((r) => ({ key: text(r.key), value: text(r.value), h: text(r.headers[0].value) })),
        expected.get(p),
      );
      assert.deepEqual(got[5].headers.map((h) => h.key), ["n", "null"]);
      assert.equal(got[5].headers[1].value, null);
      assert.equal(got[5].timestamp, 1_700_000_000_005);
    }
  } finally {
    await client.close();
  }
});

Deno.test("EmbeddedCluster: a held Fetch is answered when records arrive; offsets by timestamp, latest, seek", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 2 });
  await cluster.createTopic("live", { partitions: 2 });
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    await produce(client, "live", 1, [{ value: enc.encode("old"), timestamp: 1000 }]);
    await using consumer = new Consumer({
      ...consumerOptions(cluster.bootstrap),
      fetchMaxWaitMs: 1000,
      assign: [
        { topic: "live", partition: 0, offset: "latest" },
        { topic: "live", partition: 1, offset: { timestamp: 500 } },
      ],
    });
    const reader = new BatchReader(consumer.readable);
    const first = await reader.nextBatch(10_000, "the old record");
    assert.equal(first.partition, 1);
    assert.deepEqual(first.records.map((r) => text(r.value)), ["old"]);
    first.ack();
    // Wait until partition 0's position is resolved (latest = 0) before writing.
    const until = Date.now() + 10_000;
    while ((await consumer.lag()).find((l) => l.partition === 0)?.position !== 0n) {
      if (Date.now() > until) throw new Error("partition 0's position was not resolved");
      await new Promise((r) => setTimeout(r, 20));
    }
    await produce(client, "live", 0, [{ value: enc.encode("new") }]);
    const second = await reader.nextBatch(4000, "the new record");
    assert.equal(second.partition, 0);
    assert.deepEqual(second.records.map((r) => text(r.value)), ["new"]);
    second.ack();
  } finally {
    await client.close();
  }
});

Deno.test("EmbeddedCluster: protocol answers (metadata ids, errors, ListOffsets, CRC check, fetch limits)", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3, autoCreateTopics: false });
  const topic = await cluster.createTopic("t", { partitions: 3 });
  // A Produce of `records` to partition 0 of "t", sent on `conn`.
  const produceTo = (conn: Connection, records: Uint8Array) =>
    conn.send(ProduceApi, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: "t", topicId: topic.topicId, partitionData: [{ index: 0, records }] }],
    });
  await assert.rejects(() => cluster.createTopic("t"), /already exists/);
  await assert.rejects(() => cluster.createTopic("bad name"), /illegal/);
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    // Metadata: brokers, controller, topic ids, replicas and ISR; unknown topics.
    const conn = await client.connection("bootstrap", "test");
    const md = await conn.send(MetadataApi, {
      topics: [{ name: "t", topicId: undefined }, { name: "nope", topicId: undefined }],
      allowAutoTopicCreation: true,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal(md.brokers.length, 3);
    assert.equal(md.controllerId, 0);
    assert.equal(md.clusterId, cluster.clusterId);
    assert.equal(md.topics[0].topicId, topic.topicId);
    assert.equal(md.topics[0].partitions.length, 3);
    assert.deepEqual(md.topics[0].partitions[0].isrNodes.length, 3);
    assert.equal(md.topics[1].errorCode, 3); // UNKNOWN_TOPIC_OR_PARTITION (no auto-create)

    // Records with timestamps 100, 200, ..., one batch of 5 then singles.
    const ts = (i: number) => (i + 1) * 100;
    await produce(
      client,
      "t",
      0,
      [0, 1, 2, 3, 4].map((i) => ({ value: enc.encode(`v${i}`), timestamp: ts(i) })),
    );
    for (let i = 5; i < 10; i++) {
      await produce(client, "t", 0, [{ value: enc.encode(`v${i}`), timestamp: ts(i) }]);
    }
    const leader = topic.partitions[0].leader;
    const lconn = await client.connection(leader, "test");
    const lo = await lconn.send(ListOffsetsApi, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{
        name: "t",
        partitions: [-2n, -1n, 250n, 700n, 5000n, -3n].map((timestamp) => ({
          partitionIndex: 0,
          currentLeaderEpoch: -1,
          timestamp,
        })),
      }],
    });
    assert.deepEqual(lo.topics[0].partitions.map((p) => p.offset), [0n, 10n, 2n, 6n, -1n, 9n]);

    // The wrong broker answers NOT_LEADER_OR_FOLLOWER.
    const other = (leader + 1) % 3;
    const oconn = await client.connection(other, "test");
    const wrong = await oconn.send(ListOffsetsApi, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    });
    assert.equal(wrong.topics[0].partitions[0].errorCode, 6);
    // Produce and Fetch sent there also say who leads (KIP-951): the
    // partition's currentLeader, and that broker among the node endpoints.
    const hint = { leaderId: leader, leaderEpoch: cluster.topic("t")!.partitions[0].leaderEpoch };
    const leaderPort = Number(cluster.bootstrap.split(",")[leader].split(":")[1]);
    const misproduced = await produceTo(
      oconn,
      encodeRecordBatch({ records: [{ value: null }] }),
    );
    assert.equal(misproduced.responses[0].partitionResponses[0].errorCode, 6);
    assert.deepEqual(misproduced.responses[0].partitionResponses[0].currentLeader, hint);
    assert.deepEqual(misproduced.nodeEndpoints.map((n) => [n.nodeId, n.port]), [
      [leader, leaderPort],
    ]);
    const misfetched = await oconn.send(FetchApi, {
      maxWaitMs: 0,
      minBytes: 1,
      topics: [{
        topic: "t",
        topicId: topic.topicId,
        partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }],
      }],
    });
    assert.equal(misfetched.responses[0].partitions[0].errorCode, 6);
    assert.deepEqual(misfetched.responses[0].partitions[0].currentLeader, hint);
    assert.deepEqual(misfetched.nodeEndpoints.map((n) => [n.nodeId, n.port]), [
      [leader, leaderPort],
    ]);

    // Fetch limits: whole batches from the one containing the offset; at
    // least one batch even when larger than the limit; out of range.
    const read = await fetchPartition(client, "t", 0, 3n, { maxBytes: 1, maxWaitMs: 0 });
    assert.deepEqual(read.records.map((r) => text(r.value)), ["v3", "v4"]);
    assert.equal(read.highWatermark, 10n);
    const all = await fetchPartition(client, "t", 0, 0n, { maxWaitMs: 0 });
    assert.equal(all.records.length, 10);
    await assert.rejects(
      () => fetchPartition(client, "t", 0, 11n, { maxWaitMs: 0 }),
      /OFFSET_OUT_OF_RANGE/,
    );

    // A Fetch held by max wait is answered as soon as a record arrives.
    const t0 = Date.now();
    const held = fetchPartition(client, "t", 0, 10n, { maxWaitMs: 20_000 });
    await new Promise((r) => setTimeout(r, 100));
    await produce(client, "t", 0, [{ value: enc.encode("v10"), timestamp: ts(10) }]);
    const woken = await held;
    assert.deepEqual(woken.records.map((r) => text(r.value)), ["v10"]);
    assert.ok(Date.now() - t0 < 10_000, "the held Fetch was answered on Produce");
    // With nothing arriving, it is answered empty after max wait.
    const t1 = Date.now();
    const empty = await fetchPartition(client, "t", 0, 11n, { maxWaitMs: 300 });
    assert.equal(empty.records.length, 0);
    assert.ok(Date.now() - t1 >= 250, "max wait was honoured");

    // A corrupted batch is refused with CORRUPT_MESSAGE.
    const batch = encodeRecordBatch({ records: [{ value: enc.encode("x") }] });
    batch[batch.length - 1] ^= 0xff;
    const res = await produceTo(lconn, batch);
    assert.equal(res.responses[0].partitionResponses[0].errorCode, 2);
    assert.equal(cluster.topic("t")!.partitions[0].highWatermark, 11n);
  } finally {
    await client.close();
  }
});

Deno.test("EmbeddedCluster: a too-new ApiVersions gets UNSUPPORTED_VERSION in the v0 format", async () => {
  await using cluster = await EmbeddedCluster.start();
  const [host, port] = cluster.bootstrap.split(":");
  const conn = await Deno.connect({ hostname: host, port: Number(port) });
  try {
    // ApiVersions v99, correlation id 7, client id "x", then junk.
    const frame = new Uint8Array([0, 0, 0, 13, 0, 18, 0, 99, 0, 0, 0, 7, 0, 1, 120, 0, 0]);
    await conn.write(frame);
    const buf = new Uint8Array(256);
    let n = 0;
    while (n < 4 || n < 4 + new DataView(buf.buffer).getInt32(0)) {
      const r = await conn.read(buf.subarray(n));
      if (r === null) throw new Error("closed");
      n += r;
    }
    const v = new DataView(buf.buffer);
    assert.equal(v.getInt32(4), 7); // correlation id, header v0
    assert.equal(v.getInt16(8), 35); // UNSUPPORTED_VERSION
    assert.equal(v.getInt32(10), 1); // one api key: ApiVersions
    assert.deepEqual([v.getInt16(14), v.getInt16(16), v.getInt16(18)], [18, 0, 5]);
  } finally {
    conn.close();
  }
  // And our connection negotiates fine.
  const c = await Connection.connect({ host, port: Number(port), clientId: "t" });
  c.close();
});

Deno.test({
  name: "EmbeddedCluster: Kafka's console producer and console consumer (assign mode)",
  async fn() {
    if (!Deno.env.get("SLUICE_KAFKA_LIBS")) {
      // As elsewhere: fail rather than skip silently.
      throw new Error("SLUICE_KAFKA_LIBS is not set: run the tests with `deno task test`");
    }
    await using cluster = await EmbeddedCluster.start({ brokers: 3 });
    await cluster.createTopic("java", { partitions: 2 });
    const lines = Array.from({ length: 50 }, (_, i) => `line-${i}`);
    // Java's producer is idempotent by default: InitProducerId is served.
    await kafkaTool("console-producer", [
      "--bootstrap-server",
      cluster.bootstrap,
      "--topic",
      "java",
      "--producer-property",
      "partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner",
      "--producer-property",
      "compression.type=lz4",
    ], { stdin: lines.join("\n") + "\n" }).then((r) => {
      assert.ok(!r.stderr.includes("Error when sending"), r.stderr);
    });
    const info = cluster.topic("java")!;
    const total = info.partitions.reduce((s, p) => s + Number(p.highWatermark), 0);
    assert.equal(total, 50);

    // Our consumer reads what Java wrote.
    await using consumer = new Consumer({
      ...consumerOptions(cluster.bootstrap),
      assign: [0, 1].map((partition) => ({
        topic: "java",
        partition,
        offset: "earliest" as const,
      })),
    });
    const seen = await readAll(consumer, 50);
    const ours = [...seen.values()].flat().map((r) => text(r.value)).sort();
    assert.deepEqual(ours, lines.slice().sort());

    // Java's console consumer reads each partition back (assign mode, no group).
    for (const [partition, records] of seen) {
      const want = records.map((r) => text(r.value));
      const res = await kafkaTool("console-consumer", [
        "--bootstrap-server",
        cluster.bootstrap,
        "--topic",
        "java",
        "--partition",
        String(partition),
        "--offset",
        "earliest",
        "--max-messages",
        String(want.length),
        "--timeout-ms",
        "20000",
      ]);
      assert.deepEqual(res.stdout.trimEnd().split("\n"), want);
    }
  },
});

Deno.test({
  name:
    "EmbeddedCluster: Kafka's idempotent producer retries a Produce whose answer was lost: each record once",
  async fn() {
    if (!Deno.env.get("SLUICE_KAFKA_LIBS")) {
      throw new Error("SLUICE_KAFKA_LIBS is not set: run the tests with `deno task test`");
    }
    await using cluster = await EmbeddedCluster.start({ brokers: 1 });
    await cluster.createTopic("java-idempotent", { partitions: 1 });
    // The first Produce is appended, its answer never sent: Java times it
    // out, reconnects and sends the batch again with the same sequences.
    const lost = cluster.intercept({
      apiKey: "Produce",
      times: 1,
      action: { mutate: () => new Uint8Array(0) },
    });
    const lines = Array.from({ length: 20 }, (_, i) => `line-${i}`);
    const r = await kafkaTool("console-producer", [
      "--bootstrap-server",
      cluster.bootstrap,
      "--topic",
      "java-idempotent",
      "--producer-property",
      "request.timeout.ms=1000",
      "--producer-property",
      "delivery.timeout.ms=30000",
      "--producer-property",
      "retry.backoff.ms=50",
    ], { stdin: lines.join("\n") + "\n" });
    assert.ok(!r.stderr.includes("Error when sending"), r.stderr);
    assert.equal(lost.hits, 1, "one answer was swallowed");
    const partition = cluster.topic("java-idempotent")!.partitions[0];
    assert.equal(partition.highWatermark, 20n, "no record twice");
    const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
    try {
      const read = await fetchPartition(client, "java-idempotent", 0, 0n);
      assert.deepEqual(read.records.map((rec) => text(rec.value)), lines);
    } finally {
      await client.close();
    }
  },
});

Deno.test("EmbeddedCluster.produce() feeds a topic without a client; group() shows what a consumer committed", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 2 });
  await cluster.createTopic("orders", { partitions: 2 });
  const first = await cluster.produce("orders", 1, [
    { key: "o-1", value: "12", headers: [{ key: "source", value: "test" }], timestamp: 1000 },
    { key: null, value: null },
  ]);
  assert.deepEqual(first, { baseOffset: 0n, lastOffset: 1n });
  const second = await cluster.produce("orders", 1, [{ value: new Uint8Array([1, 2]) }], {
    compression: "zstd",
  });
  assert.deepEqual(second, { baseOffset: 2n, lastOffset: 2n });
  await assert.rejects(cluster.produce("orders", 5, [{ value: "x" }]), /orders-5/);
  assert.equal(cluster.group("billing").state, "Dead", "unknown group");

  const consumer = new Consumer({
    brokers: cluster.bootstrap.split(","),
    groupId: "billing",
    topics: ["orders"],
    autoOffsetReset: "earliest",
    fetchMaxWaitMs: 100,
  });
  const reader = new BatchReader(consumer.readable);
  const batch = await reader.nextBatch(10_000);
  assert.equal(batch.partition, 1);
  const [a, b] = batch.records;
  assert.equal(new TextDecoder().decode(a.key!), "o-1");
  assert.equal(new TextDecoder().decode(a.headers[0].value!), "test");
  assert.equal(a.timestamp, 1000);
  assert.equal(b.value, null);
  let records = batch.records.length;
  batch.ack();
  while (records < 3) {
    const next = await reader.nextBatch(10_000);
    records += next.records.length;
    next.ack();
  }
  assert.equal(cluster.group("billing").state, "Stable");
  assert.equal(cluster.group("billing").members.length, 1);
  await consumer.close();
  const group = cluster.group("billing");
  assert.equal(group.state, "Empty", "offsets committed, no members");
  // Partition 0 had nothing: its position (0) is committed too, as Java does.
  assert.deepEqual(group.committed, [
    { topic: "orders", partition: 0, offset: 0n },
    { topic: "orders", partition: 1, offset: 3n },
  ]);
});
