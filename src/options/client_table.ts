/**
 * The options every client shares, declared once: {@linkcode clientInterface}
 * (per option its docs, public type, zod schema and default) and the schemas
 * behind it, with the schema helpers the clients' own tables use (`int`,
 * `oneOf`, `topicName`, `nonEmptyString`). `client.ts` validates and resolves
 * with it; `scripts/gen_options.ts` (`deno task gen:options`) writes the
 * documented `ClientOptions` interface from it into `client_generated.ts`.
 *
 * @module
 */

import { z } from "zod";
import type { OAuthBearerTokenProvider } from "../net/sasl/oauthbearer.ts";
import { Secret } from "../net/secret.ts";
import { LEVELS, type Logger } from "./logger.ts";
import type { InterfaceSpec } from "./table.ts";

/** Largest int32. */
export const INT32_MAX = 2 ** 31 - 1;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const TOPIC_REASON = "must be a valid topic name: 1 to 249 characters of a-z A-Z 0-9 . _ -";
const BROKER = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/;
const BROKER_EXAMPLE = 'e.g. "127.0.0.1:9092" or "[::1]:9092"';

/** An integer in [min, max]; messages say which bound was crossed. */
// deno-lint-ignore explicit-function-return-type
export function int(min: number, max = INT32_MAX) {
  const reason = `must be an integer >= ${min}`;
  return z.number({ error: reason })
    .int({ error: reason })
    .min(min, { error: reason })
    .max(max, { error: `must be an integer <= ${max}` });
}

/** One of the given strings; the message lists them. */
// deno-lint-ignore explicit-function-return-type
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const quoted = values.map((v) => `"${v}"`);
  const list = quoted.length > 1
    ? `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1]}`
    : quoted[0];
  return z.enum(values, { error: `must be ${list}` });
}

/** A valid topic name. */
export const topicName = z.string({ error: TOPIC_REASON }).refine(
  (s) => TOPIC_NAME.test(s) && s !== "." && s !== "..",
  { error: TOPIC_REASON },
);

const brokerAddress = z.string({ error: `must be "host:port", ${BROKER_EXAMPLE}` })
  .superRefine((s, ctx) => {
    const m = BROKER.exec(s);
    if (m) {
      const port = Number(m[3]);
      if (port < 1 || port > 65535) {
        ctx.addIssue({ code: "custom", message: "port must be from 1 to 65535", input: s });
      }
      return;
    }
    let message = `must be "host:port", ${BROKER_EXAMPLE}`;
    if (!s.includes(":")) message = `must be "host:port" (the port is missing), ${BROKER_EXAMPLE}`;
    else if (!s.startsWith("[") && s.indexOf(":") !== s.lastIndexOf(":")) {
      message = `an IPv6 address must be in brackets, e.g. "[::1]:9092"`;
    }
    ctx.addIssue({ code: "custom", message, input: s });
  });

const brokersSchema = z.union([z.string(), z.array(z.string())], {
  error: (iss) =>
    iss.input === undefined
      ? `is required: the bootstrap brokers as "host:port" strings, ${BROKER_EXAMPLE}`
      : 'must be an array of "host:port" strings or one comma-separated string',
})
  .transform((v) =>
    typeof v === "string"
      ? v.split(",").map((s) => s.trim()).filter((s) => s !== "")
      : v.map((s) => s.trim())
  )
  .pipe(z.array(brokerAddress).min(1, { error: "must list at least one broker" }));

/** A non-empty string; `what` says what it is in the message. */
// deno-lint-ignore explicit-function-return-type
export const nonEmptyString = (what: string) =>
  z.string({ error: `must be a non-empty string (${what})` })
    .min(1, { error: `must be a non-empty string (${what})` });

const loggerSchema = z.custom<Logger>(
  (v) => typeof v === "object" && v !== null,
  { error: "must be an object with optional debug, info, warn, error functions" },
).superRefine((v, ctx) => {
  for (const name of LEVELS) {
    const f = (v as Record<string, unknown>)[name];
    if (f !== undefined && typeof f !== "function") {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: "must be a function (msg, fields?) => void",
        input: f,
      });
    }
  }
});

