// Online migration between the group protocols (KIP-848's upgrade path) on
// real Kafka 4.x: a group of two classic members is rolled, member by member,
// to groupProtocol "consumer" — the group turns into a consumer-type group
// while a classic member is still in it — and then rolled back, the group
// turning classic again when its last consumer-protocol member leaves. Each
// member is closed cleanly (commits, leaves) and replaced; between the steps
// a round of records is produced. Nothing may be lost at any step, and
// Kafka's own consumer-groups tool must see every partition committed to
// the end; as every hand-over is clean, nothing may be read twice either. (The test brokers keep Kafka 4.x's default
// group.consumer.migration.policy, bidirectional.)

import assert from "node:assert/strict";
import { Consumer, type ConsumerOptions } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import {
  closeAll,
  CONSUMER_PROTOCOL,
  owned,
  ReadLoop,
  splitProblem,
  Tally,
  waitFor,
} from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";
import { endsAt, loggedListeners, partitionKeys, produceRound } from "./_group_helpers.ts";

const PARTITIONS = 4;
const PER_ROUND = 20;

type Protocol = NonNullable<ConsumerOptions["groupProtocol"]>;

suiteTest(
  "a group rolled from the classic to the consumer protocol member by member, and back, keeps consuming: nothing lost, everything committed",
  async (t) => {
    const topic = await t.newTopic("kip848-migrate", PARTITIONS);
    const groupId = uniqueName("kip848-migrate");
    const all = partitionKeys(topic, PARTITIONS);
    const tally = new Tally();
    const events: string[] = [];
    let started = 0;
    const member = (protocol: Protocol) => {
      const name = `${protocol}${++started}`;
      return new ReadLoop(
        new Consumer(t.options({
          groupId,
          topics: [topic],
          ...(protocol === "consumer"
            ? {
              ...CONSUMER_PROTOCOL,
            }
            : { groupProtocol: "classic" }),
          ...loggedListeners(name, events),
        })),
        tally,
        name,
      );
    };
    let round = 0;
    /** Produces a round and waits until the two members have read everything so far. */
    const roundRead = async (what: string, pair: ReadLoop[]) => {
      await waitFor(
        `${what}: the two members to split the partitions`,
        () =>
          splitProblem(pair.map((l) => l.consumer), all) === undefined &&
          pair.every((l) => owned(l.consumer).length > 0),
        60_000,
        { describe: () => events.slice(-12).join("; ") },
      );
      round++;
      await produceRound(t, topic, PARTITIONS, `r${round}`, PER_ROUND);
      await waitFor(
        `${what}: round ${round} read`,
        () => tally.complete(endsAt(topic, PARTITIONS, round * PER_ROUND)),
        60_000,
        { describe: () => `${tally.summary()}; ${events.slice(-12).join("; ")}` },
      );
      for (const l of pair) assert.equal(l.error, undefined, `${what}: ${l.error}`);
    };
    const typeOf = async (l: ReadLoop) => (await l.consumer.describeGroup()).type;
    /** Closes `old` cleanly (it commits and leaves), then starts its replacement. */
    const roll = async (old: ReadLoop, to: Protocol) => {
      await old.stop();
      await closeAll(old.consumer);
      return member(to);
    };
    const live: ReadLoop[] = [];
    try {
      live.push(member("classic"), member("classic"));
      await roundRead("two classic members", live);
      assert.equal(await typeOf(live[0]), "classic");

      live[0] = await roll(live[0], "consumer");
      await roundRead("one consumer-protocol member, one classic", live);
      assert.equal(await typeOf(live[0]), "consumer", "the group turned consumer-type");

      live[1] = await roll(live[1], "consumer");
      await roundRead("two consumer-protocol members", live);

      live[0] = await roll(live[0], "classic");
      await roundRead("rolling back: one classic member, one consumer-protocol", live);

      live[1] = await roll(live[1], "classic");
      await roundRead("rolled back: two classic members", live);
      assert.equal(await typeOf(live[1]), "classic", "the group turned classic again");

      for (const l of live) await l.stop();
      await closeAll(...live.map((l) => l.consumer));
      // Kafka's own tool: every partition committed to the end of the last round.
      const described = await t.groupDescription(groupId);
      assert.deepEqual(
        described.rows.map((r) => r.currentOffset),
        Array(PARTITIONS).fill(BigInt(round * PER_ROUND)),
        described.output,
      );
      // Every hand-over was clean (revoke, commit, leave): nothing twice, nothing lost.
      assert.deepEqual(tally.duplicates(), [], "a clean roll delivers nothing twice");
      assert.deepEqual(events.filter((e) => e.includes(" lost ")), []);
    } finally {
      await Promise.all(live.map((l) => l.stop().catch(() => {})));
      await closeAll(...live.map((l) => l.consumer));
    }
  },
  { targets: ["kafka"] },
);
