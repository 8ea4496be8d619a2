/**
 * `deno task bench:produce` (also `deno task bench:compare --producers …`):
 * sluice's `Producer` against Kafka's Java `ProducerPerformance`, kafkajs and
 * @platformatic/kafka, writing to one broker.
 *
 *     deno task bench:produce                      # full: 6 cells, every client, 3 reps (≤ 10 min)
 *     deno task bench:produce --quick              # 100 B uncompressed, ours vs Java, 1M records
 *     deno task bench:produce --cells 1KB-lz4 --peers ours,java --reps 1
 *     KAFKA_BROKERS=host:port deno task bench:produce ...      # an existing broker
 *
 * Flags: `--quick`, `--reps N` (3), `--cells LIST` (`100B|1KB|10KB` ×
 * `none|lz4`), `--peers LIST` (see {@linkcode producerClients}), `--scale F`
 * (records per cell × F), `--out FILE`, `--setup`. A full run (all cells,
 * all clients, ≥ 3 reps, scale 1) writes `bench/RESULTS_producer.md`.
 *
 * Every write: a fresh topic of 6 partitions (created and deleted through
 * sluice's admin calls, `bench/lib/admin.ts`), N records of the cell's value
 * size, no keys, acks=all, the cell's codec; the client in a process of its
 * own under GNU time (CPU user+sys, peak RSS); afterwards the partitions'
 * offsets must hold exactly N records (log start 0, the sum of the log end
 * offsets N: nothing lost, nothing written twice). Rates are N over each
 * client's window, from before its first send (connecting included) to its
 * producer's close() (every record acknowledged): `ProducerPerformance`'s
 * own window, which ends after its `producer.close()`.
 *
 * @module
 */

import { kafkaScript, uniqueName } from "../../tests/_kafka.ts";
import { BenchAdmin } from "../lib/admin.ts";
import { broker } from "../lib/kafka.ts";
import { loadAvg, machine } from "../lib/machine.ts";
import { lastJsonLine, log, run, runTimed, stopOnSignals, type TimedResult } from "../lib/proc.ts";
import { fmt, fmtInt, median, MiB, stat } from "../lib/stats.ts";
import { runRotated } from "../lib/reps.ts";
import { ensureGnuTime, peerCommand } from "./clients.ts";
import type { ProducerChildResult } from "./producer_child.ts";

const SIZES: Record<string, number> = { "100B": 100, "1KB": 1000, "10KB": 10000 };
/** Records per cell: 50–100 MB, a few seconds for the fast clients on 2 cores. */
const RECORDS: Record<string, number> = { "100B": 500_000, "1KB": 100_000, "10KB": 10_000 };
/**
 * Records per send(): 1000, at most 1 MB of values (10 KB: 100). kafkajs and
 * @platformatic/kafka write one send() as one batch per partition, and a
 * batch over the broker's 1 MiB `message.max.bytes` fails (MESSAGE_TOO_LARGE).
 */
export const chunkOf = (size: number): number => Math.min(1000, Math.floor(1_000_000 / size));
const CODECS = ["none", "lz4"] as const;
const ALL_CELLS = Object.keys(SIZES).flatMap((s) => CODECS.map((c) => `${s}-${c}`));
const PARTITIONS = 6;

/** One cell: value size, codec, records written per run. */
export interface ProduceCell {
  id: string;
  size: number;
  codec: "none" | "lz4";
  records: number;
}

/** One timed write. */
export interface ProduceSample {
  recordsPerSec: number;
  /** Value bytes per second, 10^6. */
  mbPerSec: number;
  windowMs: number;
  /** user + sys CPU seconds of the whole process (GNU time). */
  cpuS: number;
  /** user + sys CPU seconds inside the window (NaN where the client cannot tell). */
  cpuWindowS: number;
  peakRssBytes: number;
}

/** A producer under test. */
export interface ProducerClient {
  id: string;
  label: string;
  version: string;
  /** Installs or finds what it needs; a reason when it cannot run here. */
  setup(): Promise<string | null>;
  /** Why the cell is n/a for it, or null. */
  naFor(cell: ProduceCell): string | null;
  /** One timed write of `cell.records` records to `topic`. */
  write(bootstrap: string, topic: string, cell: ProduceCell): Promise<ProduceSample>;
}

const PEERS_DIR = new URL("./peers/", import.meta.url).pathname;
const CHILD = new URL("./producer_child.ts", import.meta.url).pathname;

