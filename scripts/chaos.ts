/**
 * `deno task chaos`: a bounded chaos run of a consumer group against a real
 * 3-node Kafka cluster, checked against the invariants of Kafka's own
 * consumer system tests (see scripts/chaos/checker.ts), with Kafka's Java
 * VerifiableConsumer as the baseline.
 *
 *   deno task chaos [--consumer ours|java|both] [--duration 180] [--seed N]
 *                   [--brokers HOST:PORT,...] [--cluster-name NAME]
 *                   [--consumers 4] [--partitions 12] [--throughput 200]
 *                   [--session-timeout 10000] [--gap 5000,12000]
 *                   [--faults restart,kill,pause,block,broker] [--no-broker-faults]
 *                   [--autocommit] [--assignor range|cooperative-sticky]
 *                   [--group-protocol classic|consumer]
 *                   [--log-dir DIR] [--json FILE]
 *
 * Without `--brokers` it starts its own 3-node cluster (`scripts/kafka.sh
 * start --brokers 3 --name chaos`) and stops it at the end. With `--brokers`
 * it uses that cluster (found by its bootstrap in kafka.sh's state, or named
 * with `--cluster-name`) and leaves every broker running. `--consumer both`
 * runs Kafka's Java consumer, then ours, with the same seed, and prints them
 * side by side. Prints a summary per run and every violation; exits 1 on
 * any violation, 2 when the harness itself failed or gave up early (e.g. the
 * group did not settle within its generous timeouts).
 *
 * @module
 */

import { clusterNameOf, startCluster, stopCluster } from "./chaos/cluster.ts";
import { type ChaosOptions, type ChaosResult, type ConsumerKind, runChaos } from "./chaos/run.ts";
import { sideBySide, violationLines } from "./chaos/summary.ts";

const USAGE = `usage: deno task chaos [--consumer ours|java|both] [--duration SECONDS] [--seed N]
       [--brokers HOST:PORT,...] [--cluster-name NAME] [--consumers N] [--partitions N]
       [--throughput RECORDS_PER_S] [--session-timeout MS] [--gap MIN_MS,MAX_MS]
       [--faults restart,kill,pause,block,broker] [--no-broker-faults] [--autocommit]
       [--assignor range|cooperative-sticky] [--group-protocol classic|consumer]
       [--log-dir DIR] [--json FILE]`;

const FAULTS = ["restart", "kill", "pause", "block", "broker"];

interface Cli {
  consumer: ConsumerKind | "both";
  duration: number;
  seed: number;
  brokers: string | null;
  clusterName: string | null;
  consumers: number;
  partitions: number;
  throughput: number;
  sessionTimeout: number;
  gap: [number, number];
  faults: Set<string>;
  autoCommit: boolean;
  assignor: "range" | "cooperative-sticky";
  groupProtocol: "classic" | "consumer";
  logDir: string | null;
  json: string | null;
}

