/**
 * Request handlers of the embedded cluster's group coordinator (classic
 * protocol): FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit, OffsetFetch, DescribeGroups, ListGroups and DeleteGroups. Each group has one
 * coordinator node (a hash of its id over the brokers); other brokers answer
 * NOT_COORDINATOR. The state machine is {@linkcode GroupCoordinator}.
 *
 * @module
 */

import { DeleteGroupsApi, type DeleteGroupsRequest } from "../protocol/messages/delete_groups.ts";
import {
  DescribeGroupsApi,
  type DescribeGroupsRequest,
} from "../protocol/messages/describe_groups.ts";
import {
  FindCoordinatorApi,
  type FindCoordinatorRequest,
} from "../protocol/messages/find_coordinator.ts";
import { HeartbeatApi, type HeartbeatRequest } from "../protocol/messages/heartbeat.ts";
import { JoinGroupApi, type JoinGroupRequest } from "../protocol/messages/join_group.ts";
import { LeaveGroupApi, type LeaveGroupRequest } from "../protocol/messages/leave_group.ts";
import { ListGroupsApi, type ListGroupsRequest } from "../protocol/messages/list_groups.ts";
import { OffsetCommitApi, type OffsetCommitRequest } from "../protocol/messages/offset_commit.ts";
import { OffsetFetchApi, type OffsetFetchRequest } from "../protocol/messages/offset_fetch.ts";
import { SyncGroupApi, type SyncGroupRequest } from "../protocol/messages/sync_group.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { ZERO_UUID } from "../protocol/reader.ts";
import { fieldSince } from "../protocol/schema.ts";
import { type Handler, handler, type RequestContext } from "./api_handler.ts";
import type { OffsetToCommit } from "./group_coordinator.ts";
import type { ClusterState } from "./state.ts";

const {
  NONE,
  UNKNOWN_TOPIC_OR_PARTITION,
  COORDINATOR_NOT_AVAILABLE,
  NOT_COORDINATOR,
  INVALID_REQUEST,
  UNKNOWN_TOPIC_ID,
  GROUP_ID_NOT_FOUND,
} = ErrorCode;

/** The node id coordinating a group: a hash of its id over the brokers. */
export function coordinatorFor(state: ClusterState, groupId: string): number {
  const moved = state.coordinatorOverrides.get(groupId);
  if (moved !== undefined && !state.stopped.has(moved)) return moved;
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(h, 31) + groupId.charCodeAt(i)) | 0;
  const brokers = state.brokers;
  // A stopped broker's groups go to the next running one (fault injection).
  for (let i = 0; i < brokers.length; i++) {
    const b = brokers[(Math.abs(h) + i) % brokers.length];
    if (!state.stopped.has(b.nodeId)) return b.nodeId;
  }
  return brokers[Math.abs(h) % brokers.length].nodeId;
}

/** Whether the broker of `ctx` coordinates `groupId`. */
export function isCoordinator(ctx: RequestContext, groupId: string): boolean {
  return coordinatorFor(ctx.state, groupId) === ctx.nodeId;
}

// ---------------------------------------------------------------------------
// FindCoordinator

const findCoordinator = handler(FindCoordinatorApi, (req: FindCoordinatorRequest, ctx) => {
  const { state, version } = ctx;
  const keyType = req.keyType ?? 0;
  const one = (key: string) => {
    if (keyType !== 0) {
      // TODO(step 3): transaction coordinators (key type 1).
      return {
        key,
        errorCode: keyType === 1 ? COORDINATOR_NOT_AVAILABLE : INVALID_REQUEST,
        errorMessage: "the embedded cluster only coordinates groups",
        nodeId: -1,
        host: "",
        port: -1,
      };
    }
    const node = coordinatorFor(state, key);
    const b = state.brokers.find((x) => x.nodeId === node)!;
    return {
      key,
      errorCode: NONE,
      errorMessage: null,
      nodeId: b.nodeId,
      host: b.host,
      port: b.port,
    };
  };
  if (version >= 4) {
    return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys ?? []).map(one) };
  }
  return { throttleTimeMs: 0, ...one(req.key ?? "") };
});

// ---------------------------------------------------------------------------
// JoinGroup, SyncGroup, Heartbeat, LeaveGroup

