/**
 * The Producer's reactions to broker errors, on the embedded cluster with
 * injected faults: retried as Kafka's Java producer does (NOT_LEADER ->
 * metadata refresh, a leader that stops), or surfaced as a typed error
 * (OUT_OF_ORDER_SEQUENCE_NUMBER, a delivery timeout) after which the producer
 * still works (a new epoch).
 */

import assert from "node:assert/strict";
import { KafkaProtocolError, ProduceError, Producer, ProducerTimeoutError } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";

async function cluster(brokers = 1): Promise<EmbeddedCluster> {
  const c = await EmbeddedCluster.start({ brokers });
  await c.createTopic("t", { partitions: 1, replicationFactor: brokers });
  return c;
}

Deno.test("[embedded] NOT_LEADER_OR_FOLLOWER is retried after a metadata refresh", async () => {
  await using c = await cluster();
  const rule = c.intercept({ apiKey: "Produce", times: 2, action: { errorCode: 6 } });
  const metadata = c.intercept({ apiKey: "Metadata", action: { observe: true } });
  await using producer = new Producer({ brokers: c.bootstrap, lingerMs: 0, retryBackoffMs: 20 });
  const [m] = await producer.send([{ topic: "t", value: "v" }]);
  assert.equal(rule.hits, 2);
  // The fault overwrites answers to appends the broker made: the retries
  // are duplicates, answered with the first append's offset.
  assert.equal(m.offset, 0n);
  assert.ok(metadata.hits >= 2, `metadata asked ${metadata.hits} times`);
});

Deno.test("[embedded] a leader that stops: records go to the new leader", async () => {
  await using c = await cluster(3);
  await using producer = new Producer({ brokers: c.bootstrap, lingerMs: 0, retryBackoffMs: 20 });
  await producer.send([{ topic: "t", value: "before" }]);
  const leader = c.topic("t")!.partitions[0].leader;
  await c.stopBroker(leader);
  const [m] = await producer.send([{ topic: "t", value: "after" }]);
  assert.equal(m.offset, 1n);
  assert.notEqual(c.topic("t")!.partitions[0].leader, leader);
});

Deno.test("[embedded] OUT_OF_ORDER_SEQUENCE_NUMBER is a typed error; the next send works (new epoch)", async () => {
  await using c = await cluster();
  const init = c.intercept({ apiKey: "InitProducerId", action: { observe: true } });
  await using producer = new Producer({ brokers: c.bootstrap, lingerMs: 0 });
  await producer.send([{ topic: "t", value: "first" }]);
  c.intercept({ apiKey: "Produce", times: 1, action: { errorCode: 45 } });
  const err = await producer.send([{ topic: "t", value: "refused" }]).catch((e) => e);
  assert.ok(err instanceof ProduceError, String(err));
  const [r] = err.results;
  assert.ok(r instanceof KafkaProtocolError);
  assert.equal(r.errorName, "OUT_OF_ORDER_SEQUENCE_NUMBER");
  // The fault overwrites the answer to a request the broker served, so
  // "refused" is in the log at 1 (a real broker would not have written it).
  const [m] = await producer.send([{ topic: "t", value: "second" }]);
  assert.equal(m.offset, 2n);
  assert.equal(init.hits, 2, "a producer id, then a new epoch after the gap");
});

Deno.test("[embedded] a broker that never answers: records fail after deliveryTimeoutMs", async () => {
  await using c = await cluster();
  await using producer = new Producer({
    brokers: c.bootstrap,
    lingerMs: 0,
    requestTimeoutMs: 300,
    deliveryTimeoutMs: 1200,
    retryBackoffMs: 50,
  });
  await producer.send([{ topic: "t", value: "ok" }]);
  const hang = c.intercept({ apiKey: "Produce", action: { hang: true } });
  const started = Date.now();
  const err = await producer.send([{ topic: "t", value: "lost" }]).catch((e) => e);
  const waited = Date.now() - started;
  hang.remove();
  assert.ok(err instanceof ProduceError, String(err));
  const [r] = err.results;
  assert.ok(r instanceof ProducerTimeoutError, String(r));
  assert.match(r.message, /not delivered within deliveryTimeoutMs \(1200 ms\)/);
  assert.ok(waited >= 1100 && waited < 5000, `failed after ${waited} ms`);
  // And the producer goes on (a new epoch after the gap).
  const [m] = await producer.send([{ topic: "t", value: "later" }]);
  assert.ok(m.offset >= 1n);
});
