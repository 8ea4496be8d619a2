/**
 * The heartbeat worker over TLS + SASL, against the secured broker: a member
 * (in a child process) whose handler blocks its event loop for 2.5x
 * `sessionTimeoutMs` keeps its partition — its worker authenticated on its
 * own connection (SCRAM with the password handed over on purpose,
 * OAUTHBEARER with a token asked of the blocked main thread before the
 * block) — its ack is true and the group commits it. Without heartbeats in
 * the worker, the coordinator would expire it at the session timeout.
 */

import assert from "node:assert/strict";
import { describeGroup, uniqueName } from "./_kafka.ts";
import { type MemberEvent, spawnMember, waitFor } from "./_consumer_helpers.ts";
import { aliceTopic, caCert, secureConfig, securedOptions } from "./_secured.ts";

const SESSION_MS = 6000;

async function blockedMember(tag: string, sasl: "scram" | "oauth"): Promise<void> {
  const c = secureConfig();
  const topic = await aliceTopic(10, tag);
  const groupId = uniqueName(`${c.allowedPrefix}${tag}`);
  const options = securedOptions("SASL_SSL", {
    tls: { caCerts: [caCert()] },
    ...(sasl === "scram"
      ? { sasl: { mechanism: "scram-sha-512", username: "alice", password: c.users.alice } }
      : {}),
    groupId,
    topics: [topic],
    sessionTimeoutMs: SESSION_MS,
    heartbeatIntervalMs: 500,
    maxPollIntervalMs: 60_000,
  });
  const member = spawnMember({
    options,
    blockMs: 2.5 * SESSION_MS,
    ...(sasl === "oauth" ? { oauthSub: "alice" } : {}),
  });
  try {
    const of = <K extends MemberEvent["event"]>(kind: K) =>
      member.events().filter((e) => e.event === kind) as Extract<MemberEvent, { event: K }>[];
    const acked = await waitFor("the ack after the blocked handler", async () => {
      await member.check();
      return of("acked")[0];
    }, 2.5 * SESSION_MS + 30_000);
    assert.equal(acked.ok, true, "ack() after the block counts: the membership held");
    assert.deepEqual(
      member.events().filter((e) => e.event === "revoked" || e.event === "lost"),
      [],
      "nothing was revoked or lost",
    );
    await waitFor("the group's committed offset to reach the batch's end", async () => {
      const rows = (await describeGroup(groupId, { bootstrap: c.listeners.PLAINTEXT })).rows;
      const row = rows.find((r) => r.partition === acked.partition);
      return row !== undefined && row.currentOffset !== null &&
        row.currentOffset >= BigInt(acked.nextOffset);
    }, 20_000);
  } finally {
    member.process.kill("SIGKILL");
    await member.process.finish(5000).catch(() => {});
  }
}

Deno.test("SASL_SSL with scram-sha-512: a handler blocking the event loop for 2.5x sessionTimeoutMs keeps the partition; the ack is committed", async () => {
  await blockedMember("blocked-scram", "scram");
});

Deno.test("SASL_SSL with oauthbearer: a handler blocking the event loop for 2.5x sessionTimeoutMs keeps the partition; the ack is committed", async () => {
  await blockedMember("blocked-oauth", "oauth");
});
