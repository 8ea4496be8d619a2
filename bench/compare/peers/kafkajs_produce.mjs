/**
 * kafkajs 2.2.4 producer peer for `bench/compare/producers.ts`: writes
 * `--records` records of `--size` bytes (no keys) to `--topic` with
 * `send()` in chunks of `--chunk` records, `acks: -1` (all), up to 32 MiB
 * in unacknowledged sends; kafkajs's defaults otherwise (not idempotent:
 * its idempotent mode is marked experimental and needs one request in
 * flight). Only `--codec none`: kafkajs has no LZ4 codec built in. Prints
 * one JSON line (see `_common.mjs`). Runs on Node and on Deno.
 *
 *     node bench/compare/peers/kafkajs_produce.mjs --lib file:///…/node_modules/kafkajs/index.js \
 *       --brokers 127.0.0.1:9092 --topic T --records N --size 100
 *
 * @module
 */

import { finish, payload, produceFlags, timedWrites } from "./_common.mjs";

const f = produceFlags();
if (f.codec !== "none") throw new Error(`kafkajs has no ${f.codec} codec built in`);
const mod = await import(f.lib);
const { Kafka, logLevel, CompressionTypes } = mod.Kafka ? mod : mod.default;
const value = Buffer.from(payload(f.size));

const kafka = new Kafka({ clientId: "sluice-bench", brokers: f.brokers, logLevel: logLevel.ERROR });
const producer = kafka.producer();
const result = await timedWrites(f.records, f.chunk, f.size, () => producer.connect(), (n) => {
  const messages = new Array(n);
  for (let i = 0; i < n; i++) messages[i] = { value };
  return producer.send({
    topic: f.topic,
    acks: -1,
    compression: CompressionTypes.None,
    messages,
  });
}, () => producer.disconnect());
finish({ ...result, client: "kafkajs 2.2.4" });
