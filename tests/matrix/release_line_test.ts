// One Kafka release line, end to end: `deno task test` runs this file against
// each release of the version matrix (scripts/kafka/versions.sh), one broker
// after the other, with KAFKA_BROKERS, SLUICE_KAFKA_VERSION and KAFKA_VERSION
// naming that broker and release (Kafka's tools then come from the same
// release). It proves, per line, what a consumer needs:
//
// - ApiVersions negotiation: every API the client sends negotiates the
//   highest version both sides speak; the table is printed (and written to
//   SLUICE_API_RECORD_DIR/negotiated-<version>.tsv for the run's summary);
// - data written by Kafka's producer perf tool and console producer (keys,
//   headers) in every codec, read by a group of two of our consumers: the
//   rebalance when the second joins, every record exactly once, and the
//   committed offsets as Kafka's consumer-groups tool reads them back;
// - assign mode starting at a timestamp, and seek() to a timestamp;
// - read_committed over Kafka's transactional copier (random aborts);
// - a member whose handler blocks its event loop for 2.5x sessionTimeoutMs
//   keeps its partitions (heartbeats in a Worker), and its ack is committed.

import assert from "node:assert/strict";
import { Admin, Consumer, Producer, type RecordBatch } from "../../mod.ts";
import { Connection } from "../../src/net/connection.ts";
import * as apis from "../../src/protocol/messages/mod.ts";
import { DECLARED_APIS } from "../../src/protocol/apis.ts";
import type { ApiSchema } from "../../src/protocol/schema.ts";
import { ourVersions } from "../../src/protocol/version_caps.ts";
import {
  brokers,
  type Compression,
  consumeConsole,
  describeGroup,
  kafkaTool,
  produceConsole,
  producePerf,
  uniqueName,
} from "../_kafka.ts";
import {
  BatchReader,
  closeAll,
  CONSUMER_PROTOCOL,
  fastOptions,
  newTopic,
  owned,
  produceValues,
  readAll,
  ReadLoop,
  readUntil,
  splitProblem,
  Tally,
  text,
  values,
  waitFor,
} from "../_consumer_helpers.ts";
import { blockedMemberKeepsPartitions } from "../_blocked.ts";

const CODECS: readonly Compression[] = ["none", "gzip", "snappy", "lz4", "zstd"];

/** The release under test, from the environment test.sh sets. */
function release(): string {
  const version = Deno.env.get("SLUICE_KAFKA_VERSION");
  if (!version) {
    throw new Error(
      "SLUICE_KAFKA_VERSION is not set: run with `deno task test` (its matrix phase runs " +
        "tests/matrix/ against each release), or set it to the version of KAFKA_BROKERS' broker",
    );
  }
  return version;
}

/** The APIs a consumer sends on a plaintext listener, by name. */
const CONSUMER_APIS = [
  apis.ApiVersionsApi,
  apis.MetadataApi,
  apis.FindCoordinatorApi,
  apis.JoinGroupApi,
  apis.SyncGroupApi,
  apis.HeartbeatApi,
  apis.LeaveGroupApi,
  apis.OffsetFetchApi,
  apis.OffsetCommitApi,
  apis.ListOffsetsApi,
  apis.FetchApi,
  apis.OffsetForLeaderEpochApi,
  apis.DescribeGroupsApi,
] as readonly ApiSchema[];

function options(extra: Parameters<typeof fastOptions>[0]) {
  return fastOptions({ clientId: `sluice-matrix-${release()}`, ...extra });
}

Deno.test(`Kafka ${Deno.env.get("SLUICE_KAFKA_VERSION") ?? "?"}: ApiVersions negotiates the highest common version of every API`, async () => {
  const version = release();
  const [host, port] = brokers().split(",")[0].split(":");
  const conn = await Connection.connect({ host, port: Number(port) });
  const rows: string[] = [];
  try {
    const every = DECLARED_APIS;
    for (const api of every) {
      const theirs = conn.brokerVersions(api.apiKey);
      const ours = ourVersions(api);
      if (theirs === undefined) {
        assert.ok(
          !CONSUMER_APIS.includes(api),
          `Kafka ${version} does not offer ${api.name}, which the consumer needs`,
        );
        continue;
      }
      const negotiated = conn.version(api);
      assert.equal(negotiated, Math.min(ours.max, theirs.max), api.name);
      assert.ok(negotiated >= Math.max(ours.min, theirs.min), api.name);
      rows.push(
        [api.name, negotiated, `${ours.min}-${ours.max}`, `${theirs.min}-${theirs.max}`].join("\t"),
      );
    }
  } finally {
    conn.close();
  }
  for (const api of CONSUMER_APIS) {
    assert.ok(rows.some((r) => r.startsWith(`${api.name}\t`)), `${api.name} negotiated`);
  }
  console.log(
    `negotiated on Kafka ${version} (api, version, ours, broker's):\n${rows.join("\n")}`,
  );
  const dir = Deno.env.get("SLUICE_API_RECORD_DIR");
  if (dir) await Deno.writeTextFile(`${dir}/negotiated-${version}.tsv`, rows.join("\n") + "\n");
});

