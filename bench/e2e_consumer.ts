/**
 * End-to-end consumer benchmark: sluice's `Consumer` against Kafka's own Java
 * consumer (`ConsumerPerformance`), on the same broker, the same topic, the
 * same fetch settings, in one run.
 *
 *     deno run -A bench/e2e_consumer.ts                      # 1M records, 5 repetitions
 *     deno run -A bench/e2e_consumer.ts --records 200000 --reps 1   # quick
 *     KAFKA_BROKERS=host:port deno run -A bench/e2e_consumer.ts     # an existing cluster
 *
 * Steps: start a single-node Kafka (`scripts/kafka.sh start --name bench`)
 * unless `KAFKA_BROKERS` is set; create a topic of 6 partitions; write the
 * records once with Kafka's `producer-perf-test` (100-byte values, no keys,
 * acks=1, batch.size=1 MiB, linger.ms=50); read it once untimed with ours and
 * once with Java (page cache, the broker's JIT, the tool's CDS archive); then
 * repeat (5 times by default), each repetition running these once, in an
 * order that rotates from one repetition to the next:
 *
 * - (a) ours, assign mode: all partitions from offset 0, no group, CRC checked;
 * - (b) ours, subscribe mode: a fresh group, auto commit, CRC checked;
 * - (c) ours, assign mode with `checkCrcs: false`: Kafka's perf tool forces
 *   `check.crcs=false`, so this is the like-for-like row;
 * - (d) Java: `consumer-perf-test --messages N` with a fresh group.
 *
 * Both sides use fetch.max.bytes=52428800, max.partition.fetch.bytes=1048576,
 * fetch.min.bytes=1, fetch.max.wait.ms=500 (Java: a `--consumer.config` file).
 *
 * Ours runs in a child process (`bench/e2e_consumer_child.ts`), which touches
 * every record's key, value and offset, acks every batch, and reports the
 * time from the first record to the last, the CPU time spent in that window,
 * and its peak RSS. The parent checks the count and the per-partition sum of
 * offsets against the partitions' log end offsets. For Java the rate is the
 * tool's own `fetch.nMsg.sec` / `fetch.MB.sec`, over `fetch.time.ms`: its
 * window runs from just before the consumer is created (JVM start-up is
 * outside it) to the last poll, minus the time to the first assignment
 * (`rebalance.time.ms`); its `nMsg.sec` (join included) is reported too. CPU and peak RSS of the JVM
 * come from `/usr/bin/time` and cover the whole process.
 *
 * Prints a table (median and min–max over repetitions; ratio ours/Java of
 * records/s medians) and writes it, with machine and versions, to
 * `bench/RESULTS_e2e.md` (full runs only unless `--out FILE` is given).
 *
 * Flags: `--records N` (1000000), `--reps K` (5), `--partitions P` (6),
 * `--record-size B` (100), `--out FILE`, `--no-java`, `--profile` (one more
 * run of ours under `--cpu-prof`, summarized), `--summarize FILE.cpuprofile`
 * (only summarize a profile).
 *
 * @module
 */

import { kafkaScript, uniqueName } from "../tests/_kafka.ts";
import type { ChildResult } from "./e2e_consumer_child.ts";

// ---------------------------------------------------------------------------
// flags

interface Flags {
  records: number;
  reps: number;
  partitions: number;
  recordSize: number;
  out: string | null;
  java: boolean;
  profile: boolean;
  summarize: string | null;
}

