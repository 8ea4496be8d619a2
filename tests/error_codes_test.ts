// Every broker error code a consumer can receive from the APIs it uses,
// injected through the embedded cluster's fault rules, with the reaction
// GUIDE §6 asks for shown on the wire (the requests that follow, recorded
// by `observe` rules) and in what the reader gets: refresh metadata, find
// the coordinator again, rejoin (keeping or dropping the member id), reset
// the offset, start a new fetch session, back off and retry, or end the
// stream with a typed error naming the code. And: a persistent retriable
// error is retried with growing, jittered, capped delays, and a bounded
// number of times where the consumer gives up.

import assert from "node:assert/strict";
import {
  Consumer,
  type ConsumerOptions,
  CorruptDataError,
  ErrorCode,
  errorInfo,
  KafkaProtocolError,
  type RecordBatch,
} from "../mod.ts";
import { type ApiName, EmbeddedCluster, type Interception } from "../testing.ts";
import type { ObservedRequest } from "../src/testing/faults.ts";
import { Cluster } from "../src/net/cluster.ts";
import { produce } from "../src/net/admin.ts";
import { MAX_RETRIES } from "../src/consumer/offsets/list_offsets.ts";
import { BatchReader, fastOptions, readUntil, Tally, waitFor } from "./_consumer_helpers.ts";

const enc = new TextEncoder();
const RECORDS = 20;
const BACKOFF_MS = 20;
const BACKOFF_MAX_MS = 200;

/** A fresh one-broker cluster with topic "t" (1 partition) holding RECORDS records. */
async function startCluster(): Promise<EmbeddedCluster> {
  const cluster = await EmbeddedCluster.start();
  await cluster.createTopic("t", { partitions: 1 });
  await produceRecords(cluster, 0, RECORDS);
  return cluster;
}

async function produceRecords(cluster: EmbeddedCluster, from: number, n: number): Promise<void> {
  const admin = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    const records = Array.from({ length: n }, (_, i) => ({ value: enc.encode(`v${from + i}`) }));
    await produce(admin, "t", 0, records);
  } finally {
    await admin.close();
  }
}

/** Records every request of these APIs (installed before any fault rule). */
function observe(cluster: EmbeddedCluster, ...apis: ApiName[]): Record<string, Interception> {
  return Object.fromEntries(
    apis.map((api) => [api, cluster.intercept({ apiKey: api, action: { observe: true } })]),
  );
}

const ASSIGN = {
  assign: [{ topic: "t", partition: 0, offset: "earliest" as const }],
} as Partial<ConsumerOptions>;
const FROM_ZERO = { assign: [{ topic: "t", partition: 0, offset: 0n }] } as Partial<
  ConsumerOptions
>;
const group = (groupId: string) => ({ groupId, topics: ["t"] }) as Partial<ConsumerOptions>;

function consumer(cluster: EmbeddedCluster, extra: Partial<ConsumerOptions>): Consumer {
  return new Consumer(fastOptions({
    brokers: cluster.bootstrap.split(","),
    clientId: "error-codes-test",
    retryBackoffMs: BACKOFF_MS,
    retryBackoffMaxMs: BACKOFF_MAX_MS,
    heartbeatIntervalMs: 100,
    // Short: a rejoin with a new member id waits for the old one to expire.
    sessionTimeoutMs: 1500,
    closeTimeoutMs: 1000,
    ...extra,
  }));
}

/** Reads until `n` records came; asserts offsets 0..n-1 each exactly once. */
async function readExactlyOnce(reader: BatchReader, n = RECORDS): Promise<Tally> {
  const tally = new Tally();
  await readUntil(reader, tally, () => tally.count >= n, 10_000);
  // Anything more (a duplicate) would be delivered right away.
  const extra = await reader.next(150);
  if (extra) tally.add(extra);
  assert.deepEqual(tally.duplicates(), [], tally.summary());
  assert.equal(tally.count, n, tally.summary());
  assert.deepEqual(tally.missing({ topic: "t", partition: 0 }, BigInt(n)), [], tally.summary());
  return tally;
}

