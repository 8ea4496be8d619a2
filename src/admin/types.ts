/**
 * What the `Admin` client's calls take and return.
 *
 * @module
 */

import type { TopicPartition } from "../util/partitions.ts";

/**
 * A topic to create with `admin.createTopics()`.
 *
 * @example
 * ```ts
 * import type { NewTopic } from "@sluice/kafka";
 * const topic: NewTopic = {
 *   name: "orders",
 *   partitions: 6,
 *   replicationFactor: 3,
 *   configs: { "cleanup.policy": "compact" },
 * };
 * ```
 */
export interface NewTopic {
  /** Topic name: 1 to 249 characters of `a-z A-Z 0-9 . _ -`. */
  name: string;
  /**
   * Number of partitions.
   * @default {the broker's num.partitions}
   */
  partitions?: number;
  /**
   * Copies of each partition.
   * @default {the broker's default.replication.factor}
   */
  replicationFactor?: number;
  /** Topic configs, e.g. `{ "retention.ms": "86400000" }`. */
  configs?: Record<string, string>;
}

/**
 * Options of `admin.createTopics()`.
 *
 * @example
 * ```ts
 * import type { CreateTopicsOptions } from "@sluice/kafka";
 * const options: CreateTopicsOptions = { ifMissing: true, timeoutMs: 10_000 };
 * ```
 */
export interface CreateTopicsOptions {
  /**
   * A topic that exists already is not an error (its partitions and configs
   * are left as they are).
   * @default {false}
   */
  ifMissing?: boolean;
  /** Only check that the topics could be created (names, configs, replicas); create nothing. */
  validateOnly?: boolean;
  /**
   * How long, in ms, the controller may take, and then how long the call
   * waits for every new partition to have a leader.
   * @default {requestTimeoutMs}
   */
  timeoutMs?: number;
}

/**
 * Partitions to add to a topic with `admin.createPartitions()`: `count` is
 * the new total, not the number added. Partitions can only be added.
 *
 * @example
 * ```ts
 * import type { NewPartitions } from "@sluice/kafka";
 * const more: NewPartitions = { topic: "orders", count: 12 };
 * ```
 */
export interface NewPartitions {
  /** Topic name. */
  topic: string;
  /** The total number of partitions the topic should have. */
  count: number;
}

/**
 * Options of `admin.deleteTopics()` and `admin.createPartitions()`.
 *
 * @example
 * ```ts
 * import type { TopicChangeOptions } from "@sluice/kafka";
 * const options: TopicChangeOptions = { timeoutMs: 10_000 };
 * ```
 */
export interface TopicChangeOptions {
  /**
   * How long, in ms, the controller may take, and then how long the call
   * waits for metadata to show the change.
   * @default {requestTimeoutMs}
   */
  timeoutMs?: number;
  /** Only check that the change could be made (`createPartitions` only). */
  validateOnly?: boolean;
}

/**
 * One partition of a described topic.
 *
 * @example
 * ```ts
 * import type { PartitionDescription } from "@sluice/kafka";
 * const p: PartitionDescription = {
 *   partition: 0, leader: 1, leaderEpoch: 4, replicas: [1, 2, 3], isr: [1, 2], offlineReplicas: [],
 * };
 * ```
 */
export interface PartitionDescription {
  /** Partition index. */
  partition: number;
  /** Node id of the leader; -1 when there is none. */
  leader: number;
  /** The leader's epoch; -1 when unknown. */
  leaderEpoch: number;
  /** Node ids of every replica, the preferred leader first. */
  replicas: number[];
  /** Node ids of the in-sync replicas. */
  isr: number[];
  /** Node ids of replicas on offline log directories. */
  offlineReplicas: number[];
}

/**
 * A topic as `admin.describeTopics()` returns it (from cluster metadata).
 *
 * @example
 * ```ts
 * import type { TopicDescription } from "@sluice/kafka";
 * function replicated(t: TopicDescription): boolean {
 *   return t.partitions.every((p) => p.isr.length === p.replicas.length);
 * }
 * ```
 */
export interface TopicDescription {
  /** Topic name. */
  name: string;
  /** Topic id (Kafka's base64url UUID form). */
  topicId: string;
  /** Whether it is one of Kafka's internal topics (`__consumer_offsets`, …). */
  internal: boolean;
  /** Partitions, by index. */
  partitions: PartitionDescription[];
}

