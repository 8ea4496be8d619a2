/**
 * sluice: a Deno-native Apache Kafka consumer whose consumer is a WHATWG
 * `ReadableStream` of record batches.
 *
 * The {@linkcode Consumer} reads in assign mode (explicit partitions) or
 * subscribe mode (a consumer group); `batch.ack()` marks what may be
 * committed. The {@linkcode Admin} client manages topics, partitions, groups,
 * offsets and configs. Errors are typed: every one extends
 * {@linkcode KafkaError}.
 *
 * @example
 * ```ts
 * import { KafkaError, KafkaProtocolError } from "@sluice/kafka";
 * function explain(e: unknown): string {
 *   if (e instanceof KafkaProtocolError) return `${e.errorName}: retriable=${e.retriable}`;
 *   if (e instanceof KafkaError) return e.message;
 *   return String(e);
 * }
 * explain(new KafkaProtocolError(6)); // "NOT_LEADER_OR_FOLLOWER: retriable=true"
 * ```
 *
 * @module
 */

export {
  CorruptDataError,
  type DataLocation,
  isRetriable,
  KafkaError,
  KafkaProtocolError,
  type KafkaProtocolErrorContext,
} from "./src/protocol/errors.ts";
export {
  ERROR_TABLE,
  ErrorCode,
  type ErrorInfo,
  errorInfo,
  type ErrorName,
  errorName,
  type UnknownErrorName,
} from "./src/protocol/error_codes.ts";
export {
  AuthenticationError,
  ConnectionError,
  RebootstrapRequiredError,
  RequestTimeoutError,
  TlsError,
  UnsupportedVersionError,
} from "./src/net/errors.ts";
export { Secret } from "./src/net/secret.ts";
export type { OAuthBearerToken, OAuthBearerTokenProvider } from "./src/net/sasl/oauthbearer.ts";
export type { KafkaRecord, RecordHeader } from "./src/protocol/record.ts";
export {
  Consumer,
  type PartitionLag,
  type PartitionOffset,
  type SeekTarget,
} from "./src/consumer/consumer.ts";
export { RecordBatch, type RecordBatchInit } from "./src/consumer/record_batch.ts";
export type { UnavailablePartition } from "./src/consumer/unavailable.ts";
export {
  type ErrorAction,
  processConcurrently,
  type ProcessConcurrentlyOptions,
  type RecordContext,
} from "./src/consumer/process_concurrently.ts";
export { Producer, type SinkOutput } from "./src/producer/producer.ts";
export type { ProducerRecord } from "./src/producer/batch.ts";
export {
  ProduceError,
  ProducerClosedError,
  ProducerTimeoutError,
  type RecordMetadata,
  RecordTooLargeError,
} from "./src/producer/errors.ts";
export type { Acks, CompressionName, ProducerOptions } from "./src/producer/options.ts";
export { LogTruncationError } from "./src/consumer/errors.ts";
export type {
  CommittedOffset,
  GroupDescription,
  GroupMemberDescription,
} from "./src/net/group_client.ts";
export {
  type AssignedPartition,
  type AssignorName,
  type AutoOffsetReset,
  type ClientOptions,
  type CommitMode,
  ConfigError,
  type ConfigIssue,
  consoleLogger,
  type ConsumerOptions,
  type GroupProtocol,
  type HeartbeatThread,
  type IsolationLevel,
  type Logger,
  type LogLevel,
  type OffsetSpec,
  type RebalanceListener,
  type SaslOAuthBearerOptions,
  type SaslOptions,
  type SaslPasswordOptions,
  type TlsOptions,
  type TopicPartition,
} from "./src/config.ts";
export { Admin } from "./src/admin/admin.ts";
export { AdminBatchError } from "./src/admin/errors.ts";
export type { AdminOptions } from "./src/admin/options.ts";
export type {
  AlterConfigsOptions,
  ConfigChange,
  ConfigEntry,
  ConfigResource,
  ConfigResourceType,
  ConfigSource,
  CreateTopicsOptions,
  GroupListing,
  GroupPartitionOffset,
  ListedOffset,
  ListGroupsOptions,
  ListOffsetsOptions,
  ListTopicsOptions,
  NewPartitions,
  NewTopic,
  OffsetLookup,
  OffsetQuery,
  PartitionDescription,
  ResourceConfigs,
  TopicChangeOptions,
  TopicDescription,
} from "./src/admin/types.ts";
