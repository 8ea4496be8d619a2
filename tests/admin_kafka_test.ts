/**
 * The public Admin client against a real broker (`KAFKA_BROKERS`), its
 * results checked against Kafka's own tools where they prove more: topic
 * partitions with `kafka-topics`, offsets with `get-offsets`, committed
 * offsets and lag with `kafka-consumer-groups`, altered configs with
 * `kafka-configs`. Each new API (CreatePartitions, DescribeConfigs,
 * IncrementalAlterConfigs) is sent at our newest version with a clean answer
 * at least once, for the version coverage guard.
 */

import assert from "node:assert/strict";
import { Admin, AdminBatchError, Consumer, KafkaProtocolError } from "../mod.ts";
import { Cluster } from "../src/net/cluster.ts";
import { produce } from "../src/net/admin.ts";
import {
  brokers,
  consumeConsole,
  describeGroup,
  kafkaTool,
  producePerf,
  topicOffsets,
  uniqueName,
} from "./_kafka.ts";

import {
  closeAll,
  CONSUMER_PROTOCOL,
  fastOptions,
  owned,
  ReadLoop,
  Tally,
  waitFor,
} from "./_consumer_helpers.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

function newAdmin(): Admin {
  return new Admin({ brokers: brokers(), clientId: "admin-test" });
}

/** Asserts `promise` rejects with a KafkaProtocolError of `name` that names `what`. */
async function rejectsWith(
  promise: Promise<unknown>,
  name: string,
  what: { topic?: string; groupId?: string },
): Promise<KafkaProtocolError> {
  const e = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(e instanceof KafkaProtocolError, `expected KafkaProtocolError ${name}, got ${e}`);
  assert.equal(e.errorName, name, e.message);
  if (what.topic !== undefined) {
    assert.equal(e.topic, what.topic);
    assert.match(e.message, new RegExp(`topic ${what.topic}`));
  }
  if (what.groupId !== undefined) {
    assert.equal(e.groupId, what.groupId);
    assert.match(e.message, new RegExp(`group ${what.groupId}`));
  }
  return e;
}

Deno.test("[kafka] Admin creates, describes, lists, grows and deletes topics", async () => {
  await using admin = newAdmin();
  const topic = uniqueName("admin-topics");
  const other = uniqueName("admin-topics-other");

  await admin.createTopics([
    { name: topic, partitions: 3, replicationFactor: 1, configs: { "retention.ms": "123456" } },
    { name: other }, // the broker's num.partitions (1)
  ]);
  const [t, o] = await admin.describeTopics([topic, other]);
  assert.equal(t.name, topic);
  assert.equal(t.internal, false);
  assert.notEqual(t.topicId, "AAAAAAAAAAAAAAAAAAAAAA");
  assert.deepEqual(t.partitions.map((p) => p.partition), [0, 1, 2]);
  for (const p of t.partitions) {
    assert.ok(p.leader >= 0);
    assert.deepEqual(p.replicas, [p.leader]);
    assert.deepEqual(p.isr, [p.leader]);
  }
  assert.equal(o.partitions.length, 1);

  // kafka-topics sees the same partitions and the config we gave.
  const described = await kafkaTool("topics", [
    "--bootstrap-server",
    brokers(),
    "--describe",
    "--topic",
    topic,
  ]);
  assert.match(described.stdout, /PartitionCount:\s*3/);
  assert.match(described.stdout, /retention\.ms=123456/);

  const names = await admin.listTopics();
  assert.ok(names.includes(topic) && names.includes(other));
  assert.ok(!names.some((n) => n.startsWith("__")), "internal topics are left out by default");

  // Exists already: an error naming the topic; fine with ifMissing.
  const exists = await rejectsWith(
    admin.createTopics([{ name: topic, partitions: 3 }]),
    "TOPIC_ALREADY_EXISTS",
    { topic },
  );
  assert.match(exists.message, /broker said: /);
  await admin.createTopics([{ name: topic, partitions: 3 }], { ifMissing: true });

  // validateOnly creates nothing.
  const dry = uniqueName("admin-dry");
  await admin.createTopics([{ name: dry, partitions: 2 }], { validateOnly: true });
  assert.ok(!(await admin.listTopics()).includes(dry));

  // Several failures: every item tried, one error listing each.
  const batch = await admin.createTopics([
    { name: topic },
    { name: "bad name!" },
    { name: uniqueName("admin-ok") },
  ]).then(() => undefined, (e: unknown) => e);
  assert.ok(batch instanceof AdminBatchError, String(batch));
  assert.equal(batch.errors.length, 2);
  assert.match(batch.message, /TOPIC_ALREADY_EXISTS/);
  assert.match(batch.message, /INVALID_TOPIC_EXCEPTION/);

  // CreatePartitions: grow to 5, then shrinking is refused, naming the topic.
  await admin.createPartitions([{ topic, count: 5 }]);
  const [grown] = await admin.describeTopics([topic]);
  assert.equal(grown.partitions.length, 5);
  assert.ok(grown.partitions.every((p) => p.leader >= 0));
  await admin.createPartitions([{ topic, count: 6 }], { validateOnly: true });
  assert.equal((await admin.describeTopics([topic]))[0].partitions.length, 5);
  await rejectsWith(admin.createPartitions([{ topic, count: 2 }]), "INVALID_PARTITIONS", { topic });

  await admin.deleteTopics([topic, other]);
  const after = await admin.listTopics();
  assert.ok(!after.includes(topic) && !after.includes(other));
  // The name can be created again at once.
  await admin.createTopics([{ name: topic, partitions: 1 }]);
  await admin.deleteTopics([topic]);

  const missing = uniqueName("admin-missing");
  await rejectsWith(admin.deleteTopics([missing]), "UNKNOWN_TOPIC_OR_PARTITION", {
    topic: missing,
  });
  await rejectsWith(admin.describeTopics([missing]), "UNKNOWN_TOPIC_OR_PARTITION", {
    topic: missing,
  });
});

