/**
 * Every error code a Kafka broker can answer with: Kafka's name, whether
 * Kafka's own client treats it as retriable, what a consumer must do before
 * retrying (refresh metadata, find the coordinator again, rejoin the group),
 * and a one-line description of what it means and what to do.
 *
 * Codes and names are protocol facts taken from Kafka's
 * `org.apache.kafka.common.protocol.Errors` enum (Kafka 4.1: codes -1 to 133).
 * `retriable` is true exactly when the exception class Kafka maps the code to
 * extends `RetriableException`; `error_codes_kafka_test.ts` checks codes, names
 * and this flag against the real enum. The three action flags are our reading
 * of what Kafka's Java consumer does on each code (the reasons are in the
 * comment above the table). The descriptions are our own wording.
 *
 * @example Look up a code from a response
 * ```ts
 * import { errorInfo } from "@sluice/kafka";
 * const info = errorInfo(6);
 * info.name; // "NOT_LEADER_OR_FOLLOWER"
 * info.refreshMetadata; // true
 * ```
 *
 * @module
 */

/**
 * What sluice knows about one Kafka error code.
 *
 * @example
 * ```ts
 * import { type ErrorInfo, errorInfo } from "@sluice/kafka";
 * const info: ErrorInfo = errorInfo(6);
 * info.name; // "NOT_LEADER_OR_FOLLOWER"
 * info.retriable; // true
 * ```
 */
export interface ErrorInfo {
  /** The numeric code on the wire (an int16). */
  readonly code: number;
  /**
   * Kafka's enum name, e.g. `"NOT_LEADER_OR_FOLLOWER"`; for a code this
   * client does not know, `"UNKNOWN_ERROR_CODE_<code>"`.
   */
  readonly name: ErrorName | UnknownErrorName;
  /**
   * Kafka's client retries the request on this code (its exception extends
   * `RetriableException`). A retry may need one of the actions below first.
   */
  readonly retriable: boolean;
  /** The client's cluster metadata (leaders, topic ids) is stale: refresh it before retrying. */
  readonly refreshMetadata: boolean;
  /** The group or transaction coordinator moved or is down: look it up again (FindCoordinator). */
  readonly findCoordinator: boolean;
  /** The group member must (re)join the group (JoinGroup) before going on. */
  readonly rejoin: boolean;
  /** One line: what the code means and what to do about it. */
  readonly description: string;
}

/**
 * The name given to a code that is not in the table, e.g. `"UNKNOWN_ERROR_CODE_999"`.
 *
 * @example
 * ```ts
 * import { errorName, type UnknownErrorName } from "@sluice/kafka";
 * const name = errorName(999) as UnknownErrorName; // "UNKNOWN_ERROR_CODE_999"
 * ```
 */
export type UnknownErrorName = `UNKNOWN_ERROR_CODE_${number}`;

// Flags of a table row, or-ed together.
const RETRY = 1;
const METADATA = 2;
const COORDINATOR = 4;
const REJOIN = 8;

/**
 * Every error code Kafka defines, by Kafka's name, in code order. Use it to
 * compare codes without magic numbers; {@linkcode errorInfo} has the rest.
 *
 * @example
 * ```ts
 * import { ErrorCode } from "@sluice/kafka";
 * function isLeaderMove(code: number): boolean {
 *   return code === ErrorCode.NOT_LEADER_OR_FOLLOWER || code === ErrorCode.FENCED_LEADER_EPOCH;
 * }
 * isLeaderMove(6); // true
 * ```
 */
