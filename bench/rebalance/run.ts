/**
 * `deno task bench:rebalance`: the stop-the-world cost of a consumer-group
 * rebalance, for sluice (examples/verifiable_consumer.ts) and Kafka's Java
 * consumer (Kafka's VerifiableConsumer), each with the eager `range`
 * assignor, with `cooperative-sticky`, and under the consumer group protocol
 * (KIP-848: the broker assigns, its default `uniform` assignor): six
 * configurations in one run, on one broker.
 *
 * Per configuration: a fresh 16-partition topic and a fresh group; Kafka's
 * VerifiableProducer writes a steady stream; 4 members consume; once the
 * group is stable and has been flowing for `--steady` seconds, 4 more join
 * (the add phase); once the 8 are stable (and at least `--hold` seconds
 * later) the 4 newcomers are stopped cleanly with SIGTERM (the remove
 * phase); once the 4 are stable again (at least `--hold` seconds later),
 * everything stops.
 *
 * Measured from the tools' JSON events (see scripts/chaos/events.ts):
 *  - the longest gap between two deliveries of a partition a member KEPT
 *    through the phase (held at its start and end, no other member assigned
 *    it in between), per member; max and median over the members that were
 *    consuming before the phase;
 *  - the group's records/s in 250 ms buckets: the steady rate before the
 *    add, and the lowest 1 s window of each phase as % of it;
 *  - partitions_assigned events (per staying member, and the group's total).
 *
 *     deno task bench:rebalance [--brokers HOST:PORT] [--throughput 2000]
 *         [--steady 10] [--hold 15]
 *         [--configs ours-range,ours-coop,ours-848,java-range,java-coop,java-848]
 *         [--log-dir DIR] [--json FILE]
 *
 * Without `--brokers` it starts its own broker (`scripts/kafka.sh start
 * --name rebench`, Kafka `KAFKA_VERSION`, default 4.4.0) and stops it at the
 * end. Numbers are printed, never asserted.
 *
 * @module
 */

import { Admin } from "../../mod.ts";
import { startCluster, stopCluster } from "../../scripts/chaos/cluster.ts";
import {
  type ConsumerEvent,
  parseConsumerLine,
  parseProducerLine,
} from "../../scripts/chaos/events.ts";
import { type ChildProcess, killAll } from "../../scripts/chaos/processes.ts";
import {
  assignmentStrategy,
  type ConsumerKind,
  incremental,
  spawnVerifiableConsumer,
  spawnVerifiableProducer,
} from "../../scripts/chaos/run.ts";
import { median } from "../lib/stats.ts";

type Assignor = "range" | "cooperative-sticky";

/** One configuration of the bench. */
interface Config {
  key: string;
  name: string;
  kind: ConsumerKind;
  /** The classic protocol's assignor (not sent under the consumer protocol). */
  assignor: Assignor;
  groupProtocol: "classic" | "consumer";
}

const CONFIGS: Config[] = [
  {
    key: "ours-range",
    name: "sluice range",
    kind: "ours",
    assignor: "range",
    groupProtocol: "classic",
  },
  {
    key: "ours-coop",
    name: "sluice coop-sticky",
    kind: "ours",
    assignor: "cooperative-sticky",
    groupProtocol: "classic",
  },
  {
    key: "ours-848",
    name: "sluice KIP-848",
    kind: "ours",
    assignor: "range",
    groupProtocol: "consumer",
  },
  {
    key: "java-range",
    name: "Java range",
    kind: "java",
    assignor: "range",
    groupProtocol: "classic",
  },
  {
    key: "java-coop",
    name: "Java coop-sticky",
    kind: "java",
    assignor: "cooperative-sticky",
    groupProtocol: "classic",
  },
  {
    key: "java-848",
    name: "Java KIP-848",
    kind: "java",
    assignor: "range",
    groupProtocol: "consumer",
  },
];

const PARTITIONS = 16;
const INITIAL = 4;
const ADDED = 4;
const BUCKET_MS = 250;