Deno.test("[kafka] Admin lists offsets at leaders: earliest, latest, by timestamp; as get-offsets", async () => {
  await using admin = newAdmin();
  const topic = uniqueName("admin-offsets");
  await admin.createTopics([{ name: topic, partitions: 2 }]);
  const cluster = new Cluster({ brokers: brokers().split(",") });
  const base = Date.now() - 60_000;
  try {
    await produce(
      cluster,
      topic,
      0,
      [0, 1, 2, 3].map((i) => ({
        value: bytes(`v${i}`),
        timestamp: base + i * 1000,
      })),
    );
  } finally {
    await cluster.close();
  }
  await producePerf(topic, { numRecords: 7, recordSize: 10 });

  const listed = await admin.listOffsets([
    { topic, partition: 0, at: "earliest" },
    { topic, partition: 0, at: "latest" },
    { topic, partition: 1, at: "latest" },
    { topic, partition: 0, at: { timestamp: base + 1500 } },
    { topic, partition: 0, at: { timestamp: Date.now() + 3_600_000 } },
  ], { isolationLevel: "read_committed" });
  assert.equal(listed[0].offset, 0n);
  assert.equal(listed[0].timestamp, -1);
  const tool = await topicOffsets(topic);
  assert.deepEqual(
    [listed[1].offset, listed[2].offset],
    tool.map((p) => p.offset),
    "latest offsets match get-offsets",
  );
  assert.equal(listed[1].offset + listed[2].offset, 11n);
  // The first record at or after base + 1.5 s is the third of ours (offset 2).
  assert.equal(listed[3].offset, 2n);
  assert.ok(listed[3].timestamp > 0);
  assert.ok(listed[3].leaderEpoch >= 0);
  // Nothing that recent: -1, as Kafka answers.
  assert.equal(listed[4].offset, -1n);

  await rejectsWith(
    admin.listOffsets([{ topic, partition: 9, at: "latest" }]),
    "UNKNOWN_TOPIC_OR_PARTITION",
    { topic },
  );
  await admin.deleteTopics([topic]);
});

