/**
 * Requests to a group's coordinator: finding it, committing and fetching
 * offsets, and the membership calls. Coordinator moves (NOT_COORDINATOR,
 * COORDINATOR_NOT_AVAILABLE), loading (COORDINATOR_LOAD_IN_PROGRESS) and a
 * pending transactional commit (UNSTABLE_OFFSET_COMMIT) are retried here
 * with backoff; every other error code is returned to the caller as a
 * {@linkcode KafkaProtocolError} to decide on.
 *
 * Connections (a broker answers one connection's requests in order):
 * "join" carries JoinGroup and SyncGroup, which the coordinator may hold for
 * the whole rebalance; "group" carries commits, offset fetches and the rest,
 * so a cooperative member's commits go on during its rejoin; "heartbeat"
 * carries only heartbeats, so a heartbeat never waits behind any of them.
 *
 * @module
 */

import type { Cluster } from "./cluster.ts";
import type { Connection } from "./connection.ts";
import { ZERO_UUID } from "../protocol/reader.ts";
import { type ApiSchema, fieldSince } from "../protocol/schema.ts";
import { ConnectionError, RequestTimeoutError, UnsupportedVersionError } from "./errors.ts";
import { ErrorCode, errorInfo } from "../protocol/error_codes.ts";
import {
  CorruptDataError,
  KafkaProtocolError,
  type KafkaProtocolErrorContext,
} from "../protocol/errors.ts";
import { FindCoordinatorApi } from "../protocol/messages/find_coordinator.ts";
import { OffsetCommitApi } from "../protocol/messages/offset_commit.ts";
import { OffsetFetchApi } from "../protocol/messages/offset_fetch.ts";
import { DescribeGroupsApi } from "../protocol/messages/describe_groups.ts";
import { DeleteGroupsApi } from "../protocol/messages/delete_groups.ts";
import {
  ConsumerGroupDescribeApi,
  type ConsumerGroupDescribeResponseAssignment,
} from "../protocol/messages/consumer_group_describe.ts";
import { LeaveGroupApi } from "../protocol/messages/leave_group.ts";
import { DescribeConfigsApi } from "../protocol/messages/describe_configs.ts";
import { CONFIG_RESOURCE_TYPES } from "../protocol/config_resources.ts";
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment } from "../protocol/consumer_protocol.ts";
import { backoffMs, type BackoffOptions, delay } from "../util/async.ts";
import { groupByTopic, partitionKey, type TopicPartition } from "../util/partitions.ts";

/** An offset to commit. */
export interface OffsetToCommit extends TopicPartition {
  /** The next offset to consume. */
  offset: bigint;
}

/** Identity of the member committing (generation -1 and "" outside a group). */
export interface MemberIdentity {
  /** Generation the commit belongs to; -1 for a consumer outside the group. */
  generationId: number;
  /** Member id; "" outside the group. */
  memberId: string;
  /** Static member id, if any. */
  groupInstanceId: string | null;
}

/** The first OffsetFetch and OffsetCommit version that names topics by id only (KIP-848). */
const TOPIC_ID_VERSION = fieldSince(OffsetCommitApi.request, ["topics", "topicId"]);

/** The first OffsetFetch version carrying the member id and epoch per group (KIP-848). */
const MEMBER_EPOCH_VERSION = fieldSince(OffsetFetchApi.request, ["groups", "memberEpoch"]);

/**
 * A consumer-protocol member's OffsetFetch answered STALE_MEMBER_EPOCH: the
 * epoch sent is not the member's (Kafka 4.4 says so for older and newer
 * epochs alike): typically the coordinator has bumped it and the heartbeat
 * that carries the new one has not been answered yet. Retriable once the epoch moved
 * ({@linkcode GroupClient.fetchOffsets} does, bounded); never "no committed
 * offset".
 *
 * @example
 * ```ts
 * import { StaleMemberEpochError } from "./group_client.ts";
 * const e = new StaleMemberEpochError(4, { apiName: "OffsetFetch", groupId: "billing" });
 * e.errorName; // "STALE_MEMBER_EPOCH"
 * e.memberEpoch; // 4, the epoch the request carried
 * ```
 */
