/**
 * kafkajs 2.2.4 peer for `bench/compare/compare.ts`: reads exactly
 * `--records` records of `--topic` with `eachBatch`, a fresh group, auto
 * commit every 5 s (kafkajs has no assign mode), and the fair fetch settings
 * (50 MiB per fetch, 1 MiB per partition, min 1 byte, max wait 500 ms).
 * Prints one JSON line (see `_common.mjs`). Runs on Node and on Deno.
 *
 *     node bench/compare/peers/kafkajs.mjs --lib file:///…/node_modules/kafkajs/index.js \
 *       --brokers 127.0.0.1:9092 --topic T --partitions 6 --records N --group G
 *     deno run -A --no-config --no-lock bench/compare/peers/kafkajs.mjs --lib npm:kafkajs@2.2.4 …
 *
 * @module
 */

import { deadline, finish, flags, tally } from "./_common.mjs";

const f = flags();
const mod = await import(f.lib);
const { Kafka, logLevel } = mod.Kafka ? mod : mod.default;
const t = tally(f.partitions, f.records);
const stopTimer = deadline(f.timeoutMs, t);

const kafka = new Kafka({ clientId: "sluice-bench", brokers: f.brokers, logLevel: logLevel.ERROR });
const consumer = kafka.consumer({
  groupId: f.group,
  minBytes: 1,
  maxBytes: 52428800,
  maxBytesPerPartition: 1048576,
  maxWaitTimeInMs: 500,
});
let resolveDone;
const done = new Promise((resolve) => (resolveDone = resolve));
await consumer.connect();
await consumer.subscribe({ topics: [f.topic], fromBeginning: true });
await consumer.run({
  autoCommit: true,
  autoCommitInterval: 5000,
  eachBatchAutoResolve: true,
  eachBatch: ({ batch }) => {
    if (t.done) return Promise.resolve();
    const p = batch.partition;
    for (const m of batch.messages) {
      t.add(p, Number(m.offset), (m.key ? m.key.length : 0) + (m.value ? m.value.length : 0));
      if (t.done) {
        resolveDone();
        break;
      }
    }
    return Promise.resolve();
  },
});
await done;
stopTimer();
const result = t.result({ client: "kafkajs 2.2.4" });
await consumer.disconnect();
finish(result);
