// examples/verifiable_consumer.ts, sluice speaking the protocol of Kafka's
// VerifiableConsumer: its flags, and against the real broker (KAFKA_BROKERS)
// that its events are well-formed and that it sees every record Kafka's own
// VerifiableProducer had acknowledged, exactly once.

import assert from "node:assert/strict";
import { parseArgs, UsageError } from "../examples/verifiable_consumer.ts";
import { checkRun } from "../scripts/chaos/checker.ts";
import {
  type ConsumerEvent,
  parseConsumerLine,
  parseProducerLine,
} from "../scripts/chaos/events.ts";
import { brokers, consumerGroupOffsets, kafkaTool, uniqueName } from "./_kafka.ts";
import { LineProcess, newTopic } from "./_consumer_helpers.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const SCRIPT = `${ROOT}examples/verifiable_consumer.ts`;

Deno.test("parseArgs() takes Kafka's VerifiableConsumer flags", () => {
  const a = parseArgs([
    "--group-id",
    "g",
    "--topic",
    "t",
    "--broker-list",
    "h1:1,h2:2",
    "--session-timeout",
    "10000",
    "--enable-autocommit",
    "--max-messages",
    "50",
    "--assignment-strategy",
    "org.apache.kafka.clients.consumer.RoundRobinAssignor",
    "--reset-policy=latest",
    "--group-instance-id",
    "i1",
    "--verbose",
  ]);
  assert.deepEqual(a.brokers, ["h1:1", "h2:2"]);
  assert.equal(a.groupId, "g");
  assert.equal(a.topic, "t");
  assert.equal(a.sessionTimeoutMs, 10000);
  assert.equal(a.autoCommit, true);
  assert.equal(a.maxMessages, 50);
  assert.deepEqual(a.assignors, ["roundrobin"]);
  assert.equal(a.resetPolicy, "latest");
  assert.equal(a.groupInstanceId, "i1");
  assert.equal(a.verbose, true);
  // Defaults as in Kafka's tool; --bootstrap-server wins over --broker-list.
  const d = parseArgs([
    "--group-id=g",
    "--topic=t",
    "--bootstrap-server=b:1",
    "--broker-list=old:1",
  ]);
  assert.deepEqual(d.brokers, ["b:1"]);
  assert.equal(d.sessionTimeoutMs, 30000);
  assert.equal(d.autoCommit, false);
  assert.equal(d.maxMessages, -1);
  assert.equal(d.resetPolicy, "earliest");
  assert.deepEqual(d.assignors, ["range"]);
});

Deno.test("parseArgs() names the flag at fault", () => {
  const base = ["--group-id", "g", "--topic", "t"];
  assert.throws(() => parseArgs(base), /--bootstrap-server \(or --broker-list\) is required/);
  assert.throws(
    () => parseArgs([...base, "--bootstrap-server", "b:1", "--bogus", "1"]),
    UsageError,
  );
  assert.throws(
    () => parseArgs([...base, "--bootstrap-server", "b:1", "--group-protocol", "eager"]),
    /--group-protocol must be classic or consumer/,
  );
  assert.throws(
    () =>
      parseArgs([
        ...base,
        "--bootstrap-server",
        "b:1",
        "--group-protocol",
        "consumer",
        "--session-timeout",
        "6000",
      ]),
    /--session-timeout does not go with --group-protocol consumer/,
  );
  assert.throws(
    () => parseArgs([...base, "--bootstrap-server", "b:1", "--group-remote-assignor", "range"]),
    /with --group-protocol consumer only/,
  );
  const kip848 = parseArgs([
    ...base,
    "--bootstrap-server",
    "b:1",
    "--group-protocol",
    "CONSUMER",
    "--group-remote-assignor",
    "range",
  ]);
  assert.equal(kip848.groupProtocol, "consumer");
  assert.equal(kip848.groupRemoteAssignor, "range");
  assert.throws(
    () => parseArgs([...base, "--bootstrap-server", "b:1", "--assignment-strategy", "x.Sticky"]),
    /not supported/,
  );
  assert.throws(
    () => parseArgs([...base, "--bootstrap-server", "b:1", "--max-messages", "ten"]),
    /--max-messages must be an integer/,
  );
});

function events(p: LineProcess): ConsumerEvent[] {
  // Strict: a malformed event throws here and fails the test.
  return p.lines.map(parseConsumerLine).filter((e): e is ConsumerEvent => e !== null);
}

async function produce(topic: string, count: number) {
  const out = await kafkaTool("verifiable-producer", [
    "--bootstrap-server",
    brokers(),
    "--topic",
    topic,
    "--max-messages",
    String(count),
    "--acks",
    "-1",
    "--repeating-keys",
    "30",
  ]);
  const acks = out.stdout.split("\n").map(parseProducerLine).filter((a) => a !== null);
  assert.equal(acks.length, count, `the producer acknowledged ${acks.length} of ${count}`);
  return acks;
}

function spawnTool(args: string[]): LineProcess {
  return new LineProcess(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", SCRIPT, "--bootstrap-server", brokers(), ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }),
  );
}

