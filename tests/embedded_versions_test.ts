// The embedded cluster speaks what Kafka 4.4.0 speaks for the APIs it
// implements: the versions it advertises, and the answers at the newest of
// them (OffsetCommit/OffsetFetch v10 by topic id, ApiVersions v5's cluster
// and node check, ListOffsets v11, DeleteGroups v3). The expected answers
// were taken from a real Kafka 4.4.0 broker sent the same requests.

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";
import { Connection } from "../src/net/connection.ts";
import { RebootstrapRequiredError } from "../src/net/errors.ts";
import { ErrorCode } from "../src/protocol/error_codes.ts";
import { ApiVersionsApi } from "../src/protocol/messages/api_versions.ts";
import { DeleteGroupsApi } from "../src/protocol/messages/delete_groups.ts";
import { ListOffsetsApi } from "../src/protocol/messages/list_offsets.ts";
import { OffsetCommitApi } from "../src/protocol/messages/offset_commit.ts";
import { OffsetFetchApi } from "../src/protocol/messages/offset_fetch.ts";
import { OffsetForLeaderEpochApi } from "../src/protocol/messages/offset_for_leader_epoch.ts";
import { ZERO_UUID } from "../src/protocol/reader.ts";
import { BatchReader } from "./_consumer_helpers.ts";

const enc = new TextEncoder();

/** A topic id no cluster has. */
const UNKNOWN_ID = "AAAAAAAAAAAAAAAAAAAAAQ";

/** What a Kafka 4.4.0 broker advertises for the APIs the embedded cluster implements. */
const KAFKA_4_4_0: Record<number, [number, number]> = {
  0: [3, 13], // Produce
  1: [4, 18], // Fetch
  2: [1, 11], // ListOffsets
  3: [0, 13], // Metadata
  8: [2, 10], // OffsetCommit
  9: [1, 10], // OffsetFetch
  10: [0, 6], // FindCoordinator
  11: [0, 9], // JoinGroup
  12: [0, 4], // Heartbeat
  13: [0, 5], // LeaveGroup
  14: [0, 5], // SyncGroup
  15: [0, 6], // DescribeGroups
  16: [0, 5], // ListGroups
  18: [0, 5], // ApiVersions
  19: [2, 7], // CreateTopics
  20: [1, 6], // DeleteTopics
  22: [0, 5], // InitProducerId
  23: [2, 4], // OffsetForLeaderEpoch
  42: [0, 3], // DeleteGroups
  68: [0, 1], // ConsumerGroupHeartbeat
  69: [0, 1], // ConsumerGroupDescribe
};

/** A connection to the first bootstrap broker (node 0). */
async function connect(cluster: EmbeddedCluster): Promise<Connection> {
  const [host, port] = cluster.bootstrap.split(",")[0].split(":");
  return await Connection.connect({ host, port: Number(port), clientId: "versions-test" });
}

Deno.test("EmbeddedCluster advertises Kafka 4.4.0's version range of every API it implements", async () => {
  await using cluster = await EmbeddedCluster.start();
  const conn = await connect(cluster);
  try {
    const res = await conn.send(ApiVersionsApi, {}, { version: 5 });
    assert.equal(res.errorCode, ErrorCode.NONE);
    const advertised = Object.fromEntries(
      res.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]),
    );
    assert.deepEqual(advertised, KAFKA_4_4_0);
  } finally {
    conn.close();
  }
});

Deno.test("EmbeddedCluster ApiVersions v5: the cluster and node check (KIP-1242)", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 2 });
  const conn = await connect(cluster); // node 0: the first bootstrap address
  try {
    const ask = async (clusterId: string | null, nodeId: number) => {
      const r = await conn.send(ApiVersionsApi, { clusterId, nodeId }, { version: 5 });
      return { errorCode: r.errorCode, apis: r.apiKeys.length };
    };
    const id = cluster.clusterId;
    const ok = { errorCode: ErrorCode.NONE, apis: Object.keys(KAFKA_4_4_0).length };
    const rebootstrap = { errorCode: ErrorCode.REBOOTSTRAP_REQUIRED, apis: 0 };
    const invalid = { errorCode: ErrorCode.INVALID_REQUEST, apis: 0 };
    assert.deepEqual(await ask(null, -1), ok, "neither given: no check");
    assert.deepEqual(await ask(id, 0), ok, "this cluster and node");
    assert.deepEqual(await ask("another-cluster", 0), rebootstrap);
    assert.deepEqual(await ask(id, 1), rebootstrap, "another node of this cluster");
    assert.deepEqual(await ask(id, -1), invalid, "cluster id without node id");
    assert.deepEqual(await ask(null, 0), invalid, "node id without cluster id");
    // Before v5 there is nothing to check.
    const v4 = await conn.send(ApiVersionsApi, {}, { version: 4 });
    assert.equal(v4.errorCode, ErrorCode.NONE);
  } finally {
    conn.close();
  }
  // Our connection turns the answer into RebootstrapRequiredError.
  const [host, port] = cluster.bootstrap.split(",")[1].split(":");
  await assert.rejects(
    () =>
      Connection.connect({
        host,
        port: Number(port),
        expect: { clusterId: cluster.clusterId, nodeId: 0 },
      }),
    RebootstrapRequiredError,
  );
  const good = await Connection.connect({
    host,
    port: Number(port),
    expect: { clusterId: cluster.clusterId, nodeId: 1 },
  });
  good.close();
});

