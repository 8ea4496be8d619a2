// The README's "Testing your pipelines without Kafka" example, verbatim but
// for the import paths, so the README cannot drift from what works.
import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";

Deno.test("billing totals the orders it reads and commits them", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 3 });
  await cluster.createTopic("orders", { partitions: 3 });
  await cluster.produce("orders", 0, [
    { key: "o-1", value: JSON.stringify({ total: 12 }) },
    { key: "o-2", value: JSON.stringify({ total: 30 }) },
  ]);

  let total = 0;
  {
    await using consumer = new Consumer({
      brokers: cluster.bootstrap.split(","),
      groupId: "billing",
      topics: ["orders"],
      autoOffsetReset: "earliest",
    });
    for await (const batch of consumer) {
      for (const r of batch.records) total += JSON.parse(new TextDecoder().decode(r.value!)).total;
      batch.ack();
      if (total >= 42) break; // leaving the block closes: what was acknowledged is committed
    }
  }
  assert.equal(total, 42);
  const committed = cluster.group("billing").committed;
  assert.equal(committed.find((c) => c.partition === 0)?.offset, 2n);
});
