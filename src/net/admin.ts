/**
 * The minimal producer and reader that tests, examples and the demo need:
 * append records to one partition as one batch, and one Fetch of one
 * partition. Not a producer API (no batching, no idempotence). Topics are
 * managed with the public `Admin` client (src/admin/).
 *
 * @module
 */

import { isRetriable, KafkaProtocolError } from "../protocol/errors.ts";
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
