/**
 * One timed read for `bench/e2e_consumer.ts`: runs sluice's `Consumer` in its
 * own process (so its CPU time and peak RSS are its own), reads a topic until
 * it holds every record, and prints one JSON line ({@linkcode ChildResult})
 * on stdout.
 *
 *     deno run -A bench/e2e_consumer_child.ts --brokers 127.0.0.1:9092 --topic T \
 *       --partitions 6 --records 1000000 --mode assign|group [--group G] [--no-crc] \
 *       [--defaults] [--stall-ms MS] [--max-buffered-bytes B]
 *
 * Per record it reads the key and value lengths (payload bytes) and the
 * offset (a per-partition sum, compared by the parent with the expected
 * 0 + 1 + ... + (n - 1)), and it acks every batch. The timed window runs from
 * the first record delivered to the last; CPU time (user + sys of the whole
 * process, all threads) is read from /proc/self/stat at both ends of it.
 *
 * `--defaults` leaves the fetch settings at the consumer's defaults (the
 * memory check of `bench/compare/compare.ts`); `--stall-ms MS` stops reading
 * for MS ms after the first batch, while RSS is sampled (a stalled reader:
 * fetching must stop at `maxBufferedBytes`, which `--max-buffered-bytes`
 * sets).
 *
 * @module
 */

import { Consumer, type ConsumerOptions } from "../mod.ts";

/** What one run measured; printed as a JSON line. */
export interface ChildResult {
  /** "assign" or "group". */
  mode: string;
  /** Records delivered. */
  records: number;
  /** Key + value bytes delivered. */
  payloadBytes: number;
  /** Batches delivered (each acked). */
  batches: number;
  /** Per partition: [records, sum of offsets]. */
  partitions: Record<string, [number, number]>;
  /** Construction to first record delivered (connect, metadata, join, first Fetch). */
  startToFirstMs: number;
  /** First record delivered to last record delivered: the timed window. */
  firstToLastMs: number;
  /** Last record to `close()` resolved (commit, leave group, sockets). */
  closeMs: number;
  /** user + sys CPU seconds of this process inside the timed window. */
  cpuWindowS: number;
  /** Sys part of the above. */
  cpuWindowSysS: number;
  /** user + sys CPU seconds of this process from its start to exit (incl. Deno start-up). */
  cpuProcessS: number;
  /** Peak resident set size of this process, bytes (VmHWM). */
  peakRssBytes: number;
  /** Largest `Deno.memoryUsage().rss` sampled every 50 ms, bytes. */
  sampledRssMaxBytes: number;
  /** Largest V8 heap used sampled every 50 ms, bytes. */
  sampledHeapMaxBytes: number;
  /** RSS just before the consumer was created, bytes. */
  startRssBytes: number;
  /** With `--stall-ms`: RSS after the first batch, before the stall, bytes (else 0). */
  stallStartRssBytes: number;
  /** With `--stall-ms`: the largest RSS sampled during the stall, bytes (else 0). */
  stallMaxRssBytes: number;
}

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

function required(name: string): string {
  const value = flag(name);
  if (value === undefined) throw new Error(`e2e_consumer_child: --${name} is required`);
  return value;
}

const CLK_TCK = 100; // USER_HZ: 100 on every Linux ABI Deno runs on

/** [user, sys] CPU seconds of this process (all threads), from /proc/self/stat. */
function cpuTimes(): [number, number] {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  // Fields after the parenthesized command name (which may contain spaces).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return [Number(fields[11]) / CLK_TCK, Number(fields[12]) / CLK_TCK];
}

