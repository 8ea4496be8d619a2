/**
 * `deno task bench:compare`: sluice against Kafka's Java consumer, librdkafka
 * (kcat), kafkajs and @platformatic/kafka, on one broker, the same topics, the
 * same fetch settings.
 *
 *     deno task bench:compare                      # full: 9 cells, every client, 3 reps (≤ 30 min)
 *     deno task bench:compare --quick              # 100 B uncompressed, ours vs Java (1–2 min)
 *     deno task bench:compare --cells 100B-none,1KB-lz4 --peers ours,java,kcat --reps 1
 *     KAFKA_BROKERS=host:port deno task bench:compare ...      # an existing broker
 *     deno task bench:compare --producers [--quick] ...        # the producer cells (producers.ts)
 *
 * Flags:
 * - `--quick`: one small cell (100B-none, 150,000 records), ours (assign) and
 *   Java, 3 repetitions, no memory checks; writes no files unless `--out`.
 * - `--reps N` (3): repetitions per cell (the median and min–max are reported).
 * - `--cells LIST`: comma-separated `<size>-<codec>` ids, size 100B|1KB|10KB,
 *   codec none|lz4|zstd (default: all 9).
 * - `--peers LIST`: client ids (default all): ours, ours-group, java, kcat,
 *   kafkajs-node, kafkajs-deno, platformatic-node, platformatic-deno.
 * - `--scale F` (1): multiplies the records written per cell.
 * - `--no-memory`: skip the memory checks (1 GB read, stalled reader).
 * - `--out FILE`, `--svg FILE`, `--json FILE`: where the results go. A full
 *   run (all cells, all clients, ≥ 3 reps, scale 1) writes `bench/RESULTS.md`,
 *   `bench/results.svg` and `bench/results.json` (the raw samples); other runs
 *   print the table and write only what is asked.
 * - `--render FILE.json`: measure nothing; render the report (and with
 *   `--out`/`--svg` the files) again from a run's raw samples.
 * - `--setup`: install the peers, print the versions, and stop.
 *
 * Per cell: a topic of 6 partitions, written once by Kafka's
 * `producer-perf-test` (values of the cell's size, no keys, acks=1,
 * batch.size=1 MiB, linger.ms=50, the cell's compression.type, round-robin
 * partitioner so each partition gets a sixth); then one untimed read by ours
 * and by Java (page cache, the broker's JIT, the JVM's class-data archive);
 * then the repetitions, each running every client once in an order that
 * rotates from one repetition to the next. Every client gets the same fetch
 * settings (50 MiB per fetch, 1 MiB per partition, min 1 byte, max wait
 * 500 ms), runs in a child process of its own under GNU time (CPU user+sys and
 * peak RSS of that process), and must read exactly the records the topic
 * holds: the count, the payload bytes, and per partition the count and the
 * sum of offsets, from the partitions' end offsets (Java's tool reports only
 * its count). Rates are over each client's first-to-last-record window (Java:
 * the tool's fetch window). The topic is deleted after its cell.
 *
 * Memory checks (full runs): ours reads 1 GB (100,000 × 10 KB) with its
 * default settings (peak RSS); and a stalled reader stops for 5 s after its
 * first batch while RSS is sampled, with the default 32 MiB buffer bound and
 * with 8 MiB.
 *
 * Without `KAFKA_BROKERS` it starts a single-node Kafka 4.1.1 with
 * `scripts/kafka.sh start --name bench` and stops it at the end, also on
 * failure or ^C. Setup installs what the peers need when missing: kcat with
 * apt-get, kafkajs and @platformatic/kafka with npm into
 * `~/.cache/sluice/bench-peers/node` (outside the repository), the same
 * packages for Deno into Deno's cache (`deno cache npm:…`).
 *
 * @module
 */

