/**
 * sluice speaking the protocol of Kafka's `VerifiableConsumer` tool, so the
 * harnesses built for Kafka's Java consumer (Kafka's system tests, our
 * `deno task chaos`) drive this consumer unchanged.
 *
 * Same flags: `--topic`, `--group-id`, `--bootstrap-server` (or the older
 * `--broker-list`), `--session-timeout` (ms, default 30000),
 * `--enable-autocommit`, `--max-messages` (default -1: until killed),
 * `--reset-policy` (earliest | latest | none; default earliest),
 * `--assignment-strategy` (Java's class names of the range, round-robin and
 * cooperative-sticky assignors, or `range` / `roundrobin` / `cooperative-sticky`), `--group-instance-id`, `--verbose`,
 * `--group-protocol` (classic or consumer, the KIP-848 protocol; with
 * consumer, `--group-remote-assignor` uniform | range, and neither
 * `--session-timeout` nor `--assignment-strategy`, which the broker owns,
 * as Java's tool) and `--consumer.config` (a properties
 * file; the keys sluice maps are listed in {@linkcode CONFIG_KEYS}).
 *
 * Same output: one JSON object per line on stdout, each with `timestamp` (ms)
 * and `name`: `startup_complete`; `partitions_assigned` / `partitions_revoked`
 * with `partitions: [{topic, partition}]` (lost partitions are reported as
 * revoked, as the Java consumer's default `onPartitionsLost` does);
 * `records_consumed` with `count` and `partitions: [{topic, partition, count,
 * minOffset, maxOffset}]`; `record_data` per record with `--verbose`;
 * `offsets_committed` with `offsets: [{topic, partition, offset}]`,
 * `success` and (on failure) `error`, printed only without auto-commit;
 * `shutdown_complete` after the consumer closed.
 *
 * The semantics map onto sluice's API as follows. The Java tool handles one
 * `poll()` at a time: it prints what it got and, without auto-commit, commits
 * it synchronously before polling again. Here each delivered
 * {@linkcode RecordBatch} (one partition's records from one fetch) is one
 * poll: it is printed, acknowledged, and — without auto-commit — committed
 * with `await consumer.commit()` before the next batch is read (the offset
 * printed is what sluice commits: the batch's `nextOffset`). A batch cut short
 * by `--max-messages` is reported but not acknowledged, since sluice commits
 * whole batches only. With
 * `--enable-autocommit` the batch is acknowledged and the consumer commits on
 * its interval, on revocation and on close. SIGTERM (or SIGINT) finishes the
 * batch in hand, closes the consumer cleanly (commit, LeaveGroup) and then
 * prints `shutdown_complete`, as the Java tool's shutdown hook does.
 * Diagnostics go to stderr (`SLUICE_LOG_LEVEL=info` adds the consumer's log).
 *
 * Run:
 * ```sh
 * deno run -A examples/verifiable_consumer.ts --bootstrap-server 127.0.0.1:9092 \
 *   --topic orders --group-id verify
 * ```
 *
 * @module
 */

import {
  type AssignorName,
  type AutoOffsetReset,
  Consumer,
  type ConsumerOptions,
  type GroupProtocol,
  type LogLevel,
  type RecordBatch,
  type TopicPartition,
} from "../mod.ts";

/** The flags of Kafka's tool, parsed. */
export interface VerifiableConsumerArgs {
  /** Topic to subscribe to. */
  topic: string;
  /** Consumer group. */
  groupId: string;
  /** Bootstrap servers (`--bootstrap-server`, else `--broker-list`). */
  brokers: string[];
  /** `--session-timeout` in ms. */
  sessionTimeoutMs: number;
  /** `--enable-autocommit`. */
  autoCommit: boolean;
  /** `--max-messages`; -1 means no limit. */
  maxMessages: number;
  /** `--reset-policy`. */
  resetPolicy: AutoOffsetReset;
  /** `--assignment-strategy`, mapped to sluice's assignor names. */
  assignors: AssignorName[];
  /** `--group-protocol`. */
  groupProtocol: GroupProtocol;
  /** `--group-remote-assignor` (consumer protocol only). */
  groupRemoteAssignor?: "uniform" | "range";
  /** `--group-instance-id`. */
  groupInstanceId?: string;
  /** `--verbose`: one `record_data` event per record. */
  verbose: boolean;
  /** Options from `--consumer.config`. */
  extra: Partial<ConsumerOptions>;
}

