/**
 * What every JavaScript peer shares: its flags, the per-record tally (count,
 * payload bytes, per-partition count and offset sum), the timed window
 * (first record to last, on this process's clock, with its CPU time), and
 * the one JSON result line on stdout that `bench/compare/compare.ts` reads.
 *
 * Runs unchanged on Node and on Deno (through `node:` built-ins only).
 *
 * @module
 */

import process from "node:process";

/**
 * The value of `--name` on the command line, else `fallback`; throws when
 * neither is there.
 */
export function flag(name, fallback) {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < args.length) return args[i + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`peer: --${name} is required`);
}

/**
 * The flags every peer takes: `--brokers`, `--topic`, `--partitions`,
 * `--records`, `--group`, `--lib` (the module to import: a file URL into a
 * node_modules on Node, an `npm:` specifier on Deno), `--timeout-ms`.
 */
export function flags() {
  const get = flag;
  return {
    brokers: get("brokers").split(","),
    topic: get("topic"),
    partitions: Number(get("partitions")),
    records: Number(get("records")),
    group: get("group"),
    lib: get("lib"),
    timeoutMs: Number(get("timeout-ms", "120000")),
  };
}

/** user + sys CPU seconds of this process (all threads). */
function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * The tally of one read. `add(partition, offset, bytes)` per record; `done`
 * once `records` were seen. `result(extra)` is the JSON line's object.
 */
export function tally(partitions, records) {
  const counts = new Array(partitions).fill(0);
  const sums = new Array(partitions).fill(0);
  const t0 = performance.now();
  let n = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  let cpuFirst = 0;
  let cpuLast = 0;
  return {
    get done() {
      return n >= records;
    },
    get count() {
      return n;
    },
    add(partition, offset, size) {
      if (n === 0) {
        first = performance.now();
        cpuFirst = cpuSeconds();
      }
      counts[partition]++;
      sums[partition] += offset;
      bytes += size;
      n++;
      if (n === records) {
        last = performance.now();
        cpuLast = cpuSeconds();
      }
    },
    result(extra) {
      const parts = {};
      for (let p = 0; p < partitions; p++) parts[String(p)] = [counts[p], sums[p]];
      return {
        records: n,
        payloadBytes: bytes,
        partitions: parts,
        startToFirstMs: first - t0,
        firstToLastMs: last - first,
        cpuWindowS: cpuLast - cpuFirst,
        runtime: typeof Deno === "undefined"
          ? `node ${process.version}`
          : `deno ${Deno.version.deno}`,
        ...extra,
      };
    },
  };
}

/** Exits with status 2 and a message if the read has not finished within `ms`. */
export function deadline(ms, t) {
  const timer = setTimeout(() => {
    console.error(`peer: timed out after ${ms} ms with ${t.count} records`);
    process.exit(2);
  }, ms);
  return () => clearTimeout(timer);
}

/** Prints the result line and exits (some clients keep timers alive after disconnecting). */
export function finish(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n", () => process.exit(0));
}

/**
 * The flags of the producer peers (`*_produce.mjs`): `--brokers`, `--topic`,
 * `--records`, `--size`, `--codec` (none|lz4), `--chunk` (1000), `--lib`.
 */
export function produceFlags() {
  const args = process.argv.slice(2);
  const get = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    if (i >= 0 && i + 1 < args.length) return args[i + 1];
    if (fallback !== undefined) return fallback;
    throw new Error(`peer: --${name} is required`);
  };
  return {
    brokers: get("brokers").split(","),
    topic: get("topic"),
    records: Number(get("records")),
    size: Number(get("size")),
    codec: get("codec", "none"),
    chunk: Number(get("chunk", "1000")),
    lib: get("lib"),
  };
}

/** `size` random bytes A–Z, the one value of every record (as Kafka's ProducerPerformance). */
export function payload(size) {
  const value = new Uint8Array(size);
  for (let i = 0; i < size; i++) value[i] = 65 + Math.floor(Math.random() * 26);
  return value;
}

/**
 * `connect()`, then writes `records` records in chunks of `chunk` with
 * `sendChunk(n)` (which resolves once that chunk is acknowledged), keeping
 * at most 32 MiB of records in unacknowledged sends, as ours does (its
 * buffer size); then `close()`. The window: from before `connect()` (ours
 * and Java's producers connect on their first send, inside theirs) to
 * `close()` resolved. Returns the result line's object.
 */
export async function timedWrites(records, chunk, size, connect, sendChunk, close) {
  const budget = 32 * 1024 * 1024;
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  await connect();
  const outstanding = [];
  let outstandingBytes = 0;
  let acked = 0;
  for (let sent = 0; sent < records;) {
    const n = Math.min(chunk, records - sent);
    sent += n;
    outstanding.push({ p: sendChunk(n).then(() => n), bytes: n * size });
    outstandingBytes += n * size;
    while (outstandingBytes > budget) {
      const o = outstanding.shift();
      acked += await o.p;
      outstandingBytes -= o.bytes;
    }
  }
  for (const o of outstanding) acked += await o.p;
  await close();
  return {
    records: acked,
    windowMs: performance.now() - t0,
    cpuWindowS: cpuSeconds() - cpu0,
    runtime: typeof Deno === "undefined" ? `node ${process.version}` : `deno ${Deno.version.deno}`,
  };
}
