// Fault injection of the embedded cluster end to end: our Consumer under
// injected errors, leader moves, broker stops, coordinator moves and hung
// requests delivers every record once.

import assert from "node:assert/strict";
import {
  ConnectionError,
  Consumer,
  type ConsumerOptions,
  KafkaProtocolError,
  LogTruncationError,
} from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";
import { Cluster } from "../src/net/cluster.ts";
import { fetchPartition, produce } from "../src/net/admin.ts";
import { Connection } from "../src/net/connection.ts";
import { FetchApi } from "../src/protocol/messages/fetch.ts";
import { FindCoordinatorApi } from "../src/protocol/messages/find_coordinator.ts";
import { OffsetFetchApi } from "../src/protocol/messages/offset_fetch.ts";
import { BatchReader } from "./_consumer_helpers.ts";

const enc = new TextEncoder();

function options(bootstrap: string, extra: Partial<ConsumerOptions>): ConsumerOptions {
  return {
    brokers: bootstrap.split(","),
    clientId: "sluice-faults-test",
    fetchMaxWaitMs: 100,
    closeTimeoutMs: 2000,
    retryBackoffMs: 50,
    retryBackoffMaxMs: 300,
    ...extra,
  } as ConsumerOptions;
}

function assignAll(topic: string, partitions: number): Partial<ConsumerOptions> {
  return {
    assign: Array.from({ length: partitions }, (_, partition) => ({
      topic,
      partition,
      offset: "earliest" as const,
    })),
  } as Partial<ConsumerOptions>;
}

/** Produces `count` records (values `p<partition>-<i>`) to each partition, in batches of 10. */
async function produceEach(
  client: Cluster,
  topic: string,
  partitions: number,
  from: number,
  count: number,
): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    for (let i = from; i < from + count; i += 10) {
      const n = Math.min(10, from + count - i);
      const records = Array.from(
        { length: n },
        (_, k) => ({ value: enc.encode(`p${p}-${i + k}`) }),
      );
      // admin.produce retries retriable protocol errors but not a lost
      // connection (a dropped request, a stopped broker): retry those here.
      for (let attempt = 0;; attempt++) {
        try {
          await produce(client, topic, p, records);
          break;
        } catch (e) {
          if (!(e instanceof ConnectionError) || attempt >= 10) throw e;
          await new Promise((r) => setTimeout(r, 50));
          await client.refreshMetadata([topic]).catch(() => {});
        }
      }
    }
  }
}

/** Offsets read per partition (duplicates kept). */
class Offsets {
  readonly byPartition = new Map<number, bigint[]>();
  count = 0;

  /** Reads until `total` records were counted, or throws after `timeoutMs`. */
  async readUntil(reader: BatchReader, total: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.count < total) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`read ${this.count} of ${total} records: ${this.summary()}`);
      const batch = await reader.next(Math.min(left, 500));
      if (batch === null) throw new Error("the stream ended");
      if (batch === undefined) continue;
      const list = this.byPartition.get(batch.partition) ?? [];
      for (const r of batch.records) list.push(r.offset);
      this.byPartition.set(batch.partition, list);
      this.count += batch.records.length;
      batch.ack();
    }
  }

  /** Asserts each partition was read exactly once, offsets 0 to `perPartition` - 1. */
  assertExactly(partitions: number, perPartition: number): void {
    const want = Array.from({ length: perPartition }, (_, i) => BigInt(i));
    for (let p = 0; p < partitions; p++) {
      assert.deepEqual(this.byPartition.get(p), want, `partition ${p}`);
    }
  }

  summary(): string {
    return [...this.byPartition].map(([p, o]) => `${p}: ${o.length}`).join(", ");
  }
}

Deno.test("faults: NOT_LEADER_OR_FOLLOWER injected on Fetch 3 times: every record, once", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 2 });
  await cluster.createTopic("t", { partitions: 2 });
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    await produceEach(client, "t", 2, 0, 40);
    const rule = cluster.intercept({ apiKey: "Fetch", times: 3, action: { errorCode: 6 } });
    await using consumer = new Consumer(options(cluster.bootstrap, assignAll("t", 2)));
    const reader = new BatchReader(consumer.readable);
    const seen = new Offsets();
    await seen.readUntil(reader, 80);
    assert.equal(rule.hits, 3);
    assert.equal(rule.active, false);
    // Nothing more (no duplicates) arrives.
    await produceEach(client, "t", 2, 40, 1);
    await seen.readUntil(reader, 82);
    seen.assertExactly(2, 41);
  } finally {
    await client.close();
  }
});

