/**
 * The Admin client on the secured broker (`scripts/kafka.sh start --secure`):
 * its `tls` and `sasl` options take effect — it works over mutual TLS and
 * SASL SCRAM over TLS, it sees the cluster as the principal it authenticated
 * as (alice's ACLs hide a topic from her that the admin user sees), an
 * untrusted CA is a TlsError and a wrong password an AuthenticationError.
 * Fails without KAFKA_SECURE_CONFIG.
 */

import assert from "node:assert/strict";
import { Admin, type AdminOptions, AuthenticationError, TlsError } from "../mod.ts";
import { aliceTopic, deniedTopic, secureConfig, tlsOptions } from "./_secured.ts";

async function topicsSeenBy(options: AdminOptions): Promise<string[]> {
  await using admin = new Admin({ retryBackoffMs: 50, bootstrapTimeoutMs: 5000, ...options });
  return await admin.listTopics();
}

Deno.test("admin over SASL_SSL sees the cluster as the user it authenticates as", async () => {
  const c = secureConfig();
  const mine = await aliceTopic(0, "admin-scram");
  const secret = await deniedTopic();
  const scram = (username: "alice" | "admin") => ({
    brokers: c.listeners.SASL_SSL,
    tls: tlsOptions(),
    sasl: { mechanism: "scram-sha-512" as const, username, password: c.users[username] },
  });
  const alice = await topicsSeenBy(scram("alice"));
  assert.ok(alice.includes(mine), "alice sees her topic");
  assert.ok(!alice.includes(secret), "alice's ACLs hide the other topic");
  const admin = await topicsSeenBy(scram("admin"));
  assert.ok(admin.includes(mine) && admin.includes(secret), "the admin user sees both");
});

Deno.test("admin over mutual TLS works with the client certificate", async () => {
  const mine = await aliceTopic(0, "admin-mtls");
  const topics = await topicsSeenBy({
    brokers: secureConfig().listeners.MTLS,
    tls: tlsOptions(true),
  });
  assert.ok(topics.includes(mine));
});

Deno.test("admin: an untrusted CA is a TlsError, a wrong password an AuthenticationError", async () => {
  const c = secureConfig();
  await assert.rejects(
    () =>
      topicsSeenBy({
        brokers: c.listeners.SSL,
        tls: { caCerts: [Deno.readTextFileSync(c.untrustedCaCert)] },
      }),
    TlsError,
  );
  await assert.rejects(
    () =>
      topicsSeenBy({
        brokers: c.listeners.SASL_SSL,
        tls: tlsOptions(),
        sasl: { mechanism: "scram-sha-512", username: "alice", password: "wrong" },
      }),
    AuthenticationError,
  );
});
