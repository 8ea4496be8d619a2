// Options observed where they take effect (issue 12): on the wire, or in
// behaviour. Each test sets non-default values and reads them back from the
// requests the embedded cluster received (its `observe` interception decodes
// every request; `mutate` measures or damages responses), or from what the
// consumer does (timings of requests and of close(), errors, assignments).
// Timings are asserted loosely (about 3x either way), never tightly.

import assert from "node:assert/strict";
import { ConnectionError, Consumer, type ConsumerOptions, CorruptDataError } from "../mod.ts";
import { EmbeddedCluster, type ObservedRequest } from "../testing.ts";
import {
  BatchReader,
  fastOptions,
  owned,
  produceValues,
  ReadLoop,
  sleep,
  Tally,
  values,
  waitFor,
} from "./_consumer_helpers.ts";

async function topicWithRecords(cluster: EmbeddedCluster): Promise<string> {
  const topic = `opt-${crypto.randomUUID().slice(0, 8)}`;
  await cluster.createTopic(topic, { partitions: 1 });
  await produceValues(topic, 0, values("v", 5), { bootstrap: cluster.bootstrap });
  return topic;
}

Deno.test("fetchMinBytes, fetchMaxBytes, maxPartitionFetchBytes, fetchMaxWaitMs, isolationLevel and clientId are what each Fetch carries", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = await topicWithRecords(cluster);
  const fetches = cluster.intercept({ apiKey: "Fetch", action: { observe: true } });
  const consumer = new Consumer(fastOptions({
    brokers: cluster.bootstrap,
    assign: [{ topic, partition: 0, offset: "earliest" }],
    clientId: "options-effect",
    fetchMinBytes: 7,
    fetchMaxBytes: 123_456,
    maxPartitionFetchBytes: 54_321,
    fetchMaxWaitMs: 77,
    isolationLevel: "read_committed",
  }));
  try {
    const batch = await new BatchReader(consumer.readable).nextBatch(10_000, "a batch");
    assert.equal(batch.records.length, 5);
    batch.ack();
    await waitFor("a Fetch", () => fetches.requests.length > 0, 5000);
  } finally {
    await consumer.close();
    fetches.remove();
  }
  const fetch = fetches.requests[0];
  assert.equal(fetch.clientId, "options-effect");
  assert.equal(fetch.body.minBytes, 7);
  assert.equal(fetch.body.maxBytes, 123_456);
  assert.equal(fetch.body.maxWaitMs, 77);
  assert.equal(fetch.body.isolationLevel, 1, "read_committed is isolation level 1");
  const topics = fetch.body.topics as { partitions: { partitionMaxBytes: number }[] }[];
  assert.equal(topics[0].partitions[0].partitionMaxBytes, 54_321);
});

Deno.test("sessionTimeoutMs, rebalanceTimeoutMs, groupInstanceId and assignors are what JoinGroup carries; heartbeatIntervalMs spaces the heartbeats", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = await topicWithRecords(cluster);
  const joins = cluster.intercept({ apiKey: "JoinGroup", action: { observe: true } });
  const beats = cluster.intercept({ apiKey: "Heartbeat", action: { observe: true } });
  const consumer = new Consumer(fastOptions({
    brokers: cluster.bootstrap,
    groupId: `g-${topic}`,
    topics: [topic],
    sessionTimeoutMs: 7000,
    rebalanceTimeoutMs: 12_345,
    heartbeatIntervalMs: 400,
    groupInstanceId: "instance-1",
    assignors: ["roundrobin", "range"],
  }));
  try {
    await new BatchReader(consumer.readable).nextBatch(10_000, "a batch");
    await waitFor("6 heartbeats", () => beats.requests.length >= 6, 10_000);
  } finally {
    await consumer.close();
    joins.remove();
    beats.remove();
  }
  const join = joins.requests.at(-1)!;
  assert.equal(join.body.sessionTimeoutMs, 7000);
  assert.equal(join.body.rebalanceTimeoutMs, 12_345);
  assert.equal(join.body.groupInstanceId, "instance-1");
  assert.deepEqual(
    (join.body.protocols as { name: string }[]).map((p) => p.name),
    ["roundrobin", "range"],
  );
  const at = beats.requests.map((r) => r.atMs);
  const gaps = at.slice(1).map((t, i) => t - at[i]).sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)];
  assert.ok(median >= 300 && median <= 1200, `median heartbeat gap ${median} ms for 400 ms`);
  assert.equal(beats.requests.at(-1)!.body.groupInstanceId, "instance-1");
});

