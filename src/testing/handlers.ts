/**
 * Request handlers of the embedded cluster, one per API it implements, each
 * built by api_handler.ts with the versions it serves. Requests
 * and responses are the objects of the protocol layer's declarations; the
 * broker decodes and encodes them with the same codec the client uses.
 *
 * @module
 */

import { CreateTopicsApi, type CreateTopicsRequest } from "../protocol/messages/create_topics.ts";
import { DeleteTopicsApi, type DeleteTopicsRequest } from "../protocol/messages/delete_topics.ts";
import { FetchApi, type FetchRequest } from "../protocol/messages/fetch.ts";
import {
  LIST_OFFSETS_TIMESTAMP_SINCE,
  ListOffsetsTimestamp,
} from "../protocol/list_offsets_timestamps.ts";
import { ApiVersionsApi, type ApiVersionsRequest } from "../protocol/messages/api_versions.ts";
import {
  InitProducerIdApi,
  type InitProducerIdRequest,
} from "../protocol/messages/init_producer_id.ts";
import { ListOffsetsApi, type ListOffsetsRequest } from "../protocol/messages/list_offsets.ts";
import {
  OffsetForLeaderEpochApi,
  type OffsetForLeaderEpochRequest,
} from "../protocol/messages/offset_for_leader_epoch.ts";
import { MetadataApi, type MetadataRequest } from "../protocol/messages/metadata.ts";
import { ProduceApi, type ProduceRequest } from "../protocol/messages/produce.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { ZERO_UUID } from "../protocol/reader.ts";
import { concatBytes } from "../util/bytes.ts";
import { fieldSince, type VersionRange } from "../protocol/schema.ts";
import { type Handler, handler, type RequestContext } from "./api_handler.ts";
import { CONSUMER_GROUP_HANDLERS } from "./consumer_group_handlers.ts";
import { GROUP_HANDLERS } from "./group_handlers.ts";
import { InvalidBatchError, type PartitionLog } from "./partition_log.ts";
import { type ClusterState, type PartitionState, TopicError, type TopicState } from "./state.ts";

/** API key of ApiVersions. */
export const API_VERSIONS_KEY: number = ApiVersionsApi.apiKey;

const {
  NONE,
  OFFSET_OUT_OF_RANGE,
  UNKNOWN_TOPIC_OR_PARTITION,
  NOT_LEADER_OR_FOLLOWER,
  INVALID_REQUIRED_ACKS,
  NOT_CONTROLLER,
  INVALID_REQUEST,
  UNSUPPORTED_VERSION,
  FENCED_LEADER_EPOCH,
  UNKNOWN_LEADER_EPOCH,
  UNKNOWN_TOPIC_ID,
  REBOOTSTRAP_REQUIRED,
} = ErrorCode;

// ---------------------------------------------------------------------------
// ApiVersions

/** The range ApiVersions lists for `h`: narrowed by the cluster's option, else what it serves. */
export function advertisedVersions(h: Handler, state: ClusterState): VersionRange {
  return state.advertised.get(h.api.apiKey) ?? h.versions;
}

/**
 * KIP-1242 (v5): a client that names the cluster and node it means to reach
 * learns when this broker is another one. As Kafka 4.4.0 answers (checked
 * against a real broker): neither given (null, -1) is no check; only one of
 * them given is INVALID_REQUEST; both given and either differs is
 * REBOOTSTRAP_REQUIRED. An error answer lists no APIs.
 */
function expectedBrokerError(req: ApiVersionsRequest, ctx: RequestContext): number {
  const clusterId = req.clusterId ?? null;
  const nodeId = req.nodeId ?? -1;
  if (clusterId === null && nodeId === -1) return NONE;
  if (clusterId === null || nodeId === -1) return INVALID_REQUEST;
  if (clusterId !== ctx.state.clusterId || nodeId !== ctx.nodeId) return REBOOTSTRAP_REQUIRED;
  return NONE;
}

