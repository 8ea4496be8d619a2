/**
 * The shared state of the embedded cluster: brokers, topics with their
 * partition logs and leaders, and producer ids. Every broker reads and writes
 * the same state (replication is instant), but only a partition's leader
 * serves Produce, Fetch and ListOffsets for it.
 *
 * @module
 */

import { ErrorCode } from "../protocol/error_codes.ts";
import { uuidToString } from "../protocol/reader.ts";
import type { VersionRange } from "../protocol/schema.ts";
import { CodedError } from "./coded_error.ts";
import { FaultRules } from "./faults.ts";
import { ConsumerGroupCoordinator } from "./consumer_group_coordinator.ts";
import { GroupCoordinator } from "./group_coordinator.ts";
import { PartitionLog } from "./partition_log.ts";

/** A broker's address as metadata advertises it. */
export interface BrokerAddress {
  /** Node id. */
  readonly nodeId: number;
  /** Host. */
  readonly host: string;
  /** Port. */
  readonly port: number;
}

/** One partition. */
export interface PartitionState {
  /** Partition index. */
  readonly index: number;
  /** Leader node id. */
  leader: number;
  /** Leader epoch. */
  leaderEpoch: number;
  /** Replica node ids, leader first. */
  replicas: number[];
  /** In-sync replica node ids. */
  isr: number[];
  /** The log. */
  readonly log: PartitionLog;
}

/** One topic. */
export interface TopicState {
  /** Name. */
  readonly name: string;
  /** Topic id (base64url UUID). */
  readonly id: string;
  /** Partitions, by index. */
  readonly partitions: PartitionState[];
  /** Topic configs as given at creation. */
  readonly configs: Record<string, string>;
}

/** How to create a topic. */
export interface TopicSpec {
  /** Partition count. @default 1 */
  partitions?: number;
  /** Replication factor (at most the broker count). @default min(3, brokers) */
  replicationFactor?: number;
  /** Explicit replica assignment: partition index → node ids, leader first. */
  assignments?: ReadonlyMap<number, readonly number[]>;
  /** Topic configs. */
  configs?: Record<string, string>;
}

/** A topic creation failure with Kafka's error code. */
export class TopicError extends CodedError {
  override readonly name = "TopicError";
}

const {
  NONE,
  UNKNOWN_TOPIC_OR_PARTITION,
  INVALID_TOPIC_EXCEPTION,
  TOPIC_ALREADY_EXISTS,
  INVALID_PARTITIONS,
  INVALID_REPLICATION_FACTOR,
  INVALID_REPLICA_ASSIGNMENT,
} = ErrorCode;

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]+$/;

/** Generates a random topic id in Kafka's text form (never the zero UUID). */
export function randomTopicId(): string {
  const raw = new Uint8Array(16);
  crypto.getRandomValues(raw);
  raw[0] |= 1; // never all zeros
  return uuidToString(raw);
}

/** The state all brokers of an embedded cluster share. */
export class ClusterState {
  /** Cluster id (base64url UUID). */
  readonly clusterId: string = randomTopicId();
  /** Advertised brokers, by node id; filled as brokers start. */
  readonly brokers: BrokerAddress[] = [];
  /** Node id of the controller. */
  controllerId = 0;
  /** Topics by name. */
  readonly topics = new Map<string, TopicState>();
  /** Topics by id. */
  readonly topicsById = new Map<string, TopicState>();
  /** Auto-create unknown topics asked for in Metadata (as Kafka does by default). */
  autoCreateTopics = true;
  /** Partition count of auto-created topics (Kafka's num.partitions). */
  defaultPartitions = 1;
  /** The consumer groups and their committed offsets. */
  readonly groups: GroupCoordinator = new GroupCoordinator();
  /**
   * Broker settings of consumer-protocol groups (Kafka's
   * `group.consumer.session.timeout.ms` and `.heartbeat.interval.ms`; the
   * start options set them).
   */
  readonly consumerGroupSettings = { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 };
  /** The consumer-protocol (KIP-848) groups; their offsets are kept by `groups`. */
  readonly consumerGroups: ConsumerGroupCoordinator = new ConsumerGroupCoordinator(
    {
      topics: () =>
        [...this.topics.values()].map((t) => ({
          name: t.name,
          id: t.id,
          partitions: t.partitions.length,
        })),
    },
    this.groups,
    this.consumerGroupSettings,
  );
  /** Fault injection: interception rules and added latency. */
  readonly faults: FaultRules = new FaultRules();
  /** Node ids of stopped brokers (not in Metadata, lead nothing, coordinate nothing). */
  readonly stopped = new Set<number>();
  /** Groups whose coordinator was moved: group id → node id. */
  readonly coordinatorOverrides = new Map<string, number>();
  /**
   * Narrowed ApiVersions ranges by API key (the `advertisedVersions` option:
   * an older broker); APIs absent advertise what they serve.
   */
  advertised: ReadonlyMap<number, VersionRange> = new Map();
  #nextProducerId = 1000n;
  readonly #transactionalProducers = new Map<string, { id: bigint; epoch: number }>();
  #roundRobin = 0;

  /** Wires the two group coordinators together (a group id is classic or consumer). */
  constructor() {
    this.groups.modernGroups = this.consumerGroups;
  }

  /** Node ids of the running brokers. */
  liveNodes(): number[] {
    return this.brokers.map((b) => b.nodeId).filter((id) => !this.stopped.has(id));
  }

  /** Checks a topic name as Kafka does; throws INVALID_TOPIC_EXCEPTION. */
  validateTopicName(name: string): void {
    if (
      name.length === 0 || name.length > 249 || name === "." || name === ".." ||
      !LEGAL_TOPIC.test(name)
    ) {
      throw new TopicError(`Topic name "${name}" is illegal`, INVALID_TOPIC_EXCEPTION);
    }
  }