function vmHwmBytes(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

async function main(): Promise<void> {
  const brokers = required("brokers");
  const topic = required("topic");
  const partitionCount = Number(required("partitions"));
  const expected = Number(required("records"));
  const mode = required("mode");
  const timeoutMs = Number(flag("timeout-ms") ?? 300_000);
  if (mode !== "assign" && mode !== "group") throw new Error(`unknown --mode ${mode}`);

  let sampledRss = 0;
  let sampledHeap = 0;
  const sample = () => {
    const m = Deno.memoryUsage();
    if (m.rss > sampledRss) sampledRss = m.rss;
    if (m.heapUsed > sampledHeap) sampledHeap = m.heapUsed;
  };
  const sampler = setInterval(sample, 50);

  const stallMs = Number(flag("stall-ms") ?? 0);
  const maxBuffered = flag("max-buffered-bytes");
  const fetchSettings: Partial<ConsumerOptions> = {
    ...(Deno.args.includes("--defaults") ? {} : {
      fetchMaxBytes: 52428800,
      maxPartitionFetchBytes: 1048576,
      fetchMinBytes: 1,
      fetchMaxWaitMs: 500,
    }),
    ...(maxBuffered !== undefined ? { maxBufferedBytes: Number(maxBuffered) } : {}),
    checkCrcs: !Deno.args.includes("--no-crc"),
  };
  const options: ConsumerOptions = mode === "assign"
    ? {
      brokers,
      assign: Array.from({ length: partitionCount }, (_, partition) => ({
        topic,
        partition,
        offset: 0n,
      })),
      ...fetchSettings,
    }
    : {
      brokers,
      groupId: required("group"),
      topics: [topic],
      autoOffsetReset: "earliest",
      commit: "auto",
      ...fetchSettings,
    };

  const counts = new Array<number>(partitionCount).fill(0);
  const sums = new Array<number>(partitionCount).fill(0);
  let records = 0;
  let payloadBytes = 0;
  let batches = 0;
  let first = 0;
  let last = 0;
  let cpuFirst: [number, number] = [0, 0];
  let cpuLast: [number, number] = [0, 0];
  let stallStartRss = 0;
  let stallMaxRss = 0;

  const timer = setTimeout(() => {
    console.error(
      `e2e_consumer_child: timed out after ${timeoutMs} ms with ${records} of ${expected} records`,
    );
    Deno.exit(2);
  }, timeoutMs);

  const startRss = Deno.memoryUsage().rss;
  const t0 = performance.now();
  const consumer = new Consumer(options);
  try {
    for await (const batch of consumer) {
      if (records === 0) {
        first = performance.now();
        cpuFirst = cpuTimes();
      }
      const p = batch.partition;
      let sum = 0;
      let bytes = 0;
      for (const record of batch.records) {
        sum += Number(record.offset);
        if (record.key !== null) bytes += record.key.length;
        if (record.value !== null) bytes += record.value.length;
      }
      const n = batch.records.length;
      sums[p] += sum;
      counts[p] += n;
      records += n;
      payloadBytes += bytes;
      batches++;
      batch.ack();
      if (stallMs > 0 && batches === 1) {
        // A stalled reader: the fetcher may fill the buffer up to its bound
        // and must then stop; RSS shows whether it did.
        stallStartRss = Deno.memoryUsage().rss;
        const end = performance.now() + stallMs;
        while (performance.now() < end) {
          await new Promise((r) => setTimeout(r, 50));
          stallMaxRss = Math.max(stallMaxRss, Deno.memoryUsage().rss);
        }
      }
      if (records >= expected) {
        last = performance.now();
        cpuLast = cpuTimes();
        break;
      }
    }
  } finally {
    await consumer.close();
  }
  const closed = performance.now();
  clearTimeout(timer);
  if (records < expected) {
    console.error(`e2e_consumer_child: the stream ended after ${records} of ${expected} records`);
    Deno.exit(1);
  }
  clearInterval(sampler);
  sample();
  const [user, sys] = cpuTimes();
  const partitions: Record<string, [number, number]> = {};
  for (let p = 0; p < partitionCount; p++) partitions[String(p)] = [counts[p], sums[p]];
  const result: ChildResult = {
    mode,
    records,
    payloadBytes,
    batches,
    partitions,
    startToFirstMs: first - t0,
    firstToLastMs: last - first,
    closeMs: closed - last,
    cpuWindowS: cpuLast[0] - cpuFirst[0] + (cpuLast[1] - cpuFirst[1]),
    cpuWindowSysS: cpuLast[1] - cpuFirst[1],
    cpuProcessS: user + sys,
    peakRssBytes: vmHwmBytes(),
    sampledRssMaxBytes: sampledRss,
    sampledHeapMaxBytes: sampledHeap,
    startRssBytes: startRss,
    stallStartRssBytes: stallStartRss,
    stallMaxRssBytes: stallMaxRss,
  };
  console.log(JSON.stringify(result));
}

if (import.meta.main) {
  await main();
}