const secretString = z.union([z.string(), z.instanceof(Secret)], {
  error: "must be a string (or a Secret)",
});

const pem = (what: string) =>
  z.string({ error: `must be a PEM string (${what})` }).refine(
    (s) => s.includes("-----BEGIN "),
    { error: `must be a PEM string (${what}): "-----BEGIN ..." not found` },
  );

const tlsSchema = z.union([
  z.boolean(),
  z.strictObject({
    caCerts: z.array(pem("a CA certificate"), {
      error: "must be an array of PEM certificates",
    }).optional(),
    cert: pem("the client certificate chain").optional(),
    key: z.union([pem("the client private key"), z.instanceof(Secret)], {
      error: "must be a PEM private key string (or a Secret)",
    }).optional(),
  }).superRefine((t, ctx) => {
    if ((t.cert === undefined) !== (t.key === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [t.cert === undefined ? "cert" : "key"],
        message: "mutual TLS needs both cert and key",
        input: undefined,
      });
    }
  }),
], { error: "must be true, false or { caCerts?, cert?, key? }" });

const MECHANISMS = '"plain", "scram-sha-256", "scram-sha-512" or "oauthbearer"';

const saslUnion = z.discriminatedUnion("mechanism", [
  z.strictObject({
    mechanism: z.enum(["plain", "scram-sha-256", "scram-sha-512"]),
    username: nonEmptyString("the SASL user name"),
    password: secretString,
  }),
  z.strictObject({
    mechanism: z.literal("oauthbearer"),
    token: z.custom<OAuthBearerTokenProvider>((v) => typeof v === "function", {
      error: "must be a function returning a token (or a promise of one)",
    }),
    extensions: z.record(
      z.string(),
      z.string().regex(/^[\x21-\x7E \t\r\n]*$/, {
        error: "extension values are printable ASCII",
      }),
      {
        error: (iss) =>
          iss.code === "invalid_type" ? "must be an object of string values" : undefined,
      },
    ).superRefine((rec, ctx) => {
      // RFC 7628: keys are letters; "auth" is the token's own key.
      for (const k of Object.keys(rec)) {
        if (!/^[A-Za-z]+$/.test(k) || k === "auth") {
          ctx.addIssue({
            code: "custom",
            path: [k],
            message: k === "auth" ? '"auth" is reserved' : "extension names are letters only",
            input: k,
          });
        }
      }
    }).optional(),
  }),
], {
  error: (iss) =>
    typeof iss.input !== "object" || iss.input === null
      ? `must be an object { mechanism, ... } with mechanism ${MECHANISMS}`
      : `mechanism must be ${MECHANISMS}`,
});

// A missing mechanism is reported on "sasl" itself (the whole object is unusable).
const saslSchema = z.custom<z.input<typeof saslUnion>>(
  (v) =>
    typeof v === "object" && v !== null && (v as { mechanism?: unknown }).mechanism !== undefined,
  { error: `needs a mechanism: ${MECHANISMS}` },
).pipe(saslUnion);

/** Largest retry and reconnect delay, in ms, when not given (and not below the first delay). */
export const BACKOFF_MAX_MS = 1000;

/** `requestTimeoutMs`: every client has it, and documents it in its own table. */
export const requestTimeoutSchema = int(1).default(30000);

/** `signal`: every client has it, and documents it in its own table. */
// z.instanceof would type it `never`: AbortSignal's constructor is declared `new(): never`.
export const signalSchema = z.custom<AbortSignal>((v) => v instanceof AbortSignal, {
  error: "must be an AbortSignal",
}).optional();

/**
 * The {@linkcode ClientOptions} interface: every client's options, declared
 * once. `scripts/gen_options.ts` writes the interface into
 * `client_generated.ts`; {@linkcode clientShape} validates.
 */