Deno.test("EmbeddedCluster OffsetCommit/OffsetFetch v10 name topics by id; v9 by name still works", async () => {
  await using cluster = await EmbeddedCluster.start();
  const { topicId } = await cluster.createTopic("t", { partitions: 2 });
  const conn = await connect(cluster);
  const groupId = "g";
  try {
    const commit = await conn.send(OffsetCommitApi, {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      topics: [
        {
          topicId,
          partitions: [
            { partitionIndex: 0, committedOffset: 5n, committedMetadata: "m" },
            { partitionIndex: 7, committedOffset: 1n, committedMetadata: null },
          ],
        },
        { topicId: UNKNOWN_ID, partitions: [{ partitionIndex: 0, committedOffset: 5n }] },
      ],
    }, { version: 10 });
    assert.deepEqual(
      commit.topics.map((
        t,
      ) => [t.topicId, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
      [
        [topicId, [[0, ErrorCode.NONE], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        [UNKNOWN_ID, [[0, ErrorCode.UNKNOWN_TOPIC_ID]]],
      ],
    );

    // v9 by name, next to the v10 commit.
    const commit9 = await conn.send(OffsetCommitApi, {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      topics: [
        { name: "t", partitions: [{ partitionIndex: 1, committedOffset: 3n }] },
        { name: "nope", partitions: [{ partitionIndex: 0, committedOffset: 3n }] },
      ],
    }, { version: 9 });
    assert.deepEqual(
      commit9.topics.map((t) => [t.name, t.partitions[0].errorCode]),
      [["t", ErrorCode.NONE], ["nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
    );

    const fetch10 = await conn.send(OffsetFetchApi, {
      groups: [{
        groupId,
        topics: [
          { topicId, partitionIndexes: [0, 1, 7] },
          { topicId: UNKNOWN_ID, partitionIndexes: [0, 2] },
        ],
      }],
    }, { version: 10 });
    const g = fetch10.groups[0];
    assert.equal(g.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      g.topics.map((t) => [
        t.topicId,
        t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode]),
      ]),
      [
        [topicId, [[0, 5n, "m", 0], [1, 3n, "", 0], [7, -1n, "", 0]]],
        [UNKNOWN_ID, [[0, -1n, "", ErrorCode.UNKNOWN_TOPIC_ID], [
          2,
          -1n,
          "",
          ErrorCode.UNKNOWN_TOPIC_ID,
        ]]],
      ],
    );

    // Every committed offset, by id.
    const all10 = await conn.send(OffsetFetchApi, { groups: [{ groupId, topics: null }] }, {
      version: 10,
    });
    assert.deepEqual(
      all10.groups[0].topics.map((t) => [t.topicId, t.partitions.map((p) => p.committedOffset)]),
      [[topicId, [5n, 3n]]],
    );

    // v9 by name: an unknown name is no error, only no offset (as Kafka).
    const fetch9 = await conn.send(OffsetFetchApi, {
      groups: [{
        groupId,
        topics: [{ name: "t", partitionIndexes: [0, 1] }, { name: "nope", partitionIndexes: [0] }],
      }],
    }, { version: 9 });
    assert.deepEqual(
      fetch9.groups[0].topics.map((t) => [
        t.name,
        t.partitions.map((p) => [p.committedOffset, p.errorCode]),
      ]),
      [["t", [[5n, 0], [3n, 0]]], ["nope", [[-1n, 0]]]],
    );
    assert.ok(fetch9.groups[0].topics.every((t) => t.topicId === ZERO_UUID || !t.topicId));
  } finally {
    conn.close();
  }
  assert.deepEqual(cluster.group(groupId).committed, [
    { topic: "t", partition: 0, offset: 5n },
    { topic: "t", partition: 1, offset: 3n },
  ]);
});

Deno.test("EmbeddedCluster ListOffsets v11 and DeleteGroups v3 answer as Kafka 4.4.0 does", async () => {
  await using cluster = await EmbeddedCluster.start();
  await cluster.createTopic("t");
  await cluster.produce(
    "t",
    0,
    [100, 200, 300].map((timestamp) => ({ value: enc.encode("v"), timestamp })),
  );
  const conn = await connect(cluster);
  try {
    const list = async (timestamp: bigint, version: number) => {
      const r = await conn.send(ListOffsetsApi, {
        replicaId: -1,
        isolationLevel: 0,
        timeoutMs: 1000,
        topics: [{ name: "t", partitions: [{ partitionIndex: 0, timestamp }] }],
      }, { version });
      const p = r.topics[0].partitions[0];
      return [p.errorCode, p.offset, p.timestamp, p.leaderEpoch];
    };
    // No tiered storage: no earliest pending upload (-6), no latest tiered (-5).
    assert.deepEqual(await list(-6n, 11), [0, -1n, -1n, -1]);
    assert.deepEqual(await list(-5n, 11), [0, -1n, -1n, -1]);
    assert.deepEqual(await list(-4n, 11), [0, 0n, -1n, 0]);
    assert.deepEqual(await list(-3n, 11), [0, 2n, 300n, 0]);
    assert.deepEqual(await list(150n, 11), [0, 1n, 200n, 0]);
    assert.deepEqual(await list(5000n, 11), [0, -1n, -1n, -1]);
    // A special timestamp older than the request's version is refused.
    assert.deepEqual(await list(-6n, 10), [ErrorCode.UNSUPPORTED_VERSION, -1n, -1n, -1]);
    assert.deepEqual(await list(-5n, 8), [ErrorCode.UNSUPPORTED_VERSION, -1n, -1n, -1]);

    await conn.send(OffsetCommitApi, {
      groupId: "old",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 1n }] }],
    }, { version: 9 });
    const deleted = await conn.send(DeleteGroupsApi, { groupsNames: ["old", "never"] }, {
      version: 3,
    });
    assert.deepEqual(deleted.results.map((r) => [r.groupId, r.errorCode, r.errorMessage]), [
      ["old", ErrorCode.NONE, null],
      ["never", ErrorCode.GROUP_ID_NOT_FOUND, null],
    ]);
  } finally {
    conn.close();
  }
});