const USAGE = `usage: deno task bench:rebalance [--brokers HOST:PORT] [--throughput RECORDS_PER_S]
       [--steady SECONDS] [--hold SECONDS] [--configs ${CONFIGS.map((c) => c.key).join(",")}]
       [--log-dir DIR] [--json FILE]`;

interface Member {
  id: string;
  events: ConsumerEvent[];
  proc: ChildProcess;
}

/** Gaps of one phase: per member that was consuming before it. */
interface PhaseGaps {
  /** Longest gap (ms) per member with at least one kept partition. */
  perMember: Record<string, number>;
  /** Kept partitions per member. */
  kept: Record<string, number>;
  /** Max over members, ms (null: no member kept a partition). */
  max: number | null;
  /** Median over members, ms. */
  median: number | null;
}

/** What one phase (add or remove) measured. */
interface PhaseResult {
  /** Length of the phase, s. */
  seconds: number;
  /** Seconds until the group was stable again. */
  stableAfterS: number;
  gaps: PhaseGaps;
  /** Lowest 1 s window of the group's records/s. */
  minRate: number;
  /** minRate as % of the steady rate. */
  minRatePct: number;
  /** partitions_assigned events of a staying member (max over them). */
  assignedPerStayer: number;
  /** partitions_assigned events of the whole group. */
  assignedTotal: number;
}

/** The result of one configuration. */
interface ConfigResult {
  config: string;
  name: string;
  /** The group's records/s before the add: the median 1 s window. */
  steadyRate: number;
  /** The producer's acknowledged records/s over the same windows (median). */
  producedRate: number;
  add: PhaseResult;
  remove: PhaseResult;
  error: string | null;
}

interface Cli {
  brokers: string | null;
  throughput: number;
  steadyS: number;
  holdS: number;
  configs: Config[];
  logDir: string | null;
  json: string | null;
}

