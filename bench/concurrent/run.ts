/**
 * `deno task bench:concurrent`: what `processConcurrently()` gains when each
 * record waits on I/O. A handler with 10 ms of async latency per record
 * (a stand-in for a database or HTTP call) on a 6-partition topic with
 * 10,000 distinct keys: records/s over a fixed window for order
 * "partition" and "key" at concurrency 1, 16 and 256, and the process's
 * RSS. One fresh group per configuration, each reading from the start.
 *
 * The peer, on the same broker and topic in the same run: kafkajs's
 * `partitionsConsumedConcurrently` at 1, 6 (the partition count) and 16
 * (`kafkajs_concurrent.mjs` on Node, installed and launched by
 * `peerCommand()` of `bench/compare/clients.ts`), its `eachMessage` awaiting
 * the same timer, counted over the same window from its first record.
 * kafkajs runs one message at a time per partition, so its concurrency
 * stops at the partition count.
 *
 *     deno task bench:concurrent                       # starts its own Kafka
 *     KAFKA_BROKERS=host:port deno task bench:concurrent --window 5000 --max-batch-records 100
 *
 * @module
 */

import { Admin, Consumer, processConcurrently, Producer } from "../../mod.ts";
import { peerCommand } from "../compare/clients.ts";
import { lastJsonLine, run } from "../lib/proc.ts";

/** The result line of `kafkajs_concurrent.mjs`. */
interface PeerResult {
  records: number;
  windowMs: number;
  maxInFlight: number;
  rssBytes: number;
}

const args = new Map<string, string>();
for (let i = 0; i < Deno.args.length; i += 2) args.set(Deno.args[i], Deno.args[i + 1]);
const windowMs = Number(args.get("--window") ?? 5000);
const latencyMs = Number(args.get("--latency") ?? 10);
const records = Number(args.get("--records") ?? 200_000);
// Small batches let partitions interleave in the sink (a whole fetch of one
// partition would otherwise fill maxPending by itself).
const maxBatchRecords = Number(args.get("--max-batch-records") ?? 100);
const partitions = 6;
const peerConcurrency = [1, partitions, 16];
const peerScript = new URL("./kafkajs_concurrent.mjs", import.meta.url).pathname;

const fmtRow = (
  client: string,
  order: string,
  concurrency: number,
  rate: number,
  maxInFlight: number,
  rssMiB: string,
) =>
  `| ${client} | ${order} | ${concurrency} | ${
    Math.round(rate).toLocaleString("en-US")
  } | ${maxInFlight} | ${rssMiB} |`;

async function withBroker<T>(body: (brokers: string) => Promise<T>): Promise<T> {
  const given = Deno.env.get("KAFKA_BROKERS");
  if (given) return await body(given);
  const script = new URL("../../scripts/kafka.sh", import.meta.url).pathname;
  const start = await new Deno.Command("bash", {
    args: [script, "start", "--name", "bench-concurrent"],
    stderr: "inherit",
  }).output();
  if (!start.success) throw new Error("could not start Kafka");
  const brokers = new TextDecoder().decode(start.stdout).trim().split("\n").at(-1)!;
  try {
    return await body(brokers);
  } finally {
    await new Deno.Command("bash", { args: [script, "stop", "--name", "bench-concurrent"] })
      .output();
  }
}

await withBroker(async (brokers) => {
  const topic = `bench-concurrent-${Date.now()}`;
  {
    await using admin = new Admin({ brokers });
    await admin.createTopics([{ name: topic, partitions }]);
  }
  {
    await using producer = new Producer({ brokers, lingerMs: 5 });
    for (let i = 0; i < records; i += 10_000) {
      await producer.send(
        Array.from({ length: 10_000 }, (_, j) => ({
          topic,
          key: `key-${(i + j) % 10_000}`,
          value: `v${i + j}`,
        })),
      );
    }
  }
  const rows: string[] = [];
  for (const order of ["partition", "key"] as const) {
    for (const concurrency of [1, 16, 256]) {
      const consumer = new Consumer({
        brokers,
        groupId: `bench-concurrent-${order}-${concurrency}-${Date.now()}`,
        topics: [topic],
        autoOffsetReset: "earliest",
        maxBatchRecords,
      });
      let done = 0;
      let started = 0;
      let inFlight = 0;
      let maxInFlight = 0;
      const piping = consumer.readable.pipeTo(processConcurrently(async () => {
        if (started === 0) started = performance.now();
        inFlight++;
        if (inFlight > maxInFlight) maxInFlight = inFlight;
        await new Promise((r) => setTimeout(r, latencyMs));
        inFlight--;
        done++;
      }, { concurrency, order })).catch(() => {});
      // The window starts at the first record (the group join is not counted).
      while (started === 0) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, windowMs));
      const rate = done / ((performance.now() - started) / 1000);
      await consumer.close();
      await piping;
      const rss = Deno.memoryUsage().rss / 2 ** 20;
      rows.push(fmtRow("sluice", order, concurrency, rate, maxInFlight, rss.toFixed(0)));
      console.error(rows.at(-1));
    }
  }
  const peer = await peerCommand("kafkajs", "node", peerScript);
  let peerVersion = "kafkajs";
  if (typeof peer === "string") {
    console.error(`bench: kafkajs rows skipped: ${peer}`);
  } else {
    peerVersion = peer.version;
    for (const concurrency of peerConcurrency) {
      const r = await run(peer.command[0], [
        ...peer.command.slice(1),
        "--brokers",
        brokers,
        "--topic",
        topic,
        "--group",
        `bench-concurrent-kafkajs-${concurrency}-${Date.now()}`,
        "--concurrency",
        String(concurrency),
        "--window-ms",
        String(windowMs),
        "--latency-ms",
        String(latencyMs),
      ]);
      if (r.code !== 0) {
        const err = r.stderr.trim().split("\n").slice(-5).join("\n");
        throw new Error(`kafkajs peer failed (exit ${r.code}):\n${err}`);
      }
      const p = lastJsonLine<PeerResult>("kafkajs peer", r);
      const rate = p.records / (p.windowMs / 1000);
      rows.push(
        fmtRow(
          "kafkajs",
          "partition",
          concurrency,
          rate,
          p.maxInFlight,
          (p.rssBytes / 2 ** 20).toFixed(0),
        ),
      );
      console.error(rows.at(-1));
    }
  }
  {
    await using admin = new Admin({ brokers });
    await admin.deleteTopics([topic]);
  }
  console.log(
    `processConcurrently() (maxBatchRecords ${maxBatchRecords}) vs ${peerVersion} ` +
      `partitionsConsumedConcurrently (eachMessage), ${latencyMs} ms async latency per record, ` +
      `${partitions} partitions, 10,000 keys, ${windowMs} ms window per row\n\n` +
      "| client | order | concurrency | records/s | handlers in flight, max | RSS MiB |\n" +
      "| --- | --- | ---: | ---: | ---: | ---: |\n" +
      rows.join("\n"),
  );
});
