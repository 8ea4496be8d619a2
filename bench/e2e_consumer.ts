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

import { uniqueName } from "../tests/_kafka.ts";
import type { ChildResult } from "./e2e_consumer_child.ts";
import { type JavaResult, runJava } from "./lib/java.ts";
import {
  broker,
  createTopic,
  deleteTopic,
  type Expected,
  expectedOf,
  FETCH_PROPERTIES,
  produce,
} from "./lib/kafka.ts";
import { loadAvg, machine } from "./lib/machine.ts";
import { runOurs } from "./lib/ours.ts";
import { log, run, stopOnSignals } from "./lib/proc.ts";
import { fmt, fmtInt, median, MiB, stat } from "./lib/stats.ts";

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
  const removeSignalListeners = stopOnSignals(() => kafka.stop());
  const configFile = await Deno.makeTempFile({ prefix: "sluice-bench-", suffix: ".properties" });
  try {
    bootstrap = await kafka.start();
    topic = uniqueName("bench-e2e");
    log(`topic ${topic}: ${flags.partitions} partitions`);
    await createTopic(bootstrap, topic, flags.partitions);
    log(`writing ${fmtInt(flags.records)} records of ${flags.recordSize} B (producer-perf-test)`);
    const produced = await produce(bootstrap, topic, flags.records, flags.recordSize);
    const expected: Expected = await expectedOf(
      bootstrap,
      topic,
      flags.partitions,
      flags.records,
    );
    await Deno.writeTextFile(configFile, FETCH_PROPERTIES);

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
    if (!kafka.ownedByUs && topic !== null) await deleteTopic(bootstrap, topic);
    await kafka.stop();
    removeSignalListeners();
  }
}

if (import.meta.main) {
  await main();
}
