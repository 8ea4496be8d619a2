/**
 * Captures golden bytes from a real Kafka broker into `tests/testdata/golden/`,
 * for `tests/golden_bytes_test.ts` (which needs no broker).
 *
 * Two kinds of fixtures:
 *
 * - **Broker responses.** A raw TCP connection sends requests encoded by our
 *   codec (ApiVersions, CreateTopics, Metadata, FindCoordinator, ListOffsets,
 *   Fetch, JoinGroup, SyncGroup, Heartbeat, DescribeGroups, OffsetCommit,
 *   OffsetFetch, LeaveGroup, DeleteGroups; error paths included) and saves
 *   each response frame exactly as the broker wrote it, with the request that
 *   asked for it. Each API at the newest version the broker offers, plus older
 *   ones our fallbacks use (e.g. OffsetCommit/OffsetFetch v9, by topic name,
 *   next to v10, by topic id). The Fetch data was written by Kafka's own
 *   console producer.
 * - **Java client requests.** Kafka's console consumer (classic protocol, and
 *   KIP-848 `group.protocol=consumer`: only that one names topics by id in
 *   OffsetCommit/OffsetFetch v10) and admin tools
 *   (topics, consumer-groups: describe, reset offsets, delete) run through a
 *   recording proxy (`tests/_proxy.ts`); the request frames they write (and
 *   the broker's answers) are saved.
 *
 * A frame file holds the bytes after the int32 size prefix. `index.json`
 * lists every fixture (API, key, version, correlation id, files) and the facts
 * of the capture the test checks decoded values against (broker address,
 * topics, records produced, groups).
 *
 * Run by hand against a fresh single-node broker (topic and group names are
 * fixed, so a second run against the same broker fails):
 *
 * ```sh
 * bash scripts/kafka.sh start --name golden        # prints 127.0.0.1:PORT
 * deno run -A scripts/capture_golden.ts --bootstrap 127.0.0.1:PORT
 * bash scripts/kafka.sh stop --name golden
 * ```
 *
 * @module
 */

import { encodeAssignment, encodeSubscription } from "../src/protocol/consumer_protocol.ts";
import { compile } from "../src/protocol/codec.ts";
import { decodeRequestHeader, decodeResponse, encodeRequest } from "../src/protocol/frame.ts";
import {
  ApiVersionsApi,
  CreateTopicsApi,
  DeleteGroupsApi,
  DescribeGroupsApi,
  FetchApi,
  FindCoordinatorApi,
  HeartbeatApi,
  JoinGroupApi,
  LeaveGroupApi,
  ListOffsetsApi,
  MetadataApi,
  OffsetCommitApi,
  OffsetFetchApi,
  SyncGroupApi,
} from "../src/protocol/messages/mod.ts";
import { API_BY_KEY } from "../src/protocol/apis.ts";
import type { ApiSchema } from "../src/protocol/schema.ts";
import { kafkaScript, kafkaTool, produceConsole } from "../tests/_kafka.ts";
import {
  FrameReader,
  type RecordedFrame,
  startRecordingProxy,
  writeFrame,
} from "../tests/_proxy.ts";

/** Topic with the records (1 partition), written by Kafka's console producer. */
const TOPIC = "golden-records";
/** A second topic, 3 partitions, no records. */
const TOPIC3 = "golden-three";
/** Group our raw requests join (JoinGroup, SyncGroup, Heartbeat, …). */
const GROUP = "golden-group";
/** Group our raw OffsetCommit commits to (no members). */
const OFFSETS_GROUP = "golden-offsets";
/** Group of Kafka's console consumer (through the proxy). */
const JAVA_GROUP = "golden-java";
/**
 * Group of Kafka's console consumer with the KIP-848 consumer protocol: Java
 * 4.4 names topics by id (OffsetCommit/OffsetFetch v10) only there; its
 * classic consumer and its admin client still send v9 (by name).
 */
const JAVA_KIP848_GROUP = "golden-java-kip848";
const CLIENT_ID = "sluice-golden";
/** A topic id no topic has ("golden-no-such-i" in base64url). */
const UNKNOWN_TOPIC_ID = "Z29sZGVuLW5vLXN1Y2gtaQ";
/** A group that never existed. */
const NO_GROUP = "golden-no-such-group";