export const ErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  REPLICA_NOT_AVAILABLE: 9,
  MESSAGE_TOO_LARGE: 10,
  STALE_CONTROLLER_EPOCH: 11,
  OFFSET_METADATA_TOO_LARGE: 12,
  NETWORK_EXCEPTION: 13,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  TRANSACTION_COORDINATOR_FENCED: 52,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  SECURITY_DISABLED: 54,
  OPERATION_NOT_ATTEMPTED: 55,
  KAFKA_STORAGE_ERROR: 56,
  LOG_DIR_NOT_FOUND: 57,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_PRODUCER_ID: 59,
  REASSIGNMENT_IN_PROGRESS: 60,
  DELEGATION_TOKEN_AUTH_DISABLED: 61,
  DELEGATION_TOKEN_NOT_FOUND: 62,
  DELEGATION_TOKEN_OWNER_MISMATCH: 63,
  DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: 64,
  DELEGATION_TOKEN_AUTHORIZATION_FAILED: 65,
  DELEGATION_TOKEN_EXPIRED: 66,
  INVALID_PRINCIPAL_TYPE: 67,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  FETCH_SESSION_ID_NOT_FOUND: 70,
  INVALID_FETCH_SESSION_EPOCH: 71,
  LISTENER_NOT_FOUND: 72,
  TOPIC_DELETION_DISABLED: 73,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  STALE_BROKER_EPOCH: 77,
  OFFSET_NOT_AVAILABLE: 78,
  MEMBER_ID_REQUIRED: 79,
  PREFERRED_LEADER_NOT_AVAILABLE: 80,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
  ELIGIBLE_LEADERS_NOT_AVAILABLE: 83,
  ELECTION_NOT_NEEDED: 84,
  NO_REASSIGNMENT_IN_PROGRESS: 85,
  GROUP_SUBSCRIBED_TO_TOPIC: 86,
  INVALID_RECORD: 87,
  UNSTABLE_OFFSET_COMMIT: 88,
  THROTTLING_QUOTA_EXCEEDED: 89,
  PRODUCER_FENCED: 90,
  RESOURCE_NOT_FOUND: 91,
  DUPLICATE_RESOURCE: 92,
  UNACCEPTABLE_CREDENTIAL: 93,
  INCONSISTENT_VOTER_SET: 94,
  INVALID_UPDATE_VERSION: 95,
  FEATURE_UPDATE_FAILED: 96,
  PRINCIPAL_DESERIALIZATION_FAILURE: 97,
  SNAPSHOT_NOT_FOUND: 98,
  POSITION_OUT_OF_RANGE: 99,
  UNKNOWN_TOPIC_ID: 100,
  DUPLICATE_BROKER_REGISTRATION: 101,
  BROKER_ID_NOT_REGISTERED: 102,
  INCONSISTENT_TOPIC_ID: 103,
  INCONSISTENT_CLUSTER_ID: 104,
  TRANSACTIONAL_ID_NOT_FOUND: 105,
  FETCH_SESSION_TOPIC_ID_ERROR: 106,
  INELIGIBLE_REPLICA: 107,
  NEW_LEADER_ELECTED: 108,
  OFFSET_MOVED_TO_TIERED_STORAGE: 109,
  FENCED_MEMBER_EPOCH: 110,
  UNRELEASED_INSTANCE_ID: 111,
  UNSUPPORTED_ASSIGNOR: 112,
  STALE_MEMBER_EPOCH: 113,
  MISMATCHED_ENDPOINT_TYPE: 114,
  UNSUPPORTED_ENDPOINT_TYPE: 115,
  UNKNOWN_CONTROLLER_ID: 116,
  UNKNOWN_SUBSCRIPTION_ID: 117,
  TELEMETRY_TOO_LARGE: 118,
  INVALID_REGISTRATION: 119,
  TRANSACTION_ABORTABLE: 120,
  INVALID_RECORD_STATE: 121,
  SHARE_SESSION_NOT_FOUND: 122,
  INVALID_SHARE_SESSION_EPOCH: 123,
  FENCED_STATE_EPOCH: 124,
  INVALID_VOTER_KEY: 125,
  DUPLICATE_VOTER: 126,
  VOTER_NOT_FOUND: 127,
  INVALID_REGULAR_EXPRESSION: 128,
  REBOOTSTRAP_REQUIRED: 129,
  STREAMS_INVALID_TOPOLOGY: 130,
  STREAMS_INVALID_TOPOLOGY_EPOCH: 131,
  STREAMS_TOPOLOGY_FENCED: 132,
  SHARE_SESSION_LIMIT_REACHED: 133,
  GROUP_DELETION_FAILED: 134,
  STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED: 135,
  CONTROLLER_ID_NOT_REGISTERED: 136,
} as const;

