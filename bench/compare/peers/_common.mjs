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
 * The flags every peer takes: `--brokers`, `--topic`, `--partitions`,
 * `--records`, `--group`, `--lib` (the module to import: a file URL into a
 * node_modules on Node, an `npm:` specifier on Deno), `--timeout-ms`.
 */
export function flags() {
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
