// GroupClient's OffsetFetch as a consumer-protocol member (KIP-848): the
// member id and epoch go out only when given and only in versions that have
// them; STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID and FENCED_MEMBER_EPOCH answers
// (injected through the embedded cluster's fault rules, as Kafka sends them:
// a group-level code, no topics) surface typed and never as a map of
// offsets with entries missing (which a caller would read as "no committed
// offset" and reset).
import assert from "node:assert/strict";
import { EmbeddedCluster } from "../../testing.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { KafkaProtocolError } from "../protocol/errors.ts";
import type { OffsetFetchResponse } from "../protocol/messages/offset_fetch.ts";
import { Cluster } from "./cluster.ts";
import {
  GroupClient,
  type MemberIdentity,
  MemberLostError,
  StaleMemberEpochError,
} from "./group_client.ts";

const GROUP = "g848";
const PARTITIONS = [0, 1, 2].map((partition) => ({ topic: "t", partition }));

interface Setup {
  cluster: EmbeddedCluster;
  client: Cluster;
  group: GroupClient;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A cluster with topic "t" (3 partitions), offsets 10, 11 committed for 0 and 1 (2 has none). */
async function setup(
  options: Parameters<typeof EmbeddedCluster.start>[0] = {},
): Promise<Setup> {
  const cluster = await EmbeddedCluster.start({ brokers: 1, ...options });
  await cluster.createTopic("t", { partitions: 3 });
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  await client.refreshMetadata(["t"]);
  const stop = new AbortController();
  const group = new GroupClient(client, GROUP, stop.signal, 5, { initialMs: 5, maxMs: 20 });
  await group.commitOffsets([
    { topic: "t", partition: 0, offset: 10n },
    { topic: "t", partition: 1, offset: 11n },
  ], { generationId: -1, memberId: "", groupInstanceId: null });
  return {
    cluster,
    client,
    group,
    async [Symbol.asyncDispose]() {
      stop.abort();
      await client.close();
      await cluster.close();
    },
  };
}

const EXPECTED = new Map([["t\u00000", 10n], ["t\u00001", 11n], ["t\u00002", null]]);

/** The member at `epoch()`: read again before each attempt, as fetchOffsets does. */
function member(epoch: () => number): () => MemberIdentity {
  return () => ({ generationId: epoch(), memberId: "m-1", groupInstanceId: null });
}

/** Answers the next `times` OffsetFetch requests with `code` at group level and no topics. */
function refuse(cluster: EmbeddedCluster, code: number, times?: number) {
  return cluster.intercept({
    apiKey: "OffsetFetch",
    times,
    action: {
      rewrite: (res) => {
        const r = res as unknown as OffsetFetchResponse;
        for (const g of r.groups) {
          g.errorCode = code;
          g.topics = [];
        }
      },
    },
  });
}

function keysOf(map: Map<string, bigint | null>): Map<string, bigint | null> {
  return new Map([...map].sort(([a], [b]) => a < b ? -1 : 1));
}

Deno.test("GroupClient.fetchOffsets() sends the member id and epoch only when given", async () => {
  await using s = await setup();
  const seen = s.cluster.intercept({ apiKey: "OffsetFetch", action: { observe: true } });
  assert.deepEqual(keysOf(await s.group.fetchOffsets(PARTITIONS)), EXPECTED);
  assert.deepEqual(keysOf(await s.group.fetchOffsets(PARTITIONS, member(() => 7))), EXPECTED);
  const [outside, asMember] = seen.requests.map((r) => ({
    version: r.version,
    group: (r.body.groups as { memberId: string | null; memberEpoch: number }[])[0],
  }));
  assert.ok(outside.version >= 9, `OffsetFetch v${outside.version}`);
  assert.equal(outside.group.memberId, null);
  assert.equal(outside.group.memberEpoch, -1);
  assert.equal(asMember.group.memberId, "m-1");
  assert.equal(asMember.group.memberEpoch, 7);
});

Deno.test("GroupClient.fetchOffsets() below OffsetFetch v9 fetches without the member fields", async () => {
  await using s = await setup({ advertisedVersions: { OffsetFetch: { min: 1, max: 8 } } });
  const seen = s.cluster.intercept({ apiKey: "OffsetFetch", action: { observe: true } });
  assert.deepEqual(keysOf(await s.group.fetchOffsets(PARTITIONS, member(() => 7))), EXPECTED);
  assert.equal(seen.requests[0].version, 8);
});

Deno.test("GroupClient.fetchOffsets() retries STALE_MEMBER_EPOCH with the epoch a heartbeat brought", async () => {
  await using s = await setup();
  const seen = s.cluster.intercept({ apiKey: "OffsetFetch", action: { observe: true } });
  const rule = refuse(s.cluster, ErrorCode.STALE_MEMBER_EPOCH, 1);
  let epoch = 3;
  // The heartbeat answers with epoch 4 a little later.
  const heartbeat = setTimeout(() => epoch = 4, 30);
  const offsets = await s.group.fetchOffsets(PARTITIONS, member(() => epoch), {
    epochWaitMs: 2000,
  });
  clearTimeout(heartbeat);
  assert.equal(rule.hits, 1);
  assert.deepEqual(keysOf(offsets), EXPECTED);
  const epochs = seen.requests.map((r) => (r.body.groups as { memberEpoch: number }[])[0]);
  assert.deepEqual(epochs.map((g) => g.memberEpoch), [3, 4]);
});

Deno.test("GroupClient.fetchOffsets() gives STALE_MEMBER_EPOCH up after its attempts, typed, with no offsets", async () => {
  await using s = await setup();
  const rule = refuse(s.cluster, ErrorCode.STALE_MEMBER_EPOCH);
  const started = Date.now();
  await assert.rejects(
    s.group.fetchOffsets(PARTITIONS, member(() => 3), { attempts: 3, epochWaitMs: 50 }),
    (e: unknown) => {
      assert.ok(e instanceof StaleMemberEpochError, String(e));
      assert.equal(e.errorName, "STALE_MEMBER_EPOCH");
      assert.equal(e.memberEpoch, 3);
      assert.equal(e.retriable, true);
      assert.equal(e.apiName, "OffsetFetch");
      assert.equal(e.groupId, GROUP);
      return true;
    },
  );
  assert.equal(rule.hits, 3);
  // Each retry waited for the epoch to move (bounded), no tight loop.
  assert.ok(Date.now() - started >= 100, `${Date.now() - started} ms`);
});

for (const code of [ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_MEMBER_EPOCH]) {
  Deno.test(`GroupClient.fetchOffsets() answered code ${code}: MemberLostError at once, no offsets`, async () => {
    await using s = await setup();
    const rule = refuse(s.cluster, code);
    await assert.rejects(
      s.group.fetchOffsets(PARTITIONS, member(() => 5)),
      (e: unknown) => {
        assert.ok(e instanceof MemberLostError, String(e));
        assert.equal(e.code, code);
        assert.equal(e.memberEpoch, 5);
        return true;
      },
    );
    assert.equal(rule.hits, 1);
  });
}

Deno.test("GroupClient.fetchOffsets() with the code on every entry (partitions too) is typed the same", async () => {
  await using s = await setup();
  s.cluster.intercept({
    apiKey: "OffsetFetch",
    action: { errorCode: ErrorCode.STALE_MEMBER_EPOCH },
  });
  await assert.rejects(
    s.group.fetchOffsets(PARTITIONS, member(() => 2), { attempts: 1 }),
    StaleMemberEpochError,
  );
  // Outside the group the code is not the member's: thrown as it is.
  await assert.rejects(s.group.fetchOffsets(PARTITIONS), (e: unknown) => {
    assert.ok(e instanceof KafkaProtocolError && !(e instanceof StaleMemberEpochError));
    assert.equal(e.errorName, "STALE_MEMBER_EPOCH");
    return true;
  });
});
