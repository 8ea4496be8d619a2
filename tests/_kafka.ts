/**
 * Helpers for integration tests against a real Kafka cluster started by
 * `scripts/test.sh` (through `scripts/kafka.sh`).
 *
 * The broker address comes from `KAFKA_BROKERS`; when it is missing the
 * helpers throw, so integration tests fail instead of silently skipping. Kafka's
 * own command-line tools run through `scripts/kafka.sh tool` (each run starts a
 * JVM: about a second or two, so use them sparingly).
 *
 * @example
 * ```ts
 * import { createTopic, produceConsole, uniqueName } from "./_kafka.ts";
 *
 * const topic = uniqueName("orders");
 * await createTopic(topic, { partitions: 3 });
 * await produceConsole(topic, ["k1\tv1", "k2\tv2"], { parseKey: true });
 * ```
 *
 * @module
 */

/** What a Kafka tool run produced. */
export interface ToolResult {
  /** Exit code of the JVM. */
  code: number;
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8 (the tools log warnings here). */
  stderr: string;
}

/** Options of {@linkcode kafkaTool}. */
export interface ToolOptions {
  /** Text or bytes written to the tool's standard input, which is then closed. */
  stdin?: string | Uint8Array;
  /**
   * Throw a {@linkcode KafkaToolError} when the tool exits with a non-zero code.
   * @default {true}
   */
  check?: boolean;
  /** Aborts the run (the JVM is killed). */
  signal?: AbortSignal;
}

/** A Kafka tool failed; carries its exit code and output. */
export class KafkaToolError extends Error {
  /** Exit code of the tool (or -1 when the failure was read from its output). */
  readonly code: number;
  /** Standard output of the tool. */
  readonly stdout: string;
  /** Standard error of the tool. */
  readonly stderr: string;