function fail(message: string): never {
  console.error(`bench:rebalance: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function parse(argv: string[]): Cli {
  const cli: Cli = {
    brokers: null,
    throughput: 2000,
    steadyS: 10,
    holdS: 15,
    configs: CONFIGS,
    logDir: null,
    json: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => argv[++i] ?? fail(`${flag} needs a value`);
    const num = () => {
      const v = value();
      if (!/^\d+$/.test(v)) fail(`${flag} needs a non-negative integer`);
      return Number(v);
    };
    switch (flag) {
      case "--brokers":
        cli.brokers = value();
        break;
      case "--throughput":
        cli.throughput = num();
        break;
      case "--steady":
        cli.steadyS = num();
        break;
      case "--hold":
        cli.holdS = num();
        break;
      case "--configs": {
        const keys = value().split(",");
        cli.configs = keys.map((k) => CONFIGS.find((c) => c.key === k) ?? fail(`unknown ${k}`));
        break;
      }
      case "--log-dir":
        cli.logDir = value();
        break;
      case "--json":
        cli.json = value();
        break;
      case "-h":
      case "--help":
        console.log(USAGE);
        Deno.exit(0);
        break;
      default:
        fail(`unknown argument ${flag}`);
    }
  }
  return cli;
}

// --- analysis ----------------------------------------------------------------

/**
 * The partitions a member holds at `at` (events up to and including it):
 * eager assignments replace the holding, cooperative ones add to it.
 */
function heldAt(m: Member, at: number, cooperative: boolean): Set<number> {
  let own = new Set<number>();
  for (const e of m.events) {
    if (e.timestamp > at) break;
    if (e.name === "partitions_assigned") {
      if (!cooperative) own = new Set();
      for (const p of e.partitions) own.add(p.partition);
    } else if (e.name === "partitions_revoked") {
      for (const p of e.partitions) own.delete(p.partition);
    } else if (e.name === "shutdown_complete") own.clear();
  }
  return own;
}

/**
 * Per member consuming at `from`: the longest gap between deliveries of a
 * partition it kept through [from, to]. A partition is kept when the member
 * holds it at both ends and no other member was assigned it in between
 * (eager revokes and re-assigns everything; re-assigned to the same member
 * it counts as kept: the gap is the full stop). The gap counts pairs of
 * consecutive deliveries whose span overlaps the phase, and the open gap
 * from the last delivery to `to`.
 */
function phaseGaps(
  members: Member[],
  stayers: Member[],
  from: number,
  to: number,
  cooperative: boolean,
): PhaseGaps {
  const assignedElsewhere = (m: Member, p: number) =>
    members.some((o) =>
      o !== m &&
      o.events.some((e) =>
        e.name === "partitions_assigned" && e.timestamp >= from && e.timestamp <= to &&
        e.partitions.some((x) => x.partition === p)
      )
    );
  const perMember: Record<string, number> = {};
  const kept: Record<string, number> = {};
  for (const m of stayers) {
    const before = heldAt(m, from, cooperative);
    const after = heldAt(m, to, cooperative);
    const keep = [...before].filter((p) => after.has(p) && !assignedElsewhere(m, p));
    kept[m.id] = keep.length;
    if (keep.length === 0) continue;
    let longest = 0;
    for (const p of keep) {
      const times = m.events.filter((e) =>
        e.name === "records_consumed" && e.timestamp <= to &&
        e.partitions.some((r) => r.partition === p)
      ).map((e) => e.timestamp);
      for (let i = 1; i < times.length; i++) {
        if (times[i] >= from) longest = Math.max(longest, times[i] - times[i - 1]);
      }
      const last = times.at(-1);
      if (last !== undefined) longest = Math.max(longest, to - Math.max(last, from));
    }
    perMember[m.id] = longest;
  }
  const gaps = Object.values(perMember);
  return {
    perMember,
    kept,
    max: gaps.length ? Math.max(...gaps) : null,
    median: gaps.length ? median(gaps) : null,
  };
}

/** The group's records per 250 ms bucket from `t0`. */
function buckets(members: Member[], t0: number, t1: number): number[] {
  const out = new Array(Math.ceil((t1 - t0) / BUCKET_MS)).fill(0);
  for (const m of members) {
    for (const e of m.events) {
      if (e.name !== "records_consumed" || e.timestamp < t0 || e.timestamp >= t1) continue;
      out[Math.floor((e.timestamp - t0) / BUCKET_MS)] += e.count;
    }
  }
  return out;
}

/** Lowest records/s over any 1 s window (4 buckets) inside [from, to). */
function minWindowRate(b: number[], t0: number, from: number, to: number): number {
  const per = 1000 / BUCKET_MS;
  const first = Math.ceil((from - t0) / BUCKET_MS);
  const end = Math.floor((to - t0) / BUCKET_MS);
  let min = Infinity;
  for (let i = first; i + per <= end; i++) {
    let sum = 0;
    for (let k = 0; k < per; k++) sum += b[i + k];
    min = Math.min(min, sum);
  }
  return min === Infinity ? 0 : min;
}

function countAssigned(ms: Member[], from: number, to: number): number[] {
  return ms.map((m) =>
    m.events.filter((e) =>
      e.name === "partitions_assigned" && e.timestamp >= from && e.timestamp <= to
    ).length
  );
}

// --- one configuration ---------------------------------------------------------

async function runConfig(
  c: Config,
  o: { root: string; bootstrap: string; throughput: number; steadyS: number; holdS: number },
  logDir: string,
  say: (s: string) => void,
): Promise<ConfigResult> {
  const stamp = `${c.key}-${Date.now().toString(36)}`;
  const topic = `rebench-${stamp}`;
  const groupId = `rebench-group-${stamp}`;
  const cooperative = incremental(c);
  await Deno.mkdir(logDir, { recursive: true });
  {
    await using admin = new Admin({ brokers: o.bootstrap, clientId: "sluice-rebench-admin" });
    await admin.createTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
  }
  const members: Member[] = [];
  const malformed: string[] = [];
  const args = [
    "--group-id",
    groupId,
    "--topic",
    topic,
    "--bootstrap-server",
    o.bootstrap,
    ...(c.groupProtocol === "consumer"
      // The broker's session (group.consumer.session.timeout.ms) and assignor.
      ? ["--group-protocol", "consumer"]
      : ["--session-timeout", "10000", "--assignment-strategy", assignmentStrategy(c.assignor)]),
  ];
  const start = (n: number) => {
    const id = `c${n}`;
    const events: ConsumerEvent[] = [];
    const proc = spawnVerifiableConsumer({
      kind: c.kind,
      root: o.root,
      args,
      // Our member's log level (SLUICE_LOG_LEVEL=info shows why it rejoins).
      env: { SLUICE_LOG_LEVEL: Deno.env.get("SLUICE_LOG_LEVEL") ?? "warn" },
      stderrFile: `${logDir}/${id}.stderr`,
      onLine: (line) => {
        try {
          const e = parseConsumerLine(line);
          if (e) events.push(e);
        } catch (err) {
          malformed.push(`${id}: ${(err as Error).message}`);
        }
      },
    });
    const m = { id, events, proc };
    members.push(m);
    return m;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
  const stable = (live: Member[]) => {
    const owners = new Map<number, number>();
    for (const m of live) {
      if (m.proc.exited) return false;
      const own = heldAt(m, Infinity, cooperative);
      if (own.size === 0) return false;
      for (const p of own) owners.set(p, (owners.get(p) ?? 0) + 1);
    }
    for (let p = 0; p < PARTITIONS; p++) if (owners.get(p) !== 1) return false;
    return true;
  };
  const waitUntil = async (what: string, ms: number, ok: () => boolean) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000}s: ${what}`);
      await sleep(100);
    }
  };
  const flowing = (since: number) => {
    const seen = new Set<number>();
    for (const m of members) {
      for (const e of m.events) {
        if (e.name === "records_consumed" && e.timestamp > since) {
          for (const r of e.partitions) seen.add(r.partition);
        }
      }
    }
    return seen.size === PARTITIONS;
  };

  const t0 = Date.now();
  let error: string | null = null;
  let addAt = 0, addStable = 0, removeAt = 0, removeStable = 0, endAt = 0, steadyFrom = 0;
  const acked = new Array<number>(PARTITIONS).fill(0);
  const ackTimes: number[] = [];
  const ackedAgo: Array<{ at: number; ends: number[] }> = [];
  const producer = spawnVerifiableProducer({
    root: o.root,
    bootstrap: o.bootstrap,
    topic,
    throughput: o.throughput,
    partitions: PARTITIONS,
    stderrFile: `${logDir}/producer.stderr`,
    onLine: (line) => {
      const a = parseProducerLine(line);
      if (!a) return;
      acked[a.partition] = Math.max(acked[a.partition], a.offset + 1);
      ackTimes.push(a.timestamp);
    },
  });
  // Caught up: every partition consumed up to what was acknowledged a second ago.
  const caughtUp = () => {
    const now = Date.now();
    if (ackedAgo.length === 0 || now - ackedAgo.at(-1)!.at >= 250) {
      ackedAgo.push({ at: now, ends: [...acked] });
    }
    const old = ackedAgo.findLast((x) => now - x.at >= 1000);
    if (!old) return false;
    const pos = new Array<number>(PARTITIONS).fill(0);
    for (const m of members) {
      for (const e of m.events) {
        if (e.name !== "records_consumed") continue;
        for (const r of e.partitions) {
          pos[r.partition] = Math.max(pos[r.partition], r.maxOffset + 1);
        }
      }
    }
    return old.ends.every((end, p) => end > 0 && pos[p] >= end);
  };
  try {
    const initial = Array.from({ length: INITIAL }, (_, i) => start(i));
    await waitUntil("the first 4 members to form a stable group", 180_000, () => stable(initial));
    const formed = Date.now();
    await waitUntil("records to flow on every partition", 60_000, () => flowing(formed));
    await waitUntil("the group to catch up with the producer", 120_000, caughtUp);
    steadyFrom = Date.now();
    say(`${c.name}: 4 members stable after ${((steadyFrom - t0) / 1000).toFixed(1)}s`);
    await sleep(o.steadyS * 1000);

    addAt = Date.now();
    const added = Array.from({ length: ADDED }, (_, i) => start(INITIAL + i));
    await waitUntil("8 members to be stable", 180_000, () => stable(members));
    addStable = Date.now();
    say(`${c.name}: 8 members stable ${((addStable - addAt) / 1000).toFixed(1)}s after the add`);
    await sleep(Math.max(o.holdS * 1000 - (Date.now() - addAt), 5000 - (Date.now() - addStable)));

    removeAt = Date.now();
    for (const m of added) m.proc.signal("SIGTERM");
    await Promise.all(added.map((m) => m.proc.waitExit(30_000)));
    await waitUntil("4 members to be stable again", 180_000, () => stable(initial));
    removeStable = Date.now();
    say(
      `${c.name}: 4 members stable ${
        ((removeStable - removeAt) / 1000).toFixed(1)
      }s after the stop`,
    );
    await sleep(
      Math.max(o.holdS * 1000 - (Date.now() - removeAt), 5000 - (Date.now() - removeStable)),
    );
    endAt = Date.now();
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    say(`${c.name}: gave up: ${error}`);
    endAt = Date.now();
  } finally {
    for (const m of members) m.proc.signal("SIGTERM");
    producer.signal("SIGTERM");
    await Promise.all([...members.map((m) => m.proc.waitExit(20_000)), producer.waitExit(20_000)]);
    await killAll();
    await Deno.writeTextFile(
      `${logDir}/events.json`,
      JSON.stringify({
        topic,
        groupId,
        addAt,
        addStable,
        removeAt,
        removeStable,
        endAt,
        malformed,
        members: members.map((m) => ({ id: m.id, events: m.events })),
      }),
    ).catch(() => {});
  }
  for (const m of malformed) say(`${c.name}: ${m}`);

  const initial = members.slice(0, INITIAL);
  const b = buckets(members, t0, endAt + BUCKET_MS);
  const steadyStart = Math.max(steadyFrom, addAt - o.steadyS * 1000);
  // The median 1 s window (the producer is a JVM on a loaded machine too: it
  // falls behind and catches up in bursts, so the mean would follow its bursts).
  const windows = (from: number, to: number, per: number[]) => {
    const out: number[] = [];
    const k = 1000 / BUCKET_MS;
    for (
      let i = Math.ceil((from - t0) / BUCKET_MS);
      i + k <= Math.floor((to - t0) / BUCKET_MS);
      i += k
    ) {
      out.push(per.slice(i, i + k).reduce((a, x) => a + x, 0));
    }
    return out;
  };
  const steadyWindows = addAt > steadyStart ? windows(steadyStart, addAt, b) : [];
  const steadyRate = steadyWindows.length ? median(steadyWindows) : 0;
  const produced = new Array<number>(b.length).fill(0);
  for (const at of ackTimes) {
    if (at >= t0 && at < t0 + b.length * BUCKET_MS) produced[Math.floor((at - t0) / BUCKET_MS)]++;
  }
  const producedWindows = addAt > steadyStart ? windows(steadyStart, addAt, produced) : [];
  const producedRate = producedWindows.length ? median(producedWindows) : 0;
  const phase = (from: number, stableAt: number, to: number): PhaseResult => {
    const minRate = from > 0 && to > from ? minWindowRate(b, t0, from, to) : 0;
    const perStayer = countAssigned(initial, from, to);
    return {
      seconds: (to - from) / 1000,
      stableAfterS: stableAt > 0 ? (stableAt - from) / 1000 : NaN,
      gaps: phaseGaps(members, initial, from, to, cooperative),
      minRate,
      minRatePct: steadyRate > 0 ? (100 * minRate) / steadyRate : 0,
      assignedPerStayer: Math.max(0, ...perStayer),
      assignedTotal: countAssigned(members, from, to).reduce((a, x) => a + x, 0),
    };
  };
  return {
    config: c.key,
    name: c.name,
    steadyRate,
    producedRate,
    add: phase(addAt, addStable, removeAt || endAt),
    remove: phase(removeAt, removeStable, endAt),
    error,
  };
}