function parseFlags(args: string[]): Flags {
  const flags: Flags = {
    records: 1_000_000,
    reps: 5,
    partitions: 6,
    recordSize: 100,
    out: null,
    java: true,
    profile: false,
    summarize: null,
  };
  let outGiven = false;
  const int = (name: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min) {
      throw new Error(`--${name} needs an integer >= ${min} (got ${value})`);
    }
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [name, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => inline ?? args[++i];
    switch (name) {
      case "--records":
        flags.records = int("records", value(), 1);
        break;
      case "--reps":
        flags.reps = int("reps", value(), 1);
        break;
      case "--partitions":
        flags.partitions = int("partitions", value(), 1);
        break;
      case "--record-size":
        flags.recordSize = int("record-size", value(), 1);
        break;
      case "--out":
        flags.out = value() ?? null;
        outGiven = true;
        break;
      case "--no-java":
        flags.java = false;
        break;
      case "--profile":
        flags.profile = true;
        break;
      case "--summarize":
        flags.summarize = value() ?? null;
        break;
      case "--help":
      case "-h":
        console.log(
          "usage: deno run -A bench/e2e_consumer.ts [--records N] [--reps K] [--partitions P]\n" +
            "         [--record-size B] [--out FILE] [--no-java] [--profile]\n" +
            "       deno run -A bench/e2e_consumer.ts --summarize FILE.cpuprofile",
        );
        Deno.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg} (see --help)`);
    }
  }
  const full = flags.records === 1_000_000 && flags.reps >= 3 && flags.partitions === 6 &&
    flags.recordSize === 100 && flags.java;
  if (!outGiven && full) {
    flags.out = new URL("./RESULTS_e2e.md", import.meta.url).pathname;
  }
  return flags;
}

// ---------------------------------------------------------------------------
// small helpers

const log = (msg: string) => console.error(`bench: ${msg}`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function fmt(n: number, digits: number): string {
  return n.toFixed(digits);
}

/** "median (min–max)" with a formatter. */
function stat(xs: number[], f: (n: number) => string): string {
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) return "n/a";
  if (xs.length === 1) return f(xs[0]);
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Process groups of the commands running now (each is started in its own group). */
const running = new Set<number>();
let interrupted = false;

/**
 * Runs a command to its end in a process group of its own (`detached`), so
 * that {@linkcode killRunning} ends it with everything it started: JVMs under
 * `bash kafka.sh tool` or `/usr/bin/time`, Deno children.
 */
async function run(
  cmd: string,
  args: string[],
  opts: { track?: boolean } = {},
): Promise<RunResult> {
  const track = opts.track ?? true;
  if (track && interrupted) throw new Error("interrupted");
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  if (track) running.add(child.pid);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    running.delete(child.pid);
  }
}

/** SIGTERM to every running command's process group. */
function killRunning(): void {
  interrupted = true;
  for (const pid of running) {
    try {
      Deno.kill(-pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

/** Runs one of Kafka's tools (`scripts/kafka.sh tool NAME ...`); throws on a non-zero exit. */
async function tool(name: string, args: string[]): Promise<RunResult> {
  const r = await run("bash", [kafkaScript(), "tool", name, ...args]);
  if (r.code !== 0) {
    const output = `${r.stderr}\n${r.stdout}`.trim().split("\n").slice(-30).join("\n");
    throw new Error(`kafka tool ${name} failed (exit ${r.code}):\n${output}`);
  }
  return r;
}

/** Log end ("latest") or start ("earliest") offsets of a topic's partitions, by partition. */
async function topicOffsets(
  bootstrap: string,
  topic: string,
  time: "latest" | "earliest",
): Promise<bigint[]> {
  const r = await tool("get-offsets", [
    "--bootstrap-server",
    bootstrap,
    "--topic",
    topic,
    "--time",
    time === "latest" ? "-1" : "-2",
  ]);
  const offsets: bigint[] = [];
  for (const line of r.stdout.split("\n")) {
    const m = /^(.+):(\d+):(\d+)$/.exec(line.trim());
    if (m !== null && m[1] === topic) offsets[Number(m[2])] = BigInt(m[3]);
  }
  return offsets;
}

/** Writes the records with Kafka's producer-perf-test; returns its final rates. */
async function produce(
  bootstrap: string,
  topic: string,
  records: number,
  recordSize: number,
): Promise<{ recordsPerSec: number; mbPerSec: number }> {
  const r = await tool("producer-perf-test", [
    "--topic",
    topic,
    "--num-records",
    String(records),
    "--record-size",
    String(recordSize),
    "--throughput",
    "-1",
    "--producer-props",
    "acks=1",
    "batch.size=1048576",
    "linger.ms=50",
    `bootstrap.servers=${bootstrap}`,
  ]);
  const last = [
    ...r.stdout.matchAll(/(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/g),
  ].at(-1);
  if (last === undefined || Number(last[1]) !== records) {
    throw new Error(`producer-perf-test did not report ${records} records sent:\n${r.stdout}`);
  }
  return { recordsPerSec: Number(last[2]), mbPerSec: Number(last[3]) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------
// broker

interface Broker {
  /** Starts a local broker (or takes `KAFKA_BROKERS`); resolves with the bootstrap string. */
  start(): Promise<string>;
  /** Stops the broker if this script started it (or was starting it); idempotent. */
  stop(): Promise<void>;
  /** False with `KAFKA_BROKERS`. */
  ownedByUs: boolean;
}

/**
 * The broker: `KAFKA_BROKERS`, else a single node started with
 * `kafka.sh start --name bench --owner <our pid>`. The owner makes `stop`
 * safe at any time, even mid-start: kafka.sh stops only a cluster we own.
 */
function broker(): Broker {
  const external = Deno.env.get("KAFKA_BROKERS");
  if (external) {
    return {
      start: () => {
        log(`using KAFKA_BROKERS=${external}`);
        return Promise.resolve(external);
      },
      stop: () => Promise.resolve(),
      ownedByUs: false,
    };
  }
  const owner = String(Deno.pid);
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      const r = await run("bash", [kafkaScript(), "stop", "--name", "bench", "--owner", owner], {
        track: false,
      });
      log(r.stderr.trim().split("\n").at(-1) ?? "stopped");
    })();
    return stopped;
  };
  const start = async () => {
    log("starting a local Kafka (scripts/kafka.sh start --name bench)");
    const r = await run("bash", [kafkaScript(), "start", "--name", "bench", "--owner", owner]);
    if (r.code !== 0) throw new Error(`kafka.sh start failed (exit ${r.code}):\n${r.stderr}`);
    const bootstrap = r.stdout.trim().split("\n").at(-1) ?? "";
    if (!/^[\w.:,\[\]-]+$/.test(bootstrap)) {
      throw new Error(`kafka.sh start printed no bootstrap:\n${r.stdout}\n${r.stderr}`);
    }
    log(`broker at ${bootstrap}`);
    return bootstrap;
  };
  return { start, stop, ownedByUs: true };
}

// ---------------------------------------------------------------------------
// our consumer (child process)

const CHILD = new URL("./e2e_consumer_child.ts", import.meta.url).pathname;

interface Expected {
  /** Records per partition (log end offsets; log start is 0). */
  perPartition: number[];
  total: number;
}

async function runOurs(
  mode: "assign" | "group",
  bootstrap: string,
  topic: string,
  expected: Expected,
  extra: { denoFlags?: string[]; noCrc?: boolean } = {},
): Promise<ChildResult> {
  const args = [
    "run",
    "-A",
    ...(extra.denoFlags ?? []),
    CHILD,
    "--brokers",
    bootstrap,
    "--topic",
    topic,
    "--partitions",
    String(expected.perPartition.length),
    "--records",
    String(expected.total),
    "--mode",
    mode,
    "--timeout-ms",
    "120000",
  ];
  if (mode === "group") args.push("--group", uniqueName("bench-e2e-ours"));
  if (extra.noCrc) args.push("--no-crc");
  const { code, stdout, stderr } = await run(Deno.execPath(), args);
  if (code !== 0) {
    throw new Error(`our consumer (${mode}) failed (exit ${code}):\n${stderr}\n${stdout}`);
  }
  const line = stdout.trim().split("\n").at(-1) ?? "";
  const result = JSON.parse(line) as ChildResult;
  verify(`ours ${mode}`, result, expected);
  return result;
}

/** Exactly the expected records: count and sum of offsets per partition. */
function verify(what: string, r: ChildResult, expected: Expected): void {
  const problems: string[] = [];
  if (r.records !== expected.total) problems.push(`${r.records} records, want ${expected.total}`);
  expected.perPartition.forEach((n, p) => {
    const [count, sum] = r.partitions[String(p)] ?? [0, 0];
    const want = n * (n - 1) / 2;
    if (count !== n) problems.push(`partition ${p}: ${count} records, want ${n}`);
    if (sum !== want) problems.push(`partition ${p}: offset sum ${sum}, want ${want}`);
  });
  if (problems.length > 0) throw new Error(`${what}: wrong data: ${problems.join("; ")}`);
}

// ---------------------------------------------------------------------------
// Kafka's consumer-perf-test

interface JavaResult {
  records: number;
  mb: number;
  /** The tool's whole window (consumer creation to last poll). */
  nMsgSec: number;
  mbSec: number;
  rebalanceMs: number;
  fetchMs: number;
  fetchMbSec: number;
  fetchNMsgSec: number;
  /** user + sys CPU seconds of the whole JVM (NaN without /usr/bin/time). */
  cpuProcessS: number;
  /** Peak RSS of the JVM, bytes (NaN without /usr/bin/time). */
  peakRssBytes: number;
  /** Wall time of the whole tool run, JVM start-up included, ms. */
  wallMs: number;
}

async function runJava(
  bootstrap: string,
  topic: string,
  total: number,
  configFile: string,
  baseline = false,
): Promise<JavaResult> {
  const toolArgs = [
    kafkaScript(),
    "tool",
    "consumer-perf-test",
    "--bootstrap-server",
    bootstrap,
    "--topic",
    topic,
    "--messages",
    String(total),
    "--consumer.config",
    configFile,
    "--group",
    uniqueName("bench-e2e-java"),
    "--timeout",
    "30000",
  ];
  const haveTime = await exists("/usr/bin/time");
  const timeFile = haveTime ? await Deno.makeTempFile({ suffix: ".time" }) : "";
  const t0 = performance.now();
  const cmd = haveTime ? "/usr/bin/time" : "bash";
  const args = haveTime ? ["-f", "%U %S %M", "-o", timeFile, "bash", ...toolArgs] : toolArgs;
  const { code, stdout, stderr } = await run(cmd, args);
  const wallMs = performance.now() - t0;
  if (code !== 0) {
    throw new Error(`consumer-perf-test failed (exit ${code}):\n${stderr}\n${stdout}`);
  }
  if (stdout.includes("WARNING: Exiting before consuming")) {
    throw new Error(`consumer-perf-test timed out before reading ${total} records:\n${stdout}`);
  }
  const lines = stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const h = lines.findIndex((l) => l.startsWith("start.time,"));
  if (h < 0 || h + 1 >= lines.length) throw new Error(`consumer-perf-test output:\n${stdout}`);
  const header = lines[h].split(/,\s*/);
  const row = lines[h + 1].split(/,\s*/);
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`consumer-perf-test: no column ${name} in: ${lines[h]}`);
    return Number(row[i]);
  };
  let cpu = NaN;
  let rss = NaN;
  if (haveTime) {
    const t = (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1)!.split(" ");
    await Deno.remove(timeFile).catch(() => {});
    cpu = Number(t[0]) + Number(t[1]);
    rss = Number(t[2]) * 1024;
  }
  const result: JavaResult = {
    records: col("data.consumed.in.nMsg"),
    mb: col("data.consumed.in.MB"),
    nMsgSec: col("nMsg.sec"),
    mbSec: col("MB.sec"),
    rebalanceMs: col("rebalance.time.ms"),
    fetchMs: col("fetch.time.ms"),
    fetchMbSec: col("fetch.MB.sec"),
    fetchNMsgSec: col("fetch.nMsg.sec"),
    cpuProcessS: cpu,
    peakRssBytes: rss,
    wallMs,
  };
  // The tool counts whole polls: a baseline run (--messages 1) reads one poll's worth.
  if (baseline ? result.records < total : result.records !== total) {
    throw new Error(`consumer-perf-test read ${result.records} records, want ${total}`);
  }
  return result;
}

// ---------------------------------------------------------------------------
// CPU profile summary

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Top self-time functions (and files) of a V8 .cpuprofile, as markdown lines. */
export async function summarizeProfile(path: string, top = 20): Promise<string> {
  const profile = JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // The reading window: from the first to the last sample inside the record
  // batch decoder (start-up, connecting and close() are left out).
  const decoding = new Map<number, boolean>();
  const inDecode = (id: number): boolean => {
    let hit = decoding.get(id);
    if (hit === undefined) {
      const name = byId.get(id)?.callFrame.functionName;
      const up = parent.get(id);
      hit = name === "decodeRecordBatches" || (up !== undefined && inDecode(up));
      decoding.set(id, hit);
    }
    return hit;
  };
  let first = -1;
  let last = -1;
  profile.samples.forEach((id, i) => {
    if (!inDecode(id)) return;
    if (first < 0) first = i;
    last = i;
  });
  const whole = first < 0;
  const from = whole ? 0 : first;
  const to = whole ? profile.samples.length - 1 : last;
  const selfUs = new Map<number, number>();
  let total = 0;
  let idleAll = 0;
  let totalAll = 0;
  // timeDeltas[i] is the time since the previous sample: attribute it to sample i.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const us = Math.max(0, profile.timeDeltas[i] ?? 0);
    totalAll += us;
    if (byId.get(id)?.callFrame.functionName === "(idle)") idleAll += us;
    if (i < from || i > to) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
    total += us;
  }
  const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
  const place = (url: string, line: number): string => {
    if (url === "") return "(native)";
    let file = url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url;
    if (file.startsWith(root)) file = file.slice(root.length);
    return `${file}:${line + 1}`;
  };
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const name = f.functionName || "(anonymous)";
    const where = place(f.url, f.lineNumber);
    const fnKey = `${name} ${where}`;
    byFunction.set(fnKey, (byFunction.get(fnKey) ?? 0) + us);
    const file = f.url === "" ? name : where.replace(/:\d+$/, "");
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const idle = byFunction.get("(idle) (native)") ?? 0;
  const busy = total - idle;
  const rows = (m: Map<string, number>, n: number) =>
    [...m].filter(([k]) => !k.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, n)
      .map(([k, us]) => `| ${fmt((100 * us) / busy, 1)}% | ${fmt(us / 1000, 1)} | \`${k}\` |`);
  return [
    `Profile \`${path}\` (main thread only): ${fmt(totalAll / 1000, 0)} ms sampled in all, ` +
    `idle ${fmt((100 * idleAll) / totalAll, 0)}%. ` +
    (whole
      ? "No decode samples: the tables cover the whole process."
      : `The tables cover the reading window, first to last sample in decodeRecordBatches: ` +
        `${fmt(total / 1000, 0)} ms, of which idle ${fmt((100 * idle) / total, 0)}% and busy ` +
        `${fmt(busy / 1000, 0)} ms.`) +
    " Shares are of the busy time.",
    "",
    "| busy % | self ms | function (file:line) |",
    "|---:|---:|---|",
    ...rows(byFunction, top),
    "",
    "| busy % | self ms | file |",
    "|---:|---:|---|",
    ...rows(byFile, 10),
  ].join("\n");
}

