/**
 * The Consumer's options: the user-facing {@linkcode ConsumerOptions}, their
 * validation with zod, and the {@linkcode ResolvedOptions} every other part of
 * the consumer reads (defaults filled, cross-field rules checked).
 *
 * A wrong option throws a {@linkcode ConfigError} at construction, before
 * anything connects, naming the field (a dotted path such as
 * `assign[1].partition`) and the reason. Unknown keys are errors too, so a typo
 * such as `sessionTimeoutMS` is caught and the closest known option suggested.
 * The value of a secret-looking field is never printed.
 *
 * Defaults follow Kafka's Java consumer (`ConsumerConfig`) unless said.
 *
 * @module
 */

import { z } from "zod";
import { KafkaError } from "./protocol/errors.ts";
import { OAuthBearerTokenCache, type OAuthBearerTokenProvider } from "./net/sasl/oauthbearer.ts";
import type { SaslConfig } from "./net/sasl/authenticate.ts";
import { Secret } from "./net/secret.ts";
import type { TlsConfig } from "./net/tls.ts";
import { partitionKey } from "./util/partitions.ts";

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/**
 * A partition of a topic.
 *
 * @example
 * ```ts
 * import type { TopicPartition } from "@sluice/kafka";
 * const tp: TopicPartition = { topic: "orders", partition: 3 };
 * ```
 */
export interface TopicPartition {
  /** Topic name. */
  topic: string;
  /** Partition index, from 0. */
  partition: number;
}

/**
 * Where to start reading a partition: an exact offset, the log start
 * (`"earliest"`), the log end (`"latest"`), or the first record whose
 * timestamp is at or after `timestamp` (ms since the epoch; the log end when
 * there is none).
 *
 * @example
 * ```ts
 * import type { OffsetSpec } from "@sluice/kafka";
 * const from: OffsetSpec[] = [42n, "earliest", "latest", { timestamp: Date.now() - 3_600_000 }];
 * ```
 */
export type OffsetSpec = bigint | "earliest" | "latest" | { timestamp: number };

/**
 * One entry of the `assign` option: a partition to read, and optionally where
 * to start.
 *
 * @example
 * ```ts
 * import type { AssignedPartition } from "@sluice/kafka";
 * const assign: AssignedPartition[] = [
 *   { topic: "orders", partition: 0, offset: 42n },
 *   { topic: "orders", partition: 1 }, // committed offset of groupId, else autoOffsetReset
 * ];
 * ```
 */
export interface AssignedPartition extends TopicPartition {
  /**
   * Where to start. Without it: the offset committed by `groupId` when
   * there is one, else (or when nothing is committed) `autoOffsetReset`.
   */
  offset?: OffsetSpec;
}

/**
 * Called with the partitions concerned by a rebalance event; awaited (bounded
 * by `rebalanceTimeoutMs`) before the consumer goes on.
 *
 * @example
 * ```ts
 * import type { RebalanceListener } from "@sluice/kafka";
 * const onRevoked: RebalanceListener = async (partitions) => {
 *   console.log("revoked", partitions.map((p) => `${p.topic}-${p.partition}`));
 * };
 * ```
 */
export type RebalanceListener = (partitions: TopicPartition[]) => void | Promise<void>;

/**
 * A structured logger. Every method is optional; a missing one drops that
 * level. `console` fits, and so do most logging libraries. The consumer never
 * lets a logger break it: a method that throws (or returns a rejected
 * promise) is ignored.
 *
 * @example
 * ```ts
 * import type { Logger } from "@sluice/kafka";
 * const lines: string[] = [];
 * const logger: Logger = {
 *   warn: (msg, fields) => lines.push(`${msg} ${JSON.stringify(fields ?? {})}`),
 * };
 * ```
 */
