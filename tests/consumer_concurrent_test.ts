// processConcurrently() on a real stream: many records at once, each key in
// order, and commits only of the completed prefix, on both targets.

import assert from "node:assert/strict";
import { Consumer, processConcurrently, Producer } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { waitFor } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";

suiteTest(
  "processConcurrently() keeps each key's order and commits everything it completed",
  async (t) => {
    const topic = await t.newTopic("concurrent", 3);
    const groupId = uniqueName("concurrent");
    const n = 300;
    {
      await using producer = new Producer({ brokers: t.bootstrap, lingerMs: 5 });
      await producer.send(
        Array.from({ length: n }, (_, i) => ({ topic, key: `k${i % 10}`, value: String(i) })),
      );
    }
    const consumer = new Consumer(t.options({ groupId, topics: [topic] }));
    const seen = new Map<string, number[]>();
    let running = 0;
    let most = 0;
    let done = 0;
    const piping = consumer.readable.pipeTo(processConcurrently(async (record) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      const key = new TextDecoder().decode(record.key!);
      const list = seen.get(key) ?? [];
      list.push(Number(new TextDecoder().decode(record.value!)));
      seen.set(key, list);
      running--;
      done++;
    }, { concurrency: 32, order: "key" }));
    await waitFor("every record processed", () => done === n || null, 30_000, {
      describe: () => `${done} of ${n} processed`,
    });
    await consumer.close();
    await piping;
    assert.ok(most > 1 && most <= 32, `${most} at once`);
    for (const [key, values] of seen) {
      assert.deepEqual(values, [...values].sort((a, b) => a - b), `${key} in order`);
    }
    const group = await t.groupDescription(groupId);
    const committed = group.rows.reduce((s, r) => s + Number(r.currentOffset ?? 0n), 0);
    assert.equal(committed, n, group.output);
  },
);