/** Gaps between consecutive times, sorted; and their median. */
function gaps(times: readonly number[]): { sorted: number[]; median: number } {
  const sorted = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
  return { sorted, median: sorted[Math.floor(sorted.length / 2)] };
}

/** Where `needle` first occurs in `haystack`, or -1. */
function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("defaults on the wire: clientId sluice, Fetch minBytes 1, maxWaitMs 500, read_uncommitted, 1 MiB per partition, max bytes capped by the 32 MiB budget; JoinGroup session 45 s, rebalance = maxPollIntervalMs, no instance id, range then cooperative-sticky (Java's default)", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = await topicWithRecords(cluster);
  const fetches = cluster.intercept({ apiKey: "Fetch", action: { observe: true } });
  const joins = cluster.intercept({ apiKey: "JoinGroup", action: { observe: true } });
  // Only what a test cannot do without: no fastOptions here.
  const assigned = new Consumer({
    brokers: cluster.bootstrap,
    assign: [{ topic, partition: 0, offset: "earliest" }],
  });
  const member = new Consumer({
    brokers: cluster.bootstrap,
    groupId: `g-${topic}`,
    topics: [topic],
    autoOffsetReset: "earliest",
    heartbeatThread: "event-loop",
  });
  try {
    for (const consumer of [assigned, member]) {
      const batch = await new BatchReader(consumer.readable).nextBatch(10_000, "a batch");
      batch.ack(); // or close() waits the default 30 s for it
    }
  } finally {
    await Promise.all([assigned.close(), member.close()]);
    fetches.remove();
    joins.remove();
  }
  const fetch = fetches.requests[0];
  assert.equal(fetch.clientId, "sluice");
  assert.equal(fetch.body.minBytes, 1);
  assert.equal(fetch.body.maxWaitMs, 500);
  assert.equal(fetch.body.isolationLevel, 0, "read_uncommitted is isolation level 0");
  // fetchMaxBytes (50 MiB) is capped by what the memory budget (32 MiB) has left.
  assert.equal(fetch.body.maxBytes, 32 * 1024 * 1024);
  const topics = fetch.body.topics as { partitions: { partitionMaxBytes: number }[] }[];
  assert.equal(topics[0].partitions[0].partitionMaxBytes, 1024 * 1024);
  const join = joins.requests.at(-1)!;
  assert.equal(join.clientId, "sluice");
  assert.equal(join.body.sessionTimeoutMs, 45_000);
  assert.equal(
    join.body.rebalanceTimeoutMs,
    300_000,
    "rebalanceTimeoutMs defaults to maxPollIntervalMs",
  );
  assert.equal(join.body.groupInstanceId, null);
  assert.deepEqual(
    (join.body.protocols as { name: string }[]).map((p) => p.name),
    ["range", "cooperative-sticky"],
  );
});