Deno.test("faults: moveLeader mid-consumption: consumption goes on at the new leader", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  await cluster.createTopic("t", { partitions: 1 });
  const before = cluster.topic("t")!.partitions[0];
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    await produceEach(client, "t", 1, 0, 30);
    await using consumer = new Consumer(options(cluster.bootstrap, assignAll("t", 1)));
    const reader = new BatchReader(consumer.readable);
    const seen = new Offsets();
    await seen.readUntil(reader, 30);
    const moved = cluster.moveLeader("t", 0);
    assert.notEqual(moved.leader, before.leader);
    assert.equal(moved.leaderEpoch, before.leaderEpoch + 1);
    await produceEach(client, "t", 1, 30, 30);
    await seen.readUntil(reader, 60);
    seen.assertExactly(1, 60);
    // And again, to a named broker.
    const third = [0, 1, 2].find((n) => n !== before.leader && n !== moved.leader)!;
    assert.equal(cluster.moveLeader("t", 0, third).leaderEpoch, before.leaderEpoch + 2);
    await produceEach(client, "t", 1, 60, 10);
    await seen.readUntil(reader, 70);
    seen.assertExactly(1, 70);
  } finally {
    await client.close();
  }
});

Deno.test("faults: stopBroker of a leader mid-consumption, then startBroker: nothing lost", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  await cluster.createTopic("t", { partitions: 3, replicationFactor: 3 });
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    await produceEach(client, "t", 3, 0, 20);
    await using consumer = new Consumer(options(cluster.bootstrap, assignAll("t", 3)));
    const reader = new BatchReader(consumer.readable);
    const seen = new Offsets();
    await seen.readUntil(reader, 60);
    const victim = cluster.topic("t")!.partitions[0].leader;
    const port = cluster.brokers[victim].port;
    await cluster.stopBroker(victim);
    const after = cluster.topic("t")!.partitions;
    assert.ok(after.every((p) => p.leader !== victim));
    assert.equal(after[0].leaderEpoch, 1);
    await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port }));
    await produceEach(client, "t", 3, 20, 20);
    await seen.readUntil(reader, 120);
    await cluster.startBroker(victim);
    assert.equal(cluster.brokers[victim].port, port);
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    cluster.moveLeader("t", 0, victim); // the restarted broker leads again
    await produceEach(client, "t", 3, 40, 10);
    await seen.readUntil(reader, 150);
    seen.assertExactly(3, 50);
  } finally {
    await client.close();
  }
});

async function committedOffsets(
  cluster: EmbeddedCluster,
  groupId: string,
  topic: string,
  partitions: number,
): Promise<bigint[]> {
  const b = cluster.brokers.find((x) => x.nodeId === cluster.coordinator(groupId))!;
  const conn = await Connection.connect({ host: b.host, port: b.port, clientId: "t" });
  try {
    const fc = await conn.send(FindCoordinatorApi, { keyType: 0, coordinatorKeys: [groupId] });
    assert.equal(fc.coordinators[0].nodeId, b.nodeId);
    const res = await conn.send(OffsetFetchApi, {
      groups: [{
        groupId,
        topics: [{
          topicId: cluster.topic(topic)!.topicId,
          partitionIndexes: Array.from({ length: partitions }, (_, i) => i),
        }],
      }],
      requireStable: false,
    }, { version: 10 });
    return res.groups[0].topics[0].partitions.map((p) => {
      assert.equal(p.errorCode, 0);
      return p.committedOffset;
    });
  } finally {
    conn.close();
  }
}

Deno.test("faults: moveCoordinator: a group consumer finds the new one and commits to the end", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  await cluster.createTopic("t", { partitions: 2 });
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  const groupId = "g";
  try {
    await produceEach(client, "t", 2, 0, 20);
    await using consumer = new Consumer(options(cluster.bootstrap, {
      groupId,
      topics: ["t"],
      autoOffsetReset: "earliest",
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 200,
      autoCommitIntervalMs: 200,
    }));
    const reader = new BatchReader(consumer.readable);
    const seen = new Offsets();
    await seen.readUntil(reader, 40);
    const old = cluster.coordinator(groupId);
    const now = cluster.moveCoordinator(groupId);
    assert.notEqual(now, old);
    assert.equal(cluster.coordinator(groupId), now);
    // Pass-through rules (no delay) count the requests the new coordinator gets.
    const heartbeats = cluster.intercept({
      apiKey: "Heartbeat",
      broker: now,
      action: { delayMs: 0 },
    });
    const commits = cluster.intercept({
      apiKey: "OffsetCommit",
      broker: now,
      action: { delayMs: 0 },
    });
    await produceEach(client, "t", 2, 20, 20);
    await seen.readUntil(reader, 80);
    seen.assertExactly(2, 40);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const committed = await committedOffsets(cluster, groupId, "t", 2);
      if (committed.every((o) => o === 40n) && heartbeats.hits > 0 && commits.hits > 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `committed ${committed}; at the new coordinator: ${heartbeats.hits} heartbeats, ` +
            `${commits.hits} commits`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await consumer.describeGroup()).state, "Stable");
    assert.ok(heartbeats.hits >= 1, "heartbeats at the new coordinator");
    assert.ok(commits.hits >= 1, "commits at the new coordinator");
  } finally {
    await client.close();
  }
});

