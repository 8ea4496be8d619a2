/**
 * Golden bytes: frames captured from a real Kafka 4.4.0 broker and from
 * Kafka's own Java client (4.4.0: classic and KIP-848 console consumers,
 * admin tools) by `scripts/capture_golden.ts`, stored in
 * `tests/testdata/golden/` (no broker needed here).
 *
 * For every captured response: decode it with our codec, check values known
 * from the capture, and re-encode the decoded object at the same version: the
 * bytes must be the broker's, which proves the decoder read every field and
 * tagged field the broker wrote, in the right order and widths.
 *
 * For every captured request (Java's and ours): decode the header and body
 * as a broker would, re-encode with `encodeRequest`, and require the sender's
 * bytes. Java's JoinGroup metadata and SyncGroup assignments must decode with
 * our consumer protocol.
 *
 * Versions new in Kafka 4.2-4.4 are covered from both sides: ApiVersions v5
 * (KIP-1242 cluster/node check, REBOOTSTRAP_REQUIRED), OffsetCommit and
 * OffsetFetch v10 (topic ids; UNKNOWN_TOPIC_ID), ListOffsets v11, DeleteGroups
 * v3. OffsetCommit/OffsetFetch v9 (topic names) stay captured from the same
 * broker: our fallback when a topic id is unknown, and what Java 4.4's classic
 * consumer and admin client still send.
 *
 * @module
 */

import assert from "node:assert/strict";
import { compile, encodeMessage } from "../src/protocol/codec.ts";
import { decodeAssignment, decodeSubscription } from "../src/protocol/consumer_protocol.ts";
import { ErrorCode } from "../src/protocol/error_codes.ts";
import { decodeRequestHeader, decodeResponse, encodeRequest } from "../src/protocol/frame.ts";
import type {
  ApiVersionsRequest,
  CreateTopicsResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsResponse,
  FetchRequest,
  FetchResponse,
  FindCoordinatorResponse,
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  SyncGroupRequest,
  SyncGroupResponse,
} from "../src/protocol/messages/mod.ts";
import type { ApiVersionsResponse } from "../src/protocol/messages/api_versions.ts";
import { Reader, ZERO_UUID } from "../src/protocol/reader.ts";
import { decodeRecordBatches } from "../src/protocol/wire_batch.ts";
import { inRange, type MessageSchema, parseVersions } from "../src/protocol/schema.ts";
import { API_BY_KEY } from "../src/protocol/apis.ts";
import type { Entry } from "../scripts/capture_golden.ts";

// ---------------------------------------------------------------------------
// Fixtures

const DIR = new URL("./testdata/golden/", import.meta.url);

interface ProducedRecord {
  offset: number;
  key: string;
  value: string;
  headers: { key: string; value: string }[];
}

interface GoldenIndex {
  kafkaVersion: string;
  bootstrap: { host: string; port: number };
  topic: string;
  topic3: string;
  group: string;
  offsetsGroup: string;
  javaGroup: string;
  javaKip848Group: string;
  topicIds: Record<string, string>;
  unknownTopicId: string;
  /** The broker's newest version of each API we declare (its ApiVersions v5 answer). */
  maxVersions: Record<string, number>;
  records: ProducedRecord[];
  clusterId: string;
  nodeId: number;
  firstFindCoordinatorError: number;
  member: { memberId: string; generationId: number };
  broker: Entry[];
  java: Entry[];
}

const index: GoldenIndex = JSON.parse(Deno.readTextFileSync(new URL("index.json", DIR)));
const fixture = (file: string) => Deno.readFileSync(new URL(file, DIR));
const text = new TextDecoder();

function entry(name: string): Entry {
  const e = [...index.broker, ...index.java].find((x) => x.name === name);
  if (!e) throw new Error(`no fixture ${name} in index.json`);
  return e;
}

// ---------------------------------------------------------------------------
// Helpers

/** Asserts equal bytes, naming the first difference and its surroundings. */
function assertSameBytes(ours: Uint8Array, theirs: Uint8Array, what: string): void {
  const n = Math.min(ours.length, theirs.length);
  let at = 0;
  while (at < n && ours[at] === theirs[at]) at++;
  if (at === n && ours.length === theirs.length) return;
  const hex = (b: Uint8Array) =>
    Array.from(b.subarray(Math.max(0, at - 8), at + 16), (x) => x.toString(16).padStart(2, "0"))
      .join(" ");
  assert.fail(
    `${what}: bytes differ at offset ${at} (ours ${ours.length} bytes, theirs ${theirs.length})\n` +
      `  ours:   …${hex(ours)}\n  theirs: …${hex(theirs)}`,
  );
}

/** Whether `schema` at `version` uses the flexible encoding. */
function flexible(schema: MessageSchema, version: number): boolean {
  return inRange(parseVersions(schema.flexibleVersions), version);
}

/**
 * Re-encodes a decoded message and compares with the captured bytes: equal
 * bytes prove the decoder read every field (tagged ones included) and the
 * encoder writes what Kafka writes, defaults omitted where Kafka omits them.
 */
function assertReencodes(
  what: string,
  captured: Uint8Array,
  encode: (value: Record<string, unknown>) => Uint8Array,
  decoded: Record<string, unknown>,
): void {
  assertSameBytes(encode(decoded), captured, what);
}

/** Splits a response frame: correlation id, header tagged fields, body. */
function splitResponse(e: Entry, frame: Uint8Array) {
  const api = API_BY_KEY.get(e.apiKey)!;
  const r = new Reader(frame);
  const correlationId = r.int32();
  // Response header v1 for flexible versions, except ApiVersions (always v0).
  const headerFlexible = e.apiKey !== 18 && flexible(api.response, e.version);
  let headerTags = 0;
  if (headerFlexible) headerTags = r.uvarint();
  return { api, correlationId, headerFlexible, headerTags, body: frame.subarray(r.pos) };
}