// ---------------------------------------------------------------------------
// machine and versions

interface Machine {
  nproc: number;
  memTotal: string;
  cpuModel: string;
  kernel: string;
  deno: string;
  java: string;
  kafka: string;
  commit: string;
}

async function machine(): Promise<Machine> {
  const read = (p: string) => Deno.readTextFile(p).catch(() => "");
  const cpuinfo = await read("/proc/cpuinfo");
  const meminfo = await read("/proc/meminfo");
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? NaN);
  const java = await run("java", ["-version"]).catch(() => ({ stderr: "", stdout: "", code: 1 }));
  const kafka = await run("bash", [kafkaScript(), "tool", "consumer-perf-test", "--version"])
    .catch(() => ({ stdout: "", stderr: "", code: 1 }));
  const git = await run("git", ["-C", new URL("..", import.meta.url).pathname, "rev-parse", "HEAD"])
    .catch(() => ({ stdout: "", stderr: "", code: 1 }));
  return {
    nproc: navigator.hardwareConcurrency,
    memTotal: Number.isFinite(memKb) ? `${fmt(memKb / MiB, 1)} GiB` : "?",
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "?",
    kernel: (await read("/proc/sys/kernel/osrelease")).trim(),
    deno:
      `deno ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    java: java.stderr.split("\n").slice(0, 2).map((l) => l.trim()).join("; ") || "?",
    kafka: kafka.stdout.trim().split("\n").at(-1) || Deno.env.get("KAFKA_VERSION") || "?",
    commit: git.code === 0 ? git.stdout.trim().slice(0, 12) : "?",
  };
}

async function loadAvg(): Promise<string> {
  const s = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return s.split(" ").slice(0, 3).join(" ");
}

// ---------------------------------------------------------------------------
// report

/** One of our consumer's configurations, run once per repetition. */
interface Variant {
  id: string;
  /** Row label. */
  label: string;
  mode: "assign" | "group";
  noCrc: boolean;
}

const VARIANTS: Variant[] = [
  {
    id: "assign",
    label: "ours, assign (all partitions from 0, CRC on)",
    mode: "assign",
    noCrc: false,
  },
  {
    id: "subscribe",
    label: "ours, subscribe (fresh group, auto commit, CRC on)",
    mode: "group",
    noCrc: false,
  },
  {
    id: "assign, no CRC",
    label: "ours, assign, CRC off (as Java's tool: check.crcs=false)",
    mode: "assign",
    noCrc: true,
  },
];

interface Results {
  ours: Map<string, ChildResult[]>;
  java: JavaResult[];
  /** Median CPU seconds of `consumer-perf-test --messages 1` (NaN without /usr/bin/time). */
  javaBaselineCpuS: number;
}

const oursRate = (x: ChildResult) => x.records / (x.firstToLastMs / 1000);

function report(
  r: Results,
  variants: Variant[],
  flags: Flags,
  expected: Expected,
  produce: { recordsPerSec: number; mbPerSec: number },
): { table: string; details: string } {
  const oursRow = (name: string, rs: ChildResult[]) => {
    const mbs = rs.map((x) => x.payloadBytes / MiB / (x.firstToLastMs / 1000));
    return `| ${name} | ${stat(rs.map(oursRate), fmtInt)} | ${stat(mbs, (n) => fmt(n, 1))} | ${
      stat(rs.map((x) => x.firstToLastMs), (n) => fmt(n, 0))
    } | ${stat(rs.map((x) => x.startToFirstMs), (n) => fmt(n, 0))} | ${
      stat(rs.map((x) => (x.cpuWindowS / x.records) * 1e9), (n) => fmt(n, 0))
    } | ${stat(rs.map((x) => x.cpuProcessS), (n) => fmt(n, 2))} | ${
      stat(rs.map((x) => x.peakRssBytes / MiB), (n) => fmt(n, 0))
    } |`;
  };
  const j = r.java;
  const javaRow = `| Java ConsumerPerformance (its fetch.* columns) | ${
    stat(j.map((x) => x.fetchNMsgSec), fmtInt)
  } | ${stat(j.map((x) => x.fetchMbSec), (n) => fmt(n, 1))} | ${
    stat(j.map((x) => x.fetchMs), (n) => fmt(n, 0))
  } | ${stat(j.map((x) => x.rebalanceMs), (n) => fmt(n, 0))} | ${
    stat(
      j.map((x) => ((x.cpuProcessS - r.javaBaselineCpuS) / x.records) * 1e9),
      (n) => `≈${fmt(n, 0)}`,
    )
  } | ${stat(j.map((x) => x.cpuProcessS), (n) => fmt(n, 2))} | ${
    stat(j.map((x) => x.peakRssBytes / MiB), (n) => fmt(n, 0))
  } |`;
  const javaRate = j.length > 0 ? median(j.map((x) => x.fetchNMsgSec)) : NaN;
  const ratio = (rs: ChildResult[]) =>
    Number.isFinite(javaRate) && rs.length > 0
      ? `${fmt(median(rs.map(oursRate)) / javaRate, 2)}×`
      : "n/a";
  const table = [
    `${fmtInt(expected.total)} records × ${flags.recordSize} B, ${expected.perPartition.length} ` +
    `partitions, ${flags.reps} repetition(s); median (min–max).`,
    "",
    "| run | records/s | MiB/s (payload) | window ms | start→first ms | CPU ns/record (window) | CPU s (process) | peak RSS MiB |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...variants.map((v) => oursRow(v.label, r.ours.get(v.id) ?? [])),
    ...(j.length > 0 ? [javaRow] : []),
    "",
    `Ratio ours/Java, records/s (medians): ` +
    variants.map((v) => `${v.id} **${ratio(r.ours.get(v.id) ?? [])}**`).join(", ") + ".",
  ].join("\n");

  const details: string[] = [
    "Per repetition, records/s (ours: first record → last record; Java: fetch.nMsg.sec, " +
    "then nMsg.sec, which includes creating the consumer and joining the group):",
    "",
    `| rep | ${variants.map((v) => `ours ${v.id}`).join(" | ")} | Java fetch.nMsg.sec | ` +
    "Java nMsg.sec | Java rebalance.time.ms | Java tool wall s (JVM incl.) | " +
    `ours close() ms (${variants.map((v) => v.id).join(" / ")}) |`,
    `|---:|${variants.map(() => "---:|").join("")}---:|---:|---:|---:|---:|`,
  ];
  for (let i = 0; i < flags.reps; i++) {
    const row = variants.map((v) => r.ours.get(v.id)?.[i]);
    const jr = j[i];
    details.push(
      `| ${i + 1} | ${row.map((x) => x ? fmtInt(oursRate(x)) : "-").join(" | ")} | ${
        jr ? fmtInt(jr.fetchNMsgSec) : "-"
      } | ${jr ? fmtInt(jr.nMsgSec) : "-"} | ${jr ? fmtInt(jr.rebalanceMs) : "-"} | ${
        jr ? fmt(jr.wallMs / 1000, 1) : "-"
      } | ${row.map((x) => x ? fmt(x.closeMs, 0) : "-").join(" / ")} |`,
    );
  }
  const assign = r.ours.get("assign") ?? [];
  details.push(
    "",
    `Batches delivered per read (ours, assign): ${stat(assign.map((x) => x.batches), fmtInt)}. ` +
      `Peak V8 heap used (sampled every 50 ms, ours, assign): ${
        stat(assign.map((x) => x.sampledHeapMaxBytes / MiB), (n) => fmt(n, 0))
      } MiB.`,
    `Java CPU ns/record is an estimate: (CPU of the whole JVM − ${
      fmt(r.javaBaselineCpuS, 2)
    } s, the median CPU of two \`--messages 1\` runs) / records; it includes the JIT ` +
      `compiling the read path. Ours is measured: /proc/self/stat (all threads) at the first ` +
      `and the last record.`,
    `Records per partition: ${expected.perPartition.join(", ")} (Kafka's sticky partitioner, ` +
      `no keys). Written once by producer-perf-test at ${fmtInt(produce.recordsPerSec)} ` +
      `records/s (${fmt(produce.mbPerSec, 1)} MB/s).`,
  );
  return { table, details: details.join("\n") };
}

