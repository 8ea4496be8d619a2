/**
 * Failures against the secured broker reach the reader promptly, typed, and
 * without secrets: wrong credentials (no reconnect storm), an untrusted
 * certificate, a client certificate missing on a mutual-TLS listener, a
 * topic and a group the user's ACLs deny. Fails without KAFKA_SECURE_CONFIG.
 */

import assert from "node:assert/strict";
import { Consumer } from "../src/consumer/consumer.ts";
import type { ConsumerOptions } from "../src/config.ts";
import { AuthenticationError, TlsError } from "../src/net/errors.ts";
import { KafkaProtocolError } from "../src/protocol/errors.ts";
import { BatchReader } from "./_consumer_helpers.ts";
import { uniqueName } from "./_kafka.ts";
import {
  aliceTopic,
  CountingProxy,
  deniedTopic,
  secureConfig,
  securedOptions,
  tlsOptions,
} from "./_secured.ts";

const WRONG = "not-alices-password-42";

/** Reads until the stream errors; returns the error and the time it took. */
async function streamError(
  options: ConsumerOptions,
  timeoutMs = 15_000,
): Promise<{ error: unknown; ms: number; logs: string[] }> {
  const logs: string[] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    logs.push(`${level} ${msg} ${Deno.inspect(fields ?? {}, { depth: 8 })}`);
  const consumer = new Consumer({
    ...options,
    logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
  });
  const t0 = Date.now();
  try {
    const reader = new BatchReader(consumer.readable);
    const deadline = t0 + timeoutMs;
    while (Date.now() < deadline) {
      const batch = await reader.next(deadline - Date.now());
      if (batch === null) throw new Error("the stream ended without an error");
      if (batch !== undefined) batch.ack();
    }
    throw new Error(`no error within ${timeoutMs} ms`);
  } catch (error) {
    return { error, ms: Date.now() - t0, logs };
  } finally {
    await consumer.close();
  }
}

for (const mode of ["assign", "subscribe"] as const) {
  Deno.test(`a wrong password ends the stream with an AuthenticationError (${mode}), no reconnect storm`, async () => {
    const c = secureConfig();
    const topic = await aliceTopic(1, "wrongpw");
    const proxy = new CountingProxy(c.listeners.SASL_SSL);
    try {
      const { error, ms, logs } = await streamError({
        ...securedOptions("SASL_SSL", {
          tls: tlsOptions(),
          sasl: { mechanism: "scram-sha-256", username: "alice", password: WRONG },
          ...(mode === "assign"
            ? { assign: [{ topic, partition: 0, offset: "earliest" as const }] }
            : { groupId: uniqueName(`${c.allowedPrefix}wrongpw`), topics: [topic] }),
        }),
        brokers: [proxy.address],
      });
      assert.ok(error instanceof AuthenticationError, `got ${error}`);
      assert.equal(error.mechanism, "SCRAM-SHA-256");
      assert.match(error.message, /SASL_AUTHENTICATION_FAILED/);
      assert.ok(ms < 5000, `the error took ${ms} ms to reach the reader`);
      // One authentication attempt, not a loop of reconnects.
      assert.ok(proxy.accepted <= 2, `${proxy.accepted} connections were made`);
      const everything = [error.message, String(error.stack), Deno.inspect(error), ...logs]
        .join("\n");
      assert.ok(!everything.includes(WRONG), "the password leaked into an error or a log line");
    } finally {
      await proxy.close();
    }
  });
}

Deno.test("a PLAIN password for an unknown user fails the same way, without the password", async () => {
  const topic = await aliceTopic(1, "nouser");
  const { error } = await streamError(securedOptions("SASL_PLAINTEXT", {
    sasl: { mechanism: "plain", username: "mallory", password: WRONG },
    assign: [{ topic, partition: 0, offset: "earliest" }],
  }));
  assert.ok(error instanceof AuthenticationError, `got ${error}`);
  assert.ok(!(error as Error).message.includes(WRONG));
});

Deno.test("an untrusted broker certificate ends the stream with a TlsError naming caCerts", async () => {
  const c = secureConfig();
  const topic = await aliceTopic(1, "untrusted");
  for (const tls of [true, { caCerts: [Deno.readTextFileSync(c.untrustedCaCert)] }]) {
    const { error, ms } = await streamError(securedOptions("SSL", {
      tls,
      assign: [{ topic, partition: 0, offset: "earliest" }],
    }));
    assert.ok(error instanceof TlsError, `got ${error}`);
    assert.match(error.message, /UnknownIssuer/);
    assert.match(error.message, /tls\.caCerts/);
    assert.ok(ms < 5000, `the error took ${ms} ms`);
  }
});

Deno.test("a mutual-TLS listener without a client certificate ends the stream with a TlsError", async () => {
  const topic = await aliceTopic(1, "nocert");
  const { error } = await streamError(securedOptions("MTLS", {
    tls: tlsOptions(false),
    assign: [{ topic, partition: 0, offset: "earliest" }],
  }));
  assert.ok(error instanceof TlsError, `got ${error}`);
  assert.match(error.message, /tls\.cert/);
});

for (const mode of ["assign", "subscribe"] as const) {
  Deno.test(`a denied topic ends the stream with TOPIC_AUTHORIZATION_FAILED (${mode})`, async () => {
    const c = secureConfig();
    const topic = await deniedTopic();
    const { error } = await streamError(securedOptions("SASL_SSL", {
      tls: tlsOptions(),
      sasl: { mechanism: "scram-sha-512", username: "alice", password: c.users.alice },
      ...(mode === "assign"
        ? { assign: [{ topic, partition: 0, offset: "earliest" as const }] }
        : { groupId: uniqueName(`${c.allowedPrefix}denied`), topics: [topic] }),
    }));
    assert.ok(error instanceof KafkaProtocolError, `got ${error}`);
    assert.equal(error.errorName, "TOPIC_AUTHORIZATION_FAILED");
  });
}

for (const mode of ["assign", "subscribe"] as const) {
  Deno.test(`a denied group ends the stream with GROUP_AUTHORIZATION_FAILED (${mode})`, async () => {
    const c = secureConfig();
    const topic = await aliceTopic(2, "deniedgroup");
    const { error } = await streamError(securedOptions("SASL_SSL", {
      tls: tlsOptions(),
      sasl: { mechanism: "plain", username: "alice", password: c.users.alice },
      groupId: uniqueName("other-group"),
      ...(mode === "assign"
        ? { assign: [{ topic, partition: 0, offset: "earliest" as const }] }
        : { topics: [topic] }),
    }));
    assert.ok(error instanceof KafkaProtocolError, `got ${error}`);
    assert.equal(error.errorName, "GROUP_AUTHORIZATION_FAILED");
  });
}