/** Records produced, in offset order: [headers, key, value]; headers "" = none. */
const PLAIN_LINES = [
  ["source:golden,n:1", "k1", "v1"],
  ["source:golden,n:2", "k2", "value-two"],
  ["", "k3", "v3"],
  ["dup:a,dup:b", "k4", "héllo ünïcode"],
];
const GZIP_LINES = [
  ["codec:gzip", "g1", "compressed-1"],
  ["", "g2", "compressed-2"],
];

/** One fixture: a request and (when captured) the broker's response. */
export interface Entry {
  name: string;
  api: string;
  apiKey: number;
  version: number;
  correlationId: number;
  clientId: string | null;
  request: string;
  response: string | null;
  note?: string;
}

function usage(): never {
  console.error(
    "usage: deno run -A scripts/capture_golden.ts --bootstrap HOST:PORT [--out DIR]\n" +
      "  (a fresh broker: bash scripts/kafka.sh start --name golden)",
  );
  Deno.exit(2);
}

function parseArgs(): { host: string; port: number; out: string } {
  const args = [...Deno.args];
  let bootstrap = Deno.env.get("KAFKA_BROKERS");
  let out = decodeURIComponent(new URL("../tests/testdata/golden/", import.meta.url).pathname);
  while (args.length > 0) {
    const a = args.shift()!;
    if (a === "--bootstrap") bootstrap = args.shift();
    else if (a === "--out") out = args.shift() ?? usage();
    else usage();
  }
  if (!bootstrap) usage();
  const first = bootstrap.split(",")[0];
  const colon = first.lastIndexOf(":");
  return { host: first.slice(0, colon), port: Number(first.slice(colon + 1)), out };
}

/** A raw connection: one request at a time, every exchange recorded. */
class RawClient {
  #conn: Deno.Conn;
  #frames: FrameReader;
  #correlationId = 0;
  /** The broker's highest version per API key, once ApiVersions answered. */
  maxVersions = new Map<number, number>();
  readonly exchanges: { entry: Entry; request: Uint8Array; response: Uint8Array }[] = [];

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#frames = new FrameReader(conn);
  }

  static async connect(host: string, port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: host, port }));
  }

  async call<Req, Res>(
    name: string,
    api: ApiSchema<Req, Res>,
    version: number,
    body: Req,
    note?: string,
  ): Promise<Res> {
    const max = this.maxVersions.get(api.apiKey);
    if (max !== undefined && version > max) {
      throw new Error(`${name}: the broker supports ${api.name} up to v${max}, not v${version}`);
    }
    const correlationId = ++this.#correlationId;
    const framed = encodeRequest(api, version, correlationId, CLIENT_ID, body as object);
    const request = framed.slice(4);
    await writeFrame(this.#conn, request);
    const response = await this.#frames.next();
    if (response === null) throw new Error(`${name}: the broker closed the connection`);
    const got = new DataView(response.buffer, response.byteOffset).getInt32(0);
    if (got !== correlationId) {
      throw new Error(`${name}: correlation id ${got} != ${correlationId}`);
    }
    this.exchanges.push({
      entry: {
        name,
        api: api.name,
        apiKey: api.apiKey,
        version,
        correlationId,
        clientId: CLIENT_ID,
        request: `${name}.request.bin`,
        response: `${name}.response.bin`,
        ...(note ? { note } : {}),
      },
      request,
      response,
    });
    const decoded = decodeResponse(api, version, response);
    console.log(`  ${name}: ${response.length} bytes`);
    return decoded;
  }

  close(): void {
    this.#conn.close();
  }
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`capture: ${what}`);
}