export class StaleMemberEpochError extends KafkaProtocolError {
  /** Retriable once the member's epoch moved (a heartbeat answered). */
  override readonly retriable: boolean = true;
  /** The epoch the refused request carried. */
  readonly memberEpoch: number;
  /** The error for a request sent at `memberEpoch`; `context` as for a KafkaProtocolError. */
  constructor(memberEpoch: number, context: KafkaProtocolErrorContext = {}) {
    super(ErrorCode.STALE_MEMBER_EPOCH, context);
    this.name = "StaleMemberEpochError";
    this.memberEpoch = memberEpoch;
  }
}

/**
 * A consumer-protocol member's OffsetFetch answered UNKNOWN_MEMBER_ID or
 * FENCED_MEMBER_EPOCH: the coordinator no longer counts this member at this
 * epoch, so its partitions may be someone else's. The member is lost (give
 * the partitions up, join again); the answer says nothing about committed
 * offsets, so nothing may be reset or skipped on it.
 *
 * @example
 * ```ts
 * import { MemberLostError } from "./group_client.ts";
 * const e = new MemberLostError(25, 4, { apiName: "OffsetFetch", groupId: "billing" });
 * e.errorName; // "UNKNOWN_MEMBER_ID"
 * ```
 */
export class MemberLostError extends KafkaProtocolError {
  /** The epoch the refused request carried. */
  readonly memberEpoch: number;
  /** The error for `code` (UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH) at `memberEpoch`. */
  constructor(code: number, memberEpoch: number, context: KafkaProtocolErrorContext = {}) {
    super(code, context);
    this.name = "MemberLostError";
    this.memberEpoch = memberEpoch;
  }
}

/** How {@linkcode GroupClient.fetchOffsets} retries a member's STALE_MEMBER_EPOCH. */
export interface StaleEpochRetry {
  /** Attempts in all (the first included). @default {5} */
  attempts?: number;
  /**
   * How long to wait for the member's epoch to move before the next attempt
   * (the broker's heartbeat interval is 5 s by default). @default {10000}
   */
  epochWaitMs?: number;
}

/**
 * Codes that send a group call to the coordinator again: those after which
 * it must be looked up anew (the error table's findCoordinator flag), and
 * COORDINATOR_LOAD_IN_PROGRESS (the same coordinator, later).
 */
function coordinatorBusyOrMoved(code: number): boolean {
  return errorInfo(code).findCoordinator || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
}

/** Talks to one group's coordinator. */
export class GroupClient {
  readonly #cluster: Cluster;
  readonly groupId: string;
  readonly #signal: AbortSignal;
  readonly #maxAttempts: number;
  readonly #backoff: BackoffOptions;
  #coordinator: number | null = null;

  /** A client for `groupId`'s coordinator; retries wait per `backoff`. */
  constructor(
    cluster: Cluster,
    groupId: string,
    signal: AbortSignal,
    maxAttempts = 20,
    backoff: BackoffOptions = { initialMs: 100, maxMs: 2000 },
  ) {
    this.#cluster = cluster;
    this.groupId = groupId;
    this.#signal = signal;
    this.#maxAttempts = maxAttempts;
    this.#backoff = backoff;
  }

  /** Forgets the coordinator so the next call looks it up again. */
  resetCoordinator(): void {
    this.#coordinator = null;
  }

