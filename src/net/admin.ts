/**
 * The few administrative calls and the minimal producer that tests, examples
 * and the demo need: create and delete topics, and append records to one
 * partition. Not a producer API (no batching, no retries, no idempotence):
 * the library is a consumer.
 *
 * @module
 */

import { ErrorCode } from "../protocol/error_codes.ts";
import { isRetriable, KafkaError, KafkaProtocolError } from "../protocol/errors.ts";
import { CreateTopicsApi } from "../protocol/messages/create_topics.ts";
import { DeleteTopicsApi } from "../protocol/messages/delete_topics.ts";
import { ProduceApi } from "../protocol/messages/produce.ts";
import { FetchApi } from "../protocol/messages/fetch.ts";
import {
  decodeRecordBatches,
  encodeControlBatch,
  encodeRecordBatch,
  type KafkaRecord,
  type RecordToEncode,
} from "../protocol/wire_batch.ts";
import { backoffMs, delay } from "../util/async.ts";
import type { Cluster } from "./cluster.ts";

/** A topic to create. */
export interface NewTopic {
  /** Topic name. */
  name: string;
  /** Number of partitions. @default 1 */
  partitions?: number;
  /** Replication factor. @default 1 */
  replicationFactor?: number;
  /** Topic configs, e.g. `{ "cleanup.policy": "compact" }`. */
  configs?: Record<string, string>;
}