const joinGroup = handler(JoinGroupApi, async (req: JoinGroupRequest, ctx) => {
  if (!isCoordinator(ctx, req.groupId)) {
    return {
      throttleTimeMs: 0,
      errorCode: NOT_COORDINATOR,
      generationId: -1,
      protocolName: null,
      leader: "",
      memberId: req.memberId,
      members: [],
    };
  }
  const r = await ctx.state.groups.join({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId ?? null,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs ?? -1,
    protocolType: req.protocolType,
    protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
    clientId: ctx.clientId ?? "",
    clientHost: ctx.clientHost,
    requireKnownMemberId: ctx.version >= 4,
  });
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    // Before v7 the protocol name is not nullable.
    protocolName: r.protocolName ?? (ctx.version >= 7 ? null : ""),
    leader: r.leader,
    skipAssignment: false,
    memberId: r.memberId,
    members: r.members,
  };
});

const syncGroup = handler(SyncGroupApi, async (req: SyncGroupRequest, ctx) => {
  if (!isCoordinator(ctx, req.groupId)) {
    return { throttleTimeMs: 0, errorCode: NOT_COORDINATOR, assignment: new Uint8Array(0) };
  }
  const r = await ctx.state.groups.sync({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId ?? null,
    protocolType: req.protocolType ?? null,
    protocolName: req.protocolName ?? null,
    assignments: req.assignments,
  });
  return { throttleTimeMs: 0, ...r };
});

const heartbeat = handler(HeartbeatApi, (req: HeartbeatRequest, ctx) => {
  if (!isCoordinator(ctx, req.groupId)) return { throttleTimeMs: 0, errorCode: NOT_COORDINATOR };
  return {
    throttleTimeMs: 0,
    errorCode: ctx.state.groups.heartbeat(
      req.groupId,
      req.memberId,
      req.groupInstanceId ?? null,
      req.generationId,
    ),
  };
});

const leaveGroup = handler(LeaveGroupApi, (req: LeaveGroupRequest, ctx) => {
  if (!isCoordinator(ctx, req.groupId)) {
    return { throttleTimeMs: 0, errorCode: NOT_COORDINATOR, members: [] };
  }
  const batch = ctx.version >= 3;
  const leaving = batch
    ? (req.members ?? []).map((m) => ({
      memberId: m.memberId ?? "",
      groupInstanceId: m.groupInstanceId ?? null,
    }))
    : [{ memberId: req.memberId ?? "", groupInstanceId: null }];
  const r = ctx.state.groups.leave(req.groupId, leaving);
  if (batch) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
  return { throttleTimeMs: 0, errorCode: r.errorCode || (r.members[0]?.errorCode ?? NONE) };
});

// ---------------------------------------------------------------------------
// OffsetCommit, OffsetFetch

/**
 * OffsetCommit and OffsetFetch v10 name topics by id only (KIP-848). The
 * coordinator keeps offsets by topic name, as Kafka's does; ids are resolved
 * here, as Kafka resolves them against its metadata before the coordinator
 * sees the request. A topic named by an id no broker knows gets
 * UNKNOWN_TOPIC_ID on each of its partitions (Kafka 4.4.0 does the same).
 */
const TOPIC_IDS_SINCE = fieldSince(OffsetCommitApi.request, ["topics", "topicId"]);

/** A requested topic: its name when known, and how it was named. */
interface NamedTopic {
  readonly name: string | undefined;
  readonly topicId: string;
}

function resolveTopic(
  state: ClusterState,
  byId: boolean,
  t: { name?: string; topicId?: string },
): NamedTopic {
  if (!byId) return { name: t.name ?? "", topicId: ZERO_UUID };
  const topicId = t.topicId ?? ZERO_UUID;
  return { name: state.topicsById.get(topicId)?.name, topicId };
}

