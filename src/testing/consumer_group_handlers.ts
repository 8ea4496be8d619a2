/**
 * Request handlers of the embedded cluster's consumer-protocol groups
 * (KIP-848): ConsumerGroupHeartbeat and ConsumerGroupDescribe. The state
 * machine is {@linkcode ConsumerGroupCoordinator}; the group's coordinator
 * node is the classic one's ({@linkcode coordinatorFor}).
 *
 * @module
 */

import {
  ConsumerGroupDescribeApi,
  type ConsumerGroupDescribeRequest,
} from "../protocol/messages/consumer_group_describe.ts";
import {
  ConsumerGroupHeartbeatApi,
  type ConsumerGroupHeartbeatRequest,
} from "../protocol/messages/consumer_group_heartbeat.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import type { TopicPartitions } from "./consumer_group_coordinator.ts";
import { type Handler, handler } from "./api_handler.ts";
import { isCoordinator } from "./group_handlers.ts";
import type { ClusterState } from "./state.ts";

const { NONE, NOT_COORDINATOR, GROUP_ID_NOT_FOUND } = ErrorCode;

/** Kafka's memberType of ConsumerGroupDescribe: 1 for a consumer-protocol member. */
const CONSUMER_MEMBER_TYPE = 1;

const consumerGroupHeartbeat = handler(
  ConsumerGroupHeartbeatApi,
  (req: ConsumerGroupHeartbeatRequest, ctx) => {
    if (!isCoordinator(ctx, req.groupId)) {
      return {
        throttleTimeMs: 0,
        errorCode: NOT_COORDINATOR,
        errorMessage: null,
        memberId: null,
        memberEpoch: -1,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
    const r = ctx.state.consumerGroups.heartbeat({
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      instanceId: req.instanceId ?? null,
      rackId: req.rackId ?? null,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs ?? -1,
      subscribedTopicNames: req.subscribedTopicNames ?? null,
      subscribedTopicRegex: req.subscribedTopicRegex ?? null,
      serverAssignor: req.serverAssignor ?? null,
      topicPartitions: req.topicPartitions ?? null,
      clientId: ctx.clientId ?? "",
      clientHost: ctx.clientHost,
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: r.assignment === null ? null : { topicPartitions: r.assignment },
    };
  },
);

function named(state: ClusterState, tps: readonly TopicPartitions[]) {
  return {
    topicPartitions: tps.map((t) => ({
      topicId: t.topicId,
      topicName: state.topicsById.get(t.topicId)?.name ?? "",
      partitions: t.partitions,
    })),
  };
}

const consumerGroupDescribe = handler(
  ConsumerGroupDescribeApi,
  (req: ConsumerGroupDescribeRequest, ctx) => ({
    throttleTimeMs: 0,
    groups: req.groupIds.map((groupId) => {
      const none = {
        errorMessage: null as string | null,
        groupId,
        groupState: "",
        groupEpoch: -1,
        assignmentEpoch: -1,
        assignorName: "",
        members: [],
        authorizedOperations: -2147483648,
      };
      if (!isCoordinator(ctx, groupId)) return { ...none, errorCode: NOT_COORDINATOR };
      const g = ctx.state.consumerGroups.describe(groupId);
      if (g === null) {
        // Kafka answers a classic group (or none) so; its admin client then
        // asks DescribeGroups.
        return {
          ...none,
          errorCode: GROUP_ID_NOT_FOUND,
          errorMessage: `Group ${groupId} is not a consumer group.`,
        };
      }
      return {
        errorCode: NONE,
        errorMessage: null,
        groupId,
        groupState: g.state,
        groupEpoch: g.groupEpoch,
        assignmentEpoch: g.assignmentEpoch,
        assignorName: g.assignorName,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: named(ctx.state, m.assignment),
          targetAssignment: named(ctx.state, m.targetAssignment),
          memberType: CONSUMER_MEMBER_TYPE,
        })),
        authorizedOperations: -2147483648,
      };
    }),
  }),
);

/** The consumer-protocol group handlers. */
export const CONSUMER_GROUP_HANDLERS: readonly Handler[] = [
  consumerGroupHeartbeat,
  consumerGroupDescribe,
];