/**
 * Options of `admin.listTopics()`.
 *
 * @example
 * ```ts
 * import type { ListTopicsOptions } from "@sluice/kafka";
 * const options: ListTopicsOptions = { internal: true };
 * ```
 */
export interface ListTopicsOptions {
  /**
   * Include Kafka's internal topics (`__consumer_offsets`, `__transaction_state`, …).
   * @default {false}
   */
  internal?: boolean;
}

/**
 * A group as `admin.listGroups()` returns it.
 *
 * @example
 * ```ts
 * import type { GroupListing } from "@sluice/kafka";
 * const g: GroupListing = { groupId: "billing", protocolType: "consumer", state: "Stable", type: "classic" };
 * ```
 */
export interface GroupListing {
  /** Group id. */
  groupId: string;
  /** `"consumer"` for consumer groups; other protocols (Connect: `"connect"`) say theirs. */
  protocolType: string;
  /** The group's state as the coordinator names it, e.g. `"Stable"`, `"Empty"`. */
  state: string;
  /**
   * The group's type as the coordinator names it: `"classic"`, `"consumer"`
   * (KIP-848), `"share"`, `"streams"`; `""` from brokers before Kafka 3.8.
   */
  type: string;
}

/**
 * Options of `admin.listGroups()`: filters applied by the brokers.
 *
 * @example
 * ```ts
 * import type { ListGroupsOptions } from "@sluice/kafka";
 * const empty: ListGroupsOptions = { states: ["Empty"], types: ["classic"] };
 * ```
 */
export interface ListGroupsOptions {
  /** Only groups in one of these states (e.g. `"Empty"`, `"Stable"`); case-insensitive. */
  states?: string[];
  /** Only groups of these types (`"classic"`, `"consumer"`, `"share"`, `"streams"`). */
  types?: string[];
}

/**
 * Which offset `admin.listOffsets()` looks up: the log start, the log end,
 * or the first record whose timestamp is at or after `timestamp` (ms since
 * the epoch).
 *
 * @example
 * ```ts
 * import type { OffsetQuery } from "@sluice/kafka";
 * const anHourAgo: OffsetQuery = { timestamp: Date.now() - 3_600_000 };
 * ```
 */
export type OffsetQuery = "earliest" | "latest" | { timestamp: number };

/**
 * One lookup of `admin.listOffsets()`.
 *
 * @example
 * ```ts
 * import type { OffsetLookup } from "@sluice/kafka";
 * const lookup: OffsetLookup = { topic: "orders", partition: 0, at: "latest" };
 * ```
 */
export interface OffsetLookup extends TopicPartition {
  /** Which offset. */
  at: OffsetQuery;
}

/**
 * Options of `admin.listOffsets()`.
 *
 * @example
 * ```ts
 * import type { ListOffsetsOptions } from "@sluice/kafka";
 * const options: ListOffsetsOptions = { isolationLevel: "read_committed" };
 * ```
 */
export interface ListOffsetsOptions {
  /**
   * `"read_committed"`: "latest" is the last stable offset (before any open
   * transaction) rather than the high watermark.
   * @default {"read_uncommitted"}
   */
  isolationLevel?: "read_uncommitted" | "read_committed";
}

/**
 * The answer to one {@linkcode OffsetLookup}.
 *
 * @example
 * ```ts
 * import type { ListedOffset } from "@sluice/kafka";
 * const o: ListedOffset = { topic: "orders", partition: 0, offset: 42n, timestamp: -1, leaderEpoch: 3 };
 * ```
 */
export interface ListedOffset extends TopicPartition {
  /**
   * The offset: for "latest" the high watermark (the next offset to be
   * written), for a timestamp the first record at or after it, or `-1n`
   * when no record is that recent (as Kafka answers).
   */
  offset: bigint;
  /** The record's timestamp for a timestamp lookup (ms); -1 for earliest/latest. */
  timestamp: number;
  /** The leader epoch of that offset; -1 when unknown. */
  leaderEpoch: number;
}

/**
 * A group's position in one partition, from `admin.groupOffsets()`: what it
 * committed, where the log ends, and the difference.
 *
 * @example
 * ```ts
 * import type { GroupPartitionOffset } from "@sluice/kafka";
 * function behind(rows: GroupPartitionOffset[]): bigint {
 *   return rows.reduce((sum, r) => sum + (r.lag ?? 0n), 0n);
 * }
 * ```
 */
