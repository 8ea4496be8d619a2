/**
 * The "consumer" embedded protocol: the bytes Kafka consumers put in JoinGroup
 * protocol metadata (a subscription) and in SyncGroup assignments. Both are an
 * int16 version header followed by the struct at that version, so any client
 * in the group (Java's included) can read what any other wrote.
 *
 * A header newer than we know is decoded with our highest version, as Java's
 * client does: the format only ever appends fields, so a newer member's bytes
 * start with everything we understand.
 *
 * @module
 */

import { compile } from "./codec.ts";
import { CorruptDataError } from "./errors.ts";
import { ConsumerProtocolAssignmentSchema } from "./messages/consumer_protocol_assignment.ts";
import type { ConsumerProtocolAssignment } from "./messages/consumer_protocol_assignment.ts";
import { ConsumerProtocolSubscriptionSchema } from "./messages/consumer_protocol_subscription.ts";
import type { ConsumerProtocolSubscription } from "./messages/consumer_protocol_subscription.ts";
import { Reader } from "./reader.ts";
import type { MessageSchema } from "./schema.ts";
import { Writer } from "./writer.ts";

/** The JoinGroup `protocolType` of consumer groups. */
export const CONSUMER_PROTOCOL_TYPE = "consumer";

/**
 * The highest version of the subscription and assignment structs we know
 * (Kafka 4.x writes this one too). Both structs share it, as in Java.
 */
export const CONSUMER_PROTOCOL_VERSION = 3;

/** Partitions of one topic, as the consumer protocol groups them. */
export interface TopicPartitions {
  /** Topic name. */
  topic: string;
  /** Partition numbers. */
  partitions: number[];
}

/** What a member sends in JoinGroup: the topics it wants and what it owns. */
export interface Subscription {
  /** Subscribed topics (encoded sorted and without duplicates). */
  topics: string[];
  /** Assignor-specific bytes; range and roundrobin send none. @default null */
  userData?: Uint8Array | null;
  /** Partitions owned before this rebalance (v1+; for sticky assignors). @default [] */
  ownedPartitions?: TopicPartitions[];
  /** Generation the owned partitions belong to (v2+). @default -1 */
  generationId?: number;
  /** The member's rack, for rack-aware assignors (v3+). @default null */
  rackId?: string | null;
}

/** A decoded {@linkcode Subscription}: every field present, plus the header version. */
export interface DecodedSubscription {
  /** Subscribed topics, as sent. */
  topics: string[];
  /** Assignor-specific bytes (a copy, not a view into the input), or null. */
  userData: Uint8Array | null;
  /** Partitions the member owned ([] before v1). */
  ownedPartitions: TopicPartitions[];
  /** Generation of the owned partitions (-1 before v2 or when unknown). */
  generationId: number;
  /** The member's rack (null before v3, or when sent empty, as Java reads it). */
  rackId: string | null;
  /** The version header as sent (may exceed {@linkcode CONSUMER_PROTOCOL_VERSION}). */
  version: number;
}

/** What the leader hands a member in SyncGroup. */
export interface Assignment {
  /** The member's partitions, grouped by topic. */
  assignedPartitions: TopicPartitions[];
  /** Assignor-specific bytes; range and roundrobin send none. @default null */
  userData?: Uint8Array | null;
}

/** A decoded {@linkcode Assignment}, plus the header version. */
export interface DecodedAssignment {
  /** The member's partitions, grouped by topic, as sent. */
  assignedPartitions: TopicPartitions[];
  /** Assignor-specific bytes (a copy), or null. */
  userData: Uint8Array | null;
  /**
   * The version header as sent; 0 for an empty byte array (nothing assigned,
   * no header).
   */
  version: number;
}

/**
 * Encodes a subscription with its version header, for JoinGroup protocol
 * metadata. Topics are sorted and deduplicated and owned partitions sorted
 * and grouped by topic (as Java does), so an unchanged subscription always
 * gives the same bytes: the coordinator compares them when a member rejoins.
 *
 * @param sub The subscription; optional fields take their defaults.
 * @param version The struct version, 0 to {@linkcode CONSUMER_PROTOCOL_VERSION};
 *   fields newer than it are left out.
 * @returns The header and struct bytes.
 * @throws {RangeError} For a version we cannot write.
 *
 * @example
 * ```ts
 * import { decodeSubscription, encodeSubscription } from "./consumer_protocol.ts";
 * const bytes = encodeSubscription({ topics: ["orders"] });
 * decodeSubscription(bytes).topics; // ["orders"]
 * ```
 */
export function encodeSubscription(
  sub: Subscription,
  version = CONSUMER_PROTOCOL_VERSION,
): Uint8Array {
  const value: ConsumerProtocolSubscription = {
    topics: [...new Set(sub.topics)].sort(compareStrings),
    userData: sub.userData ?? null,
    ownedPartitions: normalize(sub.ownedPartitions ?? []),
    generationId: sub.generationId ?? -1,
    rackId: sub.rackId ?? null,
  };
  return encodeWithHeader(ConsumerProtocolSubscriptionSchema, version, value);
}

/**
 * Decodes a member's JoinGroup protocol metadata.
 *
 * @param bytes The header and struct, as the coordinator relayed them.
 * @returns Every field (absent ones at their defaults) and the header version.
 * @throws {CorruptDataError} On a negative version or truncated bytes.
 *
 * @example
 * ```ts
 * import { decodeSubscription } from "./consumer_protocol.ts";
 * // v0: header 0, one topic "t", null user data.
 * const sub = decodeSubscription(new Uint8Array([0, 0, 0, 0, 0, 1, 0, 1, 116, 255, 255, 255, 255]));
 * sub.topics; // ["t"]
 * sub.generationId; // -1
 * ```
 */
