/**
 * A service that consumes until SIGTERM (or SIGINT), then closes cleanly:
 * waits for in-flight work to be acknowledged, commits, leaves the group.
 *
 * Run: KAFKA_BROKERS=127.0.0.1:9092 deno run -A examples/service.ts orders
 */

import { consoleLogger, Consumer } from "../mod.ts";

const topic = Deno.args[0] ?? "orders";
const shutdown = new AbortController();
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(sig, () => shutdown.abort());
}

const consumer = new Consumer({
  brokers: (Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092").split(","),
  groupId: "example-service",
  topics: [topic],
  autoOffsetReset: "earliest",
  signal: shutdown.signal, // abort -> one clean close(); the loop below then ends
  logger: consoleLogger("info"),
});

for await (const batch of consumer) {
  await Promise.all(batch.records.map(async (_record) => {
    // await handle(record);
  }));
  batch.ack();
}
await consumer.close(); // already closing after the signal: returns the same promise
console.log("service stopped cleanly");
