// The embedded cluster's group coordinator end to end: our Consumers in one
// group split a topic and commit; Kafka's own console consumer and
// consumer-groups tool use the group too.

import assert from "node:assert/strict";
import { Consumer, type ConsumerOptions } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";
import { Cluster } from "../src/net/cluster.ts";
import { produce } from "../src/net/admin.ts";
import { Connection } from "../src/net/connection.ts";
import { FindCoordinatorApi } from "../src/protocol/messages/find_coordinator.ts";
import { OffsetFetchApi } from "../src/protocol/messages/offset_fetch.ts";
import { owned, ReadLoop, splitProblem, Tally, waitFor } from "./_consumer_helpers.ts";
import { kafkaTool } from "./_kafka.ts";

const enc = new TextEncoder();

function groupOptions(bootstrap: string, extra: Partial<ConsumerOptions>): ConsumerOptions {
  return {
    brokers: bootstrap.split(","),
    clientId: "sluice-embedded-group",
    autoOffsetReset: "earliest",
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 300,
    maxPollIntervalMs: 20000,
    fetchMaxWaitMs: 100,
    closeTimeoutMs: 5000,
    retryBackoffMs: 50,
    retryBackoffMaxMs: 500,
    autoCommitIntervalMs: 300,
    ...extra,
  } as ConsumerOptions;
}

async function produceAll(
  bootstrap: string,
  topic: string,
  partitions: number,
  perPartition: number,
): Promise<void> {
  const client = new Cluster({ brokers: bootstrap.split(",") });
  try {
    for (let p = 0; p < partitions; p++) {
      const records = Array.from({ length: perPartition }, (_, i) => ({
        key: enc.encode(`k${p}-${i}`),
        value: enc.encode(`v${p}-${i}`),
      }));
      await produce(client, topic, p, records);
    }
  } finally {
    await client.close();
  }
}

/** The group's committed offsets through OffsetFetch at its coordinator. */
/** The group's committed offsets of `topic`, fetched as a Kafka 4.4 client does: by topic id. */
async function committedOffsets(
  cluster: EmbeddedCluster,
  groupId: string,
  topic: string,
  partitions: number,
): Promise<bigint[]> {
  const [host, port] = cluster.bootstrap.split(",")[0].split(":");
  const boot = await Connection.connect({ host, port: Number(port), clientId: "t" });
  let coord: { host: string; port: number };
  try {
    const fc = await boot.send(FindCoordinatorApi, { keyType: 0, coordinatorKeys: [groupId] });
    const c = fc.coordinators[0];
    assert.equal(c.errorCode, 0);
    coord = { host: c.host, port: c.port };
  } finally {
    boot.close();
  }
  const conn = await Connection.connect({ ...coord, clientId: "t" });
  try {
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
    const g = res.groups[0];
    assert.equal(g.errorCode, 0);
    return g.topics[0].partitions.map((p) => {
      assert.equal(p.errorCode, 0);
      return p.committedOffset;
    });
  } finally {
    conn.close();
  }
}

Deno.test("EmbeddedCluster groups: two Consumers split 6 partitions, read everything and commit", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  const topic = "orders";
  await cluster.createTopic(topic, { partitions: 6 });
  await produceAll(cluster.bootstrap, topic, 6, 30);
  const ends = new Map(Array.from({ length: 6 }, (_, p) => [`${topic}-${p}`, 30n]));
  const all = [...ends.keys()].sort();

  const groupId = "billing";
  const tally = new Tally();
  const loops = ["c1", "c2"].map((name) =>
    new ReadLoop(
      new Consumer(groupOptions(cluster.bootstrap, { groupId, topics: [topic], clientId: name })),
      tally,
      name,
    )
  );
  const consumers = loops.map((l) => l.consumer);
  try {
    await waitFor(
      "2 members with 3 partitions each, no overlap, everything read",
      () =>
        splitProblem(consumers, all) === undefined &&
        consumers.every((c) => owned(c).length === 3) &&
        tally.complete(ends),
      30_000,
      {
        describe: () =>
          loops.map((l) => `${l.name}: [${owned(l.consumer).join(", ")}]`).join("; ") +
          `; ${tally.summary()}`,
      },
    );
    assert.ok(loops.every((l) => l.error === undefined));

    const group = await consumers[0].describeGroup();
    assert.equal(group.state, "Stable");
    assert.equal(group.members.length, 2);
    assert.deepEqual(
      group.members.flatMap((m) => m.assignment.map((tp) => `${tp.topic}-${tp.partition}`))
        .sort(),
      all,
    );
    assert.deepEqual(group.members.map((m) => m.clientId).sort(), ["c1", "c2"]);

    await Promise.all(consumers.map((c) => c.commit()));
    await Promise.all(loops.map((l) => l.stop()));
  } finally {
    await Promise.all(consumers.map((c) => c.close().catch(() => {})));
  }

  // Both left: the group is Empty (it committed offsets) and they are the ends.
  assert.equal(cluster.topic(topic)!.partitions.every((p) => p.highWatermark === 30n), true);
  assert.deepEqual(
    await committedOffsets(cluster, groupId, topic, 6),
    Array(6).fill(30n),
  );
  const observer = new Consumer(
    groupOptions(cluster.bootstrap, { groupId, topics: [topic], commit: "manual" }),
  );
  try {
    // describeGroup() does not join the group.
    const after = await observer.describeGroup();
    assert.equal(after.state, "Empty");
    assert.equal(after.members.length, 0);
  } finally {
    await observer.close();
  }
});

Deno.test({
  name:
    "EmbeddedCluster groups: Kafka's console consumer reads with --group and commits; consumer-groups shows lag 0",
  async fn() {
    if (!Deno.env.get("SLUICE_KAFKA_LIBS")) {
      throw new Error("SLUICE_KAFKA_LIBS is not set (see scripts/kafka.sh libs)");
    }
    await using cluster = await EmbeddedCluster.start({ brokers: 3 });
    await cluster.createTopic("t", { partitions: 3 });
    await produceAll(cluster.bootstrap, "t", 3, 10);
    const b = cluster.bootstrap;
    const read = await kafkaTool("console-consumer", [
      "--bootstrap-server",
      b,
      "--topic",
      "t",
      "--group",
      "g",
      "--from-beginning",
      "--max-messages",
      "30",
      "--timeout-ms",
      "60000",
    ]);
    const lines = read.stdout.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 30, read.stderr);
    assert.deepEqual(
      await committedOffsets(cluster, "g", "t", 3),
      [10n, 10n, 10n],
    );
    const described = await kafkaTool("consumer-groups", [
      "--bootstrap-server",
      b,
      "--describe",
      "--group",
      "g",
      "--offsets",
    ]);
    const rows = described.stdout.split("\n").filter((l) => /^g\s+t\s+\d/.test(l));
    assert.equal(rows.length, 3, described.stdout + described.stderr);
    for (const row of rows) {
      const [, , , current, end, lag] = row.trim().split(/\s+/);
      assert.deepEqual([current, end, lag], ["10", "10", "0"], row);
    }
    const listed = await kafkaTool("consumer-groups", [
      "--bootstrap-server",
      b,
      "--list",
      "--state",
      "Empty",
    ]);
    assert.match(listed.stdout, /^g\s+Empty\s*$/m, listed.stdout);
    // DeleteGroups: the group is Empty, so it goes (with its offsets).
    await kafkaTool("consumer-groups", ["--bootstrap-server", b, "--delete", "--group", "g"]);
    assert.deepEqual(await committedOffsets(cluster, "g", "t", 3), [-1n, -1n, -1n]);
  },
});
