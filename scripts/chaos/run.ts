/**
 * One chaos run against a running 3-node cluster: Kafka's verifiable
 * producer writes throughout; a group of verifiable consumers (ours or
 * Kafka's Java tool) reads; the harness restarts, kills and freezes
 * consumers and restarts brokers at random (seeded); then heals everything,
 * bounces every consumer cleanly, drains, stops them cleanly, and checks
 * the invariants ({@linkcode checkRun}).
 *
 * Phases: start (topic, producer, consumers, stable group) → chaos
 * (`durationS`) → heal (every broker and consumer back, group stable and
 * flowing) → clean (one SIGTERM restart per consumer: no duplicates allowed
 * from here on) → drain (producer stopped, every acked record consumed) →
 * stop (SIGTERM to all, final committed offsets read).
 *
 * @module
 */

import { Admin } from "../../mod.ts";
import { Cluster } from "../../src/net/cluster.ts";
import { GroupClient } from "../../src/net/group_client.ts";
import { partitionKey } from "../../src/util/partitions.ts";
import {
  checkRun,
  type CommitSample,
  type Fault,
  type MemberLog,
  type RunLog,
  type RunReport,
} from "./checker.ts";
import {
  type ConsumerEvent,
  parseConsumerLine,
  parseProducerLine,
  type ProducerAck,
} from "./events.ts";
import { ChildProcess, killAll, run } from "./processes.ts";
import { Rng } from "../../src/util/random.ts";

/** Which verifiable consumer the run drives. */
export type ConsumerKind = "ours" | "java";

/** Options of {@linkcode runChaos}. */
export interface ChaosOptions {
  /** `ours` (examples/verifiable_consumer.ts) or `java` (Kafka's VerifiableConsumer). */
  consumer: ConsumerKind;
  /** Bootstrap servers of the 3-node cluster. */
  bootstrap: string;
  /** The cluster's name in scripts/kafka.sh (for stop-broker/start-broker). */
  clusterName: string;
  /** Nodes of the cluster (1..n). */
  nodes: number;
  /** Length of the chaos phase, seconds. */
  durationS: number;
  /** Consumers in the group. */
  consumers: number;
  /** Partitions of the topic (replication factor 3). */
  partitions: number;
  /** Producer throughput, records/s. */
  throughput: number;
  /** Consumers' session timeout, ms. */
  sessionTimeoutMs: number;
  /** Seed of the fault schedule. */
  seed: number;
  /** Pause between faults, ms: [min, max]. */
  gapMs: [number, number];
  /** Fault kinds to choose from (restart, kill, pause, broker). */
  faults: ReadonlySet<string>;
  /** `--enable-autocommit` for the consumers. */
  autoCommit: boolean;
  /** The assignor both clients use ("range", Java's default first choice, or "cooperative-sticky"). */
  assignor: "range" | "cooperative-sticky";
  /**
   * The group protocol both clients speak. Under "consumer" (KIP-848) the
   * broker assigns (its default assignor; `assignor` is not sent), owns the
   * session timeout (`sessionTimeoutMs` must then be the brokers'
   * group.consumer.session.timeout.ms: 10000 with scripts/kafka.sh), and
   * assignments are incremental.
   */
  groupProtocol: "classic" | "consumer";
  /** Directory for the processes' stderr and the event logs. */
  logDir: string;
  /** Repository root. */
  root: string;
  /** Aborts the run (children are killed, the report is still computed). */
  signal?: AbortSignal;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
}

/** What {@linkcode runChaos} returns. */
export interface ChaosResult {
  /** The checks. */
  report: RunReport;
  /** The raw material of the checks. */
  log: RunLog;
  /** Seconds per phase. */
  phases: Record<string, number>;
  /**
   * Why the harness gave up before the end (e.g. the group did not settle in
   * time); the checks then cover what happened until then. Null: completed.
   */
  error: string | null;
}

interface Slot {
  index: number;
  proc: ChildProcess | null;
  member: MemberLog | null;
  busy: boolean;
  starts: number;
}

const KAFKA_TOOL_ENV = { SLUICE_KAFKA_CDS: "0" }; // kafka.sh then execs java: our pid is the JVM's

