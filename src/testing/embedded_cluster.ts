/**
 * An in-process Kafka cluster for tests: each broker listens on a loopback
 * TCP port and speaks Kafka's wire protocol, so any Kafka client can use it,
 * serving topics from in-memory logs.
 *
 * @module
 */

import { Broker } from "./broker.ts";
import { ClusterState, type TopicState } from "./state.ts";

/** Options of {@linkcode EmbeddedCluster.start}. */
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
}

/** Options of {@linkcode EmbeddedCluster.createTopic}. */
export interface EmbeddedTopicOptions {
  /** Number of partitions. @default 1 */
  partitions?: number;
  /** Replication factor, at most the broker count. @default min(3, brokers) */
  replicationFactor?: number;
  /** Topic configs (stored, not enforced). */
  configs?: Record<string, string>;
}

/** A partition of the embedded cluster, as metadata describes it. */
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

/** A topic of the embedded cluster. */
export interface EmbeddedTopicInfo {
  /** Topic name. */
  readonly name: string;
  /** Topic id (base64url UUID, as Kafka prints it). */
  readonly topicId: string;
  /** Partitions in index order. */
  readonly partitions: readonly EmbeddedPartitionInfo[];
}

/**
 * An in-process Kafka cluster that real clients connect to over TCP.
 *
 * It serves ApiVersions, Metadata, CreateTopics, DeleteTopics,
 * InitProducerId, Produce, Fetch and ListOffsets from in-memory logs, and the
 * classic consumer group APIs (FindCoordinator, JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups,
 * ListGroups).
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
  #closing: Promise<void> | undefined;

  private constructor(state: ClusterState, brokers: Broker[]) {
    this.#state = state;
    this.#brokers = brokers;
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
    return Promise.resolve(new EmbeddedCluster(state, brokers));
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
    if (!this.#closing) this.#state.groups.close(); // answers held JoinGroups, clears timers
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