  /** A connection to the coordinator for `purpose` (see the module doc). */
  async connection(purpose: "join" | "group" | "heartbeat"): Promise<Connection> {
    if (this.#coordinator === null) this.#coordinator = await this.#find();
    return await this.#cluster.connection(this.#coordinator, purpose);
  }

  /**
   * Runs `call` against the coordinator, retrying (bounded, with backoff)
   * when the coordinator moved, is loading, or the connection failed.
   * `call` throws a KafkaProtocolError for error codes in the response.
   */
  async run<T>(
    purpose: "join" | "group" | "heartbeat",
    call: (c: Connection) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0;; attempt++) {
      let conn: Connection | undefined;
      try {
        conn = await this.connection(purpose);
        return await call(conn);
      } catch (e) {
        // A bootstrap that never reached any broker already retried with
        // backoff: retrying it again here would only multiply the wait.
        const unreachable = e instanceof ConnectionError && this.#cluster.brokers.size === 0;
        // UNSTABLE_OFFSET_COMMIT (OffsetFetch while a transactional commit
        // is pending): the same coordinator, later.
        const stayAt = e instanceof KafkaProtocolError &&
          (e.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ||
            e.code === ErrorCode.UNSTABLE_OFFSET_COMMIT);
        // A response that does not decode was damaged on the way (or the
        // broker is broken): like a network error, retried on a new
        // connection, as Kafka's Java client does.
        const damaged = e instanceof CorruptDataError;
        const retry = (e instanceof KafkaProtocolError && coordinatorBusyOrMoved(e.code)) ||
          stayAt || (e instanceof ConnectionError && !unreachable) ||
          e instanceof RequestTimeoutError || damaged;
        if (!retry || attempt + 1 >= this.#maxAttempts || this.#signal.aborted) throw e;
        if (!stayAt) {
          this.#coordinator = null;
          if (e instanceof RequestTimeoutError || damaged) conn?.close();
        }
        await delay(backoffMs(attempt, this.#backoff), this.#signal);
      }
    }
  }

  /**
   * Throws for codes that mean "ask another coordinator" so that
   * {@linkcode GroupClient.run} retries them; other codes are the caller's.
   */
  static throwIfCoordinatorMoved(
    code: number,
    apiName: string,
    apiVersion: number,
    groupId: string,
  ): void {
    if (coordinatorBusyOrMoved(code)) {
      throw KafkaProtocolError.from(code, { apiName, apiVersion, groupId });
    }
  }

  /**
   * LeaveGroup for one member. An UNKNOWN_MEMBER_ID answer counts as left
   * (the coordinator had expired it already); other errors throw.
   */
  async leave(
    memberId: string,
    groupInstanceId: string | null,
    reason: string,
    timeoutMs: number,
  ): Promise<void> {
    await this.run("group", async (conn) => {
      const version = conn.version(LeaveGroupApi);
      const res = await conn.send(LeaveGroupApi, {
        groupId: this.groupId,
        memberId,
        members: [{ memberId, groupInstanceId, reason }],
      }, { version, timeoutMs });
      const code = res.errorCode || res.members.find((m) => m.errorCode !== 0)?.errorCode || 0;
      if (code !== 0 && code !== ErrorCode.UNKNOWN_MEMBER_ID) {
        throw KafkaProtocolError.from(code, {
          apiName: "LeaveGroup",
          apiVersion: version,
          groupId: this.groupId,
        });
      }
    });
  }

  /**
   * The group's committed offsets for `partitions` (null where none is
   * committed). With `member` (a consumer-protocol member: its identity now,
   * read before each attempt) the request carries its id and epoch, so the
   * coordinator can validate them. Then STALE_MEMBER_EPOCH is retried once
   * the epoch moved (a heartbeat answered), at most `retry.attempts` times
   * in all, then thrown as {@linkcode StaleMemberEpochError};
   * UNKNOWN_MEMBER_ID and FENCED_MEMBER_EPOCH throw
   * {@linkcode MemberLostError} at once. Never a map with entries missing.
   */
  async fetchOffsets(
    partitions: readonly TopicPartition[],
    member?: () => MemberIdentity,
    retry: StaleEpochRetry = {},
  ): Promise<Map<string, bigint | null>> {
    const attempts = retry.attempts ?? 5;
    for (let attempt = 0;; attempt++) {
      const identity = member?.();
      try {
        const rows = await this.committed(partitions, identity);
        return new Map(rows.map((r) => [partitionKey(r.topic, r.partition), r.offset]));
      } catch (e) {
        if (
          !(e instanceof StaleMemberEpochError) || member === undefined ||
          attempt + 1 >= attempts || this.#signal.aborted
        ) throw e;
        await this.#epochMoved(member, e.memberEpoch, retry.epochWaitMs ?? 10_000);
      }
    }
  }

  /** Waits (bounded) until `member`'s epoch is no longer `stale`. */
  async #epochMoved(member: () => MemberIdentity, stale: number, boundMs: number): Promise<void> {
    const until = Date.now() + boundMs;
    for (let i = 0; member().generationId === stale && Date.now() < until; i++) {
      await delay(Math.min(backoffMs(i, this.#backoff), until - Date.now()), this.#signal);
    }
  }

  /** Commits offsets; throws the first partition error (by Kafka's name). */
  commitOffsets(offsets: readonly OffsetToCommit[], member: MemberIdentity): Promise<void> {
    const byTopic = groupByTopic(
      offsets,
      (o) => ({ partitionIndex: o.partition, committedOffset: o.offset }),
    );
    return this.#withTopicIds([...byTopic.keys()], (ids) =>
      this.run("group", async (conn) => {
        const version = this.#topicIdVersion(conn, OffsetCommitApi, byTopic.size, ids);
        const res = await conn.send(OffsetCommitApi, {
          groupId: this.groupId,
          generationIdOrMemberEpoch: member.generationId,
          memberId: member.memberId,
          groupInstanceId: member.groupInstanceId,
          topics: [...byTopic].map(([name, partitions]) => ({
            name,
            topicId: ids.get(name),
            partitions: partitions.map((p) => ({
              ...p,
              committedLeaderEpoch: -1,
              committedMetadata: "",
            })),
          })),
        }, { version });
        for (const t of res.topics) {
          const name = version >= TOPIC_ID_VERSION ? nameOf(ids, t.topicId) : t.name;
          for (const p of t.partitions) {
            if (p.errorCode !== 0) {
              throw KafkaProtocolError.from(p.errorCode, {
                apiName: "OffsetCommit",
                apiVersion: version,
                groupId: this.groupId,
                topic: name ?? `id ${t.topicId}`,
                partition: p.partitionIndex,
              });
            }
          }
        }
      }));
  }

  /**
   * Runs `call` with the topic ids the metadata cache knows for `topics`.
   * UNKNOWN_TOPIC_ID (an id-named request about a topic that was deleted,
   * or re-created under a new id) refreshes those topics' metadata and runs
   * `call` once more with the new ids; a second one goes to the caller.
   */
  async #withTopicIds<T>(
    topics: readonly string[],
    call: (ids: ReadonlyMap<string, string>) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0;; attempt++) {
      const ids = new Map<string, string>();
      for (const name of topics) {
        const id = this.#cluster.topics.get(name)?.topicId;
        if (id !== undefined && id !== ZERO_UUID) ids.set(name, id);
      }
      try {
        return await call(ids);
      } catch (e) {
        const stale = e instanceof KafkaProtocolError && e.code === ErrorCode.UNKNOWN_TOPIC_ID;
        if (!stale || attempt > 0 || this.#signal.aborted) throw e;
        await this.#cluster.refreshMetadata(topics);
      }
    }
  }

  /**
   * The version of an id-naming API (OffsetFetch, OffsetCommit) to send:
   * the negotiated one, or at most the last name-based version when some
   * topic's id is not known.
   */
  #topicIdVersion(
    conn: Connection,
    api: ApiSchema,
    topics: number,
    ids: ReadonlyMap<string, string>,
  ): number {
    const version = conn.version(api);
    return ids.size < topics ? Math.min(version, TOPIC_ID_VERSION - 1) : version;
  }

  /**
   * The group's committed offsets with their metadata: of `partitions`, or
   * of every partition the group committed when `partitions` is null. A
   * partition listed without a commit comes back with `offset` null. Topics
   * named by id (v10) are named from metadata; a topic deleted since it was
   * committed is left out.
   */
  committed(
    partitions: readonly TopicPartition[] | null,
    member?: MemberIdentity,
  ): Promise<CommittedOffset[]> {
    const byTopic = partitions === null ? null : groupByTopic(partitions, (p) => p.partition);
    const names = byTopic === null ? [] : [...byTopic.keys()];
    return this.#withTopicIds(names, (ids) =>
      this.run("group", async (conn) => {
        let version = conn.version(OffsetFetchApi);
        if (byTopic !== null) {
          version = this.#topicIdVersion(conn, OffsetFetchApi, byTopic.size, ids);
        }
        const topics = byTopic === null ? null : [...byTopic].map(([name, parts]) => ({
          name,
          topicId: ids.get(name),
          partitionIndexes: parts,
        }));
        // The member's id and epoch only where the version has them (else
        // the coordinator takes the fetch as from outside the group).
        const asMember = member !== undefined && version >= MEMBER_EPOCH_VERSION;
        const res = await conn.send(OffsetFetchApi, {
          groupId: this.groupId,
          topics,
          groups: [{
            groupId: this.groupId,
            topics,
            ...(asMember ? { memberId: member.memberId, memberEpoch: member.generationId } : {}),
          }],
          requireStable: true,
        }, { version });
        const context = { apiName: "OffsetFetch", apiVersion: version, groupId: this.groupId };
        const group = res.groups.length > 0 ? res.groups[0] : null;
        const errorCode = group ? group.errorCode : res.errorCode;
        if (errorCode !== 0) throw offsetFetchError(errorCode, member, context);
        const resTopics = group ? group.topics : res.topics;
        const byId = version >= TOPIC_ID_VERSION;
        if (byId && resTopics.some((t) => this.#nameOfId(ids, t) === undefined)) {
          await this.#cluster.refreshMetadata(null);
        }
        const out: CommittedOffset[] = [];
        for (const t of resTopics) {
          const name = byId ? this.#nameOfId(ids, t) : t.name;
          if (name === undefined) continue;
          for (const p of t.partitions) {
            if (p.errorCode !== 0) {
              throw offsetFetchError(p.errorCode, member, {
                ...context,
                topic: name,
                partition: p.partitionIndex,
              });
            }
            const none = p.committedOffset < 0n;
            out.push({
              topic: name,
              partition: p.partitionIndex,
              offset: none ? null : p.committedOffset,
              leaderEpoch: none ? -1 : p.committedLeaderEpoch,
              metadata: none ? null : p.metadata ?? "",
            });
          }
        }
        return out;
      }));
  }

  #nameOfId(ids: ReadonlyMap<string, string>, t: object): string | undefined {
    const topicId = "topicId" in t ? String(t.topicId) : "";
    return nameOf(ids, topicId) ?? this.#cluster.topicName(topicId);
  }

  /**
   * The group's session timeout under the consumer protocol: its
   * `consumer.session.timeout.ms` config (DescribeConfigs of the GROUP
   * resource, which answers the broker's `group.consumer.session.timeout.ms`
   * unless the group overrides it). Null when the broker cannot say (no
   * group configs before Kafka 4.0, or not allowed to describe them).
   */
  async consumerSessionTimeoutMs(): Promise<number | null> {
    try {
      return await this.run("group", async (conn) => {
        const res = await conn.send(DescribeConfigsApi, {
          resources: [{
            resourceType: CONFIG_RESOURCE_TYPES.group,
            resourceName: this.groupId,
            configurationKeys: ["consumer.session.timeout.ms"],
          }],
          includeSynonyms: false,
          includeDocumentation: false,
        }, { version: conn.version(DescribeConfigsApi) });
        const result = res.results[0];
        if (result === undefined || result.errorCode !== 0) return null;
        const value = result.configs.find((c) => c.name === "consumer.session.timeout.ms")?.value;
        const ms = Number(value);
        return value != null && Number.isInteger(ms) && ms > 0 ? ms : null;
      });
    } catch (e) {
      if (e instanceof KafkaProtocolError || e instanceof UnsupportedVersionError) return null;
      throw e;
    }
  }

  /**
   * Deletes the group (DeleteGroups): only a group without members can go;
   * GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP and the like throw.
   */
  async delete(): Promise<void> {
    await this.run("group", async (conn) => {
      const version = conn.version(DeleteGroupsApi);
      const res = await conn.send(DeleteGroupsApi, { groupsNames: [this.groupId] }, { version });
      const r = res.results.find((g) => g.groupId === this.groupId) ?? res.results[0];
      const code = r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      if (code !== 0) {
        throw KafkaProtocolError.from(code, {
          apiName: "DeleteGroups",
          apiVersion: version,
          groupId: this.groupId,
          errorMessage: r?.errorMessage,
        });
      }
    });
  }

  /**
   * The broker's view of the group: DescribeGroups (classic groups); when
   * that answers GROUP_ID_NOT_FOUND and the coordinator speaks
   * ConsumerGroupDescribe, that (KIP-848 `consumer` groups, which
   * DescribeGroups calls "not a classic group"). A group neither knows
   * throws DescribeGroups' error.
   */
  async describe(): Promise<GroupDescription> {
    return await this.run("group", async (conn) => {
      const version = conn.version(DescribeGroupsApi);
      const res = await conn.send(DescribeGroupsApi, {
        groups: [this.groupId],
        includeAuthorizedOperations: false,
      }, { version });
      const g = res.groups[0];
      if (g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND && conn.brokerVersions(69) !== undefined) {
        const modern = await this.#describeConsumerGroup(conn);
        if (modern !== null) return modern;
      }
      if (g.errorCode !== 0) {
        throw KafkaProtocolError.from(g.errorCode, {
          apiName: "DescribeGroups",
          apiVersion: version,
          groupId: this.groupId,
          errorMessage: g.errorMessage,
        });
      }
      return {
        groupId: g.groupId,
        type: "classic",
        state: g.groupState,
        protocolType: g.protocolType,
        protocol: g.protocolData,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: m.memberAssignment.length > 0 && g.protocolType === CONSUMER_PROTOCOL_TYPE
            ? decodeAssignment(m.memberAssignment).assignedPartitions.flatMap((tp) =>
              tp.partitions.map((partition) => ({ topic: tp.topic, partition }))
            )
            : [],
        })),
      };
    });
  }

  /** ConsumerGroupDescribe; null when the coordinator has no such consumer group either. */
  async #describeConsumerGroup(conn: Connection): Promise<GroupDescription | null> {
    const version = conn.version(ConsumerGroupDescribeApi);
    const res = await conn.send(ConsumerGroupDescribeApi, {
      groupIds: [this.groupId],
      includeAuthorizedOperations: false,
    }, { version });
    const g = res.groups[0];
    if (g === undefined || g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) return null;
    if (g.errorCode !== 0) {
      throw KafkaProtocolError.from(g.errorCode, {
        apiName: "ConsumerGroupDescribe",
        apiVersion: version,
        groupId: this.groupId,
        errorMessage: g.errorMessage,
      });
    }
    const partitions = (a: ConsumerGroupDescribeResponseAssignment): TopicPartition[] =>
      a.topicPartitions.flatMap((tp) =>
        tp.partitions.map((partition) => ({
          topic: tp.topicName || (this.#cluster.topicName(tp.topicId) ?? `id ${tp.topicId}`),
          partition,
        }))
      );
    return {
      groupId: g.groupId,
      type: "consumer",
      state: g.groupState,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocol: g.assignorName,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignor: g.assignorName,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: partitions(m.assignment),
        memberEpoch: m.memberEpoch,
        targetAssignment: partitions(m.targetAssignment),
        subscribedTopicNames: [...m.subscribedTopicNames],
        // Kafka 4.4 answers "" (not null) for a member without a regex.
        subscribedTopicRegex: m.subscribedTopicRegex || null,
        rackId: m.rackId,
        // -1 (unknown) before v1 of the API.
        memberType: m.memberType === 0 ? "classic" : m.memberType === 1 ? "consumer" : undefined,
      })),
    };
  }

  async #find(): Promise<number> {
    const conn = await this.#cluster.connection("bootstrap", "metadata");
    const version = conn.version(FindCoordinatorApi);
    const res = await conn.send(FindCoordinatorApi, {
      key: this.groupId,
      keyType: 0,
      coordinatorKeys: [this.groupId],
    }, { version });
    const c = res.coordinators.length > 0 ? res.coordinators[0] : null;
    const errorCode = c ? c.errorCode : res.errorCode;
    if (errorCode !== 0) {
      throw KafkaProtocolError.from(errorCode, {
        apiName: "FindCoordinator",
        apiVersion: version,
        groupId: this.groupId,
        errorMessage: c ? c.errorMessage : res.errorMessage,
      });
    }
    const nodeId = c ? c.nodeId : res.nodeId;
    if (!this.#cluster.brokers.has(nodeId)) await this.#cluster.refreshMetadata([]);
    return nodeId;
  }
}

