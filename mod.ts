/**
 * sluice: a Deno-native Apache Kafka consumer whose consumer is a WHATWG
 * `ReadableStream` of record batches.
 *
 * This release carries the foundation: the Kafka wire protocol, record batch
 * decoding and the typed errors every layer throws. The streaming `Consumer`
 * of the design guide builds on it.
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
export { ConnectionError, RequestTimeoutError, UnsupportedVersionError } from "./src/net/errors.ts";
export type { KafkaRecord, RecordHeader } from "./src/protocol/record.ts";