function sample(
  cell: ProduceCell,
  windowMs: number,
  r: TimedResult,
  cpuWindowS: number,
): ProduceSample {
  const recordsPerSec = cell.records / (windowMs / 1000);
  return {
    recordsPerSec,
    mbPerSec: recordsPerSec * cell.size / 1e6,
    windowMs,
    cpuS: r.cpuS,
    cpuWindowS,
    peakRssBytes: r.peakRssBytes,
  };
}

function failed(what: string, r: TimedResult): Error {
  const err = `${r.stderr}\n${r.stdout}`.trim().split("\n").slice(-8).join("\n");
  return new Error(`${what} failed (exit ${r.code}):\n${err}`);
}

function ours(mode: "send" | "writable"): ProducerClient {
  return {
    id: mode === "send" ? "ours" : "ours-writable",
    label: mode === "send"
      ? "sluice, send() of 1000 records (10 KB: 100)"
      : "sluice, writable (one record per write)",
    version: `sluice (Deno ${Deno.version.deno})`,
    setup: () => Promise.resolve(null),
    naFor: () => null,
    async write(bootstrap, topic, cell) {
      const r = await runTimed(Deno.execPath(), [
        "run",
        "-A",
        CHILD,
        ...["--brokers", bootstrap, "--topic", topic, "--records", String(cell.records)],
        ...["--size", String(cell.size), "--codec", cell.codec, "--mode", mode],
        ...["--chunk", String(chunkOf(cell.size))],
      ]);
      if (r.code !== 0) throw failed(`ours (${mode})`, r);
      const c = lastJsonLine<ProducerChildResult>(`ours ${mode}`, r);
      if (c.records !== cell.records) throw new Error(`ours: ${c.records} records acknowledged`);
      return sample(cell, c.windowMs, r, c.cpuWindowS);
    },
  };
}

function java(): ProducerClient {
  const c: ProducerClient = {
    id: "java",
    label: "Java ProducerPerformance (kafka-clients)",
    version: "kafka-clients",
    async setup() {
      const r = await run("java", ["-version"], { track: false }).catch(() => null);
      if (r === null || r.code !== 0) return "no `java` on PATH";
      c.version = `kafka-clients ${Deno.env.get("KAFKA_VERSION") ?? "(kafka.sh default)"} on ${
        r.stderr.split("\n")[0].replace(/"/g, "").trim()
      }`;
      return null;
    },
    naFor: () => null,
    async write(bootstrap, topic, cell) {
      const r = await runTimed("bash", [
        kafkaScript(),
        "tool",
        "producer-perf-test",
        ...["--topic", topic, "--num-records", String(cell.records)],
        ...["--record-size", String(cell.size), "--throughput", "-1", "--producer-props"],
        ...["acks=all", `compression.type=${cell.codec}`, `bootstrap.servers=${bootstrap}`],
      ]);
      if (r.code !== 0) throw failed("producer-perf-test", r);
      const last = [...r.stdout.matchAll(/(\d+) records sent, ([\d.]+) records\/sec/g)].at(-1);
      if (last === undefined || Number(last[1]) !== cell.records) {
        throw new Error(`producer-perf-test: no final report of ${cell.records} records`);
      }
      return sample(cell, cell.records / Number(last[2]) * 1000, r, NaN);
    },
  };
  return c;
}

function jsPeer(lib: "kafkajs" | "platformatic", runtime: "node" | "deno"): ProducerClient {
  let command: string[] = [];
  const name = lib === "kafkajs" ? "kafkajs" : "@platformatic/kafka";
  const c: ProducerClient = {
    id: `${lib}-${runtime}`,
    label: `${name} on ${runtime === "node" ? "Node" : "Deno (npm:)"}, send() of 1000 (10 KB: 100)`,
    version: name,
    async setup() {
      const peer = await peerCommand(lib, runtime, `${PEERS_DIR}${lib}_produce.mjs`);
      if (typeof peer === "string") return peer;
      command = peer.command;
      c.version = peer.version;
      return null;
    },
    naFor(cell) {
      return lib === "kafkajs" && cell.codec !== "none"
        ? 'kafkajs has only gzip built in ("LZ4 compression not implemented"; codecs are plugins)'
        : null;
    },
    async write(bootstrap, topic, cell) {
      const r = await runTimed(command[0], [
        ...command.slice(1),
        ...["--brokers", bootstrap, "--topic", topic, "--records", String(cell.records)],
        ...["--size", String(cell.size), "--codec", cell.codec],
        ...["--chunk", String(chunkOf(cell.size))],
      ]);
      if (r.code !== 0) throw failed(c.id, r);
      const p = lastJsonLine<{ records: number; windowMs: number; cpuWindowS: number }>(c.id, r);
      if (p.records !== cell.records) throw new Error(`${c.id}: ${p.records} records acknowledged`);
      return sample(cell, p.windowMs, r, p.cpuWindowS);
    },
  };
  return c;
}

