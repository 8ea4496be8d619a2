// Producer and Admin options observed where they take effect (issue 12), on
// the embedded cluster: read back from the requests it received (its
// `observe` interception decodes every request), or from timings of those
// requests. Options with an effect test elsewhere are not repeated here
// (lingerMs, closeTimeoutMs, metadataMaxAgeMs, deliveryTimeoutMs and
// idempotent: false in producer_faults_test.ts; maxRequestSize, maxBlockMs,
// bufferMemory, acks 0 and signal in producer_test.ts).

import assert from "node:assert/strict";
import { Admin, KafkaError, ProduceError, Producer, ProducerTimeoutError } from "../mod.ts";
import { ProduceApi } from "../src/protocol/messages/produce.ts";
import { EmbeddedCluster, type ObservedRequest } from "../testing.ts";
import { startRecordingProxy } from "./_proxy.ts";

async function cluster(): Promise<EmbeddedCluster> {
  const c = await EmbeddedCluster.start({ brokers: 1 });
  await c.createTopic("t", { partitions: 1 });
  return c;
}

/** The record batches of a Produce request, one per partition entry. */
function batches(req: ObservedRequest): Uint8Array[] {
  const topics = req.body.topicData as { partitionData: { records: Uint8Array | null }[] }[];
  return topics.flatMap((t) => t.partitionData.map((p) => p.records!));
}

// RecordBatch v2 header: baseOffset(8) batchLength(4) partitionLeaderEpoch(4)
// magic(1) crc(4) attributes(2) lastOffsetDelta(4) baseTimestamp(8)
// maxTimestamp(8) producerId(8) producerEpoch(2) baseSequence(4) recordsCount(4).
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const codecOf = (b: Uint8Array) => view(b).getInt16(21) & 0x7;
const producerIdOf = (b: Uint8Array) => view(b).getBigInt64(43);
const recordCountOf = (b: Uint8Array) => view(b).getInt32(57);

Deno.test("producer: clientId, acks, requestTimeoutMs and compression are what each Produce carries; idempotence asks for a producer id", async () => {
  await using c = await cluster();
  const produces = c.intercept({ apiKey: "Produce", action: { observe: true } });
  const inits = c.intercept({ apiKey: "InitProducerId", action: { observe: true } });
  {
    await using producer = new Producer({
      brokers: c.bootstrap,
      clientId: "effect-producer",
      acks: 1,
      requestTimeoutMs: 12_345,
      compression: "gzip",
      lingerMs: 0,
    });
    await producer.send([{ topic: "t", value: "one" }]);
  }
  const [first] = produces.requests;
  assert.equal(first.clientId, "effect-producer");
  assert.equal(first.body.acks, 1);
  assert.equal(first.body.timeoutMs, 12_345);
  assert.equal(codecOf(batches(first)[0]), 1, "gzip is codec 1");
  assert.equal(producerIdOf(batches(first)[0]), -1n, "acks 1 turns the default idempotence off");
  assert.equal(inits.requests.length, 0, "no producer id without idempotence");

  {
    // Defaults: acks all (-1), idempotent (a producer id), no compression, 30 s, "sluice".
    await using producer = new Producer({ brokers: c.bootstrap, lingerMs: 0 });
    await producer.send([{ topic: "t", value: "two" }]);
  }
  const second = produces.requests[1];
  assert.equal(second.clientId, "sluice");
  assert.equal(second.body.acks, -1);
  assert.equal(second.body.timeoutMs, 30_000);
  assert.equal(codecOf(batches(second)[0]), 0);
  assert.equal(inits.requests.length, 1, "an idempotent producer asks for a producer id");
  assert.ok(producerIdOf(batches(second)[0]) >= 0n, "and writes its batches with it");
  produces.remove();
  inits.remove();
});

Deno.test("producer: batchSize bounds the bytes of a partition batch", async () => {
  await using c = await cluster();
  const value = "x".repeat(200);
  const counts = async (batchSize: number) => {
    const produces = c.intercept({ apiKey: "Produce", action: { observe: true } });
    try {
      await using producer = new Producer({ brokers: c.bootstrap, batchSize, lingerMs: 200 });
      await producer.send(Array.from({ length: 12 }, () => ({ topic: "t", value })));
      return produces.requests.flatMap(batches).map(recordCountOf);
    } finally {
      produces.remove();
    }
  };
  const small = await counts(700);
  assert.equal(small.reduce((a, b) => a + b, 0), 12);
  // A record takes a little over 200 bytes in its batch: 3 fit in 700, 4 do not.
  assert.deepEqual(small, [3, 3, 3, 3], "700-byte batches hold 3 records each");
  const large = await counts(16_384);
  assert.deepEqual(large, [12], "the default 16 KiB holds all 12 in one batch");
});