/** Committed offsets per partition, as Kafka's own consumer-groups tool reads them. */
async function committedOffsets(groupId: string, topic: string, partitions: number) {
  const rows = (await consumerGroupOffsets(groupId)).filter((r) => r.topic === topic);
  return Array.from(
    { length: partitions },
    (_, p) => rows.find((r) => r.partition === p)?.currentOffset ?? undefined,
  );
}

Deno.test("verifiable_consumer.ts prints well-formed events and sees every acked record once", async () => {
  const topic = await newTopic("verifiable", 3);
  const acks = await produce(topic, 300);
  const groupId = uniqueName("verifiable-group");
  const tool = spawnTool([
    "--topic",
    topic,
    "--group-id",
    groupId,
    "--session-timeout",
    "10000",
    "--max-messages",
    "300",
    "--verbose",
  ]);
  const { status, stderr } = await tool.finish(60_000);
  assert.equal(status.code, 0, `exit ${status.code}; stderr:\n${stderr.slice(-2000)}`);
  const evs = events(tool);
  const names = evs.map((e) => e.name);
  assert.equal(names[0], "startup_complete");
  assert.equal(names[names.length - 1], "shutdown_complete");
  assert.equal(names[1], "partitions_assigned");
  const first = evs[1] as Extract<ConsumerEvent, { name: "partitions_assigned" }>;
  assert.deepEqual(
    first.partitions.map((p) => `${p.topic}/${p.partition}`).sort(),
    [0, 1, 2].map((p) => `${topic}/${p}`),
  );
  // Each records_consumed is followed by its synchronous commit at maxOffset + 1.
  let records = 0;
  for (let i = 0; i < evs.length; i++) {
    const e = evs[i];
    if (e.name !== "records_consumed") continue;
    records += e.count;
    assert.equal(e.count, e.partitions.reduce((n, r) => n + r.count, 0));
    const next = evs[i + 1];
    assert.equal(next?.name, "offsets_committed");
    assert.ok(next.name === "offsets_committed" && next.success, JSON.stringify(next));
    assert.deepEqual(
      next.offsets,
      e.partitions.map((r) => ({ topic, partition: r.partition, offset: r.maxOffset + 1 })),
    );
  }
  assert.equal(records, 300);
  // --verbose: one record_data per record, values as the producer wrote them.
  const data = evs.filter((e) => e.name === "record_data");
  assert.equal(data.length, 300);
  const values = new Set(data.map((d) => d.name === "record_data" ? d.value : null));
  assert.equal(values.size, 300);
  assert.ok(values.has("0") && values.has("299"));
  // The chaos checker agrees: nothing lost, no duplicates, nothing out of order.
  const report = checkRun({
    topic,
    partitions: 3,
    members: [{ id: "tool", events: evs, end: null, pauses: [] }],
    acks,
    samples: [],
    faults: [],
    cleanFrom: 0,
    finalCommitted: null,
  });
  assert.deepEqual(report.violations, []);
  assert.equal(report.stats.distinct, 300);
  assert.equal(report.stats.duplicates, 0);
  const committed = await committedOffsets(groupId, topic, 3);
  const ends = [0, 1, 2].map((p) =>
    BigInt(acks.filter((a) => a.partition === p).reduce((m, a) => Math.max(m, a.offset + 1), 0))
  );
  assert.deepEqual(committed, ends);
});

Deno.test("verifiable_consumer.ts with --enable-autocommit commits on SIGTERM and prints shutdown_complete", async () => {
  const topic = await newTopic("verifiable", 2);
  const acks = await produce(topic, 100);
  const groupId = uniqueName("verifiable-group");
  const tool = spawnTool([
    "--topic",
    topic,
    "--group-id",
    groupId,
    "--session-timeout",
    "10000",
    "--enable-autocommit",
  ]);
  try {
    const deadline = Date.now() + 45_000;
    const consumed = () =>
      events(tool).reduce((n, e) => n + (e.name === "records_consumed" ? e.count : 0), 0);
    while (consumed() < 100) {
      if (tool.exited || Date.now() > deadline) {
        const { stderr } = await tool.finish(1000);
        assert.fail(`consumed ${consumed()} of 100; stderr:\n${stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    tool.kill("SIGTERM");
    const { status } = await tool.finish(30_000);
    assert.equal(status.code, 0);
  } finally {
    tool.kill("SIGKILL");
    await tool.finish(5000);
  }
  const names = events(tool).map((e) => e.name);
  // Kafka's tool prints commits only without auto-commit.
  assert.ok(!names.includes("offsets_committed"), names.join(","));
  assert.deepEqual(names.slice(-2), ["partitions_revoked", "shutdown_complete"]);
  const committed = await committedOffsets(groupId, topic, 2);
  const ends = [0, 1].map((p) =>
    BigInt(acks.filter((a) => a.partition === p).reduce((m, a) => Math.max(m, a.offset + 1), 0))
  );
  assert.deepEqual(committed, ends);
});
