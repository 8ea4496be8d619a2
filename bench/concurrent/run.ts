/**
 * `deno task bench:concurrent`: what `processConcurrently()` gains when each
 * record waits on I/O. A handler with 10 ms of async latency per record
 * (a stand-in for a database or HTTP call) on a 6-partition topic with
 * 10,000 distinct keys: records/s over a fixed window for order
 * "partition" and "key" at concurrency 1, 16 and 256, and the process's
 * peak RSS. One fresh group per configuration, each reading from the start.
 *
 *     deno task bench:concurrent                       # starts its own Kafka
 *     KAFKA_BROKERS=host:port deno task bench:concurrent --window 5000 --max-batch-records 100
 *
 * @module
 */

import { Admin, Consumer, processConcurrently, Producer } from "../../mod.ts";

const args = new Map<string, string>();
for (let i = 0; i < Deno.args.length; i += 2) args.set(Deno.args[i], Deno.args[i + 1]);
const windowMs = Number(args.get("--window") ?? 5000);
const latencyMs = Number(args.get("--latency") ?? 10);
const records = Number(args.get("--records") ?? 200_000);
// Small batches let partitions interleave in the sink (a whole fetch of one
// partition would otherwise fill maxPending by itself).
const maxBatchRecords = Number(args.get("--max-batch-records") ?? 100);

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
    await admin.createTopics([{ name: topic, partitions: 6 }]);
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
      const piping = consumer.readable.pipeTo(processConcurrently(async () => {
        if (started === 0) started = performance.now();
        await new Promise((r) => setTimeout(r, latencyMs));
        done++;
      }, { concurrency, order })).catch(() => {});
      // The window starts at the first record (the group join is not counted).
      while (started === 0) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, windowMs));
      const rate = done / ((performance.now() - started) / 1000);
      await consumer.close();
      await piping;
      const rss = Deno.memoryUsage().rss / 2 ** 20;
      rows.push(
        `| ${order} | ${concurrency} | ${Math.round(rate).toLocaleString("en-US")} | ${
          rss.toFixed(0)
        } |`,
      );
      console.error(rows.at(-1));
    }
  }
  {
    await using admin = new Admin({ brokers });
    await admin.deleteTopics([topic]);
  }
  console.log(
    `processConcurrently(), ${latencyMs} ms async latency per record, 6 partitions, ` +
      `10,000 keys, maxBatchRecords ${maxBatchRecords}, ${windowMs} ms window per row\n\n` +
      "| order | concurrency | records/s | RSS MiB (process, so far) |\n| --- | ---: | ---: | ---: |\n" +
      rows.join("\n"),
  );
});
