// Options observed where they take effect: on the wire. Each test sets
// non-default values and reads them back from the requests the embedded
// cluster received (its `observe` interception decodes every request).

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";
import { BatchReader, fastOptions, produceValues, values, waitFor } from "./_consumer_helpers.ts";

async function topicWithRecords(cluster: EmbeddedCluster): Promise<string> {
  const topic = `opt-${crypto.randomUUID().slice(0, 8)}`;
  await cluster.createTopic(topic, { partitions: 1 });
  await produceValues(topic, 0, values("v", 5), { bootstrap: cluster.bootstrap });
  return topic;
}

Deno.test("fetchMinBytes, fetchMaxBytes, maxPartitionFetchBytes, fetchMaxWaitMs, isolationLevel and clientId are what each Fetch carries", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = await topicWithRecords(cluster);
  const fetches = cluster.intercept({ apiKey: "Fetch", action: { observe: true } });
  const consumer = new Consumer(fastOptions({
    brokers: cluster.bootstrap,
    assign: [{ topic, partition: 0, offset: "earliest" }],
    clientId: "options-effect",
    fetchMinBytes: 7,
    fetchMaxBytes: 123_456,
    maxPartitionFetchBytes: 54_321,
    fetchMaxWaitMs: 77,
    isolationLevel: "read_committed",
  }));
  try {
    const batch = await new BatchReader(consumer.readable).nextBatch(10_000, "a batch");
    assert.equal(batch.records.length, 5);
    await waitFor("a Fetch", () => fetches.requests.length > 0, 5000);
  } finally {
    await consumer.close();
    fetches.remove();
  }
  const fetch = fetches.requests[0];
  assert.equal(fetch.clientId, "options-effect");
  assert.equal(fetch.body.minBytes, 7);
  assert.equal(fetch.body.maxBytes, 123_456);
  assert.equal(fetch.body.maxWaitMs, 77);
  assert.equal(fetch.body.isolationLevel, 1, "read_committed is isolation level 1");
  const topics = fetch.body.topics as { partitions: { partitionMaxBytes: number }[] }[];
  assert.equal(topics[0].partitions[0].partitionMaxBytes, 54_321);
});

Deno.test("sessionTimeoutMs, rebalanceTimeoutMs, groupInstanceId and assignors are what JoinGroup carries; heartbeatIntervalMs spaces the heartbeats", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = await topicWithRecords(cluster);
  const joins = cluster.intercept({ apiKey: "JoinGroup", action: { observe: true } });
  const beats = cluster.intercept({ apiKey: "Heartbeat", action: { observe: true } });
  const consumer = new Consumer(fastOptions({
    brokers: cluster.bootstrap,
    groupId: `g-${topic}`,
    topics: [topic],
    sessionTimeoutMs: 7000,
    rebalanceTimeoutMs: 12_345,
    heartbeatIntervalMs: 400,
    groupInstanceId: "instance-1",
    assignors: ["roundrobin", "range"],
  }));
  try {
    await new BatchReader(consumer.readable).nextBatch(10_000, "a batch");
    await waitFor("6 heartbeats", () => beats.requests.length >= 6, 10_000);
  } finally {
    await consumer.close();
    joins.remove();
    beats.remove();
  }
  const join = joins.requests.at(-1)!;
  assert.equal(join.body.sessionTimeoutMs, 7000);
  assert.equal(join.body.rebalanceTimeoutMs, 12_345);
  assert.equal(join.body.groupInstanceId, "instance-1");
  assert.deepEqual(
    (join.body.protocols as { name: string }[]).map((p) => p.name),
    ["roundrobin", "range"],
  );
  const at = beats.requests.map((r) => r.atMs);
  const gaps = at.slice(1).map((t, i) => t - at[i]).sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)];
  assert.ok(median >= 300 && median <= 1200, `median heartbeat gap ${median} ms for 400 ms`);
  assert.equal(beats.requests.at(-1)!.body.groupInstanceId, "instance-1");
});
