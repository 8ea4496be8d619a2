/**
 * The demo: create a topic, write sample orders to it, read them back and show
 * them. `deno task demo` starts a local Kafka first when KAFKA_BROKERS is not
 * set; with KAFKA_BROKERS it uses that cluster.
 *
 * Run: KAFKA_BROKERS=127.0.0.1:9092 deno run -A examples/demo.ts
 */

import { createTopics, deleteTopics, fetchPartition, produce } from "../src/net/admin.ts";
import { Cluster } from "../src/net/cluster.ts";
import { Compression } from "../src/protocol/compression/mod.ts";

const brokers = Deno.env.get("KAFKA_BROKERS");
if (!brokers) {
  console.error(
    "Set KAFKA_BROKERS (host:port,...), or run `deno task demo` to start a local Kafka.",
  );
  Deno.exit(2);
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const topic = `sluice-demo-${Date.now()}`;
const cluster = new Cluster({ brokers: brokers.split(","), clientId: "sluice-demo" });

try {
  await createTopics(cluster, [{ name: topic, partitions: 3 }]);
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

  console.log("\nreading them back:");
  console.log("partition  offset  key        value");
  for (let partition = 0; partition < 3; partition++) {
    const read = await fetchPartition(cluster, topic, partition, 0n);
    for (const r of read.records) {
      const key = r.key ? dec.decode(r.key) : "(null)";
      const value = r.value ? dec.decode(r.value) : "(null)";
      console.log(
        `${String(partition).padEnd(9)}  ${String(r.offset).padEnd(6)}  ${key.padEnd(9)}  ${value}`,
      );
    }
    console.log(`           high watermark ${read.highWatermark}`);
  }
} finally {
  await deleteTopics(cluster, [topic]).catch(() => {});
  await cluster.close();
}
