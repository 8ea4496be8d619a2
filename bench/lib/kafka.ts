/**
 * Kafka for the benchmarks: the broker (ours or `KAFKA_BROKERS`), Kafka's own
 * tools (`scripts/kafka.sh tool`), topics, data written by
 * `producer-perf-test`, and the check that a client read exactly the records
 * the topic holds.
 *
 * @module
 */

import { kafkaScript } from "../../tests/_kafka.ts";
import { log, run, type RunResult } from "./proc.ts";

/** Runs one of Kafka's tools (`scripts/kafka.sh tool NAME ...`); throws on a non-zero exit. */
export async function tool(
  name: string,
  args: string[],
  opts: { track?: boolean } = {},
): Promise<RunResult> {
  const r = await run("bash", [kafkaScript(), "tool", name, ...args], opts);
  if (r.code !== 0) {
    const output = `${r.stderr}\n${r.stdout}`.trim().split("\n").slice(-30).join("\n");
    throw new Error(`kafka tool ${name} failed (exit ${r.code}):\n${output}`);
  }
  return r;
}

/** Log end ("latest") or start ("earliest") offsets of a topic's partitions, by partition. */
export async function topicOffsets(
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

/** Creates a topic with replication factor 1. */
export async function createTopic(
  bootstrap: string,
  topic: string,
  partitions: number,
): Promise<void> {
  await tool("topics", [
    "--bootstrap-server",
    bootstrap,
    "--create",
    "--topic",
    topic,
    "--partitions",
    String(partitions),
    "--replication-factor",
    "1",
  ]);
}

/** Deletes a topic; logs (does not throw) when that fails. */
export async function deleteTopic(bootstrap: string, topic: string): Promise<void> {
  await tool("topics", ["--bootstrap-server", bootstrap, "--delete", "--topic", topic], {
    track: false,
  }).catch((e) => log(`could not delete topic ${topic}: ${e}`));
}

/** The producer's own report of how fast it wrote. */
export interface ProduceRate {
  /** records/s. */
  recordsPerSec: number;
  /** MB/s as the tool counts it. */
  mbPerSec: number;
}

/**
 * Writes the records with Kafka's producer-perf-test (no keys, values of
 * `recordSize` random bytes from the tool, acks=1, batch.size=1 MiB,
 * linger.ms=50, `compression.type` as given); returns its final rates.
 * `roundRobin` spreads them evenly over the partitions (Kafka's
 * RoundRobinPartitioner) instead of the sticky default's uneven runs.
 */
export async function produce(
  bootstrap: string,
  topic: string,
  records: number,
  recordSize: number,
  compression = "none",
  opts: { roundRobin?: boolean } = {},
): Promise<ProduceRate> {
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
    `compression.type=${compression}`,
    ...(opts.roundRobin
      ? ["partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner"]
      : []),
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

/** What a topic holds: the reference for every client's count and offset sum. */
export interface Expected {
  /** Records per partition (log end offsets; log start is 0). */
  perPartition: number[];
  /** All records. */
  total: number;
}

/**
 * Reads a freshly written topic's offsets: every partition must start at 0
 * and the total must be `records`, so partition p holds offsets 0..n_p − 1.
 */
export async function expectedOf(
  bootstrap: string,
  topic: string,
  partitions: number,
  records: number,
): Promise<Expected> {
  const ends = await topicOffsets(bootstrap, topic, "latest");
  const starts = await topicOffsets(bootstrap, topic, "earliest");
  const complete = (xs: bigint[]) =>
    xs.length === partitions && Array.from(xs, (x) => x !== undefined).every(Boolean);
  if (!complete(ends) || !complete(starts) || starts.some((x) => x !== 0n)) {
    throw new Error(`unexpected offsets: log start ${starts.join(",")}, end ${ends.join(",")}`);
  }
  const expected = {
    perPartition: ends.map(Number),
    total: ends.reduce((a, e) => a + Number(e), 0),
  };
  if (expected.total !== records) {
    throw new Error(`the topic holds ${expected.total} records, want ${records}`);
  }
  return expected;
}

/** What a client says it read: the count and, per partition, [records, sum of offsets]. */
export interface ReadCount {
  /** Records read. */
  records: number;
  /** By partition number: [records, sum of their offsets]. */
  partitions: Record<string, [number, number]>;
}

/**
 * Exactly the expected records: the count and, per partition, the count and
 * the sum of offsets 0 + 1 + … + (n − 1). Throws naming every difference.
 */
export function verify(what: string, r: ReadCount, expected: Expected): void {
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

/** The broker a benchmark runs against. */
export interface Broker {
  /** Starts a local broker (or takes `KAFKA_BROKERS`); resolves with the bootstrap string. */
  start(): Promise<string>;
  /** Stops the broker if this script started it (or was starting it); idempotent. */
  stop(): Promise<void>;
  /** False with `KAFKA_BROKERS`. */
  ownedByUs: boolean;
}

/**
 * The broker: `KAFKA_BROKERS`, else a single node started with
 * `kafka.sh start --name <name> --owner <our pid>`. The owner makes `stop`
 * safe at any time, even mid-start: kafka.sh stops only a cluster we own
 * (and `start` fails when another live process owns that name).
 */
export function broker(name = "bench"): Broker {
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
      const r = await run("bash", [kafkaScript(), "stop", "--name", name, "--owner", owner], {
        track: false,
      });
      log(r.stderr.trim().split("\n").at(-1) ?? "stopped");
    })();
    return stopped;
  };
  const start = async () => {
    log(`starting a local Kafka (scripts/kafka.sh start --name ${name})`);
    const r = await run("bash", [kafkaScript(), "start", "--name", name, "--owner", owner]);
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

/**
 * The fair fetch settings every client gets, as Java consumer properties:
 * at most 50 MiB per fetch, 1 MiB per partition, min 1 byte, max wait 500 ms.
 */
export const FETCH_PROPERTIES = "fetch.max.bytes=52428800\nmax.partition.fetch.bytes=1048576\n" +
  "fetch.min.bytes=1\nfetch.max.wait.ms=500\n";
