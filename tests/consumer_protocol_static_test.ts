// Static membership under the consumer group protocol (KIP-848 with
// KIP-345's groupInstanceId): a static member closing leaves with epoch -2,
// so its partitions stay reserved (the other member does not get them), and
// a new consumer with the same instance id takes them back without a
// rebalance; on both targets.

import assert from "node:assert/strict";
import { uniqueName } from "./_kafka.ts";
import { closeAll, owned, type ReadLoop, Tally, waitFor } from "./_consumer_helpers.ts";
import { endsAt, produceRound, protocolMember as member } from "./_group_helpers.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  "groupProtocol consumer: a static member's partitions stay reserved while it restarts and come back to it; the other member keeps its own",
  async (t) => {
    const topic = await t.newTopic("kip848-static", 4);
    const groupId = uniqueName("kip848-static");
    await produceRound(t, topic, 4, "r1", 10);
    const tally = new Tally();
    const events: string[] = [];
    const s1 = member(t, groupId, topic, tally, "s1", { groupInstanceId: "instance-1" });
    const d = member(t, groupId, topic, tally, "d", {
      onAssigned: (ps: unknown[]) => void events.push(`assigned ${ps.length}`),
      onRevoked: (ps: unknown[]) => void events.push(`revoked ${ps.length}`),
    });
    let s1b: ReadLoop | undefined;
    try {
      await waitFor(
        "2 partitions each and round 1 read",
        () =>
          owned(s1.consumer).length === 2 && owned(d.consumer).length === 2 &&
          tally.complete(endsAt(topic, 4, 10)),
        30_000,
        { describe: () => `s1 ${owned(s1.consumer)}, d ${owned(d.consumer)}; ${tally.summary()}` },
      );
      const reserved = owned(s1.consumer);
      const dOwned = owned(d.consumer);
      const eventsBefore = events.length;
      await s1.stop();
      await s1.consumer.close();
      // The reservation holds: d gets nothing more for a while.
      await new Promise((r) => setTimeout(r, 2000));
      assert.deepEqual(owned(d.consumer), dOwned, "d did not take the reserved partitions");
      s1b = member(t, groupId, topic, tally, "s1b", { groupInstanceId: "instance-1" });
      await waitFor(
        "the new instance to own the reserved partitions",
        () => owned(s1b!.consumer).join() === reserved.join(),
        30_000,
        { describe: () => `s1b ${owned(s1b!.consumer)}, reserved ${reserved}` },
      );
      assert.deepEqual(owned(d.consumer), dOwned, "d kept its own partitions");
      assert.deepEqual(events.slice(eventsBefore), [], "no rebalance events at d");
      await produceRound(t, topic, 4, "r2", 10);
      await waitFor("round 2", () => tally.complete(endsAt(topic, 4, 20)), 30_000, {
        describe: () => tally.summary(),
      });
      assert.deepEqual(tally.duplicates(), [], "the reserved partitions resumed from the commits");
      assert.equal(d.error, undefined);
      assert.equal(s1b.error, undefined);
    } finally {
      await Promise.all([s1, d, s1b].map((l) => l?.stop().catch(() => {})));
      await closeAll(s1.consumer, d.consumer, s1b?.consumer);
    }
  },
);
