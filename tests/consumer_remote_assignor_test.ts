// groupRemoteAssignor observed in what the broker assigns (issue 12: an
// effect test per option). With groupProtocol "consumer" (KIP-848) the broker
// runs the assignor the member names: two members on two 1-partition topics
// get one partition each from "uniform" (balance), while "range" gives both
// partitions 0 to the same member (per topic, the partition goes to the
// first member). (The embedded cluster does not serve ConsumerGroupHeartbeat
// yet: kafka only.)

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { CONSUMER_PROTOCOL, owned, ReadLoop, Tally, waitFor } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";
import { produceRound } from "./_group_helpers.ts";

suiteTest(
  "groupRemoteAssignor: two members on two 1-partition topics: uniform gives one each, range one member both",
  async (t) => {
    const topics = [
      await t.newTopic("remote-assignor-a", 1),
      await t.newTopic("remote-assignor-b", 1),
    ];
    for (const topic of topics) await produceRound(t, topic, 1, "r", 3);
    const counts = (a: ReadLoop, b: ReadLoop) =>
      [owned(a.consumer).length, owned(b.consumer).length].sort();
    const group = async (groupRemoteAssignor: "uniform" | "range") => {
      const groupId = uniqueName(`remote-${groupRemoteAssignor}`);
      const tally = new Tally();
      const member = (name: string) =>
        new ReadLoop(
          new Consumer(t.options({
            groupId,
            topics,
            ...CONSUMER_PROTOCOL,
            groupRemoteAssignor,
          })),
          tally,
          name,
        );
      const one = member("one");
      await waitFor("the first member to own both", () => owned(one.consumer).length === 2, 20_000);
      const two = member("two");
      const protocol = await waitFor(
        "both members in the group",
        async () => {
          if (one.error || two.error) throw one.error ?? two.error;
          const g = await one.consumer.describeGroup();
          return g.members.length === 2 ? g.protocol : undefined;
        },
        30_000,
        { intervalMs: 200 },
      );
      return { one, two, protocol };
    };

    const uniform = await group("uniform");
    try {
      assert.equal(uniform.protocol, "uniform");
      await waitFor(
        "uniform: one partition each",
        () => counts(uniform.one, uniform.two).join() === "1,1",
        30_000,
        { intervalMs: 100, describe: () => `owned: ${counts(uniform.one, uniform.two)}` },
      );
    } finally {
      await Promise.all([uniform.one.stop(), uniform.two.stop()]);
    }

    const range = await group("range");
    try {
      assert.equal(range.protocol, "range");
      // The broker's heartbeat interval here is 1 s (scripts/kafka.sh): after
      // 5 s any move the assignor wants is done (range may hand both to the
      // newcomer: which member is first depends on the member ids); then the
      // split must hold.
      await new Promise((r) => setTimeout(r, 5000));
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        if (range.one.error || range.two.error) throw range.one.error ?? range.two.error;
        assert.deepEqual(
          counts(range.one, range.two),
          [0, 2],
          "range: both partitions 0 to one member",
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await Promise.all([range.one.stop(), range.two.stop()]);
    }
  },
  { targets: ["kafka"] },
);
