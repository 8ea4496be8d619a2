// "Kafka 3.x works too": a smoke test against a Kafka 3.9.1 broker, which
// `deno task test` starts beside the 4.x one and names in KAFKA39_BROKERS
// (SLUICE_TEST_KAFKA39=0 turns it off; this test then fails, it never skips).
//
// ApiVersions negotiation picks the 3.9 broker's lower maxima (Fetch 17, not
// 4.x's 18), and everything a consumer does works at those versions:
// Metadata, CreateTopics, our minimal producer (plain and zstd batches), a
// Fetch, a Consumer in subscribe mode (group join, auto commit, close and
// leave) and a Consumer in assign mode starting from the group's committed
// offsets and from an explicit offset.

import assert from "node:assert/strict";
import { fastOptions } from "./_consumer_helpers.ts";
import { Consumer, type ConsumerOptions } from "../mod.ts";
import { createTopics, deleteTopics, fetchPartition, produce } from "../src/net/admin.ts";
import { Cluster } from "../src/net/cluster.ts";
import { Connection } from "../src/net/connection.ts";
import { FetchApi } from "../src/protocol/messages/fetch.ts";
import * as apis from "../src/protocol/messages/mod.ts";
import { parseVersions } from "../src/protocol/schema.ts";
import { uniqueName } from "./_kafka.ts";
import { BatchReader, readUntil, Tally, text, waitFor } from "./_consumer_helpers.ts";

/** The bootstrap string of the Kafka 3.9 broker; throws when unset. */
function kafka39Brokers(): string {
  const value = Deno.env.get("KAFKA39_BROKERS");
  if (value === undefined || value === "") {
    throw new Error(
      "KAFKA39_BROKERS is not set: run with `deno task test` (it starts a Kafka 3.9.1 broker " +
        "unless SLUICE_TEST_KAFKA39=0), or export KAFKA39_BROKERS=host:port of a Kafka 3.9 broker",
    );
  }
  return value;
}

const encoder = new TextEncoder();
const PARTITIONS = 3;

/** `p<partition>-<i>` for i in [from, to). */
function vals(partition: number, from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `p${partition}-${from + i}`);
}

function options(bootstrap: string, extra: Partial<ConsumerOptions>): ConsumerOptions {
  return fastOptions({ brokers: bootstrap.split(","), clientId: "sluice-test-kafka39", ...extra });
}