/** Decodes a captured response body, checking every byte was read. */
function decodeBody(e: Entry): {
  decoded: Record<string, unknown>;
  frame: Uint8Array;
  body: Uint8Array;
} {
  const frame = fixture(e.response!);
  const { api, body } = splitResponse(e, frame);
  const r = new Reader(body);
  const decoded = compile(api.response, e.version).decode(r);
  assert.equal(r.remaining, 0, `${e.name}: ${r.remaining} bytes left after the response body`);
  return { decoded, frame, body };
}

function response<T>(name: string): T {
  const e = entry(name);
  return decodeResponse(API_BY_KEY.get(e.apiKey)!, e.version, fixture(e.response!)) as T;
}

function request<T>(name: string): T {
  const e = entry(name);
  const h = decodeRequestHeader(fixture(e.request));
  const schema = API_BY_KEY.get(h.apiKey)!.request;
  if (flexible(schema, h.apiVersion)) h.reader.uvarint();
  return compile(schema, h.apiVersion).decode(h.reader) as T;
}

const byName = <T extends { name: string | null }>(list: T[], name: string): T => {
  const found = list.find((x) => x.name === name);
  assert.ok(found, `no ${name} in ${JSON.stringify(list.map((x) => x.name))}`);
  return found;
};

const MIN_INT32 = -2147483648;

/** Checks the decoded records of a partition against what was produced. */
function assertRecords(records: Uint8Array | null, from: number, what: string): void {
  assert.ok(records, `${what}: no records`);
  const got = decodeRecordBatches(records, {
    topic: index.topic,
    partition: 0,
    fromOffset: BigInt(from),
  });
  const expected = index.records.filter((r) => r.offset >= from);
  assert.equal(got.records.length, expected.length, `${what}: record count`);
  assert.equal(got.nextOffset, BigInt(index.records.length));
  assert.equal(got.truncated, false);
  got.records.forEach((rec, i) => {
    const want = expected[i];
    assert.equal(rec.offset, BigInt(want.offset));
    assert.equal(text.decode(rec.key!), want.key);
    assert.equal(text.decode(rec.value!), want.value);
    assert.deepEqual(
      rec.headers.map((h) => ({ key: h.key, value: text.decode(h.value!) })),
      want.headers,
    );
    assert.ok(rec.timestamp > 1.7e12, `${what}: timestamp ${rec.timestamp}`);
  });
}

// ---------------------------------------------------------------------------
// Coverage of the capture

Deno.test("golden fixtures cover the APIs and versions asked for", () => {
  const names = new Set([...index.broker, ...index.java].map((e) => e.name));
  for (
    const name of [
      "api_versions_v5",
      "api_versions_v5_checked",
      "api_versions_v5_wrong_node",
      "api_versions_v5_wrong_cluster",
      "api_versions_v4",
      "api_versions_v3",
      "metadata_v13",
      "metadata_v9",
      "metadata_v4",
      "find_coordinator_v6",
      "list_offsets_v11",
      "fetch_v18",
      "fetch_v12",
      "fetch_v4",
      "offset_fetch_v10",
      "offset_fetch_v10_unknown_topic_id",
      "offset_fetch_v9",
      "offset_commit_v10",
      "offset_commit_v10_unknown_topic_id",
      "offset_commit_v9",
      "delete_groups_v3",
      "delete_groups_v3_errors",
      "describe_groups_v5",
      "describe_groups_v6",
      "join_group_v9_member_id_required",
      "heartbeat_v4_unknown_member",
      "create_topics_v7",
    ]
  ) {
    assert.ok(names.has(name), `missing broker capture ${name}`);
  }
  const javaApis = new Set(index.java.map((e) => e.api));
  for (
    const api of [
      "ApiVersions",
      "Metadata",
      "FindCoordinator",
      "JoinGroup",
      "SyncGroup",
      "Heartbeat",
      "OffsetFetch",
      "Fetch",
      "ListOffsets",
      "OffsetCommit",
      "LeaveGroup",
      "DeleteGroups",
      "DescribeGroups",
    ]
  ) {
    assert.ok(javaApis.has(api), `missing Java request ${api}`);
  }
  // The versions Java 4.4 sends for the APIs that changed: v10 by topic id
  // from the KIP-848 consumer, v9 by name from the classic one and admin.
  const javaVersions = new Set(index.java.map((e) => `${e.api} v${e.version}`));
  for (
    const v of [
      "ApiVersions v5",
      "OffsetCommit v10",
      "OffsetFetch v10",
      "OffsetCommit v9",
      "OffsetFetch v9",
      "ListOffsets v11",
      "DeleteGroups v3",
    ]
  ) {
    assert.ok(javaVersions.has(v), `missing Java request ${v}`);
  }
  assert.equal(index.kafkaVersion, "4.4.0");
  for (const e of [...index.broker, ...index.java]) {
    for (const file of [e.request, e.response]) {
      if (file === null) continue;
      const size = Deno.statSync(new URL(file, DIR)).size;
      assert.ok(size < 4096, `${file} is ${size} bytes: keep fixtures small`);
    }
  }
});

// ---------------------------------------------------------------------------
// Every response: decode, every byte read, re-encode byte for byte