/** Reads until the stream errors; returns the error (fails on a timeout or a clean end). */
async function streamError(reader: BatchReader, timeoutMs = 10_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`the stream did not error within ${timeoutMs} ms`);
    let batch: RecordBatch | null | undefined;
    try {
      batch = await reader.next(Math.min(left, 500));
    } catch (e) {
      return e;
    }
    if (batch === null) throw new Error("the stream ended without an error");
    batch?.ack();
  }
}

/** Asserts a KafkaProtocolError with `code`, its name in the message (and `also`). */
function assertProtocolError(e: unknown, code: number, also?: RegExp): KafkaProtocolError {
  assert.ok(e instanceof KafkaProtocolError, `a KafkaProtocolError, got ${e}`);
  assert.equal(e.code, code, e.message);
  assert.match(e.message, new RegExp(`${errorInfo(code).name} \\(${code}\\)`));
  if (also) assert.match(e.message, also);
  return e;
}

const after = (list: readonly ObservedRequest[], t: number) => list.filter((r) => r.atMs > t);

/** Answers the next `times` Heartbeats with `code`; resolves with the first one faulted. */
async function faultHeartbeats(
  cluster: EmbeddedCluster,
  code: number,
  times = 1,
): Promise<ObservedRequest> {
  const rule = cluster.intercept({ apiKey: "Heartbeat", times, action: { errorCode: code } });
  await waitFor("the injected heartbeat error", () => !rule.active, 5000);
  return rule.requests[0];
}
const name = (code: number) => `${errorInfo(code).name} (${code})`;

/** Runs `body` with a fresh cluster and a consumer; closes both (bounded). */
async function scenario(
  extra: Partial<ConsumerOptions>,
  setup: (cluster: EmbeddedCluster) => void,
  body: (ctx: { cluster: EmbeddedCluster; c: Consumer; reader: BatchReader }) => Promise<void>,
): Promise<void> {
  await using cluster = await startCluster();
  setup(cluster);
  const c = consumer(cluster, extra);
  try {
    await body({ cluster, c, reader: new BatchReader(c.readable) });
  } finally {
    await c.close();
  }
}

// ---------------------------------------------------------------------------
// Fetch