/**
 * An OffsetFetch error as thrown: a member's STALE_MEMBER_EPOCH and its
 * UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH typed (retriable after a
 * heartbeat; lost), the rest as they are.
 */
function offsetFetchError(
  code: number,
  member: MemberIdentity | undefined,
  context: KafkaProtocolErrorContext,
): KafkaProtocolError {
  if (member !== undefined) {
    if (code === ErrorCode.STALE_MEMBER_EPOCH) {
      return new StaleMemberEpochError(member.generationId, context);
    }
    if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.FENCED_MEMBER_EPOCH) {
      return new MemberLostError(code, member.generationId, context);
    }
  }
  return KafkaProtocolError.from(code, context);
}

/** The topic name whose id is `topicId` among `ids` (name -> id). */
function nameOf(ids: ReadonlyMap<string, string>, topicId: string): string | undefined {
  for (const [name, id] of ids) if (id === topicId) return name;
  return undefined;
}

/**
 * A group's committed offset of one partition (`consumer.committed()`,
 * `admin.groupOffsets()`).
 *
 * @example
 * ```ts
 * import type { CommittedOffset } from "@sluice/kafka";
 * const c: CommittedOffset = { topic: "orders", partition: 0, offset: 42n, leaderEpoch: 3, metadata: "" };
 * ```
 */