export const clientInterface = {
  name: "ClientOptions",
  doc: [
    "The options every client takes: where the cluster is, how to",
    "authenticate, retry pacing and logging. `ConsumerOptions`,",
    "`ProducerOptions` and `AdminOptions` extend it.",
    "",
    "@example",
    "```ts",
    'import type { ClientOptions } from "@sluice/kafka";',
    "const common: ClientOptions = {",
    '  brokers: ["kafka-1:9093", "kafka-2:9093"],',
    "  tls: true,",
    '  sasl: { mechanism: "scram-sha-512", username: "app", password: Deno.env.get("PW") ?? "" },',
    "};",
    "```",
  ],
  imports: {
    "./client.ts": ["SaslOptions", "TlsOptions"],
    "./logger.ts": ["Logger"],
  },
  table: {
    brokers: {
      doc: [
        "Bootstrap brokers, `host:port` each (IPv6 in brackets: `[::1]:9092`), as",
        "an array or a comma-separated string. Used to find the cluster; the",
        "client then talks to the brokers the cluster advertises.",
      ],
      type: "string | string[]",
      schema: brokersSchema,
    },
    clientId: {
      doc: [
        "Client id sent with every request: shows in broker logs, metrics and",
        "quotas.",
      ],
      type: "string",
      schema: z.string({ error: "must be a string" }).max(32767, {
        error: "must be at most 32767 characters",
      }).default("sluice"),
    },
    tls: {
      doc: [
        "Connect with TLS: `true` (system root CAs) or {@linkcode TlsOptions}",
        "(a private CA, a client certificate). A certificate that does not verify",
        "ends the stream with a `TlsError`.",
      ],
      type: "boolean | TlsOptions",
      schema: tlsSchema.default(false),
    },
    sasl: {
      doc: [
        "Authenticate with SASL: {@linkcode SaslOptions}. Wrong credentials end",
        "the stream with an `AuthenticationError` (no reconnect storm). Secrets",
        "never appear in errors, logs, or when the options or the client are",
        "printed.",
      ],
      type: "SaslOptions",
      schema: saslSchema.optional(),
    },
    retryBackoffMs: {
      doc: [
        "First delay, in ms, before retrying a failed request; doubles per attempt",
        "(with jitter) up to `retryBackoffMaxMs`.",
      ],
      type: "number",
      schema: int(1).default(100),
    },
    retryBackoffMaxMs: {
      doc: [
        "Largest retry delay, in ms. When not given and `retryBackoffMs` is",
        "larger, it is raised to `retryBackoffMs` (a fixed delay).",
      ],
      type: "number",
      schema: int(1).optional(),
      defaultDoc: String(BACKOFF_MAX_MS),
    },
    reconnectBackoffMs: {
      doc: [
        "First delay, in ms, before reconnecting to a broker; doubles per attempt",
        "(with jitter) up to `reconnectBackoffMaxMs`.",
      ],
      type: "number",
      schema: int(1).default(50),
    },
    reconnectBackoffMaxMs: {
      doc: [
        "Largest reconnect delay, in ms. When not given and `reconnectBackoffMs`",
        "is larger, it is raised to `reconnectBackoffMs`.",
      ],
      type: "number",
      schema: int(1).optional(),
      defaultDoc: String(BACKOFF_MAX_MS),
    },
    bootstrapTimeoutMs: {
      doc: [
        "How long, in ms, the client keeps trying its bootstrap brokers when",
        "none answers — at start-up, and whenever it must bootstrap again — with",
        "the reconnect backoff between rounds and a warning per failed round.",
        "Then the consumer's stream ends, or the admin call fails, with one",
        "`ConnectionError` saying what was tried; a producer's write waiting",
        "for metadata keeps trying, in further rounds, until `maxBlockMs`.",
        "`Infinity` keeps trying (a service that may start long before",
        "Kafka). Kafka's Java client bounds such waits by",
        "`default.api.timeout.ms`, also 60 s.",
      ],
      type: "number",
      // z.number() refuses Infinity, which is a valid answer here.
      schema: z.custom<number>(
        (n) =>
          n === Infinity ||
          (Number.isInteger(n) && (n as number) >= 0 && (n as number) <= INT32_MAX),
        { error: "must be a whole number of ms from 0 up, or Infinity" },
      ).default(60000),
    },
    logger: {
      doc: ["Where the client logs. See {@linkcode consoleLogger}."],
      type: "Logger",
      schema: loggerSchema.optional(),
      defaultDoc: "a logger that drops everything",
    },
  },
} satisfies InterfaceSpec;
