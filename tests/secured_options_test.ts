/**
 * The tls and sasl options: validation (ConfigError naming the field, never
 * the secret) and redaction of the resolved options and of the Consumer.
 * No broker needed.
 */

import assert from "node:assert/strict";
import { inspect } from "node:util";
import { Consumer } from "../src/consumer/consumer.ts";
import { ConfigError, type ConsumerOptions, resolveOptions } from "../src/config.ts";
import { Secret } from "../src/net/secret.ts";

const base = { brokers: "127.0.0.1:9093", assign: [{ topic: "t", partition: 0 }] };
const PASSWORD = "p4ssw0rd-never-shown";
const KEY = "-----BEGIN PRIVATE KEY-----\nkey-material-never-shown\n-----END PRIVATE KEY-----\n";
const TOKEN = "eyJ-token-never-shown";

function configError(options: Record<string, unknown>): ConfigError {
  try {
    resolveOptions({ ...base, ...options });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  throw new Error("no ConfigError");
}

Deno.test("sasl without a mechanism, or scram without a password, is a ConfigError naming the field", () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ sasl: { username: "alice", password: PASSWORD } }, "sasl", /needs a mechanism/],
    [{ sasl: { mechanism: "scram-sha-256", username: "alice" } }, "sasl.password", /required/],
    [{ sasl: { mechanism: "plain", password: PASSWORD } }, "sasl.username", /required/],
    [
      { sasl: { mechanism: "gssapi", username: "a", password: PASSWORD } },
      "sasl.mechanism",
      /must be/,
    ],
    [{ sasl: { mechanism: "oauthbearer" } }, "sasl.token", /function/],
    [
      { sasl: { mechanism: "oauthbearer", token: () => TOKEN, extensions: { auth: "x" } } },
      "sasl.extensions.auth",
      /reserved/,
    ],
    [{ tls: { cert: "-----BEGIN CERTIFICATE-----" } }, "tls.key", /both cert and key/],
    [{ tls: { caCerts: ["not pem"] } }, "tls.caCerts[0]", /PEM/],
    [{ tls: "yes" }, "tls", /true, false/],
  ];
  for (const [options, field, reason] of cases) {
    const e = configError(options);
    assert.equal(e.field, field, e.message);
    assert.match(e.message, reason);
    assert.ok(!e.message.includes(PASSWORD), e.message);
  }
});

Deno.test("a wrong secret value is reported without the value", () => {
  const e = configError({
    tls: { cert: "-----BEGIN CERTIFICATE-----", key: "key-material-never-shown" },
  });
  assert.equal(e.field, "tls.key");
  assert.ok(!e.message.includes("key-material-never-shown"), e.message);
  const f = configError({
    sasl: { mechanism: "plain", username: "a", password: PASSWORD, extra: PASSWORD },
  });
  assert.ok(!f.message.includes(PASSWORD), f.message);
});

Deno.test("resolved tls and sasl options wrap secrets; printing them never shows one", () => {
  const resolved = [
    resolveOptions({
      ...base,
      tls: {
        caCerts: ["-----BEGIN CERTIFICATE-----\nca\n"],
        cert: "-----BEGIN CERTIFICATE-----\nc\n",
        key: KEY,
      },
      sasl: { mechanism: "scram-sha-512", username: "alice", password: PASSWORD },
    }),
    resolveOptions({
      ...base,
      tls: true,
      sasl: { mechanism: "plain", username: "alice", password: new Secret(PASSWORD) },
    }),
    resolveOptions({ ...base, sasl: { mechanism: "oauthbearer", token: () => TOKEN } }),
  ];
  for (const o of resolved) {
    for (
      const shown of [Deno.inspect(o, { depth: 20 }), JSON.stringify(o), inspect(o, { depth: 20 })]
    ) {
      for (const secret of [PASSWORD, "key-material-never-shown", TOKEN]) {
        assert.ok(!shown.includes(secret), `${secret} shown in ${shown}`);
      }
    }
  }
  const [first] = resolved;
  assert.equal(first.sasl?.mechanism, "scram-sha-512");
  assert.equal((first.sasl as { password: Secret }).password.reveal(), PASSWORD);
  assert.equal(first.tls?.key?.reveal(), KEY);
  assert.deepEqual(resolved[1].tls, {});
  assert.equal(resolveOptions(base).tls, undefined);
  assert.equal(resolveOptions({ ...base, tls: false }).tls, undefined);
});

Deno.test("Deno.inspect and JSON of a Consumer with secrets show none of them", async () => {
  const options: ConsumerOptions = {
    ...base,
    tls: { cert: "-----BEGIN CERTIFICATE-----\nc\n", key: KEY },
    sasl: { mechanism: "scram-sha-256", username: "alice", password: PASSWORD },
  };
  const consumer = new Consumer(options);
  try {
    for (
      const shown of [
        Deno.inspect(consumer, { depth: 20, showHidden: true }),
        inspect(consumer, { depth: 20 }),
        String(consumer),
      ]
    ) {
      assert.ok(!shown.includes(PASSWORD) && !shown.includes("key-material-never-shown"), shown);
    }
  } finally {
    await consumer.close();
  }
});
