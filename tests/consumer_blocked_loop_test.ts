// KIP-62 with a blocked event loop: a member whose handler does synchronous
// work keeps its group membership (its heartbeats run in a Worker), up to
// maxPollIntervalMs; past it the member leaves on its own, uncommitted.
//
// The first two tests run under both group protocols: under the consumer
// protocol (KIP-848) the Worker carries ConsumerGroupHeartbeat, which is the
// membership itself, and the broker's group.consumer.session.timeout.ms
// (10 s on the test brokers, scripts/kafka.sh) is the session.
//
// The blocking member runs in a child process (tests/fixtures/group_member.ts
// with `blockMs`), so that the embedded cluster's clock, which runs in this
// process, does not stop with it. The other member reads in this process.

import assert from "node:assert/strict";
import { Consumer, type TopicPartition } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import {
  closeAll,
  CONSUMER_PROTOCOL,
  type Member,
  type MemberEvent,
  owned,
  ReadLoop,
  spawnMember,
  Tally,
  tpKey,
  values,
  waitFor,
} from "./_consumer_helpers.ts";
import { suiteTest, type Target, type TargetName } from "./_targets.ts";
import type { ConsumerOptions } from "../mod.ts";

const SESSION_MS = 6000;
/** The test brokers' group.consumer.session.timeout.ms (scripts/kafka.sh). */
const CONSUMER_PROTOCOL_SESSION_MS = 10_000;
const HEARTBEAT_MS = 500;
const PARTITIONS = 4;

/** Rebalance events of the in-process member, stamped with Date.now(). */
interface HookEvent {
  kind: "assigned" | "revoked" | "lost";
  partitions: string[];
  at: number;
}

type Protocol = NonNullable<ConsumerOptions["groupProtocol"]>;

/** The session options of a protocol: ours under classic, the broker's under consumer. */
function sessionOptions(protocol: Protocol): Partial<ConsumerOptions> {
  return protocol === "classic"
    ? { sessionTimeoutMs: SESSION_MS, heartbeatIntervalMs: HEARTBEAT_MS }
    : CONSUMER_PROTOCOL;
}

/** The session timeout a protocol's group has in these tests. */
const sessionOf = (protocol: Protocol) =>
  protocol === "classic" ? SESSION_MS : CONSUMER_PROTOCOL_SESSION_MS;

/** Under the consumer protocol, the targets that serve it. */
const targetsOf = (protocol: Protocol): TargetName[] | undefined =>
  protocol === "classic" ? undefined : ["kafka"];

/** The in-process member B, recording its rebalance hooks. */
function memberB(
  t: Target,
  groupId: string,
  topic: string,
  tally: Tally,
  hooks: HookEvent[],
  protocol: Protocol,
) {
  const record = (kind: HookEvent["kind"]) => (ps: TopicPartition[]) => {
    hooks.push({ kind, partitions: ps.map(tpKey).sort(), at: Date.now() });
  };
  const consumer = new Consumer(t.options({
    groupId,
    topics: [topic],
    ...sessionOptions(protocol),
    onAssigned: record("assigned"),
    onRevoked: record("revoked"),
    onLost: record("lost"),
  }));
  return new ReadLoop(consumer, tally, "B");
}

async function produceRound(t: Target, topic: string, round: string, count: number) {
  await Promise.all(
    Array.from(
      { length: PARTITIONS },
      (_, p) => t.produceValues(topic, p, values(`${round}-p${p}`, count)),
    ),
  );
}

function eventsOf<K extends MemberEvent["event"]>(
  member: Member,
  kind: K,
): Extract<MemberEvent, { event: K }>[] {
  return member.events().filter((e) => e.event === kind) as Extract<MemberEvent, { event: K }>[];
}

/** Waits until A reports that its first batch's handler started blocking. */
function blockingOf(a: Member): Promise<Extract<MemberEvent, { event: "blocking" }>> {
  return waitFor("A to start blocking", async () => {
    await a.check();
    return eventsOf(a, "blocking")[0];
  }, 20_000);
}

/** Kills A (it may still be blocked) and closes B. */
async function tearDown(a: Member, b: ReadLoop): Promise<void> {
  a.process.kill("SIGKILL");
  await a.process.finish(5000).catch(() => {});
  await b.stop().catch(() => {});
  await closeAll(b.consumer);
}

