/**
 * The clients `bench/compare/compare.ts` measures, each behind one interface:
 * set it up (install what it needs), say when a cell is `n/a` for it and why,
 * and run one timed read of a topic in a child process of its own, returning
 * one {@linkcode Sample} after checking the count and offset sums.
 *
 * - `ours`, `ours-group`: sluice (`bench/e2e_consumer_child.ts`).
 * - `java`: Kafka's `ConsumerPerformance` (`bench/lib/java.ts`).
 * - `kcat`: Debian's kcat (librdkafka), its output parsed here.
 * - `kafkajs-node`, `kafkajs-deno`, `platformatic-node`, `platformatic-deno`:
 *   `bench/compare/peers/*.mjs` on Node (packages installed with npm into
 *   `~/.cache/sluice/bench-peers/node`, outside the repository) or on Deno
 *   (`npm:` specifiers, Deno's own cache).
 *
 * @module
 */

import { uniqueName } from "../../tests/_kafka.ts";
import { runJava } from "../lib/java.ts";
import { type Expected, FETCH_PROPERTIES, verify } from "../lib/kafka.ts";
import { runOurs } from "../lib/ours.ts";
import { exists, GNU_TIME, lastJsonLine, log, run, runTimed } from "../lib/proc.ts";

/** One data set: record size and codec; the records written for it. */
export interface Cell {
  /** e.g. "100B-none". */
  id: string;
  /** Value bytes per record (no keys, no headers). */
  size: number;
  /** compression.type of the producer. */
  codec: "none" | "lz4" | "zstd";
  /** Records written (and read by every client). */
  records: number;
}

/** What one timed read measured. */
export interface Sample {
  /** Records over the client's window (first record to last). */
  recordsPerSec: number;
  /** Payload (value) bytes per second over that window, 10^6 bytes. */
  mbPerSec: number;
  /** The window, ms. */
  windowMs: number;
  /** user + sys CPU seconds of the whole client process (GNU time). */
  cpuS: number;
  /** user + sys CPU seconds inside the window, where the client can measure it (else NaN). */
  cpuWindowS: number;
  /** Peak RSS of the client process, bytes (GNU time). */
  peakRssBytes: number;
}

/** Where and what a read runs against. */
export interface ReadContext {
  /** Bootstrap servers. */
  bootstrap: string;
  /** Topic name. */
  topic: string;
  /** The cell of the topic. */
  cell: Cell;
  /** What the topic holds. */
  expected: Expected;
  /** A file with {@linkcode FETCH_PROPERTIES} (Java's `--consumer.config`). */
  javaConfig: string;
}

/** A client under test. */
export interface Client {
  /** Short id used in flags (`--peers`). */
  id: string;
  /** Row label in the report. */
  label: string;
  /** Name and version, known after {@linkcode Client.setup}. */
  version: string;
  /** Installs or finds what it needs; resolves with a reason when it cannot run here at all. */
  setup(): Promise<string | null>;
  /** The reason this cell is `n/a` for the client, or null when it runs it. */
  naFor(cell: Cell): string | null;
  /** One timed read of every record of the topic. */
  read(ctx: ReadContext): Promise<Sample>;
}

/** The pinned npm peers. */
export const KAFKAJS_VERSION = "2.2.4";
/** Newest @platformatic/kafka: needs Node >= 22 (Promise.withResolvers); fine on Deno. */
export const PLATFORMATIC_VERSION = "2.12.1";
/** Newest @platformatic/kafka 1.x: the newest that runs on Node 20. */
export const PLATFORMATIC_NODE20_VERSION = "1.35.0";

const PEERS_DIR = new URL("./peers/", import.meta.url).pathname;

/** The cache root of kafka.sh, where the Node peers are installed. */
function cacheRoot(): string {
  return Deno.env.get("SLUICE_CACHE") ?? `${Deno.env.get("HOME")}/.cache/sluice`;
}

const rate = (records: number, ms: number) => records / (ms / 1000);

/** A Sample from a count over a window. */
function sample(
  cell: Cell,
  records: number,
  windowMs: number,
  cpuS: number,
  cpuWindowS: number,
  peakRssBytes: number,
): Sample {
  const recordsPerSec = rate(records, windowMs);
  return {
    recordsPerSec,
    mbPerSec: (recordsPerSec * cell.size) / 1e6,
    windowMs,
    cpuS,
    cpuWindowS,
    peakRssBytes,
  };
}

// ---------------------------------------------------------------------------
// ours