/** A wrong command line: the message says which flag and why. */
export class UsageError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const USAGE = `usage: verifiable_consumer.ts --topic TOPIC --group-id GROUP_ID
         (--bootstrap-server HOST:PORT[,...] | --broker-list HOST:PORT[,...])
         [--session-timeout MS] [--enable-autocommit] [--max-messages N]
         [--reset-policy earliest|latest|none] [--assignment-strategy CLASS]
         [--group-instance-id ID] [--group-protocol classic|consumer]
         [--group-remote-assignor uniform|range] [--verbose]
         [--consumer.config FILE]`;

const ASSIGNORS: Record<string, AssignorName> = {
  "range": "range",
  "roundrobin": "roundrobin",
  "org.apache.kafka.clients.consumer.RangeAssignor": "range",
  "org.apache.kafka.clients.consumer.RoundRobinAssignor": "roundrobin",
  "cooperative-sticky": "cooperative-sticky",
  "org.apache.kafka.clients.consumer.CooperativeStickyAssignor": "cooperative-sticky",
};

/**
 * Java consumer properties that `--consumer.config` may set, and the sluice
 * option each becomes. Other keys are reported on stderr and ignored.
 */
export const CONFIG_KEYS: Record<string, keyof ConsumerOptions> = {
  "client.id": "clientId",
  "heartbeat.interval.ms": "heartbeatIntervalMs",
  "max.poll.interval.ms": "maxPollIntervalMs",
  "auto.commit.interval.ms": "autoCommitIntervalMs",
  "request.timeout.ms": "requestTimeoutMs",
  "fetch.min.bytes": "fetchMinBytes",
  "fetch.max.wait.ms": "fetchMaxWaitMs",
  "fetch.max.bytes": "fetchMaxBytes",
  "max.partition.fetch.bytes": "maxPartitionFetchBytes",
  "metadata.max.age.ms": "metadataMaxAgeMs",
  "retry.backoff.ms": "retryBackoffMs",
  "isolation.level": "isolationLevel",
};

const BOOLEAN_FLAGS = new Set(["--enable-autocommit", "--verbose"]);

/**
 * Parses the tool's flags (both `--flag value` and `--flag=value`). Throws
 * {@linkcode UsageError} naming the flag at fault.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./verifiable_consumer.ts";
 * const args = parseArgs(["--topic", "t", "--group-id", "g", "--broker-list", "h:1"]);
 * console.log(args.brokers); // ["h:1"]
 * ```
 */
export function parseArgs(argv: readonly string[]): VerifiableConsumerArgs {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument '${arg}'\n${USAGE}`);
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (BOOLEAN_FLAGS.has(name)) {
      flags.add(name);
      continue;
    }
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`${name} needs a value\n${USAGE}`);
    values.set(name, value);
  }
  const known = new Set([
    "--topic",
    "--group-id",
    "--bootstrap-server",
    "--broker-list",
    "--session-timeout",
    "--max-messages",
    "--reset-policy",
    "--assignment-strategy",
    "--group-instance-id",
    "--group-protocol",
    "--group-remote-assignor",
    "--consumer.config",
  ]);
  for (const name of values.keys()) {
    if (!known.has(name)) throw new UsageError(`unknown flag ${name}\n${USAGE}`);
  }
  const required = (name: string): string => {
    const v = values.get(name);
    if (v === undefined || v === "") throw new UsageError(`${name} is required\n${USAGE}`);
    return v;
  };
  const integer = (name: string, fallback: number): number => {
    const v = values.get(name);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v)) throw new UsageError(`${name} must be an integer, got '${v}'`);
    return Number(v);
  };
  const servers = values.get("--bootstrap-server") ?? values.get("--broker-list");
  if (!servers) {
    throw new UsageError(`--bootstrap-server (or --broker-list) is required\n${USAGE}`);
  }
  const reset = values.get("--reset-policy") ?? "earliest";
  if (reset !== "earliest" && reset !== "latest" && reset !== "none") {
    throw new UsageError(`--reset-policy must be earliest, latest or none, got '${reset}'`);
  }
  const strategy = values.get("--assignment-strategy") ??
    "org.apache.kafka.clients.consumer.RangeAssignor";
  const assignors = strategy.split(",").map((s) => {
    const a = ASSIGNORS[s.trim()];
    if (!a) {
      throw new UsageError(
        `--assignment-strategy '${s}' is not supported: use Kafka's RangeAssignor, ` +
          `RoundRobinAssignor or CooperativeStickyAssignor (or range / roundrobin / ` +
          `cooperative-sticky)`,
      );
    }
    return a;
  });
  const protocol = (values.get("--group-protocol") ?? "classic").toLowerCase();
  if (protocol !== "classic" && protocol !== "consumer") {
    throw new UsageError(`--group-protocol must be classic or consumer, got '${protocol}'`);
  }
  const remote = values.get("--group-remote-assignor");
  if (remote !== undefined && (protocol !== "consumer" || !["uniform", "range"].includes(remote))) {
    throw new UsageError(
      `--group-remote-assignor takes uniform or range, with --group-protocol consumer only`,
    );
  }
  if (protocol === "consumer") {
    for (const flag of ["--session-timeout", "--assignment-strategy"]) {
      if (values.has(flag)) {
        throw new UsageError(
          `${flag} does not go with --group-protocol consumer: the broker owns it ` +
            `(group.consumer.* settings)`,
        );
      }
    }
  }
  const configFile = values.get("--consumer.config");
  return {
    topic: required("--topic"),
    groupId: required("--group-id"),
    brokers: servers.split(",").map((s) => s.trim()).filter((s) => s !== ""),
    sessionTimeoutMs: integer("--session-timeout", 30000),
    autoCommit: flags.has("--enable-autocommit"),
    maxMessages: integer("--max-messages", -1),
    resetPolicy: reset,
    assignors,
    groupProtocol: protocol,
    ...(remote === undefined ? {} : { groupRemoteAssignor: remote as "uniform" | "range" }),
    groupInstanceId: values.get("--group-instance-id"),
    verbose: flags.has("--verbose"),
    extra: configFile ? readConsumerConfig(Deno.readTextFileSync(configFile)) : {},
  };
}