async function captureBroker(client: RawClient, bootstrap: string) {
  const facts: Record<string, unknown> = {};

  console.log("ApiVersions");
  const software = { clientSoftwareName: "sluice-golden", clientSoftwareVersion: "0.1.0" };
  const av = await client.call("api_versions_v5", ApiVersionsApi, 5, {
    ...software,
    clusterId: null,
    nodeId: -1,
  }, "no cluster id and node id to check (null, -1): a bootstrap connection");
  check(av.errorCode === 0, "ApiVersions v5 failed");
  for (const k of av.apiKeys) client.maxVersions.set(k.apiKey, k.maxVersion);
  facts.maxVersions = Object.fromEntries(
    av.apiKeys.filter((k) => API_BY_KEY.has(k.apiKey)).map((k) => [
      API_BY_KEY.get(k.apiKey)!.name,
      k.maxVersion,
    ]),
  );
  await client.call("api_versions_v4", ApiVersionsApi, 4, software);
  await client.call("api_versions_v3", ApiVersionsApi, 3, {
    clientSoftwareName: "sluice-golden",
    clientSoftwareVersion: "0.1.0",
  });
  await client.call("api_versions_v2", ApiVersionsApi, 2, {});

  console.log("CreateTopics");
  const ct = await client.call("create_topics_v7", CreateTopicsApi, 7, {
    topics: [
      { name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      {
        name: TOPIC3,
        numPartitions: 3,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: "retention.ms", value: "3600000" }],
      },
    ],
    timeoutMs: 30000,
    validateOnly: false,
  });
  for (const t of ct.topics) {
    check(t.errorCode === 0, `CreateTopics ${t.name}: error ${t.errorCode} ${t.errorMessage}`);
  }
  facts.topicIds = Object.fromEntries(ct.topics.map((t) => [t.name, t.topicId]));
  const topicId = ct.topics.find((t) => t.name === TOPIC)!.topicId;
  await client.call(
    "create_topics_v7_exists",
    CreateTopicsApi,
    7,
    {
      topics: [{
        name: TOPIC,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      }],
      timeoutMs: 30000,
    },
    "TOPIC_ALREADY_EXISTS (36) with an error message",
  );

  console.log("Producing with Kafka's console producer");
  const line = ([h, k, v]: string[]) => `${h}\t${k}\t${v}`;
  await produceConsole(TOPIC, PLAIN_LINES.map(line), {
    bootstrap,
    parseKey: true,
    parseHeaders: true,
  });
  await produceConsole(TOPIC, GZIP_LINES.map(line), {
    bootstrap,
    parseKey: true,
    parseHeaders: true,
    compression: "gzip",
  });
  facts.records = [...PLAIN_LINES, ...GZIP_LINES].map(([h, k, v], i) => ({
    offset: i,
    key: k,
    value: v,
    headers: h === "" ? [] : h.split(",").map((kv) => {
      const [key, value] = kv.split(":");
      return { key, value };
    }),
  }));

  console.log("Metadata");
  // Wait until the leaders are known (the topics were just created).
  for (let i = 0; i < 50; i++) {
    const m = await decodeOnly(client, MetadataApi, 13, {
      topics: [{ name: TOPIC }, { name: TOPIC3 }],
      allowAutoTopicCreation: false,
    });
    if (m.topics.every((t) => t.errorCode === 0 && t.partitions.every((p) => p.leaderId >= 0))) {
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const metaTopics = [{ name: TOPIC }, { name: TOPIC3 }];
  const md = await client.call("metadata_v13", MetadataApi, 13, {
    topics: metaTopics,
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  facts.clusterId = md.clusterId;
  facts.nodeId = md.brokers[0].nodeId;
  const nodeId = md.brokers[0].nodeId;

  console.log("ApiVersions v5 checking the cluster id and node id (KIP-1242)");
  const checked = await client.call("api_versions_v5_checked", ApiVersionsApi, 5, {
    ...software,
    clusterId: md.clusterId,
    nodeId,
  }, "the cluster id and node id Metadata gave: they match");
  check(checked.errorCode === 0, `ApiVersions v5 checked: error ${checked.errorCode}`);
  await client.call("api_versions_v5_wrong_node", ApiVersionsApi, 5, {
    ...software,
    clusterId: md.clusterId,
    nodeId: nodeId + 1,
  }, "the right cluster id, another node id: REBOOTSTRAP_REQUIRED (129)");
  await client.call("api_versions_v5_wrong_cluster", ApiVersionsApi, 5, {
    ...software,
    clusterId: "golden-other-cluster00",
    nodeId,
  }, "another cluster id: REBOOTSTRAP_REQUIRED (129)");
  await client.call("api_versions_v5_node_without_cluster", ApiVersionsApi, 5, {
    ...software,
    clusterId: null,
    nodeId,
  }, "a node id without a cluster id: INVALID_REQUEST (42)");
  await client.call("metadata_v9", MetadataApi, 9, {
    topics: metaTopics,
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: true,
  }, "includeTopicAuthorizedOperations: true");
  await client.call("metadata_v4", MetadataApi, 4, {
    topics: metaTopics,
    allowAutoTopicCreation: false,
  });
  await client.call("metadata_v13_unknown_topic", MetadataApi, 13, {
    topics: [{ name: "golden-missing" }],
    allowAutoTopicCreation: false,
  }, "UNKNOWN_TOPIC_OR_PARTITION (3)");

  console.log("FindCoordinator");
  // On a fresh broker the first lookup creates __consumer_offsets and is
  // answered COORDINATOR_NOT_AVAILABLE (15); capture that too, then wait.
  const first = await client.call("find_coordinator_v6_first", FindCoordinatorApi, 6, {
    keyType: 0,
    coordinatorKeys: [GROUP],
  }, "the first lookup on a fresh broker");
  facts.firstFindCoordinatorError = first.coordinators[0].errorCode;
  for (let i = 0; i < 100; i++) {
    const f = await decodeOnly(client, FindCoordinatorApi, 6, {
      keyType: 0,
      coordinatorKeys: [GROUP, JAVA_GROUP, OFFSETS_GROUP],
    });
    if (f.coordinators.every((c) => c.errorCode === 0)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await client.call("find_coordinator_v6", FindCoordinatorApi, 6, {
    keyType: 0,
    coordinatorKeys: [GROUP, JAVA_GROUP],
  });
  await client.call("find_coordinator_v3", FindCoordinatorApi, 3, { key: GROUP, keyType: 0 });

  console.log("ListOffsets");
  await client.call("list_offsets_v11", ListOffsetsApi, 11, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [
      { name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -1n }] },
      {
        name: TOPIC3,
        partitions: [
          { partitionIndex: 0, timestamp: -2n },
          { partitionIndex: 1, timestamp: -3n },
          { partitionIndex: 7, timestamp: -1n },
        ],
      },
    ],
    timeoutMs: 30000,
  }, "latest, earliest, max-timestamp, and an unknown partition (UNKNOWN_TOPIC_OR_PARTITION)");
  await client.call("list_offsets_v5", ListOffsetsApi, 5, {
    replicaId: -1,
    isolationLevel: 1,
    topics: [{
      name: TOPIC,
      partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }],
    }],
  });

  console.log("Fetch");
  const fetchPartition = (partition: number, fetchOffset: bigint) => ({
    partition,
    currentLeaderEpoch: -1,
    fetchOffset,
    lastFetchedEpoch: -1,
    logStartOffset: -1n,
    partitionMaxBytes: 1 << 20,
  });
  const fetch18 = await client.call("fetch_v18", FetchApi, 18, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      { topicId, partitions: [fetchPartition(0, 0n)] },
      {
        topicId: ct.topics.find((t) => t.name === TOPIC3)!.topicId,
        partitions: [fetchPartition(0, 100n)],
      },
    ],
    forgottenTopicsData: [],
    rackId: "",
  }, "records from offset 0; golden-three p0 at offset 100: OFFSET_OUT_OF_RANGE (1)");
  check(fetch18.errorCode === 0, `Fetch v18 error ${fetch18.errorCode}`);
  await client.call("fetch_v18_read_committed", FetchApi, 18, {
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 1,
    sessionId: 0,
    sessionEpoch: 0,
    topics: [{ topicId, partitions: [fetchPartition(0, 4n)] }],
    rackId: "",
  }, "read_committed from offset 4 (the gzip batch); opens a fetch session");
  await client.call("fetch_v12", FetchApi, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: TOPIC, partitions: [fetchPartition(0, 0n)] }],
    rackId: "",
  });
  await client.call("fetch_v4", FetchApi, 4, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    topics: [{ topic: TOPIC, partitions: [fetchPartition(0, 2n)] }],
  }, "from offset 2");

  console.log("Group membership");
  const subscription = encodeSubscription({ topics: [TOPIC, TOPIC3] });
  const join = {
    groupId: GROUP,
    sessionTimeoutMs: 10000,
    rebalanceTimeoutMs: 10000,
    memberId: "",
    groupInstanceId: null,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: subscription }, {
      name: "roundrobin",
      metadata: subscription,
    }],
    reason: "golden capture",
  };
  let j1 = await client.call(
    "join_group_v9_member_id_required",
    JoinGroupApi,
    9,
    join,
    "MEMBER_ID_REQUIRED (79) with the assigned member id",
  );
  // The coordinator may still be loading the group's offsets partition.
  for (let i = 0; i < 100 && [14, 15, 16].includes(j1.errorCode); i++) {
    client.exchanges.pop();
    await new Promise((r) => setTimeout(r, 200));
    j1 = await client.call(
      "join_group_v9_member_id_required",
      JoinGroupApi,
      9,
      join,
      "MEMBER_ID_REQUIRED (79) with the assigned member id",
    );
  }
  check(j1.errorCode === 79, `JoinGroup: expected MEMBER_ID_REQUIRED, got ${j1.errorCode}`);
  const j2 = await client.call("join_group_v9", JoinGroupApi, 9, {
    ...join,
    memberId: j1.memberId,
  }, "joined as leader");
  check(j2.errorCode === 0, `JoinGroup: error ${j2.errorCode}`);
  const memberId = j2.memberId;
  facts.member = { memberId, generationId: j2.generationId };
  const assignment = encodeAssignment({
    assignedPartitions: [{ topic: TOPIC, partitions: [0] }, {
      topic: TOPIC3,
      partitions: [0, 1, 2],
    }],
  });
  const sg = await client.call("sync_group_v5", SyncGroupApi, 5, {
    groupId: GROUP,
    generationId: j2.generationId,
    memberId,
    groupInstanceId: null,
    protocolType: "consumer",
    protocolName: j2.protocolName,
    assignments: [{ memberId, assignment }],
  });
  check(sg.errorCode === 0, `SyncGroup: error ${sg.errorCode}`);
  await client.call("heartbeat_v4", HeartbeatApi, 4, {
    groupId: GROUP,
    generationId: j2.generationId,
    memberId,
    groupInstanceId: null,
  });
  await client.call("heartbeat_v4_unknown_member", HeartbeatApi, 4, {
    groupId: GROUP,
    generationId: j2.generationId,
    memberId: "not-a-member",
    groupInstanceId: null,
  }, "UNKNOWN_MEMBER_ID (25)");
  await client.call("heartbeat_v4_illegal_generation", HeartbeatApi, 4, {
    groupId: GROUP,
    generationId: j2.generationId + 5,
    memberId,
    groupInstanceId: null,
  }, "ILLEGAL_GENERATION (22)");
  await client.call("describe_groups_v5", DescribeGroupsApi, 5, {
    groups: [GROUP],
    includeAuthorizedOperations: true,
  }, "Stable, one member with its subscription and assignment");
  await client.call("delete_groups_v3_errors", DeleteGroupsApi, 3, {
    groupsNames: [GROUP, NO_GROUP],
  }, "a group with a member: NON_EMPTY_GROUP (68); an unknown group: GROUP_ID_NOT_FOUND (69)");
  const topic3Id = ct.topics.find((t) => t.name === TOPIC3)!.topicId;
  const c10 = await client.call("offset_commit_v10", OffsetCommitApi, 10, {
    groupId: OFFSETS_GROUP,
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      topicId,
      partitions: [{
        partitionIndex: 0,
        committedOffset: 3n,
        committedLeaderEpoch: 0,
        committedMetadata: "golden metadata",
      }],
    }, {
      topicId: topic3Id,
      partitions: [{ partitionIndex: 1, committedOffset: 0n, committedMetadata: null }],
    }],
  }, "simple (member-less) commit by topic id");
  check(
    c10.topics.every((t) => t.partitions.every((p) => p.errorCode === 0)),
    `OffsetCommit v10: ${JSON.stringify(c10.topics)}`,
  );
  await client.call("offset_commit_v10_unknown_topic_id", OffsetCommitApi, 10, {
    groupId: OFFSETS_GROUP,
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      topicId: UNKNOWN_TOPIC_ID,
      partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }],
    }],
  }, "a topic id no topic has: UNKNOWN_TOPIC_ID (100)");
  await client.call("offset_commit_v9", OffsetCommitApi, 9, {
    groupId: OFFSETS_GROUP,
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      name: TOPIC3,
      partitions: [{
        partitionIndex: 2,
        committedOffset: 0n,
        committedLeaderEpoch: 0,
        committedMetadata: "by name",
      }],
    }],
  }, "by topic name: the path when no topic id is known (and brokers before 4.2)");
  await client.call("offset_commit_v8_generation", OffsetCommitApi, 8, {
    groupId: GROUP,
    generationIdOrMemberEpoch: j2.generationId,
    memberId,
    groupInstanceId: null,
    topics: [{
      name: TOPIC,
      partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }],
    }],
  });
  await client.call("leave_group_v5", LeaveGroupApi, 5, {
    groupId: GROUP,
    members: [{ memberId, groupInstanceId: null, reason: "golden capture done" }],
  });
  facts.unknownTopicId = UNKNOWN_TOPIC_ID;
  return facts;
}

