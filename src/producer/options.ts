/**
 * The Producer's options (as Kafka's Java producer's `ProducerConfig`,
 * camelCased), declared once in {@linkcode producerInterface}; from it come
 * {@linkcode ProducerOptions} (generated into `options_generated.ts` by
 * `deno task gen:options`), their validation, and the resolved form the
 * producer reads.
 *
 * @module
 */

import { z } from "zod";
import {
  clientOptionsSchema,
  int,
  oneOf,
  type OptionsMatch,
  requestTimeoutSchema,
  resolveClient,
  type ResolvedClientOptions,
  signalSchema,
  startClientResolving,
} from "../options/client.ts";
import type { InterfaceSpec } from "../options/table.ts";
import type { ProducerOptions } from "./options_generated.ts";

export type { ProducerOptions } from "./options_generated.ts";
import { describe } from "../options/issues.ts";

/**
 * How many replicas must have a record before the broker answers: none
 * (`0`: the producer does not wait for an answer, offsets are unknown), the
 * leader (`1`), or every in-sync replica (`"all"`).
 *
 * @example
 * ```ts
 * import type { Acks } from "@sluice/kafka";
 * const acks: Acks = "all";
 * ```
 */
export type Acks = 0 | 1 | "all";

/**
 * Codec of the record batches the producer writes.
 *
 * @example
 * ```ts
 * import type { CompressionName } from "@sluice/kafka";
 * const codec: CompressionName = "lz4";
 * ```
 */
export type CompressionName = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/**
 * The {@linkcode ProducerOptions} interface, declared once: per option its
 * docs, public type and schema (validation and default).
 * `scripts/gen_options.ts` writes the interface into `options_generated.ts`;
 * the rules across options are in {@linkcode resolveProducerOptions}.
 */
export const producerInterface = {
  name: "ProducerOptions",
  doc: [
    "Options of the `Producer`. Only `brokers` is required. Defaults follow",
    "Kafka's Java producer (4.x). Validated at construction: a wrong or unknown",
    "option throws a `ConfigError` before anything connects.",
    "",
    "@example",
    "```ts",
    'import type { ProducerOptions } from "@sluice/kafka";',
    "const options: ProducerOptions = {",
    '  brokers: "127.0.0.1:9092",',
    '  compression: "lz4",',
    "  lingerMs: 10,",
    "};",
    "```",
  ],
  extends: { name: "ClientOptions", from: "../options/client_generated.ts" },
  imports: {
    "./options.ts": ["Acks", "CompressionName"],
  },
  table: {
    acks: {
      doc: [
        'Replicas that must have a batch before the broker answers. `"all"`',
        "(with idempotence) loses nothing a broker acknowledged; `0` does not",
        "wait for brokers at all (metadata offsets are `-1n`).",
      ],
      type: "Acks",
      schema: z.union([z.literal(0), z.literal(1), z.literal("all")], {
        error: 'must be 0, 1 or "all"',
      }).default("all"),
    },
    idempotent: {
      doc: [
        "Idempotent writes (producer id and sequence numbers): a batch retried",
        "after a lost answer is written once, and order holds per partition with",
        "up to `maxInFlightRequestsPerConnection` requests in flight. Needs",
        '`acks: "all"`; when not given, it is on unless `acks` is 0 or 1 (as in',
        "Java).",
      ],
      type: "boolean",
      schema: z.boolean({ error: "must be true or false" }).optional(),
      defaultDoc: "true",
    },
    compression: {
      doc: [
        "Codec of the record batches.",
      ],
      type: "CompressionName",
      schema: oneOf(["none", "gzip", "snappy", "lz4", "zstd"]).default("none"),
    },
    lingerMs: {
      doc: [
        "How long, in ms, a batch waits for more records before it is sent",
        "(unless it is full first).",
      ],
      type: "number",
      schema: int(0).default(5),
    },
    batchSize: {
      doc: [
        "Bytes of records gathered per partition batch before it is sent. A",
        "record larger than this goes in a batch of its own.",
      ],
      type: "number",
      schema: int(0).default(16384),
    },
    bufferMemory: {
      doc: [
        "Bytes of records held by the producer, buffered or in flight. A write",
        "waits while it is used up (the writable stream's backpressure), for at",
        "most `maxBlockMs`.",
      ],
      type: "number",
      schema: int(1024, Number.MAX_SAFE_INTEGER).default(32 * 1024 * 1024),
    },
    deliveryTimeoutMs: {
      doc: [
        "Upper bound, in ms, from a record's `send()` to its success or failure,",
        "retries included. Must be at least `lingerMs + requestTimeoutMs`.",
      ],
      type: "number",
      schema: int(1).default(120000),
    },
    maxBlockMs: {
      doc: [
        "Longest time, in ms, a write waits for metadata of its topic (a topic",
        "that does not exist, or no broker reached yet: it does not wait out",
        "`bootstrapTimeoutMs`) or for buffer memory before it fails.",
      ],
      type: "number",
      schema: int(0).default(60000),
    },
    maxRequestSize: {
      doc: [
        "Largest Produce request, in bytes; a record whose batch alone would be",
        "larger fails at once with a `RecordTooLargeError`.",
      ],
      type: "number",
      schema: int(1024).default(1024 * 1024),
    },
    maxInFlightRequestsPerConnection: {
      doc: [
        "Produce requests in flight per broker connection; at most 5 with",
        "idempotence (the broker remembers 5 batches per producer).",
      ],
      type: "number",
      schema: int(1).default(5),
    },
    metadataMaxAgeMs: {
      doc: [
        "Time, in ms, after which metadata is refreshed to pick up leader",
        "changes and new partitions.",
      ],
      type: "number",
      schema: int(1).default(300000),
    },
    closeTimeoutMs: {
      doc: [
        "Longest time, in ms, `close()` waits for buffered records to be",
        "delivered; what is left then fails with a `ProducerClosedError`.",
      ],
      type: "number",
      schema: int(0).default(30000),
    },
    signal: {
      doc: [
        "Aborting it closes the producer, as `close()` does.",
      ],
      type: "AbortSignal",
      schema: signalSchema,
    },
    requestTimeoutMs: {
      doc: [
        "Time, in ms, a Produce request may wait for its response.",
      ],
      type: "number",
      schema: requestTimeoutSchema,
    },
  },
} satisfies InterfaceSpec;