/** Maps a Java properties file onto sluice options (see {@linkcode CONFIG_KEYS}). */
export function readConsumerConfig(text: string): Partial<ConsumerOptions> {
  const out: Record<string, unknown> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, k, v] = m;
    const option = CONFIG_KEYS[k];
    if (!option) {
      console.error(`verifiable_consumer: ignoring --consumer.config key ${k} (not mapped)`);
      continue;
    }
    out[option] = /^\d+$/.test(v) ? Number(v) : v;
  }
  return out as Partial<ConsumerOptions>;
}

/** Prints one event as Kafka's tool does: `timestamp` and `name` first. */
function emit(name: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ timestamp: Date.now(), name, ...fields }));
}

const plain = (ps: TopicPartition[]) => ps.map(({ topic, partition }) => ({ topic, partition }));
const utf8 = new TextDecoder();

/**
 * Runs the tool until `--max-messages` records were consumed or the signal
 * aborts; prints `shutdown_complete` after the consumer closed. Resolves with
 * the process exit code.
 */
export async function runVerifiableConsumer(
  args: VerifiableConsumerArgs,
  signal: AbortSignal,
): Promise<number> {
  const logLevel = (Deno.env.get("SLUICE_LOG_LEVEL") ?? "") as LogLevel | "";
  const consumer = new Consumer({
    brokers: args.brokers,
    groupId: args.groupId,
    topics: [args.topic],
    autoOffsetReset: args.resetPolicy,
    commit: args.autoCommit ? "auto" : "manual",
    ...(args.groupProtocol === "classic"
      ? { sessionTimeoutMs: args.sessionTimeoutMs, assignors: args.assignors }
      : { groupProtocol: "consumer", groupRemoteAssignor: args.groupRemoteAssignor }),
    ...(args.groupInstanceId ? { groupInstanceId: args.groupInstanceId } : {}),
    ...args.extra,
    ...(logLevel ? { logger: stderrLogger(logLevel) } : {}),
    onAssigned: (ps) => emit("partitions_assigned", { partitions: plain(ps) }),
    onRevoked: (ps) => emit("partitions_revoked", { partitions: plain(ps) }),
    // Java's ConsumerRebalanceListener.onPartitionsLost defaults to
    // onPartitionsRevoked, and Kafka's tool does not override it.
    onLost: (ps) => emit("partitions_revoked", { partitions: plain(ps) }),
  });
  // Like the Java tool's wakeup(): a batch being handled is finished first
  // (acknowledged and, without auto-commit, committed), so a clean shutdown
  // leaves nothing consumed but uncommitted; an idle reader closes at once.
  let busy = false;
  const stop = () => {
    if (!busy) void consumer.close().catch(() => {});
  };
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  emit("startup_complete");
  let consumed = 0;
  let code = 0;
  try {
    for await (const batch of consumer) {
      busy = true;
      const records = args.maxMessages >= 0
        ? batch.records.slice(0, args.maxMessages - consumed)
        : batch.records;
      if (records.length > 0) {
        report(batch, records, args.verbose);
        consumed += records.length;
      }
      // A batch cut short by --max-messages is not acknowledged: sluice
      // commits whole batches, and committing records never reported would
      // break the protocol's "commit <= consumed" contract.
      if (records.length === batch.records.length) {
        const acked = batch.ack();
        if (!args.autoCommit) await commitAndReport(consumer, batch, acked);
      }
      busy = false;
      if (signal.aborted || (args.maxMessages >= 0 && consumed >= args.maxMessages)) break;
    }
  } catch (e) {
    // As the Java tool: the error goes to the log (stderr), not stdout.
    console.error("verifiable_consumer: error during processing, terminating:", e);
    code = 1;
  } finally {
    await consumer.close().catch((e) => console.error("verifiable_consumer: close failed:", e));
    emit("shutdown_complete");
  }
  return code;
}