Deno.test("error codes: Fetch, partition level", async (t) => {
  const refresh = [
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
    ErrorCode.FENCED_LEADER_EPOCH,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.UNKNOWN_TOPIC_ID,
    ErrorCode.LEADER_NOT_AVAILABLE,
    ErrorCode.REPLICA_NOT_AVAILABLE,
    ErrorCode.KAFKA_STORAGE_ERROR,
    ErrorCode.INCONSISTENT_TOPIC_ID,
    ErrorCode.OFFSET_NOT_AVAILABLE,
  ];
  for (const code of refresh) {
    await t.step(`${name(code)}: metadata refreshed, records once`, async () => {
      let seen: Record<string, Interception> = {};
      let rule: Interception | undefined;
      await scenario(ASSIGN, (cluster) => {
        seen = observe(cluster, "Metadata");
        rule = cluster.intercept({ apiKey: "Fetch", times: 2, action: { errorCode: code } });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        assert.equal(rule!.hits, 2);
        const firstFault = rule!.requests[0].atMs;
        assert.ok(
          after(seen.Metadata.requests, firstFault).length > 0,
          "a Metadata request follows the error",
        );
      });
    });
  }

  for (const code of [ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.UNKNOWN_SERVER_ERROR]) {
    await t.step(`${name(code)}: backed off, retried, records once`, async () => {
      let rule: Interception | undefined;
      await scenario(ASSIGN, (cluster) => {
        rule = cluster.intercept({ apiKey: "Fetch", times: 2, action: { errorCode: code } });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        const [a, b] = rule!.requests;
        // backoffMs(0) is BACKOFF_MS ± 20%.
        assert.ok(b.atMs - a.atMs >= BACKOFF_MS * 0.8 - 1, `retried after ${b.atMs - a.atMs} ms`);
      });
    });
  }

  for (const reset of ["earliest", "latest"] as const) {
    await t.step(`${name(ErrorCode.OFFSET_OUT_OF_RANGE)}: reset to ${reset}`, async () => {
      let seen: Record<string, Interception> = {};
      await scenario({ ...FROM_ZERO, autoOffsetReset: reset }, (cluster) => {
        seen = observe(cluster, "ListOffsets");
        cluster.intercept({ apiKey: "Fetch", times: 1, action: { errorCode: 1 } });
      }, async ({ cluster, reader }) => {
        void reader.next(1); // the first pull starts the consumer
        await waitFor("the reset's ListOffsets", () => seen.ListOffsets.hits > 0, 5000);
        const timestamps = seen.ListOffsets.requests.map((r) =>
          (r.body.topics as { partitions: { timestamp: bigint }[] }[])[0].partitions[0].timestamp
        );
        assert.deepEqual(timestamps, [reset === "earliest" ? -2n : -1n]);
        if (reset === "earliest") {
          await readExactlyOnce(reader);
        } else {
          await produceRecords(cluster, RECORDS, 3);
          const tally = new Tally();
          await readUntil(reader, tally, () => tally.count >= 3, 10_000);
          assert.deepEqual(tally.of({ topic: "t", partition: 0 }).map((s) => s.offset), [
            20n,
            21n,
            22n,
          ]);
        }
      });
    });
  }

  await t.step(
    `${name(ErrorCode.OFFSET_OUT_OF_RANGE)} with autoOffsetReset "none": the stream ends`,
    async () => {
      await scenario({ ...FROM_ZERO, autoOffsetReset: "none" }, (cluster) => {
        cluster.intercept({ apiKey: "Fetch", times: 1, action: { errorCode: 1 } });
      }, async ({ reader }) => {
        const e = assertProtocolError(await streamError(reader), ErrorCode.OFFSET_OUT_OF_RANGE);
        assert.equal(e.topic, "t");
        assert.equal(e.partition, 0);
      });
    },
  );

  await t.step(
    `${name(ErrorCode.TOPIC_AUTHORIZATION_FAILED)}: the stream ends naming the topic`,
    async () => {
      await scenario(ASSIGN, (cluster) => {
        cluster.intercept({ apiKey: "Fetch", action: { errorCode: 29 } });
      }, async ({ reader }) => {
        const e = assertProtocolError(await streamError(reader), 29, /topic t partition 0/);
        assert.equal(e.apiName, "Fetch");
      });
    },
  );

  await t.step(
    `${name(ErrorCode.CORRUPT_MESSAGE)}: the stream ends naming topic, partition, offset`,
    async () => {
      await scenario(ASSIGN, (cluster) => {
        cluster.intercept({ apiKey: "Fetch", action: { errorCode: 2 } });
      }, async ({ reader }) => {
        const e = await streamError(reader);
        assert.ok(e instanceof CorruptDataError, `a CorruptDataError, got ${e}`);
        assert.equal(e.topic, "t");
        assert.equal(e.partition, 0);
        assert.equal(e.offset, 0n);
        assert.match(e.message, /CORRUPT_MESSAGE/);
        assert.ok(e.cause instanceof KafkaProtocolError && e.cause.code === 2);
      });
    },
  );
});

Deno.test("error codes: Fetch, top level (fetch sessions)", async (t) => {
  for (
    const code of [
      ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
      ErrorCode.INVALID_FETCH_SESSION_EPOCH,
      ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
    ]
  ) {
    await t.step(`${name(code)}: the next Fetch opens a new session`, async () => {
      let seen: Record<string, Interception> = {};
      await scenario(ASSIGN, (cluster) => {
        seen = observe(cluster, "Fetch");
        // The embedded broker has no sessions: the first answer opens one
        // (id 777), the second says the session is gone.
        cluster.intercept({
          apiKey: "Fetch",
          times: 1,
          action: { rewrite: (res) => void (res.sessionId = 777) },
        });
        cluster.intercept({
          apiKey: "Fetch",
          times: 1,
          action: { rewrite: (res) => void (res.errorCode = code) },
        });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        await waitFor("three Fetch requests", () => seen.Fetch.hits >= 3, 5000);
        const session = seen.Fetch.requests.slice(0, 3).map((r) => [
          r.body.sessionId,
          r.body.sessionEpoch,
        ]);
        assert.deepEqual(session, [[0, 0], [777, 1], [0, 0]]);
      });
    });
  }
});

// ---------------------------------------------------------------------------
// ListOffsets and Metadata