/** Every producer, in report order. */
export function producerClients(): ProducerClient[] {
  return [
    ours("send"),
    ours("writable"),
    java(),
    jsPeer("kafkajs", "node"),
    jsPeer("kafkajs", "deno"),
    jsPeer("platformatic", "node"),
    jsPeer("platformatic", "deno"),
  ];
}

// ---------------------------------------------------------------------------
// flags

interface Flags {
  quick: boolean;
  reps: number;
  cells: string[];
  peers: string[] | null;
  scale: number;
  out: string | null;
  setupOnly: boolean;
}

function parseFlags(args: string[]): Flags {
  const f: Flags = {
    quick: false,
    reps: 3,
    cells: ALL_CELLS,
    peers: null,
    scale: 1,
    out: null,
    setupOnly: false,
  };
  const ids = producerClients().map((c) => c.id);
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].includes("=")
      ? [args[i].slice(0, args[i].indexOf("=")), args[i].slice(args[i].indexOf("=") + 1)]
      : [args[i], undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    const list = () => value().split(",").map((s) => s.trim()).filter(Boolean);
    if (name === "--quick") f.quick = true;
    else if (name === "--reps") f.reps = Number(value());
    else if (name === "--cells") f.cells = list();
    else if (name === "--peers") f.peers = list();
    else if (name === "--scale") f.scale = Number(value());
    else if (name === "--out") f.out = value();
    else if (name === "--setup") f.setupOnly = true;
    else if (name === "--help" || name === "-h") {
      console.log(
        "usage: deno task bench:produce [--quick] [--reps N] [--cells LIST] [--peers LIST]\n" +
          "         [--scale F] [--out FILE] [--setup]\n" +
          `cells: ${ALL_CELLS.join(",")}\npeers: ${ids.join(",")}`,
      );
      Deno.exit(0);
    } else throw new Error(`unknown argument ${args[i]} (see --help)`);
  }
  if (!Number.isInteger(f.reps) || f.reps < 1) throw new Error("--reps needs an integer >= 1");
  if (!(f.scale > 0)) throw new Error("--scale needs a positive number");
  for (const c of f.cells) if (!ALL_CELLS.includes(c)) throw new Error(`unknown cell ${c}`);
  for (const p of f.peers ?? []) if (!ids.includes(p)) throw new Error(`unknown peer ${p}`);
  const full = !f.quick && f.cells.length === ALL_CELLS.length && f.peers === null &&
    f.reps >= 3 && f.scale === 1;
  if (f.quick) {
    if (f.cells === ALL_CELLS) f.cells = ["100B-none"];
    f.peers ??= ["ours", "java"];
    if (f.scale === 1) f.scale = 1_000_000 / RECORDS["100B"];
  }
  if (full) f.out ??= new URL("../RESULTS_producer.md", import.meta.url).pathname;
  return f;
}

function cellOf(id: string, scale: number): ProduceCell {
  const [size, codec] = id.split("-");
  return {
    id,
    size: SIZES[size],
    codec: codec as ProduceCell["codec"],
    records: Math.round(RECORDS[size] * scale),
  };
}

// ---------------------------------------------------------------------------
// runs

interface CellResult {
  cell: ProduceCell;
  samples: Map<string, ProduceSample[]>;
  na: Map<string, string>;
  failed: Map<string, string>;
}

/** One write to a fresh topic, checked against the topic's offsets afterwards. */
async function writeOnce(
  admin: BenchAdmin,
  bootstrap: string,
  client: ProducerClient,
  cell: ProduceCell,
): Promise<ProduceSample> {
  const topic = uniqueName(`bench-prod-${cell.id}`);
  await admin.createTopic(topic, PARTITIONS);
  try {
    const s = await client.write(bootstrap, topic, cell);
    const counts = await admin.counts(topic, PARTITIONS);
    const total = counts.reduce((a, b) => a + b, 0);
    if (total !== cell.records) {
      throw new Error(
        `${client.id}: the topic holds ${total} records (${counts}), want ${cell.records}`,
      );
    }
    return s;
  } finally {
    await admin.deleteTopic(topic);
  }
}