Deno.test("[kafka] Admin lists, describes, reads offsets of and deletes groups (as kafka-consumer-groups)", async () => {
  await using admin = newAdmin();
  const topic = uniqueName("admin-groups");
  const group = uniqueName("admin-group");
  await admin.createTopics([{ name: topic, partitions: 3 }]);
  await producePerf(topic, { numRecords: 30, recordSize: 10 });
  // Java's console consumer reads 12 records in `group` and commits on exit.
  await consumeConsole(topic, { maxMessages: 12, group });

  const rows = await admin.groupOffsets(group);
  const tool = (await describeGroup(group, { extra: ["--offsets"] })).rows;
  assert.deepEqual(
    rows.map((r) => ({ ...r, metadata: undefined })),
    tool.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      committed: r.currentOffset,
      logEnd: r.logEndOffset,
      lag: r.lag,
      metadata: undefined,
    })),
    "committed offsets, log ends and lag as kafka-consumer-groups shows them",
  );
  assert.equal(
    rows.reduce((s, r) => s + (r.lag ?? 0n), 0n),
    30n - rows.reduce(
      (s, r) => s + (r.committed ?? 0n),
      0n,
    ),
  );
  // Naming the topic lists every partition, committed or not.
  const byTopic = await admin.groupOffsets(group, [topic]);
  assert.deepEqual(byTopic.map((r) => r.partition), [0, 1, 2]);
  // An unknown group has no commits.
  const none = await admin.groupOffsets(uniqueName("admin-nogroup"), [topic]);
  assert.ok(none.every((r) => r.committed === null && r.lag === null && r.logEnd >= 0n));

  const listed = await admin.listGroups();
  const mine = listed.find((g) => g.groupId === group);
  assert.deepEqual(mine, {
    groupId: group,
    protocolType: "consumer",
    state: "Empty",
    type: "classic",
  });
  assert.ok((await admin.listGroups({ states: ["Stable"] })).every((g) => g.groupId !== group));

  // A running member of ours: Stable, with its assignment decoded.
  const member = uniqueName("admin-member");
  const consumer = new Consumer({
    brokers: brokers(),
    clientId: "admin-test-member",
    groupId: member,
    topics: [topic],
    autoOffsetReset: "earliest",
    heartbeatThread: "event-loop",
  });
  try {
    const reader = consumer.readable.getReader();
    await reader.read();
    reader.releaseLock();
    const [d] = await admin.describeGroups([member]);
    assert.equal(d.groupId, member);
    assert.equal(d.type, "classic");
    assert.equal(d.state, "Stable");
    assert.equal(d.protocolType, "consumer");
    assert.equal(d.protocol, "range");
    assert.equal(d.members.length, 1);
    assert.equal(d.members[0].clientId, "admin-test-member");
    // The consumer-group fields stay absent for a classic group.
    assert.equal(d.groupEpoch, undefined);
    assert.equal(d.members[0].memberEpoch, undefined);
    assert.equal(d.members[0].targetAssignment, undefined);
    assert.deepEqual(
      d.members[0].assignment.map((p) => p.partition).sort(),
      [0, 1, 2],
    );
    // A group with members cannot be deleted.
    await rejectsWith(admin.deleteGroups([member]), "NON_EMPTY_GROUP", { groupId: member });
  } finally {
    await consumer.close();
  }

  const [empty] = await admin.describeGroups([group]);
  assert.equal(empty.state, "Empty");
  assert.deepEqual(empty.members, []);

  await admin.deleteGroups([group]);
  assert.equal((await describeGroup(group)).exists, false);
  assert.ok((await admin.listGroups()).every((g) => g.groupId !== group));
  await rejectsWith(admin.deleteGroups([group]), "GROUP_ID_NOT_FOUND", { groupId: group });
  const unknown = uniqueName("admin-unknown");
  await rejectsWith(admin.describeGroups([unknown]), "GROUP_ID_NOT_FOUND", { groupId: unknown });
  const both = await admin.deleteGroups([group, unknown]).then(() => undefined, (e) => e);
  assert.ok(both instanceof AdminBatchError && both.errors.length === 2, String(both));
  await admin.deleteTopics([topic]);
});