Deno.test("producer: maxInFlightRequestsPerConnection bounds the Produce requests written before their answers", async () => {
  // The broker serves one request of a connection at a time (as Kafka does),
  // so pipelining shows on the wire, between client and broker: a recording
  // proxy sees each request when the client writes it.
  const mostInFlight = async (maxInFlightRequestsPerConnection: number) => {
    await using c = await cluster();
    const [host, port] = c.bootstrap.split(":");
    const proxy = startRecordingProxy({ upstream: { hostname: host, port: Number(port) } });
    const slow = c.intercept({ apiKey: "Produce", action: { delayMs: 150 } });
    try {
      await using producer = new Producer({
        brokers: `127.0.0.1:${proxy.port}`,
        lingerMs: 0,
        idempotent: false,
        acks: 1,
        maxInFlightRequestsPerConnection,
      });
      await producer.send([{ topic: "t", value: "metadata" }]);
      const sent: Promise<unknown>[] = [];
      for (let i = 0; i < 4; i++) {
        sent.push(producer.send([{ topic: "t", value: `r${i}` }]));
        await new Promise((r) => setTimeout(r, 20));
      }
      await Promise.all(sent);
    } finally {
      slow.remove();
      await proxy.close();
    }
    let outstanding = 0;
    let most = 0;
    for (const f of proxy.frames.filter((f) => f.apiKey === ProduceApi.apiKey)) {
      outstanding += f.direction === "request" ? 1 : -1;
      most = Math.max(most, outstanding);
    }
    return most;
  };
  assert.equal(await mostInFlight(1), 1, "one at a time");
  assert.ok((await mostInFlight(4)) >= 3, "several at once");
});

Deno.test("admin: clientId and requestTimeoutMs are what CreateTopics carries (its broker-side timeout)", async () => {
  await using c = await EmbeddedCluster.start({ brokers: 1 });
  const creates = c.intercept({ apiKey: "CreateTopics", action: { observe: true } });
  {
    await using admin = new Admin({
      brokers: c.bootstrap,
      clientId: "effect-admin",
      requestTimeoutMs: 7_777,
    });
    await admin.createTopics([{ name: "made", partitions: 1 }]);
  }
  {
    await using admin = new Admin({ brokers: c.bootstrap });
    await admin.createTopics([{ name: "made-too", partitions: 1 }]);
  }
  creates.remove();
  const [custom, defaults] = creates.requests;
  assert.equal(custom.clientId, "effect-admin");
  assert.equal(custom.body.timeoutMs, 7_777);
  assert.equal(defaults.clientId, "sluice");
  assert.equal(defaults.body.timeoutMs, 30_000);
});

Deno.test("admin: aborting signal closes the client; later calls fail saying it is closed", async () => {
  await using c = await EmbeddedCluster.start({ brokers: 1 });
  const abort = new AbortController();
  await using admin = new Admin({ brokers: c.bootstrap, signal: abort.signal });
  await admin.createTopics([{ name: "before", partitions: 1 }]);
  abort.abort();
  await assert.rejects(
    () => admin.createTopics([{ name: "after", partitions: 1 }]),
    (e: unknown) => e instanceof KafkaError && /closed/.test(e.message),
  );
  assert.equal(c.topic("after"), undefined);
});

/** Gaps, in ms, between the consecutive requests a rule observed. */
function gaps(requests: readonly ObservedRequest[]): number[] {
  return requests.slice(1).map((r, i) => r.atMs - requests[i].atMs);
}

Deno.test("producer: retryBackoffMs and retryBackoffMaxMs space the retries of a refused Produce", async () => {
  await using c = await cluster();
  const retries = async (retryBackoffMs: number, retryBackoffMaxMs: number) => {
    await using producer = new Producer({
      brokers: c.bootstrap,
      lingerMs: 0,
      retryBackoffMs,
      retryBackoffMaxMs,
    });
    await producer.send([{ topic: "t", value: "warm" }]);
    // Observed first: an observing rule lets the search go on to the error.
    const seen = c.intercept({ apiKey: "Produce", action: { observe: true } });
    const refused = c.intercept({ apiKey: "Produce", times: 4, action: { errorCode: 6 } });
    try {
      await producer.send([{ topic: "t", value: "retried" }]);
      assert.equal(refused.hits, 4);
      assert.equal(seen.requests.length, 5, "4 refusals, then the write");
      return gaps(seen.requests);
    } finally {
      seen.remove();
      refused.remove();
    }
  };
  // Doubling from 60 ms, capped at 90 (jitter: 20% either way): 60, 90, 90, 90.
  const capped = await retries(60, 90);
  assert.ok(capped.every((g) => g >= 60 * 0.8 - 5), `at least retryBackoffMs: ${capped}`);
  assert.ok(capped.every((g) => g <= 90 * 1.2 + 60), `at most about retryBackoffMaxMs: ${capped}`);
  const slow = await retries(250, 250);
  assert.ok(slow.every((g) => g >= 250 * 0.8 - 5), `at least retryBackoffMs: ${slow}`);
});