/** What a test keeps of each record: key, value and headers as text. */
interface Kept {
  key: string | null;
  value: string | null;
  headers: string;
}

/** A Tally that also keeps every record's key and headers, by `partition@offset`. */
class KeepingTally extends Tally {
  readonly records: Map<string, Kept> = new Map();

  override add(batch: RecordBatch, by?: string): void {
    super.add(batch, by);
    for (const r of batch.records) {
      this.records.set(`${batch.partition}@${r.offset}`, {
        key: text(r.key),
        value: text(r.value),
        headers: r.headers.map((h) => `${h.key}:${text(h.value)}`).join(","),
      });
    }
  }
}

/** Console-producer lines `headers<TAB>key<TAB>value` of one codec. */
function consoleLines(round: string, codec: string, count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `codec:${codec},n:${i}\tk-${round}-${codec}-${i}\tv-${round}-${codec}-${i}`,
  );
}

Deno.test(`Kafka ${Deno.env.get("SLUICE_KAFKA_VERSION") ?? "?"}: a group of two consumers reads Kafka's producers' records in every codec exactly once; the consumer-groups tool reads back the commits`, async () => {
  const bootstrap = brokers();
  const topic = await newTopic("matrix-group", 3);
  const groupId = uniqueName("matrix-group");
  const PERF = 100;
  const CONSOLE = 20;
  // Round 1: every codec from both of Kafka's producers.
  for (const codec of CODECS) {
    await producePerf(topic, { numRecords: PERF, recordSize: 64, compression: codec });
    await produceConsole(topic, consoleLines("r1", codec, CONSOLE), {
      parseKey: true,
      parseHeaders: true,
      compression: codec,
    });
  }
  const round1 = CODECS.length * (PERF + CONSOLE);

  const tally = new KeepingTally();
  const c1 = new ReadLoop(new Consumer(options({ groupId, topics: [topic] })), tally, "c1");
  let c2: ReadLoop | undefined;
  const describe = () =>
    `c1 [${owned(c1.consumer).join(", ")}], c2 [${
      c2 ? owned(c2.consumer).join(", ") : "-"
    }]; ${tally.summary()}`;
  const all = [0, 1, 2].map((p) => `${topic}-${p}`);
  try {
    await waitFor("c1 to read round 1", () => tally.distinct() >= round1, 60_000, { describe });
    await c1.consumer.commit();

    // The second member joins: the group rebalances and splits the partitions.
    c2 = new ReadLoop(new Consumer(options({ groupId, topics: [topic] })), tally, "c2");
    const consumers = [c1.consumer, c2.consumer];
    await waitFor(
      "c1 and c2 to split the 3 partitions",
      () =>
        splitProblem(consumers, all) === undefined &&
        consumers.every((c) => owned(c).length >= 1),
      30_000,
      { describe },
    );
    const group = await c1.consumer.describeGroup();
    assert.equal(group.state, "Stable");
    assert.equal(group.members.length, 2);

    // Round 2, read by both members.
    await producePerf(topic, { numRecords: 300, recordSize: 64, compression: "lz4" });
    await produceConsole(topic, consoleLines("r2", "zstd", 30), {
      parseKey: true,
      parseHeaders: true,
      compression: "zstd",
    });
    const total = round1 + 330;
    await waitFor("both rounds read", () => tally.distinct() >= total, 60_000, { describe });
    assert.ok(c1.error === undefined && c2.error === undefined, String(c1.error ?? c2.error));
    const readers = new Set([...tally.partitions.values()].flat().map((s) => s.by));
    assert.ok(readers.has("c2"), `c2 read some of round 2: ${describe()}`);
    await Promise.all(consumers.map((c) => c.commit()));
    await Promise.all([c1.stop(), c2.stop()]);

    assert.equal(tally.count, total, `each record once: ${tally.summary()}`);
    assert.deepEqual(tally.duplicates(), []);
    assert.deepEqual(tally.orderViolations(), []);
    // The console producer's records, keys and headers intact, in every codec.
    const consoleRecords = [...tally.records.values()].filter((r) => r.key !== null);
    const expected = [
      ...CODECS.flatMap((codec) => consoleLines("r1", codec, CONSOLE)),
      ...consoleLines("r2", "zstd", 30),
    ].map((line) => {
      const [headers, key, value] = line.split("\t");
      return JSON.stringify({ key, value, headers });
    });
    assert.deepEqual(
      consoleRecords.map((r) => JSON.stringify(r)).sort(),
      expected.sort(),
    );
    // The perf tool's records: keyless values of 64 bytes.
    const perf = [...tally.records.values()].filter((r) => r.key === null);
    assert.equal(perf.length, CODECS.length * PERF + 300);
    assert.ok(perf.every((r) => r.value?.length === 64 && r.headers === ""));

    // Kafka's consumer-groups tool: committed = log end on every partition,
    // and the log ends add up to the records read (no transactions here).
    const rows = (await describeGroup(groupId, { bootstrap })).rows;
    assert.equal(
      rows.length,
      3,
      JSON.stringify(rows, (_, v) => typeof v === "bigint" ? `${v}` : v),
    );
    let ends = 0n;
    for (const row of rows) {
      assert.equal(row.currentOffset, row.logEndOffset, `${row.topic}-${row.partition} committed`);
      assert.equal(row.lag, 0n);
      ends += row.logEndOffset;
    }
    assert.equal(ends, BigInt(total));
  } finally {
    await Promise.all([c1.stop().catch(() => {}), c2?.stop().catch(() => {})]);
    await closeAll(c1.consumer, c2?.consumer);
  }
});