/**
 * Kafka's name of an error code it defines, e.g. `"NOT_LEADER_OR_FOLLOWER"`.
 *
 * @example
 * ```ts
 * import { ErrorCode, type ErrorName } from "@sluice/kafka";
 * const name: ErrorName = "OFFSET_OUT_OF_RANGE";
 * ErrorCode[name]; // 1
 * ```
 */
export type ErrorName = keyof typeof ErrorCode;

/*
 * One entry per name: [flags, description]; the compiler checks that it has
 * exactly the names of ErrorCode.
 *
 * RETRY follows Kafka exactly (the exception class extends RetriableException).
 *
 * METADATA: the codes after which Kafka's Java client asks for a metadata
 * update. The fetch path (FetchCollector) does so for NOT_LEADER_OR_FOLLOWER,
 * REPLICA_NOT_AVAILABLE, KAFKA_STORAGE_ERROR, FENCED_LEADER_EPOCH,
 * OFFSET_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID and
 * INCONSISTENT_TOPIC_ID; the ListOffsets path waits for a metadata update
 * before retrying partitions that failed, LEADER_NOT_AVAILABLE among them.
 * NETWORK_EXCEPTION and LISTENER_NOT_FOUND are in Kafka's
 * InvalidMetadataException family ("the client's metadata may be out of
 * date"), which its producer and admin client answer with a refresh.
 * NOT_CONTROLLER: the admin client refreshes metadata to find the new
 * controller. REBOOTSTRAP_REQUIRED asks for more than a refresh (start again
 * from the bootstrap brokers) but is flagged so the metadata layer sees it.
 * Not flagged: UNKNOWN_LEADER_EPOCH (the broker is behind the client, not the
 * other way round, so Java's fetch path only retries; a refresh would not
 * help, although the ListOffsets path waits for one anyway) and the three leader
 * election results PREFERRED_LEADER_NOT_AVAILABLE,
 * ELIGIBLE_LEADERS_NOT_AVAILABLE, ELECTION_NOT_NEEDED (answers to an admin
 * ElectLeaders request, not a sign of stale client metadata, although Kafka
 * files them under InvalidMetadataException).
 *
 * COORDINATOR: COORDINATOR_NOT_AVAILABLE and NOT_COORDINATOR, on which Java
 * marks the coordinator unknown and looks it up again. (Java's commit path
 * also does so on REQUEST_TIMED_OUT; that is a decision for the commit code,
 * not a property of the code.)
 *
 * REJOIN: REBALANCE_IN_PROGRESS (rejoin), UNKNOWN_MEMBER_ID (reset the member
 * id, rejoin), ILLEGAL_GENERATION (rejoin, keeping the member id),
 * MEMBER_ID_REQUIRED (rejoin at once with the id from the response), and
 * FENCED_MEMBER_EPOCH, its KIP-848 counterpart. FENCED_INSTANCE_ID is fatal,
 * not a rejoin.
 */
