// KIP-62 liveness during a rebalance: the heartbeat task keeps the member
// alive while partitions are being revoked, even when onRevoked takes longer
// than sessionTimeoutMs (the work awaits, so the event loop is free).
// Runs on both targets: each coordinator expires silent members.

import assert from "node:assert/strict";
import { Consumer, type TopicPartition } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { BatchReader, waitFor } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  "a slow onRevoked longer than sessionTimeoutMs does not cost the member its membership",
  async (t) => {
    const topic = await t.newTopic("liveness", 2);
    for (const p of [0, 1]) await t.produceValues(topic, p, [`v${p}`]);
    const groupId = uniqueName("liveness");

    const common = {
      brokers: t.bootstrap.split(","),
      groupId,
      topics: [topic],
      autoOffsetReset: "earliest" as const,
      sessionTimeoutMs: 2000,
      heartbeatIntervalMs: 200,
      rebalanceTimeoutMs: 20000,
      fetchMaxWaitMs: 100,
      logger: (await import("../mod.ts")).consoleLogger("info"),
      closeTimeoutMs: 500, // batches are not acknowledged here: do not wait for them
    };
    let revokedSlowly = false;
    const lostA: TopicPartition[][] = [];
    const assignedB: TopicPartition[][] = [];
    const a = new Consumer({
      ...common,
      clientId: "a",
      onRevoked: async () => {
        revokedSlowly = true;
        await new Promise((r) => setTimeout(r, 4000)); // twice the session timeout
      },
      onLost: (tps) => void lostA.push(tps),
    });
    const readerA = new BatchReader(a.readable);
    (await readerA.nextBatch(10_000, "a's first batch")).ack();
    assert.equal(a.assignment().length, 2);

    const b = new Consumer({
      ...common,
      clientId: "b",
      onAssigned: (tps) => void assignedB.push(tps),
    });
    const readerB = new BatchReader(b.readable);
    try {
      await waitFor(
        "a and b to hold one partition each",
        async () => {
          (await readerA.next(50))?.ack();
          (await readerB.next(50))?.ack();
          return a.assignment().length === 1 && b.assignment().length === 1 ? true : undefined;
        },
        20_000,
        { describe: () => `a ${JSON.stringify(a.assignment())}, b ${JSON.stringify(assignedB)}` },
      );
      assert.ok(revokedSlowly, "a's onRevoked ran");
      assert.deepEqual(lostA, [], "a was never considered lost");
      assert.ok(
        assignedB.every((tps) => tps.length < 2),
        `b never got both partitions (a was not expired): ${JSON.stringify(assignedB)}`,
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  },
);