Deno.test("checkCrcs: a byte flipped inside a record value errors the stream with CorruptDataError when true; with false the damaged record is delivered", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = `crc-${crypto.randomUUID().slice(0, 8)}`;
  await cluster.createTopic(topic, { partitions: 1 });
  await produceValues(topic, 0, values("crc-probe", 5), { bootstrap: cluster.bootstrap });
  // "crc-probe-3" becomes "crc-qrobe-3": the value keeps its length, so the
  // frame, the batch and the record stay well-formed; only the CRC is wrong.
  const target = new TextEncoder().encode("crc-probe-3");
  const flipped: number[] = [];
  cluster.intercept({
    apiKey: "Fetch",
    action: {
      mutate: (frame) => {
        const at = indexOfBytes(frame, target);
        if (at < 0) return frame;
        const out = frame.slice();
        out[at + 4] ^= 0x01; // 'p' -> 'q'
        flipped.push(at + 4);
        return out;
      },
    },
  });
  const options = (checkCrcs?: boolean): ConsumerOptions =>
    fastOptions({
      brokers: cluster.bootstrap,
      assign: [{ topic, partition: 0, offset: "earliest" }],
      ...(checkCrcs === undefined ? {} : { checkCrcs }),
    });

  // Default (true): the stream errors, naming where.
  const checking = new Consumer(options());
  try {
    const { error, records } = await new BatchReader(checking.readable).untilError(10_000);
    assert.ok(error instanceof CorruptDataError, `a CorruptDataError, got ${error}`);
    assert.match(error.message, /CRC/);
    assert.equal(error.topic, topic);
    assert.equal(error.partition, 0);
    assert.equal(records, 0, "nothing of the damaged batch was delivered");
  } finally {
    await checking.close();
  }
  assert.ok(flipped.length > 0, "the mutation found the value");

  // false: the same damage goes unnoticed and the changed value is delivered.
  const trusting = new Consumer(options(false));
  try {
    const reader = new BatchReader(trusting.readable);
    const tally = new Tally();
    while (tally.count < 5) {
      const batch = await reader.nextBatch(10_000, "the 5 records");
      tally.add(batch);
      batch.ack();
    }
    assert.deepEqual(
      tally.of({ topic, partition: 0 }).map((s) => s.value),
      ["crc-probe-0", "crc-probe-1", "crc-probe-2", "crc-qrobe-3", "crc-probe-4"],
    );
  } finally {
    await trusting.close();
  }
});

Deno.test("metadataMaxAgeMs: a subscribed member refreshes metadata about every metadataMaxAgeMs; with the default (5 min) not at all in the same window", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = await topicWithRecords(cluster);
  const windowMs = 3000;
  // A refresh is a round of requests sent back to back (today two: the
  // subscription's topics, then the refresh proper); rounds are what the
  // period spaces.
  const roundsIn = async (metadataMaxAgeMs: number | undefined) => {
    const consumer = new Consumer(fastOptions({
      brokers: cluster.bootstrap,
      groupId: `g-${crypto.randomUUID().slice(0, 8)}`,
      topics: [topic],
      heartbeatThread: "event-loop",
      ...(metadataMaxAgeMs === undefined ? {} : { metadataMaxAgeMs }),
    }));
    const seen = cluster.intercept({ apiKey: "Metadata", action: { observe: true } });
    try {
      (await new BatchReader(consumer.readable).nextBatch(10_000, "a batch")).ack();
      const from = seen.requests.length;
      await sleep(windowMs);
      const at = seen.requests.slice(from).map((r) => r.atMs);
      const starts = at.filter((t, i) => i === 0 || t - at[i - 1] > 150);
      return { requests: at.length, rounds: starts.length, ...gaps(starts) };
    } finally {
      await consumer.close();
      seen.remove();
    }
  };
  const fast = await roundsIn(400);
  const slow = await roundsIn(undefined);
  // Nominally 7 rounds in 3 s at 400 ms; loose bounds.
  assert.ok(fast.rounds >= 3 && fast.rounds <= 24, `${fast.rounds} rounds in ${windowMs} ms`);
  assert.ok(
    fast.median >= 250 && fast.median <= 1200,
    `median gap between rounds ${fast.median} ms at 400 ms: ${fast.sorted}`,
  );
  assert.equal(slow.requests, 0, `Metadata requests in ${windowMs} ms with the default`);
});

