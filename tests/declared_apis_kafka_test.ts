/**
 * APIs we declare (src/protocol/messages/) that the consumer does not send
 * yet — the embedded cluster serves them, and the producer and admin clients
 * to come will send them — sent to the real broker of `deno task test` at
 * the version we negotiate, each checked for a meaningful answer. The
 * coverage guard (scripts/coverage_guard.ts) needs every declared API
 * answered ok at our maximum by a real broker: these tests are that proof
 * for ListGroups, DeleteGroups, InitProducerId, OffsetForLeaderEpoch and
 * DeleteTopics. (SaslHandshake and SaslAuthenticate are proven by the
 * tests/secured_* tests against the secured broker.)
 */

import assert from "node:assert/strict";
import { Admin } from "../mod.ts";
import { produce } from "../src/net/admin.ts";
import { Cluster } from "../src/net/cluster.ts";
import type { Connection } from "../src/net/connection.ts";
import { ErrorCode } from "../src/protocol/error_codes.ts";
import {
  DeleteGroupsApi,
  FindCoordinatorApi,
  InitProducerIdApi,
  ListGroupsApi,
  OffsetCommitApi,
  OffsetForLeaderEpochApi,
  ProduceApi,
} from "../src/protocol/messages/mod.ts";
import { encodeRecordBatch } from "../src/protocol/wire_batch.ts";
import { backoffMs, delay } from "../src/util/async.ts";
import { brokers, uniqueName } from "./_kafka.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

async function withCluster(body: (cluster: Cluster) => Promise<void>): Promise<void> {
  const cluster = new Cluster({ brokers: brokers().split(",") });
  try {
    await body(cluster);
  } finally {
    await cluster.close();
  }
}

/** Runs `body` with an Admin client of the test broker. */
async function withAdmin(body: (admin: Admin) => Promise<void>): Promise<void> {
  await using admin = new Admin({ brokers: brokers() });
  await body(admin);
}

/** Creates `topic` with the Admin client, then loads it into `cluster`'s metadata. */
async function createTopic(cluster: Cluster, topic: string, partitions: number): Promise<void> {
  await withAdmin((admin) => admin.createTopics([{ name: topic, partitions }]));
  await cluster.refreshMetadata([topic]);
}

/** The group's coordinator (retrying while __consumer_offsets is being created). */
async function coordinatorOf(cluster: Cluster, group: string): Promise<Connection> {
  const boot = await cluster.connection("bootstrap", "admin");
  for (let attempt = 0;; attempt++) {
    const res = await boot.send(FindCoordinatorApi, {
      key: group,
      keyType: 0,
      coordinatorKeys: [group],
    });
    // v4+ answers per key; older versions at the top level.
    const c = res.coordinators[0] ?? res;
    if (c.errorCode === 0) {
      await cluster.refreshMetadata([]);
      return await cluster.connection(c.nodeId, "group");
    }
    assert.ok(
      c.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE && attempt < 20,
      `FindCoordinator answered error ${c.errorCode}`,
    );
    await delay(backoffMs(attempt, { initialMs: 100, maxMs: 1000 }));
  }
}

