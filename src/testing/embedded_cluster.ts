/**
 * An in-process Kafka cluster for tests: each broker listens on a loopback
 * TCP port and speaks Kafka's wire protocol, so any Kafka client can use it,
 * serving topics from in-memory logs.
 *
 * @module
 */

import { encodeRecordBatch, type RecordToEncode } from "../protocol/wire_batch.ts";
import { Broker } from "./broker.ts";
import { API_KEYS, type ApiName, type Interception, type InterceptOptions } from "./faults.ts";
import { coordinatorFor } from "./group_handlers.ts";
import { HANDLERS } from "./handlers.ts";
import { ClusterState, type PartitionState, type TopicState } from "./state.ts";
import { narrowedVersions } from "./versions.ts";

/**
 * Options of {@linkcode EmbeddedCluster.start}.
 *
 * @example
 * ```ts
 * import { EmbeddedCluster } from "@sluice/kafka/testing";
 * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
 * ```
 */
export interface EmbeddedClusterOptions {
  /** Number of brokers (node ids 0 to brokers - 1; node 0 is the controller). @default 1 */
  brokers?: number;
  /** Host to listen on and advertise. @default "127.0.0.1" */
  hostname?: string;
  /**
   * Create unknown topics asked for in Metadata requests, as Kafka does by
   * default (`auto.create.topics.enable`). @default true
   */
  autoCreateTopics?: boolean;
  /** Partition count of auto-created topics (Kafka's `num.partitions`). @default 1 */
  defaultPartitions?: number;
  /**
   * Narrower version ranges for chosen APIs, advertised in ApiVersions by
   * every broker instead of the full range: an older broker, to test how a
   * client copes with it. A request at a version outside the advertised
   * range closes the connection, as Kafka does for a version it does not
   * take (ApiVersions itself is answered UNSUPPORTED_VERSION with the
   * advertised range, as Kafka does).
   *
   * A range may not go above the newest version the cluster serves, but may
   * go below the oldest one (e.g. Fetch 0-3, when the cluster serves 4-18):
   * those versions are advertised only, never served. Start rejects with a
   * RangeError for an API the cluster does not serve, min > max, or a
   * maximum above what it serves.
   *
   * @default {} (every API at the full range it serves)
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * // A broker too old for a client whose Fetch starts at v4.
   * await using cluster = await EmbeddedCluster.start({
   *   advertisedVersions: { Fetch: { min: 0, max: 3 } },
   * });
   * ```
   */
  advertisedVersions?: Partial<Record<ApiName, { min: number; max: number }>>;
  /**
   * Session timeout of consumer-protocol (KIP-848) group members, Kafka's
   * `group.consumer.session.timeout.ms` (the broker sets it, not the
   * member): a member not heard from for this long is fenced. Smaller than
   * Kafka's 45000 so that tests of an expiry are quick.
   *
   * @default 10000
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   * await using cluster = await EmbeddedCluster.start({ consumerGroupSessionTimeoutMs: 3000 });
   * ```
   */
  consumerGroupSessionTimeoutMs?: number;
  /**
   * Heartbeat interval told to consumer-protocol group members, Kafka's
   * `group.consumer.heartbeat.interval.ms`. Smaller than Kafka's 5000: a
   * partition freed by one member reaches its new owner at the owner's next
   * heartbeat.
   *
   * @default 500
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   * await using cluster = await EmbeddedCluster.start({ consumerGroupHeartbeatIntervalMs: 200 });
   * ```
   */
  consumerGroupHeartbeatIntervalMs?: number;
}

/**
 * Options of {@linkcode EmbeddedCluster.createTopic}.
 *
 * @example
 * ```ts
 * import { EmbeddedCluster } from "@sluice/kafka/testing";
 * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
 * await cluster.createTopic("orders", { partitions: 6, replicationFactor: 3 });
 * ```
 */
export interface EmbeddedTopicOptions {
  /** Number of partitions. @default 1 */
  partitions?: number;
  /** Replication factor, at most the broker count. @default min(3, brokers) */
  replicationFactor?: number;
  /** Topic configs (stored, not enforced). */
  configs?: Record<string, string>;
}

/**
 * A partition of the embedded cluster, as metadata describes it.
 *
 * @example
 * ```ts
 * import { EmbeddedCluster } from "@sluice/kafka/testing";
 * await using cluster = await EmbeddedCluster.start();
 * const topic = await cluster.createTopic("orders", { partitions: 2 });
 * topic.partitions[1].leader; // the node id of its leader
 * ```
 */
