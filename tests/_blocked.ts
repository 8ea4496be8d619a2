/**
 * The single-member blocked-loop check shared by the secured and matrix
 * tests: a member in a child process (tests/fixtures/group_member.ts) blocks
 * its event loop for 2.5x `sessionTimeoutMs` in the handler of its first
 * batch; it must keep its partitions (nothing revoked or lost), its ack must
 * count, and the group must commit it (read back with Kafka's
 * consumer-groups tool). Without heartbeats apart from the event loop the
 * coordinator would expire it at the session timeout.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ConsumerOptions } from "../mod.ts";
import { describeGroup } from "./_kafka.ts";
import { type MemberEvent, spawnMember, waitFor } from "./_consumer_helpers.ts";

/** The session timeout the blocked-loop checks use (the test brokers accept it). */
export const BLOCKED_SESSION_MS = 6000;

/**
 * Runs the check for a member with `options` (groupId and topics set; the
 * session, heartbeat and poll settings are set here). `toolBootstrap` is
 * where Kafka's consumer-groups tool connects.
 */
export async function blockedMemberKeepsPartitions(
  options: ConsumerOptions,
  toolBootstrap: string,
  extra: { oauthSub?: string } = {},
): Promise<void> {
  const member = spawnMember({
    options: {
      ...options,
      sessionTimeoutMs: BLOCKED_SESSION_MS,
      heartbeatIntervalMs: 500,
      maxPollIntervalMs: 60_000,
    },
    blockMs: 2.5 * BLOCKED_SESSION_MS,
    ...extra,
  });
  try {
    const of = <K extends MemberEvent["event"]>(kind: K) =>
      member.events().filter((e) => e.event === kind) as Extract<MemberEvent, { event: K }>[];
    const acked = await waitFor("the ack after the blocked handler", async () => {
      await member.check();
      return of("acked")[0];
    }, 2.5 * BLOCKED_SESSION_MS + 30_000);
    assert.equal(acked.ok, true, "ack() after the block counts: the membership held");
    assert.deepEqual(
      member.events().filter((e) => e.event === "revoked" || e.event === "lost"),
      [],
      "nothing was revoked or lost",
    );
    await waitFor("the group's committed offset to reach the batch's end", async () => {
      const rows = (await describeGroup(options.groupId!, { bootstrap: toolBootstrap })).rows;
      const row = rows.find((r) => r.topic === acked.topic && r.partition === acked.partition);
      return row !== undefined && row.currentOffset !== null &&
        row.currentOffset >= BigInt(acked.nextOffset);
    }, 20_000);
  } finally {
    member.process.kill("SIGKILL");
    await member.process.finish(5000).catch(() => {});
  }
}
