/**
 * Topics and offsets for the producer benchmark through sluice's own
 * connection layer (no JVM start per call, unlike `kafka.ts`'s tools):
 * create a topic and wait for its leaders, read its start and end offsets,
 * delete it.
 *
 * @module
 */

import { createTopics, deleteTopics } from "../../src/net/admin.ts";
import { Cluster } from "../../src/net/cluster.ts";
import { listOffset } from "../../src/consumer/offsets/list_offsets.ts";
import { delay } from "../../src/util/async.ts";
import { log } from "./proc.ts";

/** A connection to the cluster for administrative calls; `close()` when done. */
export class Admin {
  readonly #cluster: Cluster;

  constructor(bootstrap: string) {
    this.#cluster = new Cluster({ brokers: bootstrap.split(",") });
  }

  /** Creates a topic (replication factor 1) and waits until every partition has a leader. */
  async createTopic(topic: string, partitions: number): Promise<void> {
    await createTopics(this.#cluster, [{ name: topic, partitions }]);
    for (let i = 0; i < 100; i++) {
      const md = await this.#cluster.refreshMetadata([topic]);
      const t = md.topics.find((t) => t.name === topic);
      if (
        t !== undefined && t.errorCode === 0 && t.partitions.length === partitions &&
        t.partitions.every((p) => p.errorCode === 0 && p.leaderId >= 0)
      ) return;
      await delay(100);
    }
    throw new Error(`topic ${topic}: no leaders for its ${partitions} partitions after 10 s`);
  }

  /** Records per partition: end minus start offsets; throws unless every start is 0. */
  async counts(topic: string, partitions: number): Promise<number[]> {
    const counts: number[] = [];
    for (let p = 0; p < partitions; p++) {
      const start = await listOffset(this.#cluster, topic, p, "earliest", 0);
      const end = await listOffset(this.#cluster, topic, p, "latest", 0);
      if (start !== 0n) throw new Error(`${topic}-${p}: log start ${start}, want 0`);
      counts.push(Number(end));
    }
    return counts;
  }

  /** Deletes a topic; logs (does not throw) when that fails. */
  async deleteTopic(topic: string): Promise<void> {
    await deleteTopics(this.#cluster, [topic]).catch((e) =>
      log(`could not delete topic ${topic}: ${e}`)
    );
  }

  /** Closes the connections. */
  close(): Promise<void> {
    return this.#cluster.close();
  }
}
