/**
 * KIP-368 against the secured broker's REAUTH listener
 * (`connections.max.reauth.ms` = 10 s): the broker announces the session
 * lifetime and disconnects a client that has not re-authenticated by then.
 * Connections re-authenticate in place, and OAUTHBEARER tokens are fetched
 * again before they expire. Fails without KAFKA_SECURE_CONFIG.
 */

import assert from "node:assert/strict";
import { Consumer } from "../src/consumer/consumer.ts";
import { Connection } from "../src/net/connection.ts";
import { OAuthBearerTokenCache } from "../src/net/sasl/oauthbearer.ts";
import type { SaslConfig } from "../src/net/sasl/authenticate.ts";
import { Secret } from "../src/net/secret.ts";
import { MetadataApi } from "../src/protocol/messages/metadata.ts";
import { BatchReader, sleep, text } from "./_consumer_helpers.ts";
import { produceValues } from "./_consumer_helpers.ts";
import { uniqueName } from "./_kafka.ts";
import { aliceTopic, secureConfig, securedOptions, unsecuredJwt } from "./_secured.ts";

function address(hostPort: string): { host: string; port: number } {
  const [host, port] = hostPort.split(":");
  return { host, port: Number(port) };
}

/** Sends Metadata every `everyMs` for `forMs`; every request must succeed. */
async function keepBusy(conn: Connection, forMs: number, everyMs: number): Promise<number> {
  const end = Date.now() + forMs;
  let sent = 0;
  while (Date.now() < end) {
    await conn.send(MetadataApi, {
      topics: [],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    sent++;
    await sleep(everyMs);
  }
  return sent;
}

Deno.test("connections re-authenticate before the broker's session lifetime ends (SCRAM, OAUTHBEARER)", async () => {
  const c = secureConfig();
  const { host, port } = address(c.listeners.REAUTH);
  let tokens = 0;
  const oauth: SaslConfig = {
    mechanism: "oauthbearer",
    // 8 s tokens: the session lasts min(token, 10 s); the cache refreshes at 80%.
    tokens: new OAuthBearerTokenCache(() => {
      tokens++;
      return unsecuredJwt("alice", 8000);
    }),
    extensions: {},
  };
  const scram: SaslConfig = {
    mechanism: "scram-sha-256",
    username: "alice",
    password: new Secret(c.users.alice),
  };
  const conns = await Promise.all(
    [scram, oauth].map((sasl) => Connection.connect({ host, port, sasl })),
  );
  try {
    assert.deepEqual(conns.map((x) => x.authentications), [1, 1]);
    // Past the 10 s lifetime: without re-authentication the broker would
    // close the connections and a request would fail.
    await Promise.all(conns.map((conn) => keepBusy(conn, c.reauthMs + 2500, 700)));
    for (const conn of conns) {
      assert.ok(!conn.closed, "the broker closed the connection");
      assert.ok(conn.authentications >= 2, `authenticated ${conn.authentications} time(s)`);
    }
    assert.ok(tokens >= 2, `the token provider was called ${tokens} time(s)`);
  } finally {
    for (const conn of conns) conn.close();
  }
});

Deno.test("a consumer keeps reading across re-authentications", async () => {
  const c = secureConfig();
  const topic = await aliceTopic(2, "reauth");
  const consumer = new Consumer(securedOptions("REAUTH", {
    sasl: { mechanism: "scram-sha-512", username: "alice", password: c.users.alice },
    groupId: uniqueName(`${c.allowedPrefix}reauth`),
    topics: [topic],
    fetchMaxWaitMs: 200,
  }));
  try {
    const reader = new BatchReader(consumer.readable);
    const seen: string[] = [];
    const take = async (n: number) => {
      while (seen.length < n) {
        const batch = await reader.nextBatch(15_000, `record ${seen.length + 1}`);
        for (const r of batch.records) seen.push(text(r.value)!);
        batch.ack();
      }
    };
    await take(2);
    // Idle fetches and heartbeats for longer than the session lifetime.
    await sleep(c.reauthMs + 2000);
    await produceValues(topic, 0, ["late-0", "late-1"], { bootstrap: c.listeners.PLAINTEXT });
    await take(4);
    assert.deepEqual(seen, ["v-0", "v-1", "late-0", "late-1"]);
  } finally {
    await consumer.close();
  }
});