Deno.test("EmbeddedCluster OffsetForLeaderEpoch v4 answers from the leader's epoch history", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 2 });
  await cluster.createTopic("t", { replicationFactor: 2 });
  const value = enc.encode("v");
  await cluster.produce("t", 0, [{ value }, { value }, { value }]); // epoch 0: 0-2
  const moved = cluster.moveLeader("t", 0);
  assert.equal(moved.leaderEpoch, 1);
  await cluster.produce("t", 0, [{ value }, { value }]); // epoch 1: 3-4
  const b = cluster.brokers.find((x) => x.nodeId === moved.leader)!;
  const conn = await Connection.connect({ host: b.host, port: b.port, clientId: "t" });
  try {
    const ask = async (leaderEpoch: number, currentLeaderEpoch = -1) => {
      const r = await conn.send(OffsetForLeaderEpochApi, {
        replicaId: -1,
        topics: [{ topic: "t", partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }],
      }, { version: 4 });
      const p = r.topics[0].partitions[0];
      return [p.errorCode, p.leaderEpoch, p.endOffset];
    };
    assert.deepEqual(await ask(1), [0, 1, 5n], "the leader's epoch ends at the log end");
    assert.deepEqual(await ask(0), [0, 0, 3n], "an older epoch ends where the next starts");
    assert.deepEqual(await ask(7), [0, -1, -1n], "a newer epoch is unknown");
    assert.deepEqual(await ask(0, 0), [ErrorCode.FENCED_LEADER_EPOCH, -1, -1n]);
    assert.deepEqual(await ask(0, 2), [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1n]);
  } finally {
    conn.close();
  }
});

Deno.test("Consumer sends OffsetFetch and OffsetCommit v10, by topic id, to the embedded cluster", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  const { topicId } = await cluster.createTopic("orders", { partitions: 2 });
  for (const p of [0, 1]) {
    await cluster.produce("orders", p, [1, 2, 3].map((i) => ({ value: enc.encode(`v${i}`) })));
  }
  const fetches = cluster.intercept({ apiKey: "OffsetFetch", action: { observe: true } });
  const commits = cluster.intercept({ apiKey: "OffsetCommit", action: { observe: true } });
  const consumer = new Consumer({
    brokers: cluster.bootstrap.split(","),
    groupId: "billing",
    topics: ["orders"],
    autoOffsetReset: "earliest",
    commit: "manual",
    fetchMaxWaitMs: 100,
    heartbeatIntervalMs: 300,
    sessionTimeoutMs: 6000,
    closeTimeoutMs: 2000,
  });
  try {
    const reader = new BatchReader(consumer.readable);
    let read = 0;
    const deadline = Date.now() + 20_000;
    while (read < 6 && Date.now() < deadline) {
      const batch = await reader.next(1000);
      if (batch === null) break;
      if (batch === undefined) continue;
      read += batch.records.length;
      batch.ack();
    }
    assert.equal(read, 6);
    await consumer.commit();
  } finally {
    await consumer.close();
  }
  assert.ok(fetches.requests.length > 0, "the consumer fetched its committed offsets");
  assert.ok(commits.requests.length > 0, "the consumer committed");
  for (const r of [...fetches.requests, ...commits.requests]) {
    assert.equal(r.version, 10, `${r.apiKey === 8 ? "OffsetCommit" : "OffsetFetch"} version`);
  }
  const named = commits.requests.flatMap((r) =>
    (r.body.topics as { name?: string; topicId?: string }[]).map((t) => [t.name, t.topicId])
  );
  assert.ok(named.length > 0);
  assert.ok(
    named.every(([name, id]) => !name && id === topicId),
    JSON.stringify(named),
  );
  assert.deepEqual(cluster.group("billing").committed, [
    { topic: "orders", partition: 0, offset: 3n },
    { topic: "orders", partition: 1, offset: 3n },
  ]);
});
