import assert from "node:assert/strict";
import { groupByTopic, partitionKey } from "./partitions.ts";

Deno.test("partitionKey() tells apart topics whose names end in digits", () => {
  assert.notEqual(partitionKey("t1", 1), partitionKey("t", 11));
  assert.equal(partitionKey("t", 1), partitionKey("t", 1));
});

Deno.test("groupByTopic() keeps the first-seen topic order and the order within a topic", () => {
  const got = groupByTopic(
    [{ topic: "b", partition: 2 }, { topic: "a", partition: 0 }, { topic: "b", partition: 1 }],
    (p) => p.partition,
  );
  assert.deepEqual([...got], [["b", [2, 1]], ["a", [0]]]);
});
