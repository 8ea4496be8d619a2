/**
 * The `Admin` client: topics, partitions, groups, offsets and configs of a
 * Kafka cluster.
 *
 * Routing, as Kafka's Java admin client does: topic and partition changes
 * and topic/group configs go to any broker (in KRaft the controller is not
 * reachable by clients; brokers forward), a broker's configs to that broker,
 * group calls to the group's coordinator (FindCoordinator), ListOffsets to
 * each partition's leader, ListGroups to every broker.
 *
 * Errors: a call about several items tries every item; when one fails it
 * throws that item's error (a `KafkaProtocolError` naming the topic, group
 * or resource, with the broker's message), when several fail an
 * `AdminBatchError` listing each. Lost connections, leader and coordinator
 * moves are retried with backoff, a bounded number of times.
 *
 * @module
 */

import { CONFIG_RESOURCE_TYPES } from "../protocol/config_resources.ts";
import { Cluster } from "../net/cluster.ts";
import { clusterOptions } from "../options/client.ts";
import type { Connection } from "../net/connection.ts";
import { ConnectionError, RequestTimeoutError } from "../net/errors.ts";
import { GroupClient, type GroupDescription } from "../net/group_client.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { isRetriable, KafkaError, KafkaProtocolError } from "../protocol/errors.ts";
import { CreatePartitionsApi } from "../protocol/messages/create_partitions.ts";
import { CreateTopicsApi } from "../protocol/messages/create_topics.ts";
import { DeleteTopicsApi } from "../protocol/messages/delete_topics.ts";
import { DescribeConfigsApi } from "../protocol/messages/describe_configs.ts";
import { IncrementalAlterConfigsApi } from "../protocol/messages/incremental_alter_configs.ts";
import { ListGroupsApi } from "../protocol/messages/list_groups.ts";
import { ListOffsetsApi } from "../protocol/messages/list_offsets.ts";
import type { MetadataResponse } from "../protocol/messages/metadata.ts";
import type { ApiSchema } from "../protocol/schema.ts";
import { backoffMs, delay } from "../util/async.ts";
import { groupByTopic, partitionKey, type TopicPartition } from "../util/partitions.ts";
import { forEachItem, throwFailures } from "./errors.ts";
import { type AdminOptions, resolveAdminOptions, type ResolvedAdminOptions } from "./options.ts";
import type {
  AlterConfigsOptions,
  ConfigChange,
  ConfigEntry,
  ConfigResource,
  ConfigResourceType,
  ConfigSource,
  CreateTopicsOptions,
  GroupListing,
  GroupPartitionOffset,
  ListedOffset,
  ListGroupsOptions,
  ListOffsetsOptions,
  ListTopicsOptions,
  NewPartitions,
  NewTopic,
  OffsetLookup,
  ResourceConfigs,
  TopicChangeOptions,
  TopicDescription,
} from "./types.ts";

/** Attempts of one request (or one round of per-partition lookups) before its error is thrown. */
const MAX_ATTEMPTS = 10;

/** Kafka's config resource type codes. */
const RESOURCE_CODES: Record<ConfigResourceType, number> = CONFIG_RESOURCE_TYPES;

/** Kafka's config source codes (DescribeConfigs v1+), named as Java's admin client does. */
const SOURCES: Record<number, ConfigSource> = {
  1: "dynamic-topic",
  2: "dynamic-broker",
  3: "dynamic-default-broker",
  4: "static-broker",
  5: "default",
  6: "dynamic-broker-logger",
  7: "dynamic-client-metrics",
  8: "dynamic-group",
};

/** IncrementalAlterConfigs operations. */
const OP = { set: 0, delete: 1, append: 2, subtract: 3 } as const;

/**
 * A client for administering a Kafka cluster: create, delete and describe
 * topics, add partitions, list and describe groups, look up offsets, read a
 * group's committed offsets and lag, delete groups, describe and alter
 * configs. Construction validates the options (a wrong one throws
 * `ConfigError`) and connects nothing; the first call bootstraps.
 *
 * @example
 * ```ts
 * import { Admin } from "@sluice/kafka";
 * async function setUp(): Promise<void> {
 *   await using admin = new Admin({ brokers: "127.0.0.1:9092" });
 *   await admin.createTopics([{ name: "orders", partitions: 6 }], { ifMissing: true });
 *   const [orders] = await admin.describeTopics(["orders"]);
 *   console.log(orders.partitions.length); // 6
 *   for (const row of await admin.groupOffsets("billing", ["orders"])) {
 *     console.log(row.partition, row.committed, row.lag);
 *   }
 * }
 * ```
 */
