// The runner of the KIP-848 fault cases (tests/consumer_protocol_faults_test.ts):
// a consumer-protocol member of group "g" on an embedded cluster, an error
// code injected on one API, and the invariants — no record skipped, none below the committed
// offset (no reset to earliest or latest), no commit beyond the
// acknowledged records, reading goes on after the fault.

import assert from "node:assert/strict";
import { Consumer, type ConsumerOptions } from "../mod.ts";
import { type ApiName, EmbeddedCluster } from "../testing.ts";
import { ErrorCode } from "../src/protocol/error_codes.ts";
import { BatchReader } from "./_consumer_helpers.ts";

const { STALE_MEMBER_EPOCH, FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID } = ErrorCode;

const PARTITIONS = 2;
/** Offsets below this were committed by an earlier member: never delivered again. */
const COMMITTED_START = 10;
const END = 80;

function options(bootstrap: string, extra: Partial<ConsumerOptions>): ConsumerOptions {
  return {
    brokers: bootstrap.split(","),
    clientId: "sluice-kip848-faults",
    groupId: "g",
    topics: ["t"],
    groupProtocol: "consumer",
    fetchMaxWaitMs: 100,
    closeTimeoutMs: 2000,
    retryBackoffMs: 50,
    retryBackoffMaxMs: 300,
    autoCommitIntervalMs: 200,
    ...extra,
  } as ConsumerOptions;
}

function values(p: number, from: number, to: number) {
  return Array.from({ length: to - from }, (_, i) => ({ value: `p${p}-${from + i}` }));
}

async function produceRange(cluster: EmbeddedCluster, from: number, to: number): Promise<void> {
  for (let p = 0; p < PARTITIONS; p++) await cluster.produce("t", p, values(p, from, to));
}

/** The group's committed offsets by partition (-1 when none). */
function committed(cluster: EmbeddedCluster): bigint[] {
  const out = Array.from({ length: PARTITIONS }, () => -1n);
  for (const c of cluster.group("g").committed) if (c.topic === "t") out[c.partition] = c.offset;
  return out;
}

/**
 * A cluster whose group "g" committed offset 10 on both partitions (a first
 * consumer-protocol member read and acknowledged offsets 0-9 and closed),
 * with records up to offset 30 in the log.
 */
async function preparedCluster(): Promise<EmbeddedCluster> {
  const cluster = await EmbeddedCluster.start({
    brokers: 1,
    consumerGroupHeartbeatIntervalMs: 200,
    consumerGroupSessionTimeoutMs: 6000,
  });
  await cluster.createTopic("t", { partitions: PARTITIONS });
  await produceRange(cluster, 0, COMMITTED_START);
  {
    await using first = new Consumer(
      options(cluster.bootstrap, { autoOffsetReset: "earliest", commit: "manual" }),
    );
    const reader = new BatchReader(first.readable);
    const seen = new Set<string>();
    const deadline = Date.now() + 20_000;
    while (seen.size < PARTITIONS * COMMITTED_START) {
      if (Date.now() > deadline) throw new Error(`setup: read only ${seen.size} records`);
      const b = await reader.next(500);
      if (!b) continue;
      for (const r of b.records) seen.add(`${b.partition}:${r.offset}`);
      b.ack();
    }
    await first.commit();
  }
  assert.deepEqual(committed(cluster), [10n, 10n], "setup: the first member committed 10");
  await produceRange(cluster, COMMITTED_START, 30);
  return cluster;
}

/** One fault case. */
export interface Case {
  readonly api: ApiName;
  readonly errorCode: number;
  /** Inject from the start (the first OffsetFetch) or once round 1 was read. */
  readonly from: "start" | "running";
  readonly times: number;
  /** The member must give its partitions up as lost (onLost) at least once. */
  readonly expectLost?: boolean;
}

/**
 * Runs one fault case: reads round 1 (offsets 10-29), with the fault active
 * while round 2 (30-59) is produced and read, then round 3 (60-79) after it
 * is removed. Checks the invariants all along.
 */