Deno.test("faults: TOPIC_AUTHORIZATION_FAILED on Fetch ends the stream with an error naming the topic", async () => {
  await using cluster = await EmbeddedCluster.start();
  await cluster.createTopic("secret");
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    await produceEach(client, "secret", 1, 0, 5);
    const rule = cluster.intercept({ apiKey: 1, action: { errorCode: 29 } });
    await using consumer = new Consumer(options(cluster.bootstrap, assignAll("secret", 1)));
    const reader = new BatchReader(consumer.readable);
    const error = await (async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        try {
          const b = await reader.next(500);
          if (b === null) return new Error("the stream ended without an error");
          if (b) return new Error(`got records: ${b.records.length}`);
        } catch (e) {
          return e;
        }
      }
      return new Error("no error within 10 s");
    })();
    assert.ok(error instanceof KafkaProtocolError, String(error));
    assert.equal(error.code, 29);
    assert.match(error.message, /secret/);
    assert.ok(rule.hits >= 1);
  } finally {
    await client.close();
  }
});

Deno.test("faults: a hung Fetch times out; the consumer reconnects and recovers once the rule goes", async () => {
  await using cluster = await EmbeddedCluster.start();
  await cluster.createTopic("t");
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    await produceEach(client, "t", 1, 0, 20);
    const rule = cluster.intercept({ apiKey: "Fetch", action: { hang: true } });
    await using consumer = new Consumer(
      options(cluster.bootstrap, { ...assignAll("t", 1), requestTimeoutMs: 500 }),
    );
    const reader = new BatchReader(consumer.readable);
    const deadline = Date.now() + 10_000;
    while (rule.hits < 2) {
      if (Date.now() > deadline) throw new Error(`hits: ${rule.hits}`);
      assert.equal(await reader.next(100), undefined);
    }
    rule.remove();
    const seen = new Offsets();
    await seen.readUntil(reader, 20);
    seen.assertExactly(1, 20);
  } finally {
    await client.close();
  }
});

Deno.test("faults: drop, delay and latency", async () => {
  await using cluster = await EmbeddedCluster.start();
  await cluster.createTopic("t");
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    const dropped = cluster.intercept({ apiKey: "Produce", times: 1, action: { drop: true } });
    await produceEach(client, "t", 1, 0, 10); // retried on a new connection
    assert.equal(dropped.hits, 1);
    const slow = cluster.intercept({ apiKey: "Produce", times: 1, action: { delayMs: 300 } });
    let t0 = Date.now();
    await produceEach(client, "t", 1, 10, 10);
    assert.ok(Date.now() - t0 >= 280, "delayed");
    assert.equal(slow.hits, 1);
    cluster.setLatency(200);
    t0 = Date.now();
    await produceEach(client, "t", 1, 20, 10);
    assert.ok(Date.now() - t0 >= 180, "latency");
    cluster.setLatency(0);
    assert.equal(cluster.topic("t")!.partitions[0].highWatermark, 30n);
  } finally {
    await client.close();
  }
});

Deno.test("faults: a Fetch held at a leader answers NOT_LEADER_OR_FOLLOWER as soon as moveLeader moves the partition", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 2 });
  await cluster.createTopic("held", { partitions: 1 });
  const admin = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    const started = Date.now();
    // Nothing to read at offset 0: the broker holds the Fetch for up to 10 s.
    const held = fetchPartition(admin, "held", 0, 0n, { maxWaitMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    cluster.moveLeader("held", 0);
    await assert.rejects(held, (e: unknown) => {
      assert.ok(e instanceof KafkaProtocolError);
      assert.equal(e.errorName, "NOT_LEADER_OR_FOLLOWER");
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took < 5_000, `answered after ${took} ms, not at the 10 s max wait`);
  } finally {
    await admin.close();
  }
});

