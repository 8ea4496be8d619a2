// The heartbeat worker's life cycle: it heartbeats for the member, close()
// ends it (no heartbeat from it afterwards, its connections closed), and
// where Workers are missing the consumer says so once and heartbeats on the
// event loop.

import assert from "node:assert/strict";
import { Consumer, type ConsumerOptions, type Logger } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";
import {
  CONSUMER_PROTOCOL,
  fastOptions,
  LineProcess,
  ReadLoop,
  sleep,
  Tally,
  values,
  waitFor,
} from "./_consumer_helpers.ts";
import { produceValues } from "./_consumer_helpers.ts";
import { withTarget } from "./_targets.ts";

interface Line {
  level: string;
  message: string;
}

function capture(lines: Line[]): Logger {
  return {
    debug: (message) => lines.push({ level: "debug", message }),
    info: (message) => lines.push({ level: "info", message }),
    warn: (message) => lines.push({ level: "warn", message }),
    error: (message) => lines.push({ level: "error", message }),
  };
}

async function groupOf(
  cluster: EmbeddedCluster,
  extra: Parameters<typeof fastOptions>[0],
): Promise<{ loop: ReadLoop; topic: string }> {
  const topic = `hb-${crypto.randomUUID().slice(0, 8)}`;
  await cluster.createTopic(topic, { partitions: 2 });
  await produceValues(topic, 0, values("v", 10), { bootstrap: cluster.bootstrap });
  const consumer = new Consumer(fastOptions({
    brokers: cluster.bootstrap,
    groupId: `g-${topic}`,
    topics: [topic],
    ...extra,
  }));
  return { loop: new ReadLoop(consumer, new Tally(), "c"), topic };
}

/**
 * The group member fixture with network and environment access only: Deno
 * refuses to load the heartbeat worker's module file.
 */
function noReadMember(options: ConsumerOptions): LineProcess {
  return new LineProcess(
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "--no-check",
        decodeURIComponent(new URL("./fixtures/group_member.ts", import.meta.url).pathname),
        JSON.stringify({ options, logLevel: "warn" }),
      ],
      cwd: decodeURIComponent(new URL("../", import.meta.url).pathname),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }),
  );
}

Deno.test("the heartbeat worker heartbeats for the member, and close() ends it: no heartbeat afterwards, connections closed", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const beats = cluster.intercept({ apiKey: "Heartbeat", action: { observe: true } });
  const lines: Line[] = [];
  const { loop } = await groupOf(cluster, {
    clientId: "hb-worker",
    heartbeatIntervalMs: 200,
    logger: capture(lines),
  });
  await waitFor("three heartbeats", () => beats.requests.length >= 3, 10_000);
  await loop.stop();
  const closedAt = beats.requests.length;
  assert.ok(
    lines.some((l) => l.message === "heartbeat worker closed its connections and ended"),
    `the worker closed cleanly: ${JSON.stringify(lines.filter((l) => l.level !== "info"))}`,
  );
  assert.ok(!lines.some((l) => l.level === "warn" && /heartbeat worker/.test(l.message)));
  await sleep(1000);
  assert.equal(beats.requests.length, closedAt, "no heartbeat after close()");
  beats.remove();
});

Deno.test('heartbeatThread: "event-loop" heartbeats without a worker and warns of nothing', async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const beats = cluster.intercept({ apiKey: "Heartbeat", action: { observe: true } });
  const lines: Line[] = [];
  const { loop } = await groupOf(cluster, {
    heartbeatIntervalMs: 200,
    heartbeatThread: "event-loop",
    logger: capture(lines),
  });
  try {
    await waitFor("three heartbeats", () => beats.requests.length >= 3, 10_000);
  } finally {
    await loop.stop();
    beats.remove();
  }
  assert.deepEqual(lines.filter((l) => /worker/i.test(l.message)), []);
});

Deno.test("without Workers, the consumer warns once and heartbeats on the event loop", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const beats = cluster.intercept({ apiKey: "Heartbeat", action: { observe: true } });
  const lines: Line[] = [];
  const saved = globalThis.Worker;
  // As on Deno Deploy: no Worker constructor.
  // deno-lint-ignore no-explicit-any
  (globalThis as any).Worker = undefined;
  let loop: ReadLoop | undefined;
  try {
    ({ loop } = await groupOf(cluster, { heartbeatIntervalMs: 200, logger: capture(lines) }));
    await waitFor("three heartbeats", () => beats.requests.length >= 3, 10_000);
  } finally {
    globalThis.Worker = saved;
    await loop?.stop();
    beats.remove();
  }
  const warnings = lines.filter((l) =>
    l.level === "warn" && /Workers are not available/.test(l.message)
  );
  assert.equal(warnings.length, 1, JSON.stringify(lines));
});

Deno.test("a heartbeat worker that cannot start (no read permission for its module) falls back to the event loop with a warning saying why", async () => {
  await using cluster = await EmbeddedCluster.start({ brokers: 1 });
  const topic = `hb-${crypto.randomUUID().slice(0, 8)}`;
  await cluster.createTopic(topic, { partitions: 1 });
  const beats = cluster.intercept({ apiKey: "Heartbeat", action: { observe: true } });
  const member = noReadMember(fastOptions({
    brokers: cluster.bootstrap,
    groupId: `g-${topic}`,
    topics: [topic],
    clientId: "no-read",
    heartbeatIntervalMs: 200,
  }));
  try {
    await waitFor(
      "heartbeats from the member after the fallback",
      () => beats.requests.filter((r) => r.clientId === "no-read").length >= 3,
      20_000,
    );
  } finally {
    member.kill("SIGKILL");
    beats.remove();
  }
  const { stderr } = await member.finish(5000);
  assert.match(stderr, /the heartbeat worker failed; heartbeats run on the event loop/);
  assert.match(stderr, /read access/i, "the warning says why");
});

Deno.test("groupProtocol consumer: a heartbeat worker that cannot start falls back to the event loop; the member joins and reads (kafka)", async () => {
  await withTarget("kafka", async (t) => {
    const topic = await t.newTopic("hb-848-noread", 2);
    await t.produceValues(topic, 0, values("v", 10));
    const member = noReadMember(t.options({
      groupId: `g-${topic}`,
      topics: [topic],
      ...CONSUMER_PROTOCOL,
    }));
    const events = () => member.lines.map((l) => JSON.parse(l) as { event: string });
    try {
      // The worker's failure reaches the member after its join went to the
      // worker: the membership starts over on the event loop.
      await waitFor(
        "the member to be assigned the partitions and to read a batch",
        () =>
          events().some((e) => e.event === "assigned") &&
          events().some((e) => e.event === "batch"),
        30_000,
        { describe: () => member.lines.join("\n") },
      );
    } finally {
      member.kill("SIGKILL");
    }
    const { stderr } = await member.finish(5000);
    assert.match(stderr, /the heartbeat worker failed; heartbeats run on the event loop/);
    assert.doesNotMatch(stderr, /"event":"error"/);
  });
});
