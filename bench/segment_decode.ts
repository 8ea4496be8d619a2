/**
 * Decode cost of real Kafka data, without a network: reads a broker's log
 * segment file (magic v2 record batches as the producer wrote them, the same
 * bytes a Fetch returns) and times, over the whole file, CRC32C alone, the
 * codec alone, and the full decoder with and without the CRC check, touching
 * every record's offset and value as a consumer does. CPU time (all threads,
 * GC included), so a busy machine moves the numbers less than wall time
 * would; each is measured twice and the second round reported.
 *
 *     deno run -A bench/segment_decode.ts /tmp/sluice-kafka/bench/node1/data/TOPIC-0/00000000000000000000.log
 *
 * Used to tell where `bench:compare`'s compressed cells spend their time.
 *
 * @module
 */

import { Compression, decompress } from "../src/protocol/compression/mod.ts";
import { crc32c } from "../src/protocol/crc32c.ts";
import { decodeRecordBatches } from "../src/protocol/wire_batch.ts";
import { fmt } from "./lib/stats.ts";

const CLK_TCK = 100;

/** user + sys CPU seconds of this process. */
function cpu(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Runs `fn` until at least 1 CPU second has passed; CPU seconds per call. */
function time(fn: () => void): number {
  fn(); // warm-up (JIT, wasm arena)
  let n = 0;
  const t0 = cpu();
  let t = t0;
  while (t - t0 < 1) {
    fn();
    n++;
    t = cpu();
  }
  return (t - t0) / n;
}

async function main(): Promise<void> {
  const path = Deno.args[0];
  if (!path) throw new Error("usage: deno run -A bench/segment_decode.ts SEGMENT.log");
  const data = await Deno.readFile(path);
  // Batch boundaries: baseOffset(8) length(4) … attributes at 21, records from 61.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const batches: { start: number; end: number; codec: number }[] = [];
  for (let pos = 0; pos + 61 <= data.length;) {
    const end = pos + 12 + view.getInt32(pos + 8);
    if (end > data.length) break;
    batches.push({ start: pos, end, codec: view.getInt16(pos + 21) & 7 });
    pos = end;
  }
  const usable = data.subarray(0, batches.at(-1)?.end ?? 0);
  let records = 0;
  let valueBytes = 0;
  const full = (verifyCrc: boolean) => () => {
    const r = decodeRecordBatches(usable, { topic: "t", partition: 0, verifyCrc });
    let n = 0;
    let b = 0;
    let sum = 0n;
    for (const rec of r.records) {
      n++;
      sum += rec.offset;
      b += rec.value?.length ?? 0;
    }
    records = n;
    valueBytes = b;
  };
  const crcOnly = () => {
    for (const x of batches) crc32c(data, x.start + 21, x.end);
  };
  let decompressed = 0;
  const codecOnly = () => {
    let out = 0;
    for (const x of batches) {
      out += decompress(x.codec, data.subarray(x.start + 61, x.end)).length;
    }
    decompressed = out;
  };
  // Two rounds, the second reported: the first pays for growing the heap and
  // the wasm arena (page faults), which would make whichever runs first look slow.
  let tFull = 0, tNoCrc = 0, tCrc = 0, tCodec = 0;
  for (let round = 0; round < 2; round++) {
    tNoCrc = time(full(false));
    tFull = time(full(true));
    tCrc = time(crcOnly);
    tCodec = time(codecOnly);
  }
  const codecs = [...new Set(batches.map((b) => b.codec))]
    .map((c) => Object.entries(Compression).find(([, v]) => v === c)?.[0] ?? String(c));
  const mb = (s: number, bytes: number) => `${fmt(bytes / s / 1e6, 0)} MB/s`;
  console.log(
    `${path}: ${usable.length} bytes, ${batches.length} batches (${codecs.join(",")}), ` +
      `${records} records, ${valueBytes} value bytes, ${decompressed} bytes decompressed`,
  );
  console.log(`full decode, CRC on : ${fmt(tFull * 1e3, 1)} ms  ${mb(tFull, valueBytes)} values`);
  console.log(`full decode, CRC off: ${fmt(tNoCrc * 1e3, 1)} ms  ${mb(tNoCrc, valueBytes)} values`);
  console.log(`CRC32C alone        : ${fmt(tCrc * 1e3, 1)} ms  ${mb(tCrc, usable.length)} input`);
  console.log(
    `codec alone         : ${fmt(tCodec * 1e3, 1)} ms  ${mb(tCodec, decompressed)} output`,
  );
}

if (import.meta.main) {
  await main();
}