async function decodeOnly<Req, Res>(
  client: RawClient,
  api: ApiSchema<Req, Res>,
  version: number,
  body: Req,
): Promise<Res> {
  const res = await client.call("probe", api, version, body);
  client.exchanges.pop();
  return res;
}

async function captureAfterJava(client: RawClient, topicIds: Record<string, string>) {
  console.log("OffsetFetch, DescribeGroups (after the Java consumer)");
  await client.call(
    "offset_fetch_v10",
    OffsetFetchApi,
    10,
    {
      groups: [
        { groupId: JAVA_GROUP, memberId: null, memberEpoch: -1, topics: null },
        {
          groupId: OFFSETS_GROUP,
          memberId: null,
          memberEpoch: -1,
          topics: [
            { topicId: topicIds[TOPIC], partitionIndexes: [0] },
            { topicId: topicIds[TOPIC3], partitionIndexes: [1, 2] },
          ],
        },
        {
          groupId: GROUP,
          memberId: null,
          memberEpoch: -1,
          topics: [{ topicId: topicIds[TOPIC3], partitionIndexes: [0] }],
        },
      ],
      requireStable: true,
    },
    "by topic id: all of golden-java; golden-offsets (committed by v10 and by v9); " +
      "golden-group with no offset (-1)",
  );
  await client.call("offset_fetch_v10_unknown_topic_id", OffsetFetchApi, 10, {
    groups: [{
      groupId: OFFSETS_GROUP,
      memberId: null,
      memberEpoch: -1,
      topics: [{ topicId: UNKNOWN_TOPIC_ID, partitionIndexes: [0] }],
    }],
    requireStable: false,
  }, "a topic id no topic has: UNKNOWN_TOPIC_ID (100)");
  await client.call(
    "offset_fetch_v9",
    OffsetFetchApi,
    9,
    {
      groups: [
        { groupId: JAVA_GROUP, memberId: null, memberEpoch: -1, topics: null },
        {
          groupId: OFFSETS_GROUP,
          memberId: null,
          memberEpoch: -1,
          topics: [{ name: TOPIC, partitionIndexes: [0] }, {
            name: TOPIC3,
            partitionIndexes: [1, 2],
          }],
        },
        {
          groupId: GROUP,
          memberId: null,
          memberEpoch: -1,
          topics: [{ name: TOPIC3, partitionIndexes: [0] }],
        },
      ],
      requireStable: true,
    },
    "by topic name (the path when no topic id is known, and brokers before 4.2): the same groups",
  );
  await client.call("offset_fetch_v8", OffsetFetchApi, 8, {
    groups: [{ groupId: JAVA_GROUP, topics: [{ name: TOPIC, partitionIndexes: [0] }] }],
    requireStable: false,
  });
  await client.call("offset_fetch_v5", OffsetFetchApi, 5, {
    groupId: OFFSETS_GROUP,
    topics: [{ name: TOPIC, partitionIndexes: [0] }],
  });
  await client.call(
    "describe_groups_v6",
    DescribeGroupsApi,
    6,
    {
      groups: [JAVA_GROUP, NO_GROUP],
      includeAuthorizedOperations: false,
    },
    "golden-java Empty (after the console consumer left); an unknown group: GROUP_ID_NOT_FOUND (69)",
  );
}

