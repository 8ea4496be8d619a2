import assert from "node:assert/strict";
import {
  ConfigError,
  consoleLogger,
  type ConsumerOptions,
  type Logger,
  resolveOptions,
} from "./config.ts";
import { KafkaError } from "./protocol/errors.ts";

const BASE = { brokers: ["127.0.0.1:9092"], groupId: "g", topics: ["orders"] } as const;

/** Options that are `BASE` with `patch` applied (`undefined` removes a key). */
function withBase(patch: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = { ...BASE, topics: [...BASE.topics], ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete o[k];
  return o;
}

function configError(input: unknown): ConfigError {
  try {
    resolveOptions(input);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e;
  }
  assert.fail("expected resolveOptions() to throw");
}

Deno.test("resolveOptions() fills in Kafka's defaults", () => {
  const o = resolveOptions({ brokers: ["127.0.0.1:9092"], groupId: "g", topics: ["orders"] });
  const defaults: Record<string, unknown> = {
    mode: "subscribe",
    brokers: ["127.0.0.1:9092"],
    clientId: "sluice",
    groupId: "g",
    topics: ["orders"],
    assign: undefined,
    autoOffsetReset: "latest",
    commit: "auto",
    autoCommitIntervalMs: 5000,
    sessionTimeoutMs: 45000,
    heartbeatIntervalMs: 3000,
    maxPollIntervalMs: 300000,
    rebalanceTimeoutMs: 300000,
    closeTimeoutMs: 30000,
    requestTimeoutMs: 30000,
    groupInstanceId: undefined,
    assignors: ["range", "cooperative-sticky"],
    isolationLevel: "read_uncommitted",
    maxBufferedBytes: 33554432,
    fetchMinBytes: 1,
    fetchMaxWaitMs: 500,
    fetchMaxBytes: 52428800,
    maxPartitionFetchBytes: 1048576,
    checkCrcs: true,
    metadataMaxAgeMs: 300000,
    retryBackoffMs: 100,
    retryBackoffMaxMs: 1000,
    reconnectBackoffMs: 50,
    reconnectBackoffMaxMs: 1000,
    signal: undefined,
    onAssigned: undefined,
    onRevoked: undefined,
    onLost: undefined,
  };
  for (const [key, value] of Object.entries(defaults)) {
    assert.deepEqual(o[key as keyof typeof o], value, key);
  }
  for (const level of ["debug", "info", "warn", "error"] as const) {
    assert.equal(typeof o.logger[level], "function");
    o.logger[level]("dropped"); // the default logger is a no-op
  }
});

Deno.test("resolveOptions() keeps given values", () => {
  const signal = new AbortController().signal;
  const onRevoked = () => {};
  const options: ConsumerOptions = {
    brokers: ["a:1", "b:2"],
    clientId: "billing-1",
    groupId: "billing",
    topics: ["orders"],
    autoOffsetReset: "earliest",
    commit: "manual",
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    maxPollIntervalMs: 60_000,
    rebalanceTimeoutMs: 20_000,
    closeTimeoutMs: 0,
    groupInstanceId: "billing-host-1",
    assignors: ["roundrobin", "range"],
    isolationLevel: "read_committed",
    maxBufferedBytes: 65536,
    fetchMaxWaitMs: 0,
    checkCrcs: false,
    signal,
    onRevoked,
  };
  const o = resolveOptions(options);
  assert.equal(o.clientId, "billing-1");
  assert.equal(o.autoOffsetReset, "earliest");
  assert.equal(o.commit, "manual");
  assert.equal(o.rebalanceTimeoutMs, 20_000);
  assert.equal(o.closeTimeoutMs, 0);
  assert.equal(o.groupInstanceId, "billing-host-1");
  assert.deepEqual(o.assignors, ["roundrobin", "range"]);
  assert.notEqual(o.assignors, options.assignors); // a copy
  assert.equal(o.isolationLevel, "read_committed");
  assert.equal(o.maxBufferedBytes, 65536);
  assert.equal(o.fetchMaxWaitMs, 0);
  assert.equal(o.checkCrcs, false);
  assert.equal(o.signal, signal);
  assert.equal(o.onRevoked, onRevoked);
});

Deno.test("resolveOptions() makes rebalanceTimeoutMs follow maxPollIntervalMs", () => {
  assert.equal(resolveOptions(withBase({ maxPollIntervalMs: 60_000 })).rebalanceTimeoutMs, 60_000);
  assert.equal(
    resolveOptions(withBase({ maxPollIntervalMs: 60_000, rebalanceTimeoutMs: 5_000 }))
      .rebalanceTimeoutMs,
    5_000,
  );
});

Deno.test("resolveOptions() splits a comma-separated brokers string", () => {
  const o = resolveOptions(withBase({ brokers: " kafka-1:9092, [::1]:9093,,10.0.0.3:9094 " }));
  assert.deepEqual(o.brokers, ["kafka-1:9092", "[::1]:9093", "10.0.0.3:9094"]);
  assert.deepEqual(
    resolveOptions(withBase({ brokers: ["a:1", " a:1 ", "[fe80::1%eth0]:9092"] })).brokers,
    ["a:1", "[fe80::1%eth0]:9092"],
  );
});

Deno.test("resolveOptions() translates a RegExp for the broker under the consumer protocol only", () => {
  const consumer = resolveOptions(withBase({ groupProtocol: "consumer", topics: /^orders-/i }));
  assert.equal(consumer.mode, "subscribe");
  assert.ok(consumer.topics instanceof RegExp);
  assert.equal(consumer.topicsRegex, "(?i)orders-.*");
  const classic = resolveOptions(withBase({ topics: /^orders-/i }));
  assert.equal(classic.topicsRegex, undefined);
  const named = resolveOptions(withBase({ groupProtocol: "consumer" }));
  assert.equal(named.topicsRegex, undefined);
  // Classic matches in the consumer: what RE2J lacks is fine there.
  assert.ok(resolveOptions(withBase({ topics: /^(?!tmp-)orders/ })).topics instanceof RegExp);
});

Deno.test("resolveOptions() accepts RegExp topics and drops stateful flags", () => {
  const pattern = /^orders-.*$/gi;
  const o = resolveOptions(withBase({ topics: pattern }));
  assert.equal(o.mode, "subscribe");
  assert.ok(o.topics instanceof RegExp);
  assert.equal(o.topics.source, pattern.source);
  assert.equal(o.topics.flags, "i");
  // Without the g flag, test() keeps no state between topics.
  assert.ok(o.topics.test("orders-1"));
  assert.ok(o.topics.test("orders-1"));
  assert.ok(!o.topics.test("refunds"));
});

Deno.test("resolveOptions() removes duplicate topic names", () => {
  assert.deepEqual(resolveOptions(withBase({ topics: ["a", "b", "a"] })).topics, ["a", "b"]);
});

Deno.test("resolveOptions() resolves assign mode, with or without a group", () => {
  const o = resolveOptions({
    brokers: "127.0.0.1:9092",
    assign: [
      { topic: "orders", partition: 0, offset: 42n },
      { topic: "orders", partition: 1, offset: "earliest" },
      { topic: "orders", partition: 2, offset: { timestamp: 1_700_000_000_000 } },
      { topic: "refunds", partition: 0 },
    ],
  });
  assert.equal(o.mode, "assign");
  assert.equal(o.groupId, undefined);
  assert.equal(o.topics, undefined);
  assert.deepEqual(o.assign, [
    { topic: "orders", partition: 0, offset: 42n },
    { topic: "orders", partition: 1, offset: "earliest" },
    { topic: "orders", partition: 2, offset: { timestamp: 1_700_000_000_000 } },
    { topic: "refunds", partition: 0 },
  ]);
  const withGroup = resolveOptions({
    brokers: "127.0.0.1:9092",
    groupId: "g",
    assign: [{ topic: "orders", partition: 0 }],
  });
  assert.equal(withGroup.mode, "assign");
  assert.equal(withGroup.groupId, "g");
});

Deno.test("resolveOptions() raises a backoff maximum that was not given to its start", () => {
  const o = resolveOptions(withBase({ retryBackoffMs: 2000, reconnectBackoffMs: 3000 }));
  assert.equal(o.retryBackoffMaxMs, 2000);
  assert.equal(o.reconnectBackoffMaxMs, 3000);
  const p = resolveOptions(withBase({ retryBackoffMs: 2000, retryBackoffMaxMs: 8000 }));
  assert.equal(p.retryBackoffMaxMs, 8000);
});

Deno.test("resolveOptions() bounds bootstrap retries at 60 s unless told otherwise", () => {
  assert.equal(resolveOptions(withBase({})).bootstrapTimeoutMs, 60000);
  assert.equal(
    resolveOptions(withBase({ bootstrapTimeoutMs: Infinity })).bootstrapTimeoutMs,
    Infinity,
  );
  assert.equal(resolveOptions(withBase({ bootstrapTimeoutMs: 0 })).bootstrapTimeoutMs, 0);
});

Deno.test("resolveOptions() treats options set to undefined as not given", () => {
  const o = resolveOptions(withBase({ clientId: undefined, assign: undefined }));
  assert.equal(o.clientId, "sluice");
  assert.equal(o.mode, "subscribe");
  assert.equal(
    resolveOptions({ ...BASE, topics: ["t"], sessionTimeoutMs: undefined }).sessionTimeoutMs,
    45000,
  );
});

interface BadCase {
  name: string;
  input: unknown;
  field: string;
  reason: RegExp;
}

const BAD: BadCase[] = [
  {
    name: "sessionTimeoutMs under the consumer protocol",
    input: withBase({ groupProtocol: "consumer", sessionTimeoutMs: 10000 }),
    field: "sessionTimeoutMs",
    reason:
      /not used with groupProtocol "consumer": the broker decides \(the broker's group\.consumer\.session\.timeout\.ms/,
  },
  {
    name: "heartbeatIntervalMs under the consumer protocol",
    input: withBase({ groupProtocol: "consumer", heartbeatIntervalMs: 1000 }),
    field: "heartbeatIntervalMs",
    reason: /not used with groupProtocol "consumer"/,
  },
  {
    name: "assignors under the consumer protocol",
    input: withBase({ groupProtocol: "consumer", assignors: ["range"] }),
    field: "assignors",
    reason: /use "groupRemoteAssignor"/,
  },
  {
    name: "a RegExp RE2J cannot match the same under the consumer protocol",
    input: withBase({ groupProtocol: "consumer", topics: /^(?!tmp-)orders/ }),
    field: "topics",
    reason: /cannot be sent to the broker .*lookahead .* is not supported by RE2J/,
  },
  {
    name: "groupRemoteAssignor under the classic protocol",
    input: withBase({ groupRemoteAssignor: "range" }),
    field: "groupRemoteAssignor",
    reason: /only applies with groupProtocol "consumer"/,
  },
  {
    name: "unknown groupProtocol",
    input: withBase({ groupProtocol: "new" }),
    field: "groupProtocol",
    reason: /must be "classic" or "consumer" \(got "new"\)/,
  },
  {
    name: "negative bootstrapTimeoutMs",
    input: withBase({ bootstrapTimeoutMs: -1 }),
    field: "bootstrapTimeoutMs",
    reason: /from 0 up, or Infinity/,
  },
  {
    name: "missing brokers",
    input: withBase({ brokers: undefined }),
    field: "brokers",
    reason: /^is required/,
  },
  {
    name: "empty brokers",
    input: withBase({ brokers: [] }),
    field: "brokers",
    reason: /at least one broker/,
  },
  {
    name: "blank brokers string",
    input: withBase({ brokers: " , " }),
    field: "brokers",
    reason: /at least one broker/,
  },
  {
    name: "brokers of the wrong type",
    input: withBase({ brokers: 9092 }),
    field: "brokers",
    reason: /"host:port".*\(got 9092\)/,
  },
  {
    name: "port out of range",
    input: withBase({ brokers: ["a:1", "b:70000"] }),
    field: "brokers[1]",
    reason: /port must be from 1 to 65535 \(got "b:70000"\)/,
  },
  {
    name: "port 0",
    input: withBase({ brokers: "a:0" }),
    field: "brokers[0]",
    reason: /port must be from 1 to 65535/,
  },
  {
    name: "missing port",
    input: withBase({ brokers: ["localhost"] }),
    field: "brokers[0]",
    reason: /port is missing/,
  },
  {
    name: "IPv6 without brackets",
    input: withBase({ brokers: ["::1:9092"] }),
    field: "brokers[0]",
    reason: /in brackets/,
  },
  {
    name: "both topics and assign",
    input: withBase({ assign: [{ topic: "t", partition: 0 }] }),
    field: "assign",
    reason: /exactly one/,
  },
  {
    name: "neither topics nor assign",
    input: withBase({ topics: undefined }),
    field: "topics",
    reason: /^is required: give "topics".*or "assign"/,
  },
  {
    name: "topics without groupId",
    input: withBase({ groupId: undefined }),
    field: "groupId",
    reason: /^is required with "topics"/,
  },
  {
    name: "empty groupId",
    input: withBase({ groupId: "" }),
    field: "groupId",
    reason: /non-empty string/,
  },
  {
    name: "heartbeat >= session",
    input: withBase({ sessionTimeoutMs: 10_000, heartbeatIntervalMs: 10_000 }),
    field: "heartbeatIntervalMs",
    reason: /less than sessionTimeoutMs \(10000\).*\(got 10000\)/,
  },
  {
    name: "bad topic name",
    input: withBase({ topics: ["orders", "bad name!"] }),
    field: "topics[1]",
    reason: /valid topic name.*\(got "bad name!"\)/,
  },
  {
    name: "topic name too long",
    input: withBase({ topics: ["x".repeat(250)] }),
    field: "topics[0]",
    reason: /valid topic name/,
  },
  {
    name: "topic name '..'",
    input: withBase({ topics: [".."] }),
    field: "topics[0]",
    reason: /valid topic name/,
  },
  {
    name: "topics as a single string",
    input: withBase({ topics: "orders" }),
    field: "topics",
    reason: /write \["orders"\]/,
  },
  {
    name: "empty topics",
    input: withBase({ topics: [] }),
    field: "topics",
    reason: /at least one topic/,
  },
  {
    name: "unknown key with a suggestion",
    input: withBase({ sessionTimeoutMS: 10_000 }),
    field: "sessionTimeoutMS",
    reason: /unknown option; did you mean "sessionTimeoutMs"\?/,
  },
  {
    name: "Java-style key",
    input: withBase({ "max.poll.interval.ms": 1000 }),
    field: "max.poll.interval.ms",
    reason: /did you mean "maxPollIntervalMs"/,
  },
  {
    name: "another client's name for an option",
    input: withBase({ bootstrapServers: "a:1" }),
    field: "bootstrapServers",
    reason: /did you mean "brokers"/,
  },
  {
    name: "unknown key without a close match",
    input: withBase({ zzzzzzzzzzzz: 1 }),
    field: "zzzzzzzzzzzz",
    reason: /^unknown option \(see ConsumerOptions/,
  },
  {
    name: "bad assignor",
    input: withBase({ assignors: ["range", "sticky"] }),
    field: "assignors[1]",
    reason: /must be "range", "roundrobin" or "cooperative-sticky" \(got "sticky"\)/,
  },
  {
    name: "duplicate assignor",
    input: withBase({ assignors: ["range", "range"] }),
    field: "assignors[1]",
    reason: /twice/,
  },
  {
    name: "no assignors",
    input: withBase({ assignors: [] }),
    field: "assignors",
    reason: /at least one assignor/,
  },
  {
    name: "negative partition",
    input: {
      brokers: "a:1",
      assign: [{ topic: "t", partition: 0 }, { topic: "t", partition: -1 }],
    },
    field: "assign[1].partition",
    reason: /integer >= 0 \(got -1\)/,
  },
  {
    name: "missing partition",
    input: { brokers: "a:1", assign: [{ topic: "t" }] },
    field: "assign[0].partition",
    reason: /^is required/,
  },
  {
    name: "duplicate assign entry",
    input: {
      brokers: "a:1",
      assign: [{ topic: "t", partition: 0 }, { topic: "u", partition: 0 }, {
        topic: "t",
        partition: 0,
        offset: 5n,
      }],
    },
    field: "assign[2]",
    reason: /repeats assign\[0\]/,
  },
  {
    name: "unknown key in an assign entry",
    input: { brokers: "a:1", assign: [{ topic: "t", partition: 0, ofset: 5n }] },
    field: "assign[0].ofset",
    reason: /unknown key; did you mean "offset"/,
  },
  {
    name: "offset as a number",
    input: { brokers: "a:1", assign: [{ topic: "t", partition: 0, offset: 42 }] },
    field: "assign[0].offset",
    reason: /write 42n/,
  },
  {
    name: "negative offset",
    input: { brokers: "a:1", assign: [{ topic: "t", partition: 0, offset: -1n }] },
    field: "assign[0].offset",
    reason: /\(got -1n\)/,
  },
  {
    name: "empty assign",
    input: { brokers: "a:1", assign: [] },
    field: "assign",
    reason: /at least one partition/,
  },
  {
    name: "non-function onRevoked",
    input: withBase({ onRevoked: "flush" }),
    field: "onRevoked",
    reason: /must be a function.*\(got "flush"\)/,
  },
  {
    name: "negative session timeout",
    input: withBase({ sessionTimeoutMs: -5 }),
    field: "sessionTimeoutMs",
    reason: /^must be an integer >= 1000 \(got -5\)$/,
  },
  {
    name: "fractional size",
    input: withBase({ fetchMaxBytes: 1.5 }),
    field: "fetchMaxBytes",
    reason: /integer/,
  },
  {
    name: "NaN timeout",
    input: withBase({ requestTimeoutMs: NaN }),
    field: "requestTimeoutMs",
    reason: /integer/,
  },
  {
    name: "timeout of 2^31",
    input: withBase({ maxPollIntervalMs: 2 ** 31 }),
    field: "maxPollIntervalMs",
    reason: /<= 2147483647/,
  },
  {
    name: "timeout as a string",
    input: withBase({ closeTimeoutMs: "30s" }),
    field: "closeTimeoutMs",
    reason: /integer >= 0 \(got "30s"\)/,
  },
  {
    name: "memory budget below 64 KiB",
    input: withBase({ maxBufferedBytes: 1024 }),
    field: "maxBufferedBytes",
    reason: />= 65536/,
  },
  {
    name: "bad autoOffsetReset",
    input: withBase({ autoOffsetReset: "smallest" }),
    field: "autoOffsetReset",
    reason: /"latest", "earliest" or "none"/,
  },
  {
    name: "bad isolationLevel",
    input: withBase({ isolationLevel: "committed" }),
    field: "isolationLevel",
    reason: /read_committed/,
  },
  {
    name: "bad commit mode",
    input: withBase({ commit: true }),
    field: "commit",
    reason: /"auto" or "manual"/,
  },
  {
    name: "commit auto without a group",
    input: { brokers: "a:1", assign: [{ topic: "t", partition: 0 }], commit: "auto" },
    field: "commit",
    reason: /needs groupId/,
  },
  {
    name: "groupInstanceId in assign mode",
    input: {
      brokers: "a:1",
      groupId: "g",
      groupInstanceId: "i",
      assign: [{ topic: "t", partition: 0 }],
    },
    field: "groupInstanceId",
    reason: /only applies with "topics"/,
  },
  {
    name: "bad groupInstanceId",
    input: withBase({ groupInstanceId: "host 1" }),
    field: "groupInstanceId",
    reason: /a-z A-Z 0-9/,
  },
  {
    name: "backoff maximum below its start",
    input: withBase({ retryBackoffMs: 500, retryBackoffMaxMs: 100 }),
    field: "retryBackoffMaxMs",
    reason: />= retryBackoffMs \(500\)/,
  },
  {
    name: "fetch wait not below the request timeout",
    input: withBase({ fetchMaxWaitMs: 30_000 }),
    field: "fetchMaxWaitMs",
    reason: /less than requestTimeoutMs/,
  },
  {
    name: "checkCrcs not a boolean",
    input: withBase({ checkCrcs: "yes" }),
    field: "checkCrcs",
    reason: /true or false/,
  },
  {
    name: "signal not an AbortSignal",
    input: withBase({ signal: new AbortController() }),
    field: "signal",
    reason: /AbortSignal \(got an AbortController\)/,
  },
  {
    name: "logger not an object",
    input: withBase({ logger: "debug" }),
    field: "logger",
    reason: /must be an object/,
  },
  {
    name: "logger method not a function",
    input: withBase({ logger: { warn: true } }),
    field: "logger.warn",
    reason: /must be a function/,
  },
  {
    name: "options not an object",
    input: "127.0.0.1:9092",
    field: "",
    reason: /must be an object \(got "127.0.0.1:9092"\)/,
  },
];

for (const c of BAD) {
  Deno.test(`resolveOptions() rejects ${c.name}, naming ${c.field || "the options"}`, () => {
    const e = configError(c.input);
    assert.equal(e.field, c.field, e.message);
    assert.equal(e.issues.length, 1, e.message);
    assert.match(e.issues[0].reason, c.reason);
    if (c.field !== "") {
      assert.ok(e.message.startsWith(`Invalid consumer option "${c.field}": `), e.message);
    }
  });
}

Deno.test("ConfigError is a KafkaError with the documented message", () => {
  const e = configError(withBase({ sessionTimeoutMs: -5 }));
  assert.ok(e instanceof KafkaError);
  assert.equal(e.name, "ConfigError");
  assert.equal(
    e.message,
    'Invalid consumer option "sessionTimeoutMs": must be an integer >= 1000 (got -5)',
  );
  assert.deepEqual(e.issues, [
    { field: "sessionTimeoutMs", reason: "must be an integer >= 1000 (got -5)" },
  ]);
});

Deno.test("resolveOptions() reports every problem at once, one per line", () => {
  const e = configError({
    brokers: "a:0",
    topics: ["bad name"],
    sessionTimeoutMS: 1,
    heartbeatIntervalMs: 50_000,
  });
  assert.deepEqual(e.issues.map((i) => i.field), [
    "brokers[0]",
    "topics[0]",
    "sessionTimeoutMS",
    "groupId",
    "heartbeatIntervalMs",
  ]);
  assert.equal(e.field, "brokers[0]");
  const lines = e.message.split("\n");
  assert.equal(lines[0], "Invalid consumer options (5 problems):");
  assert.equal(lines.length, 6);
  assert.match(lines[3], /^ {2}- "sessionTimeoutMS": unknown option; did you mean/);
});

Deno.test("ConfigError never prints secret values", () => {
  const e = configError(withBase({ password: "hunter2", sasl: { password: "hunter2" } }));
  assert.deepEqual(e.issues.map((i) => i.field), ["sasl", "password"]);
  assert.ok(!e.message.includes("hunter2"), e.message);
  assert.ok(!JSON.stringify(e.issues).includes("hunter2"));
});

Deno.test("ConfigError never prints the value of an unknown nested key", () => {
  const e = configError({
    brokers: "a:1",
    assign: [{ topic: "t", partition: 0, token: "s3cr3t" }],
  });
  assert.equal(e.field, "assign[0].token");
  assert.ok(!e.message.includes("s3cr3t"), e.message);
});

Deno.test("resolveOptions() accepts console as a logger and keeps its this", () => {
  const o = resolveOptions(withBase({ logger: console }));
  assert.equal(typeof o.logger.info, "function");
  const calls: unknown[][] = [];
  class Sink {
    prefix = "sink";
    info(msg: string, fields?: Record<string, unknown>) {
      calls.push([this.prefix, msg, fields]);
    }
  }
  const p = resolveOptions(withBase({ logger: new Sink() }));
  p.logger.info("joined", { generation: 3 });
  p.logger.debug("dropped");
  assert.deepEqual(calls, [["sink", "joined", { generation: 3 }]]);
});

Deno.test("the resolved logger never throws or rejects", async () => {
  const logger: Logger = {
    warn: () => {
      throw new Error("broken logger");
    },
    error: () => Promise.reject(new Error("broken async logger")) as unknown as void,
  };
  const o = resolveOptions(withBase({ logger }));
  o.logger.warn("x");
  o.logger.error("y");
  await new Promise((r) => setTimeout(r, 0)); // an unhandled rejection would fail the test
});

Deno.test("consoleLogger() prints logfmt lines to stderr at or above its level", () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const log = consoleLogger("info");
    log.debug?.("hidden");
    log.info?.("joined group", {
      group: "billing",
      generation: 3,
      offset: 42n,
      password: "hunter2",
      sasl: { user: "u" },
      cause: new TypeError("boom"),
      tp: { topic: "orders", partition: 0, token: "t0k" },
      list: ["a", 1],
      empty: "",
    });
    log.error?.("stopped");
  } finally {
    console.error = original;
  }
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /^time=\d{4}-\d\d-\d\dT[\d:.]+Z level=info msg="joined group" group=billing generation=3 offset=42 password=<redacted> sasl=<redacted> cause="TypeError: boom" tp.topic=orders tp.partition=0 tp.token=<redacted> list="\[\\"a\\",1\]" empty=""$/,
  );
  assert.ok(!lines.join("\n").includes("hunter2"));
  assert.ok(!lines.join("\n").includes("t0k"));
  assert.match(lines[1], / level=error msg=stopped$/);
});

Deno.test("consoleLogger() defaults to info and rejects an unknown level", () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const log = consoleLogger();
    log.debug?.("hidden");
    log.info?.("shown");
  } finally {
    console.error = original;
  }
  assert.equal(lines.length, 1);
  assert.throws(() => consoleLogger("loud" as "info"), TypeError);
});

Deno.test("resolveOptions() takes groupProtocol consumer with a remote assignor; classic is the default", () => {
  const o = resolveOptions(withBase({ groupProtocol: "consumer", groupRemoteAssignor: "range" }));
  assert.equal(o.groupProtocol, "consumer");
  assert.equal(o.groupRemoteAssignor, "range");
  assert.equal(resolveOptions(withBase({})).groupProtocol, "classic");
});