export interface EmbeddedPartitionInfo {
  /** Partition index. */
  readonly partition: number;
  /** Node id of the leader. */
  readonly leader: number;
  /** Leader epoch. */
  readonly leaderEpoch: number;
  /** Replica node ids, leader first. */
  readonly replicas: readonly number[];
  /** First offset in the log. */
  readonly logStartOffset: bigint;
  /** The high watermark (log end offset). */
  readonly highWatermark: bigint;
}

/**
 * A topic of the embedded cluster.
 *
 * @example
 * ```ts
 * import { EmbeddedCluster } from "@sluice/kafka/testing";
 * await using cluster = await EmbeddedCluster.start();
 * await cluster.createTopic("orders");
 * cluster.topic("orders")?.topicId; // a base64url UUID
 * ```
 */
export interface EmbeddedTopicInfo {
  /** Topic name. */
  readonly name: string;
  /** Topic id (base64url UUID, as Kafka prints it). */
  readonly topicId: string;
  /** Partitions in index order. */
  readonly partitions: readonly EmbeddedPartitionInfo[];
}

/**
 * A record for {@linkcode EmbeddedCluster.produce}; strings are written as UTF-8.
 *
 * @example
 * ```ts
 * import { EmbeddedCluster } from "@sluice/kafka/testing";
 * await using cluster = await EmbeddedCluster.start();
 * await cluster.createTopic("orders");
 * cluster.produce("orders", 0, [{ key: "c-1", value: "{}", headers: [{ key: "v", value: "1" }] }]);
 * ```
 */
export interface EmbeddedRecord {
  /** Key; absent or null for none. */
  readonly key?: string | Uint8Array | null;
  /** Value; null for a tombstone. */
  readonly value: string | Uint8Array | null;
  /** Headers in order. */
  readonly headers?: readonly { key: string; value: string | Uint8Array | null }[];
  /** Create time (ms since the epoch). @default now */
  readonly timestamp?: number;
}

/**
 * A consumer group as the embedded cluster's coordinator holds it.
 *
 * @example
 * ```ts
 * import { EmbeddedCluster } from "@sluice/kafka/testing";
 * await using cluster = await EmbeddedCluster.start();
 * const group = cluster.group("billing");
 * group.state; // "Dead" for a group nobody joined
 * ```
 */
export interface EmbeddedGroupInfo {
  /** Group id. */
  readonly groupId: string;
  /**
   * Empty, PreparingRebalance, CompletingRebalance, Stable or Dead (also for
   * an unknown group); a consumer-protocol group: Empty, Assigning,
   * Reconciling or Stable.
   */
  readonly state: string;
  /** Member ids and client ids. */
  readonly members: readonly { memberId: string; clientId: string }[];
  /** Committed offsets, by topic and partition. */
  readonly committed: readonly { topic: string; partition: number; offset: bigint }[];
}

/**
 * An in-process Kafka cluster that real clients connect to over TCP.
 *
 * It serves ApiVersions, Metadata, CreateTopics, DeleteTopics,
 * InitProducerId, Produce, Fetch and ListOffsets from in-memory logs, and the
 * classic consumer group APIs (FindCoordinator, JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups,
 * ListGroups), and the consumer group protocol of KIP-848
 * (ConsumerGroupHeartbeat with server-side `uniform` and `range` assignors
 * and incremental reconciliation, ConsumerGroupDescribe).
 *
 * @example
 * ```ts
 * import { EmbeddedCluster } from "@sluice/kafka/testing";
 *
 * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
 * await cluster.createTopic("orders", { partitions: 3 });
 * console.log(cluster.bootstrap); // "127.0.0.1:41235,127.0.0.1:41236,127.0.0.1:41237"
 * ```
 */
export class EmbeddedCluster implements AsyncDisposable {
  readonly #state: ClusterState;
  readonly #brokers: Broker[];
  readonly #hostname: string;
  #closing: Promise<void> | undefined;

  private constructor(state: ClusterState, brokers: Broker[], hostname: string) {
    this.#state = state;
    this.#brokers = brokers;
    this.#hostname = hostname;
  }

