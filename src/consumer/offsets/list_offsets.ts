/**
 * Offset lookups at partition leaders: earliest, latest, or the first offset
 * at or after a timestamp (ListOffsets). Used for `autoOffsetReset`, `seek`
 * and assign-mode start positions.
 *
 * @module
 */

import { ListOffsetsTimestamp } from "../../protocol/list_offsets_timestamps.ts";
import type { Cluster } from "../../net/cluster.ts";
import { CorruptDataError, KafkaError, KafkaProtocolError } from "../../protocol/errors.ts";
import { ListOffsetsApi } from "../../protocol/messages/list_offsets.ts";
import { backoffMs, type BackoffOptions, delay } from "../../util/async.ts";

/**
 * Retries of one lookup before its error is thrown. With the default backoff
 * (100 ms doubling to 1 s) that spans about 17 s: longer than a leader
 * election after a broker failure usually takes.
 */
export const MAX_RETRIES = 20;

/** Where to look: earliest, latest, or a timestamp in ms. */
export type OffsetQuery = "earliest" | "latest" | { timestamp: number };

/**
 * The offset of `query` in one partition. Retriable errors (leader moves,
 * OFFSET_NOT_AVAILABLE during an election) are retried with `backoff`
 * (the consumer's retryBackoffMs / retryBackoffMaxMs), {@linkcode MAX_RETRIES} times at most.
 * A timestamp past the last record gives the log end offset, as in Java's
 * `offsetsForTimes` followed by a seek to the end.
 */
export async function listOffset(...args: Parameters<typeof lookupOffset>): Promise<bigint> {
  // No record at or after a timestamp: the end of the log.
  const [cluster, topic, partition, , isolationLevel, signal, backoff] = args;
  return (await lookupOffset(...args)) ??
    (await lookupOffset(cluster, topic, partition, "latest", isolationLevel, signal, backoff))!;
}

/**
 * As {@linkcode listOffset}, but null when no record is at or after a
 * timestamp (Java's `offsetsForTimes`).
 */
export async function lookupOffset(
  cluster: Cluster,
  topic: string,
  partition: number,
  query: OffsetQuery,
  isolationLevel: 0 | 1,
  signal?: AbortSignal,
  backoff: BackoffOptions = {},
): Promise<bigint | null> {
  const timestamp = query === "earliest"
    ? ListOffsetsTimestamp.EARLIEST
    : query === "latest"
    ? ListOffsetsTimestamp.LATEST
    : BigInt(query.timestamp);
  for (let attempt = 0;; attempt++) {
    try {
      if (!cluster.topics.has(topic)) await cluster.refreshMetadata([topic]);
      const conn = await cluster.connection(cluster.leaderOf(topic, partition), "metadata");
      const version = conn.version(ListOffsetsApi);
      const res = await conn.send(ListOffsetsApi, {
        replicaId: -1,
        isolationLevel,
        topics: [{
          name: topic,
          partitions: [{ partitionIndex: partition, timestamp, currentLeaderEpoch: -1 }],
        }],
        timeoutMs: 30_000,
      }, { version });
      const p = res.topics[0].partitions[0];
      if (p.errorCode !== 0) {
        throw KafkaProtocolError.from(p.errorCode, {
          apiName: "ListOffsets",
          apiVersion: version,
          topic,
          partition,
        });
      }
      if (p.offset >= 0n) return p.offset;
      // No record at or after the timestamp.
      if (typeof query === "object") return null;
      // Every log has an earliest and a latest offset: a negative one is a
      // damaged answer, not a position to start from (retried below).
      throw new CorruptDataError(
        `Broker answered ListOffsets v${version} (${query}) with offset ${p.offset}`,
        { topic, partition },
      );
    } catch (e) {
      // Our errors say whether a retry may help (a broker too old for our
      // versions, failed authentication: no); a damaged answer and anything
      // else (no leader known yet) are retried.
      const retriable = e instanceof CorruptDataError || !(e instanceof KafkaError) ||
        e.retriable;
      // The last error is thrown as it is: its message names the request,
      // its version and the broker's answer.
      if (!retriable || attempt >= MAX_RETRIES || signal?.aborted) throw e;
      await delay(backoffMs(attempt, backoff), signal);
      await cluster.refreshMetadata([topic]).catch(() => {});
    }
  }
}