Deno.test("faults: uncleanLeaderElection truncates the log; a Fetch naming the old epoch gets divergingEpoch (KIP-320)", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 2 });
  await cluster.createTopic("diverge", { partitions: 1 });
  await cluster.produce("diverge", 0, [{ value: "a" }, { value: "b" }]); // 0..1, epoch 0
  await cluster.produce("diverge", 0, [{ value: "c" }]); // 2, epoch 0
  const after = cluster.uncleanLeaderElection("diverge", 0, 2n);
  assert.equal(after.highWatermark, 2n);
  assert.equal(after.leaderEpoch, 1);
  await cluster.produce("diverge", 0, [{ value: "x" }]); // 2 again, epoch 1

  const admin = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    await admin.refreshMetadata(["diverge"]);
    const conn = await admin.connection(admin.leaderOf("diverge", 0), "fetch");
    const fetch = (fetchOffset: bigint, lastFetchedEpoch: number) =>
      conn.send(FetchApi, {
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [{
          topic: "diverge",
          topicId: admin.topics.get("diverge")!.topicId,
          partitions: [{
            partition: 0,
            fetchOffset,
            lastFetchedEpoch,
            currentLeaderEpoch: 1,
            partitionMaxBytes: 1 << 20,
          }],
        }],
      });
    // A consumer that had read "c" (offset 2, epoch 0) asks for offset 3.
    const diverged = (await fetch(3n, 0)).responses[0].partitions[0];
    assert.equal(diverged.errorCode, 0);
    assert.deepEqual(diverged.divergingEpoch, { epoch: 0, endOffset: 2n });
    assert.equal(diverged.records?.length ?? 0, 0, "no records with a divergence");
    // One that had read only up to offset 1 (epoch 0) has not diverged.
    const fine = (await fetch(2n, 0)).responses[0].partitions[0];
    assert.deepEqual(fine.divergingEpoch, { epoch: -1, endOffset: -1n });
    assert.ok((fine.records?.length ?? 0) > 0);
  } finally {
    await admin.close();
  }
});

for (const reset of ["earliest", "none"] as const) {
  Deno.test(
    `faults: log truncation below the position (unclean election), autoOffsetReset "${reset}": ${
      reset === "none" ? "LogTruncationError" : "resumes at the divergent offset"
    }`,
    async () => {
      await using cluster = await EmbeddedCluster.start({ brokers: 2 });
      await cluster.createTopic("trunc", { partitions: 1 });
      await cluster.produce("trunc", 0, [{ value: "a" }]); // 0
      await cluster.produce("trunc", 0, [{ value: "b" }, { value: "c" }]); // 1..2
      const consumer = new Consumer(options(cluster.bootstrap, {
        assign: [{ topic: "trunc", partition: 0, offset: "earliest" }],
        autoOffsetReset: reset,
      }));
      const reader = new BatchReader(consumer.readable);
      const seen: string[] = [];
      const read = async (count: number) => {
        while (seen.length < count) {
          const batch = await reader.nextBatch(10_000);
          for (const r of batch.records) {
            seen.push(`${r.offset}:${new TextDecoder().decode(r.value!)}`);
          }
          batch.ack();
        }
      };
      try {
        await read(3);
        assert.deepEqual(seen, ["0:a", "1:b", "2:c"]);
        // The new leader never had b and c; it takes new records from offset 1.
        cluster.uncleanLeaderElection("trunc", 0, 1n);
        await cluster.produce("trunc", 0, [{ value: "x" }, { value: "y" }, { value: "z" }]); // 1..3
        if (reset === "none") {
          await assert.rejects(reader.nextBatch(10_000), (e: unknown) => {
            assert.ok(e instanceof LogTruncationError, String(e));
            assert.equal(e.divergentOffset, 1n);
            assert.equal(e.position, 3n);
            return true;
          });
        } else {
          await read(6);
          assert.deepEqual(seen.slice(3), ["1:x", "2:y", "3:z"], "resumed at the divergent offset");
        }
      } finally {
        await consumer.close();
      }
    },
  );
}

Deno.test("faults: an undecodable SyncGroup assignment makes the member rejoin (bounded), not end the stream", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  await cluster.createTopic("garbled", { partitions: 2 });
  await cluster.produce("garbled", 0, [{ value: "a" }]);
  await cluster.produce("garbled", 1, [{ value: "b" }]);
  // The first SyncGroup answer carries an assignment that is not ConsumerProtocol bytes.
  const rule = cluster.intercept({
    apiKey: "SyncGroup",
    times: 1,
    action: {
      rewrite: (res) =>
        void ((res as { assignment: Uint8Array }).assignment = new Uint8Array([0, 9, 255])),
    },
  });
  const consumer = new Consumer(options(cluster.bootstrap, {
    groupId: "garbled-group",
    topics: ["garbled"],
    autoOffsetReset: "earliest",
  }));
  try {
    const reader = new BatchReader(consumer.readable);
    const seen = new Set<string>();
    while (seen.size < 2) {
      const batch = await reader.nextBatch(15_000);
      for (const r of batch.records) seen.add(new TextDecoder().decode(r.value!));
      batch.ack();
    }
    assert.equal(rule.hits, 1);
    assert.deepEqual([...seen].sort(), ["a", "b"]);
  } finally {
    await consumer.close();
  }
});