const { shape, schema } = clientOptionsSchema(producerInterface.table);
type Parsed = z.output<typeof schema>;
type Key = keyof typeof shape;

/** Java's producer names for our options. */
const ALIASES = {
  enableIdempotence: "idempotent",
  compressionType: "compression",
  maxInFlightRequests: "maxInFlightRequestsPerConnection",
};

// Fails to compile when the generated ProducerOptions is stale (run deno task gen:options).
const _optionsMatchSchema: OptionsMatch<ProducerOptions, z.input<typeof schema>> = true;

/**
 * The producer's options after validation: the schema's output (every
 * default filled in; each field documented in {@linkcode ProducerOptions}),
 * the shared ones resolved, and these in the form the protocol uses.
 */
export type ResolvedProducerOptions =
  & Omit<Parsed, keyof ResolvedClientOptions | "acks" | "idempotent" | "compression">
  & ResolvedClientOptions
  & {
    /** Required acks as the protocol writes them: 0, 1 or -1 (all). */
    acks: 0 | 1 | -1;
    /** Idempotence, after Java's rules. */
    idempotent: boolean;
    /** Codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
    compression: number;
  };

const CODECS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/**
 * Validates the producer's options and fills in the defaults; every problem
 * is reported at once in one {@linkcode ConfigError}.
 *
 * Java's idempotence rules: given explicitly, `idempotent: true` needs
 * `acks: "all"` and at most 5 requests in flight; not given, idempotence is
 * on unless `acks` is 0 or 1 or more than 5 requests may be in flight.
 * `deliveryTimeoutMs` must be at least `lingerMs + requestTimeoutMs`.
 *
 * @example
 * ```ts
 * import { resolveProducerOptions } from "./options.ts";
 * const o = resolveProducerOptions({ brokers: "127.0.0.1:9092", acks: 1 });
 * o.idempotent; // false: acks 1 turns the default idempotence off
 * o.acks; // 1
 * ```
 */
export function resolveProducerOptions(input: unknown): ResolvedProducerOptions {
  const names = { aliases: ALIASES, typeName: "ProducerOptions", subject: "producer" } as const;
  const r = startClientResolving(input, shape, names);
  const o = r.values as Partial<Parsed>;
  const { ok, fail } = r;
  if (ok("idempotent", "acks", "maxInFlightRequestsPerConnection") && o.idempotent === true) {
    if (o.acks !== "all") {
      fail("acks", `must be "all" with idempotent: true (got ${describe(o.acks)})`);
    }
    if (o.maxInFlightRequestsPerConnection! > 5) {
      fail(
        "maxInFlightRequestsPerConnection",
        `must be at most 5 with idempotent: true (got ${o.maxInFlightRequestsPerConnection})`,
      );
    }
  }
  if (ok("deliveryTimeoutMs", "lingerMs", "requestTimeoutMs")) {
    const { deliveryTimeoutMs: d, lingerMs: l, requestTimeoutMs: r } = o as Parsed;
    if (d < l + r) {
      fail(
        "deliveryTimeoutMs",
        `must be at least lingerMs + requestTimeoutMs (${l + r}) (got ${d})`,
      );
    }
  }
  r.throwIfAny();
  const p = o as Parsed;
  const idempotent = p.idempotent ??
    (p.acks === "all" && p.maxInFlightRequestsPerConnection <= 5);
  // tls, sasl and logger change type when resolved: resolveClient has them.
  const { tls: _tls, sasl: _sasl, logger: _logger, ...rest } = p;
  return {
    ...rest,
    ...resolveClient(p),
    acks: p.acks === "all" ? -1 : p.acks,
    idempotent,
    compression: CODECS[p.compression],
  };
}