// ---------------------------------------------------------------------------
// main

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  if (flags.summarize) {
    console.log(await summarizeProfile(flags.summarize));
    return;
  }
  const began = performance.now();
  const loadBefore = await loadAvg();
  const kafka = broker();
  let bootstrap = "";
  let topic: string | null = null;
  const onSignal = (sig: Deno.Signal) => {
    log(`${sig}: stopping`);
    killRunning();
    kafka.stop().finally(() => Deno.exit(sig === "SIGINT" ? 130 : 143));
  };
  const sigint = () => onSignal("SIGINT");
  const sigterm = () => onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", sigint);
  Deno.addSignalListener("SIGTERM", sigterm);
  const configFile = await Deno.makeTempFile({ prefix: "sluice-bench-", suffix: ".properties" });
  try {
    bootstrap = await kafka.start();
    topic = uniqueName("bench-e2e");
    log(`topic ${topic}: ${flags.partitions} partitions`);
    await tool("topics", [
      "--bootstrap-server",
      bootstrap,
      "--create",
      "--topic",
      topic,
      "--partitions",
      String(flags.partitions),
      "--replication-factor",
      "1",
    ]);
    log(`writing ${fmtInt(flags.records)} records of ${flags.recordSize} B (producer-perf-test)`);
    const produced = await produce(bootstrap, topic, flags.records, flags.recordSize);
    const ends = await topicOffsets(bootstrap, topic, "latest");
    const starts = await topicOffsets(bootstrap, topic, "earliest");
    const complete = (xs: bigint[]) =>
      xs.length === flags.partitions && Array.from(xs, (x) => x !== undefined).every(Boolean);
    if (!complete(ends) || !complete(starts) || starts.some((x) => x !== 0n)) {
      throw new Error(`unexpected offsets: log start ${starts.join(",")}, end ${ends.join(",")}`);
    }
    const expected: Expected = {
      perPartition: ends.map(Number),
      total: ends.reduce((a, e) => a + Number(e), 0),
    };
    if (expected.total !== flags.records) {
      throw new Error(`the topic holds ${expected.total} records, want ${flags.records}`);
    }
    await Deno.writeTextFile(
      configFile,
      "fetch.max.bytes=52428800\nmax.partition.fetch.bytes=1048576\n" +
        "fetch.min.bytes=1\nfetch.max.wait.ms=500\n",
    );

    log(`warm-up: one untimed read by ours${flags.java ? " and one by Java" : ""}`);
    await runOurs("assign", bootstrap, topic, expected);
    if (flags.java) await runJava(bootstrap, topic, expected.total, configFile);
    // The JVM's fixed CPU cost (start-up, class loading, consumer creation,
    // group join, first fetch, close): subtracted from the full runs' CPU to
    // estimate what reading the records cost Java.
    const baselineCpu: number[] = [];
    if (flags.java) {
      log("Java baseline: 2 runs of consumer-perf-test --messages 1 (CPU of a near-empty read)");
      for (let i = 0; i < 2; i++) {
        baselineCpu.push((await runJava(bootstrap, topic, 1, configFile, true)).cpuProcessS);
      }
    }

    const results: Results = {
      ours: new Map(VARIANTS.map((v) => [v.id, []])),
      java: [],
      javaBaselineCpuS: baselineCpu.length > 0 ? median(baselineCpu) : NaN,
    };
    // Each repetition runs every configuration once; the order rotates from
    // one repetition to the next, so that none always follows the JVM (or
    // always comes first) and order effects spread over all of them.
    const steps: (Variant | "java")[] = [...VARIANTS, ...(flags.java ? ["java" as const] : [])];
    for (let rep = 1; rep <= flags.reps; rep++) {
      const shift = (rep - 1) % steps.length;
      for (const step of [...steps.slice(shift), ...steps.slice(0, shift)]) {
        if (step === "java") {
          const j = await runJava(bootstrap, topic, expected.total, configFile);
          results.java.push(j);
          log(
            `rep ${rep}/${flags.reps} Java: ${fmtInt(j.fetchNMsgSec)} records/s ` +
              `(fetch.time.ms ${j.fetchMs}; ${fmtInt(j.nMsgSec)} incl. join)`,
          );
          continue;
        }
        const x = await runOurs(step.mode, bootstrap, topic, expected, { noCrc: step.noCrc });
        results.ours.get(step.id)!.push(x);
        log(
          `rep ${rep}/${flags.reps} ours ${step.id}: ${fmtInt(oursRate(x))} records/s ` +
            `(${fmt(x.firstToLastMs, 0)} ms)`,
        );
      }
    }

    let profileText = "";
    if (flags.profile) {
      const dir = await Deno.makeTempDir({ prefix: "sluice-bench-prof-" });
      log(`profiling one more read (ours, assign) into ${dir}`);
      await runOurs("assign", bootstrap, topic, expected, {
        denoFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
      });
      for await (const e of Deno.readDir(dir)) {
        if (e.name.endsWith(".cpuprofile")) {
          profileText = await summarizeProfile(`${dir}/${e.name}`);
        }
      }
    }

    const loadAfter = await loadAvg();
    const m = await machine();
    const { table, details } = report(results, VARIANTS, flags, expected, produced);
    const seconds = (performance.now() - began) / 1000;
    const env = [
      `- Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memTotal} RAM, Linux ${m.kernel}`,
      `- Load average (1/5/15 min) before: ${loadBefore}; after: ${loadAfter}`,
      `- ${m.deno}`,
      `- Java: ${m.java}`,
      `- Kafka ${m.kafka} (${
        kafka.ownedByUs ? "single-node KRaft broker from scripts/kafka.sh" : "KAFKA_BROKERS"
      }, tools on the same machine)`,
      `- sluice at commit ${m.commit} (plus any uncommitted changes); run took ${
        fmt(seconds, 0)
      } s`,
    ].join("\n");
    console.log("\n" + table + "\n\n" + details + "\n\n" + env);
    if (profileText) console.log("\n" + profileText);
    if (flags.out) {
      const md = [
        "# End-to-end consumer benchmark: latest results",
        "",
        `Written by \`deno run -A bench/e2e_consumer.ts\` on ${
          new Date().toISOString()
        }. See [README.md](README.md) for what is measured.`,
        "",
        table,
        "",
        details,
        "",
        "## Machine and versions",
        "",
        env,
        ...(profileText ? ["", "## CPU profile of one read (ours, assign)", "", profileText] : []),
        "",
      ].join("\n");
      await Deno.writeTextFile(flags.out, md);
      // Formatted as `deno fmt --check` (deno task check) wants it.
      await run(Deno.execPath(), ["fmt", "--quiet", flags.out]);
      log(`wrote ${flags.out}`);
    } else {
      log("not writing bench/RESULTS_e2e.md (not a full run; --out FILE to write one)");
    }
  } finally {
    await Deno.remove(configFile).catch(() => {});
    if (!kafka.ownedByUs && topic !== null) {
      const t = topic;
      await run("bash", [
        kafkaScript(),
        "tool",
        "topics",
        "--bootstrap-server",
        bootstrap,
        "--delete",
        "--topic",
        t,
      ], { track: false }).catch((e) => log(`could not delete topic ${t}: ${e}`));
    }
    await kafka.stop();
    Deno.removeSignalListener("SIGINT", sigint);
    Deno.removeSignalListener("SIGTERM", sigterm);
  }
}

if (import.meta.main) {
  await main();
}
