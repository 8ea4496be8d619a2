/**
 * @platformatic/kafka producer peer for `bench/compare/producers.ts`:
 * writes `--records` records of `--size` bytes (no keys) to `--topic` with
 * `send()` in chunks of `--chunk` records, acks -1 (all), `--codec` (none
 * or lz4), up to 32 MiB in unacknowledged sends; its defaults otherwise
 * (not idempotent: its idempotent mode allows one request in flight).
 * Prints one JSON line (see `_common.mjs`). Runs on Node and on Deno.
 *
 *     node bench/compare/peers/platformatic_produce.mjs \
 *       --lib file:///…/node_modules/@platformatic/kafka/dist/index.js \
 *       --brokers 127.0.0.1:9092 --topic T --records N --size 100 --codec lz4
 *
 * @module
 */

import { finish, payload, produceFlags, timedWrites } from "./_common.mjs";

const f = produceFlags();
const { Producer } = await import(f.lib);
const value = Buffer.from(payload(f.size));

const producer = new Producer({
  clientId: "sluice-bench",
  bootstrapBrokers: f.brokers,
  acks: -1,
  ...(f.codec === "none" ? {} : { compression: f.codec }),
});
// It connects on its first send.
const result = await timedWrites(f.records, f.chunk, f.size, () => Promise.resolve(), (n) => {
  const messages = new Array(n);
  for (let i = 0; i < n; i++) messages[i] = { topic: f.topic, value };
  return producer.send({ messages });
}, () => producer.close());
finish({ ...result, client: "@platformatic/kafka" });