// --- report --------------------------------------------------------------------

function table(results: ConfigResult[]): string {
  const ms = (v: number | null) => v === null ? "-" : `${Math.round(v)} ms`;
  const rows: Array<[string, (r: ConfigResult) => string]> = [
    [
      "steady records/s (group, median 1 s)",
      (r) => Math.round(r.steadyRate).toLocaleString("en-US"),
    ],
    [
      "produced records/s (same windows)",
      (r) => Math.round(r.producedRate).toLocaleString("en-US"),
    ],
  ];
  for (const ph of ["add", "remove"] as const) {
    const label = ph === "add" ? "add 4 (4→8)" : "stop 4 (8→4)";
    rows.push(
      [`${label}: stable again after`, (r) => `${r[ph].stableAfterS.toFixed(1)} s`],
      [`${label}: kept-partition gap, max`, (r) => ms(r[ph].gaps.max)],
      [`${label}: kept-partition gap, median`, (r) => ms(r[ph].gaps.median)],
      [
        `${label}: members with kept partitions`,
        (r) => `${Object.keys(r[ph].gaps.perMember).length}/${INITIAL}`,
      ],
      [
        `${label}: lowest 1 s records/s`,
        (r) => `${Math.round(r[ph].minRate)} (${Math.round(r[ph].minRatePct)}%)`,
      ],
      [
        `${label}: partitions_assigned (stayer/group)`,
        (r) => `${r[ph].assignedPerStayer} / ${r[ph].assignedTotal}`,
      ],
    );
  }
  const head = ["", ...results.map((r) => r.name)];
  const body = rows.map(([label, f]) => [label, ...results.map(f)]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((row) => row[i].length)));
  const line = (row: string[]) =>
    "| " + row.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ") +
    " |";
  const sep = "| " + widths.map((w, i) => i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":")
    .join(" | ") +
    " |";
  return [line(head), sep, ...body.map(line)].join("\n");
}