for (const e of [...index.broker, ...index.java]) {
  if (e.response === null) continue;
  Deno.test(`golden response ${e.name} (${e.api} v${e.version}) re-encodes byte for byte`, () => {
    const frame = fixture(e.response!);
    const split = splitResponse(e, frame);
    assert.equal(split.correlationId, e.correlationId);
    assert.equal(split.headerTags, 0, "the broker wrote response header tagged fields");
    const { decoded, body } = decodeBody(e);
    // frame.ts reads the same.
    assert.deepEqual(decodeResponse(split.api, e.version, frame), decoded);
    const schema = split.api.response;
    assertReencodes(
      `${e.name} response`,
      body,
      (v) => encodeMessage(schema, e.version, v),
      decoded,
    );
  });
}

// ---------------------------------------------------------------------------
// Every request (Java's and ours): decode as a broker does, re-encode

for (const e of [...index.broker, ...index.java]) {
  Deno.test(`golden request ${e.name} (${e.api} v${e.version}) re-encodes byte for byte`, () => {
    const frame = fixture(e.request);
    const h = decodeRequestHeader(frame);
    assert.equal(h.apiKey, e.apiKey);
    assert.equal(h.apiVersion, e.version);
    assert.equal(h.correlationId, e.correlationId);
    assert.equal(h.clientId, e.clientId);
    const api = API_BY_KEY.get(h.apiKey)!;
    const schema = api.request;
    // Request header v2 (flexible requests) ends with tagged fields.
    if (flexible(schema, h.apiVersion)) {
      assert.equal(h.reader.uvarint(), 0, "request header tagged fields");
    }
    const body = compile(schema, h.apiVersion).decode(h.reader);
    assert.equal(h.reader.remaining, 0, `${h.reader.remaining} bytes left after the request`);
    assertReencodes(
      `${e.name} request`,
      frame,
      (v) => encodeRequest(api, h.apiVersion, h.correlationId, h.clientId, v).subarray(4),
      body,
    );
  });
}

// ---------------------------------------------------------------------------
// Values known from the capture: broker responses

Deno.test("golden ApiVersions v5/v4/v3/v2: the broker's ranges and features", () => {
  for (
    const name of [
      "api_versions_v5",
      "api_versions_v5_checked",
      "api_versions_v4",
      "api_versions_v3",
      "api_versions_v2",
    ]
  ) {
    const res = response<ApiVersionsResponse>(name);
    assert.equal(res.errorCode, 0);
    const range = (key: number) => res.apiKeys.find((k) => k.apiKey === key);
    assert.deepEqual(range(1), { apiKey: 1, minVersion: 4, maxVersion: 18 }, `${name} Fetch`);
    assert.deepEqual(range(3), { apiKey: 3, minVersion: 0, maxVersion: 13 }, `${name} Metadata`);
    assert.deepEqual(range(18), { apiKey: 18, minVersion: 0, maxVersion: 5 });
    // Kafka 4.2+ enables OffsetCommit/OffsetFetch v10 (topic ids).
    assert.deepEqual(
      range(8),
      { apiKey: 8, minVersion: 2, maxVersion: 10 },
      `${name} OffsetCommit`,
    );
    assert.deepEqual(range(9), { apiKey: 9, minVersion: 1, maxVersion: 10 }, `${name} OffsetFetch`);
    assert.deepEqual(range(2), { apiKey: 2, minVersion: 1, maxVersion: 11 }, `${name} ListOffsets`);
    assert.deepEqual(
      range(42),
      { apiKey: 42, minVersion: 0, maxVersion: 3 },
      `${name} DeleteGroups`,
    );
    // Our declarations (generated from 4.4.0) reach exactly the broker's
    // newest version of every API we declare: negotiation picks it.
    for (const [key, api] of API_BY_KEY) {
      const theirs = range(key);
      assert.ok(theirs, `${name}: the broker lacks ${api.name}`);
      const ours = parseVersions(api.request.validVersions);
      assert.equal(theirs.maxVersion, ours.max, `${name}: ${api.name} max`);
      assert.equal(index.maxVersions[api.name], theirs.maxVersion);
    }
    if (name === "api_versions_v2") {
      assert.deepEqual(res.supportedFeatures, []);
      assert.equal(res.finalizedFeaturesEpoch, -1n);
    } else {
      assert.ok(res.supportedFeatures.some((f) => f.name === "metadata.version"));
      assert.ok(res.finalizedFeatures.some((f) => f.name === "metadata.version"));
      assert.ok(res.finalizedFeaturesEpoch > 0n);
    }
  }
});

Deno.test("golden ApiVersions v5: the cluster id and node id check (KIP-1242)", () => {
  const bootstrap = request<ApiVersionsRequest>("api_versions_v5");
  assert.deepEqual([bootstrap.clusterId, bootstrap.nodeId], [null, -1]);
  const checked = request<ApiVersionsRequest>("api_versions_v5_checked");
  assert.deepEqual([checked.clusterId, checked.nodeId], [index.clusterId, index.nodeId]);
  // The same ranges and features whether or not the client names what it
  // expects (the finalized features epoch moved on between the two).
  const plain = response<ApiVersionsResponse>("api_versions_v5");
  const matched = response<ApiVersionsResponse>("api_versions_v5_checked");
  assert.deepEqual(matched.apiKeys, plain.apiKeys);
  assert.deepEqual(matched.finalizedFeatures, plain.finalizedFeatures);
  assert.ok(matched.finalizedFeaturesEpoch >= plain.finalizedFeaturesEpoch);
  const refused: [string, number, string | null, number][] = [
    [
      "api_versions_v5_wrong_node",
      ErrorCode.REBOOTSTRAP_REQUIRED,
      index.clusterId,
      index.nodeId + 1,
    ],
    [
      "api_versions_v5_wrong_cluster",
      ErrorCode.REBOOTSTRAP_REQUIRED,
      "golden-other-cluster00",
      index.nodeId,
    ],
    ["api_versions_v5_node_without_cluster", ErrorCode.INVALID_REQUEST, null, index.nodeId],
  ];
  for (const [name, code, clusterId, nodeId] of refused) {
    const req = request<ApiVersionsRequest>(name);
    assert.deepEqual([req.clusterId, req.nodeId], [clusterId, nodeId], name);
    const res = response<ApiVersionsResponse>(name);
    assert.equal(res.errorCode, code, name);
    // Refused: no ranges, no features (the v0 layout is only for UNSUPPORTED_VERSION).
    assert.deepEqual(res.apiKeys, [], name);
    assert.deepEqual(res.finalizedFeatures, [], name);
  }
});