async function runCell(
  admin: BenchAdmin,
  bootstrap: string,
  cell: ProduceCell,
  clients: ProducerClient[],
  reps: number,
): Promise<CellResult> {
  const result: CellResult = {
    cell,
    samples: new Map(clients.map((c) => [c.id, []])),
    na: new Map(),
    failed: new Map(),
  };
  for (const c of clients) {
    const reason = c.naFor(cell);
    if (reason !== null) result.na.set(c.id, reason);
  }
  const active = clients.filter((c) => !result.na.has(c.id));
  // Warm-up (untimed, a quarter of the records): the broker's write path for this codec.
  const warm = { ...cell, records: Math.max(1, Math.round(cell.records / 4)) };
  for (const c of active.filter((c) => c.id === "ours" || c.id === "java")) {
    await writeOnce(admin, bootstrap, c, warm).catch((e) => log(`warm-up ${c.id} failed: ${e}`));
  }
  await runRotated(
    cell.id,
    reps,
    active,
    result.samples,
    result.failed,
    (c) => writeOnce(admin, bootstrap, c, cell),
  );
  return result;
}

// ---------------------------------------------------------------------------
// report

const SHORT: Record<string, string> = {
  "ours": "sluice send()",
  "ours-writable": "sluice writable",
  "java": "Java",
  "kafkajs-node": "kafkajs Node",
  "kafkajs-deno": "kafkajs Deno",
  "platformatic-node": "platformatic Node",
  "platformatic-deno": "platformatic Deno",
};

interface ReportInput {
  cells: CellResult[];
  clients: ProducerClient[];
  reps: number;
  seconds: number;
  loadBefore: string;
  loadAfter: string;
  command: string;
  brokerNote: string;
}

function medianRate(r: CellResult, id: string): number {
  const s = r.samples.get(id) ?? [];
  return s.length > 0 ? median(s.map((x) => x.recordsPerSec)) : NaN;
}

