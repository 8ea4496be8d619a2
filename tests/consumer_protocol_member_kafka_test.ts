/**
 * What the KIP-848 group coordinator of a real Kafka broker does with what
 * sluice sends as a consumer-protocol member, checked with raw
 * ConsumerGroupHeartbeats (the membership loop is not involved):
 *
 * - `toBrokerRegex()` output as `subscribedTopicRegex`: the broker assigns
 *   exactly the topics `RegExp.test()` accepts (anchored, unanchored, `i`,
 *   alternations);
 * - OffsetFetch with the member's id and epoch: the right epoch answers,
 *   any other STALE_MEMBER_EPOCH (StaleMemberEpochError; Kafka 4.4 says so
 *   for newer epochs too), an unknown member UNKNOWN_MEMBER_ID
 *   (MemberLostError): never an empty or partial set of offsets.
 */

import assert from "node:assert/strict";
import { Admin } from "../mod.ts";
import { Cluster } from "../src/net/cluster.ts";
import {
  GroupClient,
  type MemberIdentity,
  MemberLostError,
  StaleMemberEpochError,
} from "../src/net/group_client.ts";
import {
  ConsumerGroupHeartbeatApi,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
} from "../src/protocol/messages/consumer_group_heartbeat.ts";
import { KafkaProtocolError } from "../src/protocol/errors.ts";
import { toBrokerRegex } from "../src/options/broker_regex.ts";
import { brokers, uniqueName } from "./_kafka.ts";
import { sleep } from "./_consumer_helpers.ts";

/** One raw consumer-protocol member of `groupId`. */
class RawMember {
  readonly memberId = crypto.randomUUID().replaceAll("-", "").slice(0, 22);
  epoch = 0;
  owned: { topicId: string; partitions: number[] }[] = [];
  readonly #group: GroupClient;

  constructor(group: GroupClient) {
    this.#group = group;
  }

  async heartbeat(
    extra: Partial<ConsumerGroupHeartbeatRequest> = {},
  ): Promise<ConsumerGroupHeartbeatResponse> {
    const res = await this.#group.run("heartbeat", (conn) =>
      conn.send(ConsumerGroupHeartbeatApi, {
        groupId: this.#group.groupId,
        memberId: this.memberId,
        memberEpoch: this.epoch,
        topicPartitions: this.owned,
        ...extra,
      }, { version: conn.version(ConsumerGroupHeartbeatApi) }));
    if (res.errorCode !== 0) {
      throw KafkaProtocolError.from(res.errorCode, {
        apiName: "ConsumerGroupHeartbeat",
        errorMessage: res.errorMessage ?? undefined,
      });
    }
    this.epoch = res.memberEpoch;
    // Owning at once whatever is handed out (nothing to revoke: one member).
    if (res.assignment !== null) this.owned = res.assignment.topicPartitions;
    return res;
  }

  identity(epoch = this.epoch, memberId = this.memberId): MemberIdentity {
    return { generationId: epoch, memberId, groupInstanceId: null };
  }

  async leave(): Promise<void> {
    await this.heartbeat({ memberEpoch: -1, topicPartitions: null }).catch(() => {});
  }
}