Deno.test("error codes: ListOffsets", async (t) => {
  for (
    const code of [
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.LEADER_NOT_AVAILABLE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.FENCED_LEADER_EPOCH,
      ErrorCode.UNKNOWN_LEADER_EPOCH,
      ErrorCode.OFFSET_NOT_AVAILABLE,
    ]
  ) {
    await t.step(`${name(code)}: retried after a metadata refresh, records once`, async () => {
      let seen: Record<string, Interception> = {};
      let rule: Interception | undefined;
      await scenario(ASSIGN, (cluster) => {
        seen = observe(cluster, "Metadata", "ListOffsets");
        rule = cluster.intercept({ apiKey: "ListOffsets", times: 2, action: { errorCode: code } });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        assert.equal(rule!.hits, 2);
        assert.equal(seen.ListOffsets.hits, 3);
        assert.ok(after(seen.Metadata.requests, rule!.requests[0].atMs).length > 0);
      });
    });
  }
  await t.step(`${name(ErrorCode.TOPIC_AUTHORIZATION_FAILED)}: the stream ends`, async () => {
    await scenario(ASSIGN, (cluster) => {
      cluster.intercept({ apiKey: "ListOffsets", action: { errorCode: 29 } });
    }, async ({ reader }) => {
      assertProtocolError(await streamError(reader), 29, /topic t/);
    });
  });
});

Deno.test("error codes: Metadata, topic level", async (t) => {
  for (const code of [ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]) {
    await t.step(`${name(code)}: retried, records once`, async () => {
      let rule: Interception | undefined;
      await scenario(ASSIGN, (cluster) => {
        rule = cluster.intercept({ apiKey: "Metadata", times: 2, action: { errorCode: code } });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        assert.equal(rule!.hits, 2);
      });
    });
  }
  await t.step(`${name(ErrorCode.TOPIC_AUTHORIZATION_FAILED)}: the stream ends`, async () => {
    await scenario(ASSIGN, (cluster) => {
      cluster.intercept({ apiKey: "Metadata", action: { errorCode: 29 } });
    }, async ({ reader }) => {
      assertProtocolError(await streamError(reader), 29);
    });
  });
});

// ---------------------------------------------------------------------------
// The group coordinator

const COORDINATOR_MOVED = [ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE];

Deno.test("error codes: FindCoordinator", async (t) => {
  for (const code of [...COORDINATOR_MOVED, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]) {
    await t.step(`${name(code)}: looked up again, records once`, async () => {
      let rule: Interception | undefined;
      await scenario(group(`fc-${code}`), (cluster) => {
        rule = cluster.intercept({
          apiKey: "FindCoordinator",
          times: 2,
          action: { errorCode: code },
        });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        assert.equal(rule!.hits, 2);
        const [a, b] = rule!.requests;
        assert.ok(b.atMs - a.atMs >= BACKOFF_MS * 0.8 - 1, "with backoff");
      });
    });
  }
  await t.step(`${name(ErrorCode.GROUP_AUTHORIZATION_FAILED)}: the stream ends`, async () => {
    await scenario(group("fc-auth"), (cluster) => {
      cluster.intercept({ apiKey: "FindCoordinator", action: { errorCode: 30 } });
    }, async ({ reader }) => {
      assertProtocolError(await streamError(reader), 30, /group fc-auth/);
    });
  });
});

/** JoinGroup requests after `t`, with the member id each carried. */
const joinsAfter = (seen: Record<string, Interception>, t: number) =>
  after(seen.JoinGroup.requests, t).map((r) => r.body.memberId as string);