/** Creates topics through the controller; an existing topic is an error unless `ifMissing`. */
export async function createTopics(
  cluster: Cluster,
  topics: readonly NewTopic[],
  opts: { ifMissing?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const conn = await cluster.connection("bootstrap", "admin");
  const res = await conn.send(CreateTopicsApi, {
    topics: topics.map((t) => ({
      name: t.name,
      numPartitions: t.partitions ?? 1,
      replicationFactor: t.replicationFactor ?? 1,
      assignments: [],
      configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
    })),
    timeoutMs: opts.timeoutMs ?? 30_000,
    validateOnly: false,
  });
  for (const t of res.topics) {
    if (t.errorCode === 0 || (opts.ifMissing && t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS)) {
      continue;
    }
    throw KafkaProtocolError.from(t.errorCode, {
      apiName: "CreateTopics",
      topic: t.name,
      errorMessage: t.errorMessage,
    });
  }
  // The controller answers before every broker has loaded the new
  // partitions: wait until metadata shows a leader for each (bounded).
  const names = topics.map((t) => t.name);
  for (let attempt = 0;; attempt++) {
    await cluster.refreshMetadata(names);
    const ready = names.every((n) => {
      const t = cluster.topics.get(n);
      return t && t.errorCode === 0 && t.partitions.size > 0 &&
        [...t.partitions.values()].every((p) => p.leader >= 0 && p.errorCode === 0);
    });
    if (ready) return;
    if (attempt >= 20) {
      throw new KafkaError(
        `Topics ${names.join(", ")} were created but have no leaders after ${attempt} checks`,
      );
    }
    await delay(backoffMs(attempt, { initialMs: 50, maxMs: 1000 }));
  }
}

/** Deletes topics by name. */
export async function deleteTopics(cluster: Cluster, names: readonly string[]): Promise<void> {
  const conn = await cluster.connection("bootstrap", "admin");
  const res = await conn.send(DeleteTopicsApi, {
    topicNames: [...names],
    topics: names.map((name) => ({ name, topicId: undefined })),
    timeoutMs: 30_000,
  });
  for (const t of res.responses) {
    if (t.errorCode !== 0) {
      throw KafkaProtocolError.from(t.errorCode, {
        apiName: "DeleteTopics",
        topic: t.name ?? undefined,
        errorMessage: t.errorMessage,
      });
    }
  }
}

/** Options of {@linkcode produce}. */
export interface ProduceOptions {
  /** Codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. @default 0 */
  compression?: number;
  /** Required acks: -1 all in-sync replicas, 1 the leader. @default -1 */
  acks?: number;
  /**
   * Write the records as part of a transaction of this producer id (the
   * batch's transactional bit set). For tests of read_committed readers.
   */
  transactionalProducerId?: bigint;
  /**
   * Instead of records, write the transaction marker (a control batch) that
   * ends `transactionalProducerId`'s transaction. Only the embedded cluster
   * accepts markers from a client; real Kafka refuses them (its transaction
   * coordinator alone writes markers).
   */
  marker?: "commit" | "abort";
}

/**
 * Appends `records` to one partition as a single batch, at the leader from
 * the metadata cache. Resolves with the base offset the broker assigned.
 */
export async function produce(
  cluster: Cluster,
  topic: string,
  partition: number,
  records: readonly RecordToEncode[],
  opts: ProduceOptions = {},
): Promise<bigint> {
  for (let attempt = 0;; attempt++) {
    try {
      return await produceOnce(cluster, topic, partition, records, opts);
    } catch (e) {
      const retriable = isRetriable(e);
      if (!retriable || attempt >= 5) throw e;
      await delay(backoffMs(attempt));
      await cluster.refreshMetadata([topic]);
    }
  }
}

async function produceOnce(
  cluster: Cluster,
  topic: string,
  partition: number,
  records: readonly RecordToEncode[],
  opts: ProduceOptions,
): Promise<bigint> {
  if (!cluster.topics.has(topic)) await cluster.refreshMetadata([topic]);
  const leader = cluster.leaderOf(topic, partition);
  const conn = await cluster.connection(leader, "produce");
  const info = cluster.topics.get(topic)!;
  const producerId = opts.transactionalProducerId;
  const batch = opts.marker !== undefined && producerId !== undefined
    ? encodeControlBatch({ producerId, type: opts.marker })
    : encodeRecordBatch({
      records,
      compression: opts.compression ?? 0,
      ...(producerId !== undefined
        ? { producerId, producerEpoch: 0, baseSequence: 0, transactional: true }
        : {}),
    });
  const res = await conn.send(ProduceApi, {
    transactionalId: null,
    acks: opts.acks ?? -1,
    timeoutMs: 30_000,
    topicData: [{
      name: topic,
      topicId: info.topicId,
      partitionData: [{ index: partition, records: batch }],
    }],
  });
  const p = res.responses[0].partitionResponses[0];
  if (p.errorCode !== 0) {
    throw KafkaProtocolError.from(p.errorCode, {
      apiName: "Produce",
      topic,
      partition,
      errorMessage: p.errorMessage,
    });
  }
  return p.baseOffset;
}

/** What {@linkcode fetchPartition} read. */
export interface PartitionRead {
  /** Decoded records at or after the requested offset. */
  records: KafkaRecord[];
  /** Where the next read starts. */
  nextOffset: bigint;
  /** The partition's high watermark. */
  highWatermark: bigint;
}

/**
 * One Fetch of one partition from its leader: the low-level read that tests
 * and the demo use. The consumer's fetcher serves many partitions per broker.
 */
export async function fetchPartition(
  cluster: Cluster,
  topic: string,
  partition: number,
  offset: bigint,
  opts: { maxWaitMs?: number; maxBytes?: number; isolationLevel?: 0 | 1 } = {},
): Promise<PartitionRead> {
  if (!cluster.topics.has(topic)) await cluster.refreshMetadata([topic]);
  const info = cluster.topics.get(topic)!;
  const conn = await cluster.connection(cluster.leaderOf(topic, partition), "fetch");
  const maxBytes = opts.maxBytes ?? 1 << 20;
  const maxWaitMs = opts.maxWaitMs ?? 500;
  const res = await conn.send(FetchApi, {
    maxWaitMs,
    minBytes: 1,
    maxBytes,
    isolationLevel: opts.isolationLevel ?? 0,
    topics: [{
      topic,
      topicId: info.topicId,
      partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: maxBytes }],
    }],
  }, { timeoutMs: 30_000 + maxWaitMs });
  if (res.errorCode !== 0) throw KafkaProtocolError.from(res.errorCode, { apiName: "Fetch" });
  const p = res.responses[0].partitions[0];
  if (p.errorCode !== 0) {
    throw KafkaProtocolError.from(p.errorCode, { apiName: "Fetch", topic, partition });
  }
  const decoded = decodeRecordBatches(p.records ?? new Uint8Array(0), {
    topic,
    partition,
    fromOffset: offset,
    abortedTransactions: opts.isolationLevel === 1 ? p.abortedTransactions ?? [] : null,
  });
  return {
    records: decoded.records,
    nextOffset: decoded.nextOffset ?? offset,
    highWatermark: p.highWatermark,
  };
}