function report(batch: RecordBatch, records: RecordBatch["records"], verbose: boolean): void {
  const first = records[0].offset;
  const last = records[records.length - 1].offset;
  if (verbose) {
    for (const r of records) {
      emit("record_data", {
        key: r.key === null ? null : utf8.decode(r.key),
        value: r.value === null ? null : utf8.decode(r.value),
        topic: batch.topic,
        partition: batch.partition,
        offset: Number(r.offset),
      });
    }
  }
  emit("records_consumed", {
    count: records.length,
    partitions: [{
      topic: batch.topic,
      partition: batch.partition,
      count: records.length,
      minOffset: Number(first),
      maxOffset: Number(last),
    }],
  });
}

/**
 * Commits synchronously and prints `offsets_committed` for this batch's
 * partition (as the Java tool, only the partitions of this "poll"; an earlier
 * failed commit of another partition is retried by the same call). A fenced ack (the partition was revoked or lost since delivery)
 * is reported as a failed commit, which is what the Java tool prints when its
 * synchronous commit fails after a rebalance.
 */
async function commitAndReport(
  consumer: Consumer,
  batch: RecordBatch,
  acked: boolean,
): Promise<void> {
  // What sluice commits for the batch: its nextOffset (the last record's
  // offset + 1, or past trailing control records of a transaction).
  const offsets = [{
    topic: batch.topic,
    partition: batch.partition,
    offset: Number(batch.nextOffset),
  }];
  if (!acked) {
    emit("offsets_committed", {
      offsets,
      error: `${batch.topic}/${batch.partition} was revoked or lost before the commit; ` +
        `its records will be delivered again from the committed offset`,
      success: false,
    });
    return;
  }
  try {
    await consumer.commit();
    emit("offsets_committed", { offsets, success: true });
  } catch (e) {
    emit("offsets_committed", {
      offsets,
      error: e instanceof Error ? e.message : String(e),
      success: false,
    });
  }
}

function stderrLogger(level: LogLevel): NonNullable<ConsumerOptions["logger"]> {
  const order: LogLevel[] = ["debug", "info", "warn", "error"];
  const min = order.indexOf(level);
  const log = (l: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (order.indexOf(l) < min) return;
    console.error(
      `${new Date().toISOString()} ${l.toUpperCase()} ${message}`,
      fields ? Deno.inspect(fields, { depth: 4, breakLength: Infinity }) : "",
    );
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

if (import.meta.main) {
  let args: VerifiableConsumerArgs;
  try {
    args = parseArgs(Deno.args);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
  const shutdown = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => shutdown.abort());
  }
  // The chaos harness's "block" fault: SIGUSR1 makes this process's event
  // loop do synchronous work for SLUICE_BLOCK_MS (default twice the session
  // timeout), as a CPU-bound handler would; heartbeats go on in their worker.
  Deno.addSignalListener("SIGUSR1", () => {
    const until = Date.now() + Number(Deno.env.get("SLUICE_BLOCK_MS") ?? 2 * args.sessionTimeoutMs);
    while (Date.now() < until) {
      // busy
    }
  });
  Deno.exit(await runVerifiableConsumer(args, shutdown.signal));
}