  /**
   * Starts a cluster: one listener per broker on a free loopback port.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * const cluster = await EmbeddedCluster.start();
   * try {
   *   console.log(cluster.bootstrap);
   * } finally {
   *   await cluster.close();
   * }
   * ```
   */
  static start(options: EmbeddedClusterOptions = {}): Promise<EmbeddedCluster> {
    const count = options.brokers ?? 1;
    if (!Number.isInteger(count) || count < 1) {
      return Promise.reject(new RangeError(`brokers must be a positive integer, got ${count}`));
    }
    const state = new ClusterState();
    try {
      state.advertised = narrowedVersions(
        options.advertisedVersions ?? {},
        API_KEYS,
        (key) => HANDLERS.get(key)?.versions,
      );
    } catch (e) {
      return Promise.reject(e);
    }
    const session = options.consumerGroupSessionTimeoutMs ?? 10_000;
    const interval = options.consumerGroupHeartbeatIntervalMs ?? 500;
    for (
      const [name, v] of [["consumerGroupSessionTimeoutMs", session], [
        "consumerGroupHeartbeatIntervalMs",
        interval,
      ]] as const
    ) {
      if (!Number.isInteger(v) || v <= 0) {
        return Promise.reject(new RangeError(`${name} must be a positive integer, got ${v}`));
      }
    }
    if (interval >= session) {
      return Promise.reject(
        new RangeError(
          `consumerGroupHeartbeatIntervalMs (${interval}) must be below ` +
            `consumerGroupSessionTimeoutMs (${session})`,
        ),
      );
    }
    state.consumerGroupSettings.sessionTimeoutMs = session;
    state.consumerGroupSettings.heartbeatIntervalMs = interval;
    state.autoCreateTopics = options.autoCreateTopics ?? true;
    state.defaultPartitions = options.defaultPartitions ?? 1;
    const brokers: Broker[] = [];
    try {
      for (let id = 0; id < count; id++) {
        const b = Broker.listen(id, state, options.hostname ?? "127.0.0.1");
        brokers.push(b);
        state.brokers.push({ nodeId: id, host: b.host, port: b.port });
      }
    } catch (e) {
      return Promise.all(brokers.map((b) => b.close())).then(() => Promise.reject(e));
    }
    state.controllerId = 0;
    return Promise.resolve(
      new EmbeddedCluster(state, brokers, options.hostname ?? "127.0.0.1"),
    );
  }

  /**
   * The bootstrap servers, `host:port` of every broker joined by commas.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start({ brokers: 2 });
   * const brokers = cluster.bootstrap.split(","); // for a client's broker list
   * ```
   */
  get bootstrap(): string {
    return this.#brokers.map((b) => b.address).join(",");
  }

  /**
   * The id of this cluster (what Metadata reports).
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start();
   * console.log(cluster.clusterId);
   * ```
   */
  get clusterId(): string {
    return this.#state.clusterId;
  }

  /**
   * The node id of the controller (where CreateTopics and DeleteTopics go).
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
   * console.log(cluster.controller); // 0
   * ```
   */
  get controller(): number {
    return this.#state.controllerId;
  }

  /**
   * The brokers: node id and address.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
   * for (const b of cluster.brokers) console.log(b.nodeId, `${b.host}:${b.port}`);
   * ```
   */
  get brokers(): ReadonlyArray<{ nodeId: number; host: string; port: number }> {
    return this.#brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port }));
  }