const offsetCommit = handler(OffsetCommitApi, (req: OffsetCommitRequest, ctx) => {
  const { state } = ctx;
  const byId = ctx.version >= TOPIC_IDS_SINCE;
  const topics = req.topics.map((t) => ({ ...resolveTopic(state, byId, t), t }));
  const answer = (code: (topic: NamedTopic, partition: number) => number) => ({
    throttleTimeMs: 0,
    topics: topics.map(({ name, topicId, t }) => ({
      name: name ?? "",
      topicId,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: code({ name, topicId }, p.partitionIndex),
      })),
    })),
  });
  if (!isCoordinator(ctx, req.groupId)) return answer(() => NOT_COORDINATOR);
  const known = (topic: string | undefined, partition: number) =>
    topic !== undefined && state.topics.get(topic)?.partitions[partition] !== undefined;
  const offsets: OffsetToCommit[] = [];
  for (const { name, t } of topics) {
    for (const p of t.partitions) {
      if (!known(name, p.partitionIndex)) continue;
      offsets.push({
        topic: name!,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch ?? -1,
        metadata: p.committedMetadata ?? null,
      });
    }
  }
  let err: number;
  if (state.consumerGroups.has(req.groupId)) {
    // A consumer-protocol group: its coordinator checks the member epoch.
    err = state.consumerGroups.validateCommit(
      req.groupId,
      req.memberId,
      req.generationIdOrMemberEpoch ?? -1,
      ctx.version,
    );
    if (err === NONE) state.groups.storeOffsets(req.groupId, offsets);
  } else {
    err = state.groups.commit(
      req.groupId,
      req.generationIdOrMemberEpoch ?? -1,
      req.memberId,
      req.groupInstanceId ?? null,
      offsets,
    );
  }
  return answer((topic, partition) => {
    // An unknown id is answered before the group is asked, as Kafka does.
    if (topic.name === undefined) return UNKNOWN_TOPIC_ID;
    if (err !== NONE) return err;
    return known(topic.name, partition) ? NONE : UNKNOWN_TOPIC_OR_PARTITION;
  });
});

type OffsetRow = ReturnType<ClusterState["groups"]["fetchOffsets"]>[number]["partitions"][number];

type WantedTopics = { name?: string; topicId?: string; partitionIndexes?: number[] }[];

function fetchGroup(ctx: RequestContext, groupId: string, wanted: WantedTopics | null) {
  const { state } = ctx;
  const byId = ctx.version >= TOPIC_IDS_SINCE;
  const committed = (p: number, c: OffsetRow["committed"], errorCode: number) => ({
    partitionIndex: p,
    committedOffset: c?.offset ?? -1n,
    committedLeaderEpoch: c?.leaderEpoch ?? -1,
    // Kafka stores a null metadata as "" and answers "" for no offset.
    metadata: c?.metadata ?? "",
    errorCode,
  });
  if (wanted === null) {
    // Every committed offset of the group. By id, a topic that no longer
    // exists has no id to be named by: it is left out.
    return state.groups.fetchOffsets(groupId, null).flatMap((t) => {
      const topicId = state.topics.get(t.topic)?.id;
      if (byId && topicId === undefined) return [];
      return [{
        name: t.topic,
        topicId: topicId ?? ZERO_UUID,
        partitions: t.partitions.map((p) => committed(p.partition, p.committed, NONE)),
      }];
    });
  }
  const topics = wanted.map((t) => ({ ...resolveTopic(state, byId, t), t }));
  const rows = state.groups.fetchOffsets(
    groupId,
    topics.flatMap(({ name, t }) =>
      name === undefined ? [] : [{ topic: name, partitions: t.partitionIndexes ?? [] }]
    ),
  );
  let row = 0;
  return topics.map(({ name, topicId, t }) => {
    const indexes = t.partitionIndexes ?? [];
    if (name === undefined) {
      return {
        name: "",
        topicId,
        partitions: indexes.map((p) => committed(p, null, UNKNOWN_TOPIC_ID)),
      };
    }
    const r = rows[row++];
    return {
      name,
      topicId,
      partitions: r.partitions.map((p) => committed(p.partition, p.committed, NONE)),
    };
  });
}

const offsetFetch = handler(OffsetFetchApi, (req: OffsetFetchRequest, ctx) => {
  if (ctx.version >= 8) {
    return {
      throttleTimeMs: 0,
      groups: (req.groups ?? []).map((g) => {
        const groupId = g.groupId ?? "";
        if (!isCoordinator(ctx, groupId)) {
          return { groupId, topics: [], errorCode: NOT_COORDINATOR };
        }
        // v9+ may name the member (KIP-848): a consumer group checks its epoch.
        const refused = ctx.state.consumerGroups.validateFetch(
          groupId,
          g.memberId ?? null,
          g.memberEpoch ?? -1,
        );
        if (refused !== NONE) return { groupId, topics: [], errorCode: refused };
        return {
          groupId,
          topics: fetchGroup(ctx, groupId, g.topics ?? null),
          errorCode: NONE,
        };
      }),
    };
  }
  const groupId = req.groupId ?? "";
  if (!isCoordinator(ctx, groupId)) {
    // v1 has no top-level error code: put it on every partition.
    return {
      throttleTimeMs: 0,
      errorCode: NOT_COORDINATOR,
      topics: (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: (t.partitionIndexes ?? []).map((p) => ({
          partitionIndex: p,
          committedOffset: -1n,
          metadata: "",
          errorCode: NOT_COORDINATOR,
        })),
      })),
    };
  }
  return {
    throttleTimeMs: 0,
    errorCode: NONE,
    topics: fetchGroup(ctx, groupId, req.topics ?? null),
  };
});