async function main(): Promise<number> {
  const cli = parse(Deno.args);
  const root = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
  if (!Deno.env.get("KAFKA_VERSION")) Deno.env.set("KAFKA_VERSION", "4.4.0");
  const say = (s: string) =>
    console.error(`rebalance ${new Date().toISOString().slice(11, 19)} ${s}`);
  const onSignal = () => {
    void killAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  let own: string | null = null;
  let bootstrap = cli.brokers;
  try {
    if (bootstrap === null) {
      own = "rebench";
      say(`starting a broker (scripts/kafka.sh start --name ${own})`);
      bootstrap = await startCluster(root, own, 1);
    }
    const logDir = cli.logDir ?? await Deno.makeTempDir({ prefix: "sluice-rebench-" });
    say(`broker ${bootstrap}, logs in ${logDir}`);
    const results: ConfigResult[] = [];
    for (const c of cli.configs) {
      results.push(
        await runConfig(c, { root, bootstrap, ...cli }, `${logDir}/${c.key}`, say),
      );
    }
    console.log(
      `\nrebalance bench: ${PARTITIONS} partitions, ${cli.throughput} records/s from ` +
        `VerifiableProducer, ${INITIAL} members + ${ADDED} added then stopped (SIGTERM), ` +
        `steady ${cli.steadyS}s, hold >= ${cli.holdS}s per phase\n`,
    );
    console.log(table(results));
    for (const r of results) if (r.error) console.log(`\n${r.name}: gave up early: ${r.error}`);
    if (cli.json) {
      await Deno.writeTextFile(
        cli.json,
        JSON.stringify(
          {
            partitions: PARTITIONS,
            throughput: cli.throughput,
            steadyS: cli.steadyS,
            holdS: cli.holdS,
            results,
          },
          null,
          2,
        ),
      );
    }
    return results.some((r) => r.error) ? 2 : 0;
  } finally {
    await killAll();
    if (own) {
      say(`stopping the broker '${own}'`);
      await stopCluster(root, own).catch((e) => say(`stopping the broker failed: ${e}`));
    }
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

if (import.meta.main) Deno.exit(await main());