/** After Kafka's consumer-groups tool deleted golden-java: delete ours. */
async function captureDeletes(client: RawClient) {
  console.log("DeleteGroups (after the Java tools)");
  await client.call("delete_groups_v3", DeleteGroupsApi, 3, {
    groupsNames: [OFFSETS_GROUP, JAVA_GROUP],
  }, "golden-offsets deleted; golden-java, deleted by the Java tool: GROUP_ID_NOT_FOUND (69)");
  await client.call("delete_groups_v2", DeleteGroupsApi, 2, {
    groupsNames: [GROUP],
  }, "golden-group (Empty since its member left) deleted");
}

/** Runs Kafka's tools through the recording proxy; `between` runs before the deletes. */
async function captureJava(
  host: string,
  port: number,
  between: () => Promise<void>,
): Promise<RecordedFrame[]> {
  const proxy = startRecordingProxy({ upstream: { hostname: host, port } });
  const via = `127.0.0.1:${proxy.port}`;
  try {
    console.log(`Java console consumer via the proxy ${via}`);
    const consumer = await kafkaTool("console-consumer", [
      "--bootstrap-server",
      via,
      "--topic",
      TOPIC,
      "--group",
      JAVA_GROUP,
      "--from-beginning",
      // One more than there is: the consumer waits (heartbeating and
      // committing) until the timeout, then commits, leaves and exits.
      "--max-messages",
      String(PLAIN_LINES.length + GZIP_LINES.length + 1),
      "--timeout-ms",
      "3000",
      "--command-property",
      "client.id=golden-java-consumer",
      "--command-property",
      "auto.commit.interval.ms=300",
      "--command-property",
      "heartbeat.interval.ms=300",
      "--command-property",
      "session.timeout.ms=10000",
      "--command-property",
      "enable.metrics.push=false",
    ], { check: false });
    console.log(`  exit ${consumer.code}: ${consumer.stdout.trim().split("\n").length} lines`);
    const values = consumer.stdout.trim().split("\n");
    const expected = [...PLAIN_LINES, ...GZIP_LINES].map(([, , v]) => v);
    if (values.join("\n") !== expected.join("\n")) {
      throw new Error(`console consumer printed ${JSON.stringify(values)}:\n${consumer.stderr}`);
    }
    console.log("Java console consumer, group.protocol=consumer (KIP-848)");
    const kip848 = await kafkaTool("console-consumer", [
      "--bootstrap-server",
      via,
      "--topic",
      TOPIC,
      "--group",
      JAVA_KIP848_GROUP,
      "--from-beginning",
      "--max-messages",
      String(PLAIN_LINES.length + GZIP_LINES.length + 1),
      "--timeout-ms",
      "3000",
      "--command-property",
      "client.id=golden-java-kip-consumer",
      "--command-property",
      "group.protocol=consumer",
      "--command-property",
      "auto.commit.interval.ms=300",
      "--command-property",
      "enable.metrics.push=false",
    ], { check: false });
    if (kip848.stdout.trim() !== expected.join("\n")) {
      throw new Error(`KIP-848 console consumer printed ${kip848.stdout}:\n${kip848.stderr}`);
    }
    console.log("Java admin: topics --list, consumer-groups --describe");
    await kafkaTool("topics", ["--bootstrap-server", via, "--list"]);
    await kafkaTool("consumer-groups", [
      "--bootstrap-server",
      via,
      "--describe",
      "--group",
      JAVA_GROUP,
    ]);
    await between();
    console.log("Java admin: consumer-groups --reset-offsets --execute, --delete");
    await kafkaTool("consumer-groups", [
      "--bootstrap-server",
      via,
      "--reset-offsets",
      "--group",
      JAVA_GROUP,
      "--topic",
      TOPIC,
      "--to-offset",
      "2",
      "--execute",
    ]);
    const deleted = await kafkaTool("consumer-groups", [
      "--bootstrap-server",
      via,
      "--delete",
      "--group",
      JAVA_GROUP,
      "--group",
      JAVA_KIP848_GROUP,
    ]);
    check(/successful/i.test(deleted.stdout), `consumer-groups --delete: ${deleted.stdout}`);
  } finally {
    await proxy.close();
  }
  return proxy.frames;
}