export function decodeSubscription(bytes: Uint8Array): DecodedSubscription {
  const { v, version } = decodeWithHeader<ConsumerProtocolSubscription>(
    bytes,
    "subscription",
    ConsumerProtocolSubscriptionSchema,
  );
  return {
    topics: v.topics,
    userData: v.userData === null ? null : v.userData.slice(),
    ownedPartitions: v.ownedPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions })),
    generationId: v.generationId,
    // Before v3 there is no rack. (The generic decoder fills an absent
    // nullable-string field with the text "null"; don't trust it here.)
    rackId: version < 3 || v.rackId === "" ? null : v.rackId,
    version,
  };
}

/**
 * Encodes an assignment with its version header, for SyncGroup. Topics are
 * sorted, a topic listed twice is merged and partitions are sorted, so the
 * same assignment always gives the same bytes.
 *
 * @param assignment The member's partitions and optional user data.
 * @param version The struct version, 0 to {@linkcode CONSUMER_PROTOCOL_VERSION}.
 * @returns The header and struct bytes.
 * @throws {RangeError} For a version we cannot write.
 *
 * @example
 * ```ts
 * import { decodeAssignment, encodeAssignment } from "./consumer_protocol.ts";
 * const bytes = encodeAssignment({ assignedPartitions: [{ topic: "orders", partitions: [0, 2] }] });
 * decodeAssignment(bytes).assignedPartitions; // [{ topic: "orders", partitions: [0, 2] }]
 * ```
 */
export function encodeAssignment(
  assignment: Assignment,
  version = CONSUMER_PROTOCOL_VERSION,
): Uint8Array {
  const value: ConsumerProtocolAssignment = {
    assignedPartitions: normalize(assignment.assignedPartitions),
    userData: assignment.userData ?? null,
  };
  return encodeWithHeader(ConsumerProtocolAssignmentSchema, version, value);
}

/**
 * Decodes the assignment a SyncGroup response carried. An empty byte array
 * means nothing was assigned: the coordinator sends that to members the
 * leader left out. (Java's consumer refuses such bytes; we accept them, since
 * an empty share is a valid outcome of a non-Java leader.)
 *
 * @param bytes The header and struct, or no bytes at all.
 * @returns The partitions, user data and header version.
 * @throws {CorruptDataError} On a negative version or truncated bytes.
 *
 * @example
 * ```ts
 * import { decodeAssignment } from "./consumer_protocol.ts";
 * decodeAssignment(new Uint8Array(0)).assignedPartitions; // []
 * ```
 */
export function decodeAssignment(bytes: Uint8Array): DecodedAssignment {
  if (bytes.length === 0) return { assignedPartitions: [], userData: null, version: 0 };
  const { v, version } = decodeWithHeader<ConsumerProtocolAssignment>(
    bytes,
    "assignment",
    ConsumerProtocolAssignmentSchema,
  );
  return {
    assignedPartitions: v.assignedPartitions.map((t) => ({
      topic: t.topic,
      partitions: t.partitions,
    })),
    userData: v.userData === null ? null : v.userData.slice(),
    version,
  };
}

function encodeWithHeader(schema: MessageSchema, version: number, value: object): Uint8Array {
  if (!Number.isInteger(version) || version < 0 || version > CONSUMER_PROTOCOL_VERSION) {
    throw new RangeError(
      `Consumer protocol version ${version} cannot be written: use 0 to ${CONSUMER_PROTOCOL_VERSION}`,
    );
  }
  const w = new Writer(64);
  w.int16(version);
  compile(schema, version).encode(w, value);
  return w.bytes().slice();
}

/**
 * Reads the version header, then the struct at that version (our highest for
 * a newer one). Trailing bytes after the struct are fields of a newer
 * version: ignored, as in Java.
 */
function decodeWithHeader<T>(
  bytes: Uint8Array,
  what: string,
  schema: MessageSchema,
): { v: T; version: number } {
  const r = new Reader(bytes);
  let version: number;
  try {
    version = r.int16();
  } catch (e) {
    throw new CorruptDataError(`Consumer protocol ${what}: no version header`, {}, { cause: e });
  }
  if (version < 0) {
    throw new CorruptDataError(`Consumer protocol ${what}: unsupported version ${version}`);
  }
  try {
    const v = compile(schema, Math.min(version, CONSUMER_PROTOCOL_VERSION)).decode(r);
    return { v: v as unknown as T, version };
  } catch (e) {
    if (e instanceof CorruptDataError) {
      throw new CorruptDataError(
        `Corrupt consumer protocol ${what} (version header ${version}): ${e.message}`,
        {},
        { cause: e },
      );
    }
    throw e;
  }
}

/** Sorts topics, merges a topic listed twice, sorts and deduplicates partitions. */
function normalize(list: readonly TopicPartitions[]): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partitions } of list) {
    const into = byTopic.get(topic);
    if (into) into.push(...partitions);
    else byTopic.set(topic, [...partitions]);
  }
  return [...byTopic.keys()].sort(compareStrings).map((topic) => ({
    topic,
    partitions: [...new Set(byTopic.get(topic)!)].sort((a, b) => a - b),
  }));
}

// Java's String.compareTo: UTF-16 code units, which is also how JS compares
// strings with `<` (localeCompare would differ).
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