Deno.test("error codes: JoinGroup", async (t) => {
  for (const code of COORDINATOR_MOVED) {
    await t.step(`${name(code)}: coordinator looked up again, records once`, async () => {
      let seen: Record<string, Interception> = {};
      let rule: Interception | undefined;
      await scenario(group(`jg-${code}`), (cluster) => {
        seen = observe(cluster, "FindCoordinator");
        rule = cluster.intercept({ apiKey: "JoinGroup", times: 1, action: { errorCode: code } });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        assert.ok(after(seen.FindCoordinator.requests, rule!.requests[0].atMs).length > 0);
      });
    });
  }
  for (const code of [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.REBALANCE_IN_PROGRESS]) {
    await t.step(`${name(code)}: joined again after a backoff, records once`, async () => {
      let seen: Record<string, Interception> = {};
      let rule: Interception | undefined;
      await scenario(group(`jg-${code}`), (cluster) => {
        seen = observe(cluster, "JoinGroup");
        rule = cluster.intercept({ apiKey: "JoinGroup", times: 1, action: { errorCode: code } });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        const next = after(seen.JoinGroup.requests, rule!.requests[0].atMs);
        assert.ok(next.length > 0);
        assert.ok(next[0].atMs - rule!.requests[0].atMs >= BACKOFF_MS * 0.8 - 1, "with backoff");
      });
    });
  }
  await t.step(
    `${name(ErrorCode.UNKNOWN_MEMBER_ID)}: rejoined with an empty member id`,
    async () => {
      let seen: Record<string, Interception> = {};
      let faultAt = -1;
      await scenario(group("jg-unknown"), (cluster) => {
        seen = observe(cluster, "JoinGroup");
        cluster.intercept({
          apiKey: "JoinGroup",
          action: {
            rewrite: (res, req) => {
              // The first join with an id (after MEMBER_ID_REQUIRED) is refused.
              if (faultAt < 0 && req.memberId !== "") {
                faultAt = performance.now();
                res.errorCode = ErrorCode.UNKNOWN_MEMBER_ID;
              }
            },
          },
        });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        assert.ok(faultAt > 0);
        assert.equal(joinsAfter(seen, faultAt)[0], "");
      });
    },
  );
  const fatal: [number, Partial<ConsumerOptions>, RegExp?][] = [
    [ErrorCode.INCONSISTENT_GROUP_PROTOCOL, {}, /assignors/],
    [ErrorCode.INVALID_SESSION_TIMEOUT, {}, /sessionTimeoutMs/],
    [ErrorCode.GROUP_AUTHORIZATION_FAILED, {}],
    [ErrorCode.INVALID_GROUP_ID, {}],
    [ErrorCode.GROUP_MAX_SIZE_REACHED, {}],
    [ErrorCode.FENCED_INSTANCE_ID, { groupInstanceId: "instance-1" }, /groupInstanceId/],
  ];
  for (const [code, extra, also] of fatal) {
    await t.step(`${name(code)}: the stream ends naming the code`, async () => {
      await scenario({ ...group(`jg-${code}`), ...extra }, (cluster) => {
        cluster.intercept({ apiKey: "JoinGroup", action: { errorCode: code } });
      }, async ({ reader }) => {
        const e = assertProtocolError(await streamError(reader), code, also);
        assert.equal(e.apiName, "JoinGroup");
      });
    });
  }
});

Deno.test("error codes: SyncGroup", async (t) => {
  const rejoin: [number, "keeps" | "drops"][] = [
    [ErrorCode.REBALANCE_IN_PROGRESS, "keeps"],
    [ErrorCode.ILLEGAL_GENERATION, "keeps"],
    [ErrorCode.UNKNOWN_MEMBER_ID, "drops"],
  ];
  for (const [code, memberId] of rejoin) {
    await t.step(`${name(code)}: rejoined, ${memberId} the member id, records once`, async () => {
      let seen: Record<string, Interception> = {};
      let rule: Interception | undefined;
      await scenario(group(`sg-${code}`), (cluster) => {
        seen = observe(cluster, "JoinGroup");
        rule = cluster.intercept({ apiKey: "SyncGroup", times: 1, action: { errorCode: code } });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        const fault = rule!.requests[0];
        const next = joinsAfter(seen, fault.atMs);
        assert.ok(next.length > 0, "a JoinGroup follows");
        assert.equal(next[0], memberId === "keeps" ? fault.body.memberId : "");
      });
    });
  }
  await t.step(`${name(ErrorCode.NOT_COORDINATOR)}: coordinator looked up again`, async () => {
    let seen: Record<string, Interception> = {};
    let rule: Interception | undefined;
    await scenario(group("sg-nc"), (cluster) => {
      seen = observe(cluster, "FindCoordinator");
      rule = cluster.intercept({ apiKey: "SyncGroup", times: 1, action: { errorCode: 16 } });
    }, async ({ reader }) => {
      await readExactlyOnce(reader);
      assert.ok(after(seen.FindCoordinator.requests, rule!.requests[0].atMs).length > 0);
    });
  });
  const fatal: [number, Partial<ConsumerOptions>][] = [
    [ErrorCode.FENCED_INSTANCE_ID, { groupInstanceId: "instance-1" }],
    [ErrorCode.GROUP_AUTHORIZATION_FAILED, {}],
  ];
  for (const [code, extra] of fatal) {
    await t.step(`${name(code)}: the stream ends naming the code`, async () => {
      await scenario({ ...group(`sg-${code}`), ...extra }, (cluster) => {
        cluster.intercept({ apiKey: "SyncGroup", action: { errorCode: code } });
      }, async ({ reader }) => {
        assertProtocolError(await streamError(reader), code);
      });
    });
  }
});