export interface CommittedOffset extends TopicPartition {
  /** The committed offset (the next one to consume), null when none is committed. */
  offset: bigint | null;
  /** Leader epoch committed with it, -1 when unknown or none. */
  leaderEpoch: number;
  /** Metadata committed with it ("" when none was given), null when nothing is committed. */
  metadata: string | null;
}

/**
 * The broker's view of a group (`consumer.describeGroup()`,
 * `admin.describeGroups()`): state, protocol, members and their assignments.
 * A KIP-848 `consumer` group (described by ConsumerGroupDescribe) also has
 * its epochs, and each member its epoch, its target assignment and its
 * subscription; those fields are absent for classic groups.
 *
 * @example
 * ```ts
 * import type { Consumer, GroupDescription } from "@sluice/kafka";
 * async function members(consumer: Consumer): Promise<string[]> {
 *   const group: GroupDescription = await consumer.describeGroup();
 *   return group.members.map((m) => m.memberId);
 * }
 * // A consumer group has settled when every member owns its target at the
 * // group's assignment epoch.
 * function reconciled(group: GroupDescription): boolean {
 *   const key = (tps: { topic: string; partition: number }[]) =>
 *     tps.map((tp) => `${tp.topic}:${tp.partition}`).sort().join(",");
 *   return group.type === "consumer" && group.members.every((m) =>
 *     m.memberEpoch === group.assignmentEpoch &&
 *     key(m.assignment) === key(m.targetAssignment ?? [])
 *   );
 * }
 * ```
 */
