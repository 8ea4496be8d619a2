/**
 * The machine and versions a benchmark ran on, for its results file.
 *
 * @module
 */

import { kafkaScript } from "../../tests/_kafka.ts";
import { run } from "./proc.ts";
import { fmt, MiB } from "./stats.ts";

/** Facts about the machine and the tools. */
export interface Machine {
  /** CPUs online. */
  nproc: number;
  /** RAM, e.g. "23.5 GiB". */
  memTotal: string;
  /** /proc/cpuinfo's model name. */
  cpuModel: string;
  /** Kernel release. */
  kernel: string;
  /** PRETTY_NAME of /etc/os-release. */
  os: string;
  /** Deno, V8 and TypeScript versions. */
  deno: string;
  /** `java -version`, first two lines. */
  java: string;
  /** Kafka's version as its tools report it. */
  kafka: string;
  /** The repository's HEAD, 12 hex digits. */
  commit: string;
}

/** Reads the machine facts (each "?" when it cannot be found). */
export async function machine(): Promise<Machine> {
  const read = (p: string) => Deno.readTextFile(p).catch(() => "");
  const none = { stderr: "", stdout: "", code: 1 };
  const cpuinfo = await read("/proc/cpuinfo");
  const meminfo = await read("/proc/meminfo");
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? NaN);
  const java = await run("java", ["-version"], { track: false }).catch(() => none);
  const kafka = await run("bash", [kafkaScript(), "tool", "consumer-perf-test", "--version"], {
    track: false,
  }).catch(() => none);
  const git = await run(
    "git",
    ["-C", new URL("../..", import.meta.url).pathname, "rev-parse", "HEAD"],
    { track: false },
  ).catch(() => none);
  return {
    nproc: navigator.hardwareConcurrency,
    memTotal: Number.isFinite(memKb) ? `${fmt(memKb / MiB, 1)} GiB` : "?",
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "?",
    kernel: (await read("/proc/sys/kernel/osrelease")).trim(),
    os: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(await read("/etc/os-release"))?.[1] ?? "?",
    deno:
      `deno ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    java: java.stderr.split("\n").slice(0, 2).map((l) => l.trim()).join("; ") || "?",
    kafka: kafka.stdout.trim().split("\n").at(-1) || Deno.env.get("KAFKA_VERSION") || "?",
    commit: git.code === 0 ? git.stdout.trim().slice(0, 12) : "?",
  };
}

/** The 1, 5 and 15 minute load averages, space separated. */
export async function loadAvg(): Promise<string> {
  const s = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return s.split(" ").slice(0, 3).join(" ");
}