Deno.test("error codes: Heartbeat", async (t) => {
  const rejoin: [number, "keeps" | "drops", boolean][] = [
    [ErrorCode.REBALANCE_IN_PROGRESS, "keeps", false],
    [ErrorCode.ILLEGAL_GENERATION, "keeps", true],
    [ErrorCode.UNKNOWN_MEMBER_ID, "drops", true],
  ];
  for (const [code, memberId, lost] of rejoin) {
    await t.step(
      `${name(code)}: rejoined, ${memberId} the member id${lost ? ", partitions lost" : ""}`,
      async () => {
        let seen: Record<string, Interception> = {};
        let lostCalls = 0;
        await scenario({ ...group(`hb-${code}`), onLost: () => void lostCalls++ }, (cluster) => {
          seen = observe(cluster, "JoinGroup");
        }, async ({ cluster, reader }) => {
          await readExactlyOnce(reader);
          const fault = await faultHeartbeats(cluster, code);
          await waitFor("a JoinGroup", () => joinsAfter(seen, fault.atMs).length > 0, 5000);
          assert.equal(
            joinsAfter(seen, fault.atMs)[0],
            memberId === "keeps" ? fault.body.memberId : "",
          );
          assert.equal(lostCalls, lost ? 1 : 0);
        });
      },
    );
  }
  for (const code of COORDINATOR_MOVED) {
    await t.step(`${name(code)}: coordinator looked up again, no rejoin`, async () => {
      let seen: Record<string, Interception> = {};
      await scenario(group(`hb-${code}`), (cluster) => {
        seen = observe(cluster, "FindCoordinator", "JoinGroup", "Heartbeat");
      }, async ({ cluster, reader }) => {
        await readExactlyOnce(reader);
        const at = (await faultHeartbeats(cluster, code)).atMs;
        await waitFor(
          "a FindCoordinator",
          () => after(seen.FindCoordinator.requests, at).length > 0,
          5000,
        );
        // Heartbeats go on (to the coordinator found again) without a rejoin.
        await waitFor(
          "two more heartbeats",
          () => after(seen.Heartbeat.requests, at).length > 2,
          5000,
        );
        assert.deepEqual(joinsAfter(seen, at), []);
      });
    });
  }
  await t.step(
    `${name(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)}: heartbeats go on, no rejoin`,
    async () => {
      let seen: Record<string, Interception> = {};
      await scenario(group("hb-load"), (cluster) => {
        seen = observe(cluster, "JoinGroup", "Heartbeat");
      }, async ({ cluster, reader }) => {
        await readExactlyOnce(reader);
        const at = (await faultHeartbeats(cluster, 14, 2)).atMs;
        await waitFor("more heartbeats", () => after(seen.Heartbeat.requests, at).length > 3, 5000);
        assert.deepEqual(joinsAfter(seen, at), []);
      });
    },
  );
  const fatal: [number, Partial<ConsumerOptions>][] = [
    [ErrorCode.FENCED_INSTANCE_ID, { groupInstanceId: "instance-1" }],
    [ErrorCode.GROUP_AUTHORIZATION_FAILED, {}],
  ];
  for (const [code, extra] of fatal) {
    await t.step(`${name(code)}: the stream ends naming the code`, async () => {
      await scenario(
        { ...group(`hb-${code}`), ...extra },
        () => {},
        async ({ cluster, reader }) => {
          await readExactlyOnce(reader);
          cluster.intercept({ apiKey: "Heartbeat", action: { errorCode: code } });
          const e = assertProtocolError(await streamError(reader), code);
          assert.equal(e.apiName, "Heartbeat");
        },
      );
    });
  }
});

