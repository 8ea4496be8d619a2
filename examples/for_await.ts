/**
 * Read a topic with `for await`, acknowledging each batch after processing.
 *
 * Run: KAFKA_BROKERS=127.0.0.1:9092 deno run -A examples/for_await.ts orders
 */

import { Consumer } from "../mod.ts";

const topic = Deno.args[0] ?? "orders";
await using consumer = new Consumer({
  brokers: (Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092").split(","),
  groupId: "example-for-await",
  topics: [topic],
  autoOffsetReset: "earliest",
});

const dec = new TextDecoder();
for await (const batch of consumer) {
  for (const record of batch.records) {
    const value = record.value ? dec.decode(record.value) : null;
    console.log(`${batch.topic}/${batch.partition}@${record.offset}: ${value}`);
  }
  batch.ack(); // only acknowledged batches are committed
}
