/**
 * Consuming from the secured broker (`scripts/kafka.sh start --secure`):
 * over TLS, mutual TLS, and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512,
 * OAUTHBEARER) over TLS, as the user alice whose ACLs allow her topics and
 * groups. Fails without KAFKA_SECURE_CONFIG.
 */

import assert from "node:assert/strict";
import { Consumer } from "../src/consumer/consumer.ts";
import type { ConsumerOptions, SaslOptions } from "../src/config.ts";
import { BatchReader, text } from "./_consumer_helpers.ts";
import { uniqueName } from "./_kafka.ts";
import { aliceTopic, secureConfig, securedOptions, tlsOptions, unsecuredJwt } from "./_secured.ts";

/** Reads `count` records (acknowledging them), then closes; returns their values. */
async function readAll(options: ConsumerOptions, count: number): Promise<string[]> {
  const consumer = new Consumer(options);
  const seen: string[] = [];
  try {
    const reader = new BatchReader(consumer.readable);
    while (seen.length < count) {
      const batch = await reader.nextBatch(20_000, `record ${seen.length + 1} of ${count}`);
      for (const r of batch.records) seen.push(text(r.value)!);
      assert.ok(batch.ack());
    }
  } finally {
    await consumer.close();
  }
  return seen;
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => `v-${i}`);

Deno.test("consumes over TLS, verifying the broker's certificate against caCerts", async () => {
  const topic = await aliceTopic(5, "tls");
  const got = await readAll(
    securedOptions("SSL", {
      tls: tlsOptions(),
      assign: [{ topic, partition: 0, offset: "earliest" }],
    }),
    5,
  );
  assert.deepEqual(got, expected(5));
});

Deno.test("consumes over mutual TLS with a client certificate", async () => {
  const topic = await aliceTopic(4, "mtls");
  const got = await readAll(
    securedOptions("MTLS", {
      tls: tlsOptions(true),
      groupId: uniqueName(`${secureConfig().allowedPrefix}mtls`),
      topics: [topic],
    }),
    4,
  );
  assert.deepEqual(got, expected(4));
});

const passwordMechanisms = ["plain", "scram-sha-256", "scram-sha-512"] as const;

for (const mechanism of passwordMechanisms) {
  Deno.test(`consumes over SASL_SSL with ${mechanism} as an ACL-limited user in a group`, async () => {
    const c = secureConfig();
    const topic = await aliceTopic(6, mechanism);
    const sasl: SaslOptions = { mechanism, username: "alice", password: c.users.alice };
    const got = await readAll(
      securedOptions("SASL_SSL", {
        tls: tlsOptions(),
        sasl,
        groupId: uniqueName(`${c.allowedPrefix}${mechanism}`),
        topics: [topic],
      }),
      6,
    );
    assert.deepEqual(got, expected(6));
  });
}

Deno.test("consumes over SASL_SSL with oauthbearer, the token's sub as the principal", async () => {
  const c = secureConfig();
  const topic = await aliceTopic(3, "oauth");
  let calls = 0;
  const got = await readAll(
    securedOptions("SASL_SSL", {
      tls: tlsOptions(),
      sasl: {
        mechanism: "oauthbearer",
        token: () => {
          calls++;
          return Promise.resolve({
            value: unsecuredJwt("alice"),
            expiresAt: Date.now() + 3_600_000,
          });
        },
      },
      groupId: uniqueName(`${c.allowedPrefix}oauth`),
      topics: [topic],
    }),
    3,
  );
  assert.deepEqual(got, expected(3));
  // One token for every connection (bootstrap, coordinator, heartbeat, fetch): cached.
  assert.equal(calls, 1);
});

Deno.test("consumes over SASL_PLAINTEXT with scram-sha-512", async () => {
  const c = secureConfig();
  const topic = await aliceTopic(2, "saslplain");
  const got = await readAll(
    securedOptions("SASL_PLAINTEXT", {
      sasl: { mechanism: "scram-sha-512", username: "alice", password: c.users.alice },
      assign: [{ topic, partition: 0, offset: "earliest" }],
    }),
    2,
  );
  assert.deepEqual(got, expected(2));
});
