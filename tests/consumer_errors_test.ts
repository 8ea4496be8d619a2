// Errors and shutdown: wrong options throw a ConfigError naming the field at
// construction (nothing connects); unreachable brokers error the stream with
// a ConnectionError after bounded retries; a `break` out of `for await`
// inside `await using` closes once, cleanly: committed, group left.

import assert from "node:assert/strict";
import { ConfigError, ConnectionError, Consumer, type ConsumerOptions } from "../mod.ts";
import { uniqueName } from "./_kafka.ts";
import { BatchReader, values, withTimeout } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";
import { EmbeddedCluster } from "../testing.ts";

const base = { brokers: "127.0.0.1:9092", groupId: "g", topics: ["t"] };

const badOptions: [string, Record<string, unknown>, string, RegExp?][] = [
  ["a negative session timeout", { ...base, sessionTimeoutMs: -5 }, "sessionTimeoutMs", /integer/],
  ["no brokers", { groupId: "g", topics: ["t"] }, "brokers", /required/],
  ["a broker without a port", { ...base, brokers: "localhost" }, "brokers[0]", /port/],
  [
    "both topics and assign",
    { ...base, assign: [{ topic: "t", partition: 0 }] },
    "assign",
    /topics/,
  ],
  ["topics without groupId", { brokers: "127.0.0.1:9092", topics: ["t"] }, "groupId", /required/],
  [
    "a misspelt option",
    { ...base, sessionTimeoutMS: 6000 },
    "sessionTimeoutMS",
    /sessionTimeoutMs/,
  ],
  [
    "a number offset",
    { brokers: "127.0.0.1:9092", assign: [{ topic: "t", partition: 0, offset: 5 }] },
    "assign[0].offset",
    /5n/,
  ],
  ["an unknown commit mode", { ...base, commit: "sometimes" }, "commit", /"auto" or "manual"/],
  [
    "a heartbeat not below the session timeout",
    { ...base, sessionTimeoutMs: 6000, heartbeatIntervalMs: 6000 },
    "heartbeatIntervalMs",
    /sessionTimeoutMs/,
  ],
  ["a tiny buffer", { ...base, maxBufferedBytes: 1000 }, "maxBufferedBytes", /65536/],
];

for (const [what, options, field, reason] of badOptions) {
  Deno.test(`new Consumer() with ${what} throws a ConfigError naming "${field}"`, () => {
    assert.throws(
      () => new Consumer(options as unknown as ConsumerOptions),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, `a ConfigError, got ${e}`);
        assert.equal(e.field, field, e.message);
        assert.ok(e.message.includes(field), e.message);
        if (reason) assert.match(e.message, reason);
        return true;
      },
    );
    // The test's resource sanitizer checks that nothing was opened.
  });
}

/** A port on loopback with nothing listening. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

for (const mode of ["subscribe", "assign"] as const) {
  Deno.test(`Consumer (${mode}) with unreachable brokers errors the stream with a ConnectionError after bounded retries`, async () => {
    const address = `127.0.0.1:${closedPort()}`;
    const warnings: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    const options: ConsumerOptions = {
      brokers: [address],
      reconnectBackoffMs: 50,
      reconnectBackoffMaxMs: 200,
      bootstrapTimeoutMs: 1500,
      logger: { warn: (msg, fields) => warnings.push({ msg, fields }) },
      retryBackoffMs: 50,
      retryBackoffMaxMs: 200,
      requestTimeoutMs: 2000,
      fetchMaxWaitMs: 100,
      ...(mode === "subscribe"
        ? { groupId: uniqueName("unreachable"), topics: ["t"] }
        : { assign: [{ topic: "t", partition: 0 }] }),
    };
    const consumer = new Consumer(options);
    const started = Date.now();
    try {
      const reader = new BatchReader(consumer.readable);
      let error: unknown;
      let outcome: unknown;
      try {
        outcome = await reader.next(30_000);
      } catch (e) {
        error = e;
      }
      assert.ok(
        error !== undefined,
        `reading should reject within 30 s; got ${
          outcome === undefined ? "nothing (a hang)" : outcome
        }`,
      );
      assert.ok(error instanceof ConnectionError, `a ConnectionError, got ${error}`);
      assert.match(error.message, new RegExp(address.replace(/\./g, "\\.")));
      // Retried with the reconnect backoff for bootstrapTimeoutMs, a warning
      // per failed round, then one error that gives its advice once.
      const took = Date.now() - started;
      assert.ok(took >= 1200, `gave up after ${took} ms`);
      const rounds = warnings.filter((w) => w.msg === "no bootstrap broker answered; retrying");
      assert.ok(rounds.length >= 4, `warnings: ${JSON.stringify(warnings)}`);
      assert.equal(rounds[0].fields?.error, "connection refused");
      assert.match(error.message, /within 1500 ms/);
      assert.equal(error.message.match(/Check that/g)?.length, 1, error.message);
    } finally {
      await consumer.close();
    }
  });
}

Deno.test("bootstrapTimeoutMs: Infinity waits for a Kafka that comes up after the consumer started", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  await cluster.createTopic("late", { partitions: 1 });
  await cluster.produce("late", 0, [{ value: "a" }, { value: "b" }, { value: "c" }]);
  // The bootstrap address answers only after 1.5 s: a service that starts before Kafka.
  const port = closedPort();
  const [host, target] = cluster.bootstrap.split(",")[0].split(":");
  const warnings: string[] = [];
  const consumer = new Consumer({
    brokers: [`127.0.0.1:${port}`],
    assign: [{ topic: "late", partition: 0, offset: "earliest" }],
    bootstrapTimeoutMs: Infinity,
    reconnectBackoffMs: 100,
    reconnectBackoffMaxMs: 300,
    logger: { warn: (msg) => warnings.push(msg) },
  });
  let listener: Deno.Listener | undefined;
  const relays: Promise<void>[] = [];
  const sockets: Deno.Conn[] = [];
  const opened = setTimeout(() => {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    relays.push(
      (async () => {
        for await (const conn of listener!) {
          const upstream = await Deno.connect({ hostname: host, port: Number(target) });
          relays.push(
            Promise.all([
              conn.readable.pipeTo(upstream.writable).catch(() => {}),
              upstream.readable.pipeTo(conn.writable).catch(() => {}),
            ]).then(() => {}),
          );
        }
      })().catch(() => {}),
    );
  }, 1500);
  try {
    const batch = await withTimeout(
      new BatchReader(consumer.readable).nextBatch(20_000),
      25_000,
      "the first batch once Kafka is up",
    );
    batch.ack();
    assert.deepEqual(batch.records.map((r) => new TextDecoder().decode(r.value!)), ["a", "b", "c"]);
    assert.ok(warnings.filter((w) => w.startsWith("no bootstrap broker answered")).length >= 2);
  } finally {
    clearTimeout(opened);
    await consumer.close();
    listener?.close();
    for (const s of sockets) {
      try {
        s.close();
      } catch { /* closed by the other side */ }
    }
    await Promise.allSettled(relays);
  }
});

