/**
 * @platformatic/kafka peer for `bench/compare/compare.ts`: reads exactly
 * `--records` records of `--topic` from its messages stream (a fresh group,
 * mode "earliest", autocommit every 5 s: it has no group-less consume), with
 * the fair fetch settings (50 MiB per fetch, 1 MiB per partition, min 1 byte,
 * max wait 500 ms). Prints one JSON line (see `_common.mjs`). Runs on Node
 * and on Deno.
 *
 *     node bench/compare/peers/platformatic.mjs --lib file:///…/node_modules/@platformatic/kafka/dist/index.js \
 *       --brokers 127.0.0.1:9092 --topic T --partitions 6 --records N --group G
 *     deno run -A --no-config --no-lock bench/compare/peers/platformatic.mjs \
 *       --lib npm:@platformatic/kafka@2.12.1 …
 *
 * @module
 */

import { deadline, finish, flags, tally } from "./_common.mjs";

const f = flags();
const { Consumer } = await import(f.lib);
const t = tally(f.partitions, f.records);
const stopTimer = deadline(f.timeoutMs, t);

const consumer = new Consumer({
  groupId: f.group,
  clientId: "sluice-bench",
  bootstrapBrokers: f.brokers,
  minBytes: 1,
  maxBytes: 52428800,
  maxBytesPerPartition: 1048576,
  maxWaitTime: 500,
  autocommit: 5000,
});
const stream = await consumer.consume({ topics: [f.topic], mode: "earliest" });
for await (const m of stream) {
  t.add(m.partition, Number(m.offset), (m.key ? m.key.length : 0) + (m.value ? m.value.length : 0));
  if (t.done) break;
}
stopTimer();
const result = t.result({ client: "@platformatic/kafka" });
await stream.close().catch(() => {});
await consumer.close(true).catch(() => {});
finish(result);