function fail(message: string): never {
  console.error(`chaos: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function parse(argv: string[]): Cli {
  const cli: Cli = {
    consumer: "ours",
    duration: 180,
    seed: Date.now() % 1_000_000,
    brokers: null,
    clusterName: null,
    consumers: 4,
    partitions: 12,
    throughput: 200,
    sessionTimeout: 10_000,
    gap: [5000, 12_000],
    faults: new Set(FAULTS),
    autoCommit: false,
    assignor: "range",
    groupProtocol: "classic",
    logDir: null,
    json: null,
  };
  const num = (flag: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v)) fail(`${flag} needs a non-negative integer`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--consumer": {
        const v = value();
        if (v !== "ours" && v !== "java" && v !== "both") {
          fail(`--consumer must be ours, java or both`);
        }
        cli.consumer = v;
        break;
      }
      case "--duration":
        cli.duration = num(flag, value());
        break;
      case "--seed":
        cli.seed = num(flag, value());
        break;
      case "--brokers":
        cli.brokers = value();
        break;
      case "--cluster-name":
        cli.clusterName = value();
        break;
      case "--consumers":
        cli.consumers = num(flag, value());
        break;
      case "--partitions":
        cli.partitions = num(flag, value());
        break;
      case "--throughput":
        cli.throughput = num(flag, value());
        break;
      case "--session-timeout":
        cli.sessionTimeout = num(flag, value());
        break;
      case "--gap": {
        const [a, b] = value().split(",").map((s) => num(flag, s));
        if (b === undefined || b < a) fail("--gap must be MIN_MS,MAX_MS with MIN <= MAX");
        cli.gap = [a, b];
        break;
      }
      case "--faults": {
        const kinds = value().split(",").map((k) => k.trim()).filter((k) => k !== "");
        const bad = kinds.filter((k) => !FAULTS.includes(k));
        if (bad.length > 0) fail(`--faults: unknown kind(s) ${bad.join(", ")}`);
        cli.faults = new Set(kinds);
        break;
      }
      case "--no-broker-faults":
        cli.faults.delete("broker");
        break;
      case "--autocommit":
        cli.autoCommit = true;
        break;
      case "--assignor": {
        const a = value();
        if (a !== "range" && a !== "cooperative-sticky") {
          fail(`--assignor must be range or cooperative-sticky, got '${a}'`);
        }
        cli.assignor = a;
        break;
      }
      case "--group-protocol": {
        const p = value();
        if (p !== "classic" && p !== "consumer") {
          fail(`--group-protocol must be classic or consumer, got '${p}'`);
        }
        cli.groupProtocol = p;
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
  if (cli.consumers < 1) fail("--consumers must be at least 1");
  if (cli.partitions < 1) fail("--partitions must be at least 1");
  return cli;
}

async function main(): Promise<number> {
  const cli = parse(Deno.args);
  const root = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const say = (line: string) => console.error(line);

  let ownCluster: string | null = null;
  let bootstrap = cli.brokers;
  let clusterName = cli.clusterName;
  try {
    if (bootstrap === null) {
      ownCluster = "chaos";
      say(
        "chaos: starting a 3-node Kafka cluster (scripts/kafka.sh start --brokers 3 --name chaos)",
      );
      bootstrap = await startCluster(root, ownCluster, 3);
      clusterName = ownCluster;
    } else if (clusterName === null) {
      clusterName = await clusterNameOf(bootstrap);
      if (clusterName === null) {
        fail(
          `no cluster started by scripts/kafka.sh has bootstrap ${bootstrap}; name it with ` +
            `--cluster-name (broker restarts need it) or pass --no-broker-faults`,
        );
      }
    }
    const nodes = bootstrap.split(",").length;
    const kinds: ConsumerKind[] = cli.consumer === "both" ? ["java", "ours"] : [cli.consumer];
    const runs: Array<{ name: string; result: ChaosResult }> = [];
    const harnessErrors: string[] = [];
    const logDir = cli.logDir ?? await Deno.makeTempDir({ prefix: "sluice-chaos-" });
    say(`chaos: seed ${cli.seed}, logs in ${logDir}`);
    for (const kind of kinds) {
      if (abort.signal.aborted) break;
      const options: ChaosOptions = {
        consumer: kind,
        bootstrap,
        clusterName: clusterName!,
        nodes,
        durationS: cli.duration,
        consumers: cli.consumers,
        partitions: cli.partitions,
        throughput: cli.throughput,
        sessionTimeoutMs: cli.sessionTimeout,
        seed: cli.seed,
        gapMs: cli.gap,
        faults: cli.faults,
        autoCommit: cli.autoCommit,
        assignor: cli.assignor,
        groupProtocol: cli.groupProtocol,
        logDir: `${logDir}/${kind}`,
        root,
        signal: abort.signal,
        log: say,
      };
      const result = await runChaos(options);
      runs.push({ name: kind === "ours" ? "sluice (ours)" : "Kafka Java", result });
      const phases = Object.entries(result.phases).map(([k, v]) => `${k} ${v.toFixed(0)}s`);
      say(`chaos: ${kind} done (${phases.join(", ")})`);
      if (result.error) harnessErrors.push(`${kind}: ${result.error}`);
    }
    console.log(
      `\nchaos run: seed ${cli.seed}, ${cli.duration}s of chaos, ${cli.consumers} consumers, ` +
        `${cli.partitions} partitions (RF 3), ${cli.throughput} records/s, session timeout ` +
        `${cli.sessionTimeout} ms, ${cli.autoCommit ? "auto-commit" : "sync commit per poll"}, ` +
        (cli.groupProtocol === "consumer"
          ? "group protocol consumer (the broker assigns), "
          : `assignor ${cli.assignor}, `) +
        `faults: ${[...cli.faults].join(", ") || "none"}\n`,
    );
    console.log(sideBySide(runs.map((r) => ({ name: r.name, report: r.result.report }))));
    let violations = 0;
    for (const r of runs) {
      const v = r.result.report.violations;
      violations += v.length;
      if (v.length > 0) {
        console.log(
          `\n${r.name}: ${v.length} violation(s)\n${violationLines(r.result.report).join("\n")}`,
        );
      }
    }
    if (cli.json) {
      await Deno.writeTextFile(
        cli.json,
        JSON.stringify(
          runs.map((r) => ({ name: r.name, phases: r.result.phases, ...r.result.report })),
          (_k, v) => v === Infinity ? "Infinity" : v,
          2,
        ),
      );
    }
    for (const e of harnessErrors) console.log(`\nchaos: the harness gave up early (${e})`);
    console.log(
      violations === 0 ? "\nchaos: no violations" : `\nchaos: ${violations} violation(s)`,
    );
    if (violations > 0) return 1;
    return harnessErrors.length > 0 ? 2 : 0;
  } catch (e) {
    console.error(`chaos: the run failed: ${e instanceof Error ? e.stack ?? e.message : e}`);
    return 2;
  } finally {
    if (ownCluster) {
      say(`chaos: stopping cluster '${ownCluster}'`);
      await stopCluster(root, ownCluster).catch((e) =>
        say(`chaos: stopping the cluster failed: ${e}`)
      );
    }
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) Deno.exit(await main());