Deno.test("admin: retryBackoffMs spaces the retries of a refused call", async () => {
  await using c = await cluster();
  await c.produce("t", 0, [{ value: "a" }]);
  const retries = async (retryBackoffMs: number) => {
    await using admin = new Admin({ brokers: c.bootstrap, retryBackoffMs });
    const seen = c.intercept({ apiKey: "ListOffsets", action: { observe: true } });
    const refused = c.intercept({ apiKey: "ListOffsets", times: 2, action: { errorCode: 6 } });
    try {
      const [listed] = await admin.listOffsets([{ topic: "t", partition: 0, at: "latest" }]);
      assert.equal(listed.offset, 1n);
      assert.equal(seen.requests.length, 3, "2 refusals, then the answer");
      return gaps(seen.requests);
    } finally {
      seen.remove();
      refused.remove();
    }
  };
  const slow = await retries(300);
  assert.ok(slow.every((g) => g >= 300 * 0.8 - 5), `at least retryBackoffMs: ${slow}`);
  const fast = await retries(10);
  assert.ok(fast.every((g) => g < 200), `about retryBackoffMs: ${fast}`);
});

Deno.test("producer and admin: bootstrapTimeoutMs, reconnectBackoffMs and logger: an unreachable bootstrap is tried in rounds, a warning each; the admin call fails after bootstrapTimeoutMs, a producer's write after maxBlockMs", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const brokers = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close(); // nothing listens there any more: every connect is refused
  const attempt = async (client: "producer" | "admin") => {
    const rounds: { at: number; attempt: number }[] = [];
    const options = {
      brokers,
      bootstrapTimeoutMs: 1200,
      reconnectBackoffMs: 200,
      reconnectBackoffMaxMs: 200,
      logger: {
        warn: (msg: string, fields?: Record<string, unknown>) => {
          if (msg === "no bootstrap broker answered; retrying") {
            rounds.push({ at: performance.now(), attempt: fields!.attempt as number });
          }
        },
      },
    };
    const started = performance.now();
    let error: unknown;
    if (client === "producer") {
      await using producer = new Producer({ ...options, maxBlockMs: 3000 });
      await producer.send([{ topic: "t", value: "v" }]).catch((e) => error = e);
    } else {
      await using admin = new Admin(options);
      await admin.listTopics().catch((e) => error = e);
    }
    const elapsed = performance.now() - started;
    assert.match(
      String(error),
      /no bootstrap broker answered within 1200 ms/,
      `${client}: ${error}`,
    );
    return { elapsed, rounds: rounds.filter((r) => r.at <= started + elapsed) };
  };
  const admin = await attempt("admin");
  // Bootstrap tries for the whole 1.2 s: its last round is at the deadline.
  assert.ok(
    admin.elapsed >= 1190 && admin.elapsed < 4000,
    `admin: after ~1.2 s (${admin.elapsed})`,
  );
  // About 1200 / 200 = 6 rounds.
  assert.ok(admin.rounds.length >= 3 && admin.rounds.length <= 9, `${admin.rounds.length} rounds`);
  const producer = await attempt("producer");
  assert.ok(
    producer.elapsed >= 2800 && producer.elapsed < 8000,
    `producer: after ~maxBlockMs 3 s (${producer.elapsed})`,
  );
  // Bootstrap starts again after each 1.2 s: the round count restarts at 1.
  const restarts = producer.rounds.filter((r) => r.attempt === 1).length;
  assert.ok(
    restarts >= 2,
    `producer: bootstrap tried again after bootstrapTimeoutMs (${restarts})`,
  );
});

Deno.test("producer: maxBlockMs bounds a write while bootstrap is still retrying (bootstrapTimeoutMs longer): send() and a writable write reject with ProducerTimeoutError naming the last connection error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const brokers = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close(); // every connect is refused
  const warnings: string[] = [];
  await using producer = new Producer({
    brokers,
    maxBlockMs: 1500, // bootstrapTimeoutMs stays at its 60 s default
    logger: { warn: (msg) => warnings.push(msg) },
  });
  const check = (error: unknown, elapsed: number, what: string) => {
    assert.ok(error instanceof ProducerTimeoutError, `${what}: ${error}`);
    assert.match(
      error.message,
      /No metadata for topic "t" within maxBlockMs \(1500 ms\): no broker answered yet; last: Cannot reach broker 127\.0\.0\.1:\d+: connection refused/,
    );
    assert.ok(elapsed >= 1400 && elapsed < 5000, `${what}: after ~maxBlockMs (${elapsed} ms)`);
  };
  let started = performance.now();
  const sent = await producer.send([{ topic: "t", value: "v" }]).then(() => null, (e) => e);
  assert.ok(sent instanceof ProduceError, `send(): ${sent}`);
  check(sent.results[0], performance.now() - started, "send()");
  const writer = producer.writable.getWriter();
  started = performance.now();
  const written = await writer.write({ topic: "t", value: "v" }).then(() => null, (e) => e);
  check(written, performance.now() - started, "write()");
  assert.ok(warnings.includes("no bootstrap broker answered; retrying"), "each round warned");
});