Deno.test("error codes: OffsetFetch", async (t) => {
  for (
    const code of [
      ...COORDINATOR_MOVED,
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      ErrorCode.UNSTABLE_OFFSET_COMMIT,
    ]
  ) {
    await t.step(`${name(code)}: retried with backoff, no rejoin, records once`, async () => {
      let seen: Record<string, Interception> = {};
      let rule: Interception | undefined;
      await scenario(group(`of-${code}`), (cluster) => {
        seen = observe(cluster, "JoinGroup");
        rule = cluster.intercept({ apiKey: "OffsetFetch", times: 2, action: { errorCode: code } });
      }, async ({ reader }) => {
        await readExactlyOnce(reader);
        const [a, b] = rule!.requests;
        assert.ok(b.atMs - a.atMs >= BACKOFF_MS * 0.8 - 1, "with backoff");
        assert.deepEqual(joinsAfter(seen, a.atMs), []);
      });
    });
  }
  for (const code of [ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.TOPIC_AUTHORIZATION_FAILED]) {
    await t.step(`${name(code)}: the stream ends naming the code`, async () => {
      await scenario(group(`of-${code}`), (cluster) => {
        cluster.intercept({ apiKey: "OffsetFetch", action: { errorCode: code } });
      }, async ({ reader }) => {
        const e = assertProtocolError(await streamError(reader), code);
        assert.equal(e.apiName, "OffsetFetch");
      });
    });
  }
});

Deno.test("error codes: OffsetCommit (manual commit)", async (t) => {
  const manual = (g: string) => ({ ...group(g), commit: "manual" }) as Partial<ConsumerOptions>;
  for (const code of [...COORDINATOR_MOVED, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]) {
    await t.step(`${name(code)}: retried, commit() resolves`, async () => {
      await scenario(manual(`oc-${code}`), () => {}, async ({ cluster, c, reader }) => {
        await readExactlyOnce(reader);
        const rule = cluster.intercept({
          apiKey: "OffsetCommit",
          times: 2,
          action: { errorCode: code },
        });
        const seen = observe(cluster, "OffsetCommit");
        await c.commit();
        assert.equal(rule.hits, 2);
        assert.equal(seen.OffsetCommit.hits, 1, "the third attempt went through");
      });
    });
  }
  for (
    const code of [
      ErrorCode.REBALANCE_IN_PROGRESS,
      ErrorCode.ILLEGAL_GENERATION,
      ErrorCode.UNKNOWN_MEMBER_ID,
    ]
  ) {
    await t.step(`${name(code)}: commit() rejects, the member rejoins`, async () => {
      let seen: Record<string, Interception> = {};
      await scenario(manual(`oc-${code}`), (cluster) => {
        seen = observe(cluster, "JoinGroup");
      }, async ({ cluster, c, reader }) => {
        await readExactlyOnce(reader);
        const rule = cluster.intercept({
          apiKey: "OffsetCommit",
          times: 1,
          action: { errorCode: code },
        });
        await assert.rejects(c.commit(), (e: unknown) => !!assertProtocolError(e, code));
        const at = rule.requests[0].atMs;
        await waitFor("a JoinGroup", () => joinsAfter(seen, at).length > 0, 5000);
      });
    });
  }
  for (
    const code of [
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      ErrorCode.GROUP_AUTHORIZATION_FAILED,
      ErrorCode.OFFSET_METADATA_TOO_LARGE,
      ErrorCode.INVALID_COMMIT_OFFSET_SIZE,
    ]
  ) {
    await t.step(`${name(code)}: commit() rejects naming the code`, async () => {
      await scenario(manual(`oc-${code}`), () => {}, async ({ cluster, c, reader }) => {
        await readExactlyOnce(reader);
        cluster.intercept({ apiKey: "OffsetCommit", times: 1, action: { errorCode: code } });
        await assert.rejects(c.commit(), (e: unknown) => {
          assert.equal(assertProtocolError(e, code).apiName, "OffsetCommit");
          return true;
        });
      });
    });
  }
});