/**
 * B owns every partition and read round 1 (committed); then A (the child,
 * blocking its first batch for `blockMs`) joins and the two split the
 * partitions. Returns once the split is done.
 */
async function setUp(
  t: Target,
  blockMs: number,
  maxPollIntervalMs: number,
  groupInstanceId?: string,
  protocol: Protocol = "classic",
): Promise<
  { topic: string; groupId: string; a: Member; b: ReadLoop; tally: Tally; hooks: HookEvent[] }
> {
  const topic = await t.newTopic("blocked", PARTITIONS);
  const groupId = uniqueName("blocked");
  await produceRound(t, topic, "r1", 20);
  const tally = new Tally();
  const hooks: HookEvent[] = [];
  const b = memberB(t, groupId, topic, tally, hooks, protocol);
  await waitFor(
    "B to own every partition and read round 1",
    () => owned(b.consumer).length === PARTITIONS && tally.count >= PARTITIONS * 20,
    30_000,
    { describe: () => tally.summary() },
  );
  await b.consumer.commit();
  const a = spawnMember({
    options: t.options({
      groupId,
      topics: [topic],
      clientId: "blocking-member",
      ...sessionOptions(protocol),
      maxPollIntervalMs,
      ...(groupInstanceId === undefined ? {} : { groupInstanceId }),
    }),
    blockMs,
  });
  await waitFor(
    "A and B to own 2 partitions each",
    async () => {
      await a.check();
      return a.owned().length === 2 && owned(b.consumer).length === 2;
    },
    30_000,
    { describe: () => `A [${a.owned()}], B [${owned(b.consumer)}]` },
  );
  return { topic, groupId, a, b, tally, hooks };
}

