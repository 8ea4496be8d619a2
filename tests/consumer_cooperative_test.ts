// Cooperative rebalancing (KIP-429) with the "cooperative-sticky" assignor:
// a joining member takes partitions without stopping the others — the owner
// revokes only what moves, keeps fetching and delivering the rest (their
// batches stay ackable), and a follow-up rebalance hands the moved ones out.
// Also: Java's two-bounce upgrade from an eager assignor, and the error a
// cooperative-only member gets in an eager-only group.

import assert from "node:assert/strict";
import { Consumer, KafkaProtocolError, type RecordBatch } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import {
  BatchReader,
  closeAll,
  owned,
  ReadLoop,
  splitProblem,
  Tally,
  waitFor,
} from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";
import { endsAt, loggedListeners, partitionKeys, produceRound } from "./_group_helpers.ts";

suiteTest(
  "cooperative-sticky: a joining member takes half; the owner revokes only those, keeps the rest without a gap, and a batch of a kept partition stays ackable",
  async (t) => {
    const topic = await t.newTopic("coop-join", 4);
    const groupId = uniqueName("coop-join");
    await produceRound(t, topic, 4, "r1", 20);
    const events: string[] = [];
    const base = { groupId, topics: [topic], assignors: ["cooperative-sticky" as const] };
    const c1 = new Consumer(t.options({ ...base, ...loggedListeners("c1", events) }));
    const tally = new Tally();
    let c2: ReadLoop | undefined;
    const reader = new BatchReader(c1.readable);
    let held: RecordBatch | undefined;
    let readError: unknown;
    let reading = true;
    // c1 is read throughout; the first batch of partition 0 is held unacked.
    const loop = (async () => {
      try {
        while (reading) {
          const b = await reader.next(200);
          if (b === null) return;
          if (b === undefined) continue;
          tally.add(b, "c1");
          if (b.partition === 0 && held === undefined) held = b;
          else b.ack();
        }
      } catch (e) {
        readError = e;
      }
    })();
    const snapshots: string[][] = [];
    const sampler = setInterval(() => snapshots.push(owned(c1)), 20);
    try {
      await waitFor(
        "c1 to own the 4 partitions and read round 1",
        () => owned(c1).length === 4 && tally.complete(endsAt(topic, 4, 20)),
        30_000,
        { describe: () => tally.summary() },
      );
      assert.ok(held, "a batch of partition 0 is held");
      const start = snapshots.length;

      c2 = new ReadLoop(
        new Consumer(t.options({ ...base, ...loggedListeners("c2", events) })),
        tally,
        "c2",
      );
      await waitFor(
        "2 partitions each, no overlap",
        () =>
          splitProblem([c1, c2!.consumer], partitionKeys(topic, 4)) === undefined &&
          owned(c1).length === 2 && owned(c2!.consumer).length === 2,
        30_000,
        { describe: () => `c1 ${owned(c1)}; c2 ${owned(c2!.consumer)}; ${events.join("; ")}` },
      );
      await produceRound(t, topic, 4, "r2", 20);
      await waitFor("both rounds read", () => tally.complete(endsAt(topic, 4, 40)), 30_000, {
        describe: () => tally.summary(),
      });

      // The owner kept partitions 0 and 1 (Java's choice: lowest partitions
      // first) and they never left its assignment, not for one sample.
      assert.deepEqual(owned(c1), [`${topic}-0`, `${topic}-1`]);
      const during = snapshots.slice(start);
      assert.ok(during.length > 10);
      for (const s of during) {
        assert.ok(s.includes(`${topic}-0`) && s.includes(`${topic}-1`), `c1 owned only ${s}`);
      }
      // Same incarnation: the batch delivered before the rebalance is still ackable.
      assert.equal(held!.ack(), true, "a kept partition's batch stays ackable");
      const of = (name: string) => events.filter((e) => e.startsWith(`${name} `));
      const moved = `[${topic}-2,${topic}-3]`;
      assert.deepEqual(of("c1"), [
        `c1 assigned [${partitionKeys(topic, 4).join(",")}]`,
        `c1 revoked ${moved}`,
        // As Java: onAssigned on every rebalance (here with nothing new: the
        // round that revoked, then the follow-up), onRevoked only when
        // something goes.
        "c1 assigned []",
        "c1 assigned []",
      ]);
      // c2's first round gives it nothing: the moving partitions are withheld
      // until c1 has revoked them; the follow-up rebalance hands them over.
      assert.deepEqual(of("c2"), ["c2 assigned []", `c2 assigned ${moved}`]);
      assert.ok(events.indexOf(`c1 revoked ${moved}`) < events.indexOf(`c2 assigned ${moved}`));
      assert.deepEqual(tally.duplicates(), [], "a cooperative handover delivers nothing twice");
      assert.equal(readError, undefined);
      assert.equal(c2.error, undefined);

      clearInterval(sampler);
      reading = false;
      await loop;
      await c1.close();
      await c2.stop();
      // Kafka's own tool: every partition committed to the end, p0 included
      // (its held batch was acked after the rebalance, in the same incarnation).
      const group = await t.groupDescription(groupId);
      assert.deepEqual(group.rows.map((r) => r.currentOffset), [40n, 40n, 40n, 40n], group.output);
    } finally {
      clearInterval(sampler);
      reading = false;
      await closeAll(c1, c2?.consumer);
      await loop;
    }
  },
);