suiteTest(
  "break out of for await inside await using: one clean close, committed, group left",
  async (t) => {
    const topic = await t.newTopic("errors-break", 2);
    const groupId = uniqueName("errors-break");
    await Promise.all([
      t.produceValues(topic, 0, values("x", 50)),
      t.produceValues(topic, 1, values("y", 50)),
    ]);
    const warnings: string[] = [];
    let outside: Consumer | undefined;
    let read = 0;
    const started = Date.now();
    {
      await using consumer = new Consumer(t.options({
        groupId,
        topics: [topic],
        // A member that did not send LeaveGroup would stay for this long.
        sessionTimeoutMs: 30_000,
        heartbeatIntervalMs: 1000,
        // No interval commit can happen during the test: only close() commits.
        autoCommitIntervalMs: 600_000,
        logger: {
          warn: (msg) => warnings.push(`warn: ${msg}`),
          error: (msg) => warnings.push(`error: ${msg}`),
        },
      }));
      outside = consumer;
      for await (const batch of consumer) {
        read += batch.records.length;
        batch.ack();
        if (read >= 100) break;
      }
    }
    assert.equal(read, 100);
    assert.deepEqual(warnings, [], "a clean close logs no warning or error");

    // Idempotent: the consumer is closed; close() again resolves at once;
    // other methods throw a clear error.
    await withTimeout(outside!.close(), 1000, "a second close()");
    await assert.rejects(async () => {
      await outside!.commit();
    }, /clos/i);
    assert.throws(() => outside!.assignment(), /clos/i);

    // Kafka's view: everything committed, no member left — well before the
    // 30 s session could have expired.
    const group = await t.groupDescription(groupId);
    assert.ok(Date.now() - started < 25_000, "checked before a session expiry could explain it");
    assert.ok(group.noActiveMembers, `the group was left:\n${group.output}`);
    assert.deepEqual(
      group.rows.map((r) => [r.partition, r.currentOffset, r.lag]),
      [[0, 50n, 0n], [1, 50n, 0n]],
      group.output,
    );
  },
);

suiteTest(
  "close() is idempotent: signal, asyncDispose and concurrent close() calls make one close",
  async (t) => {
    const topic = await t.newTopic("errors-close", 1);
    await t.produceValues(topic, 0, values("c", 10));
    const controller = new AbortController();
    const warnings: string[] = [];
    const consumer = new Consumer(t.options({
      assign: [{ topic, partition: 0 }],
      signal: controller.signal,
      logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    }));
    const reader = new BatchReader(consumer.readable);
    const batch = await reader.nextBatch(15_000);
    assert.equal(batch.records.length, 10);
    assert.equal(batch.ack(), true);
    controller.abort();
    await withTimeout(
      Promise.all([consumer.close(), consumer[Symbol.asyncDispose](), consumer.close()]),
      10_000,
      "closing three ways at once",
    );
    assert.equal(await reader.next(5000), null, "the stream ended");
    assert.deepEqual(warnings, []);
    assert.throws(() => consumer.pause([{ topic, partition: 0 }]), /clos/i);
  },
);
