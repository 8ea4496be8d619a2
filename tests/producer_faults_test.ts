/**
 * The Producer's reactions to broker errors, on the embedded cluster with
 * injected faults: retried as Kafka's Java producer does (NOT_LEADER ->
 * metadata refresh, a leader that stops), or surfaced as a typed error
 * (OUT_OF_ORDER_SEQUENCE_NUMBER, a delivery timeout) after which the producer
 * still works (a new epoch).
 */

import assert from "node:assert/strict";
import {
  KafkaProtocolError,
  ProduceError,
  Producer,
  ProducerClosedError,
  ProducerTimeoutError,
} from "../mod.ts";
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

Deno.test("[embedded] idempotent: false: a swallowed answer is written twice (what idempotence prevents)", async () => {
  await using c = await cluster();
  c.intercept({ apiKey: "Produce", times: 1, action: { mutate: () => new Uint8Array(0) } });
  await using producer = new Producer({
    brokers: c.bootstrap,
    lingerMs: 0,
    idempotent: false,
    requestTimeoutMs: 500,
    deliveryTimeoutMs: 5000,
    retryBackoffMs: 20,
  });
  const [m] = await producer.send([{ topic: "t", value: "v" }]);
  assert.equal(m.offset, 1n, "the retry was appended again");
  assert.equal(c.topic("t")!.partitions[0].highWatermark, 2n);
});

Deno.test("[embedded] lingerMs holds a lone record back; flush() sends it at once", async () => {
  await using c = await cluster();
  await using producer = new Producer({ brokers: c.bootstrap, lingerMs: 400 });
  await producer.send([{ topic: "t", value: "warm" }]); // metadata and producer id known
  const seen = c.intercept({ apiKey: "Produce", action: { observe: true } });
  const started = performance.now();
  const sent = producer.send([{ topic: "t", value: "lingers" }]);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(seen.hits, 0, "not sent before lingerMs");
  await sent;
  assert.ok(performance.now() - started >= 350, "sent after lingerMs");
  const flushStart = performance.now();
  const flushed = producer.send([{ topic: "t", value: "flushed" }]);
  await producer.flush();
  await flushed;
  assert.ok(performance.now() - flushStart < 300, "flush() did not wait for lingerMs");
  assert.equal(seen.hits, 2);
});

Deno.test("[embedded] closeTimeoutMs bounds close(); what is left fails with ProducerClosedError", async () => {
  await using c = await cluster();
  const producer = new Producer({ brokers: c.bootstrap, lingerMs: 0, closeTimeoutMs: 300 });
  await producer.send([{ topic: "t", value: "warm" }]);
  const hang = c.intercept({ apiKey: "Produce", action: { hang: true } });
  const stuck = producer.send([{ topic: "t", value: "stuck" }]).catch((e) => e);
  await new Promise((r) => setTimeout(r, 50));
  const started = performance.now();
  await producer.close();
  const took = performance.now() - started;
  hang.remove();
  assert.ok(took >= 250 && took < 3000, `close took ${took} ms`);
  const err = await stuck;
  assert.ok(err instanceof ProduceError);
  assert.ok(err.results[0] instanceof ProducerClosedError, String(err.results[0]));
});

Deno.test("[embedded] metadataMaxAgeMs refreshes metadata periodically", async () => {
  await using c = await cluster();
  await using producer = new Producer({ brokers: c.bootstrap, lingerMs: 0, metadataMaxAgeMs: 100 });
  await producer.send([{ topic: "t", value: "v" }]);
  const seen = c.intercept({ apiKey: "Metadata", action: { observe: true } });
  await new Promise((r) => setTimeout(r, 550));
  assert.ok(seen.hits >= 3, `${seen.hits} Metadata requests in 550 ms`);
});