/** Picks a small set of Java request frames: the first per API, version and client. */
function pickJava(
  frames: RecordedFrame[],
): { entry: Entry; request: Uint8Array; response?: Uint8Array }[] {
  const chosen: { entry: Entry; request: Uint8Array; response?: Uint8Array }[] = [];
  const seen = new Map<string, number>();
  // Some APIs are worth two samples: Fetch (full, then incremental), JoinGroup
  // (without, then with the member id), OffsetCommit, Heartbeat.
  const wanted = (apiKey: number) => [1, 11].includes(apiKey) ? 2 : 1;
  for (const f of frames) {
    if (f.direction !== "request") continue;
    const api = API_BY_KEY.get(f.apiKey);
    if (!api) continue;
    const client = (f.clientId ?? "null").replace(/[^a-z]+/gi, "_").replace(/_+$/, "");
    const variant = f.apiKey === 18 && checksCluster(f) ? "_checked" : "";
    const key = `${f.apiKey}/${f.apiVersion}/${client}${variant}`;
    const n = seen.get(key) ?? 0;
    if (n >= wanted(f.apiKey)) continue;
    seen.set(key, n + 1);
    const name = `java_${snake(api.name)}_v${f.apiVersion}_${client}${variant}${
      n > 0 ? `_${n + 1}` : ""
    }`
      .toLowerCase();
    const response = frames.find((r) =>
      r.direction === "response" && r.connection === f.connection &&
      r.correlationId === f.correlationId
    );
    chosen.push({
      entry: {
        name,
        api: api.name,
        apiKey: f.apiKey,
        version: f.apiVersion,
        correlationId: f.correlationId,
        clientId: f.clientId,
        request: `${name}.request.bin`,
        response: response ? `${name}.response.bin` : null,
      },
      request: f.bytes,
      response: response?.bytes,
    });
  }
  return chosen;
}