Deno.test("maxBufferedBytes: the first Fetch asks for at most the budget, and a reader that stops reading stops the fetching at about the budget", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = `buf-${crypto.randomUUID().slice(0, 8)}`;
  await cluster.createTopic(topic, { partitions: 1 });
  // 2,000 records of 1,000 bytes in batches of 10 (~10 kB each): 2 MB, far
  // beyond the 128 KiB budget below.
  const big = "x".repeat(990);
  await produceValues(
    topic,
    0,
    Array.from({ length: 2000 }, (_, i) => `${String(i).padStart(9, "0")}-${big}`),
    { bootstrap: cluster.bootstrap, perBatch: 10 },
  );
  const budget = 128 * 1024;
  const run = async (maxBufferedBytes: number) => {
    const sizes: number[] = [];
    const requests: ObservedRequest[] = [];
    const rule = cluster.intercept({
      apiKey: "Fetch",
      action: {
        // Identity: only measures what each response carries.
        mutate: (frame, request) => {
          requests.push(request);
          sizes.push(frame.length);
          return frame;
        },
      },
    });
    const consumer = new Consumer(fastOptions({
      brokers: cluster.bootstrap,
      assign: [{ topic, partition: 0, offset: "earliest" }],
      maxBufferedBytes,
      maxPartitionFetchBytes: 32 * 1024,
      closeTimeoutMs: 0,
    }));
    try {
      // One read starts the consumer; then the reader stalls.
      await new BatchReader(consumer.readable).nextBatch(10_000, "the first batch");
      // Let the fetcher go as far as it will, then check that it stopped.
      await sleep(1000);
      const settled = { fetches: requests.length, bytes: sizes.reduce((a, b) => a + b, 0) };
      await sleep(1000);
      return {
        ...settled,
        later: requests.length - settled.fetches,
        firstMaxBytes: requests[0].body.maxBytes as number,
      };
    } finally {
      await consumer.close();
      rule.remove();
    }
  };
  const small = await run(budget);
  assert.equal(small.firstMaxBytes, budget, "the first Fetch asks for the whole budget");
  assert.equal(small.later, 0, "no Fetch while the budget is used up");
  // The budget, plus the first response (already handed over) and framing.
  assert.ok(
    small.bytes <= 2 * budget + 64 * 1024,
    `${small.bytes} bytes fetched for a ${budget} byte budget (${small.fetches} Fetches)`,
  );
  const large = await run(1024 * 1024);
  assert.equal(large.firstMaxBytes, 1024 * 1024);
  assert.ok(
    large.bytes >= 4 * small.bytes,
    `a 1 MiB budget fetched ${large.bytes} bytes, a ${budget} byte one ${small.bytes}`,
  );
});

Deno.test("autoCommitIntervalMs: while batches are acknowledged, OffsetCommit requests come about every autoCommitIntervalMs", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = `commit-${crypto.randomUUID().slice(0, 8)}`;
  await cluster.createTopic(topic, { partitions: 1 });
  // One record per batch and one batch per Fetch: a steady flow of acks.
  await produceValues(topic, 0, values("c", 80), { bootstrap: cluster.bootstrap, perBatch: 1 });
  const commits = cluster.intercept({ apiKey: "OffsetCommit", action: { observe: true } });
  const consumer = new Consumer(fastOptions({
    brokers: cluster.bootstrap,
    groupId: `g-${topic}`,
    topics: [topic],
    heartbeatThread: "event-loop",
    maxPartitionFetchBytes: 1,
    autoCommitIntervalMs: 400,
  }));
  try {
    const reader = new BatchReader(consumer.readable);
    const until = Date.now() + 3500;
    let read = 0;
    while (Date.now() < until && read < 80) {
      const batch = await reader.nextBatch(10_000, "a batch");
      read += batch.records.length;
      assert.equal(batch.ack(), true);
      await sleep(40);
    }
    const during = commits.requests.length;
    const { sorted, median } = gaps(commits.requests.map((r) => r.atMs));
    assert.ok(during >= 4, `${during} commits in 3.5 s of acks at 400 ms`);
    assert.ok(
      median >= 200 && median <= 1200,
      `median OffsetCommit gap ${median} ms for 400 ms: ${sorted}`,
    );
  } finally {
    await consumer.close();
    commits.remove();
  }
});

Deno.test("reconnectBackoffMs and reconnectBackoffMaxMs: bootstrap rounds are spaced by the reconnect backoff (logger.warn once per round)", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const address = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close(); // nothing listens there any more: every connect is refused
  const rounds = async (initialMs: number, maxMs: number) => {
    const at: number[] = [];
    const consumer = new Consumer({
      brokers: address,
      assign: [{ topic: "t", partition: 0 }],
      reconnectBackoffMs: initialMs,
      reconnectBackoffMaxMs: maxMs,
      bootstrapTimeoutMs: 2500,
      logger: {
        warn: (msg) => {
          if (msg === "no bootstrap broker answered; retrying") at.push(performance.now());
        },
      },
    });
    try {
      const { error } = await new BatchReader(consumer.readable).untilError(15_000);
      assert.ok(error instanceof ConnectionError, `a ConnectionError, got ${error}`);
    } finally {
      await consumer.close();
    }
    return { count: at.length, ...gaps(at) };
  };
  // A fixed 400 ms delay: about 6 rounds in 2.5 s.
  const slow = await rounds(400, 400);
  assert.ok(slow.count >= 3 && slow.count <= 10, `${slow.count} rounds at 400 ms`);
  assert.ok(slow.median >= 250 && slow.median <= 1200, `median gap ${slow.median} ms at 400 ms`);
  // 20 ms doubling to at most 60 ms: dozens of rounds, gaps far below 400 ms.
  const fast = await rounds(20, 60);
  assert.ok(fast.count >= 15, `${fast.count} rounds at 20..60 ms`);
  assert.ok(fast.median <= 200, `median gap ${fast.median} ms at 20..60 ms`);
});

