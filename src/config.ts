/**
 * The Consumer's options, declared once in `consumerInterface`
 * (`config_table.ts`: per option its docs, public type, zod schema and
 * default), from which come the user-facing {@linkcode ConsumerOptions}
 * (generated into `config_generated.ts` by `deno task gen:options`), their
 * validation, and the {@linkcode ResolvedOptions} every other part of the
 * consumer reads (defaults filled, cross-field rules checked).
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

import type { z } from "zod";
import type { ConsumerOptions } from "./config_generated.ts";
import { consumerInterface } from "./config_table.ts";
import {
  clientOptionsSchema,
  type OptionsMatch,
  resolveClient,
  type ResolvedClientOptions,
  startClientResolving,
} from "./options/client.ts";
import { ConfigError, type ConfigIssue } from "./options/issues.ts";
import { partitionKey, type TopicPartition } from "./util/partitions.ts";
import { toBrokerRegex } from "./options/broker_regex.ts";

export {
  type ClientOptions,
  type ResolvedClientOptions,
  type SaslOAuthBearerOptions,
  type SaslOptions,
  type SaslPasswordOptions,
  type TlsOptions,
} from "./options/client.ts";
export type { ConsumerOptions } from "./config_generated.ts";
export { ConfigError, type ConfigIssue } from "./options/issues.ts";
export { consoleLogger, type Logger, type LogLevel } from "./options/logger.ts";
export type { TopicPartition } from "./util/partitions.ts";

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

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
 * A partition assignment strategy the group leader may use, by the names
 * Kafka's Java consumer uses in JoinGroup (so mixed groups agree):
 *
 * - `"range"`: per topic, contiguous ranges of partitions (eager).
 * - `"roundrobin"`: all partitions dealt out in turn (eager).
 * - `"cooperative-sticky"` (KIP-429): members keep what they own as far as
 *   balance allows, and only partitions that move are revoked — the others
 *   keep being fetched and delivered through the rebalance. Used
 *   cooperatively only when it is the only assignor listed; listed next to
 *   an eager one, the group rebalances eagerly (Java's rule, which makes
 *   the two-step upgrade of a running group possible).
 *
 * @example
 * ```ts
 * import type { AssignorName } from "@sluice/kafka";
 * const assignors: AssignorName[] = ["cooperative-sticky"];
 * ```
 */
export type AssignorName = "range" | "roundrobin" | "cooperative-sticky";

/**
 * The consumer group protocol a member speaks (Java's `group.protocol`):
 *
 * - `"classic"`: JoinGroup/SyncGroup, the group leader (one of the members)
 *   assigns, rebalances are eager or cooperative as `assignors` says.
 * - `"consumer"` (KIP-848, Kafka 4.0+): the broker assigns
 *   (`groupRemoteAssignor`) and hands each member its changes through
 *   ConsumerGroupHeartbeat; there is no group-wide barrier: a member revokes
 *   only what moves and keeps everything else. The broker owns the session
 *   timeout and heartbeat interval (`group.consumer.*` broker settings and
 *   group configs), so `sessionTimeoutMs`, `heartbeatIntervalMs` and
 *   `assignors` are refused with it.
 *
 * @example
 * ```ts
 * import type { GroupProtocol } from "@sluice/kafka";
 * const protocol: GroupProtocol = "consumer";
 * ```
 */
export type GroupProtocol = "classic" | "consumer";

/** Options whose resolved form differs from what the user gives. */
type Transformed = keyof ResolvedClientOptions | "topics" | "assign";

/**
 * The options of the consumer after validation, whatever the mode: the
 * schema's output (each field documented in {@linkcode ConsumerOptions}),
 * every default filled in, and these in their resolved form: `brokers` a list
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
  // What the schema outputs: defaults filled (so never undefined), the rest
  // optional — no second list of option names to keep in step.
  & Omit<Parsed, Transformed | "rebalanceTimeoutMs">
  & { rebalanceTimeoutMs: number }
  & ResolvedClientOptions;

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
  /**
   * A RegExp subscription under `groupProtocol: "consumer"`, as the broker
   * matches it: the RE2J pattern sent as `subscribedTopicRegex` (see
   * `toBrokerRegex`), e.g. `orders-.*` for `/^orders-/`. Unset otherwise.
   */
  topicsRegex?: string;
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
  /** Never set in assign mode. */
  topicsRegex?: undefined;
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

