// A SyncGroup answer read only after the session timeout (the process was
// stalled — SIGSTOP, a VM pause — while it waited in the socket) may belong
// to a generation the coordinator ended meanwhile: its partitions may be
// someone else's. The member must not start them (no onAssigned, no
// delivery) and must rejoin. Found by a chaos run (seed 505): the stale
// assignment was started, then lost 2 ms later, and the checker saw two
// owners of the same partitions.

import assert from "node:assert/strict";
import { Consumer, type TopicPartition } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";
import { BatchReader, fastOptions, produceValues, values } from "./_consumer_helpers.ts";

Deno.test("A SyncGroup answer that arrives after sessionTimeoutMs starts nothing: no onAssigned, a rejoin, then the partitions", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = `stale-sync-${crypto.randomUUID().slice(0, 8)}`;
  await cluster.createTopic(topic, { partitions: 2 });
  await produceValues(topic, 0, values("v", 5), { bootstrap: cluster.bootstrap });
  const joins = cluster.intercept({ apiKey: "JoinGroup", action: { observe: true } });
  // The first SyncGroup is answered 1.5 session timeouts late.
  const slowSync = cluster.intercept({ apiKey: "SyncGroup", times: 1, action: { delayMs: 3000 } });
  const assigned: { joins: number; partitions: TopicPartition[] }[] = [];
  const lost: TopicPartition[][] = [];
  const consumer = new Consumer(fastOptions({
    brokers: cluster.bootstrap,
    groupId: `g-${topic}`,
    topics: [topic],
    sessionTimeoutMs: 2000,
    heartbeatIntervalMs: 300,
    onAssigned: (partitions) => void assigned.push({ joins: joins.requests.length, partitions }),
    onLost: (partitions) => void lost.push(partitions),
  }));
  try {
    const reader = new BatchReader(consumer.readable);
    const batch = await reader.nextBatch(20_000, "the first batch");
    batch.ack();
    assert.equal(slowSync.hits, 1, "the first SyncGroup was the slow one");
    assert.ok(assigned.length >= 1);
    // The first assignment started came from a later join, not the slow answer.
    assert.ok(assigned[0].joins >= 2, `onAssigned after join ${assigned[0].joins}`);
    assert.deepEqual(lost, [], "nothing was started, so nothing was lost");
  } finally {
    await consumer.close();
  }
});
