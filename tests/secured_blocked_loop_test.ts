/**
 * The heartbeat worker over TLS + SASL, against the secured broker: a member
 * (in a child process) whose handler blocks its event loop for 2.5x
 * `sessionTimeoutMs` keeps its partition — its worker authenticated on its
 * own connection (SCRAM with the password handed over on purpose,
 * OAUTHBEARER with a token asked of the blocked main thread before the
 * block) — its ack is true and the group commits it. Without heartbeats in
 * the worker, the coordinator would expire it at the session timeout.
 */

import { uniqueName } from "./_kafka.ts";
import { aliceTopic, caCert, secureConfig, securedOptions } from "./_secured.ts";
import { blockedMemberKeepsPartitions } from "./_blocked.ts";

async function blockedMember(tag: string, sasl: "scram" | "oauth"): Promise<void> {
  const c = secureConfig();
  const topic = await aliceTopic(10, tag);
  const options = securedOptions("SASL_SSL", {
    tls: { caCerts: [caCert()] },
    ...(sasl === "scram"
      ? { sasl: { mechanism: "scram-sha-512", username: "alice", password: c.users.alice } }
      : {}),
    groupId: uniqueName(`${c.allowedPrefix}${tag}`),
    topics: [topic],
  });
  await blockedMemberKeepsPartitions(
    options,
    c.listeners.PLAINTEXT,
    sasl === "oauth" ? { oauthSub: "alice" } : {},
  );
}

Deno.test("SASL_SSL with scram-sha-512: a handler blocking the event loop for 2.5x sessionTimeoutMs keeps the partition; the ack is committed", async () => {
  await blockedMember("blocked-scram", "scram");
});

Deno.test("SASL_SSL with oauthbearer: a handler blocking the event loop for 2.5x sessionTimeoutMs keeps the partition; the ack is committed", async () => {
  await blockedMember("blocked-oauth", "oauth");
});
