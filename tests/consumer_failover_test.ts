// Leader change on the 3-node cluster (`deno task test` starts it and sets
// KAFKA_CLUSTER_BROKERS): while a consumer reads a
// topic replicated 3 times and Kafka's producer keeps writing to it, the
// broker leading one of its partitions is stopped. Consumption goes on (the
// consumer follows the new leaders, and the coordinator if it moved) and no
// record is lost. The broker is started again at the end.
//
// Without KAFKA_CLUSTER_BROKERS the test fails (it never skips).

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { Cluster } from "../src/net/cluster.ts";
import { clusterBrokers, kafkaScript, producePerf, topicOffsets, uniqueName } from "./_kafka.ts";
import {
  BatchReader,
  fastOptions,
  newTopic,
  owned,
  produceValues,
  ReadLoop,
  readUntil,
  Tally,
  values,
  waitFor,
} from "./_consumer_helpers.ts";

/** The scripts/kafka.sh cluster name whose bootstrap is `bootstrap`. */
function clusterName(bootstrap: string): string {
  const given = Deno.env.get("KAFKA_CLUSTER_NAME");
  if (given) return given;
  const root = Deno.env.get("SLUICE_RUN") || "/tmp/sluice-kafka";
  for (const entry of Deno.readDirSync(root)) {
    try {
      if (Deno.readTextFileSync(`${root}/${entry.name}/bootstrap`).trim() === bootstrap) {
        return entry.name;
      }
    } catch {
      // not a cluster directory
    }
  }
  throw new Error(
    `No cluster in ${root} has bootstrap ${bootstrap}; set KAFKA_CLUSTER_NAME to its scripts/kafka.sh name`,
  );
}

async function kafkaSh(args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("bash", {
    args: [kafkaScript(), ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`kafka.sh ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
  }
}

async function leaderOf(bootstrap: string, topic: string, partition: number): Promise<number> {
  const cluster = new Cluster({ brokers: bootstrap.split(",") });
  try {
    await cluster.refreshMetadata([topic]);
    return cluster.leaderOf(topic, partition);
  } finally {
    await cluster.close();
  }
}

Deno.test("Consumer goes on without losing a record when the leader's broker stops (3-node cluster)", async () => {
  const bootstrap = clusterBrokers(); // throws when unset
  const name = clusterName(bootstrap);
  const topic = await newTopic("failover", 3, {
    bootstrap,
    replicationFactor: 3,
    configs: { "min.insync.replicas": "2" },
  });
  const groupId = uniqueName("failover");
  const records = 30_000;
  // About 10 s of writing, so the stop happens mid-stream.
  const producing = producePerf(topic, {
    bootstrap,
    numRecords: records,
    recordSize: 200,
    throughput: 3000,
  });
  producing.catch(() => {}); // handled: awaited below

  const tally = new Tally();
  // Warnings and errors, for the failure message.
  const logs: string[] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    logs.push(
      `${level} ${msg} ${JSON.stringify(fields, (_, v) => typeof v === "bigint" ? `${v}` : v)}`,
    );
  };
  const loop = new ReadLoop(
    new Consumer(fastOptions({
      brokers: bootstrap,
      groupId,
      topics: [topic],
      logger: { warn: log("warn"), error: log("error") },
    })),
    tally,
    "c",
  );
  const state = () =>
    `${tally.summary()}; owned: ${owned(loop.consumer)}; loop error: ${loop.error}; ` +
    `last logs:\n${logs.slice(-15).join("\n")}`;
  let stopped: number | undefined;
  try {
    await waitFor("the first 5000 records", () => tally.count >= 5000, 60_000, {
      describe: state,
    });
    stopped = await leaderOf(bootstrap, topic, 0);
    const countAtStop = tally.count;
    await kafkaSh(["stop-broker", "--name", name, "--node", String(stopped)]);
    await waitFor(
      "partition 0 to have a new leader",
      async () => await leaderOf(bootstrap, topic, 0) !== stopped,
      15_000,
      { intervalMs: 250 },
    );

    const sent = await producing;
    assert.equal(sent.records, records);
    const ends = new Map(
      (await topicOffsets(topic, { bootstrap })).map((o) => [`${topic}-${o.partition}`, o.offset]),
    );
    let total = 0n;
    for (const end of ends.values()) total += end;
    assert.equal(total, BigInt(records));
    await waitFor(
      "every record, after the leader's broker stopped",
      () => tally.complete(ends),
      60_000,
      {
        describe: () => `ends: ${[...ends].map(([k, v]) => `${k}=${v}`).join(", ")}; ${state()}`,
      },
    );
    assert.ok(tally.count > countAtStop);
    assert.equal(loop.error, undefined);
  } finally {
    await producing.catch(() => {});
    await loop.stop(30_000).catch(() => {});
    if (stopped !== undefined) {
      await kafkaSh(["start-broker", "--name", name, "--node", String(stopped)]);
    }
  }
});

Deno.test("Consumer reads partitions led by three different brokers at once (3-node cluster)", async () => {
  const bootstrap = clusterBrokers(); // throws when unset
  // 6 partitions: KRaft spreads their leaders over the 3 nodes.
  const topic = await newTopic("three-leaders", 6, { bootstrap, replicationFactor: 3 });
  const leaders = new Set<number>();
  for (let p = 0; p < 6; p++) leaders.add(await leaderOf(bootstrap, topic, p));
  assert.equal(leaders.size, 3, "the partitions' leaders are on all 3 nodes");
  await Promise.all(
    Array.from(
      { length: 6 },
      (_, p) => produceValues(topic, p, values(`p${p}`, 20), { bootstrap }),
    ),
  );
  // Default fetch sizes: each broker's Fetch asks for min(fetchMaxBytes,
  // budget left); one broker must not starve the others.
  const consumer = new Consumer(fastOptions({
    brokers: bootstrap,
    assign: Array.from({ length: 6 }, (_, partition) => ({ topic, partition })),
  }));
  const tally = new Tally();
  try {
    await readUntil(new BatchReader(consumer.readable), tally, () => tally.count >= 120, 20_000);
    for (let p = 0; p < 6; p++) {
      assert.deepEqual(tally.of({ topic, partition: p }).map((s) => s.value), values(`p${p}`, 20));
    }
  } finally {
    await consumer.close();
  }
});