export class Admin implements AsyncDisposable {
  readonly #opts: ResolvedAdminOptions;
  readonly #cluster: Cluster;
  readonly #stop = new AbortController();
  #closed: Promise<void> | null = null;
  /** The broker that last answered a call that may go to any broker. */
  #preferred: number | null = null;

  /**
   * Validates the options; nothing connects until the first call.
   *
   * @param options Where the cluster is and how to reach it.
   * @throws {ConfigError} naming each wrong or unknown option.
   */
  constructor(options: AdminOptions) {
    this.#opts = resolveAdminOptions(options);
    const o = this.#opts;
    this.#cluster = new Cluster(clusterOptions(o, this.#stop.signal));
    const signal = o.signal;
    if (signal?.aborted) void this.close();
    else signal?.addEventListener("abort", () => void this.close(), { once: true });
  }

  // -------------------------------------------------------------------------
  // Topics
  // -------------------------------------------------------------------------

  /**
   * Creates topics and waits until metadata shows a leader for each of
   * their partitions (the controller answers before every broker has them).
   *
   * @param topics The topics: name, partitions, replication factor, configs.
   * @param options `ifMissing` (an existing topic is fine), `validateOnly`, `timeoutMs`.
   * @throws {KafkaProtocolError} for a topic the broker refused (TOPIC_ALREADY_EXISTS,
   *   INVALID_TOPIC_EXCEPTION, INVALID_REPLICATION_FACTOR, …), naming it and quoting the broker.
   * @throws {AdminBatchError} when several were refused (the others were created).
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function create(admin: Admin): Promise<void> {
   *   await admin.createTopics([
   *     { name: "orders", partitions: 6, replicationFactor: 3 },
   *     { name: "orders-compacted", configs: { "cleanup.policy": "compact" } },
   *   ], { ifMissing: true });
   * }
   * ```
   */
  async createTopics(
    topics: readonly NewTopic[],
    options: CreateTopicsOptions = {},
  ): Promise<void> {
    this.#open();
    if (topics.length === 0) return;
    const timeoutMs = options.timeoutMs ?? this.#opts.requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const validateOnly = options.validateOnly ?? false;
    const res = await this.#controllerRequest(CreateTopicsApi, timeoutMs, {
      topics: topics.map((t) => ({
        name: t.name,
        // -1: the broker's num.partitions / default.replication.factor (v4+).
        numPartitions: t.partitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs,
      validateOnly,
    });
    const errors: KafkaProtocolError[] = [];
    const created: string[] = [];
    for (const t of res.res.topics) {
      const exists = t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS;
      if (t.errorCode === 0 || (exists && options.ifMissing)) {
        if (t.errorCode === 0 || !validateOnly) created.push(t.name);
        continue;
      }
      errors.push(KafkaProtocolError.from(t.errorCode, {
        apiName: "CreateTopics",
        apiVersion: res.version,
        topic: t.name,
        errorMessage: t.errorMessage,
      }));
    }
    if (!validateOnly && created.length > 0) {
      await this.#waitForMetadata(
        "createTopics",
        created,
        deadline,
        (t) =>
          t.errorCode === 0 && t.partitions.length > 0 &&
          t.partitions.every((p) => p.leaderId >= 0 && p.errorCode === 0),
      );
    }
    throwFailures("createTopics", errors);
  }

