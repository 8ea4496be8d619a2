/**
 * Typed errors raised by the protocol layer: bytes that cannot be decoded, and
 * error codes answered by a broker. Every error the library throws extends
 * {@linkcode KafkaError}, so `catch (e) { if (e instanceof KafkaError) … }`
 * catches all of ours and nothing else.
 *
 * @module
 */

import { type ErrorInfo, errorInfo, type ErrorName, type UnknownErrorName } from "./error_codes.ts";

/**
 * Base class of every error thrown by sluice.
 *
 * @example
 * ```ts
 * import { KafkaError } from "@sluice/kafka";
 * function isOurs(e: unknown): boolean {
 *   return e instanceof KafkaError;
 * }
 * isOurs(new Error("x")); // false
 * ```
 */
export class KafkaError extends Error {
  /**
   * The operation may succeed when tried again (a broker code Kafka's client
   * retries, a lost connection, a request that timed out); false for the
   * rest. See {@linkcode isRetriable}.
   */
  readonly retriable: boolean = false;

  /** Creates an error with a message saying what happened and what to do. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Where in the record data a {@linkcode CorruptDataError} was found.
 *
 * @example
 * ```ts
 * import { CorruptDataError, type DataLocation } from "@sluice/kafka";
 * const where: DataLocation = { topic: "orders", partition: 3, offset: 1042n };
 * new CorruptDataError("CRC mismatch", where).message; // names topic, partition and offset
 * ```
 */
export interface DataLocation {
  /** Topic of the record data, when known. */
  topic?: string;
  /** Partition of the record data, when known. */
  partition?: number;
  /** Offset (base offset of the batch, or the record's offset), when known. */
  offset?: bigint;
}

/**
 * Bytes from the network could not be decoded: a truncated or oversized frame,
 * a malformed varint, a CRC mismatch, an unknown compression codec. The
 * message names what was wrong and, for record data, the topic, partition and
 * offset. Data is never silently skipped.
 *
 * @example
 * ```ts
 * import { CorruptDataError } from "@sluice/kafka";
 * const e = new CorruptDataError("CRC mismatch", { topic: "t", partition: 0, offset: 5n });
 * e.message; // "CRC mismatch (topic t, partition 0, offset 5)"
 * ```
 */
export class CorruptDataError extends KafkaError {
  /** Topic of the corrupt record data, when known. */
  readonly topic?: string;
  /** Partition of the corrupt record data, when known. */
  readonly partition?: number;
  /** Offset of the corrupt record data, when known. */
  readonly offset?: bigint;

  /** Creates the error; `where` is appended to the message. */
  constructor(what: string, where: DataLocation = {}, options?: ErrorOptions) {
    const parts: string[] = [];
    if (where.topic !== undefined) parts.push(`topic ${where.topic}`);
    if (where.partition !== undefined) parts.push(`partition ${where.partition}`);
    if (where.offset !== undefined) parts.push(`offset ${where.offset}`);
    super(parts.length ? `${what} (${parts.join(", ")})` : what, options);
    this.topic = where.topic;
    this.partition = where.partition;
    this.offset = where.offset;
  }
}

/**
 * Where and in which request a broker error code was met; all fields optional.
 *
 * @example
 * ```ts
 * import { KafkaProtocolError, type KafkaProtocolErrorContext } from "@sluice/kafka";
 * const context: KafkaProtocolErrorContext = { apiName: "Fetch", topic: "orders", partition: 0 };
 * new KafkaProtocolError(6, context).message; // "Fetch failed for topic orders partition 0: ..."
 * ```
 */
export interface KafkaProtocolErrorContext {
  /** The Kafka API whose response carried the code, e.g. `"Fetch"`, `"OffsetCommit"`. */
  apiName?: string;
  /** The version of the request that was answered with the code. */
  apiVersion?: number;
  /** The topic the code was reported for. */
  topic?: string;
  /** The partition the code was reported for. */
  partition?: number;
  /** The consumer group the request was about. */
  groupId?: string;
  /** Another resource the request was about, e.g. `"broker 1"` (a config resource). */
  resource?: string;
  /** The broker's own error message, which some responses carry next to the code. */
  errorMessage?: string | null;
}

/**
 * A broker answered with an error code. Carries Kafka's name for the code,
 * the flags of {@linkcode ErrorInfo} saying how a client recovers from it, and
 * where it happened. The message reads, for example,
 * `"Fetch failed for topic orders partition 3: NOT_LEADER_OR_FOLLOWER (6): …"`,
 * ending with what the code means and what to do.
 *
 * @example
 * ```ts
 * import { KafkaProtocolError } from "@sluice/kafka";
 * const e = new KafkaProtocolError(29, { apiName: "Fetch", topic: "orders", partition: 3 });
 * e.errorName; // "TOPIC_AUTHORIZATION_FAILED"
 * e.retriable; // false
 * e.message; // "Fetch failed for topic orders partition 3: TOPIC_AUTHORIZATION_FAILED (29): the principal …"
 * ```
 */
export class KafkaProtocolError extends KafkaError {
  /** The error code from the response. */
  readonly code: number;
  /** Kafka's name for the code, e.g. `"NOT_LEADER_OR_FOLLOWER"`. */
  readonly errorName: ErrorName | UnknownErrorName;
  /** Kafka's client would retry the request (see {@linkcode ErrorInfo}). */
  override readonly retriable: boolean;
  /** Refresh cluster metadata before retrying. */
  readonly refreshMetadata: boolean;
  /** Look the coordinator up again before retrying. */
  readonly findCoordinator: boolean;
  /** The group member must rejoin the group. */
  readonly rejoin: boolean;
  /** The API whose response carried the code, when known. */
  readonly apiName?: string;
  /** The version of the request that was answered with the code, when known. */
  readonly apiVersion?: number;
  /** The topic the code was reported for, when known. */
  readonly topic?: string;
  /** The partition the code was reported for, when known. */
  readonly partition?: number;
  /** The consumer group the request was about, when known. */
  readonly groupId?: string;
  /** Another resource the request was about (e.g. `"broker 1"`), when known. */
  readonly resource?: string;
  /** The broker's own error message, when the response carried one. */
  readonly errorMessage?: string;

