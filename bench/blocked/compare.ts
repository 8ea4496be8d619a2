/**
 * The blocked-handler scenarios of issue 13, side by side: Kafka's Java
 * consumer (bench/blocked/BlockingMember.java) and sluice
 * (tests/fixtures/group_member.ts) each run as the member whose handler
 * blocks its thread — Java's polling thread sleeps, sluice's event loop
 * busy-waits — while an observer member (sluice, in this process, not
 * blocked) shares the group. Prints one timeline per scenario and client,
 * times relative to the start of the block:
 *
 *   1. block 15 s = 2.5x session.timeout.ms (6 s), max.poll.interval.ms 60 s:
 *      the member should keep its partition and commit;
 *   2. block 16 s, max.poll.interval.ms 8 s: the member should leave at the
 *      poll bound, the observer take over, the commit be refused.
 *
 *   deno run -A bench/blocked/compare.ts            # starts a local Kafka (newest release)
 *   KAFKA_BROKERS=127.0.0.1:9092 deno run -A bench/blocked/compare.ts
 *
 * @module
 */

import { Admin, Consumer, type TopicPartition } from "../../mod.ts";
import { produce } from "../../src/net/admin.ts";
import { Cluster } from "../../src/net/cluster.ts";
import { broker } from "../lib/kafka.ts";

const SESSION_MS = 6000;
const scenarios = [
  { name: "blocked 2.5x session, within the poll bound", maxPollMs: 60_000, blockMs: 15_000 },
  { name: "blocked past max.poll.interval.ms", maxPollMs: 8000, blockMs: 16_000 },
];

interface Entry {
  at: number;
  who: string;
  what: string;
}

function libs(): string {
  const r = new Deno.Command("bash", {
    args: [new URL("../../scripts/kafka.sh", import.meta.url).pathname, "libs"],
    stdout: "piped",
    stderr: "inherit",
  }).outputSync();
  return new TextDecoder().decode(r.stdout).trim();
}

function spawnMember(
  client: "java" | "sluice",
  bootstrap: string,
  topic: string,
  group: string,
  s: typeof scenarios[0],
) {
  const follow = 8000;
  const cmd = client === "java"
    ? new Deno.Command("java", {
      args: [
        "-cp",
        `${libs()}/*`,
        new URL("./BlockingMember.java", import.meta.url).pathname,
        bootstrap,
        topic,
        group,
        String(SESSION_MS),
        String(s.maxPollMs),
        String(s.blockMs),
        String(follow),
      ],
      stdout: "piped",
      stderr: "null",
    })
    : new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-check",
        new URL("../../tests/fixtures/group_member.ts", import.meta.url).pathname,
        JSON.stringify({
          options: {
            brokers: [bootstrap],
            groupId: group,
            topics: [topic],
            autoOffsetReset: "earliest",
            sessionTimeoutMs: SESSION_MS,
            heartbeatIntervalMs: 500,
            maxPollIntervalMs: s.maxPollMs,
            autoCommitIntervalMs: 500,
          },
          blockMs: s.blockMs,
        }),
      ],
      cwd: new URL("../../", import.meta.url).pathname,
      stdout: "piped",
      stderr: "null",
    });
  const child = cmd.spawn();
  const events: Record<string, unknown>[] = [];
  const done = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (line.startsWith("{")) events.push(JSON.parse(line));
      }
    }
  })();
  return { child, events, done };
}

async function run(client: "java" | "sluice", bootstrap: string, s: typeof scenarios[0]) {
  const topic = `blocked-${client}-${crypto.randomUUID().slice(0, 6)}`;
  const group = `g-${topic}`;
  const cluster = new Cluster({ brokers: [bootstrap] });
  {
    await using admin = new Admin({ brokers: bootstrap });
    await admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
  }
  const log: Entry[] = [];
  const hook = (what: string) => (ps: TopicPartition[]) =>
    void log.push({
      at: Date.now(),
      who: "observer",
      what: `${what} [${ps.map((p) => p.partition).join(",")}]`,
    });
  // The observer reads nothing (its partitions get no new data after the
  // first read) but stays in the group, unblocked.
  const observer = new Consumer({
    brokers: [bootstrap],
    groupId: group,
    topics: [topic],
    autoOffsetReset: "latest",
    sessionTimeoutMs: SESSION_MS,
    heartbeatIntervalMs: 500,
    onAssigned: hook("assigned"),
    onRevoked: hook("revoked"),
    onLost: hook("lost"),
    logger: { info() {}, debug() {}, warn() {} },
  });
  const reading = (async () => {
    for await (const b of observer) b.ack();
  })();
  while (!log.some((e) => e.what.startsWith("assigned"))) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const member = spawnMember(client, bootstrap, topic, group, s);
  // Records once both own a partition: the member's first batch blocks it.
  while (!member.events.some((e) => e.event === "assigned")) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  const enc = new TextEncoder();
  for (const p of [0, 1]) {
    const records = Array.from({ length: 20 }, (_, i) => ({ value: enc.encode(`v${i}`) }));
    await produce(cluster, topic, p, records);
  }
  await cluster.close();
  const deadline = Date.now() + s.blockMs + 30_000;
  while (
    !member.events.some((e) => e.event === "closed" || e.event === "acked") && Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 8000));
  member.child.kill("SIGKILL");
  await member.done.catch(() => {});
  await observer.close();
  await reading.catch(() => {});
  for (const e of member.events) {
    const { event, at, ...rest } = e as { event: string; at: number } & Record<string, unknown>;
    if (event === "batch") continue;
    const detail = "partitions" in rest
      ? ` [${
        (rest.partitions as (string | TopicPartition)[]).map((p) =>
          typeof p === "string" ? p.split("-").at(-1) : p.partition
        ).join(",")
      }]`
      : "ok" in rest
      ? ` ok=${rest.ok}${rest.error ? ` (${rest.error})` : ""}`
      : "";
    log.push({ at, who: client, what: `${event}${detail}` });
  }
  const start = (member.events.find((e) => e.event === "blocking")?.at as number) ?? log[0].at;
  log.sort((a, b) => a.at - b.at);
  console.log(
    `\n${client}, ${s.name} (session ${SESSION_MS} ms, max poll ${s.maxPollMs} ms, block ${s.blockMs} ms):`,
  );
  for (const e of log) {
    console.log(
      `  ${((e.at - start) / 1000).toFixed(1).padStart(6)} s  ${e.who.padEnd(8)} ${e.what}`,
    );
  }
}

const b = broker("blocked");
try {
  const bootstrap = await b.start();
  for (const s of scenarios) {
    for (const client of ["java", "sluice"] as const) await run(client, bootstrap, s);
  }
} finally {
  await b.stop();
}