Deno.test("ListGroups and DeleteGroups: a group with committed offsets is listed Empty, then deleted", async () => {
  await withCluster(async (cluster) => {
    const topic = uniqueName("declared-groups");
    const group = uniqueName("declared-group");
    await createTopic(cluster, topic, 1);
    const { topicId } = cluster.topics.get(topic)!;
    const coordinator = await coordinatorOf(cluster, group);

    // An offset commit outside any generation (as an admin tool does)
    // creates the group, Empty, with offsets.
    const commit = await coordinator.send(OffsetCommitApi, {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      topics: [{ name: topic, topicId, partitions: [{ partitionIndex: 0, committedOffset: 2n }] }],
    });
    assert.equal(commit.topics[0].partitions[0].errorCode, 0);

    const listed = await coordinator.send(ListGroupsApi, { statesFilter: ["Empty"] });
    assert.equal(listed.errorCode, 0);
    const row = listed.groups.find((g) => g.groupId === group);
    assert.ok(row, `ListGroups (Empty) lists ${group}`);
    assert.equal(row.groupState, "Empty");
    if (coordinator.version(ListGroupsApi) >= 5) assert.equal(row.groupType, "classic");
    const stable = await coordinator.send(ListGroupsApi, { statesFilter: ["Stable"] });
    assert.ok(!stable.groups.some((g) => g.groupId === group), "not listed as Stable");

    const deleted = await coordinator.send(DeleteGroupsApi, { groupsNames: [group] });
    assert.deepEqual(
      deleted.results.map((r) => [r.groupId, r.errorCode]),
      [[group, 0]],
    );
    const after = await coordinator.send(ListGroupsApi, {});
    assert.ok(!after.groups.some((g) => g.groupId === group), "gone after DeleteGroups");
    const again = await coordinator.send(DeleteGroupsApi, { groupsNames: [group] });
    assert.equal(again.results[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    await withAdmin((admin) => admin.deleteTopics([topic]));
  });
});

Deno.test("InitProducerId hands out a producer id whose batches the broker de-duplicates", async () => {
  await withCluster(async (cluster) => {
    const topic = uniqueName("declared-pid");
    await createTopic(cluster, topic, 1);
    const boot = await cluster.connection("bootstrap", "admin");
    const init = await boot.send(InitProducerIdApi, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    });
    assert.equal(init.errorCode, 0);
    assert.ok(init.producerId >= 0n);
    assert.ok(init.producerEpoch >= 0);

    // An idempotent batch of that producer, sent twice: the broker keeps one.
    const info = cluster.topics.get(topic)!;
    const leader = await cluster.connection(cluster.leaderOf(topic, 0), "produce");
    const batch = encodeRecordBatch({
      records: [{ value: bytes("a") }, { value: bytes("b") }],
      producerId: init.producerId,
      producerEpoch: init.producerEpoch,
      baseSequence: 0,
    });
    const send = () =>
      leader.send(ProduceApi, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{
          name: topic,
          topicId: info.topicId,
          partitionData: [{ index: 0, records: batch }],
        }],
      });
    const first = (await send()).responses[0].partitionResponses[0];
    const second = (await send()).responses[0].partitionResponses[0];
    assert.equal(first.errorCode, 0);
    assert.equal(second.errorCode, 0, "a duplicate of a recent batch is acknowledged");
    assert.equal(second.baseOffset, first.baseOffset, "at the offset of the first copy");
    const next = await produce(cluster, topic, 0, [{ value: bytes("c") }]);
    assert.equal(next, first.baseOffset + 2n, "the duplicate was not appended");
    await withAdmin((admin) => admin.deleteTopics([topic]));
  });
});

Deno.test("OffsetForLeaderEpoch answers the end offset of the leader's current epoch", async () => {
  await withCluster(async (cluster) => {
    const topic = uniqueName("declared-epoch");
    await createTopic(cluster, topic, 1);
    await produce(cluster, topic, 0, [{ value: bytes("a") }, { value: bytes("b") }]);
    await produce(cluster, topic, 0, [{ value: bytes("c") }]);
    await cluster.refreshMetadata([topic]);
    const epoch = cluster.topics.get(topic)!.partitions.get(0)!.leaderEpoch;
    const leader = await cluster.connection(cluster.leaderOf(topic, 0), "fetch");
    const ask = (leaderEpoch: number, currentLeaderEpoch = epoch) =>
      leader.send(OffsetForLeaderEpochApi, {
        replicaId: -1,
        topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }],
      }).then((r) => r.topics[0].partitions[0]);
    const current = await ask(epoch);
    assert.equal(current.errorCode, 0);
    assert.equal(current.leaderEpoch, epoch);
    assert.equal(current.endOffset, 3n, "the log end: 3 records in this epoch");
    // A current epoch newer than the leader's: the leader does not know it yet.
    const ahead = await ask(epoch, epoch + 1);
    assert.equal(ahead.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    await withAdmin((admin) => admin.deleteTopics([topic]));
  });
});

Deno.test("DeleteTopics removes a topic: metadata stops listing it", async () => {
  await withCluster(async (cluster) => {
    const topic = uniqueName("declared-delete");
    await createTopic(cluster, topic, 2);
    await withAdmin((admin) => admin.deleteTopics([topic]));
    for (let attempt = 0;; attempt++) {
      const res = await cluster.refreshMetadata([topic]);
      if (res.topics[0].errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) break;
      assert.ok(attempt < 20, `still listed after ${attempt} checks`);
      await delay(backoffMs(attempt, { initialMs: 50, maxMs: 500 }));
    }
    await assert.rejects(
      withAdmin((admin) => admin.deleteTopics([topic])),
      /UNKNOWN_TOPIC_OR_PARTITION/,
    );
  });
});
