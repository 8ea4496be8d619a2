/**
 * Producing to the secured broker (`scripts/kafka.sh start --secure`) as the
 * user alice, whose ACLs let her write her own topics only: over mutual TLS,
 * SASL SCRAM and OAUTHBEARER over TLS, idempotent (Kafka allows idempotent
 * writes to a principal that may write some topic). A topic she may not
 * write fails at once with TOPIC_AUTHORIZATION_FAILED. Fails without
 * KAFKA_SECURE_CONFIG.
 */

import assert from "node:assert/strict";
import { KafkaProtocolError, ProduceError, Producer, type ProducerOptions } from "../mod.ts";
import { aliceTopic, deniedTopic, secureConfig, tlsOptions, unsecuredJwt } from "./_secured.ts";

async function produceThree(options: ProducerOptions, topic: string): Promise<bigint[]> {
  await using producer = new Producer({ lingerMs: 0, ...options });
  const metas = await producer.send(
    ["a", "b", "c"].map((value) => ({ topic, key: value, value })),
  );
  return metas.map((m) => m.offset);
}

Deno.test("produces over mutual TLS with a client certificate", async () => {
  const topic = await aliceTopic(0, "p-mtls");
  const offsets = await produceThree(
    { brokers: secureConfig().listeners.MTLS, tls: tlsOptions(true) },
    topic,
  );
  assert.deepEqual(offsets, [0n, 1n, 2n]);
});

Deno.test("produces over SASL_SSL with scram-sha-512 as an ACL-limited user", async () => {
  const c = secureConfig();
  const topic = await aliceTopic(0, "p-scram");
  const offsets = await produceThree({
    brokers: c.listeners.SASL_SSL,
    tls: tlsOptions(),
    sasl: { mechanism: "scram-sha-512", username: "alice", password: c.users.alice },
  }, topic);
  assert.deepEqual(offsets, [0n, 1n, 2n]);
});

Deno.test("produces over SASL_SSL with oauthbearer", async () => {
  const c = secureConfig();
  const topic = await aliceTopic(0, "p-oauth");
  const offsets = await produceThree({
    brokers: c.listeners.SASL_SSL,
    tls: tlsOptions(),
    sasl: { mechanism: "oauthbearer", token: () => unsecuredJwt("alice") },
  }, topic);
  assert.deepEqual(offsets, [0n, 1n, 2n]);
});

Deno.test("a topic alice may not write fails at once with TOPIC_AUTHORIZATION_FAILED", async () => {
  const c = secureConfig();
  const topic = await deniedTopic();
  await using producer = new Producer({
    brokers: c.listeners.SASL_SSL,
    tls: tlsOptions(),
    sasl: { mechanism: "scram-sha-256", username: "alice", password: c.users.alice },
    maxBlockMs: 20_000,
  });
  const started = Date.now();
  const err = await producer.send([{ topic, value: "no" }]).catch((e) => e);
  assert.ok(err instanceof ProduceError, String(err));
  const [r] = err.results;
  assert.ok(r instanceof KafkaProtocolError, String(r));
  assert.equal(r.errorName, "TOPIC_AUTHORIZATION_FAILED");
  assert.ok(Date.now() - started < 10_000, "not retried until maxBlockMs");
});