function ours(mode: "assign" | "group"): Client {
  return {
    id: mode === "assign" ? "ours" : "ours-group",
    label: mode === "assign"
      ? "sluice, assign (no group, no commits, CRC on)"
      : "sluice, group (subscribe, auto commit, CRC on)",
    version: `sluice (Deno ${Deno.version.deno})`,
    setup: () => Promise.resolve(null),
    naFor: () => null,
    async read(ctx) {
      const r = await runOurs(mode, ctx.bootstrap, ctx.topic, ctx.expected, {
        groupPrefix: "bench-cmp-ours",
      });
      if (r.payloadBytes !== ctx.expected.total * ctx.cell.size) {
        throw new Error(`ours: ${r.payloadBytes} payload bytes, want ${ctx.expected.total}×size`);
      }
      return sample(
        ctx.cell,
        r.records,
        r.firstToLastMs,
        r.timedCpuS,
        r.cpuWindowS,
        r.timedPeakRssBytes,
      );
    },
  };
}

// ---------------------------------------------------------------------------
// Java

function java(): Client {
  const c: Client = {
    id: "java",
    label: "Java ConsumerPerformance (kafka-clients, its fetch.* window)",
    version: "kafka-clients (Kafka's tools)",
    async setup() {
      const r = await run("java", ["-version"], { track: false }).catch(() => null);
      if (r === null || r.code !== 0) return "no `java` on PATH (Java 17 is needed for Kafka)";
      c.version = `kafka-clients ${Deno.env.get("KAFKA_VERSION") ?? "4.1.1"} on ${
        r.stderr.split("\n")[0].replace(/"/g, "").trim()
      }`;
      return null;
    },
    naFor: () => null,
    async read(ctx) {
      const j = await runJava(ctx.bootstrap, ctx.topic, ctx.expected.total, ctx.javaConfig);
      // The tool checks nothing but the count (verified in runJava): it
      // prints no offsets, so the offset sum cannot be checked for Java.
      return sample(ctx.cell, j.records, j.fetchMs, j.cpuProcessS, NaN, j.peakRssBytes);
    },
  };
  return c;
}

// ---------------------------------------------------------------------------
// kcat (librdkafka)

/**
 * Counts kcat's `-f '%p %o %S\n'` lines as they arrive: per partition the
 * records and the sum of offsets, and the payload bytes; byte by byte,
 * without building strings, so the parent keeps up with kcat.
 */
class KcatCounter {
  counts: number[];
  sums: number[];
  records = 0;
  bytes = 0;
  first = 0;
  last = 0;
  #field = 0;
  #num = 0;
  #p = 0;
  #o = 0;

  constructor(partitions: number) {
    this.counts = new Array(partitions).fill(0);
    this.sums = new Array(partitions).fill(0);
  }