Deno.test(`Kafka ${Deno.env.get("SLUICE_KAFKA_VERSION") ?? "?"}: assign mode starts at a timestamp, and seek() moves to one`, async () => {
  const topic = await newTopic("matrix-time", 1);
  const base = Date.now() - 600_000;
  await produceValues(
    topic,
    0,
    values("t", 30).map((value, i) => ({ value, timestamp: base + i * 1000 })),
  );
  const tp = { topic, partition: 0 };
  // The first record at or after base + 10.5 s is offset 11.
  const consumer = new Consumer(options({
    assign: [{ ...tp, offset: { timestamp: base + 10_500 } }],
  }));
  const reader = new BatchReader(consumer.readable);
  try {
    const first = await reader.nextBatch(15_000, "the first batch");
    assert.equal(first.records[0].offset, 11n);
    assert.equal(text(first.records[0].value), "t-11");
    first.ack();
    await consumer.seek(tp, { timestamp: base + 3_000 });
    const tally = new Tally();
    await readUntil(reader, tally, () => tally.of(tp).some((s) => s.value === "t-3"), 15_000);
    const after = tally.of(tp);
    const at = after.findIndex((s) => s.value === "t-3");
    assert.deepEqual(
      after.slice(at).map((s) => Number(s.offset)).slice(0, 5),
      [3, 4, 5, 6, 7],
      "reading resumes at offset 3",
    );
  } finally {
    await consumer.close();
  }
});

Deno.test(`Kafka ${Deno.env.get("SLUICE_KAFKA_VERSION") ?? "?"}: read_committed over Kafka's transactional copier delivers each committed record once and no aborted one`, async () => {
  const bootstrap = brokers();
  const input = await newTopic("matrix-txn-in", 1);
  const output = await newTopic("matrix-txn-out", 1);
  // Kafka 4.x's copier makes one transaction of each poll (up to 500
  // records) and aborts a third of them at random: 10,000 records make 20+
  // transactions, so that some abort (300 records were one poll, one
  // transaction, with no abort two times in three).
  const COUNT = 10_000;
  await produceValues(input, 0, values("in", COUNT), { perBatch: 500 });
  const prefix = uniqueName("matrix-copier");
  await kafkaTool("transactional-message-copier", [
    "--broker-list",
    bootstrap,
    "--input-topic",
    input,
    "--input-partition",
    "0",
    "--output-topic",
    output,
    "--transactional-id",
    `${prefix}-0`,
    "--consumer-group",
    `${prefix}-group`,
    "--max-messages",
    String(COUNT),
    "--transaction-size",
    "500",
    "--enable-random-aborts",
    "--use-group-metadata",
  ]);
  // Each read goes on until lag() is 0: the position is past the last marker.
  const read = async (isolationLevel: "read_committed" | "read_uncommitted") => {
    const consumer = new Consumer(options({
      assign: [{ topic: output, partition: 0, offset: "earliest" }],
      isolationLevel,
    }));
    try {
      return (await readAll(consumer, 1, 30_000)).of({ topic: output, partition: 0 });
    } finally {
      await consumer.close();
    }
  };
  const committed = await read("read_committed");
  assert.equal(committed.length, COUNT, "each copied record once");
  assert.deepEqual(committed.map((s) => s.value).sort(), values("in", COUNT).sort());
  // read_uncommitted sees the aborted copies too: the copier did abort some
  // (else the read_committed check proves nothing).
  const everything = await read("read_uncommitted");
  assert.ok(everything.length > COUNT, `read_uncommitted: ${everything.length} records`);
});

