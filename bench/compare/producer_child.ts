/**
 * One timed write by sluice's `Producer`, in a process of its own (a fresh
 * `deno run` per repetition), through the public API only; used by
 * `bench/compare/producers.ts`.
 *
 *     deno run -A bench/compare/producer_child.ts --brokers 127.0.0.1:9092 --topic T \
 *       --records 1000000 --size 100 --codec none --mode send [--chunk 1000] [--batch-size B]
 *
 * Writes `--records` records without keys, each value the same `--size`
 * random bytes A–Z (as Kafka's `ProducerPerformance` does), `acks: "all"`,
 * idempotence on (the default), Java's defaults otherwise (`lingerMs` 5,
 * `batchSize` 16384 unless `--batch-size`, `bufferMemory` 32 MiB).
 *
 * - `--mode send`: `send()` with arrays of `--chunk` records; sends are not
 *   awaited one by one: up to 32 MiB of records (the buffer) are in
 *   unacknowledged sends, then the oldest is awaited.
 * - `--mode writable`: `producer.writable`, one record per awaited `write()`
 *   (which resolves once the record is buffered), then `close()` of the
 *   writer (a flush).
 *
 * The window runs from just before the first record is handed over to
 * `close()` of the producer resolving (every record acknowledged), as
 * `ProducerPerformance` counts until its `producer.close()`. Prints one JSON
 * line: records, window ms, CPU seconds in the window (all threads).
 *
 * @module
 */

import process from "node:process";
import { type CompressionName, Producer, type ProducerRecord } from "../../mod.ts";

/** The child's result line. */
export interface ProducerChildResult {
  /** Records acknowledged. */
  records: number;
  /** First record handed over to close() resolved, ms. */
  windowMs: number;
  /** user + sys CPU seconds of the process inside the window. */
  cpuWindowS: number;
}

function flag(name: string, fallback?: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < Deno.args.length) return Deno.args[i + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`producer_child: --${name} is required`);
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function main(): Promise<void> {
  const topic = flag("topic");
  const records = Number(flag("records"));
  const size = Number(flag("size"));
  const mode = flag("mode", "send");
  const chunk = Number(flag("chunk", "1000"));
  const value = new Uint8Array(size);
  for (let i = 0; i < size; i++) value[i] = 65 + Math.floor(Math.random() * 26);

  const producer = new Producer({
    brokers: flag("brokers"),
    acks: "all",
    compression: flag("codec", "none") as CompressionName,
    lingerMs: 5,
    batchSize: Number(flag("batch-size", "16384")),
  });
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  let acked = 0;
  if (mode === "send") {
    const budget = 32 * 1024 * 1024;
    const outstanding: { p: Promise<unknown[]>; bytes: number }[] = [];
    let outstandingBytes = 0;
    for (let sent = 0; sent < records;) {
      const n = Math.min(chunk, records - sent);
      const batch: ProducerRecord[] = new Array(n);
      for (let i = 0; i < n; i++) batch[i] = { topic, value };
      sent += n;
      outstanding.push({ p: producer.send(batch), bytes: n * size });
      outstandingBytes += n * size;
      while (outstandingBytes > budget) {
        const o = outstanding.shift()!;
        acked += (await o.p).length;
        outstandingBytes -= o.bytes;
      }
    }
    for (const o of outstanding) acked += (await o.p).length;
  } else if (mode === "writable") {
    const writer = producer.writable.getWriter();
    for (let i = 0; i < records; i++) await writer.write({ topic, value });
    await writer.close();
    acked = records;
  } else {
    throw new Error(`producer_child: unknown --mode ${mode}`);
  }
  await producer.close();
  const result: ProducerChildResult = {
    records: acked,
    windowMs: performance.now() - t0,
    cpuWindowS: cpuSeconds() - cpu0,
  };
  console.log(JSON.stringify(result));
}

if (import.meta.main) await main();