Deno.test("[kafka] the coordinator assigns exactly the topics the RegExp accepts, through toBrokerRegex()", async () => {
  await using admin = new Admin({ brokers: brokers() });
  const prefix = uniqueName("k848re").replaceAll("-", "_");
  const names = ["orders", "orders_eu", "ORDERS_us", "refunds", "x_orders", "orders.v2"];
  const topics = names.map((n) => `${prefix}_${n}`);
  await admin.createTopics(topics.map((name) => ({ name, partitions: 1 })));
  const cluster = new Cluster({ brokers: brokers().split(",") });
  const stop = new AbortController();
  const escaped = prefix.replace(/[.]/g, "\\.");
  const patterns = [
    new RegExp(`^${escaped}_orders`), // orders, orders_eu, orders.v2
    new RegExp(`^${escaped}_orders$`), // orders only
    new RegExp(`^${escaped}_orders_(eu|us)$`, "i"), // orders_eu, ORDERS_us
    new RegExp(`${escaped}_x_orders|^${escaped}_refunds$`), // x_orders, refunds
    new RegExp(`${escaped}_orders\\.v\\d`), // orders.v2
  ];
  try {
    await cluster.refreshMetadata(topics);
    for (const [i, re] of patterns.entries()) {
      const expected = topics.filter((t) => re.test(t)).sort();
      assert.ok(expected.length > 0, String(re));
      const group = new GroupClient(cluster, `${prefix}-g${i}`, stop.signal);
      const member = new RawMember(group);
      const regex = toBrokerRegex(re);
      try {
        await member.heartbeat({
          rebalanceTimeoutMs: 30_000,
          subscribedTopicNames: [],
          subscribedTopicRegex: regex,
        });
        // The broker resolves a regex in the background: heartbeat until it has.
        let got: string[] = [];
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          got = member.owned.map((t) => cluster.topicName(t.topicId) ?? `id ${t.topicId}`).sort();
          if (got.join() === expected.join()) break;
          await sleep(300);
          await member.heartbeat();
        }
        assert.deepEqual(got, expected, `${re} sent as ${regex}`);
        const [d] = await admin.describeGroups([group.groupId]);
        assert.equal(d.members[0].subscribedTopicRegex, regex);
      } finally {
        await member.leave();
      }
    }
  } finally {
    stop.abort();
    await cluster.close();
    await admin.deleteTopics(topics).catch(() => {});
  }
});

Deno.test("[kafka] OffsetFetch as a member: its epoch answers; another is STALE (retried), an unknown member lost", async () => {
  await using admin = new Admin({ brokers: brokers() });
  const topic = uniqueName("k848of");
  await admin.createTopics([{ name: topic, partitions: 2 }]);
  const cluster = new Cluster({ brokers: brokers().split(",") });
  const stop = new AbortController();
  const group = new GroupClient(cluster, uniqueName("k848of-g"), stop.signal);
  const member = new RawMember(group);
  const partitions = [0, 1].map((partition) => ({ topic, partition }));
  try {
    await cluster.refreshMetadata([topic]);
    await member.heartbeat({
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: [topic],
    });
    const deadline = Date.now() + 30_000;
    while (member.owned.flatMap((t) => t.partitions).length < 2 && Date.now() < deadline) {
      await sleep(200);
      await member.heartbeat();
    }
    assert.ok(member.epoch > 0, `epoch ${member.epoch}`);
    await group.commitOffsets([{ topic, partition: 0, offset: 3n }], member.identity());

    const offsets = await group.fetchOffsets(partitions, () => member.identity());
    assert.deepEqual([...offsets.values()], [3n, null]);

    await assert.rejects(
      group.fetchOffsets(partitions, () => member.identity(member.epoch - 1), { attempts: 1 }),
      (e: unknown) => e instanceof StaleMemberEpochError && e.memberEpoch === member.epoch - 1,
    );
    // Kafka 4.4 (ConsumerGroup.validateMemberEpoch) answers STALE_MEMBER_EPOCH to any
    // epoch that is not the member's, newer ones too: retried like an older one.
    await assert.rejects(
      group.fetchOffsets(partitions, () => member.identity(member.epoch + 1), { attempts: 1 }),
      (e: unknown) => e instanceof StaleMemberEpochError && e.memberEpoch === member.epoch + 1,
    );
    await assert.rejects(
      group.fetchOffsets(partitions, () => member.identity(member.epoch, "nobody-here")),
      (e: unknown) => e instanceof MemberLostError && e.errorName === "UNKNOWN_MEMBER_ID",
    );
    // A stale epoch the next heartbeat refreshes: retried with the new one.
    let epoch = member.epoch - 1;
    setTimeout(() => epoch = member.epoch, 200);
    const retried = await group.fetchOffsets(partitions, () => member.identity(epoch));
    assert.deepEqual([...retried.values()], [3n, null]);
  } finally {
    await member.leave();
    stop.abort();
    await cluster.close();
    await admin.deleteTopics([topic]).catch(() => {});
  }
});