Deno.test(
  `Kafka ${
    Deno.env.get("SLUICE_KAFKA_VERSION") ?? "?"
  }: a member whose handler blocks its event loop for 2.5x sessionTimeoutMs keeps its partitions and commits its ack`,
  async () => {
    const topic = await newTopic("matrix-blocked", 2);
    await produceValues(topic, 0, values("b", 10));
    await blockedMemberKeepsPartitions(
      options({ groupId: uniqueName("matrix-blocked"), topics: [topic] }),
      brokers(),
    );
  },
);

Deno.test(`Kafka ${Deno.env.get("SLUICE_KAFKA_VERSION") ?? "?"}: our idempotent producer writes keyed records in every codec that Kafka's console consumer reads, and Admin sees the offsets`, async () => {
  release();
  const topic = await newTopic("matrix-produce", 2);
  const expected: string[] = [];
  for (const compression of CODECS) {
    await using producer = new Producer({ brokers: brokers(), compression, lingerMs: 0 });
    const metas = await producer.send(
      Array.from({ length: 5 }, (_, i) => ({ topic, key: `k${i}`, value: `${compression}-${i}` })),
    );
    assert.equal(metas.length, 5);
    for (let i = 0; i < 5; i++) expected.push(`k${i}\t${compression}-${i}`);
  }
  const lines = await consumeConsole(topic, { maxMessages: expected.length, printKey: true });
  assert.deepEqual([...lines].sort(), [...expected].sort());
  await using admin = new Admin({ brokers: brokers() });
  const ends = await admin.listOffsets(
    [0, 1].map((partition) => ({ topic, partition, at: "latest" })),
  );
  assert.equal(ends.reduce((n, e) => n + Number(e.offset), 0), expected.length);
});

Deno.test(`Kafka ${Deno.env.get("SLUICE_KAFKA_VERSION") ?? "?"}: groupProtocol "consumer" (KIP-848): two members split the partitions and commit on 4.0+; a clear error on 3.9`, async () => {
  const version = release();
  const topic = await newTopic("matrix-kip848", 3);
  const groupId = uniqueName("matrix-kip848");
  const consumerOptions = () =>
    options({
      groupId,
      topics: [topic],
      ...CONSUMER_PROTOCOL,
    });
  if (version.startsWith("3.")) {
    // 3.9 lists ConsumerGroupHeartbeat v0 only (broker-generated member ids,
    // the protocol not generally available): refused with what to do.
    const reader = new BatchReader(new Consumer(consumerOptions()).readable);
    await assert.rejects(
      () => reader.next(30_000),
      /needs ConsumerGroupHeartbeat v1 .*Kafka 4\.0\+/,
    );
    return;
  }
  await Promise.all([0, 1, 2].map((p) => produceValues(topic, p, values(`k${p}`, 30))));
  const tally = new Tally();
  const c1 = new ReadLoop(new Consumer(consumerOptions()), tally, "c1");
  const c2 = new ReadLoop(new Consumer(consumerOptions()), tally, "c2");
  const all = [0, 1, 2].map((p) => `${topic}-${p}`);
  try {
    await waitFor(
      "two members splitting 3 partitions, every record read",
      () =>
        splitProblem([c1.consumer, c2.consumer], all) === undefined &&
        owned(c1.consumer).length >= 1 && owned(c2.consumer).length >= 1 &&
        tally.distinct() >= 90,
      60_000,
      { describe: () => `c1 ${owned(c1.consumer)}; c2 ${owned(c2.consumer)}; ${tally.summary()}` },
    );
    const group = await c1.consumer.describeGroup();
    assert.equal(group.type, "consumer");
    await Promise.all([c1.consumer.commit(), c2.consumer.commit()]);
    await Promise.all([c1.stop(), c2.stop()]);
    assert.equal(c1.error ?? c2.error, undefined);
    const described = await describeGroup(groupId);
    assert.deepEqual(described.rows.map((r) => r.currentOffset), [30n, 30n, 30n], described.output);
  } finally {
    await closeAll(c1.consumer, c2.consumer);
  }
});