  /**
   * Creates the error for `code`; `context` says where it was met. Never
   * throws, whatever the code.
   */
  constructor(code: number, context: KafkaProtocolErrorContext = {}, options?: ErrorOptions) {
    const info = errorInfo(code);
    super(protocolErrorMessage(info, context), options);
    this.code = code;
    this.errorName = info.name;
    this.retriable = info.retriable;
    this.refreshMetadata = info.refreshMetadata;
    this.findCoordinator = info.findCoordinator;
    this.rejoin = info.rejoin;
    this.apiName = context.apiName;
    this.apiVersion = context.apiVersion;
    this.topic = context.topic;
    this.partition = context.partition;
    this.groupId = context.groupId;
    this.resource = context.resource;
    this.errorMessage = context.errorMessage ?? undefined;
  }

  /**
   * Creates the error for a code from a response: the same as `new`, shorter
   * at a throw site.
   *
   * @param code The error code from the response.
   * @param context Where it was met: API, topic, partition, group, broker message.
   * @param options Standard error options, e.g. a `cause`.
   * @returns The error, ready to throw.
   *
   * @example
   * ```ts
   * import { KafkaProtocolError } from "@sluice/kafka";
   * const e = KafkaProtocolError.from(16, { apiName: "OffsetCommit", groupId: "billing" });
   * e.findCoordinator; // true (NOT_COORDINATOR)
   * ```
   */
  static from(
    code: number,
    context?: KafkaProtocolErrorContext,
    options?: ErrorOptions,
  ): KafkaProtocolError {
    return new KafkaProtocolError(code, context, options);
  }
}

/**
 * True when `e` is one of our errors that may go away when the operation is
 * tried again: a {@linkcode KafkaProtocolError} whose code Kafka's client
 * retries, a `ConnectionError` or a `RequestTimeoutError` (what the
 * consumer itself retries); false for anything else, including errors not
 * ours.
 *
 * @param e Anything caught.
 * @returns Whether the failed request may succeed when retried.
 *
 * @example
 * ```ts
 * import { isRetriable, KafkaProtocolError } from "@sluice/kafka";
 * isRetriable(new KafkaProtocolError(7)); // true (REQUEST_TIMED_OUT)
 * isRetriable(new KafkaProtocolError(29)); // false (TOPIC_AUTHORIZATION_FAILED)
 * isRetriable(new Error("x")); // false
 * ```
 */
export function isRetriable(e: unknown): boolean {
  return e instanceof KafkaError && e.retriable;
}

// "<Api> failed for group g, topic t partition p: NAME (code): description (broker said: …)"
function protocolErrorMessage(info: ErrorInfo, context: KafkaProtocolErrorContext): string {
  const where: string[] = [];
  if (context.groupId !== undefined) where.push(`group ${context.groupId}`);
  if (context.resource !== undefined) where.push(context.resource);
  const tp: string[] = [];
  if (context.topic !== undefined) tp.push(`topic ${context.topic}`);
  if (context.partition !== undefined) tp.push(`partition ${context.partition}`);
  if (tp.length > 0) where.push(tp.join(" "));
  const api = context.apiName ?? "Request";
  const what =
    `${context.apiVersion === undefined ? api : `${api} v${context.apiVersion}`} failed` +
    (where.length > 0 ? ` for ${where.join(", ")}` : "");
  const said = context.errorMessage ? ` (broker said: ${context.errorMessage})` : "";
  return `${what}: ${info.name} (${info.code}): ${info.description}${said}`;
}