/** Whether a Java ApiVersions request (v5+) names the cluster and node it expects. */
function checksCluster(f: RecordedFrame): boolean {
  if (f.apiVersion < 5) return false;
  const h = decodeRequestHeader(f.bytes);
  h.reader.uvarint(); // request header v2 tagged fields
  const body = compile(ApiVersionsApi.request, f.apiVersion).decode(h.reader);
  return body.clusterId !== null;
}

function snake(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** The Kafka version of the broker and tools (`scripts/kafka.sh` picks both). */
async function kafkaVersion(): Promise<string> {
  const fromEnv = Deno.env.get("KAFKA_VERSION") ?? Deno.env.get("SLUICE_KAFKA_VERSION");
  if (fromEnv) return fromEnv;
  const out = await new Deno.Command("bash", { args: [kafkaScript(), "libs"], stderr: "inherit" })
    .output();
  const libs = new TextDecoder().decode(out.stdout).trim();
  const version = libs.match(/kafka-([^/]+)\/libs$/)?.[1];
  if (!version) throw new Error(`cannot tell the Kafka version from ${libs}`);
  return version;
}

async function main() {
  const { host, port, out } = parseArgs();
  const bootstrap = `${host}:${port}`;
  await Deno.mkdir(out, { recursive: true });
  const client = await RawClient.connect(host, port);
  let facts: Record<string, unknown>;
  let java: RecordedFrame[];
  try {
    facts = await captureBroker(client, bootstrap);
    const topicIds = facts.topicIds as Record<string, string>;
    java = await captureJava(host, port, () => captureAfterJava(client, topicIds));
    await captureDeletes(client);
  } finally {
    client.close();
  }
  const unsaved = new Set<string>();
  for (const f of java) {
    if (!API_BY_KEY.has(f.apiKey)) unsaved.add(`${f.apiKey} v${f.apiVersion}`);
  }
  if (unsaved.size > 0) {
    console.log(`Java requests of APIs we do not declare (not saved): ${[...unsaved].join(", ")}`);
  }
  const picked = pickJava(java);
  for (const e of client.exchanges) {
    await Deno.writeFile(`${out}/${e.entry.request}`, e.request);
    await Deno.writeFile(`${out}/${e.entry.response}`, e.response);
  }
  for (const p of picked) {
    await Deno.writeFile(`${out}/${p.entry.request}`, p.request);
    if (p.response && p.entry.response) {
      await Deno.writeFile(`${out}/${p.entry.response}`, p.response);
    }
  }
  const index = {
    description: "Frames captured from Apache Kafka by scripts/capture_golden.ts: the bytes " +
      "after the int32 size prefix. `broker`: our requests and the broker's responses; " +
      "`java`: requests written by Kafka's Java client (console consumer, admin tools) " +
      "and the broker's responses to them.",
    kafkaVersion: await kafkaVersion(),
    capturedAt: new Date().toISOString(),
    bootstrap: { host, port },
    topic: TOPIC,
    topic3: TOPIC3,
    group: GROUP,
    offsetsGroup: OFFSETS_GROUP,
    javaGroup: JAVA_GROUP,
    javaKip848Group: JAVA_KIP848_GROUP,
    ...facts,
    broker: client.exchanges.map((e) => e.entry),
    java: picked.map((p) => p.entry),
  };
  await Deno.writeTextFile(`${out}/index.json`, JSON.stringify(index, null, 2) + "\n");
  console.log(
    `Wrote ${client.exchanges.length} broker exchanges and ${picked.length} Java requests to ${out}`,
  );
}

if (import.meta.main) await main();