Deno.test("[kafka] Admin describes a KIP-848 consumer group (ConsumerGroupDescribe) and its offsets", async () => {
  await using admin = newAdmin();
  const topic = uniqueName("admin-kip848");
  const group = uniqueName("admin-kip848-group");
  await admin.createTopics([{ name: topic, partitions: 2 }]);
  await producePerf(topic, { numRecords: 10, recordSize: 10 });
  // Java's console consumer in a `consumer`-protocol group reads (at least) 4 records and commits.
  await kafkaTool("console-consumer", [
    "--bootstrap-server",
    brokers(),
    "--topic",
    topic,
    "--group",
    group,
    "--consumer-property",
    "group.protocol=consumer",
    "--max-messages",
    "4",
    "--from-beginning",
    "--timeout-ms",
    "20000",
  ]);
  const listed = (await admin.listGroups({ types: ["consumer"] })).find((g) => g.groupId === group);
  assert.deepEqual(listed, {
    groupId: group,
    protocolType: "consumer",
    state: "Empty",
    type: "consumer",
  });
  // DescribeGroups answers "not a classic group"; ConsumerGroupDescribe describes it.
  const [d] = await admin.describeGroups([group]);
  assert.equal(d.type, "consumer");
  assert.equal(d.state, "Empty");
  assert.equal(d.protocolType, "consumer");
  assert.deepEqual(d.members, []);
  const rows = await admin.groupOffsets(group);
  const tool = (await describeGroup(group, { extra: ["--offsets"] })).rows;
  assert.deepEqual(
    rows.map((r) => [r.topic, r.partition, r.committed, r.logEnd, r.lag]),
    tool.map((r) => [r.topic, r.partition, r.currentOffset, r.logEndOffset, r.lag]),
  );
  assert.ok(rows.reduce((s, r) => s + (r.committed ?? 0n), 0n) >= 4n);
  await admin.deleteGroups([group]);
  await admin.deleteTopics([topic]);
});

Deno.test("[kafka] Admin describes a live KIP-848 group of two sluice consumers: epochs, targets, subscriptions", async () => {
  await using admin = newAdmin();
  const topic = uniqueName("admin-kip848-live");
  const group = uniqueName("admin-kip848-live-group");
  await admin.createTopics([{ name: topic, partitions: 4 }]);
  const tally = new Tally();
  const member = (name: string) =>
    new ReadLoop(
      new Consumer(fastOptions({
        groupId: group,
        topics: [topic],
        ...CONSUMER_PROTOCOL,
      })),
      tally,
      name,
    );
  const loops = [member("c1"), member("c2")];
  const key = (tps: readonly { topic: string; partition: number }[]) =>
    tps.map((tp) => `${tp.topic}-${tp.partition}`).sort();
  try {
    // Stable: every member at the assignment epoch owns its target, 2 each.
    const d = await waitFor(
      "a stable group of 2, each member owning its target",
      async () => {
        // GROUP_ID_NOT_FOUND until the first heartbeat created the group.
        const g = (await admin.describeGroups([group]).catch(() => []))[0];
        if (g === undefined) return undefined;
        const settled = g.state === "Stable" && g.members.length === 2 &&
          g.members.every((m) =>
            m.memberEpoch === g.assignmentEpoch && m.assignment.length === 2 &&
            key(m.assignment).join() === key(m.targetAssignment ?? []).join()
          );
        // The broker's assignment is what it handed out; the member takes it
        // on with its next heartbeat answer and reconciliation: wait for both.
        const taken = g.members.every((m) =>
          loops.some((l) => key(m.assignment).join() === owned(l.consumer).join())
        );
        return settled && taken ? g : undefined;
      },
      60_000,
      { intervalMs: 250, describe: () => loops.map((l) => owned(l.consumer)).join(" | ") },
    );
    assert.equal(d.type, "consumer");
    assert.ok(d.groupEpoch! > 0, `group epoch ${d.groupEpoch}`);
    assert.ok(d.assignmentEpoch! > 0, `assignment epoch ${d.assignmentEpoch}`);
    assert.equal(d.assignmentEpoch, d.groupEpoch, "the target is of the latest group epoch");
    assert.equal(d.assignor, "uniform", "the broker's default assignor");
    assert.equal(d.assignor, d.protocol);
    assert.deepEqual(
      key(d.members.flatMap((m) => m.assignment)),
      key([0, 1, 2, 3].map((partition) => ({ topic, partition }))),
      "the members' assignments cover every partition once",
    );
    for (const m of d.members) {
      assert.ok(m.memberEpoch! > 0);
      assert.deepEqual(m.subscribedTopicNames, [topic]);
      assert.equal(m.subscribedTopicRegex, null);
      assert.equal(m.memberType, "consumer");
      assert.equal(m.rackId, null);
      assert.equal(m.clientId, "sluice-test");
    }
    // The consumer's own describeGroup() is the same view.
    const own = await loops[0].consumer.describeGroup();
    assert.equal(own.groupEpoch, d.groupEpoch);
    assert.equal(own.members.length, 2);
    for (const l of loops) assert.equal(l.error, undefined);
    // One at a time, the second once it owns everything: a consumer closed
    // while its reconciliation's OffsetFetch is in flight leaves a rejected
    // promise nobody handles (consumer_membership.ts #reconciling).
    await loops[1].stop();
    await waitFor("c1 to own all 4", () => owned(loops[0].consumer).length === 4, 30_000);
    await loops[0].stop();
  } finally {
    await Promise.all(loops.map((l) => l.stop().catch(() => {})));
    await closeAll(...loops.map((l) => l.consumer));
  }
  // Both left: the group stays, empty, with its commits.
  const [gone] = await admin.describeGroups([group]);
  assert.equal(gone.state, "Empty");
  await admin.deleteGroups([group]);
  await admin.deleteTopics([topic]);
});