const DETAILS: { readonly [Name in ErrorName]: readonly [flags: number, description: string] } = {
  UNKNOWN_SERVER_ERROR: [
    0,
    "the broker hit an unexpected error handling the request; its log has the cause",
  ],
  NONE: [0, "no error"],
  OFFSET_OUT_OF_RANGE: [
    0,
    "the offset is outside the range the partition holds (deleted by retention, or not written yet); reset the position per autoOffsetReset",
  ],
  CORRUPT_MESSAGE: [
    RETRY,
    "a record batch failed its CRC check, exceeds the size limit, has a null key on a compacted topic, or is otherwise malformed",
  ],
  UNKNOWN_TOPIC_OR_PARTITION: [
    RETRY | METADATA,
    "the broker does not host this topic-partition: the topic may not exist (yet) or metadata is stale; refresh metadata and retry",
  ],
  INVALID_FETCH_SIZE: [0, "the fetch size in the request is not valid"],
  LEADER_NOT_AVAILABLE: [
    RETRY | METADATA,
    "the partition has no leader right now, an election is under way; refresh metadata and retry",
  ],
  NOT_LEADER_OR_FOLLOWER: [
    RETRY | METADATA,
    "this broker is not the partition's leader (or not a replica of it); refresh metadata and retry at the current leader",
  ],
  REQUEST_TIMED_OUT: [RETRY, "the broker timed out handling the request; retry"],
  BROKER_NOT_AVAILABLE: [0, "the broker is not available"],
  REPLICA_NOT_AVAILABLE: [
    RETRY | METADATA,
    "a replica of the partition is not available; refresh metadata and retry",
  ],
  MESSAGE_TOO_LARGE: [
    0,
    "a record is larger than the broker or topic accepts (message.max.bytes, max.message.bytes)",
  ],
  STALE_CONTROLLER_EPOCH: [
    0,
    "the request came from a controller that has since been replaced (between brokers)",
  ],
  OFFSET_METADATA_TOO_LARGE: [
    0,
    "the metadata string of an offset commit is longer than offset.metadata.max.bytes allows; shorten it",
  ],
  NETWORK_EXCEPTION: [
    RETRY | METADATA,
    "a connection closed before the response arrived; reconnect, refresh metadata and retry",
  ],
  COORDINATOR_LOAD_IN_PROGRESS: [
    RETRY,
    "the coordinator is still loading the group or transaction state; back off and retry",
  ],
  COORDINATOR_NOT_AVAILABLE: [
    RETRY | COORDINATOR,
    "no coordinator is available (on a one-broker cluster, check offsets.topic.replication.factor=1); find the coordinator again and retry",
  ],
  NOT_COORDINATOR: [
    RETRY | COORDINATOR,
    "this broker is no longer the coordinator for the group or transaction; find the coordinator again and retry",
  ],
  INVALID_TOPIC_EXCEPTION: [
    0,
    "the topic name is not valid (characters or length), or the topic is internal and cannot be used this way",
  ],
  RECORD_LIST_TOO_LARGE: [0, "a produced batch is larger than the topic's segment size"],
  NOT_ENOUGH_REPLICAS: [
    RETRY,
    "the write was refused: fewer replicas are in sync than min.insync.replicas",
  ],
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: [
    RETRY,
    "the write was appended, but fewer replicas than min.insync.replicas acknowledged it",
  ],
  INVALID_REQUIRED_ACKS: [0, "the produce request's acks is not valid (it must be -1, 0 or 1)"],
  ILLEGAL_GENERATION: [
    REJOIN,
    "the member's generation is outdated because the group rebalanced; rejoin, keeping the member id",
  ],
  INCONSISTENT_GROUP_PROTOCOL: [
    0,
    "the member's protocol type or assignors match none of the group's; configure assignors the other members also support",
  ],
  INVALID_GROUP_ID: [0, "the group id is empty or not valid; set a non-empty groupId"],
  UNKNOWN_MEMBER_ID: [
    REJOIN,
    "the coordinator does not know this member id (its session expired, or the group was reset); rejoin with an empty member id",
  ],
  INVALID_SESSION_TIMEOUT: [
    0,
    "the session timeout is outside the broker's group.min.session.timeout.ms to group.max.session.timeout.ms range; change sessionTimeoutMs",
  ],
  REBALANCE_IN_PROGRESS: [REJOIN, "the group is rebalancing; rejoin it"],
  INVALID_COMMIT_OFFSET_SIZE: [0, "the offset commit is too large for the broker to store"],
  TOPIC_AUTHORIZATION_FAILED: [
    0,
    "the principal may not access this topic; grant it the operation with an ACL (Read to consume, Describe for metadata)",
  ],
  GROUP_AUTHORIZATION_FAILED: [
    0,
    "the principal may not use this consumer group; grant Read on the group with an ACL",
  ],
  CLUSTER_AUTHORIZATION_FAILED: [
    0,
    "the principal lacks a cluster-wide permission the request needs; grant it with an ACL on the cluster",
  ],
  INVALID_TIMESTAMP: [
    0,
    "a record timestamp is further from the broker's clock than the log.message.timestamp limits allow",
  ],
  UNSUPPORTED_SASL_MECHANISM: [
    0,
    "the broker does not enable this SASL mechanism; use one from its sasl.enabled.mechanisms",
  ],
  ILLEGAL_SASL_STATE: [0, "a SASL request arrived at the wrong step of the handshake"],
  UNSUPPORTED_VERSION: [
    0,
    "the broker does not support this version of the API; pick versions from its ApiVersions answer",
  ],
  TOPIC_ALREADY_EXISTS: [0, "a topic with this name already exists"],
  INVALID_PARTITIONS: [
    0,
    "the partition count is not valid (below 1, or not above the current count when adding partitions)",
  ],
  INVALID_REPLICATION_FACTOR: [
    0,
    "the replication factor is below 1 or above the number of available brokers",
  ],
  INVALID_REPLICA_ASSIGNMENT: [0, "the explicit replica assignment is not valid"],
  INVALID_CONFIG: [0, "a configuration entry in the request is not valid"],
  NOT_CONTROLLER: [
    RETRY | METADATA,
    "this broker is not the active controller; refresh metadata to find it and retry",
  ],
  INVALID_REQUEST: [
    0,
    "the broker could not accept the request as sent (a client bug or an incompatible broker); its log says why",
  ],
  UNSUPPORTED_FOR_MESSAGE_FORMAT: [
    0,
    "the request needs a newer message format than the topic uses",
  ],
  POLICY_VIOLATION: [
    0,
    "the request breaks a policy configured on the broker (for example a create-topic policy)",
  ],
  OUT_OF_ORDER_SEQUENCE_NUMBER: [0, "the broker received a producer sequence number out of order"],
  DUPLICATE_SEQUENCE_NUMBER: [
    0,
    "the broker received a producer sequence number it has already seen",
  ],
  INVALID_PRODUCER_EPOCH: [
    0,
    "the producer's epoch is older than the broker's: another instance of the producer took over",
  ],
  INVALID_TXN_STATE: [
    0,
    "the transactional operation is not allowed in the transaction's current state",
  ],
  INVALID_PRODUCER_ID_MAPPING: [
    0,
    "the producer id is not the one currently assigned to this transactional id",
  ],
  INVALID_TRANSACTION_TIMEOUT: [
    0,
    "the transaction timeout is above the broker's transaction.max.timeout.ms",
  ],
  CONCURRENT_TRANSACTIONS: [
    RETRY,
    "another operation on the same transaction is still running; back off and retry",
  ],
  TRANSACTION_COORDINATOR_FENCED: [
    0,
    "the transaction coordinator that sent the marker is no longer the current one (between brokers)",
  ],
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: [
    0,
    "the principal may not use this transactional id; grant Write on it with an ACL",
  ],
  SECURITY_DISABLED: [
    0,
    "the request needs a security feature (ACLs, delegation tokens) that the broker has not enabled",
  ],
  OPERATION_NOT_ATTEMPTED: [
    0,
    "the broker skipped this operation because another one in the same request failed",
  ],
  KAFKA_STORAGE_ERROR: [
    RETRY | METADATA,
    "the broker hit a disk error in the partition's log directory; refresh metadata (leadership may move) and retry",
  ],
  LOG_DIR_NOT_FOUND: [
    0,
    "the log directory named in the request is not in the broker's configuration",
  ],
  SASL_AUTHENTICATION_FAILED: [
    0,
    "SASL authentication failed; check the mechanism, user name and password",
  ],
  UNKNOWN_PRODUCER_ID: [
    0,
    "the broker holds no state for this producer id (its records may have expired under retention)",
  ],
  REASSIGNMENT_IN_PROGRESS: [
    0,
    "a partition reassignment is in progress, so the request cannot be done now",
  ],
  DELEGATION_TOKEN_AUTH_DISABLED: [0, "delegation tokens are not enabled on the broker"],
  DELEGATION_TOKEN_NOT_FOUND: [0, "the broker has no such delegation token"],
  DELEGATION_TOKEN_OWNER_MISMATCH: [
    0,
    "the principal is neither the owner nor a renewer of the delegation token",
  ],
  DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: [
    0,
    "delegation token requests are refused on PLAINTEXT, one-way TLS and token-authenticated connections",
  ],
  DELEGATION_TOKEN_AUTHORIZATION_FAILED: [
    0,
    "the principal may not perform this delegation token operation",
  ],
  DELEGATION_TOKEN_EXPIRED: [0, "the delegation token has expired; renew it or create a new one"],
  INVALID_PRINCIPAL_TYPE: [0, "the principal type in the request is not supported"],
  NON_EMPTY_GROUP: [
    0,
    "the group still has active members, so it cannot be deleted or its offsets changed; stop its consumers first",
  ],
  GROUP_ID_NOT_FOUND: [0, "the coordinator has no group with this id"],
  FETCH_SESSION_ID_NOT_FOUND: [
    RETRY,
    "the broker no longer has this fetch session (evicted, or the broker restarted); start a new fetch session",
  ],
  INVALID_FETCH_SESSION_EPOCH: [
    RETRY,
    "the fetch session epoch does not match the broker's; start a new fetch session",
  ],
  LISTENER_NOT_FOUND: [
    RETRY | METADATA,
    "the partition leader has no listener matching the one this request came in on; refresh metadata, and check the brokers' listeners if it persists",
  ],
  TOPIC_DELETION_DISABLED: [
    0,
    "topic deletion is disabled on the broker (delete.topic.enable=false)",
  ],
  FENCED_LEADER_EPOCH: [
    RETRY | METADATA,
    "the request's leader epoch is older than the broker's, so the client's metadata is stale; refresh metadata and retry",
  ],
  UNKNOWN_LEADER_EPOCH: [
    RETRY,
    "the request's leader epoch is newer than the broker's, which has not caught up yet; back off and retry",
  ],
  UNSUPPORTED_COMPRESSION_TYPE: [
    0,
    "the request version used cannot carry the partition's compression type (zstd needs a newer version)",
  ],
  STALE_BROKER_EPOCH: [0, "the broker epoch in the request is outdated (between brokers)"],
  OFFSET_NOT_AVAILABLE: [
    RETRY | METADATA,
    "the new leader's high watermark has not caught up since the election, so offsets are not available yet; back off and retry",
  ],
  MEMBER_ID_REQUIRED: [
    REJOIN,
    "the coordinator gave the member an id it must use; rejoin at once with the member id from the response",
  ],
  PREFERRED_LEADER_NOT_AVAILABLE: [
    RETRY,
    "the preferred leader cannot be elected (it is offline or out of sync)",
  ],
  GROUP_MAX_SIZE_REACHED: [0, "the group is at group.max.size members, so no more may join"],
  FENCED_INSTANCE_ID: [
    0,
    "another consumer joined with the same groupInstanceId and fenced this one; give each instance its own id",
  ],
  ELIGIBLE_LEADERS_NOT_AVAILABLE: [
    RETRY,
    "no replica eligible to lead the partition is available for the requested election",
  ],
  ELECTION_NOT_NEEDED: [
    RETRY,
    "no election is needed: the partition already has the wanted leader",
  ],
  NO_REASSIGNMENT_IN_PROGRESS: [0, "there is no partition reassignment in progress to cancel"],
  GROUP_SUBSCRIBED_TO_TOPIC: [
    0,
    "the group's offsets for a topic cannot be deleted while the group is subscribed to it",
  ],
  INVALID_RECORD: [0, "the broker's validation rejected a record in the batch"],
  UNSTABLE_OFFSET_COMMIT: [
    RETRY,
    "a transactional offset commit for the partition is still pending; back off and retry",
  ],
  THROTTLING_QUOTA_EXCEEDED: [
    RETRY,
    "the request went over a controller mutation quota; retry after the throttle time",
  ],
  PRODUCER_FENCED: [0, "a newer producer with the same transactional id fenced this one"],
  RESOURCE_NOT_FOUND: [0, "the request refers to a resource that does not exist"],
  DUPLICATE_RESOURCE: [0, "the request names the same resource more than once"],
  UNACCEPTABLE_CREDENTIAL: [0, "the requested credential does not meet the broker's criteria"],
  INCONSISTENT_VOTER_SET: [
    0,
    "the sender or receiver of a KRaft voter request is not among the expected voters",
  ],
  INVALID_UPDATE_VERSION: [0, "the feature update names a version that is not valid"],
  FEATURE_UPDATE_FAILED: [
    0,
    "the finalized features could not be updated because of an unexpected server error",
  ],
  PRINCIPAL_DESERIALIZATION_FAILURE: [
    0,
    "the broker could not read the principal of a forwarded request; check the cluster's security setup",
  ],
  SNAPSHOT_NOT_FOUND: [0, "the requested KRaft snapshot does not exist"],
  POSITION_OUT_OF_RANGE: [0, "the requested position lies outside the KRaft snapshot"],
  UNKNOWN_TOPIC_ID: [
    RETRY | METADATA,
    "the broker does not know this topic id: the topic may have been deleted or recreated, or metadata is stale; refresh metadata and retry",
  ],
  DUPLICATE_BROKER_REGISTRATION: [0, "another broker has already registered with this broker id"],
  BROKER_ID_NOT_REGISTERED: [0, "the broker id is not registered with the controller"],
  INCONSISTENT_TOPIC_ID: [
    RETRY | METADATA,
    "the topic id in the request differs from the one in the broker's log (the topic was recreated); refresh metadata and retry",
  ],
  INCONSISTENT_CLUSTER_ID: [0, "the cluster id in the request does not match the server's"],
  TRANSACTIONAL_ID_NOT_FOUND: [0, "there is no transaction state for this transactional id"],
  FETCH_SESSION_TOPIC_ID_ERROR: [
    RETRY,
    "the fetch session mixed requests with and without topic ids; start a new fetch session",
  ],
  INELIGIBLE_REPLICA: [
    0,
    "the proposed in-sync replica set includes a replica that may not be in it (between brokers)",
  ],
  NEW_LEADER_ELECTED: [
    0,
    "the partition state change was applied, but the leader changed meanwhile (between brokers)",
  ],
  OFFSET_MOVED_TO_TIERED_STORAGE: [
    0,
    "the requested offset is now held only in tiered (remote) storage",
  ],
  FENCED_MEMBER_EPOCH: [
    REJOIN,
    "the coordinator fenced the member's epoch (KIP-848 consumer protocol); give up all partitions and rejoin",
  ],
  UNRELEASED_INSTANCE_ID: [
    0,
    "another member still holds this group instance id; it must leave the group before this one can use it",
  ],
  UNSUPPORTED_ASSIGNOR: [
    0,
    "the group does not support the requested server-side assignor or its version",
  ],
  STALE_MEMBER_EPOCH: [
    0,
    "the member epoch is stale (KIP-848 consumer protocol); retry once a heartbeat has returned the current epoch",
  ],
  MISMATCHED_ENDPOINT_TYPE: [
    0,
    "the request went to the wrong kind of endpoint (a broker instead of a controller, or the reverse)",
  ],
  UNSUPPORTED_ENDPOINT_TYPE: [0, "the requested endpoint type is not supported yet"],
  UNKNOWN_CONTROLLER_ID: [0, "the controller id is not known"],
  UNKNOWN_SUBSCRIPTION_ID: [
    0,
    "the telemetry push used an unknown or outdated subscription id; get a new subscription",
  ],
  TELEMETRY_TOO_LARGE: [0, "the telemetry push is larger than the broker accepts"],
  INVALID_REGISTRATION: [0, "the controller considers the broker's registration not valid"],
  TRANSACTION_ABORTABLE: [
    0,
    "the transaction hit an error; abort it to go on using this transactional id",
  ],
  INVALID_RECORD_STATE: [
    0,
    "the record's delivery state does not allow this acknowledgement (share groups)",
  ],
  SHARE_SESSION_NOT_FOUND: [RETRY, "the broker no longer has this share session; open a new one"],
  INVALID_SHARE_SESSION_EPOCH: [
    RETRY,
    "the share session epoch does not match the broker's; open a new share session",
  ],
  FENCED_STATE_EPOCH: [
    0,
    "the share coordinator refused the write because the share-group state epoch did not match",
  ],
  INVALID_VOTER_KEY: [0, "the voter key does not match the receiving KRaft replica's key"],
  DUPLICATE_VOTER: [0, "the voter is already in the KRaft voter set"],
  VOTER_NOT_FOUND: [0, "the voter is not in the KRaft voter set"],
  INVALID_REGULAR_EXPRESSION: [
    0,
    "the subscription's regular expression is not valid for the broker (RE2/J syntax)",
  ],
  REBOOTSTRAP_REQUIRED: [
    METADATA,
    "the client's cluster metadata is too stale to repair; start again from the bootstrap brokers",
  ],
  STREAMS_INVALID_TOPOLOGY: [0, "the Kafka Streams topology sent to the group is not valid"],
  STREAMS_INVALID_TOPOLOGY_EPOCH: [0, "the Kafka Streams topology epoch is not valid"],
  STREAMS_TOPOLOGY_FENCED: [0, "the Kafka Streams topology epoch is older than the group's"],
  SHARE_SESSION_LIMIT_REACHED: [
    RETRY,
    "the broker has as many share sessions as it allows; back off and retry",
  ],
  GROUP_DELETION_FAILED: [
    0,
    "the group could not be deleted; its per-group error message says why",
  ],
  STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED: [
    0,
    "the Kafka Streams group's topology description could not be updated",
  ],
  CONTROLLER_ID_NOT_REGISTERED: [0, "the controller id is not registered in the KRaft quorum"],
};

