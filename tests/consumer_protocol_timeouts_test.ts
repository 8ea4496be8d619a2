// The consumer group protocol's timeouts (KIP-848), enforced by the
// coordinator: a member that does not revoke within its rebalance timeout
// is fenced and its partitions go to the others (both targets); a member
// whose heartbeats stop reaching the coordinator is expired after the
// broker's session timeout (embedded only: Kafka's is 45 s, the embedded
// cluster's 10 s). Either way nothing is lost and the fenced member comes
// back. The member bounds its own session checks by the group's session
// timeout, read from the broker (or Kafka's default, with a warning).

import assert from "node:assert/strict";
import { Admin, type TopicPartition } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { closeAll, owned, type ReadLoop, Tally, waitFor } from "./_consumer_helpers.ts";
import { endsAt, produceRound, protocolMember as member } from "./_group_helpers.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  "groupProtocol consumer: a member that does not revoke within its rebalance timeout is fenced; the other takes its partitions; nothing lost",
  async (t) => {
    const topic = await t.newTopic("kip848-rebalance-timeout", 2);
    const groupId = uniqueName("kip848-rebalance-timeout");
    await produceRound(t, topic, 2, "r1", 10);
    const tally = new Tally();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let revoking = false;
    let lost = 0;
    const c1 = member(t, groupId, topic, tally, "c1", {
      rebalanceTimeoutMs: 2000,
      onRevoked: async (_ps: TopicPartition[]) => {
        revoking = true;
        await gate; // stuck in the handler far past the rebalance timeout
      },
      onLost: () => void lost++,
    });
    let c2: ReadLoop | undefined;
    try {
      await waitFor(
        "c1 to own both partitions and read round 1",
        () => owned(c1.consumer).length === 2 && tally.complete(endsAt(topic, 2, 10)),
        30_000,
        { describe: () => tally.summary() },
      );
      c2 = member(t, groupId, topic, tally, "c2");
      await waitFor("c1 to be asked to revoke", () => revoking, 30_000);
      const askedAt = Date.now();
      // c1 never acknowledges the revocation, so c2 can get a partition
      // only once the coordinator fenced c1 (c1 then joins again at once,
      // so c2 may hold both only for a moment).
      await waitFor(
        "c2 to own a partition while c1 is still stuck revoking",
        () => owned(c2!.consumer).length >= 1,
        30_000,
        { describe: () => `c2 owns ${owned(c2!.consumer)}` },
      );
      const waited = Date.now() - askedAt;
      assert.ok(waited >= 1500, `c2 waited for c1's rebalance timeout (${waited} ms)`);
      assert.ok(revoking, "c1 is still inside onRevoked");
      await waitFor("c1 to see it was fenced (onLost)", () => lost > 0, 30_000);
      release();
      await waitFor("c1 to be back with a share", () => owned(c1.consumer).length === 1, 30_000, {
        describe: () => `c1 ${owned(c1.consumer)}, c2 ${owned(c2!.consumer)}, lost ${lost}`,
      });
      await produceRound(t, topic, 2, "r2", 10);
      await waitFor("round 2", () => tally.complete(endsAt(topic, 2, 20)), 30_000, {
        describe: () => tally.summary(),
      });
      assert.equal(c1.error, undefined);
      assert.equal(c2.error, undefined);
    } finally {
      release();
      await Promise.all([c1, c2].map((l) => l?.stop().catch(() => {})));
      await closeAll(c1.consumer, c2?.consumer);
    }
  },
);