  /**
   * Creates a topic, its partition leaders spread over the brokers round
   * robin. Throws when it exists or the options are invalid.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
   * const topic = await cluster.createTopic("orders", { partitions: 6 });
   * console.log(topic.topicId, topic.partitions.map((p) => p.leader));
   * ```
   */
  createTopic(name: string, options: EmbeddedTopicOptions = {}): Promise<EmbeddedTopicInfo> {
    this.#checkOpen();
    try {
      const t = this.#state.createTopic(name, {
        partitions: options.partitions ?? 1,
        replicationFactor: options.replicationFactor,
        configs: options.configs,
      });
      return Promise.resolve(describe(t));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Appends records to one partition, as one record batch, straight into its
   * log (no client, no network): the quickest way to give a pipeline under
   * test its input. Resolves with the offsets the records got. Held fetches
   * see them at once.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start();
   * await cluster.createTopic("orders", { partitions: 2 });
   * const { baseOffset } = await cluster.produce("orders", 1, [
   *   { key: "o-1", value: JSON.stringify({ total: 12 }) },
   *   { key: "o-2", value: "…", headers: [{ key: "source", value: "test" }] },
   * ]);
   * console.log(baseOffset); // 0n
   * ```
   */
  produce(
    topic: string,
    partition: number,
    records: readonly EmbeddedRecord[],
    options: { compression?: "none" | "gzip" | "snappy" | "lz4" | "zstd" } = {},
  ): Promise<{ baseOffset: bigint; lastOffset: bigint }> {
    this.#checkOpen();
    const p = this.#state.topics.get(topic)?.partitions[partition];
    if (p === undefined) {
      return Promise.reject(
        new Error(`No partition ${topic}-${partition} in the embedded cluster`),
      );
    }
    if (records.length === 0) return Promise.reject(new Error("produce() needs records"));
    const codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
    try {
      const batch = encodeRecordBatch({
        records: records.map(toEncode),
        compression: codecs.indexOf(options.compression ?? "none"),
      });
      return Promise.resolve(p.log.append(batch, p.leaderEpoch));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * A consumer group as the coordinator holds it: state, members and
   * committed offsets (for assertions on what a pipeline committed).
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start();
   * const group = cluster.group("billing");
   * console.log(group.state, group.committed); // "Dead" [] for a group never seen
   * ```
   */
  group(groupId: string): EmbeddedGroupInfo {
    this.#checkOpen();
    const groups = this.#state.groups;
    const modern = this.#state.consumerGroups.describe(groupId);
    const summary = modern ?? groups.describe(groupId);
    const committed = groups.fetchOffsets(groupId, null).flatMap((t) =>
      t.partitions.flatMap((p) =>
        p.committed === null || p.committed.offset < 0n
          ? []
          : [{ topic: t.topic, partition: p.partition, offset: p.committed.offset }]
      )
    );
    return {
      groupId,
      state: summary.state,
      members: summary.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId })),
      committed,
    };
  }

  /**
   * Grows a topic to `total` partitions, as Kafka's CreatePartitions (e.g.
   * `kafka-topics --alter --partitions`) would; consumers see the new
   * partitions at their next metadata refresh.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start();
   * await cluster.createTopic("orders", { partitions: 2 });
   * const grown = await cluster.addPartitions("orders", 4);
   * console.log(grown.partitions.length); // 4
   * ```
   */
  addPartitions(name: string, total: number): Promise<EmbeddedTopicInfo> {
    this.#checkOpen();
    try {
      return Promise.resolve(describe(this.#state.addPartitions(name, total)));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Deletes a topic; false when there was none.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start();
   * await cluster.createTopic("tmp");
   * await cluster.deleteTopic("tmp"); // true
   * ```
   */
  deleteTopic(name: string): Promise<boolean> {
    this.#checkOpen();
    return Promise.resolve(this.#state.deleteTopic(name) !== undefined);
  }

  /**
   * A topic's id, partitions, leaders and offsets; undefined when unknown.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start();
   * await cluster.createTopic("orders");
   * console.log(cluster.topic("orders")?.partitions[0].highWatermark); // 0n
   * ```
   */
  topic(name: string): EmbeddedTopicInfo | undefined {
    const t = this.#state.topics.get(name);
    return t ? describe(t) : undefined;
  }

  /**
   * Intercepts requests (fault injection): requests with the API key (or
   * name), to one broker or any, get the rule's action instead of (or
   * besides) the usual answer, `times` times or until removed. The first
   * installed rule that matches a request wins.
   *
   * - `{ errorCode }`: the request is served as usual (a Fetch without
   *   waiting), then every entry-level `errorCode` of the response
   *   (partition, topic or group level) is overwritten and their records
   *   emptied; a response without such entries (JoinGroup, Heartbeat…) gets
   *   it in its top-level `errorCode`.
   * - `{ delayMs }`: the answer is delayed.
   * - `{ drop: true }`: the broker closes the connection on receipt.
   * - `{ hang: true }`: no answer until the rule is removed (the request is
   *   then served) or the broker stops (the connection is then closed).
   * - `{ rewrite }` / `{ mutate }` / `{ observe: true }`: change the decoded
   *   response, replace the encoded frame, or only record the requests
   *   (`rule.requests`; see {@linkcode FaultAction}). `clientId` limits a rule
   *   to one client.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start();
   * // The next 3 Fetches get NOT_LEADER_OR_FOLLOWER.
   * const rule = cluster.intercept({ apiKey: "Fetch", times: 3, action: { errorCode: 6 } });
   * // ...
   * console.log(rule.hits);
   * rule.remove();
   * ```
   */
  intercept(options: InterceptOptions): Interception {
    this.#checkOpen();
    if (
      options.broker !== undefined && !this.#state.brokers.some((b) => b.nodeId === options.broker)
    ) {
      throw new RangeError(`unknown broker ${options.broker}`);
    }
    return this.#state.faults.add(options);
  }

  /**
   * Adds latency to every response of every broker, in ms (0 to clear).
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start();
   * cluster.setLatency(50);
   * // ...
   * cluster.setLatency(0);
   * ```
   */
  setLatency(ms: number): void {
    if (!(ms >= 0) || ms === Infinity) {
      throw new RangeError(`latency must be a finite non-negative number, got ${ms}`);
    }
    this.#state.faults.latencyMs = ms;
  }

  /**
   * Stops a broker: it leaves Metadata, its listener and open connections
   * close (clients see connections refused or reset), the partitions it led
   * move to another running replica (or any running broker) with a bumped
   * leader epoch, and the groups it coordinated move to another broker. No
   * effect when it is stopped already.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
   * await cluster.createTopic("orders", { partitions: 3 });
   * await cluster.stopBroker(1);
   * console.log(cluster.topic("orders")!.partitions.map((p) => p.leader)); // no 1
   * await cluster.startBroker(1);
   * ```
   */
  async stopBroker(nodeId: number): Promise<void> {
    this.#checkOpen();
    const i = this.#brokerIndex(nodeId);
    const state = this.#state;
    if (state.stopped.has(nodeId)) return;
    state.stopped.add(nodeId);
    const live = state.liveNodes();
    for (const t of state.topics.values()) {
      for (const p of t.partitions) {
        p.isr = p.isr.filter((r) => r !== nodeId);
        if (p.leader === nodeId) {
          const next = p.replicas.find((r) => r !== nodeId && live.includes(r)) ?? live[0];
          elect(p, next ?? -1);
        }
      }
    }
    if (state.controllerId === nodeId && live.length > 0) state.controllerId = live[0];
    await this.#brokers[i].close();
  }

  /**
   * Starts a stopped broker again, on the same port. It rejoins the in-sync
   * replicas and leads partitions left without a leader; other leaders stay.
   * No effect when it is running.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start({ brokers: 2 });
   * await cluster.stopBroker(0);
   * await cluster.startBroker(0);
   * ```
   */
  startBroker(nodeId: number): Promise<void> {
    this.#checkOpen();
    const i = this.#brokerIndex(nodeId);
    const state = this.#state;
    if (!state.stopped.has(nodeId)) return Promise.resolve();
    const old = this.#brokers[i];
    try {
      this.#brokers[i] = Broker.listen(nodeId, state, this.#hostname, old.port);
    } catch (e) {
      return Promise.reject(e);
    }
    state.stopped.delete(nodeId);
    for (const t of state.topics.values()) {
      for (const p of t.partitions) {
        if (!p.replicas.includes(nodeId)) continue;
        if (!p.isr.includes(nodeId)) p.isr.push(nodeId);
        if (p.leader === -1) elect(p, nodeId);
      }
    }
    return Promise.resolve();
  }

  /**
   * Moves a partition's leadership (a leader election): the leader epoch is
   * bumped and the leader becomes `toNodeId` (default: the next running
   * replica). The old leader then answers NOT_LEADER_OR_FOLLOWER, and the new
   * one FENCED_LEADER_EPOCH to requests carrying the old epoch.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
   * await cluster.createTopic("orders");
   * const moved = cluster.moveLeader("orders", 0, 2);
   * console.log(moved.leader, moved.leaderEpoch); // 2 1
   * ```
   */
  moveLeader(topic: string, partition: number, toNodeId?: number): EmbeddedPartitionInfo {
    this.#checkOpen();
    const t = this.#state.topics.get(topic);
    const p = t?.partitions[partition];
    if (!t || !p) throw new RangeError(`unknown partition ${topic}-${partition}`);
    const live = this.#state.liveNodes();
    let to = toNodeId;
    if (to === undefined) {
      const candidates = p.replicas.filter((r) => live.includes(r));
      const others = candidates.length > 1 ? candidates : live;
      to = others[(others.indexOf(p.leader) + 1) % others.length];
    }
    if (to === undefined || !live.includes(to)) {
      throw new RangeError(`broker ${to} is not running`);
    }
    elect(p, to);
    return describe(t).partitions[partition];
  }

  /**
   * An unclean leader election: leadership moves (as {@linkcode
   * EmbeddedCluster.moveLeader}) to a replica that never had the records
   * from `offset` on, so the log is truncated there. Consumers that fetched
   * past it learn of the divergence from their next Fetch (KIP-320) and must
   * not go on as if nothing happened. Returns the partition afterwards.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start({ brokers: 2 });
   * await cluster.createTopic("orders");
   * await cluster.produce("orders", 0, [{ value: "a" }]);
   * await cluster.produce("orders", 0, [{ value: "b" }]);
   * cluster.uncleanLeaderElection("orders", 0, 1n).highWatermark; // 1n
   * ```
   */
  uncleanLeaderElection(topic: string, partition: number, offset: bigint): EmbeddedPartitionInfo {
    const info = this.moveLeader(topic, partition);
    this.#state.topics.get(topic)!.partitions[partition].log.truncateTo(offset);
    return { ...info, highWatermark: this.topic(topic)!.partitions[partition].highWatermark };
  }

  /**
   * Moves a group's coordinator to `toNodeId` (default: the next running
   * broker). The old coordinator answers NOT_COORDINATOR afterwards;
   * FindCoordinator names the new one. The group's members and offsets stay.
   * Returns the new coordinator's node id.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
   * const now = cluster.moveCoordinator("billing");
   * console.log(now === cluster.coordinator("billing")); // true
   * ```
   */
  moveCoordinator(groupId: string, toNodeId?: number): number {
    this.#checkOpen();
    const live = this.#state.liveNodes();
    const current = coordinatorFor(this.#state, groupId);
    const to = toNodeId ?? live[(live.indexOf(current) + 1) % live.length];
    if (to === undefined || !live.includes(to)) {
      throw new RangeError(`broker ${to} is not running`);
    }
    this.#state.coordinatorOverrides.set(groupId, to);
    return to;
  }

  /**
   * The node id coordinating a group.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
   * console.log(cluster.coordinator("billing"));
   * ```
   */
  coordinator(groupId: string): number {
    return coordinatorFor(this.#state, groupId);
  }

  #brokerIndex(nodeId: number): number {
    const i = this.#brokers.findIndex((b) => b.nodeId === nodeId);
    if (i < 0) throw new RangeError(`unknown broker ${nodeId}`);
    return i;
  }

  /**
   * Stops every broker: closes listeners and client connections, ends held
   * Fetches. Idempotent.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * const cluster = await EmbeddedCluster.start();
   * await cluster.close();
   * ```
   */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#state.groups.close(); // answers held JoinGroups, clears timers
      this.#state.consumerGroups.close();
      this.#state.faults.clear();
    }
    this.#closing ??= Promise.all(this.#brokers.map((b) => b.close())).then(() => {});
    return this.#closing;
  }

  /**
   * Same as {@linkcode EmbeddedCluster.close}, for `await using`.
   *
   * @example
   * ```ts
   * import { EmbeddedCluster } from "@sluice/kafka/testing";
   *
   * {
   *   await using cluster = await EmbeddedCluster.start();
   * } // closed here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #checkOpen(): void {
    if (this.#closing) throw new Error("EmbeddedCluster is closed");
  }
}

function elect(p: PartitionState, leader: number): void {
  p.leader = leader;
  p.leaderEpoch++;
  p.log.interrupt(); // a Fetch held at the old leader answers now
  if (leader < 0) return;
  if (!p.replicas.includes(leader)) p.replicas.push(leader);
  if (!p.isr.includes(leader)) p.isr.push(leader);
}

const utf8 = new TextEncoder();

function bytes(v: string | Uint8Array | null | undefined): Uint8Array | null {
  if (v === undefined || v === null) return null;
  return typeof v === "string" ? utf8.encode(v) : v;
}

function toEncode(r: EmbeddedRecord): RecordToEncode {
  return {
    key: bytes(r.key),
    value: bytes(r.value),
    headers: r.headers?.map((h) => ({ key: h.key, value: bytes(h.value) })),
    timestamp: r.timestamp,
  };
}

function describe(t: TopicState): EmbeddedTopicInfo {
  return {
    name: t.name,
    topicId: t.id,
    partitions: t.partitions.map((p) => ({
      partition: p.index,
      leader: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicas: p.replicas.slice(),
      logStartOffset: p.log.logStartOffset,
      highWatermark: p.log.highWatermark,
    })),
  };
}
