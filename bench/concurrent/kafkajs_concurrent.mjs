/**
 * kafkajs peer for `bench/concurrent/run.ts`: a fresh group reads `--topic`
 * from the beginning with `eachMessage`, each call awaiting a `--latency-ms`
 * timer (the same handler cost as ours), `partitionsConsumedConcurrently` =
 * `--concurrency`. Counts the records whose handler finished over
 * `--window-ms` from the first record (as run.ts does for ours), then
 * disconnects and prints one JSON line: `{ records, windowMs, maxInFlight,
 * rssBytes, runtime, client }`. Runs on Node (launched by run.ts through
 * `peerCommand()` of `bench/compare/clients.ts`, which appends `--lib`).
 *
 *     node bench/concurrent/kafkajs_concurrent.mjs --lib file:///…/node_modules/kafkajs/index.js \
 *       --brokers 127.0.0.1:9092 --topic T --group G --concurrency 6 --window-ms 5000 --latency-ms 10
 *
 * @module
 */

import process from "node:process";
import { flag as get } from "../compare/peers/_common.mjs";

const lib = get("lib");
const brokers = get("brokers").split(",");
const topic = get("topic");
const group = get("group");
const concurrency = Number(get("concurrency"));
const windowMs = Number(get("window-ms", "5000"));
const latencyMs = Number(get("latency-ms", "10"));
const firstRecordTimeoutMs = Number(get("timeout-ms", "120000"));

const mod = await import(lib);
const { Kafka, logLevel } = mod.Kafka ? mod : mod.default;

const kafka = new Kafka({ clientId: "sluice-bench-concurrent", brokers, logLevel: logLevel.ERROR });
const consumer = kafka.consumer({ groupId: group });

let started = 0;
let done = 0;
let inFlight = 0;
let maxInFlight = 0;
let resolveFirst;
const first = new Promise((resolve) => (resolveFirst = resolve));
const noFirst = setTimeout(() => {
  console.error(`peer: no record within ${firstRecordTimeoutMs} ms`);
  process.exit(2);
}, firstRecordTimeoutMs);

await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({
  partitionsConsumedConcurrently: concurrency,
  eachMessage: async () => {
    if (started === 0) {
      started = performance.now();
      resolveFirst();
    }
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    await new Promise((r) => setTimeout(r, latencyMs));
    inFlight--;
    done++;
  },
});
// The window starts at the first record (the group join is not counted).
await first;
clearTimeout(noFirst);
await new Promise((r) => setTimeout(r, windowMs));
const records = done;
const elapsed = performance.now() - started;
const rssBytes = process.memoryUsage().rss;
const result = {
  records,
  windowMs: elapsed,
  maxInFlight,
  rssBytes,
  runtime: `node ${process.version}`,
  client: "kafkajs",
};
// Printed before disconnecting (the numbers are taken); the leave gets 5 s at most.
process.stdout.write(JSON.stringify(result) + "\n", () => {
  setTimeout(() => process.exit(0), 5000);
  consumer.disconnect().finally(() => process.exit(0));
});