/** The `--assignment-strategy` value both verifiable consumers take for an assignor. */
export function assignmentStrategy(assignor: "range" | "cooperative-sticky"): string {
  return assignor === "cooperative-sticky"
    ? "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
    : "org.apache.kafka.clients.consumer.RangeAssignor";
}

/** Whether assignments are incremental: partitions_assigned lists only what was added. */
export function incremental(o: Pick<ChaosOptions, "assignor" | "groupProtocol">): boolean {
  return o.groupProtocol === "consumer" || o.assignor === "cooperative-sticky";
}

/** How to start one verifiable consumer ({@linkcode spawnVerifiableConsumer}). */
export interface VerifiableConsumerSpawn {
  /** `ours` (examples/verifiable_consumer.ts) or `java` (Kafka's VerifiableConsumer). */
  kind: ConsumerKind;
  /** Repository root. */
  root: string;
  /** The tool's flags (the same for both). */
  args: string[];
  /** Extra environment of our consumer (the Java tool gets none). */
  env?: Record<string, string>;
  /** Where stderr goes. */
  stderrFile: string;
  /** Each stdout line. */
  onLine: (line: string, at: number) => void;
}

/** Starts our verifiable consumer or Kafka's (through `scripts/kafka.sh tool`). */
export function spawnVerifiableConsumer(o: VerifiableConsumerSpawn): ChildProcess {
  return o.kind === "ours"
    ? new ChildProcess({
      cmd: Deno.execPath(),
      args: ["run", "-A", "--no-check", `${o.root}/examples/verifiable_consumer.ts`, ...o.args],
      cwd: o.root,
      env: o.env,
      stderrFile: o.stderrFile,
      onLine: o.onLine,
    })
    : new ChildProcess({
      cmd: "bash",
      args: [`${o.root}/scripts/kafka.sh`, "tool", "verifiable-consumer", ...o.args],
      env: KAFKA_TOOL_ENV,
      stderrFile: o.stderrFile,
      onLine: o.onLine,
    });
}

/** How to start Kafka's verifiable producer ({@linkcode spawnVerifiableProducer}). */
export interface VerifiableProducerSpawn {
  /** Repository root. */
  root: string;
  /** Bootstrap servers. */
  bootstrap: string;
  /** Topic to write. */
  topic: string;
  /** Records/s. */
  throughput: number;
  /** Partitions of the topic (keys repeat over ten times as many). */
  partitions: number;
  /** Where stderr goes. */
  stderrFile: string;
  /** Each stdout line. */
  onLine: (line: string, at: number) => void;
}

/** Starts Kafka's VerifiableProducer (acks=all, repeating keys over every partition). */
export function spawnVerifiableProducer(o: VerifiableProducerSpawn): ChildProcess {
  return new ChildProcess({
    cmd: "bash",
    args: [
      `${o.root}/scripts/kafka.sh`,
      "tool",
      "verifiable-producer",
      "--bootstrap-server",
      o.bootstrap,
      "--topic",
      o.topic,
      "--throughput",
      String(o.throughput),
      "--acks",
      "-1",
      "--repeating-keys",
      String(o.partitions * 10),
    ],
    env: KAFKA_TOOL_ENV,
    stderrFile: o.stderrFile,
    onLine: o.onLine,
  });
}