  /** Builds the error from a message and the tool's result. */
  constructor(message: string, result: ToolResult) {
    super(message);
    this.name = "KafkaToolError";
    this.code = result.code;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

/** Compression codecs of Kafka's producers. */
export type Compression = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/** Selects the cluster a helper talks to. */
export interface ClusterOption {
  /**
   * Bootstrap servers (`host:port,...`).
   * @default {brokers()}
   */
  bootstrap?: string;
}

function env(name: string): string | undefined {
  const value = Deno.env.get(name);
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The bootstrap string of the test broker (`KAFKA_BROKERS`).
 * Throws when it is not set: run the tests with `deno task test`.
 */
export function brokers(): string {
  const value = env("KAFKA_BROKERS");
  if (value === undefined) {
    throw new Error(
      "KAFKA_BROKERS is not set: run integration tests with `deno task test` " +
        "(it starts Kafka), or export KAFKA_BROKERS=host:port of a running broker",
    );
  }
  return value;
}

/**
 * The bootstrap string of the 3-node test cluster (`KAFKA_CLUSTER_BROKERS`).
 * Throws when it is not set: run the tests with `deno task test`, which starts the 3-node cluster (unless SLUICE_TEST_CLUSTER=0).
 */
export function clusterBrokers(): string {
  const value = env("KAFKA_CLUSTER_BROKERS");
  if (value === undefined) {
    throw new Error(
      "KAFKA_CLUSTER_BROKERS is not set: run with `deno task test` (it starts the 3-node cluster unless SLUICE_TEST_CLUSTER=0) " +
        "(it starts a 3-node cluster too)",
    );
  }
  return value;
}

/** Absolute path of `scripts/kafka.sh` (`SLUICE_KAFKA`, else next to this file). */
export function kafkaScript(): string {
  return env("SLUICE_KAFKA") ??
    decodeURIComponent(new URL("../scripts/kafka.sh", import.meta.url).pathname);
}

function lastLines(text: string, count: number): string {
  const lines = text.trimEnd().split("\n");
  return lines.slice(-count).join("\n");
}

function failure(what: string, result: ToolResult): KafkaToolError {
  const output = [result.stderr, result.stdout].filter((s) => s.trim() !== "").join("\n");
  return new KafkaToolError(
    `${what} failed (exit code ${result.code}):\n${lastLines(output, 40) || "(no output)"}`,
    result,
  );
}

/**
 * Runs one of Kafka's tools (`scripts/kafka.sh tool NAME ARGS...`), e.g.
 * `topics`, `console-producer`, `consumer-groups`, `get-offsets`
 * (`scripts/kafka.sh tool --list` shows them all).
 * Throws a {@linkcode KafkaToolError} with the tool's output when it exits
 * with a non-zero code, unless `check` is false.
 */
export async function kafkaTool(
  name: string,
  args: readonly string[],
  options: ToolOptions = {},
): Promise<ToolResult> {
  const command = new Deno.Command("bash", {
    args: [kafkaScript(), "tool", name, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  });
  const child = command.spawn();
  const output = child.output();
  if (options.stdin !== undefined) {
    const bytes = typeof options.stdin === "string"
      ? new TextEncoder().encode(options.stdin)
      : options.stdin;
    const writer = child.stdin.getWriter();
    try {
      await writer.write(bytes);
      await writer.close();
    } catch (error) {
      // The tool exited before reading everything: its output says why.
      await output;
      throw error;
    }
  }
  const { code, stdout, stderr } = await output;
  const decoder = new TextDecoder();
  const result = { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  if (code !== 0 && options.check !== false) {
    throw failure(`kafka tool ${name} ${args.join(" ")}`, result);
  }
  return result;
}

/** Options of {@linkcode createTopic}. */
export interface CreateTopicOptions extends ClusterOption {
  /** Number of partitions. @default {1} */
  partitions?: number;
  /** Replicas per partition. @default {1} */
  replicationFactor?: number;
  /** Topic configs, e.g. `{ "cleanup.policy": "compact" }`. */
  configs?: Record<string, string | number>;
}

/** Creates a topic (`topics --create`); throws if it exists already. */
export async function createTopic(name: string, options: CreateTopicOptions = {}): Promise<void> {
  const args = [
    "--bootstrap-server",
    options.bootstrap ?? brokers(),
    "--create",
    "--topic",
    name,
    "--partitions",
    String(options.partitions ?? 1),
    "--replication-factor",
    String(options.replicationFactor ?? 1),
  ];
  for (const [key, value] of Object.entries(options.configs ?? {})) {
    args.push("--config", `${key}=${value}`);
  }
  await kafkaTool("topics", args);
}

/** Deletes a topic (`topics --delete`). */
export async function deleteTopic(name: string, options: ClusterOption = {}): Promise<void> {
  await kafkaTool("topics", [
    "--bootstrap-server",
    options.bootstrap ?? brokers(),
    "--delete",
    "--topic",
    name,
  ]);
}

/** Options of {@linkcode produceConsole}. */
export interface ProduceConsoleOptions extends ClusterOption {
  /** Lines are `key<keySeparator>value`. @default {false} */
  parseKey?: boolean;
  /** Separates key and value. @default {"\t"} */
  keySeparator?: string;
  /**
   * Lines start with headers: `h1:v1,h2:v2<headersDelimiter>...`.
   * @default {false}
   */
  parseHeaders?: boolean;
  /** Ends the headers part of a line. @default {"\t"} */
  headersDelimiter?: string;
  /** Separates headers. @default {","} */
  headersSeparator?: string;
  /** Separates a header's key and value. @default {":"} */
  headersKeySeparator?: string;
  /** A key, value or header value equal to this is sent as null. */
  nullMarker?: string;
  /** Compression of the produced batches. @default {"none"} */
  compression?: Compression;
  /** Send each record on its own, waiting for its ack (one record per batch). */
  sync?: boolean;
  /** Producer configs, e.g. `{ "linger.ms": 0, "batch.size": 1024 }`. */
  props?: Record<string, string | number>;
}

/**
 * Stands for "no headers" in lines given to the console producer (Kafka's
 * null marker). Keys or values equal to it would become null too.
 */
const NO_HEADERS_MARKER = "__sluice_no_headers__";

/**
 * Produces one record per line with Kafka's console producer, which can
 * write keys and headers (the perf producer cannot). Waits until all are
 * acknowledged (acks=all); throws if any send failed.
 *
 * With `parseHeaders`, a line whose headers part is empty (it starts with the
 * headers delimiter) makes a record without headers: Kafka's reader rejects
 * that, so the helper puts its null marker there (`nullMarker`, else an
 * internal one).
 */
export async function produceConsole(
  topic: string,
  lines: readonly string[],
  options: ProduceConsoleOptions = {},
): Promise<void> {
  for (const line of lines) {
    if (line.includes("\n") || line.includes("\r")) {
      throw new Error(`produceConsole(): a line contains a line break: ${JSON.stringify(line)}`);
    }
  }
  const compression = options.compression ?? "none";
  const args = [
    "--bootstrap-server",
    options.bootstrap ?? brokers(),
    "--topic",
    topic,
    // The console producer's own option decides compression.type; a
    // --producer-property alone is overridden by its default ("none").
    "--compression-codec",
    compression,
    "--producer-property",
    `compression.type=${compression}`,
    "--max-block-ms",
    "30000",
  ];
  const reader: Record<string, string | undefined> = {
    "parse.key": options.parseKey ? "true" : undefined,
    "key.separator": options.keySeparator,
    "parse.headers": options.parseHeaders ? "true" : undefined,
    "headers.delimiter": options.headersDelimiter,
    "headers.separator": options.headersSeparator,
    "headers.key.separator": options.headersKeySeparator,
    "null.marker": options.nullMarker,
  };
  for (const [key, value] of Object.entries(reader)) {
    if (value !== undefined) args.push(propertyFlag("reader"), `${key}=${value}`);
  }
  for (const [key, value] of Object.entries(options.props ?? {})) {
    args.push("--producer-property", `${key}=${value}`);
  }
  if (options.sync) args.push("--sync");
  let input = lines;
  if (options.parseHeaders) {
    // Kafka's line reader rejects an empty headers part ("No header key
    // separator found"); the null marker there means "no headers".
    const delimiter = options.headersDelimiter ?? "\t";
    const noHeaders = options.nullMarker ?? NO_HEADERS_MARKER;
    if (lines.some((line) => line.startsWith(delimiter))) {
      input = lines.map((line) => line.startsWith(delimiter) ? noHeaders + line : line);
      if (options.nullMarker === undefined) {
        args.push(propertyFlag("reader"), `null.marker=${noHeaders}`);
      }
    }
  }
  const stdin = input.length === 0 ? "" : input.join("\n") + "\n";
  const result = await kafkaTool("console-producer", args, { stdin });
  // The console producer logs failed sends and still exits with 0.
  if (result.stderr.includes("Error when sending message")) {
    throw failure(`console-producer to ${topic}`, { ...result, code: -1 });
  }
}

/** Options of {@linkcode producePerf}. */
export interface ProducePerfOptions extends ClusterOption {
  /** Number of records to send. */
  numRecords: number;
  /** Value size in bytes (the perf producer sends no keys and no headers). */
  recordSize: number;
  /** Compression of the produced batches. @default {"none"} */
  compression?: Compression;
  /** Records per second; -1 for as fast as possible. @default {-1} */
  throughput?: number;
  /** Producer configs, e.g. `{ "linger.ms": 5, "batch.size": 65536 }`. */
  props?: Record<string, string | number>;
}

/** The final report of Kafka's producer performance tool. */
export interface ProducePerfResult {
  /** Records sent (and acknowledged). */
  records: number;
  /** Records per second. */
  recordsPerSec: number;
  /** Megabytes per second. */
  mbPerSec: number;
  /** Average send latency in milliseconds. */
  avgLatencyMs: number;
  /** Maximum send latency in milliseconds. */
  maxLatencyMs: number;
}

/**
 * Produces `numRecords` records of `recordSize` bytes with Kafka's producer
 * performance tool (`ProducerPerformance --throughput -1`, acks=all).
 */
export async function producePerf(
  topic: string,
  options: ProducePerfOptions,
): Promise<ProducePerfResult> {
  const props: Record<string, string | number> = {
    "bootstrap.servers": options.bootstrap ?? brokers(),
    acks: "all",
    "compression.type": options.compression ?? "none",
    ...options.props,
  };
  const args = [
    "--topic",
    topic,
    "--num-records",
    String(options.numRecords),
    "--record-size",
    String(options.recordSize),
    "--throughput",
    String(options.throughput ?? -1),
    "--producer-props",
    ...Object.entries(props).map(([key, value]) => `${key}=${value}`),
  ];
  const result = await kafkaTool("producer-perf-test", args);
  const pattern =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency/g;
  const last = [...result.stdout.matchAll(pattern)].at(-1);
  if (last === undefined) {
    throw failure(`producer-perf-test to ${topic} (no final report)`, { ...result, code: -1 });
  }
  return {
    records: Number(last[1]),
    recordsPerSec: Number(last[2]),
    mbPerSec: Number(last[3]),
    avgLatencyMs: Number(last[4]),
    maxLatencyMs: Number(last[5]),
  };
}

/** Options of {@linkcode consumeConsole}. */
export interface ConsumeConsoleOptions extends ClusterOption {
  /** Stop after this many records. */
  maxMessages: number;
  /** Fail when no record came for this long. @default {15000} */
  timeoutMs?: number;
  /** Consumer group; commits its offsets. @default {a fresh console-consumer group} */
  group?: string;
  /** Start from the earliest offset when the group has none. @default {true} */
  fromBeginning?: boolean;
  /** Print `key<TAB>` before each value. @default {false} */
  printKey?: boolean;
  /** Print headers (`h1:v1,h2:v2<TAB>`, or `NO_HEADERS`) first. @default {false} */
  printHeaders?: boolean;
  /** Consumer isolation level. @default {"read_uncommitted"} */
  isolationLevel?: "read_uncommitted" | "read_committed";
}

/**
 * The console tools' flag for their reader's or formatter's properties:
 * Kafka 4.2 renamed `--property` (KIP-1147), and the old name prints a
 * deprecation warning — the console consumer to stdout, among the records.
 */
function propertyFlag(kind: "reader" | "formatter"): string {
  const [major, minor] = (Deno.env.get("SLUICE_KAFKA_VERSION") ?? "0.0").split(".").map(Number);
  return major > 4 || (major === 4 && minor >= 2) ? `--${kind}-property` : "--property";
}

/**
 * Reads records with Kafka's console consumer and returns one line per
 * record. Throws when fewer than `maxMessages` arrived within `timeoutMs`.
 */
export async function consumeConsole(
  topic: string,
  options: ConsumeConsoleOptions,
): Promise<string[]> {
  const args = [
    "--bootstrap-server",
    options.bootstrap ?? brokers(),
    "--topic",
    topic,
    "--max-messages",
    String(options.maxMessages),
    "--timeout-ms",
    String(options.timeoutMs ?? 15000),
    "--isolation-level",
    options.isolationLevel ?? "read_uncommitted",
  ];
  if (options.fromBeginning ?? true) args.push("--from-beginning");
  if (options.group !== undefined) args.push("--group", options.group);
  if (options.printKey) args.push(propertyFlag("formatter"), "print.key=true");
  if (options.printHeaders) args.push(propertyFlag("formatter"), "print.headers=true");
  const result = await kafkaTool("console-consumer", args);
  const lines = result.stdout === "" ? [] : result.stdout.replace(/\n$/, "").split("\n");
  if (lines.length < options.maxMessages) {
    throw failure(
      `console-consumer of ${topic} got ${lines.length} of ${options.maxMessages} records`,
      { ...result, code: -1 },
    );
  }
  return lines;
}

/** One partition's row of `consumer-groups --describe --offsets`. */
export interface GroupOffset {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
  /** The group's committed offset; null when it has none. */
  currentOffset: bigint | null;
  /** The partition's log end offset (high watermark). */
  logEndOffset: bigint;
  /** logEndOffset - currentOffset; null when there is no committed offset. */
  lag: bigint | null;
  /** Member owning the partition now; null when none (or not shown, as with `--offsets`). */
  consumerId: string | null;
}

function offsetCell(cell: string | undefined): bigint | null {
  return cell === undefined || cell === "-" || cell === "" ? null : BigInt(cell);
}

/** What `consumer-groups --describe --group G [--offsets]` printed, parsed. */
export interface GroupDescribeOutput {
  /** False when the tool said the group does not exist. */
  exists: boolean;
  /** One row per partition, sorted by topic and partition. */
  rows: GroupOffset[];
  /** True when the tool said the group has no active members. */
  noActiveMembers: boolean;
  /** The tool's stdout and stderr, for failure messages. */
  output: string;
}

/**
 * Runs `consumer-groups --describe --group G` (plus `extra` arguments) and
 * parses its table by column name; the one parser of that output for every
 * test. Throws on an `Error:` line or an unexpected row.
 */
export async function describeGroup(
  groupId: string,
  options: ClusterOption & { extra?: readonly string[] } = {},
): Promise<GroupDescribeOutput> {
  const result = await kafkaTool("consumer-groups", [
    "--bootstrap-server",
    options.bootstrap ?? brokers(),
    "--describe",
    "--group",
    groupId,
    ...(options.extra ?? []),
  ], { check: false });
  const output = `${result.stdout}\n${result.stderr}`;
  // Kafka 4.x: GroupIdNotFoundException; 3.x: "Consumer group 'g' does not exist."
  if (/GroupIdNotFoundException|Consumer group '.*' does not exist/.test(output)) {
    return { exists: false, rows: [], noActiveMembers: true, output };
  }
  if (result.code !== 0 || /^Error:/m.test(result.stdout)) {
    throw failure(`consumer-groups --describe ${groupId}`, result);
  }
  const rows: GroupOffset[] = [];
  let columns: string[] | undefined;
  for (const line of result.stdout.split("\n")) {
    const cells = line.trim().split(/\s+/);
    if (cells[0] === "GROUP" && cells.includes("PARTITION")) {
      columns = cells;
      continue;
    }
    if (columns === undefined || cells.length < columns.length - 3 || cells[0] !== groupId) {
      continue;
    }
    const cell = (name: string): string | undefined => {
      const index = columns?.indexOf(name) ?? -1;
      return index < 0 ? undefined : cells[index];
    };
    const logEnd = offsetCell(cell("LOG-END-OFFSET"));
    const partition = Number(cell("PARTITION"));
    if (logEnd === null || !Number.isInteger(partition)) {
      throw failure(`consumer-groups --describe ${groupId}: unexpected row ${line}`, result);
    }
    const consumerId = cell("CONSUMER-ID");
    rows.push({
      topic: cell("TOPIC") ?? "",
      partition,
      currentOffset: offsetCell(cell("CURRENT-OFFSET")),
      logEndOffset: logEnd,
      lag: offsetCell(cell("LAG")),
      consumerId: consumerId === undefined || consumerId === "-" ? null : consumerId,
    });
  }
  rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return { exists: true, rows, noActiveMembers: /has no active members/.test(output), output };
}

/**
 * The committed offsets of a consumer group per partition, sorted by topic and
 * partition (`consumer-groups --describe --group G --offsets`). An unknown
 * group gives an empty array.
 */
export async function consumerGroupOffsets(
  groupId: string,
  options: ClusterOption = {},
): Promise<GroupOffset[]> {
  return (await describeGroup(groupId, { ...options, extra: ["--offsets"] })).rows;
}

/** Options of {@linkcode topicOffsets}. */
export interface TopicOffsetsOptions extends ClusterOption {
  /**
   * Which offset: the log end ("latest"), the log start ("earliest"), or the
   * first offset with a timestamp at or after a time in ms since the epoch.
   * @default {"latest"}
   */
  time?: "latest" | "earliest" | number;
}

/** One partition's offset from {@linkcode topicOffsets}. */
export interface PartitionOffset {
  /** Partition number. */
  partition: number;
  /** The offset asked for. */
  offset: bigint;
}

/**
 * Per-partition offsets of a topic, sorted by partition (`get-offsets`, i.e.
 * GetOffsetShell). With the default "latest" these are the log end offsets.
 */
export async function topicOffsets(
  topic: string,
  options: TopicOffsetsOptions = {},
): Promise<PartitionOffset[]> {
  const time = options.time ?? "latest";
  const timeArg = time === "latest" ? "-1" : time === "earliest" ? "-2" : String(time);
  const result = await kafkaTool("get-offsets", [
    "--bootstrap-server",
    options.bootstrap ?? brokers(),
    "--topic",
    topic,
    "--time",
    timeArg,
  ]);
  const offsets: PartitionOffset[] = [];
  for (const line of result.stdout.split("\n")) {
    // topic:partition:offset (topic names cannot contain ':')
    const match = /^(.+):(\d+):(\d*)$/.exec(line.trim());
    if (match === null || match[1] !== topic || match[3] === "") continue;
    offsets.push({ partition: Number(match[2]), offset: BigInt(match[3]) });
  }
  return offsets.sort((a, b) => a.partition - b.partition);
}

/**
 * A name for a topic or group that no other test (or earlier run against the
 * same broker) uses: `prefix-<time>-<random>`.
 */
export function uniqueName(prefix: string): string {
  const random = Array.from(crypto.getRandomValues(new Uint8Array(4)))
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
  return `${prefix}-${Date.now().toString(36)}-${random}`;
}
