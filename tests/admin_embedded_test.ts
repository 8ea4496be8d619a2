/**
 * The Admin client against the embedded cluster, for what it serves:
 * CreateTopics, DeleteTopics, Metadata, ListOffsets and the group APIs
 * (ListGroups on every broker, DescribeGroups / OffsetFetch / DeleteGroups at
 * the coordinator). CreatePartitions and the config APIs are not served
 * there: a call answers UnsupportedVersionError (tests/admin_kafka_test.ts
 * covers them on real Kafka).
 */

import assert from "node:assert/strict";
import {
  Admin,
  AdminBatchError,
  Consumer,
  KafkaProtocolError,
  UnsupportedVersionError,
} from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";

Deno.test("[embedded] Admin creates, describes, lists and deletes topics; looks offsets up", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  await using admin = new Admin({ brokers: cluster.bootstrap });

  await admin.createTopics([{ name: "orders", partitions: 3 }, { name: "refunds" }]);
  assert.deepEqual(await admin.listTopics(), ["orders", "refunds"]);
  const [orders] = await admin.describeTopics(["orders"]);
  assert.deepEqual(orders.partitions.map((p) => p.partition), [0, 1, 2]);
  // The embedded cluster leads partitions round robin over its nodes.
  assert.deepEqual(
    orders.partitions.map((p) => p.leader),
    [0, 1, 2].map((i) => cluster.topic("orders")!.partitions[i].leader),
  );

  await cluster.produce("orders", 1, [{ value: "a" }, { value: "b" }, { value: "c" }]);
  await cluster.produce("orders", 2, [{ value: "d" }]);
  const offsets = await admin.listOffsets([
    { topic: "orders", partition: 0, at: "latest" },
    { topic: "orders", partition: 1, at: "earliest" },
    { topic: "orders", partition: 1, at: "latest" },
    { topic: "orders", partition: 2, at: "latest" },
  ]);
  assert.deepEqual(offsets.map((o) => o.offset), [0n, 0n, 3n, 1n]);

  const exists = await admin.createTopics([{ name: "orders" }]).then(() => null, (e) => e);
  assert.ok(exists instanceof KafkaProtocolError && exists.topic === "orders", String(exists));
  assert.equal(exists.errorName, "TOPIC_ALREADY_EXISTS");
  await admin.createTopics([{ name: "orders" }], { ifMissing: true });

  await admin.deleteTopics(["refunds"]);
  assert.deepEqual(await admin.listTopics(), ["orders"]);
  const missing = await admin.describeTopics(["refunds", "nope"]).then(() => null, (e) => e);
  assert.ok(missing instanceof AdminBatchError, String(missing));
  assert.deepEqual(
    missing.errors.map((e) => e instanceof KafkaProtocolError ? e.topic : e),
    ["refunds", "nope"],
  );

  // Not served by the embedded cluster.
  await assert.rejects(
    admin.createPartitions([{ topic: "orders", count: 4 }]),
    UnsupportedVersionError,
  );
});