/** Runs the phases; always kills its children before returning or throwing. */
export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const t0 = Date.now();
  const rel = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(6) + "s";
  const say = (s: string) => o.log(`chaos ${rel()} ${s}`);
  const signal = o.signal ?? new AbortController().signal;
  const rnd = new Rng(o.seed);
  const kafka = `${o.root}/scripts/kafka.sh`;
  const stamp = `${o.consumer}-${o.seed}-${Date.now().toString(36)}`;
  const topic = `chaos-${stamp}`;
  const groupId = `chaos-group-${stamp}`;
  await Deno.mkdir(o.logDir, { recursive: true });

  const members: MemberLog[] = [];
  const acks: ProducerAck[] = [];
  const samples: CommitSample[] = [];
  const faults: Fault[] = [];
  // The "block" fault: past the session timeout, well within maxPollIntervalMs.
  const blockMs = o.sessionTimeoutMs + 8000;
  const malformed: string[] = [];
  const phases: Record<string, number> = {};
  let phaseStart = Date.now();
  const phase = (name: string) => {
    phases[name] = (Date.now() - phaseStart) / 1000;
    phaseStart = Date.now();
  };
  let cleanFrom: number | null = null;
  let harnessError: string | null = null;
  let finalCommitted: Map<number, number> | null = null;
  const allPartitions = Array.from({ length: o.partitions }, (_, p) => ({ topic, partition: p }));

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const cluster = new Cluster({
    brokers: o.bootstrap.split(","),
    clientId: "sluice-chaos",
    requestTimeoutMs: 5000,
    signal: stop.signal,
  });
  const group = new GroupClient(cluster, groupId, stop.signal, 5);
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stop.signal.aborted) return resolve();
      const id = setTimeout(done, ms);
      function done() {
        clearTimeout(id);
        stop.signal.removeEventListener("abort", done);
        resolve();
      }
      stop.signal.addEventListener("abort", done, { once: true });
    });
  const checkAborted = () => {
    if (stop.signal.aborted) throw new Error("the chaos run was aborted");
  };
  const waitUntil = async (what: string, ms: number, ok: () => boolean) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      checkAborted();
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`);
      }
      await sleep(200);
    }
  };

  // --- processes -----------------------------------------------------------
  const slots: Slot[] = Array.from(
    { length: o.consumers },
    (_, index) => ({ index, proc: null, member: null, busy: false, starts: 0 }),
  );
  const consumerArgs = [
    "--group-id",
    groupId,
    "--topic",
    topic,
    "--bootstrap-server",
    o.bootstrap,
    ...(o.autoCommit ? ["--enable-autocommit"] : []),
    ...(o.groupProtocol === "consumer" ? ["--group-protocol", "consumer"] : [
      "--session-timeout",
      String(o.sessionTimeoutMs),
      "--assignment-strategy",
      assignmentStrategy(o.assignor),
    ]),
  ];
  const startConsumer = (slot: Slot) => {
    slot.starts++;
    const id = `c${slot.index}#${slot.starts}`;
    const member: MemberLog = { id, events: [], end: null, pauses: [] };
    members.push(member);
    const onLine = (line: string) => {
      let e: ConsumerEvent | null;
      try {
        e = parseConsumerLine(line);
      } catch (err) {
        malformed.push(`${id}: ${(err as Error).message}`);
        return;
      }
      if (e) member.events.push(e);
    };
    const stderrFile = `${o.logDir}/${id.replace("#", ".")}.stderr`;
    slot.proc = spawnVerifiableConsumer({
      kind: o.consumer,
      root: o.root,
      args: consumerArgs,
      // Warnings like the Java tool's WARN log on stderr; SIGUSR1 blocks the
      // member's event loop this long (the "block" fault).
      env: { SLUICE_LOG_LEVEL: "warn", SLUICE_BLOCK_MS: String(blockMs) },
      stderrFile,
      onLine,
    });
    slot.member = member;
    const proc = slot.proc;
    void proc.status.then((s) => {
      if (member.end === null) member.end = { at: proc.exitedAt, how: "exited", code: s.code };
    });
  };
  /** Stops a slot's process: clean (SIGTERM, bounded wait) or SIGKILL. */
  const stopConsumer = async (slot: Slot, how: "clean" | "killed") => {
    const proc = slot.proc, member = slot.member;
    if (!proc || !member) return;
    if (member.end === null) member.end = { at: 0, how, code: null };
    proc.signal(how === "clean" ? "SIGTERM" : "SIGKILL");
    const exited = await proc.waitExit(how === "clean" ? 30_000 : 10_000);
    if (!exited) say(`${member.id} did not exit within 30s of SIGTERM: killed`);
    member.end.at = proc.exitedAt;
    member.end.code = (await proc.status).code;
    slot.proc = null;
  };

  let producer: ChildProcess | null = null;
  const brokersDown = new Set<number>();
  const inFlight = new Set<Promise<void>>();
  const sampler = (async () => {
    while (!stop.signal.aborted) {
      try {
        const got = await group.fetchOffsets(allPartitions);
        const offsets = new Map<number, number>();
        for (const tp of allPartitions) {
          const v = got.get(partitionKey(topic, tp.partition));
          if (v !== null && v !== undefined) offsets.set(tp.partition, Number(v));
        }
        samples.push({ at: Date.now(), offsets });
      } catch {
        // a broker restart: the next round retries
      }
      await sleep(1000);
    }
  })();

  // --- views of the group from the events ------------------------------------
  const held = (m: MemberLog): Set<number> => {
    let own = new Set<number>();
    for (const e of m.events) {
      if (e.name === "partitions_assigned") {
        // Eager: the whole new assignment. Cooperative: only what was added.
        if (!incremental(o)) own = new Set();
        for (const p of e.partitions) own.add(p.partition);
      } else if (e.name === "partitions_revoked") {
        for (const p of e.partitions) own.delete(p.partition);
      } else if (e.name === "shutdown_complete") own.clear();
    }
    return own;
  };
  const stable = () => {
    const owners = new Map<number, number>();
    for (const s of slots) {
      if (!s.member || !s.proc || s.member.end) return false;
      const own = held(s.member);
      if (own.size === 0 && o.consumers <= o.partitions) return false;
      for (const p of own) owners.set(p, (owners.get(p) ?? 0) + 1);
    }
    return allPartitions.every((tp) => owners.get(tp.partition) === 1);
  };
  const flowingSince = (since: number) => {
    const seen = new Set<number>();
    for (const m of members) {
      for (const e of m.events) {
        if (e.name === "records_consumed" && e.timestamp > since) {
          for (const r of e.partitions) seen.add(r.partition);
        }
      }
    }
    return seen.size === o.partitions;
  };
  const consumedAllAcked = () => {
    const pos = new Map<number, number>();
    for (const m of members) {
      for (const e of m.events) {
        if (e.name !== "records_consumed") continue;
        for (const r of e.partitions) {
          pos.set(r.partition, Math.max(pos.get(r.partition) ?? 0, r.maxOffset + 1));
        }
      }
    }
    const need = new Map<number, number>();
    for (const a of acks) need.set(a.partition, Math.max(need.get(a.partition) ?? 0, a.offset + 1));
    return [...need].every(([p, n]) => (pos.get(p) ?? 0) >= n);
  };

  // --- faults ----------------------------------------------------------------
  const consumerFault = async (slot: Slot, kind: Fault["kind"]) => {
    const member = slot.member!;
    const at = Date.now();
    faults.push({ at, kind, target: member.id });
    if (kind === "consumer-restart") {
      say(`SIGTERM ${member.id} (clean restart)`);
      await stopConsumer(slot, "clean");
      startConsumer(slot);
    } else if (kind === "consumer-kill") {
      say(`SIGKILL ${member.id}`);
      await stopConsumer(slot, "killed");
      await sleep(rnd.range(0, 3000));
      startConsumer(slot);
    } else if (kind === "consumer-block") {
      // The member's handler blocks its event loop past the session timeout
      // (SIGUSR1, see examples/verifiable_consumer.ts); its heartbeats run in
      // a worker, so it should keep its partitions, unlike SIGSTOP.
      say(`SIGUSR1 ${member.id}: event loop blocked for ${(blockMs / 1000).toFixed(1)}s`);
      slot.proc!.signal("SIGUSR1");
      await sleep(blockMs);
    } else {
      // Long enough past the session timeout that the group usually hands the
      // partitions to others while this member is frozen (the zombie case).
      const ms = o.sessionTimeoutMs + rnd.range(5000, 12_000);
      say(`SIGSTOP ${member.id} for ${(ms / 1000).toFixed(1)}s`);
      const pause = { from: at, to: Infinity };
      member.pauses.push(pause);
      slot.proc!.signal("SIGSTOP");
      await sleep(ms);
      slot.proc?.signal("SIGCONT");
      pause.to = Date.now();
      say(`SIGCONT ${member.id}`);
    }
  };
  const brokerFault = async (node: number, kill: boolean) => {
    faults.push({
      at: Date.now(),
      kind: kill ? "broker-kill" : "broker-restart",
      target: `node${node}`,
    });
    say(`${kill ? "SIGKILL" : "stop"} broker node ${node}`);
    brokersDown.add(node);
    const args = ["stop-broker", "--name", o.clusterName, "--node", String(node)];
    const r1 = await run("bash", [kafka, ...args, ...(kill ? ["--kill"] : [])], {
      timeoutMs: 60_000,
    });
    if (r1.code !== 0) say(`stop-broker failed: ${r1.stderr.trim()}`);
    await sleep(rnd.range(2000, 6000));
    await startBroker(node);
  };
  const startBroker = async (node: number) => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const r = await run("bash", [
        kafka,
        "start-broker",
        "--name",
        o.clusterName,
        "--node",
        String(node),
      ], {
        timeoutMs: 120_000,
      });
      if (r.code === 0) {
        brokersDown.delete(node);
        say(`broker node ${node} is up`);
        return;
      }
      say(`start-broker ${node} failed (attempt ${attempt}): ${r.stderr.trim().slice(-500)}`);
    }
    throw new Error(`broker node ${node} of '${o.clusterName}' did not start again`);
  };
  const spawnAction = (p: Promise<void>) => {
    const tracked = p.catch((e) => say(`fault action failed: ${e}`)).finally(() =>
      inFlight.delete(tracked)
    );
    inFlight.add(tracked);
  };

  try {
    // --- start ---------------------------------------------------------------
    {
      await using admin = new Admin({ brokers: o.bootstrap, clientId: "sluice-chaos-admin" });
      await admin.createTopics([{
        name: topic,
        partitions: o.partitions,
        replicationFactor: Math.min(3, o.nodes),
      }]);
    }
    say(`topic ${topic} (${o.partitions} partitions), group ${groupId}, consumer: ${o.consumer}`);
    producer = spawnVerifiableProducer({
      root: o.root,
      bootstrap: o.bootstrap,
      topic,
      throughput: o.throughput,
      partitions: o.partitions,
      stderrFile: `${o.logDir}/producer.stderr`,
      onLine: (line) => {
        const a = parseProducerLine(line);
        if (a) acks.push(a);
      },
    });
    for (const s of slots) startConsumer(s);
    await waitUntil("the group to form", 180_000, stable);
    const formed = Date.now();
    await waitUntil("records to flow on every partition", 60_000, () => flowingSince(formed));
    phase("start");
    say(`group stable, records flowing; chaos for ${o.durationS}s`);

    // --- chaos ---------------------------------------------------------------
    const chaosEnd = Date.now() + o.durationS * 1000;
    while (Date.now() < chaosEnd) {
      checkAborted();
      await sleep(Math.min(rnd.range(o.gapMs[0], o.gapMs[1]), Math.max(0, chaosEnd - Date.now())));
      if (Date.now() >= chaosEnd) break;
      for (const s of slots) {
        if (!s.busy && s.proc?.exited) {
          say(`${s.member!.id} exited on its own (code ${s.member!.end?.code}): restarting`);
          startConsumer(s);
        }
      }
      // Faults hit members that joined (a JVM still starting up is no target).
      const free = slots.filter((s) =>
        !s.busy && s.proc && !s.proc.exited &&
        s.member!.events.some((e) => e.name === "partitions_assigned")
      );
      const busyConsumers = slots.filter((s) => s.busy).length;
      const choices: string[] = [];
      if (free.length > 0 && busyConsumers < Math.max(1, o.consumers - 2)) {
        if (o.faults.has("restart")) choices.push("consumer-restart");
        if (o.faults.has("kill")) choices.push("consumer-kill");
        if (o.faults.has("pause")) choices.push("consumer-pause");
        // Our member only: a JVM has no "block your thread" signal.
        if (o.faults.has("block") && o.consumer === "ours") choices.push("consumer-block");
      }
      if (o.faults.has("broker") && brokersDown.size === 0) {
        choices.push("broker-restart", "broker-kill");
      }
      if (choices.length === 0) continue;
      const kind = rnd.pick(choices) as Fault["kind"];
      if (kind.startsWith("broker")) {
        const node = rnd.range(1, o.nodes);
        brokersDown.add(node);
        spawnAction(brokerFault(node, kind === "broker-kill"));
      } else {
        const slot = rnd.pick(free);
        slot.busy = true;
        spawnAction(consumerFault(slot, kind).finally(() => slot.busy = false));
      }
    }
    phase("chaos");

    // --- heal ----------------------------------------------------------------
    say(`chaos over: healing (${inFlight.size} fault(s) in progress)`);
    await Promise.all([...inFlight]);
    for (let node = 1; node <= o.nodes; node++) {
      if (brokersDown.has(node)) await startBroker(node);
    }
    for (const s of slots) {
      if (!s.proc || s.proc.exited) {
        if (s.member) {
          say(`${s.member.id} exited on its own (code ${s.member.end?.code}): restarting`);
        }
        startConsumer(s);
      }
    }
    await waitUntil("the group to be stable after the chaos", 180_000, stable);
    const healed = Date.now();
    await waitUntil(
      "records to flow on every partition after the chaos",
      60_000,
      () => flowingSince(healed),
    );
    phase("heal");

    // --- clean ---------------------------------------------------------------
    cleanFrom = Date.now();
    say("clean phase: one SIGTERM restart per consumer, no duplicates allowed");
    for (const s of slots) {
      faults.push({ at: Date.now(), kind: "consumer-restart", target: s.member!.id });
      await stopConsumer(s, "clean");
      startConsumer(s);
      // Generous: a JVM on a busy 2-core machine may take a minute to start.
      await waitUntil("the group to be stable after a clean restart", 150_000, stable);
    }
    phase("clean");

    // --- drain ---------------------------------------------------------------
    producer.signal("SIGTERM");
    await producer.waitExit(30_000);
    say(`producer stopped: ${acks.length} records acknowledged; draining`);
    await waitUntil("every acknowledged record to be consumed", 90_000, consumedAllAcked);
    phase("drain");

    // --- stop ----------------------------------------------------------------
    await Promise.all(slots.map((s) => stopConsumer(s, "clean")));
    for (let attempt = 0; attempt < 10 && !finalCommitted; attempt++) {
      try {
        const got = await group.fetchOffsets(allPartitions);
        finalCommitted = new Map();
        for (const tp of allPartitions) {
          const v = got.get(partitionKey(topic, tp.partition));
          if (v !== null && v !== undefined) finalCommitted.set(tp.partition, Number(v));
        }
      } catch (e) {
        say(`reading the final committed offsets failed: ${e}`);
        await sleep(1000);
      }
    }
    phase("stop");
  } catch (e) {
    if (signal.aborted) throw e;
    harnessError = e instanceof Error ? e.message : String(e);
    say(`the harness gave up: ${harnessError}`);
  } finally {
    stop.abort();
    signal.removeEventListener("abort", onAbort);
    for (const s of slots) {
      if (s.member && s.member.end === null) {
        s.member.end = { at: Date.now(), how: "killed", code: null };
      }
    }
    await killAll();
    await sampler.catch(() => {});
    await Promise.allSettled([...inFlight]);
    // A broker left down by an aborted run is started again: the cluster may be shared (CI).
    for (const node of [...brokersDown]) {
      await run("bash", [kafka, "start-broker", "--name", o.clusterName, "--node", String(node)], {
        timeoutMs: 120_000,
      }).catch(() => {});
    }
    await cluster.close();
    await Deno.writeTextFile(
      `${o.logDir}/events.json`,
      JSON.stringify({
        topic,
        groupId,
        members,
        faults,
        samples: samples.map((x) => ({ at: x.at, offsets: Object.fromEntries(x.offsets) })),
        acks: acks.map((a) => [a.timestamp, a.partition, a.offset]),
        malformed,
      }),
    ).catch(() => {});
  }

  const log: RunLog = {
    topic,
    partitions: o.partitions,
    members,
    acks,
    samples,
    faults,
    cleanFrom,
    finalCommitted,
    cooperative: incremental(o),
  };
  const report = checkRun(log);
  for (const m of malformed) {
    report.violations.push({ kind: "malformed", at: Date.now(), message: m });
  }
  return { report, log, phases, error: harnessError };
}