Deno.test("golden CreateTopics v7: created topics with their configs; TOPIC_ALREADY_EXISTS", () => {
  const res = response<CreateTopicsResponse>("create_topics_v7");
  assert.deepEqual(res.topics.map((t) => t.name).sort(), [index.topic, index.topic3]);
  for (const t of res.topics) {
    assert.equal(t.errorCode, 0);
    assert.equal(t.errorMessage, null);
    assert.equal(t.topicId, index.topicIds[t.name]);
    assert.equal(t.numPartitions, t.name === index.topic ? 1 : 3);
    assert.equal(t.replicationFactor, 1);
    assert.ok(t.configs && t.configs.length > 20);
  }
  const three = byName(res.topics, index.topic3);
  assert.equal(byName(three.configs!, "retention.ms").value, "3600000");
  const exists = response<CreateTopicsResponse>("create_topics_v7_exists");
  assert.equal(exists.topics[0].errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.match(exists.topics[0].errorMessage ?? "", /already exists/);
  assert.equal(exists.topics[0].topicId, ZERO_UUID);
});

Deno.test("golden Metadata v13/v9/v4: broker, cluster, topics, partitions", () => {
  const versions: [string, number][] = [["metadata_v13", 13], ["metadata_v9", 9], [
    "metadata_v4",
    4,
  ]];
  for (const [name, version] of versions) {
    const res = response<MetadataResponse>(name);
    assert.deepEqual(res.brokers, [{
      nodeId: index.nodeId,
      host: index.bootstrap.host,
      port: index.bootstrap.port,
      rack: null,
    }]);
    assert.equal(res.clusterId, index.clusterId);
    assert.equal(res.controllerId, index.nodeId);
    assert.deepEqual(res.topics.map((t) => t.name).sort(), [index.topic, index.topic3]);
    for (const t of res.topics) {
      assert.equal(t.errorCode, 0);
      assert.equal(t.isInternal, false);
      assert.equal(t.topicId, version >= 10 ? index.topicIds[t.name!] : ZERO_UUID);
      assert.deepEqual(
        t.partitions.map((p) => p.partitionIndex).sort(),
        t.name === index.topic ? [0] : [0, 1, 2],
      );
      for (const p of t.partitions) {
        assert.equal(p.leaderId, index.nodeId);
        assert.equal(p.leaderEpoch, version >= 7 ? 0 : -1, "leader epochs from v7");
        assert.deepEqual(p.replicaNodes, [index.nodeId]);
        assert.deepEqual(p.isrNodes, [index.nodeId]);
        assert.deepEqual(p.offlineReplicas, []);
      }
      // v9 asked for the topic's authorized operations; the others did not.
      if (version === 9) assert.notEqual(t.topicAuthorizedOperations, MIN_INT32);
      else if (version >= 8) assert.equal(t.topicAuthorizedOperations, MIN_INT32);
    }
  }
  const missing = response<MetadataResponse>("metadata_v13_unknown_topic");
  assert.equal(missing.topics.length, 1);
  assert.equal(missing.topics[0].name, "golden-missing");
  assert.equal(missing.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

Deno.test("golden FindCoordinator v6/v3: the broker is the coordinator", () => {
  const first = response<FindCoordinatorResponse>("find_coordinator_v6_first");
  assert.equal(first.coordinators[0].errorCode, index.firstFindCoordinatorError);
  assert.equal(first.coordinators[0].nodeId, -1);
  const v6 = response<FindCoordinatorResponse>("find_coordinator_v6");
  assert.deepEqual(v6.coordinators.map((c) => c.key), [index.group, index.javaGroup]);
  for (const c of v6.coordinators) {
    assert.equal(c.errorCode, 0);
    assert.equal(c.nodeId, index.nodeId);
    assert.equal(c.host, index.bootstrap.host);
    assert.equal(c.port, index.bootstrap.port);
  }
  const v3 = response<FindCoordinatorResponse>("find_coordinator_v3");
  assert.equal(v3.errorCode, 0);
  assert.equal(v3.errorMessage, "NONE");
  assert.deepEqual([v3.nodeId, v3.host, v3.port], [
    index.nodeId,
    index.bootstrap.host,
    index.bootstrap.port,
  ]);
});

Deno.test("golden ListOffsets v11/v5: latest, earliest, max timestamp, unknown partition", () => {
  const res = response<ListOffsetsResponse>("list_offsets_v11");
  const records = byName(res.topics, index.topic).partitions;
  assert.deepEqual(records.map((p) => [p.partitionIndex, p.errorCode, p.offset]), [[
    0,
    0,
    BigInt(index.records.length),
  ]]);
  const three = byName(res.topics, index.topic3).partitions;
  const at = (i: number) => three.find((p) => p.partitionIndex === i)!;
  assert.deepEqual([at(0).errorCode, at(0).offset, at(0).leaderEpoch], [0, 0n, 0]);
  assert.deepEqual([at(1).errorCode, at(1).offset, at(1).timestamp], [0, -1n, -1n]);
  assert.equal(at(7).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const v5 = response<ListOffsetsResponse>("list_offsets_v5");
  assert.equal(v5.topics[0].partitions[0].offset, 0n);
});

Deno.test("golden Fetch v18: the console producer's records; OFFSET_OUT_OF_RANGE", () => {
  const res = response<FetchResponse>("fetch_v18");
  assert.equal(res.errorCode, 0);
  assert.equal(res.sessionId, 0);
  const records = res.responses.find((t) => t.topicId === index.topicIds[index.topic])!;
  assert.equal(records.topic, "", "v13+ names topics by id only");
  const p = records.partitions[0];
  assert.equal(p.errorCode, 0);
  assert.equal(p.highWatermark, BigInt(index.records.length));
  assert.equal(p.lastStableOffset, BigInt(index.records.length));
  assert.equal(p.logStartOffset, 0n);
  assert.equal(p.abortedTransactions, null);
  assert.equal(p.preferredReadReplica, -1);
  assertRecords(p.records, 0, "fetch_v18");
  const three = res.responses.find((t) => t.topicId === index.topicIds[index.topic3])!;
  assert.equal(three.partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  assert.equal(three.partitions[0].records?.length ?? 0, 0);
});

Deno.test("golden Fetch v18 read_committed: an empty aborted list, a new session", () => {
  const res = response<FetchResponse>("fetch_v18_read_committed");
  assert.notEqual(res.sessionId, 0);
  const p = res.responses[0].partitions[0];
  assert.deepEqual(p.abortedTransactions, []);
  assertRecords(p.records, 4, "fetch_v18_read_committed");
});

Deno.test("golden Fetch v12 (topic names) and v4 (classic encoding)", () => {
  const v12 = response<FetchResponse>("fetch_v12");
  assert.equal(v12.responses[0].topic, index.topic);
  assert.equal(v12.responses[0].topicId, ZERO_UUID);
  assertRecords(v12.responses[0].partitions[0].records, 0, "fetch_v12");
  const v4 = response<FetchResponse>("fetch_v4");
  assert.equal(v4.responses[0].topic, index.topic);
  assert.equal(v4.responses[0].partitions[0].highWatermark, BigInt(index.records.length));
  // The broker returns whole batches: the first starts before offset 2.
  assertRecords(v4.responses[0].partitions[0].records, 2, "fetch_v4");
});

Deno.test("golden JoinGroup v9: MEMBER_ID_REQUIRED, then leader with our subscription", () => {
  const first = response<JoinGroupResponse>("join_group_v9_member_id_required");
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.equal(first.memberId, index.member.memberId);
  assert.match(first.memberId, /^sluice-golden-[0-9a-f-]{36}$/);
  assert.equal(first.generationId, -1);
  assert.deepEqual(first.members, []);
  const joined = response<JoinGroupResponse>("join_group_v9");
  assert.equal(joined.errorCode, 0);
  assert.equal(joined.generationId, index.member.generationId);
  assert.equal(joined.leader, index.member.memberId);
  assert.equal(joined.memberId, index.member.memberId);
  assert.equal(joined.protocolType, "consumer");
  assert.equal(joined.protocolName, "range");
  assert.equal(joined.members.length, 1);
  const sub = decodeSubscription(joined.members[0].metadata);
  assert.deepEqual(sub.topics, [index.topic, index.topic3]);
  assert.equal(sub.version, 3);
});

Deno.test("golden SyncGroup, Heartbeat, DescribeGroups, OffsetCommit, LeaveGroup", () => {
  const sync = response<SyncGroupResponse>("sync_group_v5");
  assert.equal(sync.errorCode, 0);
  assert.deepEqual([sync.protocolType, sync.protocolName], ["consumer", "range"]);
  assert.deepEqual(decodeAssignment(sync.assignment).assignedPartitions, [
    { topic: index.topic, partitions: [0] },
    { topic: index.topic3, partitions: [0, 1, 2] },
  ]);
  assert.equal(response<{ errorCode: number }>("heartbeat_v4").errorCode, 0);
  assert.equal(
    response<{ errorCode: number }>("heartbeat_v4_unknown_member").errorCode,
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  assert.equal(
    response<{ errorCode: number }>("heartbeat_v4_illegal_generation").errorCode,
    ErrorCode.ILLEGAL_GENERATION,
  );

  const stable = response<DescribeGroupsResponse>("describe_groups_v5").groups[0];
  assert.deepEqual(
    [stable.errorCode, stable.groupId, stable.groupState, stable.protocolType, stable.protocolData],
    [0, index.group, "Stable", "consumer", "range"],
  );
  assert.notEqual(stable.authorizedOperations, MIN_INT32);
  assert.equal(stable.members.length, 1);
  const m = stable.members[0];
  assert.deepEqual([m.memberId, m.clientId, m.groupInstanceId], [
    index.member.memberId,
    "sluice-golden",
    null,
  ]);
  assert.deepEqual(decodeSubscription(m.memberMetadata).topics, [index.topic, index.topic3]);
  assert.equal(decodeAssignment(m.memberAssignment).assignedPartitions.length, 2);

  const byName9 = response<OffsetCommitResponse>("offset_commit_v9");
  assert.deepEqual(byName9.topics.map((t) => [t.name, t.topicId, t.partitions]), [[
    index.topic3,
    ZERO_UUID,
    [{ partitionIndex: 2, errorCode: 0 }],
  ]]);
  const generation = response<OffsetCommitResponse>("offset_commit_v8_generation");
  assert.deepEqual(generation.topics.map((t) => [t.name, t.partitions]), [[index.topic, [{
    partitionIndex: 0,
    errorCode: 0,
  }]]]);
  const leave = response<LeaveGroupResponse>("leave_group_v5");
  assert.equal(leave.errorCode, 0);
  assert.deepEqual(leave.members.map((x) => [x.memberId, x.errorCode]), [[
    index.member.memberId,
    0,
  ]]);
});

/** The topic ids of the Metadata v13 answer, by topic name. */
function metadataTopicIds(): Map<string, string> {
  const md = response<MetadataResponse>("metadata_v13");
  return new Map(md.topics.map((t) => [t.name!, t.topicId]));
}

Deno.test("golden OffsetCommit v10: by the topic ids Metadata gave; UNKNOWN_TOPIC_ID", () => {
  const ids = metadataTopicIds();
  const req = request<OffsetCommitRequest>("offset_commit_v10");
  assert.deepEqual(req.topics.map((t) => t.topicId), [ids.get(index.topic), ids.get(index.topic3)]);
  const res = response<OffsetCommitResponse>("offset_commit_v10");
  // v10 names topics by id only: the name field is absent (its default "").
  assert.deepEqual(res.topics.map((t) => [t.topicId, t.name, t.partitions]), [
    [ids.get(index.topic), "", [{ partitionIndex: 0, errorCode: 0 }]],
    [ids.get(index.topic3), "", [{ partitionIndex: 1, errorCode: 0 }]],
  ]);
  const unknown = response<OffsetCommitResponse>("offset_commit_v10_unknown_topic_id");
  assert.deepEqual(unknown.topics.map((t) => [t.topicId, t.partitions]), [[
    index.unknownTopicId,
    [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_ID }],
  ]]);
});

/** What golden-offsets holds: v10 committed p0 of the records topic and p1 of the other, v9 p2. */
const OFFSETS_GROUP_COMMITS = [
  { partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: 0, metadata: "golden metadata" },
  { partitionIndex: 1, committedOffset: 0n, committedLeaderEpoch: -1, metadata: "" },
  { partitionIndex: 2, committedOffset: 0n, committedLeaderEpoch: 0, metadata: "by name" },
].map((p) => ({ ...p, errorCode: 0 }));

Deno.test("golden OffsetFetch v10: offsets by the topic ids Metadata gave; UNKNOWN_TOPIC_ID", () => {
  const ids = metadataTopicIds();
  const v10 = response<OffsetFetchResponse>("offset_fetch_v10");
  const group = (id: string) => v10.groups.find((g) => g.groupId === id)!;
  for (const g of v10.groups) {
    assert.equal(g.errorCode, 0);
    for (const t of g.topics) assert.equal(t.name, "", "v10 names topics by id only");
  }
  // All of golden-java (topics: null): the console consumer committed all it read.
  assert.deepEqual(group(index.javaGroup).topics.map((t) => [t.topicId, t.partitions]), [[
    ids.get(index.topic),
    [{
      partitionIndex: 0,
      committedOffset: 6n,
      committedLeaderEpoch: 0,
      metadata: "",
      errorCode: 0,
    }],
  ]]);
  // Committed by id (v10) and by name (v9): read back by id alike.
  assert.deepEqual(group(index.offsetsGroup).topics.map((t) => [t.topicId, t.partitions]), [
    [ids.get(index.topic), [OFFSETS_GROUP_COMMITS[0]]],
    [ids.get(index.topic3), OFFSETS_GROUP_COMMITS.slice(1)],
  ]);
  const none = group(index.group).topics[0];
  assert.equal(none.topicId, ids.get(index.topic3));
  assert.deepEqual(
    [none.partitions[0].committedOffset, none.partitions[0].committedLeaderEpoch],
    [-1n, -1],
  );

  const unknown = response<OffsetFetchResponse>("offset_fetch_v10_unknown_topic_id");
  assert.equal(unknown.groups[0].errorCode, 0);
  assert.deepEqual(unknown.groups[0].topics.map((t) => [t.topicId, t.partitions]), [[
    index.unknownTopicId,
    [{
      partitionIndex: 0,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: "",
      errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
    }],
  ]]);
});

Deno.test("golden OffsetFetch v9/v8/v5 (by name) and DescribeGroups v6 after the Java consumer", () => {
  const v9 = response<OffsetFetchResponse>("offset_fetch_v9");
  const group = (id: string) => v9.groups.find((g) => g.groupId === id)!;
  const committed = (id: string, topic: string) => byName(group(id).topics, topic).partitions[0];
  // The console consumer committed everything it read.
  assert.equal(committed(index.javaGroup, index.topic).committedOffset, 6n);
  assert.equal(committed(index.javaGroup, index.topic).committedLeaderEpoch, 0);
  assert.deepEqual(group(index.offsetsGroup).topics.map((t) => [t.name, t.topicId, t.partitions]), [
    [index.topic, ZERO_UUID, [OFFSETS_GROUP_COMMITS[0]]],
    [index.topic3, ZERO_UUID, OFFSETS_GROUP_COMMITS.slice(1)],
  ]);
  assert.equal(committed(index.group, index.topic3).committedOffset, -1n);
  for (const g of v9.groups) assert.equal(g.errorCode, 0);

  const v8 = response<OffsetFetchResponse>("offset_fetch_v8");
  assert.equal(v8.groups[0].topics[0].partitions[0].committedOffset, 6n);
  const v5 = response<OffsetFetchResponse>("offset_fetch_v5");
  assert.equal(v5.errorCode, 0);
  assert.deepEqual(
    [v5.topics[0].partitions[0].committedOffset, v5.topics[0].partitions[0].metadata],
    [3n, "golden metadata"],
  );

  const described = response<DescribeGroupsResponse>("describe_groups_v6").groups;
  const java = described.find((g) => g.groupId === index.javaGroup)!;
  assert.deepEqual([java.errorCode, java.groupState, java.protocolType, java.members], [
    0,
    "Empty",
    "consumer",
    [],
  ]);
  const unknown = described.find((g) => g.groupId === "golden-no-such-group")!;
  assert.equal(unknown.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(unknown.groupState, "Dead");
  assert.match(unknown.errorMessage ?? "", /not found/);
});

Deno.test("golden DeleteGroups v3/v2: deleted, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND", () => {
  const result = (name: string) =>
    response<DeleteGroupsResponse>(name).results.map((
      r,
    ) => [r.groupId, r.errorCode, r.errorMessage])
      .sort();
  // v3 has a per-group errorMessage; Kafka 4.4 leaves it null for these codes.
  assert.deepEqual(result("delete_groups_v3_errors"), [
    [index.group, ErrorCode.NON_EMPTY_GROUP, null],
    ["golden-no-such-group", ErrorCode.GROUP_ID_NOT_FOUND, null],
  ]);
  // golden-java was deleted by Kafka's consumer-groups tool just before.
  assert.deepEqual(result("delete_groups_v3"), [
    [index.javaGroup, ErrorCode.GROUP_ID_NOT_FOUND, null],
    [index.offsetsGroup, 0, null],
  ]);
  // Before v3 the field does not exist: decoded as its default (null).
  assert.deepEqual(result("delete_groups_v2"), [[index.group, 0, null]]);
});

// ---------------------------------------------------------------------------
// Values known from the capture: Java's requests

const JAVA = "golden_java_consumer";
const KIP848 = "golden_java_kip_consumer";
const ADMIN = "adminclient";

Deno.test("golden Java JoinGroup: ConsumerProtocol subscriptions decode", () => {
  const first = request<JoinGroupRequest>(`java_join_group_v9_${JAVA}`);
  assert.equal(first.groupId, index.javaGroup);
  assert.equal(first.memberId, "");
  assert.equal(first.protocolType, "consumer");
  assert.equal(first.sessionTimeoutMs, 10000);
  // Java's default assignors: range, then cooperative-sticky.
  assert.deepEqual(first.protocols.map((p) => p.name), ["range", "cooperative-sticky"]);
  for (const p of first.protocols) {
    const sub = decodeSubscription(p.metadata);
    assert.deepEqual(sub.topics, [index.topic]);
    assert.equal(sub.version, 3);
    assert.equal(sub.rackId, null);
    assert.deepEqual(sub.ownedPartitions, []);
    assert.equal(sub.generationId, -1);
  }
  // range sends no user data; cooperative-sticky its generation (int32 -1).
  assert.equal(decodeSubscription(first.protocols[0].metadata).userData, null);
  assert.deepEqual(
    decodeSubscription(first.protocols[1].metadata).userData,
    new Uint8Array([0xff, 0xff, 0xff, 0xff]),
  );

  const rejoin = request<JoinGroupRequest>(`java_join_group_v9_${JAVA}_2`);
  const joined = response<JoinGroupResponse>(`java_join_group_v9_${JAVA}`);
  assert.equal(joined.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.equal(rejoin.memberId, joined.memberId);
  assert.match(rejoin.reason ?? "", /re-join with the given member-id/);

  const leader = response<JoinGroupResponse>(`java_join_group_v9_${JAVA}_2`);
  assert.equal(leader.leader, rejoin.memberId);
  assert.deepEqual(decodeSubscription(leader.members[0].metadata).topics, [index.topic]);
});

Deno.test("golden Java SyncGroup: the leader's assignment decodes", () => {
  const sync = request<SyncGroupRequest>(`java_sync_group_v5_${JAVA}`);
  assert.equal(sync.groupId, index.javaGroup);
  assert.deepEqual([sync.protocolType, sync.protocolName], ["consumer", "range"]);
  assert.equal(sync.assignments.length, 1);
  assert.equal(sync.assignments[0].memberId, sync.memberId);
  const assignment = decodeAssignment(sync.assignments[0].assignment);
  assert.deepEqual(assignment.assignedPartitions, [{ topic: index.topic, partitions: [0] }]);
  assert.equal(assignment.userData, null);
  assert.equal(assignment.version, 3);
  const res = response<SyncGroupResponse>(`java_sync_group_v5_${JAVA}`);
  assert.deepEqual(res.assignment, sync.assignments[0].assignment);
});

Deno.test("golden Java Fetch, ListOffsets, Heartbeat, OffsetCommit requests", () => {
  const full = request<FetchRequest>(`java_fetch_v18_${JAVA}`);
  assert.equal(full.sessionId, 0);
  assert.equal(full.sessionEpoch, 0);
  assert.equal(full.topics[0].topicId, index.topicIds[index.topic]);
  assert.equal(full.topics[0].partitions[0].fetchOffset, 0n);
  assert.deepEqual(full.replicaState, { replicaId: -1, replicaEpoch: -1n });
  const res = response<FetchResponse>(`java_fetch_v18_${JAVA}`);
  assertRecords(res.responses[0].partitions[0].records, 0, "Java's fetch");
  const incremental = request<FetchRequest>(`java_fetch_v18_${JAVA}_2`);
  assert.equal(incremental.sessionId, res.sessionId);
  assert.equal(incremental.sessionEpoch, 1);
  assert.equal(incremental.topics[0].partitions[0].fetchOffset, 6n);

  const list = request<ListOffsetsRequest>(`java_list_offsets_v11_${JAVA}`);
  assert.equal(list.topics[0].partitions[0].timestamp, -2n, "--from-beginning: earliest");

  const hb = request<HeartbeatRequest>(`java_heartbeat_v4_${JAVA}`);
  assert.equal(hb.groupId, index.javaGroup);
  assert.equal(hb.generationId, 1);

  const commit = request<OffsetCommitRequest>(`java_offset_commit_v9_${JAVA}`);
  assert.equal(commit.topics[0].name, index.topic);
  assert.equal(commit.topics[0].partitions[0].committedOffset, 6n);
  assert.equal(commit.topics[0].partitions[0].committedLeaderEpoch, 0);
});

Deno.test("golden Java 4.4 ApiVersions v5: bootstrap unchecked, then the node's cluster and id", () => {
  for (const client of [JAVA, KIP848]) {
    const bootstrap = request<ApiVersionsRequest>(`java_api_versions_v5_${client}`);
    assert.deepEqual(bootstrap, {
      clientSoftwareName: "apache-kafka-java",
      clientSoftwareVersion: index.kafkaVersion,
      clusterId: null,
      nodeId: -1,
    });
    // Connections to a node known from Metadata name the cluster and node.
    const checked = request<ApiVersionsRequest>(`java_api_versions_v5_${client}_checked`);
    assert.deepEqual([checked.clusterId, checked.nodeId], [index.clusterId, index.nodeId]);
    assert.equal(
      response<ApiVersionsResponse>(`java_api_versions_v5_${client}_checked`).errorCode,
      0,
    );
  }
  const admin = request<ApiVersionsRequest>(`java_api_versions_v5_${ADMIN}`);
  assert.deepEqual([admin.clusterId, admin.nodeId], [null, -1]);
});

Deno.test("golden Java 4.4 KIP-848 consumer: OffsetFetch/OffsetCommit v10 by topic id", () => {
  const ids = metadataTopicIds();
  const fetch = request<OffsetFetchRequest>(`java_offset_fetch_v10_${KIP848}`);
  assert.equal(fetch.requireStable, true);
  assert.equal(fetch.groups!.length, 1);
  const g = fetch.groups![0];
  assert.equal(g.groupId, index.javaKip848Group);
  // The consumer protocol sends its member id and epoch with the fetch.
  assert.ok(g.memberId && g.memberId.length > 0);
  assert.ok(g.memberEpoch! > 0);
  assert.deepEqual(g.topics!.map((t) => [t.topicId, t.name, t.partitionIndexes]), [[
    ids.get(index.topic),
    "",
    [0],
  ]]);
  const fetched = response<OffsetFetchResponse>(`java_offset_fetch_v10_${KIP848}`);
  assert.equal(fetched.groups[0].topics[0].topicId, ids.get(index.topic));
  assert.equal(fetched.groups[0].topics[0].partitions[0].committedOffset, -1n, "a new group");

  const commit = request<OffsetCommitRequest>(`java_offset_commit_v10_${KIP848}`);
  assert.equal(commit.groupId, index.javaKip848Group);
  assert.equal(commit.memberId, g.memberId);
  assert.ok(commit.generationIdOrMemberEpoch! >= g.memberEpoch!);
  assert.deepEqual(commit.topics.map((t) => [t.topicId, t.name]), [[ids.get(index.topic), ""]]);
  assert.deepEqual(commit.topics[0].partitions, [{
    partitionIndex: 0,
    committedOffset: BigInt(index.records.length),
    committedLeaderEpoch: 0,
    committedMetadata: "",
  }]);
  const committed = response<OffsetCommitResponse>(`java_offset_commit_v10_${KIP848}`);
  assert.deepEqual(committed.topics.map((t) => [t.topicId, t.partitions]), [[
    ids.get(index.topic),
    [{ partitionIndex: 0, errorCode: 0 }],
  ]]);
});

Deno.test("golden Java 4.4 classic consumer and admin: OffsetFetch/OffsetCommit v9 by name", () => {
  // Java 4.4 names topics by id only in the KIP-848 consumer; the classic
  // consumer and the admin client build these requests by name (v9 at most).
  const fetch = request<OffsetFetchRequest>(`java_offset_fetch_v9_${JAVA}`);
  assert.deepEqual(fetch.groups!.map((x) => [x.groupId, x.topics!.map((t) => t.name)]), [[
    index.javaGroup,
    [index.topic],
  ]]);
  const adminFetch = request<OffsetFetchRequest>(`java_offset_fetch_v9_${ADMIN}`);
  assert.equal(adminFetch.groups![0].topics, null, "--describe asks for all the group's offsets");
  // --reset-offsets --to-offset 2 --execute: a member-less commit by name.
  const reset = request<OffsetCommitRequest>(`java_offset_commit_v9_${ADMIN}`);
  assert.deepEqual(
    [reset.groupId, reset.generationIdOrMemberEpoch, reset.memberId, reset.topics[0].name],
    [index.javaGroup, -1, "", index.topic],
  );
  assert.equal(reset.topics[0].partitions[0].committedOffset, 2n);
});

Deno.test("golden Java 4.4 DeleteGroups v3: consumer-groups --delete", () => {
  const del = request<DeleteGroupsRequest>(`java_delete_groups_v3_${ADMIN}`);
  assert.deepEqual([...del.groupsNames].sort(), [index.javaGroup, index.javaKip848Group]);
  const res = response<DeleteGroupsResponse>(`java_delete_groups_v3_${ADMIN}`);
  assert.deepEqual(
    res.results.map((r) => [r.groupId, r.errorCode, r.errorMessage]).sort(),
    [[index.javaGroup, 0, null], [index.javaKip848Group, 0, null]],
  );
});
