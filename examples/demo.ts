/**
 * The demo: create a topic (with the Admin client), write sample orders to
 * it, and read them with a group of two consumers, showing the rebalance,
 * records, acks, commits, lag and the group's state, then the group's
 * committed offsets as the Admin client sees them.
 *
 * Without KAFKA_BROKERS it runs against the embedded cluster, in-process (no
 * Java, starts at once); with KAFKA_BROKERS against that cluster. `deno task
 * demo:kafka` starts a real local Kafka first.
 *
 * Run: deno run -A examples/demo.ts
 *      KAFKA_BROKERS=127.0.0.1:9092 deno run -A examples/demo.ts
 */

// The library has no public producer yet: records are written with the
// internal one-batch append.
import { produce } from "../src/net/admin.ts";
import { Cluster } from "../src/net/cluster.ts";
import { Compression } from "../src/protocol/compression/mod.ts";
import { Admin, Consumer } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";

const embedded = Deno.env.get("KAFKA_BROKERS") ? null : await EmbeddedCluster.start({ brokers: 3 });
const brokers = Deno.env.get("KAFKA_BROKERS") ?? embedded!.bootstrap;
console.log(
  embedded
    ? `KAFKA_BROKERS is not set: started an embedded 3-broker cluster at ${brokers}`
    : `using the Kafka cluster at ${brokers}`,
);

const enc = new TextEncoder();
const topic = `sluice-demo-${Date.now()}`;
const cluster = new Cluster({ brokers: brokers.split(","), clientId: "sluice-demo" });
const admin = new Admin({ brokers, clientId: "sluice-demo-admin" });

try {
  await admin.createTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
  console.log(`created topic ${topic} with 3 partitions on ${brokers}`);

  const customers = ["ada", "grace", "linus", "margaret", "ken", "barbara"];
  const codecs = [Compression.none, Compression.lz4, Compression.zstd];
  for (let partition = 0; partition < 3; partition++) {
    const records = Array.from({ length: 5 }, (_, i) => {
      const n = partition * 5 + i;
      const order = { id: n, customer: customers[n % customers.length], cents: 100 + 37 * n };
      return {
        key: enc.encode(order.customer),
        value: enc.encode(JSON.stringify(order)),
        headers: [{ key: "source", value: enc.encode("demo") }],
      };
    });
    const base = await produce(cluster, topic, partition, records, {
      compression: codecs[partition],
    });
    console.log(`produced 5 records to partition ${partition} at offset ${base}`);
  }

  console.log("\nconsuming with a group of two consumers (acknowledging every batch):");
  const dec2 = new TextDecoder();
  const groupId = `${topic}-group`;
  const members = ["alpha", "beta"].map((name) =>
    new Consumer({
      brokers: brokers.split(","),
      clientId: name,
      groupId,
      topics: [topic],
      autoOffsetReset: "earliest",
      autoCommitIntervalMs: 500,
      heartbeatIntervalMs: 500,
      onAssigned: (tps) =>
        console.log(
          `  [${name}] assigned ${tps.map((t) => `p${t.partition}`).join(",") || "nothing"}`,
        ),
      onRevoked: (tps) =>
        console.log(
          `  [${name}] revoked ${tps.map((t) => `p${t.partition}`).join(",") || "nothing"}`,
        ),
    })
  );
  let seen = 0;
  let describe: ReturnType<Consumer["describeGroup"]> | null = null;
  await Promise.all(members.map(async (consumer, i) => {
    const name = ["alpha", "beta"][i];
    for await (const batch of consumer) {
      for (const r of batch.records) {
        console.log(
          `  [${name}] p${batch.partition} offset ${r.offset} key ${dec2.decode(r.key!)} ` +
            dec2.decode(r.value!),
        );
      }
      seen += batch.records.length;
      console.log(`  [${name}] ack p${batch.partition} up to ${batch.nextOffset}: ${batch.ack()}`);
      if (seen >= 15) {
        // Everything is read: show the group while both are members, then stop both.
        describe ??= members[0].describeGroup();
        await describe;
        await Promise.all(members.map((c) => c.commit()));
        for (const c of members) {
          for (const l of c.lag()) {
            console.log(
              `  lag p${l.partition}: position ${l.position}, committed ${l.committed}, lag ${l.lag}`,
            );
          }
        }
        await Promise.all(members.map((c) => c.close()));
      }
    }
  }));
  const group = await describe!;
  console.log(
    `\ngroup ${group.groupId}: ${group.state}, protocol ${group.protocol}, ${group.members.length} members`,
  );
  for (const m of group.members) {
    console.log(`  ${m.clientId}: ${m.assignment.map((t) => `p${t.partition}`).join(",")}`);
  }
  console.log(`\nconsumed ${seen} records; both consumers committed and left the group`);

  console.log(`\nthe Admin client's view of group ${groupId}:`);
  const [listed] = (await admin.listGroups()).filter((g) => g.groupId === groupId);
  console.log(`  ${listed.groupId}: ${listed.state} (${listed.type} ${listed.protocolType} group)`);
  for (const row of await admin.groupOffsets(groupId)) {
    console.log(
      `  p${row.partition}: committed ${row.committed}, log end ${row.logEnd}, lag ${row.lag}`,
    );
  }
  await admin.deleteGroups([groupId]);
  console.log(`  deleted group ${groupId}`);
} finally {
  await admin.deleteTopics([topic]).catch(() => {});
  await admin.close();
  await cluster.close();
  await embedded?.close();
}