  push(chunk: Uint8Array): void {
    const now = performance.now();
    if (this.first === 0) this.first = now;
    this.last = now;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b >= 48 && b <= 57) {
        this.#num = this.#num * 10 + (b - 48);
      } else if (b === 32) {
        if (this.#field === 0) this.#p = this.#num;
        else this.#o = this.#num;
        this.#field++;
        this.#num = 0;
      } else if (b === 10) {
        if (this.#field !== 2 || this.#p >= this.counts.length) {
          throw new Error(`kcat: unexpected output line (field ${this.#field}, p ${this.#p})`);
        }
        this.counts[this.#p]++;
        this.sums[this.#p] += this.#o;
        this.bytes += this.#num;
        this.records++;
        this.#field = 0;
        this.#num = 0;
      } else {
        throw new Error(`kcat: unexpected byte ${b} in its output`);
      }
    }
  }
}

function kcat(): Client {
  const c: Client = {
    id: "kcat",
    label: "kcat (librdkafka, Debian)",
    version: "kcat",
    async setup() {
      const have = async () => {
        const r = await run("kcat", ["-V"], { track: false }).catch(() => null);
        return r !== null && r.code === 0 ? r.stdout : null;
      };
      let v = await have();
      if (v === null) {
        log("kcat missing: apt-get install -y kcat");
        const apt = Deno.uid() === 0 ? ["apt-get"] : ["sudo", "-n", "apt-get"];
        const r = await run(apt[0], [...apt.slice(1), "install", "-y", "kcat"], {
          track: false,
          env: { DEBIAN_FRONTEND: "noninteractive" },
        }).catch((e) => ({ code: 1, stdout: "", stderr: String(e) }));
        if (r.code !== 0) {
          log(`apt-get install kcat failed: ${r.stderr.trim().split("\n").at(-1)}`);
        }
        v = await have();
        if (v === null) {
          return "kcat is not installed and `apt-get install -y kcat` failed here " +
            "(needs root or passwordless sudo)";
        }
      }
      const m = /Version (\S+) .*?librdkafka (\S+)/s.exec(v);
      c.version = m ? `kcat ${m[1]}, librdkafka ${m[2]}` : v.split("\n")[0];
      return null;
    },
    naFor: () => null,
    async read(ctx) {
      const counter = new KcatCounter(ctx.expected.perPartition.length);
      const r = await runTimed("kcat", [
        "-C",
        "-b",
        ctx.bootstrap,
        "-t",
        ctx.topic,
        "-o",
        "beginning",
        "-e",
        "-c",
        String(ctx.expected.total),
        "-q",
        "-f",
        "%p %o %S\\n",
        // The fair fetch settings, in librdkafka's names.
        "-X",
        "fetch.max.bytes=52428800",
        "-X",
        "max.partition.fetch.bytes=1048576",
        "-X",
        "fetch.min.bytes=1",
        "-X",
        "fetch.wait.max.ms=500",
      ], { onStdout: (chunk) => counter.push(chunk) });
      if (r.code !== 0) throw new Error(`kcat failed (exit ${r.code}): ${r.stderr.trim()}`);
      const partitions: Record<string, [number, number]> = {};
      counter.counts.forEach((n, p) => partitions[String(p)] = [n, counter.sums[p]]);
      verify("kcat", { records: counter.records, partitions }, ctx.expected);
      if (counter.bytes !== ctx.expected.total * ctx.cell.size) {
        throw new Error(`kcat: ${counter.bytes} payload bytes, want ${ctx.expected.total}×size`);
      }
      return sample(
        ctx.cell,
        counter.records,
        counter.last - counter.first,
        r.cpuS,
        NaN,
        r.peakRssBytes,
      );
    },
  };
  return c;
}

// ---------------------------------------------------------------------------
// JavaScript peers (Node and Deno)

/** What a peer script prints (see peers/_common.mjs). */
interface PeerResult {
  records: number;
  payloadBytes: number;
  partitions: Record<string, [number, number]>;
  startToFirstMs: number;
  firstToLastMs: number;
  cpuWindowS: number;
  runtime: string;
}

let nodeSetup: Promise<{ dir: string; node: string; major: number } | string> | null = null;

/** Installs the npm peers for Node once (cached across runs); resolves with a reason on failure. */
export function setupNode(): Promise<{ dir: string; node: string; major: number } | string> {
  nodeSetup ??= (async () => {
    const v = await run("node", ["--version"], { track: false }).catch(() => null);
    if (v === null || v.code !== 0) return "no `node` on PATH";
    const node = v.stdout.trim();
    const major = Number(/^v(\d+)/.exec(node)?.[1] ?? 0);
    const dir = `${cacheRoot()}/bench-peers/node`;
    const platformatic = major >= 22 ? PLATFORMATIC_VERSION : PLATFORMATIC_NODE20_VERSION;
    const want = { kafkajs: KAFKAJS_VERSION, "@platformatic/kafka": platformatic };
    const installed = async (name: string, version: string) => {
      try {
        const p = JSON.parse(await Deno.readTextFile(`${dir}/node_modules/${name}/package.json`));
        return p.version === version;
      } catch {
        return false;
      }
    };
    if (
      !(await installed("kafkajs", want.kafkajs)) ||
      !(await installed("@platformatic/kafka", want["@platformatic/kafka"]))
    ) {
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/package.json`,
        JSON.stringify({ private: true, dependencies: want }, null, 2) + "\n",
      );
      log(
        `installing npm peers into ${dir}: kafkajs@${want.kafkajs}, @platformatic/kafka@${platformatic}`,
      );
      const r = await run("npm", ["install", "--no-audit", "--no-fund", "--prefix", dir], {
        track: false,
      }).catch((e) => ({ code: 1, stdout: "", stderr: String(e) }));
      if (r.code !== 0) return `npm install failed: ${r.stderr.trim().split("\n").at(-1)}`;
    }
    return { dir, node, major };
  })();
  return nodeSetup;
}

let denoSetup: Promise<string | null> | null = null;

/** Caches the npm peers for Deno once (Deno's own cache); resolves with a reason on failure. */
export function setupDeno(): Promise<string | null> {
  denoSetup ??= (async () => {
    const r = await run(Deno.execPath(), [
      "cache",
      "--no-config",
      "--no-lock",
      "--quiet",
      `npm:kafkajs@${KAFKAJS_VERSION}`,
      `npm:@platformatic/kafka@${PLATFORMATIC_VERSION}`,
    ], { track: false });
    return r.code === 0 ? null : `deno cache of the npm peers failed: ${r.stderr.trim()}`;
  })();
  return denoSetup;
}

/**
 * How to run a kafkajs / @platformatic/kafka peer `script` on Node (the
 * packages npm-installed outside the repository) or Deno (`npm:`
 * specifiers): the command, the version line, Node's major version (0 on
 * Deno); or why it cannot run.
 */
export async function peerCommand(
  lib: "kafkajs" | "platformatic",
  runtime: "node" | "deno",
  script: string,
): Promise<{ command: string[]; version: string; nodeMajor: number } | string> {
  const name = lib === "kafkajs" ? "kafkajs" : "@platformatic/kafka";
  if (runtime === "node") {
    const s = await setupNode();
    if (typeof s === "string") return s;
    const version = lib === "kafkajs"
      ? KAFKAJS_VERSION
      : s.major >= 22
      ? PLATFORMATIC_VERSION
      : PLATFORMATIC_NODE20_VERSION;
    const entry = lib === "kafkajs"
      ? `${s.dir}/node_modules/kafkajs/index.js`
      : `${s.dir}/node_modules/@platformatic/kafka/dist/index.js`;
    return {
      command: ["node", script, "--lib", `file://${entry}`],
      version: `${name} ${version} on Node ${s.node}`,
      nodeMajor: s.major,
    };
  }
  const reason = await setupDeno();
  if (reason !== null) return reason;
  const version = lib === "kafkajs" ? KAFKAJS_VERSION : PLATFORMATIC_VERSION;
  return {
    command: [
      Deno.execPath(),
      "run",
      "-A",
      "--no-config",
      "--no-lock",
      "--quiet",
      script,
      "--lib",
      `npm:${name}@${version}`,
    ],
    version: `${name} ${version} on Deno ${Deno.version.deno}`,
    nodeMajor: 0,
  };
}

function jsPeer(lib: "kafkajs" | "platformatic", runtime: "node" | "deno"): Client {
  let command: string[] = [];
  let nodeMajor = 0;
  const name = lib === "kafkajs" ? "kafkajs" : "@platformatic/kafka";
  const c: Client = {
    id: `${lib}-${runtime}`,
    label: `${name} on ${runtime === "node" ? "Node" : "Deno (npm:)"}`,
    version: name,
    async setup() {
      const peer = await peerCommand(lib, runtime, `${PEERS_DIR}${lib}.mjs`);
      if (typeof peer === "string") return peer;
      command = peer.command;
      nodeMajor = peer.nodeMajor;
      c.version = peer.version;
      return null;
    },
    naFor(cell) {
      if (lib === "kafkajs" && cell.codec !== "none") {
        return `kafkajs has only gzip built in ("${cell.codec.toUpperCase()} compression not ` +
          `implemented"); its ${cell.codec} codecs are third-party plugins`;
      }
      if (lib === "platformatic" && runtime === "node" && cell.codec === "zstd" && nodeMajor < 22) {
        return "@platformatic/kafka decodes zstd with node:zlib, which has zstd from Node 22.15 on";
      }
      return null;
    },
    async read(ctx) {
      const r = await runTimed(command[0], [
        ...command.slice(1),
        "--brokers",
        ctx.bootstrap,
        "--topic",
        ctx.topic,
        "--partitions",
        String(ctx.expected.perPartition.length),
        "--records",
        String(ctx.expected.total),
        "--group",
        uniqueName(`bench-cmp-${c.id}`),
      ]);
      if (r.code !== 0) {
        const err = r.stderr.trim().split("\n").slice(-5).join("\n");
        throw new Error(`${c.id} failed (exit ${r.code}):\n${err}`);
      }
      const p = lastJsonLine<PeerResult>(c.id, r);
      verify(c.id, p, ctx.expected);
      if (p.payloadBytes !== ctx.expected.total * ctx.cell.size) {
        throw new Error(
          `${c.id}: ${p.payloadBytes} payload bytes, want ${ctx.expected.total}×size`,
        );
      }
      return sample(ctx.cell, p.records, p.firstToLastMs, r.cpuS, p.cpuWindowS, r.peakRssBytes);
    },
  };
  return c;
}

/** Every client, in report order. */
export function allClients(): Client[] {
  return [
    ours("assign"),
    ours("group"),
    java(),
    kcat(),
    jsPeer("kafkajs", "node"),
    jsPeer("kafkajs", "deno"),
    jsPeer("platformatic", "node"),
    jsPeer("platformatic", "deno"),
  ];
}

/** Makes sure GNU time is there (apt-get install time), for CPU and RSS of every client. */
export async function ensureGnuTime(): Promise<boolean> {
  if (await exists(GNU_TIME)) return true;
  log("/usr/bin/time missing: apt-get install -y time");
  const apt = Deno.uid() === 0 ? ["apt-get"] : ["sudo", "-n", "apt-get"];
  await run(apt[0], [...apt.slice(1), "install", "-y", "time"], {
    track: false,
    env: { DEBIAN_FRONTEND: "noninteractive" },
  }).catch(() => null);
  return await exists(GNU_TIME);
}

export { FETCH_PROPERTIES };