const apiVersions = handler(ApiVersionsApi, (req: ApiVersionsRequest, ctx) => {
  const errorCode = expectedBrokerError(req, ctx);
  return {
    errorCode,
    apiKeys: errorCode !== NONE ? [] : [...HANDLERS.values()].map((h) => {
      const range = advertisedVersions(h, ctx.state);
      return { apiKey: h.api.apiKey, minVersion: range.min, maxVersion: range.max };
    }).sort((a, b) => a.apiKey - b.apiKey),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
});

// ---------------------------------------------------------------------------
// Metadata

function metadataTopic(t: TopicState, version: number): object {
  return {
    errorCode: NONE,
    name: t.name,
    topicId: t.id,
    isInternal: false,
    partitions: t.partitions.map((p) => ({
      errorCode: NONE,
      partitionIndex: p.index,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: p.replicas,
      isrNodes: p.isr,
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: version >= 8 ? -2147483648 : 0,
  };
}

const metadata = handler(MetadataApi, (req: MetadataRequest, ctx) => {
  const { state, version } = ctx;
  const topics: object[] = [];
  const all = req.topics === null || req.topics === undefined ||
    (version === 0 && req.topics.length === 0);
  if (all) {
    for (const t of state.topics.values()) topics.push(metadataTopic(t, version));
  } else {
    for (const want of req.topics ?? []) {
      if (want.name === null || want.name === undefined) {
        const t = want.topicId ? state.topicsById.get(want.topicId) : undefined;
        if (t) topics.push(metadataTopic(t, version));
        else {
          topics.push({
            errorCode: UNKNOWN_TOPIC_ID,
            name: null,
            topicId: want.topicId ?? ZERO_UUID,
            partitions: [],
          });
        }
        continue;
      }
      let t = state.topics.get(want.name);
      let errorCode: number = UNKNOWN_TOPIC_OR_PARTITION;
      if (!t && (req.allowAutoTopicCreation ?? true) && state.autoCreateTopics) {
        try {
          t = state.createTopic(want.name, {});
        } catch (e) {
          if (e instanceof TopicError) errorCode = e.errorCode;
          else throw e;
        }
      }
      if (t) topics.push(metadataTopic(t, version));
      else topics.push({ errorCode, name: want.name, topicId: ZERO_UUID, partitions: [] });
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: state.brokers.filter((b) => !state.stopped.has(b.nodeId))
      .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
    clusterId: state.clusterId,
    controllerId: state.controllerId,
    topics,
    clusterAuthorizedOperations: -2147483648,
    errorCode: NONE,
  };
});

// ---------------------------------------------------------------------------
// CreateTopics / DeleteTopics

const createTopics = handler(CreateTopicsApi, (req: CreateTopicsRequest, ctx) => {
  const { state } = ctx;
  const notController = ctx.nodeId !== state.controllerId;
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
      if (notController) {
        return { name: t.name, errorCode: NOT_CONTROLLER, errorMessage: null, configs: null };
      }
      try {
        const assignments = new Map<number, readonly number[]>();
        for (const a of t.assignments) assignments.set(a.partitionIndex, a.brokerIds);
        const configs: Record<string, string> = {};
        for (const c of t.configs) if (c.value != null) configs[c.name] = c.value;
        const created = state.createTopic(t.name, {
          partitions: t.numPartitions,
          replicationFactor: t.replicationFactor,
          assignments,
          configs,
        }, req.validateOnly ?? false);
        return {
          name: t.name,
          topicId: created.id,
          errorCode: NONE,
          errorMessage: null,
          numPartitions: created.partitions.length,
          replicationFactor: created.partitions[0].replicas.length,
          configs: [],
        };
      } catch (e) {
        if (!(e instanceof TopicError)) throw e;
        return { name: t.name, errorCode: e.errorCode, errorMessage: e.message, configs: null };
      }
    }),
  };
});

const deleteTopics = handler(DeleteTopicsApi, (req: DeleteTopicsRequest, ctx) => {
  const { state, version } = ctx;
  const wanted = version >= 6
    ? (req.topics ?? []).map((t) => ({ name: t.name ?? null, topicId: t.topicId ?? ZERO_UUID }))
    : (req.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
  return {
    throttleTimeMs: 0,
    responses: wanted.map((w) => {
      if (ctx.nodeId !== state.controllerId) {
        return { name: w.name, topicId: w.topicId, errorCode: NOT_CONTROLLER };
      }
      const t = w.name !== null ? state.topics.get(w.name) : state.topicsById.get(w.topicId);
      if (!t) {
        return {
          name: w.name,
          topicId: w.topicId,
          errorCode: w.name !== null ? UNKNOWN_TOPIC_OR_PARTITION : UNKNOWN_TOPIC_ID,
        };
      }
      state.deleteTopic(t.name);
      return { name: t.name, topicId: t.id, errorCode: NONE, errorMessage: null };
    }),
  };
});

// ---------------------------------------------------------------------------
// InitProducerId

const initProducerId = handler(InitProducerIdApi, (req: InitProducerIdRequest, ctx) => {
  // TODO(step 3): transactional ids belong to a transaction coordinator
  // (FindCoordinator with key type 1); this hands out ids without one.
  // The request's producerId/producerEpoch (v3+, KIP-360) are not used:
  // without a transactional id Kafka ignores them too and hands out a fresh
  // id (see ClusterState.initProducerId); with one, Kafka's coordinator
  // would check them against its state, which this one does not keep.
  const r = ctx.state.initProducerId(req.transactionalId ?? null);
  return { throttleTimeMs: 0, ...r };
});

// ---------------------------------------------------------------------------
// Produce

function leaderCheck(
  p: PartitionState,
  nodeId: number,
  currentLeaderEpoch: number | undefined,
): number {
  if (p.leader !== nodeId) return NOT_LEADER_OR_FOLLOWER;
  if (currentLeaderEpoch !== undefined && currentLeaderEpoch >= 0) {
    if (currentLeaderEpoch < p.leaderEpoch) return FENCED_LEADER_EPOCH;
    if (currentLeaderEpoch > p.leaderEpoch) return UNKNOWN_LEADER_EPOCH;
  }
  return NONE;
}

/**
 * Null when `nodeId` leads `p` (at the epoch the client names, if any); else
 * the error fields of a Produce or Fetch answer, with the leader to go to
 * (KIP-951), whose node is added to `leaders` for the response's endpoints.
 */
function notLeading(
  p: PartitionState,
  nodeId: number,
  currentLeaderEpoch: number | undefined,
  leaders: Set<number>,
): { errorCode: number; currentLeader: { leaderId: number; leaderEpoch: number } } | null {
  const errorCode = leaderCheck(p, nodeId, currentLeaderEpoch);
  if (errorCode === NONE) return null;
  leaders.add(p.leader);
  return { errorCode, currentLeader: { leaderId: p.leader, leaderEpoch: p.leaderEpoch } };
}

/** The topic a Produce or Fetch entry names: by id from the version that sends ids, else by name. */
function namedTopic(
  state: ClusterState,
  byId: boolean,
  entry: { topicId?: string; name?: string },
): TopicState | undefined {
  return byId ? state.topicsById.get(entry.topicId ?? ZERO_UUID) : state.topics.get(entry.name!);
}

function nodeEndpoints(state: ClusterState, ids: Set<number>): object[] {
  return state.brokers.filter((b) => ids.has(b.nodeId)).map((b) => ({
    nodeId: b.nodeId,
    host: b.host,
    port: b.port,
    rack: null,
  }));
}

const PRODUCE_TOPIC_IDS_SINCE = fieldSince(ProduceApi.request, ["topicData", "topicId"]);
const FETCH_TOPIC_IDS_SINCE = fieldSince(FetchApi.request, ["topics", "topicId"]);

const produce = handler(ProduceApi, (req: ProduceRequest, ctx) => {
  const { state, version, nodeId } = ctx;
  const byId = version >= PRODUCE_TOPIC_IDS_SINCE;
  const leaders = new Set<number>();
  const responses = req.topicData.map((td) => {
    const topic = namedTopic(state, byId, td);
    return {
      name: td.name,
      topicId: td.topicId,
      partitionResponses: td.partitionData.map((pd) => {
        const base = {
          index: pd.index,
          baseOffset: -1n,
          logAppendTimeMs: -1n,
          logStartOffset: -1n,
          recordErrors: [],
          errorMessage: null,
        };
        const p = topic?.partitions[pd.index];
        if (!p) {
          return { ...base, errorCode: byId ? UNKNOWN_TOPIC_ID : UNKNOWN_TOPIC_OR_PARTITION };
        }
        if (req.acks !== 0 && req.acks !== 1 && req.acks !== -1) {
          return { ...base, errorCode: INVALID_REQUIRED_ACKS };
        }
        const notLeader = notLeading(p, nodeId, undefined, leaders);
        if (notLeader !== null) return { ...base, ...notLeader };
        try {
          const r = p.log.append(pd.records ?? new Uint8Array(0), p.leaderEpoch);
          return {
            ...base,
            errorCode: NONE,
            baseOffset: r.baseOffset,
            // Kafka answers a duplicate with the cached batch's timestamp
            // here, whatever the topic's timestamp type (UnifiedLog.append).
            logAppendTimeMs: r.duplicateTimestamp ?? -1n,
            logStartOffset: p.log.logStartOffset,
          };
        } catch (e) {
          if (!(e instanceof InvalidBatchError)) throw e;
          return { ...base, errorCode: e.errorCode, errorMessage: e.message };
        }
      }),
    };
  });
  if (req.acks === 0) return null;
  return { responses, throttleTimeMs: 0, nodeEndpoints: nodeEndpoints(state, leaders) };
});

// ---------------------------------------------------------------------------
// Fetch

async function fetchHandler(req: FetchRequest, ctx: RequestContext): Promise<object> {
  const deadline = Date.now() + Math.max(0, req.maxWaitMs);
  for (;;) {
    const { response, bytes, logs, error } = fetchOnce(req, ctx);
    const wait = deadline - Date.now();
    if (error || bytes >= req.minBytes || wait <= 0 || logs.length === 0 || ctx.signal.aborted) {
      return response;
    }
    // Hold the response until one of the partitions grows, or max wait passes.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), wait);
    const onClose = () => stop.abort();
    ctx.signal.addEventListener("abort", onClose, { once: true });
    try {
      await Promise.race(logs.map((l) => l.waitForAppend(stop.signal)));
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onClose);
      stop.abort(); // releases the other waiters
    }
  }
}

function fetchOnce(
  req: FetchRequest,
  ctx: RequestContext,
): { response: object; bytes: number; logs: PartitionLog[]; error: boolean } {
  const { state, version, nodeId } = ctx;
  const byId = version >= FETCH_TOPIC_IDS_SINCE;
  const readCommitted = (req.isolationLevel ?? 0) === 1;
  let remaining = req.maxBytes ?? 0x7fffffff;
  let total = 0;
  let error = false;
  const logs: PartitionLog[] = [];
  const leaders = new Set<number>();
  const responses = req.topics.map((ft) => {
    const topic = namedTopic(state, byId, { topicId: ft.topicId, name: ft.topic });
    return {
      topic: ft.topic,
      topicId: ft.topicId,
      partitions: ft.partitions.map((fp) => {
        const base = {
          partitionIndex: fp.partition,
          highWatermark: -1n,
          lastStableOffset: -1n,
          logStartOffset: -1n,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: new Uint8Array(0),
        };
        const p = topic?.partitions[fp.partition];
        if (!p) {
          error = true;
          return { ...base, errorCode: byId ? UNKNOWN_TOPIC_ID : UNKNOWN_TOPIC_OR_PARTITION };
        }
        const notLeader = notLeading(p, nodeId, fp.currentLeaderEpoch, leaders);
        if (notLeader !== null) {
          error = true;
          return { ...base, ...notLeader };
        }
        const log = p.log;
        const lastStable = log.lastStableOffset;
        const positions = {
          highWatermark: log.highWatermark,
          lastStableOffset: lastStable,
          logStartOffset: log.logStartOffset,
          abortedTransactions: null as { producerId: bigint; firstOffset: bigint }[] | null,
        };
        // KIP-320: a follower or consumer names the epoch of the last batch
        // it fetched; when this log's history of that epoch ends before the
        // fetch offset, the fetcher's log diverged (e.g. an unclean leader
        // election truncated it): say where, return no records.
        const lastFetchedEpoch = fp.lastFetchedEpoch ?? -1;
        if (version >= 12 && lastFetchedEpoch >= 0) {
          const end = log.endOffsetForEpoch(lastFetchedEpoch);
          const known = end.epoch >= 0;
          if (known && (end.epoch < lastFetchedEpoch || end.endOffset < fp.fetchOffset)) {
            return { ...base, ...positions, errorCode: NONE, divergingEpoch: end };
          }
        }
        if (!log.inRange(fp.fetchOffset)) {
          error = true;
          return { ...base, ...positions, errorCode: OFFSET_OUT_OF_RANGE };
        }
        logs.push(log);
        const limit = Math.min(fp.partitionMaxBytes, remaining);
        // KIP-74: the first partition with data returns at least one batch
        // even when it exceeds the limits, so that a consumer never stalls.
        const upTo = readCommitted ? lastStable : undefined;
        const read = limit > 0 || total === 0
          ? log.read(fp.fetchOffset, Math.max(0, limit), total === 0 || limit > 0, upTo)
          : { batches: [], size: 0 };
        if (readCommitted) {
          const end = read.batches.length > 0
            ? read.batches[read.batches.length - 1].lastOffset + 1n
            : fp.fetchOffset;
          positions.abortedTransactions = log.abortedTransactions(fp.fetchOffset, end)
            .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
        }
        // One batch (the usual answer) goes out as stored, without a copy.
        const records = concatBytes(read.batches.map((b) => b.bytes));
        remaining = Math.max(0, remaining - read.size);
        total += read.size;
        return { ...base, ...positions, errorCode: NONE, records };
      }),
    };
  });
  return {
    response: {
      throttleTimeMs: 0,
      errorCode: NONE,
      sessionId: 0, // no fetch sessions: clients fall back to full fetches
      responses,
      nodeEndpoints: nodeEndpoints(state, leaders),
    },
    bytes: total,
    logs,
    error,
  };
}

const fetch = handler(FetchApi, fetchHandler);

// ---------------------------------------------------------------------------
// ListOffsets

const {
  EARLIEST,
  LATEST,
  MAX_TIMESTAMP,
  EARLIEST_LOCAL,
  LATEST_TIERED,
  EARLIEST_PENDING_UPLOAD,
} = ListOffsetsTimestamp;
const SPECIAL_TIMESTAMP_SINCE = LIST_OFFSETS_TIMESTAMP_SINCE;

const listOffsets = handler(ListOffsetsApi, (req: ListOffsetsRequest, ctx) => {
  const { state, nodeId, version } = ctx;
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((lt) => {
      const topic = state.topics.get(lt.name);
      return {
        name: lt.name,
        partitions: lt.partitions.map((lp) => {
          const base = { partitionIndex: lp.partitionIndex, timestamp: -1n, offset: -1n };
          const since = SPECIAL_TIMESTAMP_SINCE.get(lp.timestamp);
          if (since !== undefined && version < since) {
            return { ...base, errorCode: UNSUPPORTED_VERSION, leaderEpoch: -1 };
          }
          const p = topic?.partitions[lp.partitionIndex];
          if (!p) return { ...base, errorCode: UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1 };
          const err = leaderCheck(p, nodeId, lp.currentLeaderEpoch);
          if (err !== NONE) return { ...base, errorCode: err, leaderEpoch: -1 };
          const log = p.log;
          const ok = { ...base, errorCode: NONE, leaderEpoch: p.leaderEpoch };
          // Nothing found: Kafka 4.4.0 names no epoch either.
          const none = { ...base, errorCode: NONE, leaderEpoch: -1 };
          switch (lp.timestamp) {
            case EARLIEST:
            case EARLIEST_LOCAL: // all of the log is local
              return { ...ok, offset: log.logStartOffset };
            case LATEST:
              return {
                ...ok,
                offset: req.isolationLevel === 1 ? log.lastStableOffset : log.highWatermark,
              };
            case LATEST_TIERED:
            case EARLIEST_PENDING_UPLOAD:
              // No tiered storage: nothing was uploaded or waits for upload.
              // Kafka 4.4.0 then answers no offset and no epoch, without error.
              return none;
            case MAX_TIMESTAMP: {
              const m = log.maxTimestamp();
              return m ? { ...ok, offset: m.offset, timestamp: m.timestamp } : none;
            }
            default: {
              const found = log.offsetForTimestamp(lp.timestamp);
              return found ? { ...ok, offset: found.offset, timestamp: found.timestamp } : none;
            }
          }
        }),
      };
    }),
  };
});

// ---------------------------------------------------------------------------
// OffsetForLeaderEpoch

/**
 * The end offset of `epoch` in `p`'s history, as Kafka's leader epoch cache
 * answers it: the leader's own epoch ends at the log end; an older epoch ends
 * where the next epoch starts, and is reported as the largest epoch at or
 * below it (or itself, when it is older than the whole history); an epoch
 * newer than the leader's is unknown (-1, -1). The history is the epochs of
 * the stored batches plus the leader's current epoch, which starts at the log
 * end when no batch carries it yet.
 */
function epochEndOffset(
  p: PartitionState,
  epoch: number,
): { leaderEpoch: number; endOffset: bigint } {
  const undefinedEpoch = { leaderEpoch: -1, endOffset: -1n };
  if (epoch < 0) return undefinedEpoch;
  if (epoch === p.leaderEpoch) return { leaderEpoch: epoch, endOffset: p.log.logEndOffset };
  let floor = -1;
  for (const b of p.log.batches) {
    if (b.leaderEpoch > epoch) {
      return { leaderEpoch: floor < 0 ? epoch : floor, endOffset: b.baseOffset };
    }
    floor = b.leaderEpoch;
  }
  // No batch of a later epoch: the current epoch (if later) starts at the log end.
  if (p.leaderEpoch > epoch) {
    return { leaderEpoch: floor < 0 ? epoch : floor, endOffset: p.log.logEndOffset };
  }
  return undefinedEpoch;
}

const offsetForLeaderEpoch = handler(
  OffsetForLeaderEpochApi,
  (req: OffsetForLeaderEpochRequest, ctx) => ({
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
      const topic = ctx.state.topics.get(t.topic);
      return {
        topic: t.topic,
        partitions: t.partitions.map((tp) => {
          const base = { partition: tp.partition, leaderEpoch: -1, endOffset: -1n };
          const p = topic?.partitions[tp.partition];
          if (!p) return { ...base, errorCode: UNKNOWN_TOPIC_OR_PARTITION };
          const err = leaderCheck(p, ctx.nodeId, tp.currentLeaderEpoch);
          if (err !== NONE) return { ...base, errorCode: err };
          return { ...base, errorCode: NONE, ...epochEndOffset(p, tp.leaderEpoch) };
        }),
      };
    }),
  }),
);

// ---------------------------------------------------------------------------

/** Every API the embedded cluster serves, by API key. */
export const HANDLERS: ReadonlyMap<number, Handler> = new Map<number, Handler>(
  [
    produce,
    fetch,
    listOffsets,
    metadata,
    offsetForLeaderEpoch,
    apiVersions,
    createTopics,
    deleteTopics,
    initProducerId,
    ...GROUP_HANDLERS,
    ...CONSUMER_GROUP_HANDLERS,
  ].map((h) => [h.api.apiKey, h]),
);
