/**
 * The consumer's options declared once: {@linkcode consumerInterface}, per
 * option its docs, public type and zod schema (validation and default), and
 * the schemas of the consumer's own option types. `src/config.ts` validates
 * and resolves with it; `scripts/gen_options.ts` (`deno task gen:options`)
 * writes the documented `ConsumerOptions` interface from it into
 * `config_generated.ts`.
 *
 * @module
 */

import { z } from "zod";
import type { RebalanceListener } from "./config.ts";
import {
  int,
  nonEmptyString,
  oneOf,
  requestTimeoutSchema,
  signalSchema,
  topicName,
} from "./options/client.ts";
import type { InterfaceSpec } from "./options/table.ts";

const MIN_BUFFERED_BYTES = 64 * 1024;
const topicsSchema = z.union([
  z.array(topicName).min(1, { error: "must list at least one topic" }),
  z.instanceof(RegExp),
], {
  error: (iss) =>
    typeof iss.input === "string"
      ? `must be an array of topic names or a RegExp; for one topic write ["${iss.input}"]`
      : "must be an array of topic names or a RegExp",
});

const offsetSchema = z.union([
  z.bigint().min(0n),
  z.literal("earliest"),
  z.literal("latest"),
  z.strictObject({ timestamp: z.number().int().min(0) }),
], {
  error: (iss) =>
    (typeof iss.input === "number" && Number.isSafeInteger(iss.input) && iss.input >= 0
      ? `must be a bigint offset (write ${iss.input}n), `
      : "must be a bigint offset >= 0n, ") +
    '"earliest", "latest" or { timestamp: ms since epoch }',
});

const assignEntry = z.strictObject({
  topic: topicName,
  partition: int(0),
  offset: offsetSchema.optional(),
}, { error: "must be an object { topic, partition, offset? }" });

const assignSchema = z.array(assignEntry, {
  error: "must be an array of { topic, partition, offset? }",
}).min(1, { error: "must list at least one partition" });

const assignorsSchema = z.array(oneOf(["range", "roundrobin", "cooperative-sticky"]), {
  error: 'must be an array of assignor names ("range", "roundrobin", "cooperative-sticky")',
})
  .min(1, { error: "must list at least one assignor" })
  .superRefine((list, ctx) => {
    list.forEach((name, i) => {
      if (list.indexOf(name) !== i) {
        ctx.addIssue({ code: "custom", path: [i], message: `lists "${name}" twice`, input: name });
      }
    });
  });

const groupInstanceIdReason = "must be 1 to 249 characters of a-z A-Z 0-9 . _ -";
const groupInstanceIdSchema = z.string({ error: groupInstanceIdReason })
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, { error: groupInstanceIdReason });

const listener = z.custom<RebalanceListener>((v) => typeof v === "function", {
  error: "must be a function (partitions) => void | Promise<void>",
});

/**
 * The `ConsumerOptions` interface, declared once: per option its docs,
 * public type and schema (validation and default). The rules across
 * options are in `resolveOptions` (src/config.ts).
 */
