/**
 * Offset lookups at partition leaders: earliest, latest, or the first offset
 * at or after a timestamp (ListOffsets). Used for `autoOffsetReset`, `seek`
 * and assign-mode start positions.
 *
 * @module
 */

import type { Cluster } from "../../net/cluster.ts";
import { KafkaProtocolError } from "../../protocol/errors.ts";
import { ListOffsetsApi } from "../../protocol/messages/list_offsets.ts";
import { backoffMs, delay } from "../../util/async.ts";

/** Where to look: earliest, latest, or a timestamp in ms. */
export type OffsetQuery = "earliest" | "latest" | { timestamp: number };

/**
 * The offset of `query` in one partition. Retriable errors (leader moves,
 * OFFSET_NOT_AVAILABLE during an election) are retried with backoff, bounded.
 * A timestamp past the last record gives the log end offset, as in Java's
 * `offsetsForTimes` followed by a seek to the end.
 */
export async function listOffset(
  cluster: Cluster,
  topic: string,
  partition: number,
  query: OffsetQuery,
  isolationLevel: 0 | 1,
  signal?: AbortSignal,
): Promise<bigint> {
  const timestamp = query === "earliest" ? -2n : query === "latest" ? -1n : BigInt(query.timestamp);
  for (let attempt = 0;; attempt++) {
    try {
      if (!cluster.topics.has(topic)) await cluster.refreshMetadata([topic]);
      const conn = await cluster.connection(cluster.leaderOf(topic, partition), "metadata");
      const res = await conn.send(ListOffsetsApi, {
        replicaId: -1,
        isolationLevel,
        topics: [{
          name: topic,
          partitions: [{ partitionIndex: partition, timestamp, currentLeaderEpoch: -1 }],
        }],
        timeoutMs: 30_000,
      });
      const p = res.topics[0].partitions[0];
      if (p.errorCode !== 0) {
        throw KafkaProtocolError.from(p.errorCode, { apiName: "ListOffsets", topic, partition });
      }
      if (p.offset >= 0n) return p.offset;
      // No record at or after the timestamp: the end of the log.
      return await listOffset(cluster, topic, partition, "latest", isolationLevel, signal);
    } catch (e) {
      const retriable = e instanceof KafkaProtocolError ? e.retriable : true;
      if (!retriable || attempt >= 10 || signal?.aborted) throw e;
      await delay(backoffMs(attempt), signal);
      await cluster.refreshMetadata([topic]).catch(() => {});
    }
  }
}