Deno.test("[embedded] Admin lists, describes, reads offsets of and deletes groups", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  await using admin = new Admin({ brokers: cluster.bootstrap });
  await admin.createTopics([{ name: "orders", partitions: 2 }]);
  await cluster.produce("orders", 0, [{ value: "a" }, { value: "b" }, { value: "c" }]);
  await cluster.produce("orders", 1, [{ value: "d" }]);

  {
    await using consumer = new Consumer({
      brokers: cluster.bootstrap,
      clientId: "billing-1",
      groupId: "billing",
      topics: ["orders"],
      autoOffsetReset: "earliest",
      commit: "manual",
      heartbeatThread: "event-loop",
    });
    for await (const batch of consumer) {
      if (batch.partition === 0) {
        batch.ack();
        await consumer.commit();
        const [d] = await admin.describeGroups(["billing"]);
        assert.equal(d.state, "Stable");
        assert.equal(d.members.length, 1);
        assert.equal(d.members[0].clientId, "billing-1");
        assert.deepEqual(d.members[0].assignment.map((p) => p.partition).sort(), [0, 1]);
        const listed = await admin.listGroups();
        assert.deepEqual(listed.map((g) => [g.groupId, g.state]), [["billing", "Stable"]]);
        break;
      }
    }
  }

  await cluster.produce("orders", 0, [{ value: "e" }, { value: "f" }]);
  assert.deepEqual(await admin.groupOffsets("billing", ["orders"]), [
    { topic: "orders", partition: 0, committed: 3n, logEnd: 5n, lag: 2n, metadata: "" },
    // The consumer commits its start position of the partition it has not read.
    { topic: "orders", partition: 1, committed: 0n, logEnd: 1n, lag: 1n, metadata: "" },
  ]);
  assert.deepEqual((await admin.groupOffsets("billing")).map((r) => r.partition), [0, 1]);
  assert.deepEqual(await admin.groupOffsets("nobody", ["orders"]), [
    { topic: "orders", partition: 0, committed: null, logEnd: 5n, lag: null, metadata: null },
    { topic: "orders", partition: 1, committed: null, logEnd: 1n, lag: null, metadata: null },
  ]);
  assert.deepEqual(await admin.groupOffsets("nobody"), []);
  assert.equal((await admin.listGroups())[0].state, "Empty");

  await admin.deleteGroups(["billing"]);
  assert.deepEqual(await admin.listGroups(), []);
  assert.equal(cluster.group("billing").committed.length, 0);
  const gone = await admin.deleteGroups(["billing"]).then(() => null, (e) => e);
  assert.ok(gone instanceof KafkaProtocolError && gone.groupId === "billing", String(gone));
  assert.equal(gone.errorName, "GROUP_ID_NOT_FOUND");
});

Deno.test("[embedded] Admin retries leader moves, coordinator moves and dropped connections", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  await using admin = new Admin({ brokers: cluster.bootstrap, retryBackoffMs: 10 });

  // A connection dropped under CreateTopics: tried again on another.
  const dropped = cluster.intercept({ apiKey: "CreateTopics", times: 1, action: { drop: true } });
  await admin.createTopics([{ name: "orders", partitions: 2 }]);
  assert.equal(dropped.hits, 1);
  assert.equal((await admin.describeTopics(["orders"]))[0].partitions.length, 2);

  // NOT_LEADER_OR_FOLLOWER: metadata refreshed, only that partition asked again.
  await cluster.produce("orders", 0, [{ value: "a" }, { value: "b" }]);
  const notLeader = cluster.intercept({
    apiKey: "ListOffsets",
    times: 1,
    action: { errorCode: 6 },
  });
  const offsets = await admin.listOffsets([
    { topic: "orders", partition: 0, at: "latest" },
    { topic: "orders", partition: 1, at: "latest" },
  ]);
  assert.equal(notLeader.hits, 1);
  assert.deepEqual(offsets.map((o) => o.offset), [2n, 0n]);

  // NOT_COORDINATOR: the coordinator is looked up again.
  const moved = cluster.intercept({ apiKey: "OffsetFetch", times: 1, action: { errorCode: 16 } });
  const rows = await admin.groupOffsets("nobody", ["orders"]);
  assert.equal(moved.hits, 1);
  assert.deepEqual(rows.map((r) => r.logEnd), [2n, 0n]);

  // A code that is not retriable is thrown at once, naming the topic.
  const denied = cluster.intercept({ apiKey: "ListOffsets", times: 1, action: { errorCode: 29 } });
  const e = await admin.listOffsets([{ topic: "orders", partition: 0, at: "earliest" }])
    .then(() => null, (e) => e);
  assert.equal(denied.hits, 1);
  assert.ok(e instanceof KafkaProtocolError && e.topic === "orders", String(e));
  assert.equal(e.errorName, "TOPIC_AUTHORIZATION_FAILED");
});
