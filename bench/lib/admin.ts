/**
 * Topics and offsets for the producer benchmark through sluice's public
 * `Admin` (no JVM start per call, unlike `kafka.ts`'s tools): create a topic,
 * read its start and end offsets, delete it.
 *
 * @module
 */

import { Admin } from "../../mod.ts";
import { log } from "./proc.ts";

/** A connection to the cluster for administrative calls; `close()` when done. */
export class BenchAdmin {
  readonly #admin: Admin;

  constructor(bootstrap: string) {
    this.#admin = new Admin({ brokers: bootstrap });
  }

  /** Creates a topic (replication factor 1); resolves once every partition has a leader. */
  async createTopic(topic: string, partitions: number): Promise<void> {
    await this.#admin.createTopics([{ name: topic, partitions, replicationFactor: 1 }]);
  }

  /** Records per partition: end minus start offsets; throws unless every start is 0. */
  async counts(topic: string, partitions: number): Promise<number[]> {
    const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    const starts = await this.#admin.listOffsets(tps.map((tp) => ({ ...tp, at: "earliest" })));
    const ends = await this.#admin.listOffsets(tps.map((tp) => ({ ...tp, at: "latest" })));
    return tps.map((tp) => {
      const start = starts.find((s) => s.partition === tp.partition)!.offset;
      if (start !== 0n) throw new Error(`${topic}-${tp.partition}: log start ${start}, want 0`);
      return Number(ends.find((e) => e.partition === tp.partition)!.offset);
    });
  }

  /** Deletes a topic; logs (does not throw) when that fails. */
  async deleteTopic(topic: string): Promise<void> {
    await this.#admin.deleteTopics([topic]).catch((e: unknown) =>
      log(`could not delete topic ${topic}: ${e}`)
    );
  }

  /** Closes the connections. */
  close(): Promise<void> {
    return this.#admin.close();
  }
}