suiteTest(
  "groupProtocol consumer: a member whose heartbeats stop reaching the coordinator expires after the session timeout; the other takes over; nothing lost",
  async (t) => {
    const cluster = t.embedded!;
    const topic = await t.newTopic("kip848-session", 2);
    const groupId = uniqueName("kip848-session");
    await produceRound(t, topic, 2, "r1", 10);
    const tally = new Tally();
    const c1 = member(t, groupId, topic, tally, "c1");
    let c2: ReadLoop | undefined;
    try {
      await waitFor(
        "c1 to own both partitions and read round 1",
        () => owned(c1.consumer).length === 2 && tally.complete(endsAt(topic, 2, 10)),
        30_000,
      );
      c2 = member(t, groupId, topic, tally, "c2");
      await waitFor(
        "one partition each",
        () => owned(c1.consumer).length === 1 && owned(c2!.consumer).length === 1,
        30_000,
      );
      const silenced = Date.now();
      const rule = cluster.intercept({
        apiKey: "ConsumerGroupHeartbeat",
        clientId: "c1",
        action: { hang: true },
      });
      await waitFor(
        "the coordinator to expire c1",
        () => cluster.group(groupId).members.length === 1,
        30_000,
        { describe: () => JSON.stringify(cluster.group(groupId).members) },
      );
      const expiredAfter = Date.now() - silenced;
      assert.ok(
        expiredAfter >= 9000,
        `expired after the 10 s session timeout (${expiredAfter} ms)`,
      );
      await waitFor("c2 to own both", () => owned(c2!.consumer).length === 2, 30_000);
      rule.remove();
      await produceRound(t, topic, 2, "r2", 10);
      await waitFor("round 2", () => tally.complete(endsAt(topic, 2, 20)), 30_000, {
        describe: () => tally.summary(),
      });
      await waitFor(
        "c1 back in the group",
        () => cluster.group(groupId).members.length === 2,
        30_000,
      );
      assert.equal(c1.error, undefined);
      assert.equal(c2.error, undefined);
    } finally {
      await Promise.all([c1, c2].map((l) => l?.stop().catch(() => {})));
      await closeAll(c1.consumer, c2?.consumer);
    }
  },
  { targets: ["embedded"] },
);

suiteTest(
  "groupProtocol consumer: the member bounds its session by the group's consumer.session.timeout.ms; where the broker cannot say (the embedded cluster: no DescribeConfigs) it warns once and assumes Kafka's 45 s",
  async (t) => {
    const topic = await t.newTopic("kip848-session-bound", 1);
    const groupId = uniqueName("kip848-session-bound");
    await produceRound(t, topic, 1, "r1", 5);
    if (t.embedded === undefined) {
      // The group's own setting, which wins over the broker's 10 s.
      await using admin = new Admin({ brokers: t.bootstrap });
      await admin.alterConfigs([
        { type: "group", name: groupId, set: { "consumer.session.timeout.ms": "7000" } },
      ]);
    }
    const logs: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
    const tally = new Tally();
    const c = member(t, groupId, topic, tally, "c", {
      logger: {
        info: (message: string, fields?: Record<string, unknown>) =>
          logs.push({ level: "info", message, fields }),
        warn: (message: string, fields?: Record<string, unknown>) =>
          logs.push({ level: "warn", message, fields }),
      },
    });
    try {
      await waitFor("c to read round 1", () => tally.complete(endsAt(topic, 1, 5)), 30_000);
      const said = (l: { message: string }) =>
        l.message === "the group's session timeout" ||
        l.message.includes("consumer.session.timeout.ms");
      await waitFor("c to read or assume its session bound", () => logs.some(said), 30_000);
      const read = logs.filter((l) => l.message === "the group's session timeout");
      const fallback = logs.filter((l) => l.message.includes("consumer.session.timeout.ms"));
      if (t.embedded === undefined) {
        assert.deepEqual(read.map((l) => l.fields?.sessionTimeoutMs), [7000]);
        assert.deepEqual(fallback, [], "no fallback warning when the broker says");
      } else {
        assert.deepEqual(read, []);
        assert.equal(fallback.length, 1, "one warning");
        assert.equal(fallback[0].level, "warn");
        assert.match(fallback[0].message, /Kafka's default session of 45000 ms/);
      }
    } finally {
      await c.stop().catch(() => {});
      await closeAll(c.consumer);
    }
  },
);