// ---------------------------------------------------------------------------
// DescribeGroups, ListGroups

/** DescribeGroups' answer for a group it does not describe (GROUP_ID_NOT_FOUND, "Dead"). */
function notFound(groupId: string, errorMessage: string) {
  return {
    errorCode: GROUP_ID_NOT_FOUND,
    errorMessage,
    groupId,
    groupState: "Dead",
    protocolType: "",
    protocolData: "",
    members: [],
    authorizedOperations: -2147483648,
  };
}

const describeGroups = handler(DescribeGroupsApi, (req: DescribeGroupsRequest, ctx) => ({
  throttleTimeMs: 0,
  groups: req.groups.map((groupId) => {
    if (!isCoordinator(ctx, groupId)) {
      return {
        errorCode: NOT_COORDINATOR,
        errorMessage: null,
        groupId,
        groupState: "",
        protocolType: "",
        protocolData: "",
        members: [],
      };
    }
    if (ctx.state.consumerGroups.has(groupId)) {
      // As Kafka: DescribeGroups describes classic groups only.
      return notFound(groupId, `Group ${groupId} is not a classic group.`);
    }
    const s = ctx.state.groups.describe(groupId);
    if (s.state === "Dead" && ctx.version >= 6) {
      // KIP-1043: v6 says a group does not exist (Kafka 4.4.0 does; checked
      // in tests/golden_bytes_test.ts); older versions describe it as Dead.
      return notFound(groupId, `Group ${groupId} not found.`);
    }
    return {
      errorCode: NONE,
      errorMessage: null,
      groupId,
      groupState: s.state,
      protocolType: s.protocolType,
      protocolData: s.protocolName,
      members: s.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: m.metadata,
        memberAssignment: m.assignment,
      })),
      authorizedOperations: -2147483648,
    };
  }),
}));

const listGroups = handler(ListGroupsApi, (req: ListGroupsRequest, ctx) => {
  const types = new Set((req.typesFilter ?? []).map((t) => t.toLowerCase()));
  const classic = types.size === 0 || types.has("classic");
  const consumer = types.size === 0 || types.has("consumer");
  const states = new Set((req.statesFilter ?? []).map((s) => s.toLowerCase()));
  const modern = ctx.state.consumerGroups;
  return {
    throttleTimeMs: 0,
    errorCode: NONE,
    groups: [
      ...(classic
        ? ctx.state.groups.list(req.statesFilter ?? [])
          // A consumer group's offsets live in a classic record: not listed as classic.
          .filter((g) => isCoordinator(ctx, g.groupId) && !modern.has(g.groupId))
          .map((g) => ({
            groupId: g.groupId,
            protocolType: g.protocolType,
            groupState: g.state,
            groupType: "classic",
          }))
        : []),
      ...(consumer
        ? modern.list()
          .filter((g) => isCoordinator(ctx, g.groupId))
          .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
          .map((g) => ({
            groupId: g.groupId,
            protocolType: "consumer",
            groupState: g.state,
            groupType: "consumer",
          }))
        : []),
    ],
  };
});

/** An empty consumer group goes, with its offsets (kept by the classic coordinator). */
function deleteConsumerGroup(state: ClusterState, groupId: string): number {
  const err = state.consumerGroups.deleteGroup(groupId);
  if (err === NONE) state.groups.deleteGroup(groupId);
  return err;
}

const deleteGroups = handler(DeleteGroupsApi, (req: DeleteGroupsRequest, ctx) => ({
  throttleTimeMs: 0,
  results: req.groupsNames.map((groupId) => ({
    groupId,
    errorCode: !isCoordinator(ctx, groupId)
      ? NOT_COORDINATOR
      : ctx.state.consumerGroups.has(groupId)
      ? deleteConsumerGroup(ctx.state, groupId)
      : ctx.state.groups.deleteGroup(groupId),
    // v3 may carry a cause with an error; Kafka 4.4.0 sends none for
    // GROUP_ID_NOT_FOUND or NON_EMPTY_GROUP (checked against a broker).
    errorMessage: null,
  })),
}));

/** The group coordinator's handlers. */
export const GROUP_HANDLERS: readonly Handler[] = [
  findCoordinator,
  joinGroup,
  syncGroup,
  heartbeat,
  leaveGroup,
  offsetCommit,
  offsetFetch,
  describeGroups,
  listGroups,
  deleteGroups,
];