Deno.test("[kafka] Admin describes and alters configs (as kafka-configs reads them back)", async () => {
  await using admin = newAdmin();
  const topic = uniqueName("admin-configs");
  await admin.createTopics([{ name: topic, partitions: 1 }]);

  const [before] = await admin.describeConfigs([{ type: "topic", name: topic }]);
  assert.equal(before.type, "topic");
  assert.equal(before.name, topic);
  const retention = before.entries.find((e) => e.name === "retention.ms");
  assert.deepEqual(retention && { ...retention, value: undefined }, {
    name: "retention.ms",
    value: undefined,
    readOnly: false,
    isDefault: true,
    source: "default",
    sensitive: false,
  });

  await admin.alterConfigs([{
    type: "topic",
    name: topic,
    set: { "retention.ms": "7200000" },
    append: { "cleanup.policy": "compact" },
  }]);
  const tool = await kafkaTool("configs", [
    "--bootstrap-server",
    brokers(),
    "--describe",
    "--entity-type",
    "topics",
    "--entity-name",
    topic,
  ]);
  assert.match(tool.stdout, /retention\.ms=7200000/);
  assert.match(tool.stdout, /cleanup\.policy=delete,compact/);
  const [after] = await admin.describeConfigs([{ type: "topic", name: topic }]);
  const entry = (name: string) => after.entries.find((e) => e.name === name);
  assert.equal(entry("retention.ms")?.value, "7200000");
  assert.equal(entry("retention.ms")?.source, "dynamic-topic");
  assert.equal(entry("retention.ms")?.isDefault, false);

  await admin.alterConfigs([{
    type: "topic",
    name: topic,
    delete: ["retention.ms"],
    subtract: { "cleanup.policy": "compact" },
  }]);
  const [reset] = await admin.describeConfigs([{ type: "topic", name: topic }]);
  assert.equal(reset.entries.find((e) => e.name === "retention.ms")?.source, "default");
  assert.equal(reset.entries.find((e) => e.name === "cleanup.policy")?.value, "delete");

  // validateOnly changes nothing.
  await admin.alterConfigs([{ type: "topic", name: topic, set: { "retention.ms": "1000" } }], {
    validateOnly: true,
  });
  const [same] = await admin.describeConfigs([{ type: "topic", name: topic }]);
  assert.equal(same.entries.find((e) => e.name === "retention.ms")?.source, "default");

  // A broker's configs, asked of that broker; a group's configs (KIP-848).
  const [broker] = await admin.describeTopics([topic]).then(([t]) => t.partitions);
  const [b, g] = await admin.describeConfigs([
    { type: "broker", name: String(broker.leader) },
    { type: "group", name: uniqueName("admin-config-group") },
  ]);
  assert.ok(b.entries.some((e) => e.name === "log.retention.hours" && e.readOnly));
  assert.ok(g.entries.some((e) => e.name === "consumer.session.timeout.ms"), "group configs");

  // Bad input: typed errors naming the resource, with the broker's message.
  const bad = await rejectsWith(
    admin.alterConfigs([{ type: "topic", name: topic, set: { "retention.ms": "soon" } }]),
    "INVALID_CONFIG",
    { topic },
  );
  assert.ok(bad.errorMessage !== undefined && bad.errorMessage.length > 0);
  const missing = uniqueName("admin-missing");
  await rejectsWith(
    admin.describeConfigs([{ type: "topic", name: missing }]),
    "UNKNOWN_TOPIC_OR_PARTITION",
    { topic: missing },
  );
  await admin.deleteTopics([topic]);
});

Deno.test("[kafka] Admin after close throws; the signal option closes it", async () => {
  const controller = new AbortController();
  const admin = new Admin({ brokers: brokers(), signal: controller.signal });
  assert.ok((await admin.listTopics()).length >= 0);
  controller.abort();
  await admin.close();
  await assert.rejects(admin.listTopics(), /closed/);
});