Deno.test("Kafka 3.9.1: version negotiation, metadata, topics, produce, fetch, Consumer in subscribe and assign modes", async (t) => {
  const bootstrap = kafka39Brokers();
  const topic = uniqueName("kafka39");
  const groupId = uniqueName("kafka39-group");
  const cluster = new Cluster({ brokers: bootstrap.split(",") });
  let created = false;
  try {
    const negotiated = await t.step(
      "ApiVersions picks versions the 3.9 broker supports",
      async () => {
        const [host, port] = bootstrap.split(",")[0].split(":");
        const conn = await Connection.connect({ host, port: Number(port) });
        try {
          const broker = conn.brokerVersions(FetchApi.apiKey);
          assert.ok(broker, "the broker lists Fetch");
          // Kafka 3.9's Fetch goes up to v17; 4.x brokers have v18.
          assert.ok(
            broker.max <= 17,
            `KAFKA39_BROKERS=${bootstrap} does not look like a Kafka 3.x broker (Fetch up to v${broker.max})`,
          );
          const fetchVersion = conn.version(FetchApi);
          const ours = parseVersions(FetchApi.request.validVersions);
          assert.equal(fetchVersion, Math.min(ours.max, broker.max));
          assert.ok(fetchVersion <= 17 && fetchVersion >= 12, `Fetch v${fetchVersion}`);
          // Every API we declare that this broker has negotiates inside both ranges.
          for (const api of Object.values(apis)) {
            if (!("request" in api)) continue;
            const theirs = conn.brokerVersions(api.apiKey);
            if (theirs === undefined) continue;
            const v = conn.version(api);
            const mine = parseVersions(api.request.validVersions);
            assert.ok(
              v >= mine.min && v <= mine.max && v >= theirs.min && v <= theirs.max,
              api.name,
            );
            assert.equal(v, Math.min(mine.max, theirs.max), api.name);
          }
        } finally {
          conn.close();
        }
      },
    );
    if (!negotiated) return;

    const ready = await t.step("Metadata and CreateTopics", async () => {
      const res = await cluster.refreshMetadata([]);
      assert.equal(res.brokers.length, 1, "a single 3.9 broker");
      assert.ok(cluster.clusterId, "the cluster has an id");
      await createTopics(cluster, [{ name: topic, partitions: PARTITIONS }]);
      created = true;
      await cluster.refreshMetadata([topic]);
      const info = cluster.topics.get(topic);
      assert.ok(info, "the new topic is in the metadata");
      assert.equal(info.errorCode, 0);
      assert.equal(info.partitions.size, PARTITIONS);
      assert.notEqual(info.topicId, "AAAAAAAAAAAAAAAAAAAAAA", "the topic has an id");
      assert.equal(cluster.topicName(info.topicId), topic);
      for (const p of info.partitions.values()) {
        assert.equal(p.leader, res.brokers[0].nodeId);
      }
    });
    if (!ready) return;

    const produced = await t.step(
      "produce (plain and zstd batches) and read back with Fetch",
      async () => {
        for (let p = 0; p < PARTITIONS; p++) {
          const records = (from: number, to: number) =>
            vals(p, from, to).map((v) => ({
              key: encoder.encode(`k${p}`),
              value: encoder.encode(v),
            }));
          assert.equal(await produce(cluster, topic, p, records(0, 10)), 0n);
          assert.equal(await produce(cluster, topic, p, records(10, 20), { compression: 4 }), 10n);
        }
        const read = await fetchPartition(cluster, topic, 1, 0n);
        assert.deepEqual(read.records.map((r) => text(r.value)), vals(1, 0, 20));
        assert.deepEqual(
          read.records.map((r) => r.offset),
          Array.from({ length: 20 }, (_, i) => BigInt(i)),
        );
        assert.equal(text(read.records[0].key), "k1");
        assert.equal(read.nextOffset, 20n);
        assert.equal(read.highWatermark, 20n);
      },
    );
    if (!produced) return;

    const subscribed = await t.step(
      "Consumer in subscribe mode: every record in order, auto commit, close",
      async () => {
        const consumer = new Consumer(
          options(bootstrap, { groupId, topics: [topic], autoCommitIntervalMs: 500 }),
        );
        const reader = new BatchReader(consumer.readable);
        const tally = new Tally();
        try {
          await readUntil(reader, tally, () => tally.count >= PARTITIONS * 20, 30_000);
          assert.equal(await reader.next(300), undefined, "nothing beyond what was produced");
          const group = await consumer.describeGroup();
          assert.equal(group.state, "Stable");
          assert.equal(group.members.length, 1);
          assert.equal(group.members[0].assignment.length, PARTITIONS);
        } finally {
          await consumer.close();
        }
        assert.equal(tally.count, PARTITIONS * 20, tally.summary());
        assert.deepEqual(tally.duplicates(), []);
        assert.deepEqual(tally.orderViolations(), []);
        for (let p = 0; p < PARTITIONS; p++) {
          const seen = tally.of({ topic, partition: p });
          assert.deepEqual(seen.map((s) => s.value), vals(p, 0, 20), `partition ${p}`);
          assert.deepEqual(
            seen.map((s) => Number(s.offset)),
            Array.from({ length: 20 }, (_, i) => i),
          );
        }
        assert.equal(await reader.next(5000), null, "the stream ends on close()");
      },
    );
    if (!subscribed) return;

    await t.step(
      "Consumer in assign mode: from the group's committed offsets and from an offset",
      async () => {
        for (let p = 0; p < PARTITIONS; p++) {
          const late = vals(p, 20, 25).map((v) => ({ value: encoder.encode(v) }));
          assert.equal(await produce(cluster, topic, p, late), 20n);
        }
        // Partitions 0 and 1 start at what the group committed on close (20);
        // partition 2 at offset 3.
        const consumer = new Consumer(options(bootstrap, {
          groupId,
          assign: [
            { topic, partition: 0 },
            { topic, partition: 1 },
            { topic, partition: 2, offset: 3n },
          ],
        }));
        const reader = new BatchReader(consumer.readable);
        const tally = new Tally();
        const want = 5 + 5 + 22;
        try {
          await readUntil(reader, tally, () => tally.count >= want, 30_000);
          assert.equal(await reader.next(300), undefined, "nothing beyond the expected records");
          await waitFor(
            "lag 0 on every assigned partition",
            () => consumer.lag().every((l) => l.lag === 0n),
            5000,
            {
              describe: () =>
                JSON.stringify(consumer.lag(), (_, v) => typeof v === "bigint" ? `${v}` : v),
            },
          );
        } finally {
          await consumer.close();
        }
        assert.equal(tally.count, want, tally.summary());
        const offsets = (p: number) =>
          tally.of({ topic, partition: p }).map((s) => Number(s.offset));
        const values = (p: number) => tally.of({ topic, partition: p }).map((s) => s.value);
        assert.deepEqual(
          offsets(0),
          [20, 21, 22, 23, 24],
          "partition 0 starts at the committed offset",
        );
        assert.deepEqual(values(0), vals(0, 20, 25));
        assert.deepEqual(
          offsets(1),
          [20, 21, 22, 23, 24],
          "partition 1 starts at the committed offset",
        );
        assert.deepEqual(values(1), vals(1, 20, 25));
        assert.deepEqual(
          offsets(2),
          Array.from({ length: 22 }, (_, i) => i + 3),
          "partition 2 starts at 3",
        );
        assert.deepEqual(values(2), vals(2, 3, 25));
      },
    );
  } finally {
    try {
      if (created) await deleteTopics(cluster, [topic]);
    } finally {
      await cluster.close();
    }
  }
});