  /**
   * Deletes topics by name, and waits until metadata no longer lists them
   * (so the names can be created again at once).
   *
   * @param names The topics to delete.
   * @param options `timeoutMs`: for the controller, then for the wait.
   * @throws {KafkaProtocolError} for a topic that could not be deleted
   *   (UNKNOWN_TOPIC_OR_PARTITION when it does not exist), naming it.
   * @throws {AdminBatchError} when several could not (the others were deleted).
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function cleanUp(admin: Admin): Promise<void> {
   *   await admin.deleteTopics(["orders-test", "refunds-test"]);
   * }
   * ```
   */
  async deleteTopics(names: readonly string[], options: TopicChangeOptions = {}): Promise<void> {
    this.#open();
    if (names.length === 0) return;
    const timeoutMs = options.timeoutMs ?? this.#opts.requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const { res, version } = await this.#controllerRequest(DeleteTopicsApi, timeoutMs, {
      topicNames: [...names],
      topics: names.map((name) => ({ name, topicId: undefined })),
      timeoutMs,
    });
    const errors: KafkaProtocolError[] = [];
    const deleted: string[] = [];
    for (const t of res.responses) {
      if (t.errorCode === 0) {
        if (t.name !== null) deleted.push(t.name);
        continue;
      }
      errors.push(KafkaProtocolError.from(t.errorCode, {
        apiName: "DeleteTopics",
        apiVersion: version,
        topic: t.name ?? `id ${t.topicId}`,
        errorMessage: t.errorMessage,
      }));
    }
    if (deleted.length > 0) {
      await this.#waitForMetadata(
        "deleteTopics",
        deleted,
        deadline,
        (t) => t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
    }
    throwFailures("deleteTopics", errors);
  }

  /**
   * Adds partitions to topics (CreatePartitions): `count` is each topic's
   * new total. Waits until metadata shows a leader for every partition.
   *
   * @param changes The topics and their new partition counts.
   * @param options `timeoutMs`, `validateOnly`.
   * @throws {KafkaProtocolError} for a topic refused (INVALID_PARTITIONS when
   *   `count` is not larger than now, UNKNOWN_TOPIC_OR_PARTITION), naming it.
   * @throws {AdminBatchError} when several were refused.
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function grow(admin: Admin): Promise<void> {
   *   await admin.createPartitions([{ topic: "orders", count: 12 }]);
   * }
   * ```
   */
  async createPartitions(
    changes: readonly NewPartitions[],
    options: TopicChangeOptions = {},
  ): Promise<void> {
    this.#open();
    if (changes.length === 0) return;
    const timeoutMs = options.timeoutMs ?? this.#opts.requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const validateOnly = options.validateOnly ?? false;
    const { res, version } = await this.#controllerRequest(CreatePartitionsApi, timeoutMs, {
      topics: changes.map((c) => ({ name: c.topic, count: c.count, assignments: null })),
      timeoutMs,
      validateOnly,
    });
    const errors: KafkaProtocolError[] = [];
    const grown = new Map<string, number>();
    for (const r of res.results) {
      if (r.errorCode === 0) {
        grown.set(r.name, changes.find((c) => c.topic === r.name)?.count ?? 0);
        continue;
      }
      errors.push(KafkaProtocolError.from(r.errorCode, {
        apiName: "CreatePartitions",
        apiVersion: version,
        topic: r.name,
        errorMessage: r.errorMessage,
      }));
    }
    if (!validateOnly && grown.size > 0) {
      await this.#waitForMetadata(
        "createPartitions",
        [...grown.keys()],
        deadline,
        (t) =>
          t.errorCode === 0 && t.partitions.length >= (grown.get(t.name ?? "") ?? 0) &&
          t.partitions.every((p) => p.leaderId >= 0 && p.errorCode === 0),
      );
    }
    throwFailures("createPartitions", errors);
  }

  /**
   * The names of the cluster's topics, sorted.
   *
   * @param options `internal: true` includes Kafka's internal topics.
   * @returns Topic names.
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function exists(admin: Admin, name: string): Promise<boolean> {
   *   return (await admin.listTopics()).includes(name);
   * }
   * ```
   */
  async listTopics(options: ListTopicsOptions = {}): Promise<string[]> {
    this.#open();
    const res = await this.#metadata(null);
    return res.topics
      .filter((t) => t.name !== null && t.errorCode === 0 && (options.internal || !t.isInternal))
      .map((t) => t.name!)
      .sort();
  }

  /**
   * Describes topics from cluster metadata: id, internal flag, and each
   * partition's leader, leader epoch, replicas and in-sync replicas.
   *
   * @param names The topics.
   * @returns One description per name, in the same order.
   * @throws {KafkaProtocolError} for a topic that does not exist
   *   (UNKNOWN_TOPIC_OR_PARTITION) or may not be described, naming it.
   * @throws {AdminBatchError} when several failed.
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function leaders(admin: Admin): Promise<number[]> {
   *   const [orders] = await admin.describeTopics(["orders"]);
   *   return orders.partitions.map((p) => p.leader);
   * }
   * ```
   */
  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    this.#open();
    if (names.length === 0) return [];
    const res = await this.#metadata([...new Set(names)]);
    const errors: KafkaProtocolError[] = [];
    const out: TopicDescription[] = [];
    for (const name of names) {
      const t = res.topics.find((x) => x.name === name);
      const code = t === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : t.errorCode;
      if (code !== 0 || t === undefined) {
        errors.push(KafkaProtocolError.from(code, { apiName: "Metadata", topic: name }));
        continue;
      }
      out.push({
        name,
        topicId: t.topicId,
        internal: t.isInternal,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            replicas: [...p.replicaNodes],
            isr: [...p.isrNodes],
            offlineReplicas: [...p.offlineReplicas],
          }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    throwFailures("describeTopics", errors);
    return out;
  }

  // -------------------------------------------------------------------------
  // Groups
  // -------------------------------------------------------------------------

  /**
   * Every group of the cluster (ListGroups sent to every broker: each knows
   * only the groups it coordinates), sorted by id.
   *
   * @param options Filters by state and type, applied by the brokers.
   * @returns The groups.
   * @throws {KafkaProtocolError} when a broker could not list its groups.
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function emptyGroups(admin: Admin): Promise<string[]> {
   *   return (await admin.listGroups({ states: ["Empty"] })).map((g) => g.groupId);
   * }
   * ```
   */
  async listGroups(options: ListGroupsOptions = {}): Promise<GroupListing[]> {
    this.#open();
    const brokers = await this.#brokerIds();
    const lists = await forEachItem("listGroups", brokers, (nodeId) =>
      this.#retry(async () => {
        const conn = await this.#cluster.connection(nodeId, "admin");
        const version = conn.version(ListGroupsApi);
        const res = await conn.send(ListGroupsApi, {
          statesFilter: options.states ?? [],
          typesFilter: options.types ?? [],
        }, { version });
        if (res.errorCode !== 0) {
          throw KafkaProtocolError.from(res.errorCode, {
            apiName: "ListGroups",
            apiVersion: version,
            resource: `broker ${nodeId}`,
          });
        }
        return res.groups;
      }));
    const byId = new Map<string, GroupListing>();
    for (const g of lists.flat()) {
      byId.set(g.groupId, {
        groupId: g.groupId,
        protocolType: g.protocolType,
        state: g.groupState,
        type: g.groupType,
      });
    }
    return [...byId.values()].sort((a, b) =>
      a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0
    );
  }

  /**
   * Describes groups at each group's coordinator: type, state, assignor, and
   * members with their assignments. Classic groups through DescribeGroups
   * (assignments decoded for consumer groups); KIP-848 `consumer` groups,
   * which DescribeGroups does not describe, through ConsumerGroupDescribe.
   *
   * @param groupIds The groups.
   * @returns One description per id, in the same order.
   * @throws {KafkaProtocolError} for a group that does not exist
   *   (GROUP_ID_NOT_FOUND) or may not be described, naming it.
   * @throws {AdminBatchError} when several failed.
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function members(admin: Admin): Promise<string[]> {
   *   const [billing] = await admin.describeGroups(["billing"]);
   *   return billing.members.map((m) => `${m.clientId}@${m.clientHost}`);
   * }
   * ```
   */
  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    this.#open();
    return await forEachItem("describeGroups", groupIds, (id) => this.#group(id).describe());
  }

  /**
   * Deletes groups (DeleteGroups at each group's coordinator) with their
   * committed offsets. A group with members cannot be deleted.
   *
   * @param groupIds The groups.
   * @throws {KafkaProtocolError} for a group that could not be deleted
   *   (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP), naming it.
   * @throws {AdminBatchError} when several could not (the others were deleted).
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function forget(admin: Admin): Promise<void> {
   *   await admin.deleteGroups(["billing-test"]);
   * }
   * ```
   */
  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    this.#open();
    await forEachItem("deleteGroups", groupIds, (id) => this.#group(id).delete());
  }

  /**
   * A group's committed offsets, the log end offsets and the lag per
   * partition (what `kafka-consumer-groups --describe` shows), for any group,
   * running or not. With `topics`, every partition of those topics is listed
   * (`committed` null where the group has none); without, the partitions the
   * group committed. A group that does not exist has no commits.
   *
   * @param groupId The group.
   * @param topics Only these topics (all their partitions).
   * @returns One row per partition, sorted by topic and partition.
   * @throws {KafkaProtocolError} naming the group or a topic (GROUP_AUTHORIZATION_FAILED,
   *   UNKNOWN_TOPIC_OR_PARTITION for a named topic that does not exist, …).
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function totalLag(admin: Admin): Promise<bigint> {
   *   const rows = await admin.groupOffsets("billing");
   *   return rows.reduce((sum, r) => sum + (r.lag ?? 0n), 0n);
   * }
   * ```
   */
  async groupOffsets(
    groupId: string,
    topics?: readonly string[],
  ): Promise<GroupPartitionOffset[]> {
    this.#open();
    let partitions: TopicPartition[] | null = null;
    if (topics !== undefined) {
      const described = await this.describeTopics(topics);
      partitions = described.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partition }))
      );
    }
    const committed = await this.#group(groupId).committed(partitions);
    const byKey = new Map(committed.map((c) => [partitionKey(c.topic, c.partition), c]));
    const rows = partitions ?? committed.map(({ topic, partition }) => ({ topic, partition }));
    const ends = await this.listOffsets(rows.map((p) => ({ ...p, at: "latest" as const })));
    return rows.map((p, i): GroupPartitionOffset => {
      const c = byKey.get(partitionKey(p.topic, p.partition));
      const offset = c?.offset ?? null;
      const logEnd = ends[i].offset;
      return {
        topic: p.topic,
        partition: p.partition,
        committed: offset,
        logEnd,
        lag: offset === null ? null : logEnd - offset,
        metadata: c?.metadata ?? null,
      };
    }).sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition);
  }

  // -------------------------------------------------------------------------
  // Offsets
  // -------------------------------------------------------------------------

  /**
   * Looks offsets up at each partition's leader (ListOffsets, one request
   * per leader): the log start, the log end, or the first offset at or after
   * a timestamp. Leader moves are retried.
   *
   * @param lookups Partitions and what to look up (a partition may be listed more than once).
   * @param options `isolationLevel` ("latest" under read_committed is the last stable offset).
   * @returns One answer per lookup, in the same order.
   * @throws {KafkaProtocolError} for a partition that failed (UNKNOWN_TOPIC_OR_PARTITION, …),
   *   naming it.
   * @throws {AdminBatchError} when several failed.
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function size(admin: Admin, topic: string): Promise<bigint> {
   *   const [start, end] = await admin.listOffsets([
   *     { topic, partition: 0, at: "earliest" },
   *     { topic, partition: 0, at: "latest" },
   *   ]);
   *   return end.offset - start.offset;
   * }
   * ```
   */
  async listOffsets(
    lookups: readonly OffsetLookup[],
    options: ListOffsetsOptions = {},
  ): Promise<ListedOffset[]> {
    this.#open();
    const isolationLevel = options.isolationLevel === "read_committed" ? 1 : 0;
    const results: (ListedOffset | undefined)[] = new Array(lookups.length);
    const failed = new Map<number, unknown>();
    let pending = lookups.map((_, i) => i);
    const topics = [...new Set(lookups.map((l) => l.topic))];
    for (let attempt = 0; pending.length > 0; attempt++) {
      const last = attempt + 1 >= MAX_ATTEMPTS;
      if (attempt > 0) {
        await delay(backoffMs(attempt - 1, this.#opts.retryBackoff), this.#stop.signal);
      }
      if (attempt > 0 || topics.some((t) => !this.#cluster.topics.has(t))) {
        await this.#retry(() => this.#cluster.refreshMetadata(topics));
      }
      const retry: number[] = [];
      const byLeader = new Map<number, number[]>();
      for (const i of pending) {
        const l = lookups[i];
        try {
          const leader = this.#cluster.leaderOf(l.topic, l.partition);
          byLeader.set(leader, [...(byLeader.get(leader) ?? []), i]);
        } catch (e) {
          if (isRetriable(e) && !last) retry.push(i);
          else failed.set(i, e);
        }
      }
      // A request names each partition once: a partition looked up twice
      // (earliest and latest) goes in a second request to the same leader.
      const batches = [...byLeader].flatMap(([leader, indexes]) => {
        const layers: number[][] = [];
        const seen = new Map<string, number>();
        for (const i of indexes) {
          const key = partitionKey(lookups[i].topic, lookups[i].partition);
          const layer = seen.get(key) ?? 0;
          seen.set(key, layer + 1);
          (layers[layer] ??= []).push(i);
        }
        return layers.map((layer) => [leader, layer] as const);
      });
      await Promise.all(batches.map(async ([leader, indexes]) => {
        let res;
        let version = -1;
        try {
          const conn = await this.#cluster.connection(leader, "admin");
          version = conn.version(ListOffsetsApi);
          const byTopic = groupByTopic(indexes.map((i) => lookups[i]), (l) => ({
            partitionIndex: l.partition,
            timestamp: l.at === "earliest" ? -2n : l.at === "latest" ? -1n : BigInt(l.at.timestamp),
            currentLeaderEpoch: -1,
          }));
          res = await conn.send(ListOffsetsApi, {
            replicaId: -1,
            isolationLevel,
            topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
            timeoutMs: this.#opts.requestTimeoutMs,
          }, { version });
        } catch (e) {
          for (const i of indexes) {
            if (isRetriable(e) && !last) retry.push(i);
            else failed.set(i, e);
          }
          return;
        }
        for (const i of indexes) {
          const l = lookups[i];
          const p = res.topics.find((t) => t.name === l.topic)?.partitions
            .find((p) => p.partitionIndex === l.partition);
          const code = p === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : p.errorCode;
          if (code === 0 && p !== undefined) {
            results[i] = {
              topic: l.topic,
              partition: l.partition,
              offset: p.offset,
              timestamp: Number(p.timestamp),
              leaderEpoch: p.leaderEpoch,
            };
            continue;
          }
          const e = KafkaProtocolError.from(code, {
            apiName: "ListOffsets",
            apiVersion: version,
            topic: l.topic,
            partition: l.partition,
          });
          if (e.retriable && !last) retry.push(i);
          else failed.set(i, e);
        }
      }));
      pending = retry;
    }
    throwFailures("listOffsets", [...failed].sort(([a], [b]) => a - b).map(([, e]) => e));
    return results as ListedOffset[];
  }

  // -------------------------------------------------------------------------
  // Configs
  // -------------------------------------------------------------------------

  /**
   * Describes the configs of topics, brokers and groups (DescribeConfigs):
   * every config with its value, source and flags. A broker's configs are
   * asked of that broker.
   *
   * @param resources The resources.
   * @returns One result per resource, in the same order.
   * @throws {KafkaProtocolError} for a resource that failed (UNKNOWN_TOPIC_OR_PARTITION, …),
   *   naming it.
   * @throws {AdminBatchError} when several failed.
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function retention(admin: Admin): Promise<string | null | undefined> {
   *   const [orders] = await admin.describeConfigs([{ type: "topic", name: "orders" }]);
   *   return orders.entries.find((e) => e.name === "retention.ms")?.value;
   * }
   * ```
   */
  async describeConfigs(resources: readonly ConfigResource[]): Promise<ResourceConfigs[]> {
    this.#open();
    return await forEachItem(
      "describeConfigs",
      resources,
      (r) =>
        this.#atResource(r, async (conn) => {
          const version = conn.version(DescribeConfigsApi);
          const res = await conn.send(DescribeConfigsApi, {
            resources: [{
              resourceType: RESOURCE_CODES[r.type],
              resourceName: r.name,
              configurationKeys: null,
            }],
            includeSynonyms: false,
            includeDocumentation: false,
          }, { version });
          const result = res.results[0];
          if (result === undefined || result.errorCode !== 0) {
            throw KafkaProtocolError.from(result?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, {
              apiName: "DescribeConfigs",
              apiVersion: version,
              ...resourceContext(r),
              errorMessage: result?.errorMessage,
            });
          }
          return {
            type: r.type,
            name: r.name,
            entries: result.configs.map((c): ConfigEntry => ({
              name: c.name,
              value: c.value,
              readOnly: c.readOnly,
              isDefault: c.configSource === 5,
              source: SOURCES[c.configSource] ?? "unknown",
              sensitive: c.isSensitive,
            })),
          };
        }),
    );
  }

  /**
   * Changes configs of topics, brokers and groups, leaving the others as they
   * are (IncrementalAlterConfigs): `set`, `delete` (back to the default),
   * `append` / `subtract` values of list configs. A broker's configs go to
   * that broker; `name: ""` changes the default of every broker.
   *
   * @param changes One change per resource.
   * @param options `validateOnly`.
   * @throws {KafkaProtocolError} for a resource refused (INVALID_CONFIG, …),
   *   naming it and quoting the broker.
   * @throws {AdminBatchError} when several were refused (the others were changed).
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function shorten(admin: Admin): Promise<void> {
   *   await admin.alterConfigs([
   *     { type: "topic", name: "orders", set: { "retention.ms": "3600000" } },
   *   ]);
   * }
   * ```
   */
  async alterConfigs(
    changes: readonly ConfigChange[],
    options: AlterConfigsOptions = {},
  ): Promise<void> {
    this.#open();
    await forEachItem("alterConfigs", changes, (c) =>
      this.#atResource(c, async (conn) => {
        const version = conn.version(IncrementalAlterConfigsApi);
        const configs = [
          ...Object.entries(c.set ?? {}).map(([name, value]) => ({
            name,
            configOperation: OP.set,
            value,
          })),
          ...(c.delete ?? []).map((name) => ({ name, configOperation: OP.delete, value: null })),
          ...Object.entries(c.append ?? {}).map(([name, value]) => ({
            name,
            configOperation: OP.append,
            value,
          })),
          ...Object.entries(c.subtract ?? {}).map(([name, value]) => ({
            name,
            configOperation: OP.subtract,
            value,
          })),
        ];
        const res = await conn.send(IncrementalAlterConfigsApi, {
          resources: [{ resourceType: RESOURCE_CODES[c.type], resourceName: c.name, configs }],
          validateOnly: options.validateOnly ?? false,
        }, { version });
        const r = res.responses[0];
        if (r === undefined || r.errorCode !== 0) {
          throw KafkaProtocolError.from(r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, {
            apiName: "IncrementalAlterConfigs",
            apiVersion: version,
            ...resourceContext(c),
            errorMessage: r?.errorMessage,
          });
        }
      }));
  }

  // -------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------

  /**
   * Closes every connection. Idempotent; calls made after it throw.
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * const admin = new Admin({ brokers: "127.0.0.1:9092" });
   * await admin.close();
   * ```
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stop.abort();
      await this.#cluster.close();
    })();
    return this.#closed;
  }

  /**
   * `await using admin = new Admin(...)` closes it at the end of the scope.
   *
   * @example
   * ```ts
   * import { Admin } from "@sluice/kafka";
   * async function count(): Promise<number> {
   *   await using admin = new Admin({ brokers: "127.0.0.1:9092" });
   *   return (await admin.listTopics()).length;
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // -------------------------------------------------------------------------
  // Routing and retries
  // -------------------------------------------------------------------------

  #open(): void {
    if (this.#closed !== null) {
      throw new KafkaError("The Admin client is closed: create a new one to make more calls");
    }
  }

  #group(groupId: string): GroupClient {
    return new GroupClient(this.#cluster, groupId, this.#stop.signal, 20, this.#opts.retryBackoff);
  }

  /**
   * Runs `call`, again (with backoff, {@linkcode MAX_ATTEMPTS} at most) when
   * a connection broke or the answer says a retry may help.
   */
  async #retry<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0;; attempt++) {
      try {
        return await call();
      } catch (e) {
        // A bootstrap that reached no broker has retried for bootstrapTimeoutMs already
        // (src/net/cluster.ts words it so).
        const unreachable = e instanceof ConnectionError &&
          e.reason.startsWith("no bootstrap broker answered");
        if (
          !isRetriable(e) || unreachable || attempt + 1 >= MAX_ATTEMPTS || this.#stop.signal.aborted
        ) throw e;
        await delay(backoffMs(attempt, this.#opts.retryBackoff), this.#stop.signal);
      }
    }
  }

  /**
   * Sends a request the controller carries out (topics created, grown or
   * deleted) to any broker, which forwards it: the controller may take up
   * to `timeoutMs` (sent in the request), so the request's own timeout is
   * that on top of `requestTimeoutMs`.
   */
  #controllerRequest<Req, Res>(
    api: ApiSchema<Req, Res, string>,
    timeoutMs: number,
    request: Req,
  ): Promise<{ res: Res; version: number }> {
    return this.#anyBroker(async (conn) => {
      const version = conn.version(api);
      const opts = { version, timeoutMs: this.#opts.requestTimeoutMs + timeoutMs };
      return { res: await conn.send(api, request, opts), version };
    });
  }

  /**
   * Runs `call` on a connection to any broker (retried on another if it
   * breaks): the last broker that answered, else the others known from
   * metadata, else the bootstrap list.
   */
  #anyBroker<T>(call: (conn: Connection) => Promise<T>): Promise<T> {
    return this.#retry(async () => {
      const { conn, nodeId } = await this.#anyConnection();
      try {
        return await call(conn);
      } catch (e) {
        if (e instanceof RequestTimeoutError) conn.close();
        if (e instanceof ConnectionError || e instanceof RequestTimeoutError) {
          if (this.#preferred === nodeId) this.#preferred = null;
        }
        throw e;
      }
    });
  }

  async #anyConnection(): Promise<{ conn: Connection; nodeId: number | "bootstrap" }> {
    const known = [...this.#cluster.brokers.keys()];
    const preferred = this.#preferred;
    const order = preferred !== null && known.includes(preferred)
      ? [preferred, ...known.filter((id) => id !== preferred)]
      : known;
    for (const nodeId of order) {
      try {
        const conn = await this.#cluster.connection(nodeId, "admin");
        this.#preferred = nodeId;
        return { conn, nodeId };
      } catch (e) {
        // Wrong credentials or a bad certificate fail the same everywhere.
        if (!(e instanceof ConnectionError)) throw e;
      }
    }
    return { conn: await this.#cluster.connection("bootstrap", "admin"), nodeId: "bootstrap" };
  }

  /** Runs `call` where `resource`'s configs live: its broker, or any broker. */
  #atResource<T>(resource: ConfigResource, call: (conn: Connection) => Promise<T>): Promise<T> {
    const node = resource.type === "broker" && resource.name !== "" ? Number(resource.name) : null;
    if (node === null) return this.#anyBroker(call);
    if (!Number.isInteger(node) || node < 0) {
      return Promise.reject(
        new TypeError(`A broker is named by its node id, e.g. "1" (got "${resource.name}")`),
      );
    }
    return this.#retry(async () => {
      if (!this.#cluster.brokers.has(node)) await this.#cluster.refreshMetadata([]);
      if (!this.#cluster.brokers.has(node)) {
        throw new KafkaError(
          `Broker ${node} is not in the cluster (known: ${
            [...this.#cluster.brokers.keys()].join(", ") || "none"
          })`,
        );
      }
      return await call(await this.#cluster.connection(node, "admin"));
    });
  }

  /** Metadata for `topics` (all when null), retried. */
  #metadata(topics: string[] | null): Promise<MetadataResponse> {
    return this.#retry(() => this.#cluster.refreshMetadata(topics));
  }

  /** The node ids of every broker, from fresh metadata. */
  async #brokerIds(): Promise<number[]> {
    const res = await this.#metadata([]);
    return res.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  }

  /**
   * Polls metadata for `topics` until `ready` holds for each, or the
   * deadline passes (then an error saying which are not ready).
   */
  async #waitForMetadata(
    call: string,
    topics: string[],
    deadline: number,
    ready: (t: MetadataResponse["topics"][number]) => boolean,
  ): Promise<void> {
    for (let attempt = 0;; attempt++) {
      const res = await this.#metadata(topics);
      const waiting = topics.filter((name) => {
        const t = res.topics.find((x) => x.name === name);
        return t === undefined || !ready(t);
      });
      if (waiting.length === 0) return;
      const pause = backoffMs(attempt, { initialMs: 50, maxMs: 1000 });
      if (Date.now() + pause > deadline) {
        throw new KafkaError(
          `${call}: the cluster accepted the change, but metadata did not show it for ` +
            `${waiting.join(", ")} within the timeout; it may still complete`,
        );
      }
      await delay(pause, this.#stop.signal);
    }
  }
}

/** How a protocol error names a config resource. */
function resourceContext(
  r: ConfigResource,
): { topic?: string; groupId?: string; resource?: string } {
  if (r.type === "topic") return { topic: r.name };
  if (r.type === "group") return { groupId: r.name };
  return { resource: r.name === "" ? "the default of every broker" : `broker ${r.name}` };
}