export const consumerInterface = {
  name: "ConsumerOptions",
  doc: [
    "Options of the `Consumer`. Only `brokers` and one of `topics` / `assign` are",
    "required. Validated at construction: a wrong or unknown option throws a",
    "{@linkcode ConfigError} before anything connects.",
    "",
    "@example",
    "```ts",
    'import type { ConsumerOptions } from "@sluice/kafka";',
    "const subscribe: ConsumerOptions = {",
    '  brokers: ["127.0.0.1:9092"],',
    '  groupId: "billing",',
    '  topics: ["orders"],',
    '  autoOffsetReset: "earliest",',
    "};",
    "const assign: ConsumerOptions = {",
    '  brokers: "kafka-1:9092,kafka-2:9092",',
    '  assign: [{ topic: "orders", partition: 0, offset: "earliest" }],',
    "};",
    "```",
  ],
  extends: { name: "ClientOptions", from: "./options/client_generated.ts" },
  imports: {
    "./config.ts": [
      "AssignedPartition",
      "AssignorName",
      "AutoOffsetReset",
      "CommitMode",
      "GroupProtocol",
      "HeartbeatThread",
      "IsolationLevel",
      "RebalanceListener",
    ],
  },
  table: {
    groupId: {
      doc: [
        "Consumer group. Required with `topics` (the consumer joins the group);",
        "with `assign`, offsets are read from and committed to this group without",
        "joining it. Without it, nothing is committed.",
      ],
      type: "string",
      schema: nonEmptyString("the consumer group id").optional(),
    },
    topics: {
      doc: [
        "Subscribe mode: the topics to read, as names, or a `RegExp` matched",
        "against every topic name in the cluster with `pattern.test(name)` (not",
        "anchored, as any JavaScript RegExp: write `/^orders-.*$/` to match whole",
        "names; the `g` and `y` flags are dropped). Partitions come from the",
        "group, so `groupId` is required. Give exactly one of `topics` and",
        "`assign`.",
      ],
      type: "string[] | RegExp",
      schema: topicsSchema.optional(),
    },
    assign: {
      doc: [
        "Assign mode: the exact partitions to read, each optionally with where to",
        "start. No rebalances, no group events. Give exactly one of `topics` and",
        "`assign`.",
      ],
      type: "AssignedPartition[]",
      schema: assignSchema.optional(),
    },
    autoOffsetReset: {
      doc: [
        "Where to start when a partition has no committed offset, or its position",
        "is out of range: the log end, the log start, or fail the stream.",
      ],
      type: "AutoOffsetReset",
      schema: oneOf(["latest", "earliest", "none"]).default("latest"),
    },
    commit: {
      doc: [
        '`"auto"` commits acknowledged offsets every `autoCommitIntervalMs`, on',
        'revocation and on close; `"manual"` only when `commit()` is called.',
        "Nothing is committed without `groupId`.",
      ],
      type: "CommitMode",
      schema: oneOf(["auto", "manual"]).default("auto"),
    },
    autoCommitIntervalMs: {
      doc: [
        'Period of automatic commits (`commit: "auto"`), in ms.',
      ],
      type: "number",
      schema: int(1).default(5000),
    },
    sessionTimeoutMs: {
      doc: [
        "The coordinator declares the member dead when it hears no heartbeat for",
        "this long, in ms. Must lie within the broker's",
        "`group.min.session.timeout.ms` .. `group.max.session.timeout.ms`",
        "(6000 .. 1800000 by default). Heartbeats run apart from the reader, in",
        "a Worker by default (`heartbeatThread`), so synchronous work longer than",
        "this does not lose the group; `maxPollIntervalMs` bounds it.",
      ],
      type: "number",
      schema: int(1000).default(45000),
    },
    heartbeatIntervalMs: {
      doc: [
        "Period of heartbeats, in ms. Must be less than `sessionTimeoutMs`; Kafka",
        "recommends at most a third of it.",
      ],
      type: "number",
      schema: int(1).default(3000),
    },
    heartbeatThread: {
      doc: [
        'Where heartbeats run (subscribe mode). `"worker"`: in a Web Worker with',
        "its own connection to the coordinator, so that a handler that blocks",
        "the event loop (synchronous work, up to `maxPollIntervalMs`) keeps the",
        'group; costs a worker (a few MB) and one more connection. `"event-loop"`:',
        "on the consumer's event loop, for runtimes without Workers (Deno Deploy);",
        "a handler blocking it for `sessionTimeoutMs` then loses the partitions.",
        'Where Workers are missing, `"worker"` falls back to the event loop with a',
        "warning.",
      ],
      type: "HeartbeatThread",
      schema: oneOf(["worker", "event-loop"]).default("worker"),
    },
    maxPollIntervalMs: {
      doc: [
        "Longest time, in ms, the reader may go without asking for the next",
        "batch (a pending read is asking), whether or not data waits. Past it the",
        "heartbeat task leaves the group without committing (a static member",
        "lets its session expire instead), as Kafka's Java consumer does; the",
        "partitions go to others, what was acknowledged but not committed is",
        "delivered again, and the next read rejoins.",
      ],
      type: "number",
      schema: int(1).default(300000),
    },
    rebalanceTimeoutMs: {
      doc: [
        "Time, in ms, each member has to rejoin once a rebalance starts:",
        "revocation, `onRevoked` and the commit must fit in it.",
      ],
      type: "number",
      schema: int(1).optional(),
      defaultDoc: "maxPollIntervalMs",
    },
    closeTimeoutMs: {
      doc: [
        "Longest time, in ms, `close()` waits for delivered batches to be",
        "acknowledged before committing and leaving. 0 closes without waiting.",
      ],
      type: "number",
      schema: int(0).default(30000),
    },
    requestTimeoutMs: {
      doc: [
        "Time, in ms, a request may wait for its response. Must exceed",
        "`fetchMaxWaitMs`, which a Fetch may legitimately spend at the broker.",
      ],
      type: "number",
      schema: requestTimeoutSchema,
    },
    groupInstanceId: {
      doc: [
        "Static membership (KIP-345): a stable id for this instance (`a-zA-Z0-9._-`,",
        "at most 249 characters). A static member sends no LeaveGroup on close, so",
        "a restart within `sessionTimeoutMs` keeps its partitions without a",
        "rebalance. Subscribe mode only.",
      ],
      type: "string",
      schema: groupInstanceIdSchema.optional(),
    },
    groupProtocol: {
      doc: [
        'The group protocol (see {@linkcode GroupProtocol}). "classic" is',
        'Kafka\'s Java default in 4.x; choose "consumer" on Kafka 4.0+ for',
        "rebalances without a group-wide stop, computed by the broker.",
      ],
      type: "GroupProtocol",
      schema: oneOf(["classic", "consumer"]).default("classic"),
    },
    groupRemoteAssignor: {
      doc: [
        'With `groupProtocol: "consumer"`: the broker-side assignor, `"uniform"`',
        "or `\"range\"` (Java's `group.remote.assignor`); the broker's default",
        "(`group.consumer.assignors`, uniform) when absent.",
      ],
      type: '"uniform" | "range"',
      schema: oneOf(["uniform", "range"]).optional(),
    },
    assignors: {
      doc: [
        "Assignment strategies this member supports, in order of preference. The",
        "group uses the first one every member supports. Rebalances are",
        "cooperative (only moving partitions are revoked) when the list is",
        '`["cooperative-sticky"]`, eager otherwise. To move a running group from',
        "an eager assignor to cooperative-sticky, roll every member to",
        '`["range", "cooperative-sticky"]`, then to `["cooperative-sticky"]`. The default is',
        "Java's.",
      ],
      type: "AssignorName[]",
      schema: assignorsSchema.default(["range", "cooperative-sticky"]),
    },
    isolationLevel: {
      doc: [
        '`"read_committed"` returns only committed transactional records (and',
        'stops at the last stable offset); `"read_uncommitted"` returns all.',
      ],
      type: "IsolationLevel",
      schema: oneOf(["read_uncommitted", "read_committed"]).default("read_uncommitted"),
    },
    maxBufferedBytes: {
      doc: [
        "The consumer's whole memory budget for record data, in bytes: buffered",
        "batches plus in-flight Fetch responses. While it is used up, no Fetch is",
        "sent. At least 64 KiB.",
      ],
      type: "number",
      schema: int(MIN_BUFFERED_BYTES, Number.MAX_SAFE_INTEGER).default(32 * 1024 * 1024),
    },
    fetchMinBytes: {
      doc: [
        "Bytes a broker waits to gather before answering a Fetch (up to",
        "`fetchMaxWaitMs`).",
      ],
      type: "number",
      schema: int(1).default(1),
    },
    fetchMaxWaitMs: {
      doc: [
        "Longest time, in ms, a broker holds a Fetch waiting for `fetchMinBytes`.",
        "0 answers at once.",
      ],
      type: "number",
      schema: int(0).default(500),
    },
    maxBatchRecords: {
      doc: [
        "Most records in one delivered batch (Java's `max.poll.records`): a",
        "longer one is delivered in pieces, each with its own `nextOffset` (one",
        "past its last record; the last piece carries the original). The fetched",
        "bytes stay counted against `maxBufferedBytes` until the last piece is",
        "delivered. No cap when not given.",
      ],
      type: "number",
      schema: int(1).optional(),
    },
    fetchMaxBytes: {
      doc: [
        "Most bytes one Fetch response may carry (the broker still returns a",
        "first batch larger than this, so progress is made). The effective limit",
        "of each Fetch is `min(fetchMaxBytes, memory budget left)`.",
      ],
      type: "number",
      schema: int(1).default(50 * 1024 * 1024),
    },
    maxPartitionFetchBytes: {
      doc: [
        "Most bytes one partition may contribute to a Fetch response (a larger",
        "first batch is still returned).",
      ],
      type: "number",
      schema: int(1).default(1024 * 1024),
    },
    checkCrcs: {
      doc: [
        "Verify the CRC32C of every record batch; a mismatch errors the stream",
        "naming topic, partition and offset.",
      ],
      type: "boolean",
      schema: z.boolean({ error: "must be true or false" }).default(true),
    },
    metadataMaxAgeMs: {
      doc: [
        "Period, in ms, of the metadata refresh that picks up leader changes, new",
        "partitions and, for a RegExp subscription, new topics. Subscribe mode",
        "only: in assign mode there is no periodic refresh, and metadata is",
        "refreshed when a Fetch finds that a partition's leader moved.",
      ],
      type: "number",
      schema: int(1).default(300000),
    },
    signal: {
      doc: [
        "Aborting it closes the consumer, as `close()` does.",
      ],
      type: "AbortSignal",
      schema: signalSchema,
    },
    onAssigned: {
      doc: [
        "Called after partitions are assigned to this member in a group, before",
        "fetching them (subscribe mode; assign mode has no group events).",
      ],
      type: "RebalanceListener",
      schema: listener.optional(),
    },
    onRevoked: {
      doc: [
        "Called when partitions are given up in a rebalance, after buffered",
        "batches are dropped and acknowledged offsets committed (auto mode); may",
        "`await consumer.commit()`.",
      ],
      type: "RebalanceListener",
      schema: listener.optional(),
    },
    onLost: {
      doc: [
        "Called when partitions were lost without a clean revocation (session",
        "expired, fenced): nothing can be committed for them any more.",
      ],
      type: "RebalanceListener",
      schema: listener.optional(),
    },
  },
} satisfies InterfaceSpec;
