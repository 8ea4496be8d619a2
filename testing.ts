/**
 * Test helpers for Kafka applications: {@linkcode EmbeddedCluster}, an
 * in-process Kafka cluster whose brokers listen on loopback TCP ports and
 * speak Kafka's wire protocol, so any Kafka client (sluice's `Consumer`,
 * Kafka's own Java tools, …) can connect to it. Topics and committed offsets
 * live in memory; consumer groups (classic protocol) are coordinated by it.
 *
 * @example
 * ```ts
 * import { Consumer } from "@sluice/kafka";
 * import { EmbeddedCluster } from "@sluice/kafka/testing";
 *
 * await using cluster = await EmbeddedCluster.start({ brokers: 3 });
 * await cluster.createTopic("orders", { partitions: 3 });
 * await using consumer = new Consumer({
 *   brokers: cluster.bootstrap.split(","),
 *   assign: [{ topic: "orders", partition: 0, offset: "earliest" }],
 * });
 * ```
 *
 * @module
 */

export {
  EmbeddedCluster,
  type EmbeddedClusterOptions,
  type EmbeddedGroupInfo,
  type EmbeddedPartitionInfo,
  type EmbeddedRecord,
  type EmbeddedTopicInfo,
  type EmbeddedTopicOptions,
} from "./src/testing/embedded_cluster.ts";
export type {
  ApiName,
  FaultAction,
  Interception,
  InterceptOptions,
  ObservedRequest,
} from "./src/testing/faults.ts";
