/**
 * Decode throughput of magic v2 record batches (the consumer's hot path).
 *
 * Each case decodes ~1 MiB of Fetch data (batches of ~16 KiB, the Java
 * producer's default `batch.size`; plus a single 1 MiB batch, and one record
 * per batch as an unbatched producer writes) and touches every record's
 * offset, key and value as a consumer would.
 *
 *     deno bench bench/record_batch_bench.ts       # Deno's table: time per iteration
 *     deno run bench/record_batch_bench.ts         # records/s and MB/s summary
 *
 * From the bench table: records/s = records per iteration / (time/iter), and
 * MB/s = Fetch bytes per iteration / (time/iter) / 1e6; both counts are in
 * each case's name.
 *
 * @module
 */

import process from "node:process";
import { decodeRecordBatches, encodeRecordBatch } from "../src/protocol/wire_batch.ts";

interface Case {
  name: string;
  data: Uint8Array;
  records: number;
  verifyCrc: boolean;
}

const TARGET = 1 << 20;

/** ~1 MiB of Fetch data: batches of `batchBytes` holding records with an 8-byte key and a `valueSize` value. */
function fetchData(valueSize: number, batchBytes: number): { data: Uint8Array; records: number } {
  const parts: Uint8Array[] = [];
  let size = 0;
  let offset = 0n;
  let records = 0;
  const perBatch = Math.max(1, Math.floor(batchBytes / (valueSize + 20)));
  const t0 = 1_700_000_000_000;
  while (size < TARGET * 0.95) {
    const batch = encodeRecordBatch({
      baseOffset: offset,
      baseTimestamp: t0,
      records: Array.from({ length: perBatch }, (_, i) => {
        const key = new Uint8Array(8);
        new DataView(key.buffer).setUint32(4, records + i);
        const value = new Uint8Array(valueSize);
        for (let j = 0; j < valueSize; j++) value[j] = (j * 31 + i) & 0xff;
        return { key, value, timestamp: t0 + i };
      }),
    });
    parts.push(batch);
    size += batch.length;
    offset += BigInt(perBatch);
    records += perBatch;
  }
  const data = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, records };
}

const cases: Case[] = [];
for (
  const [label, valueSize, batchBytes] of [
    ["100 B records, 16 KiB batches", 100, 16384],
    ["1 KB records, 16 KiB batches", 1024, 16384],
    ["100 B records, one 1 MiB batch", 100, TARGET],
    ["100 B records, one per batch", 100, 1],
  ] as const
) {
  const { data, records } = fetchData(valueSize, batchBytes);
  for (const verifyCrc of [true, false]) {
    cases.push({
      name: `${label}, CRC ${verifyCrc ? "on" : "off"} (${records} records, ${data.length} B)`,
      data,
      records,
      verifyCrc,
    });
  }
}

let sink = 0;
let lastOffset = -1n;

/** Decodes and touches each record like a consumer loop. */
function run(c: Case): void {
  const { records } = decodeRecordBatches(c.data, {
    topic: "bench",
    partition: 0,
    verifyCrc: c.verifyCrc,
  });
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    // What a consumer loop does: remember the offset, look at key and value.
    lastOffset = r.offset;
    sink += (r.key === null ? 0 : r.key.length) + (r.value === null ? 0 : r.value[0]);
  }
  if (records.length !== c.records || lastOffset < 0n) {
    throw new Error("decoded the wrong number of records");
  }
}

for (const c of cases) {
  Deno.bench({ name: c.name, group: c.name.split(", CRC")[0], fn: () => run(c) });
}

if (import.meta.main) {
  // Summary. "mean" is process CPU time (user + system, all threads, so
  // garbage collection of the decoded records is included: a consumer pays
  // it too) per iteration: on a shared machine it is steadier than wall time.
  // "best" is the fastest single iteration by wall time: no GC pause in it.
  console.log("case | records/s (mean CPU, best) | MB/s of Fetch data (mean CPU, best)");
  for (const c of cases) {
    for (let i = 0; i < 100; i++) run(c);
    let best = Infinity;
    let n = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < 2000) {
      const t = performance.now();
      run(c);
      best = Math.min(best, performance.now() - t);
      n++;
    }
    const used = process.cpuUsage(cpu);
    const mean = (used.user + used.system) / 1000 / n;
    const rate = (ms: number, per: number) => per / (ms / 1000);
    console.log(
      `${c.name} | ${(rate(mean, c.records) / 1e6).toFixed(2)} M, ${
        (rate(best, c.records) / 1e6).toFixed(2)
      } M | ${(rate(mean, c.data.length) / 1e6).toFixed(0)}, ${
        (rate(best, c.data.length) / 1e6).toFixed(0)
      }`,
    );
  }
  if (sink === 0.5) console.log(sink);
}