async function renderMarkdown(input: ReportInput): Promise<string> {
  const m = await machine();
  const ids = input.clients.map((c) => c.id);
  const out: string[] = [];
  out.push("# Producer comparison", "");
  out.push(
    `Written by \`${input.command}\` (\`bench/compare/producers.ts\`) on ${
      new Date().toISOString().slice(0, 16).replace("T", " ")
    } UTC, in ${fmt(input.seconds / 60, 1)} minutes. See bench/README.md, "Producers".`,
    "",
  );
  out.push(
    `- Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memTotal}, ${m.os}, Linux ${m.kernel}; ` +
      `load average ${input.loadBefore} at the start, ${input.loadAfter} at the end.`,
    `- ${m.deno}; ${m.java}; Kafka ${m.kafka} (${input.brokerNote}); sluice at ${m.commit}.`,
    ...input.clients.map((c) => `- ${c.label}: ${c.version}`),
    `- Every write: a fresh topic of ${PARTITIONS} partitions, N records, no keys, values of ` +
      "the cell's size (one random A–Z value for all, as ProducerPerformance), acks=all, " +
      "the cell's codec; checked afterwards: the partitions hold exactly N records.",
    "- sluice: idempotent (its default), lingerMs 5, batchSize 16384 (Java's defaults). " +
      "Java: `producer-perf-test --throughput -1`, acks=all, idempotent (its default with " +
      "acks=all), linger.ms 5, batch.size 16384. kafkajs and @platformatic/kafka: acks -1, " +
      "their defaults otherwise (not idempotent: both allow one request in flight when they " +
      "are; neither batches across send() calls: each send() is one request, one batch per " +
      "partition, records placed round robin). send() takes 1000 records (10 KB: 100, so " +
      "that one batch stays under the broker's 1 MiB limit); all but Java and sluice " +
      "writable keep up to 32 MiB of values in unacknowledged send()s.",
    "- Window: from before the first send (connecting included) to the producer's close() " +
      "resolving; MB/s is value bytes (10^6). CPU s and peak RSS: the whole process " +
      "(GNU time, start-up included); µs/record: CPU inside the window (n/a for Java).",
    `- ${input.reps} repetition(s) per client and cell, the order rotating; median ` +
      "(min–max). Ratio: ours/Java of the median records/s.",
    "",
  );
  out.push("## Summary: median records/s", "");
  out.push(
    `| cell | N | ${ids.map((id) => SHORT[id] ?? id).join(" | ")} | send()/Java | writable/Java |`,
  );
  out.push(`| --- | --: | ${ids.map(() => "--:").join(" | ")} | --: | --: |`);
  for (const r of input.cells) {
    const java = medianRate(r, "java");
    const ratio = (id: string) => {
      const x = medianRate(r, id) / java;
      return Number.isFinite(x) ? `**${fmt(x, 2)}×**` : "n/a";
    };
    const cellsText = ids.map((id) =>
      r.na.has(id)
        ? "n/a"
        : r.failed.has(id)
        ? "failed"
        : Number.isFinite(medianRate(r, id))
        ? fmtInt(medianRate(r, id))
        : "–"
    );
    out.push(
      `| ${r.cell.id} | ${fmtInt(r.cell.records)} | ${cellsText.join(" | ")} | ${ratio("ours")} | ${
        ratio("ours-writable")
      } |`,
    );
  }
  out.push("");
  for (const r of input.cells) {
    out.push(`## ${r.cell.id}: ${fmtInt(r.cell.records)} records of ${r.cell.size} B`, "");
    out.push(
      "| client | records/s | MB/s | window ms | CPU s (process) | CPU µs/record (window) | peak RSS MiB |",
      "| --- | --: | --: | --: | --: | --: | --: |",
    );
    for (const id of ids) {
      const s = r.samples.get(id) ?? [];
      if (r.na.has(id)) {
        out.push(`| ${SHORT[id]} | n/a: ${r.na.get(id)} | | | | | |`);
        continue;
      }
      const f = r.failed.has(id) ? ` (failed: ${r.failed.get(id)})` : "";
      out.push(
        `| ${SHORT[id]} | ${stat(s.map((x) => x.recordsPerSec), fmtInt)}${f} | ${
          stat(s.map((x) => x.mbPerSec), (n) => fmt(n, 1))
        } | ${stat(s.map((x) => x.windowMs), (n) => fmt(n, 0))} | ${
          stat(s.map((x) => x.cpuS), (n) => fmt(n, 2))
        } | ${stat(s.map((x) => x.cpuWindowS / r.cell.records * 1e6), (n) => fmt(n, 2))} | ${
          stat(s.map((x) => x.peakRssBytes / MiB), (n) => fmt(n, 0))
        } |`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------
// main

/** Runs the producer comparison with these arguments. */
export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args);
  const began = performance.now();
  const clients = producerClients().filter((c) => flags.peers?.includes(c.id) ?? true);
  if (!(await ensureGnuTime())) log("warning: no /usr/bin/time: CPU and RSS will be n/a");
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
  const cells: CellResult[] = [];
  try {
    const bootstrap = await kafka.start();
    const admin = new BenchAdmin(bootstrap);
    try {
      for (const id of flags.cells) {
        log(`${id}: starting, ${fmt((performance.now() - began) / 60000, 1)} min into the run`);
        const r = await runCell(admin, bootstrap, cellOf(id, flags.scale), runnable, flags.reps);
        for (const [c, reason] of unavailable) r.na.set(c, reason);
        cells.push(r);
      }
    } finally {
      await admin.close();
    }
  } finally {
    await kafka.stop();
    removeSignalListeners();
  }
  const md = await renderMarkdown({
    cells,
    clients,
    reps: flags.reps,
    seconds: (performance.now() - began) / 1000,
    loadBefore,
    loadAfter: await loadAvg(),
    command: `deno task bench:produce${args.length ? " " + args.join(" ") : ""}`,
    brokerNote: kafka.ownedByUs
      ? "single-node KRaft broker started by scripts/kafka.sh on 127.0.0.1, same machine"
      : `KAFKA_BROKERS=${Deno.env.get("KAFKA_BROKERS")}`,
  });
  console.log(md);
  if (flags.out) {
    await Deno.writeTextFile(flags.out, md);
    await run(Deno.execPath(), ["fmt", "--quiet", flags.out], { track: false });
    log(`wrote ${flags.out}`);
  } else log("not writing bench/RESULTS_producer.md (not a full run; --out FILE)");
  const failures = cells.flatMap((c) =>
    [...c.failed].map(([id, msg]) => `${c.cell.id} ${id}: ${msg}`)
  );
  if (failures.length > 0) {
    log(`${failures.length} run(s) failed:\n  ${failures.join("\n  ")}`);
    Deno.exit(1);
  }
}

if (import.meta.main) await main(Deno.args);