Deno.test("error codes: LeaveGroup on close", async (t) => {
  await t.step(`${name(ErrorCode.COORDINATOR_NOT_AVAILABLE)}: retried`, async () => {
    await using cluster = await startCluster();
    const c = consumer(cluster, group("lg-15"));
    await readExactlyOnce(new BatchReader(c.readable));
    const rule = cluster.intercept({ apiKey: "LeaveGroup", times: 1, action: { errorCode: 15 } });
    const seen = observe(cluster, "LeaveGroup");
    await c.close();
    assert.equal(rule.hits, 1);
    assert.equal(seen.LeaveGroup.hits, 1, "sent again");
  });
  await t.step(`${name(ErrorCode.GROUP_AUTHORIZATION_FAILED)}: close() still returns`, async () => {
    await using cluster = await startCluster();
    const c = consumer(cluster, group("lg-30"));
    await readExactlyOnce(new BatchReader(c.readable));
    const rule = cluster.intercept({ apiKey: "LeaveGroup", action: { errorCode: 30 } });
    const started = performance.now();
    await c.close();
    assert.equal(rule.hits, 1, "not retried");
    assert.ok(performance.now() - started < 3000);
  });
});

// ---------------------------------------------------------------------------
// Retries: growing, jittered, capped delays; bounded where the consumer gives up

/** Gaps between consecutive requests, ms. */
const gaps = (list: readonly ObservedRequest[]) =>
  list.slice(1).map((r, i) => r.atMs - list[i].atMs);

/** Asserts gaps that grow from about BACKOFF_MS to at most about BACKOFF_MAX_MS, with jitter. */
function assertBackoff(ds: number[], slackMs: number): void {
  const what = ds.map((d) => d.toFixed(0)).join(", ");
  assert.ok(ds[0] >= BACKOFF_MS * 0.8 - 1, `first retry after ${ds[0]} ms: ${what}`);
  // Early retries are quick: the first or second (2 x BACKOFF_MS) within its
  // jitter. One of them may run late on a loaded machine (timers fire late,
  // never early), not both.
  const first = Math.min(ds[0], ds[1] / 2);
  assert.ok(
    first < BACKOFF_MS * 1.2 + slackMs,
    `first retries after ${ds[0]} and ${ds[1]} ms: ${what}`,
  );
  const late = ds.slice(-3);
  assert.ok(Math.min(...late) > first * 3, `delays grow: ${what}`);
  for (const d of ds) assert.ok(d <= BACKOFF_MAX_MS * 1.2 + slackMs, `capped: ${what}`);
  // ±20% jitter: capped delays are not all the same.
  assert.ok(new Set(late.map((d) => Math.round(d / 2))).size > 1, `jittered: ${what}`);
}

for (
  const { code, api, what, options } of [
    { code: 6, api: "Fetch", what: "NOT_LEADER_OR_FOLLOWER on Fetch", options: ASSIGN },
    {
      code: 15,
      api: "FindCoordinator",
      what: "COORDINATOR_NOT_AVAILABLE",
      options: group("persistent-fc"),
    },
  ] as const
) {
  Deno.test(`error codes: a persistent ${what} is retried with growing, capped, jittered delays`, async () => {
    await using cluster = await startCluster();
    const rule = cluster.intercept({ apiKey: api, action: { errorCode: code } });
    const c = consumer(cluster, options);
    try {
      const reader = new BatchReader(c.readable);
      void reader.next(1); // the first pull starts the consumer
      await waitFor("9 failed requests", () => rule.hits >= 9, 10_000);
      rule.remove();
      assertBackoff(gaps(rule.requests.slice(0, 9)), 40);
      await readExactlyOnce(reader);
    } finally {
      await c.close();
    }
  });
}

Deno.test("error codes: a persistent LEADER_NOT_AVAILABLE on ListOffsets ends the stream after 21 tries with growing delays", async () => {
  await using cluster = await startCluster();
  const rule = cluster.intercept({ apiKey: "ListOffsets", action: { errorCode: 5 } });
  const c = consumer(cluster, ASSIGN);
  try {
    assertProtocolError(await streamError(new BatchReader(c.readable)), 5);
    assert.equal(rule.hits, MAX_RETRIES + 1);
    // Each retry also refreshes metadata first: a little more slack.
    assertBackoff(gaps(rule.requests), 60);
  } finally {
    await c.close();
  }
});