export interface Logger {
  /** Detail useful when chasing a problem (requests, state changes). */
  debug?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Notable events: joined a group, partitions assigned. */
  info?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Recovered problems: retries, coordinator moves, reconnects. */
  warn?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Problems that end the stream. */
  error?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * A log level, from the most verbose.
 *
 * @example
 * ```ts
 * import { consoleLogger, type LogLevel } from "@sluice/kafka";
 * const level: LogLevel = "warn";
 * const logger = consoleLogger(level);
 * ```
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * What to do when a partition has no committed offset (or it is out of
 * range): start at the log start, at the log end, or fail.
 *
 * @example
 * ```ts
 * import type { AutoOffsetReset } from "@sluice/kafka";
 * const reset: AutoOffsetReset = "earliest";
 * ```
 */
export type AutoOffsetReset = "latest" | "earliest" | "none";

/**
 * How acknowledged offsets are committed: on an interval, on revocation and
 * on close (`"auto"`), or only when `commit()` is called (`"manual"`).
 *
 * @example
 * ```ts
 * import type { CommitMode } from "@sluice/kafka";
 * const mode: CommitMode = "manual";
 * ```
 */
export type CommitMode = "auto" | "manual";

/**
 * Which records a fetch returns: everything written (`"read_uncommitted"`),
 * or only committed transactional data, up to the last stable offset
 * (`"read_committed"`).
 *
 * @example
 * ```ts
 * import type { IsolationLevel } from "@sluice/kafka";
 * const isolation: IsolationLevel = "read_committed";
 * ```
 */
export type IsolationLevel = "read_uncommitted" | "read_committed";

/**
 * Where a group member's heartbeats run (the `heartbeatThread` option): in a
 * Web Worker, apart from a handler that may block the event loop, or on the
 * event loop itself.
 *
 * @example
 * ```ts
 * import type { HeartbeatThread } from "@sluice/kafka";
 * const thread: HeartbeatThread = "event-loop"; // e.g. on Deno Deploy
 * ```
 */
export type HeartbeatThread = "worker" | "event-loop";

/**
 * A partition assignment strategy the group leader may use: `"range"`
 * (per topic, contiguous ranges of partitions) or `"roundrobin"` (all
 * partitions dealt out in turn).
 *
 * @example
 * ```ts
 * import type { AssignorName } from "@sluice/kafka";
 * const assignors: AssignorName[] = ["roundrobin", "range"];
 * ```
 */
export type AssignorName = "range" | "roundrobin";

/**
 * TLS settings (the `tls` option). The broker's certificate is verified
 * against the system's root CAs plus `caCerts`, for the host name the client
 * connects to (the broker's advertised host). `cert` and `key` present a
 * client certificate (mutual TLS, `ssl.client.auth=required`).
 *
 * @example
 * ```ts
 * import type { TlsOptions } from "@sluice/kafka";
 * const tls: TlsOptions = {
 *   caCerts: ["-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"],
 *   cert: "-----BEGIN CERTIFICATE-----\n...",
 *   key: "-----BEGIN PRIVATE KEY-----\n...",
 * };
 * ```
 */
export interface TlsOptions {
  /** PEM certificates of CAs to trust besides the system's (a private CA). */
  caCerts?: string[];
  /** PEM client certificate chain, for mutual TLS; needs `key`. */
  cert?: string;
  /** PEM private key of `cert` (never printed). */
  key?: string | Secret;
}

/**
 * SASL PLAIN or SCRAM credentials (the `sasl` option). PLAIN sends the
 * password as is: use it over TLS only.
 *
 * @example
 * ```ts
 * import type { SaslPasswordOptions } from "@sluice/kafka";
 * const sasl: SaslPasswordOptions = {
 *   mechanism: "scram-sha-512",
 *   username: "alice",
 *   password: Deno.env.get("KAFKA_PASSWORD") ?? "",
 * };
 * ```
 */
export interface SaslPasswordOptions {
  /** The SASL mechanism, as enabled on the broker's listener (`sasl.enabled.mechanisms`). */
  mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
  /** User name. */
  username: string;
  /** Password (never printed). */
  password: string | Secret;
}

/**
 * SASL OAUTHBEARER (the `sasl` option): tokens come from `token`, an async
 * provider. A token is cached and fetched again at 80% of its lifetime
 * (`expiresAt`, else the JWT's `exp` claim; unknown expiry: fetched for every
 * authentication). When the broker limits the session
 * (`connections.max.reauth.ms`, KIP-368), connections re-authenticate in place
 * before it ends.
 *
 * @example
 * ```ts
 * import type { SaslOAuthBearerOptions } from "@sluice/kafka";
 * const sasl: SaslOAuthBearerOptions = {
 *   mechanism: "oauthbearer",
 *   token: async () => ({ value: "eyJ...", expiresAt: Date.now() + 3_600_000 }),
 *   extensions: { logicalCluster: "lkc-abc123" },
 * };
 * ```
 */
export interface SaslOAuthBearerOptions {
  /** OAUTHBEARER. */
  mechanism: "oauthbearer";
  /** Returns a token (a string, or `{ value, expiresAt }`); may be async. */
  token: OAuthBearerTokenProvider;
  /** SASL extensions sent with the token (KIP-342), e.g. a managed service's cluster id. */
  extensions?: Record<string, string>;
}

/**
 * The `sasl` option: PLAIN, SCRAM-SHA-256/512 or OAUTHBEARER.
 *
 * @example
 * ```ts
 * import type { SaslOptions } from "@sluice/kafka";
 * const sasl: SaslOptions = { mechanism: "plain", username: "alice", password: "secret" };
 * ```
 */
export type SaslOptions = SaslPasswordOptions | SaslOAuthBearerOptions;

/**
 * Options of the `Consumer`. Only `brokers` and one of `topics` / `assign` are
 * required. Validated at construction: a wrong or unknown option throws a
 * {@linkcode ConfigError} before anything connects.
 *
 * @example
 * ```ts
 * import type { ConsumerOptions } from "@sluice/kafka";
 * const subscribe: ConsumerOptions = {
 *   brokers: ["127.0.0.1:9092"],
 *   groupId: "billing",
 *   topics: ["orders"],
 *   autoOffsetReset: "earliest",
 * };
 * const assign: ConsumerOptions = {
 *   brokers: "kafka-1:9092,kafka-2:9092",
 *   assign: [{ topic: "orders", partition: 0, offset: "earliest" }],
 * };
 * ```
 */
export interface ConsumerOptions {
  /**
   * Bootstrap brokers, `host:port` each (IPv6 in brackets: `[::1]:9092`), as
   * an array or a comma-separated string. Used to find the cluster; the
   * consumer then talks to the brokers the cluster advertises.
   */
  brokers: string | string[];
  /**
   * Client id sent with every request: shows in broker logs, metrics and
   * quotas.
   * @default {"sluice"}
   */
  clientId?: string;
  /**
   * Consumer group. Required with `topics` (the consumer joins the group);
   * with `assign`, offsets are read from and committed to this group without
   * joining it. Without it, nothing is committed.
   */
  groupId?: string;
  /**
   * Subscribe mode: the topics to read, as names, or a `RegExp` matched
   * against every topic name in the cluster with `pattern.test(name)` (not
   * anchored, as any JavaScript RegExp: write `/^orders-.*$/` to match whole
   * names; the `g` and `y` flags are dropped). Partitions come from the
   * group, so `groupId` is required. Give exactly one of `topics` and
   * `assign`.
   */
  topics?: string[] | RegExp;
  /**
   * Assign mode: the exact partitions to read, each optionally with where to
   * start. No rebalances, no group events. Give exactly one of `topics` and
   * `assign`.
   */
  assign?: AssignedPartition[];
  /**
   * Where to start when a partition has no committed offset, or its position
   * is out of range: the log end, the log start, or fail the stream.
   * @default {"latest"}
   */
  autoOffsetReset?: AutoOffsetReset;
  /**
   * `"auto"` commits acknowledged offsets every `autoCommitIntervalMs`, on
   * revocation and on close; `"manual"` only when `commit()` is called.
   * Nothing is committed without `groupId`.
   * @default {"auto"}
   */
  commit?: CommitMode;
  /**
   * Period of automatic commits (`commit: "auto"`), in ms.
   * @default {5000}
   */
  autoCommitIntervalMs?: number;
  /**
   * The coordinator declares the member dead when it hears no heartbeat for
   * this long, in ms. Must lie within the broker's
   * `group.min.session.timeout.ms` .. `group.max.session.timeout.ms`
   * (6000 .. 1800000 by default). Heartbeats run apart from the reader, in
   * a Worker by default (`heartbeatThread`), so synchronous work longer than
   * this does not lose the group; `maxPollIntervalMs` bounds it.
   * @default {45000}
   */
  sessionTimeoutMs?: number;
  /**
   * Period of heartbeats, in ms. Must be less than `sessionTimeoutMs`; Kafka
   * recommends at most a third of it.
   * @default {3000}
   */
  heartbeatIntervalMs?: number;
  /**
   * Where heartbeats run (subscribe mode). `"worker"`: in a Web Worker with
   * its own connection to the coordinator, so that a handler that blocks
   * the event loop (synchronous work, up to `maxPollIntervalMs`) keeps the
   * group; costs a worker (a few MB) and one more connection. `"event-loop"`:
   * on the consumer's event loop, for runtimes without Workers (Deno Deploy);
   * a handler blocking it for `sessionTimeoutMs` then loses the partitions.
   * Where Workers are missing, `"worker"` falls back to the event loop with a
   * warning.
   * @default {"worker"}
   */
  heartbeatThread?: HeartbeatThread;
  /**
   * Longest time, in ms, the reader may go without asking for the next
   * batch (a pending read is asking), whether or not data waits. Past it the
   * heartbeat task leaves the group without committing (a static member
   * lets its session expire instead), as Kafka's Java consumer does; the
   * partitions go to others, what was acknowledged but not committed is
   * delivered again, and the next read rejoins.
   * @default {300000}
   */
  maxPollIntervalMs?: number;
  /**
   * Time, in ms, each member has to rejoin once a rebalance starts:
   * revocation, `onRevoked` and the commit must fit in it.
   * @default {maxPollIntervalMs}
   */
  rebalanceTimeoutMs?: number;
  /**
   * Longest time, in ms, `close()` waits for delivered batches to be
   * acknowledged before committing and leaving. 0 closes without waiting.
   * @default {30000}
   */
  closeTimeoutMs?: number;
  /**
   * Time, in ms, a request may wait for its response. Must exceed
   * `fetchMaxWaitMs`, which a Fetch may legitimately spend at the broker.
   * @default {30000}
   */
  requestTimeoutMs?: number;
  /**
   * Static membership (KIP-345): a stable id for this instance (`a-zA-Z0-9._-`,
   * at most 249 characters). A static member sends no LeaveGroup on close, so
   * a restart within `sessionTimeoutMs` keeps its partitions without a
   * rebalance. Subscribe mode only.
   */
  groupInstanceId?: string;
  /**
   * Assignment strategies this member supports, in order of preference. The
   * group uses the first one every member supports.
   * @default {["range"]}
   */
  assignors?: AssignorName[];
  /**
   * `"read_committed"` returns only committed transactional records (and
   * stops at the last stable offset); `"read_uncommitted"` returns all.
   * @default {"read_uncommitted"}
   */
  isolationLevel?: IsolationLevel;
  /**
   * The consumer's whole memory budget for record data, in bytes: buffered
   * batches plus in-flight Fetch responses. While it is used up, no Fetch is
   * sent. At least 64 KiB.
   * @default {33554432}
   */
  maxBufferedBytes?: number;
  /**
   * Bytes a broker waits to gather before answering a Fetch (up to
   * `fetchMaxWaitMs`).
   * @default {1}
   */
  fetchMinBytes?: number;
  /**
   * Longest time, in ms, a broker holds a Fetch waiting for `fetchMinBytes`.
   * 0 answers at once.
   * @default {500}
   */
  fetchMaxWaitMs?: number;
  /**
   * Most bytes one Fetch response may carry (the broker still returns a
   * first batch larger than this, so progress is made). The effective limit
   * of each Fetch is `min(fetchMaxBytes, memory budget left)`.
   * @default {52428800}
   */
  fetchMaxBytes?: number;
  /**
   * Most bytes one partition may contribute to a Fetch response (a larger
   * first batch is still returned).
   * @default {1048576}
   */
  maxPartitionFetchBytes?: number;
  /**
   * Verify the CRC32C of every record batch; a mismatch errors the stream
   * naming topic, partition and offset.
   * @default {true}
   */
  checkCrcs?: boolean;
  /**
   * Connect with TLS: `true` (system root CAs) or {@linkcode TlsOptions}
   * (a private CA, a client certificate). A certificate that does not verify
   * ends the stream with a `TlsError`.
   * @default {false}
   */
  tls?: boolean | TlsOptions;
  /**
   * Authenticate with SASL: {@linkcode SaslOptions}. Wrong credentials end
   * the stream with an `AuthenticationError` (no reconnect storm). Secrets
   * never appear in errors, logs, or when the options or the consumer are
   * printed.
   */
  sasl?: SaslOptions;
  /**
   * Period, in ms, of the metadata refresh that picks up leader changes, new
   * partitions and, for a RegExp subscription, new topics. Subscribe mode
   * only: in assign mode there is no periodic refresh, and metadata is
   * refreshed when a Fetch finds that a partition's leader moved.
   * @default {300000}
   */
  metadataMaxAgeMs?: number;
  /**
   * First delay, in ms, before retrying a failed request; doubles per attempt
   * (with jitter) up to `retryBackoffMaxMs`.
   * @default {100}
   */
  retryBackoffMs?: number;
  /**
   * Largest retry delay, in ms. When not given and `retryBackoffMs` is
   * larger, it is raised to `retryBackoffMs` (a fixed delay).
   * @default {1000}
   */
  retryBackoffMaxMs?: number;
  /**
   * First delay, in ms, before reconnecting to a broker; doubles per attempt
   * (with jitter) up to `reconnectBackoffMaxMs`.
   * @default {50}
   */
  reconnectBackoffMs?: number;
  /**
   * Largest reconnect delay, in ms. When not given and `reconnectBackoffMs`
   * is larger, it is raised to `reconnectBackoffMs`.
   * @default {1000}
   */
  reconnectBackoffMaxMs?: number;
  /**
   * How long, in ms, the consumer keeps trying its bootstrap brokers when
   * none answers — at start-up, and whenever it must bootstrap again — with
   * the reconnect backoff between rounds and a warning per failed round.
   * Then the stream ends with one `ConnectionError` saying what
   * was tried. `Infinity` keeps trying (a service that may start long
   * before Kafka). Kafka's Java client bounds such waits by
   * `default.api.timeout.ms`, also 60 s.
   * @default {60000}
   */
  bootstrapTimeoutMs?: number;
  /** Aborting it closes the consumer, as `close()` does. */
  signal?: AbortSignal;
  /**
   * Where the consumer logs. See {@linkcode consoleLogger}.
   * @default {a logger that drops everything}
   */
  logger?: Logger;
  /**
   * Called after partitions are assigned to this member in a group, before
   * fetching them (subscribe mode; assign mode has no group events).
   */
  onAssigned?: RebalanceListener;
  /**
   * Called when partitions are given up in a rebalance, after buffered
   * batches are dropped and acknowledged offsets committed (auto mode); may
   * `await consumer.commit()`.
   */
  onRevoked?: RebalanceListener;
  /**
   * Called when partitions were lost without a clean revocation (session
   * expired, fenced): nothing can be committed for them any more.
   */
  onLost?: RebalanceListener;
}

/**
 * Options whose value is always known once resolved: the ones with a
 * default, and those computed from others (`rebalanceTimeoutMs`, the backoff
 * maxima).
 */
type AlwaysSet =
  | "clientId"
  | "autoOffsetReset"
  | "commit"
  | "autoCommitIntervalMs"
  | "sessionTimeoutMs"
  | "heartbeatIntervalMs"
  | "maxPollIntervalMs"
  | "heartbeatThread"
  | "rebalanceTimeoutMs"
  | "closeTimeoutMs"
  | "requestTimeoutMs"
  | "assignors"
  | "isolationLevel"
  | "maxBufferedBytes"
  | "fetchMinBytes"
  | "fetchMaxWaitMs"
  | "fetchMaxBytes"
  | "maxPartitionFetchBytes"
  | "checkCrcs"
  | "metadataMaxAgeMs"
  | "retryBackoffMs"
  | "retryBackoffMaxMs"
  | "reconnectBackoffMs"
  | "reconnectBackoffMaxMs"
  | "bootstrapTimeoutMs";

/** Options whose resolved form differs from what the user gives. */
type Transformed = "brokers" | "tls" | "sasl" | "logger" | "topics" | "assign";

/**
 * The options of the consumer after validation, whatever the mode: derived
 * from {@linkcode ConsumerOptions} (each field documented there), every
 * default filled in, and these in their resolved form: `brokers` a list
 * without duplicates, `tls` and `sasl` ready to use (secrets as `Secret`s),
 * `logger` with every level, plus the two backoffs as ranges.
 *
 * @example
 * ```ts
 * import { resolveOptions, type ResolvedCommonOptions } from "./config.ts";
 * const common: ResolvedCommonOptions = resolveOptions({
 *   brokers: "127.0.0.1:9092",
 *   assign: [{ topic: "orders", partition: 0 }],
 * });
 * common.clientId; // "sluice"
 * common.retryBackoff; // { initialMs: 100, maxMs: 1000 }
 * ```
 */
export type ResolvedCommonOptions =
  & Omit<ConsumerOptions, AlwaysSet | Transformed>
  & { [K in AlwaysSet]-?: Exclude<ConsumerOptions[K], undefined> }
  & {
    /** Bootstrap brokers, `host:port` each, trimmed, without duplicates. */
    brokers: string[];
    /** TLS settings, undefined without TLS. */
    tls?: TlsConfig;
    /** SASL settings, undefined without SASL. Secrets are {@linkcode Secret}s. */
    sasl?: SaslConfig;
    /** The user's logger with every level; calls never throw. */
    logger: Required<Logger>;
    /** retryBackoffMs .. retryBackoffMaxMs. */
    retryBackoff: { initialMs: number; maxMs: number };
    /** reconnectBackoffMs .. reconnectBackoffMaxMs. */
    reconnectBackoff: { initialMs: number; maxMs: number };
  };

/**
 * Resolved options of a consumer in subscribe mode (`topics` given): it joins
 * `groupId`.
 *
 * @example
 * ```ts
 * import { resolveOptions } from "./config.ts";
 * const opts = resolveOptions({ brokers: "127.0.0.1:9092", groupId: "g", topics: /^orders/ });
 * if (opts.mode === "subscribe") opts.groupId.length; // groupId is a string here
 * ```
 */
export interface ResolvedSubscribeOptions extends ResolvedCommonOptions {
  /** Subscribe mode. */
  mode: "subscribe";
  /** The group to join. */
  groupId: string;
  /** Topic names (without duplicates), or a RegExp without the `g`/`y` flags. */
  topics: string[] | RegExp;
  /** Never set in subscribe mode. */
  assign?: undefined;
}

/**
 * Resolved options of a consumer in assign mode (`assign` given): it reads
 * exactly those partitions and joins no group.
 *
 * @example
 * ```ts
 * import { resolveOptions } from "./config.ts";
 * const opts = resolveOptions({ brokers: "127.0.0.1:9092", assign: [{ topic: "t", partition: 0 }] });
 * if (opts.mode === "assign") opts.assign.length; // 1
 * ```
 */
export interface ResolvedAssignOptions extends ResolvedCommonOptions {
  /** Assign mode. */
  mode: "assign";
  /** The partitions to read, each at most once; `offset` undefined when not given. */
  assign: AssignedPartition[];
  /** Never set in assign mode. */
  topics?: undefined;
  /** Never set in assign mode (static membership needs a group to join). */
  groupInstanceId?: undefined;
}

/**
 * The consumer's options after {@linkcode resolveOptions}: defaults filled,
 * brokers a list, topics normalized, cross-field rules checked. Narrow on
 * `mode`.
 *
 * @example
 * ```ts
 * import { resolveOptions, type ResolvedOptions } from "./config.ts";
 * const opts: ResolvedOptions = resolveOptions({
 *   brokers: ["127.0.0.1:9092"],
 *   groupId: "billing",
 *   topics: ["orders"],
 * });
 * opts.mode; // "subscribe"
 * opts.rebalanceTimeoutMs; // 300000 (= maxPollIntervalMs)
 * ```
 */
export type ResolvedOptions = ResolvedSubscribeOptions | ResolvedAssignOptions;

/**
 * One problem found in the options.
 *
 * @example
 * ```ts
 * import type { ConfigIssue } from "@sluice/kafka";
 * const issue: ConfigIssue = { field: "assign[1].partition", reason: "must be an integer >= 0 (got -1)" };
 * ```
 */
export interface ConfigIssue {
  /** Dotted path of the option, e.g. `sessionTimeoutMs` or `assign[1].partition`; `""` for the whole. */
  field: string;
  /** What is wrong, and the value received (`<redacted>` for secret-looking fields). */
  reason: string;
}

/**
 * The consumer's options are wrong. Thrown at construction, before anything
 * connects. `field` names the first offending option, `issues` lists them
 * all; the message has one line per issue. Values of secret-looking fields
 * (SASL settings, passwords, tokens, keys) never appear.
 *
 * @example
 * ```ts
 * import { ConfigError, Consumer } from "@sluice/kafka";
 * try {
 *   new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["t"], sessionTimeoutMs: -5 });
 * } catch (e) {
 *   if (e instanceof ConfigError) {
 *     e.field; // "sessionTimeoutMs"
 *     e.message; // 'Invalid consumer option "sessionTimeoutMs": must be an integer >= 1000 (got -5)'
 *   }
 * }
 * ```
 */
export class ConfigError extends KafkaError {
  /** Dotted path of the first offending option (`""` when the options are not an object). */
  readonly field: string;
  /** Every problem found: each field's own, then unknown keys, then rules across fields. */
  readonly issues: ConfigIssue[];