for (const protocol of ["classic", "consumer"] as const) {
  suiteTest(
    `groupProtocol ${protocol}: a member whose handler blocks the event loop for 2.5x the session timeout keeps its partitions; its ack is true and committed`,
    async (t) => {
      const blockMs = 2.5 * sessionOf(protocol);
      const { topic, groupId, a, b, tally, hooks } = await setUp(
        t,
        blockMs,
        60_000,
        undefined,
        protocol,
      );
      try {
        const splitAt = Date.now();
        await produceRound(t, topic, "r2", 10);
        await blockingOf(a);
        const acked = await waitFor(
          "A's ack after its blocked handler",
          () => eventsOf(a, "acked")[0],
          blockMs + 20_000,
        );
        assert.equal(acked.ok, true, "ack() after the block counts: the membership held");
        // Nothing moved while A was blocked: no revoke or loss on either member.
        const aMoves = a.events().filter((e) => e.event === "revoked" || e.event === "lost");
        assert.deepEqual(aMoves, [], "A gave up nothing");
        assert.deepEqual(hooks.filter((h) => h.at >= splitAt && h.kind !== "assigned"), []);
        assert.equal(owned(b.consumer).length, 2);
        // A commits what it acknowledged (auto commit): the group's offset of
        // that partition reaches the batch's end.
        const key = `${acked.topic}-${acked.partition}`;
        await waitFor(
          `the group's committed offset of ${key} to reach ${acked.nextOffset}`,
          async () => {
            const rows = (await t.groupDescription(groupId)).rows;
            const row = rows.find((r) => `${r.topic}-${r.partition}` === key);
            return row?.currentOffset !== null && row !== undefined &&
              row.currentOffset >= BigInt(acked.nextOffset);
          },
          20_000,
        );
        assert.ok(b.error === undefined, String(b.error));
        void tally;
      } finally {
        await tearDown(a, b);
      }
    },
    { targets: targetsOf(protocol) },
  );

  suiteTest(
    `groupProtocol ${protocol}: a member blocked past maxPollIntervalMs leaves on its own: the other member takes over, its ack is false, nothing it did not acknowledge is committed`,
    async (t) => {
      const maxPollIntervalMs = 8000;
      const blockMs = 16_000;
      const { topic, groupId, a, b, tally, hooks } = await setUp(
        t,
        blockMs,
        maxPollIntervalMs,
        undefined,
        protocol,
      );
      const leaves = t.embedded?.intercept({ apiKey: "LeaveGroup", action: { observe: true } });
      try {
        await produceRound(t, topic, "r2", 10);
        const blocking = await blockingOf(a);
        const key = `${blocking.topic}-${blocking.partition}`;
        // B is given A's partitions after the poll bound (A's worker left
        // the group), not at the session timeout, and before A's block ends.
        // (Eager: B's onAssigned lists all four; incremental: the two added.)
        const takeover = await waitFor(
          "B to own every partition",
          () =>
            owned(b.consumer).length === PARTITIONS
              ? hooks.find((h) => h.kind === "assigned" && h.at > blocking.at)
              : undefined,
          blockMs + 10_000,
        );
        const after = takeover.at - blocking.at;
        assert.ok(
          after >= maxPollIntervalMs,
          `B took over ${after} ms after A blocked: before the poll bound (${maxPollIntervalMs} ms)`,
        );
        assert.ok(
          after < blockMs,
          `B took over ${after} ms after A blocked: not before A's block ended (${blockMs} ms)`,
        );
        if (leaves) {
          // The worker left within about one heartbeat interval after the bound.
          const fromA = leaves.requests.find((r) => r.clientId === "blocking-member");
          assert.ok(fromA, "A's worker sent LeaveGroup");
        }
        const acked = await waitFor("A's ack", () => eventsOf(a, "acked")[0], blockMs + 20_000);
        assert.equal(acked.ok, false, "ack() after the poll bound does not count");
        // When A reads again, its partitions are reported lost and it rejoins.
        await waitFor(
          "A to report its partitions lost",
          () => eventsOf(a, "lost").length > 0,
          20_000,
        );
        // B read A's unacknowledged records again; the group's offsets cover
        // everything, and never A's batch without B having read it.
        await waitFor(
          "every record of both rounds read by someone, and lag 0",
          async () => {
            const rows = (await t.groupDescription(groupId)).rows;
            return rows.length === PARTITIONS && rows.every((r) => r.lag === 0n);
          },
          30_000,
        );
        const bRead = (tally.partitions.get(key) ?? []).filter((s) =>
          s.by === "B" && s.offset >= 20n
        );
        assert.ok(
          bRead.length >= 10,
          `B read A's unacknowledged batch of ${key} again (${bRead.length} records from offset 20)`,
        );
        assert.ok(b.error === undefined, String(b.error));
      } finally {
        leaves?.remove();
        await tearDown(a, b);
      }
    },
    { targets: targetsOf(protocol) },
  );
}

suiteTest(
  "a static member blocked past maxPollIntervalMs sends no LeaveGroup: its partitions move when its session expires",
  async (t) => {
    const maxPollIntervalMs = 6000;
    const blockMs = 22_000;
    const { topic, a, b, hooks } = await setUp(t, blockMs, maxPollIntervalMs, uniqueName("static"));
    const leaves = t.embedded?.intercept({ apiKey: "LeaveGroup", action: { observe: true } });
    try {
      await produceRound(t, topic, "r2", 10);
      const blocking = await blockingOf(a);
      const takeover = await waitFor(
        "B to own every partition",
        () =>
          hooks.find((h) =>
            h.kind === "assigned" && h.partitions.length === PARTITIONS && h.at > blocking.at
          ),
        blockMs + 10_000,
      );
      // Heartbeats stop at the poll bound; the coordinator expires the
      // member one session later (no LeaveGroup to hurry it).
      const after = takeover.at - blocking.at;
      assert.ok(
        after >= maxPollIntervalMs + SESSION_MS - 1500,
        `B took over ${after} ms after A blocked: before the poll bound plus the session timeout`,
      );
      if (leaves) {
        assert.deepEqual(
          leaves.requests.filter((r) => r.clientId === "blocking-member"),
          [],
          "a static member sends no LeaveGroup",
        );
      }
      const acked = await waitFor("A's ack", () => eventsOf(a, "acked")[0], blockMs + 20_000);
      assert.equal(acked.ok, false, "ack() after the poll bound does not count");
      assert.ok(b.error === undefined, String(b.error));
    } finally {
      leaves?.remove();
      await tearDown(a, b);
    }
  },
);
