/**
 * One member of a consumer group. Start several (in several terminals) and
 * watch the partitions of the topic spread across them; stop one and its
 * partitions move to the others.
 *
 * Run: KAFKA_BROKERS=127.0.0.1:9092 deno run -A examples/group_worker.ts orders
 */

import { Consumer } from "../mod.ts";

const topic = Deno.args[0] ?? "orders";
const name = `worker-${Deno.pid}`;
const fmt = (tps: { topic: string; partition: number }[]) =>
  tps.map((tp) => `${tp.topic}/${tp.partition}`).join(" ") || "(none)";

await using consumer = new Consumer({
  brokers: (Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092").split(","),
  clientId: name,
  groupId: "example-workers",
  topics: [topic],
  autoOffsetReset: "earliest",
  onAssigned: (tps) => console.log(`${name} assigned ${fmt(tps)}`),
  onRevoked: (tps) => console.log(`${name} revoked  ${fmt(tps)}`),
  onLost: (tps) => console.log(`${name} lost     ${fmt(tps)}`),
});

Deno.addSignalListener("SIGINT", () => void consumer.close());
let count = 0;
for await (const batch of consumer) {
  count += batch.records.length;
  batch.ack();
  console.log(`${name} ${batch.topic}/${batch.partition}: ${count} records so far`);
}
