// A consumer-protocol (KIP-848) group as the admin APIs see it, on real
// Kafka and on the embedded cluster alike: ListGroups types it "consumer",
// ConsumerGroupDescribe describes it (DescribeGroups does not), DeleteGroups
// refuses it while it has members, its committed offsets are the group's
// (an empty consumer group becomes a classic one for a classic member, which
// starts from those offsets), and it can be deleted once empty.

import assert from "node:assert/strict";
import { Admin, Consumer, KafkaProtocolError } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import {
  closeAll,
  CONSUMER_PROTOCOL,
  owned,
  ReadLoop,
  Tally,
  waitFor,
} from "./_consumer_helpers.ts";
import { endsAt, produceRound } from "./_group_helpers.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  "groupProtocol consumer: listed as a consumer group, described, not deletable with members; its offsets serve a classic member once it is empty; then deleted",
  async (t) => {
    const topic = await t.newTopic("kip848-admin", 2);
    const groupId = uniqueName("kip848-admin");
    await produceRound(t, topic, 2, "r1", 10);
    const admin = new Admin({ brokers: t.bootstrap.split(",") });
    const tally = new Tally();
    const modern = new ReadLoop(
      new Consumer(t.options({
        groupId,
        topics: [topic],
        ...CONSUMER_PROTOCOL,
        autoOffsetReset: "earliest",
      })),
      tally,
      "modern",
    );
    let classic: ReadLoop | undefined;
    try {
      await waitFor(
        "the member to own both partitions and read round 1",
        () => owned(modern.consumer).length === 2 && tally.complete(endsAt(topic, 2, 10)),
        30_000,
        { describe: () => tally.summary() },
      );
      await waitFor("the group to be Stable", async () => {
        const listed = (await admin.listGroups()).find((g) => g.groupId === groupId);
        return listed?.state === "Stable" ? listed : undefined;
      }, 20_000);
      const listed = (await admin.listGroups()).find((g) => g.groupId === groupId)!;
      assert.equal(listed.type, "consumer");
      assert.equal(listed.protocolType, "consumer");
      assert.ok(
        !(await admin.listGroups({ types: ["classic"] })).some((g) => g.groupId === groupId),
        "not listed as classic",
      );
      const [described] = await admin.describeGroups([groupId]);
      assert.equal(described.type, "consumer");
      assert.equal(described.members.length, 1);
      assert.deepEqual(
        described.members[0].assignment.map((p) => `${p.topic}:${p.partition}`).sort(),
        [`${topic}:0`, `${topic}:1`],
      );
      await assert.rejects(
        () => admin.deleteGroups([groupId]),
        (e) => e instanceof KafkaProtocolError && e.errorName === "NON_EMPTY_GROUP",
      );
      await modern.stop();
      await modern.consumer.close();
      await waitFor("the group to be Empty", async () => {
        const g = (await admin.listGroups()).find((x) => x.groupId === groupId);
        return g?.state === "Empty";
      }, 20_000);
      const offsets = await admin.groupOffsets(groupId);
      assert.deepEqual(offsets.map((o) => o.committed), [10n, 10n]);

      // A classic member takes the empty group over and starts from its offsets.
      await produceRound(t, topic, 2, "r2", 10);
      classic = new ReadLoop(
        new Consumer(t.options({ groupId, topics: [topic], autoOffsetReset: "earliest" })),
        tally,
        "classic",
      );
      await waitFor(
        "the classic member to read round 2",
        () => tally.complete(endsAt(topic, 2, 20)),
        30_000,
        { describe: () => tally.summary() },
      );
      assert.deepEqual(tally.duplicates(), [], "the classic member started from the commits");
      assert.equal((await classic.consumer.describeGroup()).type, "classic");
      await classic.stop();
      await classic.consumer.close();
      await admin.deleteGroups([groupId]);
      await assert.rejects(
        () => admin.describeGroups([groupId]),
        (e) => e instanceof KafkaProtocolError && e.errorName === "GROUP_ID_NOT_FOUND",
      );
      assert.equal(modern.error, undefined);
      assert.equal(classic.error, undefined);
    } finally {
      await Promise.all([modern, classic].map((l) => l?.stop().catch(() => {})));
      await closeAll(modern.consumer, classic?.consumer);
      await admin.close();
    }
  },
);