export interface GroupDescription {
  /** Group id. */
  groupId: string;
  /**
   * `"classic"` (the JoinGroup/SyncGroup protocol, described by DescribeGroups) or
   * `"consumer"` (KIP-848, described by ConsumerGroupDescribe).
   */
  type: "classic" | "consumer";
  /**
   * Classic: Empty, PreparingRebalance, CompletingRebalance, Stable or Dead.
   * Consumer: Empty, Assigning, Reconciling, Stable or Dead.
   */
  state: string;
  /** "consumer" for consumer groups. */
  protocolType: string;
  /** The chosen assignor, e.g. "range" (a consumer group's server-side assignor, e.g. "uniform"). */
  protocol: string;
  /**
   * Consumer groups: the group epoch, bumped by the coordinator whenever
   * membership or subscriptions change (a new target assignment follows).
   */
  groupEpoch?: number;
  /**
   * Consumer groups: the epoch of the current target assignment; equals
   * `groupEpoch` once the assignor has run for the latest change.
   */
  assignmentEpoch?: number;
  /** Consumer groups: the server-side assignor that computed the target (as `protocol`). */
  assignor?: string;
  /** Members with their assignments. */
  members: GroupMemberDescription[];
}

/**
 * One member of a {@linkcode GroupDescription}. The fields after
 * `assignment` are set for members of KIP-848 `consumer` groups only.
 *
 * @example
 * ```ts
 * import type { GroupMemberDescription } from "@sluice/kafka";
 * const member: GroupMemberDescription = {
 *   memberId: "Hd3kq1d0RYqZb9bYw8E3Xw",
 *   groupInstanceId: null,
 *   clientId: "sluice",
 *   clientHost: "/127.0.0.1",
 *   assignment: [{ topic: "orders", partition: 0 }],
 *   memberEpoch: 7,
 *   targetAssignment: [{ topic: "orders", partition: 0 }, { topic: "orders", partition: 1 }],
 *   subscribedTopicNames: ["orders"],
 *   subscribedTopicRegex: null,
 *   rackId: null,
 *   memberType: "consumer",
 * };
 * // Partition 1 is on its way to this member (another one still revokes it).
 * ```
 */
export interface GroupMemberDescription {
  /** Member id. */
  memberId: string;
  /** Static member id, null for a dynamic member. */
  groupInstanceId: string | null;
  /** The member's client id. */
  clientId: string;
  /** The member's host, as the broker saw it. */
  clientHost: string;
  /** The partitions the member owns (a consumer group: has acknowledged owning). */
  assignment: TopicPartition[];
  /** Consumer groups: the member's epoch. */
  memberEpoch?: number;
  /**
   * Consumer groups: what the coordinator wants the member to own; equals
   * `assignment` once the member has reconciled.
   */
  targetAssignment?: TopicPartition[];
  /** Consumer groups: the topic names the member subscribed to (empty for a RegExp only). */
  subscribedTopicNames?: string[];
  /** Consumer groups: the member's RE2J subscription, null when it subscribed by name. */
  subscribedTopicRegex?: string | null;
  /** Consumer groups: the member's rack, null when it gave none. */
  rackId?: string | null;
  /**
   * Consumer groups: `"consumer"` (speaks KIP-848) or `"classic"` (a
   * JoinGroup member of an upgraded group); absent when the broker does not
   * say (ConsumerGroupDescribe v0).
   */
  memberType?: "consumer" | "classic";
}