Deno.test("closeTimeoutMs: close() waits that long for an unacknowledged batch (warning when it gives up), not at all with 0, and returns early when the ack comes", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = await topicWithRecords(cluster);
  const closeAfterRead = async (closeTimeoutMs: number, ackAfterMs?: number) => {
    const warnings: string[] = [];
    const consumer = new Consumer(fastOptions({
      brokers: cluster.bootstrap,
      groupId: `g-${crypto.randomUUID().slice(0, 8)}`,
      assign: [{ topic, partition: 0, offset: "earliest" }],
      closeTimeoutMs,
      logger: { warn: (msg) => warnings.push(msg) },
    }));
    const batch = await new BatchReader(consumer.readable).nextBatch(10_000, "a batch");
    const started = performance.now();
    const timer = ackAfterMs === undefined ? undefined : setTimeout(() => batch.ack(), ackAfterMs);
    await consumer.close();
    clearTimeout(timer);
    return {
      ms: performance.now() - started,
      gaveUp: warnings.includes("delivered batches were not acknowledged in time"),
    };
  };
  const waited = await closeAfterRead(1500);
  assert.ok(waited.ms >= 1400 && waited.ms < 10_000, `close() took ${waited.ms} ms for 1500`);
  assert.ok(waited.gaveUp, "the give-up is logged");
  const immediate = await closeAfterRead(0);
  assert.ok(immediate.ms < 1000, `close() took ${immediate.ms} ms with 0`);
  const acked = await closeAfterRead(10_000, 200);
  assert.ok(acked.ms >= 150 && acked.ms < 5000, `close() took ${acked.ms} ms, ack after 200`);
  assert.ok(!acked.gaveUp);
});

Deno.test("assignors: two members on two 1-partition topics: range gives one member both, roundrobin one each", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const suffix = crypto.randomUUID().slice(0, 8);
  const topics = [`a-${suffix}`, `b-${suffix}`];
  for (const t of topics) {
    await cluster.createTopic(t, { partitions: 1 });
    await produceValues(t, 0, values("v", 3), { bootstrap: cluster.bootstrap });
  }
  const split = async (assignors: ("range" | "roundrobin")[] | undefined) => {
    const groupId = `g-${crypto.randomUUID().slice(0, 8)}`;
    const tally = new Tally();
    const member = (name: string) =>
      new ReadLoop(
        new Consumer(fastOptions({
          brokers: cluster.bootstrap,
          groupId,
          topics,
          heartbeatThread: "event-loop",
          ...(assignors === undefined ? {} : { assignors }),
        })),
        tally,
        name,
      );
    const one = member("one");
    await waitFor("the first member to own both", () => owned(one.consumer).length === 2, 10_000);
    const two = member("two");
    try {
      return await waitFor(
        "a settled two-member group",
        async () => {
          if (one.error || two.error) throw one.error ?? two.error;
          const group = await one.consumer.describeGroup();
          const counts = [owned(one.consumer).length, owned(two.consumer).length].sort();
          return group.state === "Stable" && group.members.length === 2 &&
              counts[0] + counts[1] === 2
            ? { protocol: group.protocol, counts }
            : undefined;
        },
        15_000,
        { intervalMs: 200 },
      );
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  };
  const range = await split(undefined);
  assert.equal(range.protocol, "range");
  assert.deepEqual(range.counts, [0, 2], "range: per topic, partition 0 goes to the first member");
  const roundrobin = await split(["roundrobin"]);
  assert.equal(roundrobin.protocol, "roundrobin");
  assert.deepEqual(roundrobin.counts, [1, 1], "roundrobin: one partition each");
});