/**
 * Every error code Kafka defines, in code order (-1 first), one frozen
 * {@linkcode ErrorInfo} each.
 *
 * @example List the codes a client may retry
 * ```ts
 * import { ERROR_TABLE } from "@sluice/kafka";
 * const retriable = ERROR_TABLE.filter((e) => e.retriable).map((e) => e.name);
 * retriable.includes("NOT_COORDINATOR"); // true
 * ```
 */
export const ERROR_TABLE: readonly ErrorInfo[] = Object.freeze(
  (Object.entries(ErrorCode) as [ErrorName, number][]).map(([name, code]): ErrorInfo => {
    const [flags, description] = DETAILS[name];
    return Object.freeze({
      code,
      name,
      retriable: (flags & RETRY) !== 0,
      refreshMetadata: (flags & METADATA) !== 0,
      findCoordinator: (flags & COORDINATOR) !== 0,
      rejoin: (flags & REJOIN) !== 0,
      description,
    });
  }),
);

// Codes run densely from -1 upwards, so an array indexed by code + 1 is the lookup.
const BY_CODE: (ErrorInfo | undefined)[] = [];
for (const info of ERROR_TABLE) BY_CODE[info.code + 1] = info;

/**
 * What sluice knows about an error code: Kafka's name, whether it is
 * retriable, what to do before retrying, and a one-line description. Never
 * throws: a code missing from the table (from a newer broker, or garbage)
 * gets a synthetic, non-retriable entry named `UNKNOWN_ERROR_CODE_<code>`.
 *
 * @param code The int16 error code from a response.
 * @returns The table entry, or the synthetic entry for an unknown code.
 *
 * @example
 * ```ts
 * import { errorInfo } from "@sluice/kafka";
 * errorInfo(27).rejoin; // true (REBALANCE_IN_PROGRESS)
 * errorInfo(999).name; // "UNKNOWN_ERROR_CODE_999"
 * ```
 */
export function errorInfo(code: number): ErrorInfo {
  return BY_CODE[code + 1] ?? unknownCode(code);
}

/**
 * Kafka's name for an error code, e.g. `errorName(6)` is
 * `"NOT_LEADER_OR_FOLLOWER"`; `"UNKNOWN_ERROR_CODE_<code>"` for a code not in
 * the table.
 *
 * @param code The int16 error code from a response.
 * @returns Kafka's enum name for the code.
 *
 * @example
 * ```ts
 * import { errorName } from "@sluice/kafka";
 * errorName(16); // "NOT_COORDINATOR"
 * ```
 */
export function errorName(code: number): ErrorName | UnknownErrorName {
  return errorInfo(code).name;
}

function unknownCode(code: number): ErrorInfo {
  return Object.freeze({
    code,
    name: `UNKNOWN_ERROR_CODE_${code}` as const,
    retriable: false,
    refreshMetadata: false,
    findCoordinator: false,
    rejoin: false,
    description:
      `the broker returned error code ${code}, which this client does not know (a newer broker?); see Kafka's protocol error codes`,
  });
}