import { uniqueName } from "../../tests/_kafka.ts";
import {
  broker,
  createTopic,
  deleteTopic,
  type Expected,
  expectedOf,
  FETCH_PROPERTIES,
  produce,
} from "../lib/kafka.ts";
import { loadAvg, machine } from "../lib/machine.ts";
import { type OursResult, runOurs } from "../lib/ours.ts";
import { log, run, stopOnSignals } from "../lib/proc.ts";
import { runRotated } from "../lib/reps.ts";
import { fmt, fmtInt, MiB } from "../lib/stats.ts";
import { allClients, type Cell, type Client, ensureGnuTime } from "./clients.ts";
import {
  type CellResult,
  fromJson,
  type MemoryResult,
  renderMarkdown,
  renderSvg,
  type ReportInput,
  toJson,
} from "./report.ts";

// ---------------------------------------------------------------------------
// flags

const SIZES: Record<string, number> = { "100B": 100, "1KB": 1000, "10KB": 10000 };
/**
 * Records per cell by size: 150–200 MB, about 1–3 s for the fast clients and
 * at most about 15 s for the slowest on 2 cores, so that a full run fits in 30
 * min. 100 B cells hold 2M records: with 500k, the fastest clients' windows
 * were ~0.5 s, short enough for fetch ramp-up to skew the ratios (at 3M
 * records sluice/kafkajs went from 3.1–3.6x to 4.8–7.1x).
 */
const RECORDS: Record<string, number> = { "100B": 2_000_000, "1KB": 150_000, "10KB": 20_000 };
const CODECS = ["none", "lz4", "zstd"] as const;
const ALL_CELLS = Object.keys(SIZES).flatMap((s) => CODECS.map((c) => `${s}-${c}`));

interface Flags {
  quick: boolean;
  reps: number;
  cells: string[];
  peers: string[] | null;
  scale: number;
  memory: boolean;
  out: string | null;
  svg: string | null;
  json: string | null;
  render: string | null;
  setupOnly: boolean;
  full: boolean;
}