  /** Creates the error from at least one issue. */
  constructor(issues: ConfigIssue[], options?: ErrorOptions) {
    if (issues.length === 0) issues = [{ field: "", reason: "are invalid" }];
    super(configErrorMessage(issues), options);
    this.field = issues[0].field;
    this.issues = issues.map((i) => ({ ...i }));
  }
}

function configErrorMessage(issues: ConfigIssue[]): string {
  const line = (i: ConfigIssue) => i.field === "" ? i.reason : `"${i.field}": ${i.reason}`;
  if (issues.length === 1) {
    const [i] = issues;
    return i.field === ""
      ? `Invalid consumer options: ${i.reason}`
      : `Invalid consumer option ${line(i)}`;
  }
  return `Invalid consumer options (${issues.length} problems):\n` +
    issues.map((i) => `  - ${line(i)}`).join("\n");
}

// ---------------------------------------------------------------------------
// Loggers
// ---------------------------------------------------------------------------

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function noop(): void {}

/**
 * A {@linkcode Logger} that prints one structured (logfmt) line per event to
 * stderr, for events at `level` or above:
 * `time=2025-01-01T00:00:00.000Z level=warn msg="coordinator moved" group=billing`.
 * Fields with secret-looking names (password, token, key, sasl, …) print as
 * `<redacted>`; bigints print as digits; errors as `Name: message`.
 *
 * @param level The least severe level printed.
 * @returns A logger for {@linkcode ConsumerOptions.logger}.
 * @throws {TypeError} when `level` is not a {@linkcode LogLevel}.
 *
 * @example
 * ```ts
 * import { consoleLogger, type ConsumerOptions } from "@sluice/kafka";
 * const options: ConsumerOptions = {
 *   brokers: "127.0.0.1:9092",
 *   groupId: "billing",
 *   topics: ["orders"],
 *   logger: consoleLogger("info"),
 * };
 * ```
 */
export function consoleLogger(level: LogLevel = "info"): Logger {
  const min = LEVELS.indexOf(level);
  if (min < 0) {
    throw new TypeError(
      `consoleLogger() level must be "debug", "info", "warn" or "error" (got ${describe(level)})`,
    );
  }
  const logger: Logger = {};
  for (const [i, name] of LEVELS.entries()) {
    logger[name] = i < min ? noop : (msg, fields) => console.error(logfmtLine(name, msg, fields));
  }
  return logger;
}

function logfmtLine(level: LogLevel, msg: string, fields?: Record<string, unknown>): string {
  let line = `time=${new Date().toISOString()} level=${level} msg=${logfmtValue(msg)}`;
  if (fields) line += logfmtFields(fields, "", 0);
  return line;
}

/** ` key=value` pairs; plain objects are flattened to dotted keys (a few levels deep). */
function logfmtFields(fields: object, prefix: string, depth: number): string {
  let s = "";
  for (const [k, v] of Object.entries(fields)) {
    const key = prefix + (k.replace(/[^\w.-]/g, "_") || "_");
    if (isSecretName(k)) s += ` ${key}=<redacted>`;
    else if (depth < 3 && isPlainObject(v)) s += logfmtFields(v, `${key}.`, depth + 1);
    else s += ` ${key}=${logfmtValue(fieldText(v))}`;
  }
  return s;
}

function isPlainObject(v: unknown): v is object {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function fieldText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (typeof v === "bigint") return v.toString();
  if (v === null || typeof v !== "object") return String(v);
  try {
    return JSON.stringify(v, (k, x) => {
      if (k !== "" && isSecretName(k)) return "<redacted>";
      if (typeof x === "bigint") return x.toString();
      if (x instanceof Error) return `${x.name}: ${x.message}`;
      return x;
    }) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function logfmtValue(s: string): string {
  return s === "" || /[\s="\\]/.test(s) ? JSON.stringify(s) : s;
}

/** Wraps the user's logger so every level exists and no call can throw or reject. */
function safeLogger(input: Logger | undefined): Required<Logger> {
  const out = {} as Required<Logger>;
  for (const name of LEVELS) {
    const f = input?.[name];
    out[name] = typeof f !== "function" ? noop : (msg, fields) => {
      try {
        const r: unknown = f.call(input, msg, fields);
        if (r instanceof Promise) r.catch(noop);
      } catch {
        // A logger must never break the consumer.
      }
    };
  }
  return out;
}

// ---------------------------------------------------------------------------
// Field schemas
// ---------------------------------------------------------------------------

const INT32_MAX = 2 ** 31 - 1;
const MIN_BUFFERED_BYTES = 64 * 1024;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const TOPIC_REASON = "must be a valid topic name: 1 to 249 characters of a-z A-Z 0-9 . _ -";
const BROKER = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/;
const BROKER_EXAMPLE = 'e.g. "127.0.0.1:9092" or "[::1]:9092"';

/** An integer in [min, max]; messages say which bound was crossed. */
function int(min: number, max = INT32_MAX) {
  const reason = `must be an integer >= ${min}`;
  return z.number({ error: reason })
    .int({ error: reason })
    .min(min, { error: reason })
    .max(max, { error: `must be an integer <= ${max}` });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be ${values.map((v) => `"${v}"`).join(" or ")}` });
}

const topicName = z.string({ error: TOPIC_REASON }).refine(
  (s) => TOPIC_NAME.test(s) && s !== "." && s !== "..",
  { error: TOPIC_REASON },
);

const brokerAddress = z.string({ error: `must be "host:port", ${BROKER_EXAMPLE}` })
  .superRefine((s, ctx) => {
    const m = BROKER.exec(s);
    if (m) {
      const port = Number(m[3]);
      if (port < 1 || port > 65535) {
        ctx.addIssue({ code: "custom", message: "port must be from 1 to 65535", input: s });
      }
      return;
    }
    let message = `must be "host:port", ${BROKER_EXAMPLE}`;
    if (!s.includes(":")) message = `must be "host:port" (the port is missing), ${BROKER_EXAMPLE}`;
    else if (!s.startsWith("[") && s.indexOf(":") !== s.lastIndexOf(":")) {
      message = `an IPv6 address must be in brackets, e.g. "[::1]:9092"`;
    }
    ctx.addIssue({ code: "custom", message, input: s });
  });

const brokersSchema = z.union([z.string(), z.array(z.string())], {
  error: (iss) =>
    iss.input === undefined
      ? `is required: the bootstrap brokers as "host:port" strings, ${BROKER_EXAMPLE}`
      : 'must be an array of "host:port" strings or one comma-separated string',
})
  .transform((v) =>
    typeof v === "string"
      ? v.split(",").map((s) => s.trim()).filter((s) => s !== "")
      : v.map((s) => s.trim())
  )
  .pipe(z.array(brokerAddress).min(1, { error: "must list at least one broker" }));

const topicsSchema = z.union([
  z.array(topicName).min(1, { error: "must list at least one topic" }),
  z.instanceof(RegExp),
], {
  error: (iss) =>
    typeof iss.input === "string"
      ? `must be an array of topic names or a RegExp; for one topic write ["${iss.input}"]`
      : "must be an array of topic names or a RegExp",
});

const offsetSchema = z.union([
  z.bigint().min(0n),
  z.literal("earliest"),
  z.literal("latest"),
  z.strictObject({ timestamp: z.number().int().min(0) }),
], {
  error: (iss) =>
    (typeof iss.input === "number" && Number.isSafeInteger(iss.input) && iss.input >= 0
      ? `must be a bigint offset (write ${iss.input}n), `
      : "must be a bigint offset >= 0n, ") +
    '"earliest", "latest" or { timestamp: ms since epoch }',
});

const assignEntry = z.strictObject({
  topic: topicName,
  partition: int(0),
  offset: offsetSchema.optional(),
}, { error: "must be an object { topic, partition, offset? }" });

const assignSchema = z.array(assignEntry, {
  error: "must be an array of { topic, partition, offset? }",
}).min(1, { error: "must list at least one partition" });

const assignorsSchema = z.array(oneOf(["range", "roundrobin"]), {
  error: 'must be an array of assignor names ("range", "roundrobin")',
})
  .min(1, { error: "must list at least one assignor" })
  .superRefine((list, ctx) => {
    list.forEach((name, i) => {
      if (list.indexOf(name) !== i) {
        ctx.addIssue({ code: "custom", path: [i], message: `lists "${name}" twice`, input: name });
      }
    });
  });

const nonEmptyString = (what: string) =>
  z.string({ error: `must be a non-empty string (${what})` })
    .min(1, { error: `must be a non-empty string (${what})` });

const groupInstanceIdReason = "must be 1 to 249 characters of a-z A-Z 0-9 . _ -";
const groupInstanceIdSchema = z.string({ error: groupInstanceIdReason })
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, { error: groupInstanceIdReason });

const listener = z.custom<RebalanceListener>((v) => typeof v === "function", {
  error: "must be a function (partitions) => void | Promise<void>",
});

const loggerSchema = z.custom<Logger>(
  (v) => typeof v === "object" && v !== null,
  { error: "must be an object with optional debug, info, warn, error functions" },
).superRefine((v, ctx) => {
  for (const name of LEVELS) {
    const f = (v as Record<string, unknown>)[name];
    if (f !== undefined && typeof f !== "function") {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: "must be a function (msg, fields?) => void",
        input: f,
      });
    }
  }
});

const secretString = z.union([z.string(), z.instanceof(Secret)], {
  error: "must be a string (or a Secret)",
});

const pem = (what: string) =>
  z.string({ error: `must be a PEM string (${what})` }).refine(
    (s) => s.includes("-----BEGIN "),
    { error: `must be a PEM string (${what}): "-----BEGIN ..." not found` },
  );

const tlsSchema = z.union([
  z.boolean(),
  z.strictObject({
    caCerts: z.array(pem("a CA certificate"), {
      error: "must be an array of PEM certificates",
    }).optional(),
    cert: pem("the client certificate chain").optional(),
    key: z.union([pem("the client private key"), z.instanceof(Secret)], {
      error: "must be a PEM private key string (or a Secret)",
    }).optional(),
  }).superRefine((t, ctx) => {
    if ((t.cert === undefined) !== (t.key === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [t.cert === undefined ? "cert" : "key"],
        message: "mutual TLS needs both cert and key",
        input: undefined,
      });
    }
  }),
], { error: "must be true, false or { caCerts?, cert?, key? }" });

const MECHANISMS = '"plain", "scram-sha-256", "scram-sha-512" or "oauthbearer"';

const saslUnion = z.discriminatedUnion("mechanism", [
  z.strictObject({
    mechanism: z.enum(["plain", "scram-sha-256", "scram-sha-512"]),
    username: nonEmptyString("the SASL user name"),
    password: secretString,
  }),
  z.strictObject({
    mechanism: z.literal("oauthbearer"),
    token: z.custom<OAuthBearerTokenProvider>((v) => typeof v === "function", {
      error: "must be a function returning a token (or a promise of one)",
    }),
    extensions: z.record(
      z.string(),
      z.string().regex(/^[\x21-\x7E \t\r\n]*$/, {
        error: "extension values are printable ASCII",
      }),
      {
        error: (iss) =>
          iss.code === "invalid_type" ? "must be an object of string values" : undefined,
      },
    ).superRefine((rec, ctx) => {
      // RFC 7628: keys are letters; "auth" is the token's own key.
      for (const k of Object.keys(rec)) {
        if (!/^[A-Za-z]+$/.test(k) || k === "auth") {
          ctx.addIssue({
            code: "custom",
            path: [k],
            message: k === "auth" ? '"auth" is reserved' : "extension names are letters only",
            input: k,
          });
        }
      }
    }).optional(),
  }),
], {
  error: (iss) =>
    typeof iss.input !== "object" || iss.input === null
      ? `must be an object { mechanism, ... } with mechanism ${MECHANISMS}`
      : `mechanism must be ${MECHANISMS}`,
});

// A missing mechanism is reported on "sasl" itself (the whole object is unusable).
const saslSchema = z.custom<z.input<typeof saslUnion>>(
  (v) =>
    typeof v === "object" && v !== null && (v as { mechanism?: unknown }).mechanism !== undefined,
  { error: `needs a mechanism: ${MECHANISMS}` },
).pipe(saslUnion);

/** One schema per option; the object-level rules are in {@linkcode resolveOptions}. */
const shape = {
  brokers: brokersSchema,
  clientId: z.string({ error: "must be a string" }).max(32767, {
    error: "must be at most 32767 characters",
  }).default("sluice"),
  groupId: nonEmptyString("the consumer group id").optional(),
  topics: topicsSchema.optional(),
  assign: assignSchema.optional(),
  autoOffsetReset: oneOf(["latest", "earliest", "none"]).default("latest"),
  commit: oneOf(["auto", "manual"]).default("auto"),
  autoCommitIntervalMs: int(1).default(5000),
  sessionTimeoutMs: int(1000).default(45000),
  heartbeatIntervalMs: int(1).default(3000),
  maxPollIntervalMs: int(1).default(300000),
  heartbeatThread: oneOf(["worker", "event-loop"]).default("worker"),
  rebalanceTimeoutMs: int(1).optional(),
  closeTimeoutMs: int(0).default(30000),
  requestTimeoutMs: int(1).default(30000),
  groupInstanceId: groupInstanceIdSchema.optional(),
  assignors: assignorsSchema.default(["range"]),
  isolationLevel: oneOf(["read_uncommitted", "read_committed"]).default("read_uncommitted"),
  maxBufferedBytes: int(MIN_BUFFERED_BYTES, Number.MAX_SAFE_INTEGER).default(32 * 1024 * 1024),
  fetchMinBytes: int(1).default(1),
  fetchMaxWaitMs: int(0).default(500),
  fetchMaxBytes: int(1).default(50 * 1024 * 1024),
  maxPartitionFetchBytes: int(1).default(1024 * 1024),
  checkCrcs: z.boolean({ error: "must be true or false" }).default(true),
  tls: tlsSchema.optional(),
  sasl: saslSchema.optional(),
  metadataMaxAgeMs: int(1).default(300000),
  retryBackoffMs: int(1).default(100),
  retryBackoffMaxMs: int(1).optional(),
  reconnectBackoffMs: int(1).default(50),
  reconnectBackoffMaxMs: int(1).optional(),
  // z.number() refuses Infinity, which is a valid answer here.
  bootstrapTimeoutMs: z.custom<number>(
    (n) =>
      n === Infinity || (Number.isInteger(n) && (n as number) >= 0 && (n as number) <= INT32_MAX),
    { error: "must be a whole number of ms from 0 up, or Infinity" },
  ).default(60000),
  // z.instanceof would type it `never`: AbortSignal's constructor is declared `new(): never`.
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, {
    error: "must be an AbortSignal",
  })
    .optional(),
  logger: loggerSchema.optional(),
  onAssigned: listener.optional(),
  onRevoked: listener.optional(),
  onLost: listener.optional(),
};

const optionsSchema = z.strictObject(shape);
type OptionKey = keyof typeof shape;
type Parsed = z.output<typeof optionsSchema>;
const OPTION_KEYS = Object.keys(shape) as OptionKey[];

// ConsumerOptions is written out for readable docs; this fails to compile
// when it and the schema disagree on a key or on a field's type.
type SchemaInput = z.input<typeof optionsSchema>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type FieldsAgree = {
  [K in keyof ConsumerOptions]-?: K extends keyof SchemaInput
    ? Same<ConsumerOptions[K], SchemaInput[K]>
    : false;
}[keyof ConsumerOptions];
type Assert<T extends true> = T;
type _SameKeys = Assert<Same<keyof ConsumerOptions, keyof SchemaInput>>;
type _SameFields = Assert<false extends FieldsAgree ? false : true>;

// ---------------------------------------------------------------------------
// resolveOptions
// ---------------------------------------------------------------------------

/**
 * Validates the consumer's options and fills in the defaults. Nothing
 * connects. Every problem is reported at once, in one {@linkcode ConfigError}.
 *
 * Rules beyond each field's own: exactly one of `topics` and `assign`;
 * `topics` needs `groupId`; `groupInstanceId` only with `topics`; an
 * explicit `commit: "auto"` needs `groupId`;
 * `heartbeatIntervalMs` < `sessionTimeoutMs`; `fetchMaxWaitMs` <
 * `requestTimeoutMs`; backoff maxima not below their starting values; no
 * partition listed twice in `assign`; no unknown keys.
 *
 * @param input The options as the user gave them (anything: it is checked).
 * @returns The options with every default filled in.
 * @throws {ConfigError} naming each offending field and why.
 *
 * @example
 * ```ts
 * import { resolveOptions } from "./config.ts";
 * const opts = resolveOptions({
 *   brokers: "10.0.0.1:9092, 10.0.0.2:9092",
 *   groupId: "billing",
 *   topics: ["orders", "refunds"],
 *   maxPollIntervalMs: 60_000,
 * });
 * opts.brokers; // ["10.0.0.1:9092", "10.0.0.2:9092"]
 * opts.rebalanceTimeoutMs; // 60000
 * opts.sessionTimeoutMs; // 45000
 * ```
 */
export function resolveOptions(input: unknown): ResolvedOptions {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ConfigError([{ field: "", reason: `must be an object (got ${describe(input)})` }]);
  }
  const raw = input as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const given = (key: OptionKey) => raw[key] !== undefined;

  // Each field on its own, so that the object-level rules below can still
  // run (and report) when some other field is wrong.
  const out: Record<string, unknown> = {};
  const valid = new Set<OptionKey>();
  for (const key of OPTION_KEYS) {
    const result = shape[key].safeParse(raw[key], { reportInput: true });
    if (result.success) {
      out[key] = result.data;
      valid.add(key);
    } else {
      issues.push(...toIssues(result.error.issues, [key]));
    }
  }
  for (const key of Object.keys(raw)) {
    if (!(OPTION_KEYS as string[]).includes(key)) issues.push(unknownKey([], key, OPTION_KEYS));
  }
  const o = out as Partial<Parsed>;
  const ok = (...keys: OptionKey[]) => keys.every((k) => valid.has(k));
  const fail = (field: string, reason: string) => issues.push({ field, reason });

  // Presence rules look at what was given, even when its value is wrong.
  const hasTopics = given("topics");
  const hasAssign = given("assign");
  if (hasTopics && hasAssign) {
    fail("assign", 'cannot be combined with "topics": give exactly one of them');
  } else if (!hasTopics && !hasAssign) {
    fail(
      "topics",
      'is required: give "topics" (subscribe, with groupId) or "assign" (explicit partitions)',
    );
  }
  if (hasTopics && ok("groupId") && o.groupId === undefined) {
    fail(
      "groupId",
      'is required with "topics": subscribing joins a consumer group (use "assign" to read without one)',
    );
  }
  if (hasAssign && given("groupInstanceId")) {
    fail("groupInstanceId", 'only applies with "topics" (static membership of a group)');
  }
  if (
    given("commit") && ok("commit", "groupId") && o.commit === "auto" && o.groupId === undefined
  ) {
    fail("commit", '"auto" needs groupId: without a group there is nowhere to commit');
  }
  if (ok("heartbeatIntervalMs", "sessionTimeoutMs")) {
    const { heartbeatIntervalMs: hb, sessionTimeoutMs: session } = o as Parsed;
    if (hb >= session) {
      fail(
        "heartbeatIntervalMs",
        `must be less than sessionTimeoutMs (${session}); Kafka recommends at most a third of it ` +
          `(got ${hb})`,
      );
    }
  }
  if (ok("fetchMaxWaitMs", "requestTimeoutMs")) {
    const { fetchMaxWaitMs: wait, requestTimeoutMs: timeout } = o as Parsed;
    if (wait >= timeout) {
      fail(
        "fetchMaxWaitMs",
        `must be less than requestTimeoutMs (${timeout}), or a waiting Fetch would time out ` +
          `(got ${wait})`,
      );
    }
  }
  for (
    const [base, max] of [["retryBackoffMs", "retryBackoffMaxMs"], [
      "reconnectBackoffMs",
      "reconnectBackoffMaxMs",
    ]] as const
  ) {
    if (ok(base, max) && o[max] !== undefined && o[max] < (o as Parsed)[base]) {
      fail(max, `must be >= ${base} (${o[base]}) (got ${o[max]})`);
    }
  }
  if (ok("assign") && o.assign) {
    const seen = new Map<string, number>();
    o.assign.forEach(({ topic, partition }, i) => {
      const id = partitionKey(topic, partition);
      const first = seen.get(id);
      if (first === undefined) seen.set(id, i);
      else {
        fail(
          `assign[${i}]`,
          `repeats assign[${first}] (topic "${topic}" partition ${partition}); list each partition once`,
        );
      }
    });
  }

  if (issues.length > 0) throw new ConfigError(issues);
  return build(o as Parsed);
}

function build(p: Parsed): ResolvedOptions {
  const retryBackoffMaxMs = p.retryBackoffMaxMs ?? Math.max(1000, p.retryBackoffMs);
  const reconnectBackoffMaxMs = p.reconnectBackoffMaxMs ?? Math.max(1000, p.reconnectBackoffMs);
  const { topics: _topics, assign: _assign, ...rest } = p;
  const common: ResolvedCommonOptions = {
    ...rest,
    brokers: [...new Set(p.brokers)],
    rebalanceTimeoutMs: p.rebalanceTimeoutMs ?? p.maxPollIntervalMs,
    assignors: [...p.assignors],
    tls: resolveTls(p.tls),
    sasl: resolveSasl(p.sasl),
    retryBackoffMaxMs,
    reconnectBackoffMaxMs,
    retryBackoff: { initialMs: p.retryBackoffMs, maxMs: retryBackoffMaxMs },
    reconnectBackoff: { initialMs: p.reconnectBackoffMs, maxMs: reconnectBackoffMaxMs },
    logger: safeLogger(p.logger),
  };
  if (p.topics !== undefined) {
    const topics = p.topics instanceof RegExp
      ? new RegExp(p.topics.source, p.topics.flags.replace(/[gy]/g, ""))
      : [...new Set(p.topics)];
    // groupId is present: resolveOptions checked it.
    return { ...common, mode: "subscribe", groupId: p.groupId!, topics };
  }
  const assign = p.assign!.map(({ topic, partition, offset }): AssignedPartition =>
    offset === undefined ? { topic, partition } : {
      topic,
      partition,
      offset: typeof offset === "object" ? { timestamp: offset.timestamp } : offset,
    }
  );
  return { ...common, mode: "assign", assign, groupInstanceId: undefined };
}

function asSecret(v: string | Secret): Secret {
  return v instanceof Secret ? v : new Secret(v);
}

function resolveTls(tls: Parsed["tls"]): TlsConfig | undefined {
  if (tls === undefined || tls === false) return undefined;
  if (tls === true) return {};
  return {
    caCerts: tls.caCerts ? [...tls.caCerts] : undefined,
    cert: tls.cert,
    key: tls.key === undefined ? undefined : asSecret(tls.key),
  };
}

function resolveSasl(sasl: Parsed["sasl"]): SaslConfig | undefined {
  if (sasl === undefined) return undefined;
  if (sasl.mechanism === "oauthbearer") {
    return {
      mechanism: "oauthbearer",
      tokens: new OAuthBearerTokenCache(sasl.token),
      extensions: { ...sasl.extensions },
    };
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: asSecret(sasl.password) };
}

// ---------------------------------------------------------------------------
// Issues: paths, unknown keys, values
// ---------------------------------------------------------------------------

type Path = ReadonlyArray<PropertyKey>;

function toIssues(zodIssues: readonly z.core.$ZodIssue[], prefix: Path): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of zodIssues) {
    const path = [...prefix, ...issue.path];
    let next: ConfigIssue[];
    if (issue.code === "unrecognized_keys") {
      next = issue.keys.map((k) => unknownKey(path, k, knownKeysAt(path)));
    } else {
      let reason = issue.message;
      if (!("input" in issue) || issue.input === undefined) {
        if (issue.code === "invalid_type" || issue.code === "invalid_union") {
          if (!reason.startsWith("is required")) reason = `is required (${reason})`;
        }
      } else {
        reason += ` (got ${isSecretPath(path) ? "<redacted>" : describe(issue.input)})`;
      }
      next = [{ field: fieldName(path), reason }];
    }
    for (const i of next) {
      if (!out.some((o) => o.field === i.field && o.reason === i.reason)) out.push(i);
    }
  }
  return out;
}

/** The keys allowed in the object at `path`, found by walking the schema. */
function knownKeysAt(path: Path): string[] {
  // deno-lint-ignore no-explicit-any
  let s: any = optionsSchema;
  for (const seg of path) {
    while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPipe) {
      s = s instanceof z.ZodPipe ? s.out : s.unwrap();
    }
    if (s instanceof z.ZodObject && typeof seg === "string") s = s.shape[seg];
    else if (s instanceof z.ZodArray && typeof seg === "number") s = s.element;
    else return [];
    if (s === undefined) return [];
  }
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap();
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

/** Kafka's Java (and some other clients') names for our options. */
const ALIASES: Record<string, string> = {
  bootstrapServers: "brokers",
  bootstrapBrokers: "brokers",
  topic: "topics",
  subscribe: "topics",
  partitions: "assign",
  enableAutoCommit: "commit",
  autoCommit: "commit",
  fromBeginning: "autoOffsetReset",
  partitionAssignmentStrategy: "assignors",
  checkCrc: "checkCrcs",
};

function unknownKey(path: Path, key: string, known: readonly string[]): ConfigIssue {
  const hint = suggest(key, known);
  const what = path.length === 0 ? "unknown option" : "unknown key";
  return {
    field: fieldName([...path, key]),
    reason: hint !== undefined
      ? `${what}; did you mean "${hint}"?`
      : known.length > 0 && known.length <= 8
      ? `${what} (known: ${known.join(", ")})`
      : `${what} (see ConsumerOptions for the list)`,
  };
}

function suggest(key: string, known: readonly string[]): string | undefined {
  // Java-style dotted names: "session.timeout.ms" -> "sessionTimeoutMs".
  const camel = key.replace(/[._-]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
  for (const candidate of [key, camel]) {
    const alias = ALIASES[candidate];
    if (alias !== undefined && known.includes(alias)) return alias;
    const sameCase = known.find((k) => k.toLowerCase() === candidate.toLowerCase());
    if (sameCase !== undefined) return sameCase;
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(camel.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(camel.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function fieldName(path: Path): string {
  let s = "";
  for (const seg of path) {
    if (typeof seg === "number") s += `[${seg}]`;
    else if (s === "") s = String(seg); // a top-level key, as the user wrote it
    else if (typeof seg === "string" && /^[A-Za-z_$][\w$]*$/.test(seg)) s += `.${seg}`;
    else s += `[${JSON.stringify(String(seg))}]`;
  }
  return s;
}

const SECRET = /sasl|passw|secret|token|key|credential|auth|private/i;

function isSecretName(name: string): boolean {
  return SECRET.test(name);
}

function isSecretPath(path: Path): boolean {
  return path.some((seg) => typeof seg === "string" && isSecretName(seg));
}

/** A short, safe rendering of a received value for an error message. */
function describe(v: unknown): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
    case "bigint":
      return `${v}n`;
    case "function":
      return "a function";
    case "symbol":
      return v.toString();
    case "object":
      if (v === null) return "null";
      if (Array.isArray(v)) {
        return v.length === 0
          ? "an empty array"
          : `an array of ${v.length} item${v.length === 1 ? "" : "s"}`;
      }
      if (v instanceof RegExp) return String(v);
      if (v instanceof Date) return "a Date";
      {
        const name = Object.getPrototypeOf(v)?.constructor?.name;
        return name && name !== "Object"
          ? `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`
          : "an object";
      }
    default:
      return String(v);
  }
}