export interface GroupPartitionOffset extends TopicPartition {
  /** The committed offset (the next one the group will read); null when none. */
  committed: bigint | null;
  /** The partition's log end offset (high watermark). */
  logEnd: bigint;
  /** `logEnd - committed`; null when nothing is committed. */
  lag: bigint | null;
  /** Metadata committed with the offset (`""` when none was given); null when nothing is committed. */
  metadata: string | null;
}

/**
 * The kinds of resources whose configs `admin.describeConfigs()` and
 * `admin.alterConfigs()` handle. A broker is named by its node id (`"1"`);
 * `""` is the cluster-wide default of every broker.
 *
 * @example
 * ```ts
 * import type { ConfigResourceType } from "@sluice/kafka";
 * const type: ConfigResourceType = "topic";
 * ```
 */
export type ConfigResourceType = "topic" | "broker" | "group";

/**
 * A resource whose configs are described or altered.
 *
 * @example
 * ```ts
 * import type { ConfigResource } from "@sluice/kafka";
 * const resources: ConfigResource[] = [{ type: "topic", name: "orders" }, { type: "broker", name: "1" }];
 * ```
 */
export interface ConfigResource {
  /** What kind of resource. */
  type: ConfigResourceType;
  /** Topic name, broker node id (`"1"`; `""` for the cluster default), or group id. */
  name: string;
}

/**
 * Where a config's value comes from, as Kafka's Java admin client names
 * them (in kebab case): set on the topic, on a broker, as the default of all
 * brokers, in a broker's properties file, Kafka's default, and so on.
 *
 * @example
 * ```ts
 * import type { ConfigSource } from "@sluice/kafka";
 * const overridden = (s: ConfigSource) => s.startsWith("dynamic-");
 * ```
 */
export type ConfigSource =
  | "dynamic-topic"
  | "dynamic-broker"
  | "dynamic-default-broker"
  | "static-broker"
  | "default"
  | "dynamic-broker-logger"
  | "dynamic-client-metrics"
  | "dynamic-group"
  | "unknown";

/**
 * One config entry of a described resource.
 *
 * @example
 * ```ts
 * import type { ConfigEntry } from "@sluice/kafka";
 * const e: ConfigEntry = {
 *   name: "retention.ms", value: "86400000", readOnly: false, isDefault: false,
 *   source: "dynamic-topic", sensitive: false,
 * };
 * ```
 */
export interface ConfigEntry {
  /** Config name, e.g. `"retention.ms"`. */
  name: string;
  /** Its value; null for a sensitive one (passwords are never sent) or when unset. */
  value: string | null;
  /** It cannot be changed at run time. */
  readOnly: boolean;
  /** The value is Kafka's default (`source` is `"default"`). */
  isDefault: boolean;
  /** Where the value comes from. */
  source: ConfigSource;
  /** It holds a secret (its value is not shown). */
  sensitive: boolean;
}

/**
 * A resource's configs, from `admin.describeConfigs()`.
 *
 * @example
 * ```ts
 * import type { ResourceConfigs } from "@sluice/kafka";
 * const valueOf = (r: ResourceConfigs, name: string) => r.entries.find((e) => e.name === name)?.value;
 * ```
 */
export interface ResourceConfigs extends ConfigResource {
  /** Every config of the resource, by name order as the broker sends them. */
  entries: ConfigEntry[];
}

/**
 * Changes to one resource's configs (`admin.alterConfigs()`, Kafka's
 * IncrementalAlterConfigs): other configs are left as they are.
 *
 * @example
 * ```ts
 * import type { ConfigChange } from "@sluice/kafka";
 * const change: ConfigChange = {
 *   type: "topic",
 *   name: "orders",
 *   set: { "retention.ms": "3600000" },
 *   delete: ["max.message.bytes"], // back to the default
 * };
 * ```
 */
export interface ConfigChange extends ConfigResource {
  /** Configs to set to a value. */
  set?: Record<string, string>;
  /** Configs to remove (they fall back to their default). */
  delete?: string[];
  /** List configs to add values to (comma-separated), e.g. `{ "cleanup.policy": "compact" }`. */
  append?: Record<string, string>;
  /** List configs to remove values from (comma-separated). */
  subtract?: Record<string, string>;
}

/**
 * Options of `admin.alterConfigs()`.
 *
 * @example
 * ```ts
 * import type { AlterConfigsOptions } from "@sluice/kafka";
 * const dryRun: AlterConfigsOptions = { validateOnly: true };
 * ```
 */
export interface AlterConfigsOptions {
  /** Only check that the changes are valid; change nothing. */
  validateOnly?: boolean;
}