export async function runCase(c: Case, reset: "earliest" | "latest"): Promise<void> {
  // A rejected promise nobody handles inside the client would end the test
  // process; it is recorded and fails this case instead.
  const unhandled: string[] = [];
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    unhandled.push(String(e.reason?.stack ?? e.reason));
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  try {
    await runCaseInner(c, reset, unhandled);
  } finally {
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
  assert.deepEqual(unhandled, [], "no unhandled rejection inside the client");
}

async function runCaseInner(
  c: Case,
  reset: "earliest" | "latest",
  unhandled: readonly string[],
): Promise<void> {
  await using cluster = await preparedCluster();
  const rule = () =>
    cluster.intercept({ apiKey: c.api, times: c.times, action: { errorCode: c.errorCode } });
  let fault = c.from === "start" ? rule() : undefined;
  let lost = 0;
  await using consumer = new Consumer(options(cluster.bootstrap, {
    autoOffsetReset: reset,
    onLost: () => void lost++,
  }));
  const reader = new BatchReader(consumer.readable);
  const delivered = Array.from({ length: PARTITIONS }, () => new Set<number>());
  const acked = Array.from({ length: PARTITIONS }, () => -1n);
  const problems: string[] = [];
  // Sampled commits: never beyond what was acknowledged.
  const sampler = setInterval(() => {
    const now = committed(cluster);
    now.forEach((o, p) => {
      if (o > acked[p] + 1n && o !== BigInt(COMMITTED_START)) {
        problems.push(`partition ${p} committed ${o} with only up to ${acked[p]} acknowledged`);
      }
    });
  }, 25);
  const readUntil = async (upTo: number, what: string) => {
    const deadline = Date.now() + 30_000;
    while (!delivered.every((s) => [...range(COMMITTED_START, upTo)].every((o) => s.has(o)))) {
      if (unhandled.length > 0) {
        throw new Error(`${what}: unhandled rejection inside the client: ${unhandled[0]}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${what}: not every record up to ${upTo} within 30 s; missing ` +
            delivered.map((s, p) =>
              `p${p}: ${[...range(COMMITTED_START, upTo)].filter((o) => !s.has(o)).slice(0, 8)}`
            ).join(", ") + `; fault hits ${fault?.hits ?? "-"}`,
        );
      }
      const b = await reader.next(300);
      if (b === null) throw new Error(`${what}: the stream ended`);
      if (!b) continue;
      for (const r of b.records) {
        const o = Number(r.offset);
        if (o < COMMITTED_START) {
          problems.push(
            `partition ${b.partition} delivered ${o}, below the committed ${COMMITTED_START}`,
          );
        }
        delivered[b.partition].add(o);
      }
      const last = b.records[b.records.length - 1].offset;
      if (last > acked[b.partition]) acked[b.partition] = last;
      b.ack();
    }
  };
  try {
    await readUntil(30, "round 1");
    fault ??= rule();
    await produceRange(cluster, 30, 60);
    await readUntil(60, "round 2");
    const faultDeadline = Date.now() + 15_000;
    while (fault.hits < c.times && Date.now() < faultDeadline) {
      // Heartbeats and commits keep coming; reads keep the member alive.
      await reader.next(100);
    }
    assert.equal(fault.hits, c.times, `the fault was injected ${c.times} times`);
    if (c.expectLost) {
      const lostDeadline = Date.now() + 10_000;
      while (lost === 0 && Date.now() < lostDeadline) await reader.next(100);
      assert.ok(lost > 0, "the fenced member gave its partitions up (onLost)");
    }
    fault.remove();
    await produceRange(cluster, 60, END);
    await readUntil(END, "round 3 (after the fault)");
    await consumer.close();
    clearInterval(sampler);
    assert.deepEqual(problems, []);
    // Every partition delivered without a gap, nothing below the committed start.
    for (const s of delivered) {
      assert.deepEqual([...s].sort((a, b) => a - b), [...range(COMMITTED_START, END)]);
    }
    assert.deepEqual(committed(cluster), [BigInt(END), BigInt(END)], "all committed at close");
  } finally {
    clearInterval(sampler);
  }
}

function* range(from: number, to: number): Iterable<number> {
  for (let i = from; i < to; i++) yield i;
}

const NAMES: Record<number, string> = {
  [STALE_MEMBER_EPOCH]: "STALE_MEMBER_EPOCH",
  [FENCED_MEMBER_EPOCH]: "FENCED_MEMBER_EPOCH",
  [UNKNOWN_MEMBER_ID]: "UNKNOWN_MEMBER_ID",
};

/** The three codes injected. */
export const CODES: readonly number[] = [
  STALE_MEMBER_EPOCH,
  FENCED_MEMBER_EPOCH,
  UNKNOWN_MEMBER_ID,
];

/**
 * Registers one test per case. Cases alternate the reset policy (earliest,
 * latest), so that a wrong reset shows as a record below the committed
 * offset or as a gap.
 */
export function registerCases(cases: readonly Case[], prefix = "kip848 faults"): void {
  for (const [i, c] of cases.entries()) {
    const reset = i % 2 === 0 ? "earliest" : "latest";
    Deno.test(
      `${prefix}: ${NAMES[c.errorCode]} on ${c.api} (${c.times}x, autoOffsetReset ${reset}): ` +
        `nothing skipped, no reset, no commit beyond the acks, reading goes on`,
      () => runCase(c, reset),
    );
  }
}
