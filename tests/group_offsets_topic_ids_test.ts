// OffsetFetch and OffsetCommit v10 name topics by id only (KIP-848): on a
// broker that offers v10 (Kafka 4.2+), the group client sends v10 with the
// ids from metadata, falls back to v9 (names) when it knows no id for a
// topic — as Java's client does — and, after UNKNOWN_TOPIC_ID (a topic
// deleted and re-created under a new id), refreshes metadata once and
// commits under the new id. Against the real broker of `deno task test`,
// through a recording proxy that shows the versions on the wire; the
// committed offsets are read back with Kafka's consumer-groups tool.

import assert from "node:assert/strict";
import { Admin } from "../mod.ts";
import { Cluster } from "../src/net/cluster.ts";
import { GroupClient } from "../src/net/group_client.ts";
import { partitionKey } from "../src/util/partitions.ts";
import { OffsetCommitApi } from "../src/protocol/messages/offset_commit.ts";
import { OffsetFetchApi } from "../src/protocol/messages/offset_fetch.ts";
import { brokers, consumerGroupOffsets, uniqueName } from "./_kafka.ts";
import { startRecordingProxy } from "./_proxy.ts";

const NO_MEMBER = { generationId: -1, memberId: "", groupInstanceId: null };

Deno.test("OffsetFetch/OffsetCommit: v10 by topic id when the id is known, v9 by name when not, re-created topic refreshed once", async () => {
  const [host, port] = brokers().split(",")[0].split(":");
  const proxy = startRecordingProxy({ upstream: { hostname: host, port: Number(port) } });
  const topic = uniqueName("offsets-ids");
  const groupId = uniqueName("offsets-ids-group");
  const admin = new Admin({ brokers: brokers() });
  const cluster = new Cluster({ brokers: [`127.0.0.1:${proxy.port}`] });
  const controller = new AbortController();
  const versions = (apiKey: number) =>
    proxy.frames.filter((f) => f.direction === "request" && f.apiKey === apiKey)
      .map((f) => f.apiVersion);
  try {
    await admin.createTopics([{ name: topic, partitions: 2 }]);
    const client = new GroupClient(cluster, groupId, controller.signal);
    const conn = await client.run("group", (c) => Promise.resolve(c));
    const offers10 = (conn.brokerVersions(OffsetCommitApi.apiKey)?.max ?? 0) >= 10;

    // No metadata for the topic yet: no id, so names (v9 at most).
    await client.commitOffsets([{ topic, partition: 0, offset: 3n }], NO_MEMBER);
    const byName = await client.fetchOffsets([{ topic, partition: 0 }, { topic, partition: 1 }]);
    assert.equal(byName.get(partitionKey(topic, 0)), 3n);
    assert.equal(byName.get(partitionKey(topic, 1)), null);
    assert.ok(versions(OffsetCommitApi.apiKey).every((v) => v <= 9));
    assert.ok(versions(OffsetFetchApi.apiKey).every((v) => v <= 9));

    // With the id known, the highest version both speak (v10 on Kafka 4.2+).
    await cluster.refreshMetadata([topic]);
    await client.commitOffsets([{ topic, partition: 1, offset: 5n }], NO_MEMBER);
    const byId = await client.fetchOffsets([{ topic, partition: 0 }, { topic, partition: 1 }]);
    assert.equal(byId.get(partitionKey(topic, 0)), 3n);
    assert.equal(byId.get(partitionKey(topic, 1)), 5n);
    const want = offers10 ? 10 : conn.version(OffsetCommitApi);
    assert.equal(versions(OffsetCommitApi.apiKey).at(-1), want);
    assert.equal(
      versions(OffsetFetchApi.apiKey).at(-1),
      Math.min(want, conn.version(OffsetFetchApi)),
    );

    // Re-created topic: the cached id is stale. The broker answers
    // UNKNOWN_TOPIC_ID to v10; the client refreshes and commits under the new id.
    const oldId = cluster.topics.get(topic)?.topicId;
    await admin.deleteTopics([topic]);
    await admin.createTopics([{ name: topic, partitions: 2 }]);
    const before = versions(OffsetCommitApi.apiKey).length;
    for (let i = 0;; i++) {
      try {
        await client.commitOffsets([{ topic, partition: 0, offset: 7n }], NO_MEMBER);
        break;
      } catch (e) {
        // Right after CreateTopics the new topic may not have reached the
        // coordinator's metadata: Kafka answers with retriable codes then.
        if (i >= 20) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    if (offers10) {
      assert.ok(versions(OffsetCommitApi.apiKey).length - before >= 2);
      const newId = cluster.topics.get(topic)?.topicId;
      assert.ok(newId !== undefined && newId !== oldId, "the metadata was refreshed to the new id");
    }
    const rows = await consumerGroupOffsets(groupId);
    const p0 = rows.find((r) => r.topic === topic && r.partition === 0);
    assert.equal(
      p0?.currentOffset,
      7n,
      JSON.stringify(rows, (_, v) => typeof v === "bigint" ? `${v}` : v),
    );
  } finally {
    controller.abort();
    await cluster.close();
    await admin.deleteTopics([topic]).catch(() => {});
    await admin.close();
    await proxy.close();
  }
});