function parseFlags(args: string[]): Flags {
  const f: Flags = {
    quick: false,
    reps: 3,
    cells: ALL_CELLS,
    peers: null,
    scale: 1,
    memory: true,
    out: null,
    svg: null,
    json: null,
    render: null,
    setupOnly: false,
    full: false,
  };
  let cellsGiven = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [name, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`${name} needs a value (see --help)`);
      return v;
    };
    switch (name) {
      case "--quick":
        f.quick = true;
        break;
      case "--reps":
        f.reps = Number(value());
        if (!Number.isInteger(f.reps) || f.reps < 1) {
          throw new Error("--reps needs an integer >= 1");
        }
        break;
      case "--cells":
        f.cells = value().split(",").map((s) => s.trim()).filter(Boolean);
        cellsGiven = true;
        for (const c of f.cells) {
          if (!ALL_CELLS.includes(c)) {
            throw new Error(`unknown cell ${c}: use ${ALL_CELLS.join(", ")}`);
          }
        }
        break;
      case "--peers":
        f.peers = value().split(",").map((s) => s.trim()).filter(Boolean);
        break;
      case "--scale":
        f.scale = Number(value());
        if (!(f.scale > 0)) throw new Error("--scale needs a positive number");
        break;
      case "--no-memory":
        f.memory = false;
        break;
      case "--out":
        f.out = value();
        break;
      case "--svg":
        f.svg = value();
        break;
      case "--json":
        f.json = value();
        break;
      case "--render":
        f.render = value();
        break;
      case "--setup":
        f.setupOnly = true;
        break;
      case "--help":
      case "-h":
        console.log(
          "usage: deno task bench:compare [--quick] [--reps N] [--cells LIST] [--peers LIST]\n" +
            "         [--scale F] [--no-memory] [--out FILE] [--svg FILE] [--json FILE] [--setup]\n" +
            "       deno task bench:compare --render FILE.json [--out FILE] [--svg FILE]\n" +
            `cells: ${ALL_CELLS.join(",")}\n` +
            `peers: ${allClients().map((c) => c.id).join(",")}`,
        );
        Deno.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg} (see --help)`);
    }
  }
  const ids = allClients().map((c) => c.id);
  for (const p of f.peers ?? []) {
    if (!ids.includes(p)) throw new Error(`unknown peer ${p}: use ${ids.join(", ")}`);
  }
  if (f.quick) {
    if (!cellsGiven) f.cells = ["100B-none"];
    f.peers ??= ["ours", "java"];
    f.memory = false;
    if (f.scale === 1) f.scale = 0.3; // 150,000 records
  }
  f.full = !f.render && !f.quick && f.cells.length === ALL_CELLS.length && f.peers === null &&
    f.reps >= 3 && f.scale === 1;
  if (f.full) {
    f.out ??= new URL("../RESULTS.md", import.meta.url).pathname;
    f.svg ??= new URL("../results.svg", import.meta.url).pathname;
    f.json ??= new URL("../results.json", import.meta.url).pathname;
  }
  return f;
}

function cellOf(id: string, scale: number): Cell {
  const [size, codec] = id.split("-");
  return {
    id,
    size: SIZES[size],
    codec: codec as Cell["codec"],
    records: Math.max(6, Math.round(RECORDS[size] * scale)),
  };
}

// ---------------------------------------------------------------------------
// one cell

/** Writes the cell's topic, warms up, runs the repetitions; deletes the topic. */
async function runCell(
  bootstrap: string,
  cell: Cell,
  clients: Client[],
  reps: number,
  javaConfig: string,
): Promise<CellResult> {
  const topic = uniqueName(`bench-cmp-${cell.id}`);
  const result: CellResult = {
    cell,
    samples: new Map(clients.map((c) => [c.id, []])),
    na: new Map(),
    failed: new Map(),
    produced: { recordsPerSec: NaN, mbPerSec: NaN },
    perPartition: [],
  };
  for (const c of clients) {
    const reason = c.naFor(cell);
    if (reason !== null) result.na.set(c.id, reason);
  }
  const active = clients.filter((c) => !result.na.has(c.id));
  try {
    await createTopic(bootstrap, topic, 6);
    log(`${cell.id}: writing ${fmtInt(cell.records)} records of ${cell.size} B (${cell.codec})`);
    result.produced = await produce(bootstrap, topic, cell.records, cell.size, cell.codec, {
      roundRobin: true,
    });
    const expected: Expected = await expectedOf(bootstrap, topic, 6, cell.records);
    result.perPartition = expected.perPartition;
    const ctx = { bootstrap, topic, cell, expected, javaConfig };
    // Warm-up: the page cache holds the fresh log already; this warms the
    // broker's read path (JIT) and writes the JVM's class-data archive.
    for (const c of active.filter((c) => c.id === "ours" || c.id === "java")) {
      log(`${cell.id}: warm-up read by ${c.id}`);
      await c.read(ctx).catch((e) => log(`${cell.id}: warm-up ${c.id} failed: ${e}`));
    }
    await runRotated(cell.id, reps, active, result.samples, result.failed, (c) => c.read(ctx));
  } finally {
    await deleteTopic(bootstrap, topic);
  }
  return result;
}

// ---------------------------------------------------------------------------
// memory checks

async function memoryChecks(bootstrap: string): Promise<MemoryResult> {
  const topic = uniqueName("bench-cmp-memory");
  const records = 100_000;
  const size = 10_000;
  try {
    await createTopic(bootstrap, topic, 6);
    log(`memory: writing ${fmtInt(records)} records of ${size} B (1 GB)`);
    await produce(bootstrap, topic, records, size, "none", { roundRobin: true });
    const expected = await expectedOf(bootstrap, topic, 6, records);
    const oneGb: OursResult[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await runOurs("assign", bootstrap, topic, expected, { defaults: true });
      log(`memory: 1 GB read, peak RSS ${fmt(r.timedPeakRssBytes / MiB, 0)} MiB`);
      oneGb.push(r);
    }
    const stalled: { boundBytes: number; result: OursResult }[] = [];
    for (const bound of [32 * MiB, 8 * MiB]) {
      const r = await runOurs("assign", bootstrap, topic, expected, {
        defaults: true,
        stallMs: 5000,
        maxBufferedBytes: bound,
      });
      log(
        `memory: stalled reader, bound ${bound / MiB} MiB: RSS ${
          fmt(r.stallStartRssBytes / MiB, 0)
        } → max ${fmt(r.stallMaxRssBytes / MiB, 0)} MiB during the stall`,
      );
      stalled.push({ boundBytes: bound, result: r });
    }
    return { bytes: records * size, oneGb, stalled };
  } finally {
    await deleteTopic(bootstrap, topic);
  }
}

// ---------------------------------------------------------------------------
// main

/** Writes the report files asked for. */
async function writeOutputs(flags: Flags, input: ReportInput): Promise<void> {
  const md = renderMarkdown(input);
  console.log(md);
  if (flags.out) {
    await Deno.writeTextFile(flags.out, md);
    // Formatted as `deno fmt --check` (deno task check) wants it.
    await run(Deno.execPath(), ["fmt", "--quiet", flags.out], { track: false });
    log(`wrote ${flags.out}`);
  }
  if (flags.svg) {
    await Deno.writeTextFile(flags.svg, renderSvg(input.cells, input.clients));
    log(`wrote ${flags.svg}`);
  }
  if (flags.json) {
    await Deno.writeTextFile(flags.json, toJson(input));
    log(`wrote ${flags.json}`);
  }
  if (!flags.out && !flags.svg && !flags.json) {
    log("not writing bench/RESULTS.md (not a full run; --out FILE)");
  }
}

async function main(): Promise<void> {
  if (Deno.args[0] === "--producers") {
    // The producer cells: bench/compare/producers.ts (`deno task bench:produce`).
    const producers = await import("./producers.ts");
    await producers.main(Deno.args.slice(1));
    return;
  }
  const flags = parseFlags(Deno.args);
  if (flags.render) {
    await writeOutputs(flags, fromJson(await Deno.readTextFile(flags.render)));
    return;
  }
  const began = performance.now();
  const clients = allClients().filter((c) => flags.peers === null || flags.peers.includes(c.id));

  if (!(await ensureGnuTime())) {
    log("warning: no /usr/bin/time (package `time`): CPU and RSS will be n/a");
  }
  const unavailable = new Map<string, string>();
  for (const c of clients) {
    const reason = await c.setup();
    if (reason !== null) unavailable.set(c.id, reason);
    log(`${c.id}: ${reason === null ? c.version : `n/a: ${reason}`}`);
  }
  if (flags.setupOnly) return;
  const runnable = clients.filter((c) => !unavailable.has(c.id));

  const loadBefore = await loadAvg();
  const kafka = broker();
  const removeSignalListeners = stopOnSignals(() => kafka.stop());
  const javaConfig = await Deno.makeTempFile({ prefix: "sluice-bench-", suffix: ".properties" });
  const cells: CellResult[] = [];
  let memory: MemoryResult | null = null;
  try {
    await Deno.writeTextFile(javaConfig, FETCH_PROPERTIES);
    const bootstrap = await kafka.start();
    for (const id of flags.cells) {
      log(`${id}: starting, ${fmt((performance.now() - began) / 60000, 1)} min into the run`);
      const r = await runCell(bootstrap, cellOf(id, flags.scale), runnable, flags.reps, javaConfig);
      for (const [c, reason] of unavailable) r.na.set(c, reason);
      cells.push(r);
    }
    if (flags.memory) memory = await memoryChecks(bootstrap);
  } finally {
    await Deno.remove(javaConfig).catch(() => {});
    await kafka.stop();
    removeSignalListeners();
  }

  const loadAfter = await loadAvg();
  const m = await machine();
  const seconds = (performance.now() - began) / 1000;
  await writeOutputs(flags, {
    cells,
    clients,
    memory,
    machine: m,
    loadBefore,
    loadAfter,
    seconds,
    reps: flags.reps,
    date: new Date().toISOString(),
    command: `deno task bench:compare${Deno.args.length ? " " + Deno.args.join(" ") : ""}`,
    brokerNote: kafka.ownedByUs
      ? "single-node KRaft broker started by scripts/kafka.sh on 127.0.0.1, same machine"
      : `KAFKA_BROKERS=${Deno.env.get("KAFKA_BROKERS")}`,
  });
  const failures = cells.flatMap((c) =>
    [...c.failed].map(([id, msg]) => `${c.cell.id} ${id}: ${msg}`)
  );
  if (failures.length > 0) {
    log(`${failures.length} client/cell run(s) failed:\n  ${failures.join("\n  ")}`);
    Deno.exit(1);
  }
}

if (import.meta.main) {
  await main();
}
