/**
 * The consumer's integration suite runs against two kinds of cluster, from
 * one set of test bodies:
 *
 * - `kafka`: the real Kafka broker that `deno task test` starts
 *   (`KAFKA_BROKERS`; missing -> the test fails, it never skips);
 * - `embedded`: a fresh 3-broker {@linkcode EmbeddedCluster} in this process,
 *   closed when the test ends.
 *
 * {@linkcode suiteTest} registers one `Deno.test` per target, named
 * `"<name> [kafka]"` and `"<name> [embedded]"`. The body receives a
 * {@linkcode Target} whose helpers create topics, produce and read group
 * state on that cluster, so a body never names a bootstrap itself.
 *
 * Tests that need what only one of them has (Kafka's transaction
 * coordinator, a 3-node KRaft cluster to kill brokers of, the embedded
 * cluster's fault injection) pass `targets: [...]`.
 *
 * @module
 */

import type { ConsumerOptions } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";
import {
  brokers,
  kafkaTool,
  produceConsole,
  type ProduceConsoleOptions,
  producePerf,
  type ProducePerfOptions,
  type ProducePerfResult,
} from "./_kafka.ts";
import {
  fastOptions,
  type GroupDescription,
  groupDescription,
  groupState,
  newTopic,
  produceValues,
  type TestRecord,
} from "./_consumer_helpers.ts";

/** Which cluster a suite test runs against. */
export type TargetName = "kafka" | "embedded";

/** Every target, in the order tests are registered. */
export const ALL_TARGETS: readonly TargetName[] = ["kafka", "embedded"];

/** A cluster to run one suite test against, with helpers bound to it. */
export interface Target {
  /** `kafka` or `embedded`. */
  readonly name: TargetName;
  /** Its bootstrap string. */
  readonly bootstrap: string;
  /** The embedded cluster (its control API), when `name` is `embedded`. */
  readonly embedded: EmbeddedCluster | undefined;
  /** {@linkcode fastOptions} with this cluster's brokers. */
  options(extra: Partial<ConsumerOptions>): ConsumerOptions;
  /** {@linkcode newTopic} on this cluster. */
  newTopic(
    prefix: string,
    partitions: number,
    options?: { replicationFactor?: number; configs?: Record<string, string> },
  ): Promise<string>;
  /** {@linkcode produceValues} on this cluster. */
  produceValues(
    topic: string,
    partition: number,
    records: readonly (string | TestRecord)[],
    options?: { perBatch?: number },
  ): Promise<bigint[]>;
  /** Kafka's own console producer (one line a record) against this cluster. */
  produceConsole(
    topic: string,
    lines: readonly string[],
    options?: ProduceConsoleOptions,
  ): Promise<void>;
  /** Kafka's own producer perf tool (a JVM producer we did not write) against this cluster. */
  producePerf(topic: string, options: ProducePerfOptions): Promise<ProducePerfResult>;
  /**
   * Grows a topic to `total` partitions: Kafka's topics tool (`--alter
   * --partitions`) on real Kafka, the control API on the embedded cluster
   * (which does not serve CreatePartitions).
   */
  addPartitions(topic: string, total: number): Promise<void>;
  /** Kafka's own consumer-groups tool (`--describe`) run against this cluster. */
  groupDescription(groupId: string): Promise<GroupDescription>;
  /** Kafka's own consumer-groups tool (`--describe --state`) run against this cluster. */
  groupState(groupId: string): Promise<{ state: string; members: number } | null>;
}

function bind(
  name: TargetName,
  bootstrap: string,
  embedded: EmbeddedCluster | undefined,
): Target {
  return {
    name,
    bootstrap,
    embedded,
    options: (extra) => fastOptions({ brokers: bootstrap, ...extra }),
    newTopic: (prefix, partitions, options = {}) =>
      newTopic(prefix, partitions, { ...options, bootstrap }),
    produceValues: (topic, partition, records, options = {}) =>
      produceValues(topic, partition, records, { ...options, bootstrap }),
    produceConsole: (topic, lines, options = {}) =>
      produceConsole(topic, lines, { ...options, bootstrap }),
    producePerf: (topic, options) => producePerf(topic, { ...options, bootstrap }),
    addPartitions: async (topic, total) => {
      if (embedded !== undefined) {
        await embedded.addPartitions(topic, total);
        return;
      }
      const args = ["--bootstrap-server", bootstrap, "--alter", "--topic", topic];
      await kafkaTool("topics", [...args, "--partitions", String(total)]);
    },
    groupDescription: (groupId) => groupDescription(groupId, { bootstrap }),
    groupState: (groupId) => groupState(groupId, { bootstrap }),
  };
}

/** Runs `body` against a target: the real broker, or a fresh embedded cluster closed afterwards. */
export async function withTarget<T>(
  name: TargetName,
  body: (target: Target) => Promise<T>,
): Promise<T> {
  if (name === "kafka") return await body(bind(name, brokers(), undefined));
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  return await body(bind(name, cluster.bootstrap, cluster));
}

/**
 * Registers `body` as one test per target (`"<name> [kafka]"`,
 * `"<name> [embedded]"`).
 */
export function suiteTest(
  name: string,
  body: (target: Target) => Promise<void>,
  options: { targets?: readonly TargetName[] } = {},
): void {
  for (const target of options.targets ?? ALL_TARGETS) {
    Deno.test(`${name} [${target}]`, () => withTarget(target, body));
  }
}