/** Kafka's Java (and some other clients') names for the consumer's options. */
const ALIASES = {
  topic: "topics",
  subscribe: "topics",
  partitions: "assign",
  enableAutoCommit: "commit",
  autoCommit: "commit",
  fromBeginning: "autoOffsetReset",
  partitionAssignmentStrategy: "assignors",
  checkCrc: "checkCrcs",
  maxPollRecords: "maxBatchRecords",
};

/** One schema per option; the object-level rules are in {@linkcode resolveOptions}. */
const { shape, schema: optionsSchema } = clientOptionsSchema(consumerInterface.table);
type OptionKey = keyof typeof shape;
type Parsed = z.output<typeof optionsSchema>;
// Fails to compile when the generated ConsumerOptions is stale (run deno task gen:options).
const _optionsMatchSchema: OptionsMatch<ConsumerOptions, z.input<typeof optionsSchema>> = true;

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
  const names = { aliases: ALIASES, typeName: "ConsumerOptions", subject: "consumer" } as const;
  const r = startClientResolving(input, shape, names);
  const given = (key: OptionKey) => r.raw[key] !== undefined;
  const o = r.values as Partial<Parsed>;
  const { ok, fail } = r;

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
  // A number option that must stay below another: `why` ends the message.
  const below = (key: OptionKey, limit: OptionKey, why: string) => {
    const [value, max] = [o[key] as number, o[limit] as number];
    if (ok(key, limit) && value >= max) {
      fail(key, `must be less than ${limit} (${max})${why} (got ${value})`);
    }
  };
  below("heartbeatIntervalMs", "sessionTimeoutMs", "; Kafka recommends at most a third of it");
  if (ok("groupProtocol") && o.groupProtocol === "consumer") {
    // As Java's ConsumerConfig: the broker owns these under KIP-848.
    const owned: [OptionKey, string][] = [
      [
        "sessionTimeoutMs",
        "the broker's group.consumer.session.timeout.ms (or the group's config)",
      ],
      ["heartbeatIntervalMs", "the broker's group.consumer.heartbeat.interval.ms"],
      ["assignors", 'the broker\'s assignors: use "groupRemoteAssignor"'],
    ];
    for (const [key, instead] of owned) {
      if (given(key)) {
        fail(key, `is not used with groupProtocol "consumer": the broker decides (${instead})`);
      }
    }
    if (ok("topics") && o.topics instanceof RegExp) {
      // The broker matches it (RE2J, whole names): refused when it cannot say the same.
      const refused = brokerRegexIssues(o.topics);
      for (const i of refused ?? []) fail(i.field, i.reason);
    }
  } else if (given("groupRemoteAssignor")) {
    fail("groupRemoteAssignor", 'only applies with groupProtocol "consumer"');
  }
  below("fetchMaxWaitMs", "requestTimeoutMs", ", or a waiting Fetch would time out");

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

  r.throwIfAny();
  return build(o as Parsed);
}

/** The ConfigError's issues when `re` has no RE2J equivalent, else null. */
function brokerRegexIssues(re: RegExp): ConfigIssue[] | null {
  try {
    toBrokerRegex(re);
    return null;
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
}

function build(p: Parsed): ResolvedOptions {
  // tls, sasl and logger change type when resolved: resolveClient has them.
  const { topics: _topics, assign: _assign, tls: _tls, sasl: _sasl, logger: _logger, ...rest } = p;
  const common: ResolvedCommonOptions = {
    ...rest,
    ...resolveClient(p),
    rebalanceTimeoutMs: p.rebalanceTimeoutMs ?? p.maxPollIntervalMs,
    assignors: [...p.assignors],
  };
  if (p.topics !== undefined) {
    const topics = p.topics instanceof RegExp
      ? new RegExp(p.topics.source, p.topics.flags.replace(/[gy]/g, ""))
      : [...new Set(p.topics)];
    // groupId is present: resolveOptions checked it.
    const subscribe: ResolvedSubscribeOptions = {
      ...common,
      mode: "subscribe",
      groupId: p.groupId!,
      topics,
    };
    if (topics instanceof RegExp && p.groupProtocol === "consumer") {
      subscribe.topicsRegex = toBrokerRegex(topics);
    }
    return subscribe;
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