suiteTest(
  "A group upgrades from range to cooperative-sticky by Java's two bounces, reading everything once",
  async (t) => {
    const topic = await t.newTopic("coop-upgrade", 4);
    const groupId = uniqueName("coop-upgrade");
    const tally = new Tally();
    const member = (name: string, assignors: ("range" | "cooperative-sticky")[]) =>
      new ReadLoop(new Consumer(t.options({ groupId, topics: [topic], assignors })), tally, name);
    let loops = [member("a0", ["range"]), member("b0", ["range"])];
    const steps: [string, ("range" | "cooperative-sticky")[], string][] = [
      ["a1", ["range", "cooperative-sticky"], "range"],
      ["b1", ["range", "cooperative-sticky"], "range"],
      ["a2", ["cooperative-sticky"], "cooperative-sticky"],
      ["b2", ["cooperative-sticky"], "cooperative-sticky"],
    ];
    try {
      let round = 0;
      const settle = async (protocol: string) => {
        const consumers = loops.map((l) => l.consumer);
        await waitFor(
          `a stable ${protocol} group of 2 with 2 partitions each`,
          async () => {
            if (splitProblem(consumers, partitionKeys(topic, 4)) !== undefined) return false;
            if (!consumers.every((c) => owned(c).length === 2)) return false;
            const g = await consumers[0].describeGroup();
            return g.state === "Stable" && g.protocol === protocol;
          },
          30_000,
          { describe: () => loops.map((l) => `${l.name}: ${owned(l.consumer)}`).join("; ") },
        );
        round++;
        await produceRound(t, topic, 4, `r${round}`, 10);
        await waitFor(
          `round ${round}`,
          () => tally.complete(endsAt(topic, 4, 10 * round)),
          30_000,
          {
            describe: () => tally.summary(),
          },
        );
      };
      await settle("range");
      for (const [name, assignors, protocol] of steps) {
        // Roll one member: the old one closes cleanly, its successor joins.
        const i = name.startsWith("a") ? 0 : 1;
        await loops[i].stop();
        loops = loops.map((l, j) => (j === i ? member(name, assignors) : l));
        await settle(protocol);
      }
      assert.deepEqual(tally.duplicates(), [], "clean rolls deliver nothing twice");
      for (const l of loops) assert.equal(l.error, undefined, `${l.name}: ${l.error}`);
    } finally {
      await Promise.all(loops.map((l) => l.stop().catch(() => {})));
      await closeAll(...loops.map((l) => l.consumer));
    }
  },
);

suiteTest(
  "A cooperative-sticky-only member cannot join a range-only group: INCONSISTENT_GROUP_PROTOCOL, as Java",
  async (t) => {
    const topic = await t.newTopic("coop-mix", 2);
    const groupId = uniqueName("coop-mix");
    const tally = new Tally();
    const eager = new ReadLoop(
      new Consumer(t.options({ groupId, topics: [topic], assignors: ["range"] })),
      tally,
      "eager",
    );
    let coop: ReadLoop | undefined;
    try {
      await waitFor(
        "the range member to own both partitions",
        () => owned(eager.consumer).length === 2,
        30_000,
      );
      coop = new ReadLoop(
        new Consumer(t.options({ groupId, topics: [topic], assignors: ["cooperative-sticky"] })),
        tally,
        "coop",
      );
      await waitFor(
        "the cooperative member's stream to end",
        () => coop!.error !== undefined,
        30_000,
      );
      assert.ok(coop.error instanceof KafkaProtocolError, String(coop.error));
      assert.equal(coop.error.errorName, "INCONSISTENT_GROUP_PROTOCOL");
      assert.equal(owned(eager.consumer).length, 2, "the group goes on without it");
      assert.equal(eager.error, undefined);
    } finally {
      await eager.stop().catch(() => {});
      await closeAll(eager.consumer, coop?.consumer);
    }
  },
);