  /** Creates a topic; throws {@linkcode TopicError} on a bad request. */
  createTopic(name: string, spec: TopicSpec = {}, validateOnly = false): TopicState {
    this.validateTopicName(name);
    if (this.topics.has(name)) {
      throw new TopicError(`Topic '${name}' already exists.`, TOPIC_ALREADY_EXISTS);
    }
    const nodes = this.brokers.map((b) => b.nodeId);
    let partitionCount = spec.partitions ?? this.defaultPartitions;
    if (partitionCount === -1) partitionCount = this.defaultPartitions;
    if (spec.assignments && spec.assignments.size > 0) partitionCount = spec.assignments.size;
    if (!Number.isInteger(partitionCount) || partitionCount < 1) {
      throw new TopicError("Number of partitions must be larger than 0.", INVALID_PARTITIONS);
    }
    let rf = spec.replicationFactor ?? -1;
    if (rf === -1) rf = Math.min(3, nodes.length);
    if (rf < 1) {
      throw new TopicError("Replication factor must be larger than 0.", INVALID_REPLICATION_FACTOR);
    }
    if (rf > nodes.length) {
      throw new TopicError(
        `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} ` +
          `cannot be reached because only ${nodes.length} broker(s) are registered.`,
        INVALID_REPLICATION_FACTOR,
      );
    }
    const partitions: PartitionState[] = [];
    const start = this.#roundRobin;
    for (let i = 0; i < partitionCount; i++) {
      let replicas = spec.assignments?.get(i)?.slice();
      if (replicas && replicas.some((r) => !nodes.includes(r))) {
        throw new TopicError(
          `Replica assignment of partition ${i} names an unknown broker`,
          INVALID_REPLICA_ASSIGNMENT,
        );
      }
      if (!replicas || replicas.length === 0) {
        replicas = [];
        for (let r = 0; r < rf; r++) replicas.push(nodes[(start + i + r) % nodes.length]);
      }
      partitions.push(newPartition(i, replicas));
    }
    const topic: TopicState = {
      name,
      id: randomTopicId(),
      partitions,
      configs: { ...spec.configs },
    };
    if (validateOnly) return topic;
    this.#roundRobin = (start + partitionCount) % Math.max(1, nodes.length);
    this.topics.set(name, topic);
    this.topicsById.set(topic.id, topic);
    return topic;
  }

  /**
   * Grows a topic to `total` partitions (what Kafka's CreatePartitions does),
   * with the topic's replication factor and leaders round robin; throws
   * {@linkcode TopicError} when the topic is unknown or `total` is not larger.
   */
  addPartitions(name: string, total: number): TopicState {
    const topic = this.topics.get(name);
    if (topic === undefined) {
      throw new TopicError(
        `This server does not host this topic: ${name}`,
        UNKNOWN_TOPIC_OR_PARTITION,
      );
    }
    const have = topic.partitions.length;
    if (!Number.isInteger(total) || total <= have) {
      throw new TopicError(
        `Topic ${name} has ${have} partitions; the new count must be larger, not ${total}.`,
        INVALID_PARTITIONS,
      );
    }
    const nodes = this.brokers.map((b) => b.nodeId);
    const rf = topic.partitions[0].replicas.length;
    for (let i = have; i < total; i++) {
      const replicas: number[] = [];
      for (let r = 0; r < rf; r++) replicas.push(nodes[(this.#roundRobin + r) % nodes.length]);
      this.#roundRobin = (this.#roundRobin + 1) % Math.max(1, nodes.length);
      topic.partitions.push(newPartition(i, replicas));
    }
    return topic;
  }

  /** Deletes a topic; returns it, or undefined when unknown. */
  deleteTopic(name: string): TopicState | undefined {
    const t = this.topics.get(name);
    if (!t) return undefined;
    this.topics.delete(name);
    this.topicsById.delete(t.id);
    return t;
  }

  /**
   * Hands out a producer id and epoch (InitProducerId). With a transactional
   * id: the id it had, epoch bumped (a new id once the epoch is used up).
   * Without one: always a new id at epoch 0, even when the request names
   * the producer's current id and epoch (KIP-360, v3+). That is what Kafka's
   * transaction coordinator does for idempotent producers ("blindly accept"
   * and generate an id). Java's idempotent producer bumps its epoch itself,
   * without a request (the partitions accept a new epoch at sequence 0), and
   * asks for a new id only once the epoch is exhausted.
   */
  initProducerId(
    transactionalId: string | null,
  ): { producerId: bigint; producerEpoch: number; errorCode: number } {
    if (transactionalId !== null) {
      const known = this.#transactionalProducers.get(transactionalId);
      if (known) {
        known.epoch++;
        if (known.epoch > 32766) {
          known.id = this.#nextProducerId++;
          known.epoch = 0;
        }
        return { producerId: known.id, producerEpoch: known.epoch, errorCode: NONE };
      }
      const fresh = { id: this.#nextProducerId++, epoch: 0 };
      this.#transactionalProducers.set(transactionalId, fresh);
      return { producerId: fresh.id, producerEpoch: 0, errorCode: NONE };
    }
    return { producerId: this.#nextProducerId++, producerEpoch: 0, errorCode: NONE };
  }
}

/** A new partition led by the first of `replicas`, all of them in sync, with an empty log. */
function newPartition(index: number, replicas: number[]): PartitionState {
  return {
    index,
    leader: replicas[0],
    leaderEpoch: 0,
    replicas,
    isr: replicas.slice(),
    log: new PartitionLog(),
  };
}
