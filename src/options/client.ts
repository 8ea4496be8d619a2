/**
 * The options every client (consumer, producer, admin) shares: how to reach
 * and authenticate to the cluster, retries, logging. Declared once in
 * `clientInterface` (`client_table.ts`: per option its docs, public type,
 * schema and default), from which come the generated
 * {@linkcode ClientOptions} interface (`client_generated.ts`), the zod
 * schemas ({@linkcode clientShape}) and the resolved form.
 *
 * @module
 */

import { z } from "zod";
import { OAuthBearerTokenCache, type OAuthBearerTokenProvider } from "../net/sasl/oauthbearer.ts";
import type { ClusterOptions } from "../net/cluster.ts";
import type { SaslConfig } from "../net/sasl/authenticate.ts";
import { Secret } from "../net/secret.ts";
import type { TlsConfig } from "../net/tls.ts";
import { type Logger, safeLogger } from "./logger.ts";
import type { ClientOptions } from "./client_generated.ts";
import {
  BACKOFF_MAX_MS,
  clientInterface,
  requestTimeoutSchema,
  signalSchema,
} from "./client_table.ts";
import { type OptionTable, shapeOf } from "./table.ts";
import { type OptionNames, type OptionsSubject, type Resolving, startResolving } from "./issues.ts";

export type { ClientOptions } from "./client_generated.ts";
export {
  BACKOFF_MAX_MS,
  clientInterface,
  int,
  INT32_MAX,
  nonEmptyString,
  oneOf,
  requestTimeoutSchema,
  signalSchema,
  topicName,
} from "./client_table.ts";

/**
 * TLS settings (the `tls` option). The broker's certificate is verified
 * against the system's root CAs plus `caCerts`, for the host name the client
 * connects to (the broker's advertised host). `cert` and `key` present a
 * client certificate (mutual TLS, `ssl.client.auth=required`).
 *
 * @example
 * ```ts
 * import type { TlsOptions } from "@sluice/kafka";
 * const tls: TlsOptions = {
 *   caCerts: ["-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"],
 *   cert: "-----BEGIN CERTIFICATE-----\n...",
 *   key: "-----BEGIN PRIVATE KEY-----\n...",
 * };
 * ```
 */
export interface TlsOptions {
  /** PEM certificates of CAs to trust besides the system's (a private CA). */
  caCerts?: string[];
  /** PEM client certificate chain, for mutual TLS; needs `key`. */
  cert?: string;
  /** PEM private key of `cert` (never printed). */
  key?: string | Secret;
}

/**
 * SASL PLAIN or SCRAM credentials (the `sasl` option). PLAIN sends the
 * password as is: use it over TLS only.
 *
 * @example
 * ```ts
 * import type { SaslPasswordOptions } from "@sluice/kafka";
 * const sasl: SaslPasswordOptions = {
 *   mechanism: "scram-sha-512",
 *   username: "alice",
 *   password: Deno.env.get("KAFKA_PASSWORD") ?? "",
 * };
 * ```
 */
export interface SaslPasswordOptions {
  /** The SASL mechanism, as enabled on the broker's listener (`sasl.enabled.mechanisms`). */
  mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
  /** User name. */
  username: string;
  /** Password (never printed). */
  password: string | Secret;
}

/**
 * SASL OAUTHBEARER (the `sasl` option): tokens come from `token`, an async
 * provider. A token is cached and fetched again at 80% of its lifetime
 * (`expiresAt`, else the JWT's `exp` claim; unknown expiry: fetched for every
 * authentication). When the broker limits the session
 * (`connections.max.reauth.ms`, KIP-368), connections re-authenticate in place
 * before it ends.
 *
 * @example
 * ```ts
 * import type { SaslOAuthBearerOptions } from "@sluice/kafka";
 * const sasl: SaslOAuthBearerOptions = {
 *   mechanism: "oauthbearer",
 *   token: async () => ({ value: "eyJ...", expiresAt: Date.now() + 3_600_000 }),
 *   extensions: { logicalCluster: "lkc-abc123" },
 * };
 * ```
 */
export interface SaslOAuthBearerOptions {
  /** OAUTHBEARER. */
  mechanism: "oauthbearer";
  /** Returns a token (a string, or `{ value, expiresAt }`); may be async. */
  token: OAuthBearerTokenProvider;
  /** SASL extensions sent with the token (KIP-342), e.g. a managed service's cluster id. */
  extensions?: Record<string, string>;
}

/**
 * The `sasl` option: PLAIN, SCRAM-SHA-256/512 or OAUTHBEARER.
 *
 * @example
 * ```ts
 * import type { SaslOptions } from "@sluice/kafka";
 * const sasl: SaslOptions = { mechanism: "plain", username: "alice", password: "secret" };
 * ```
 */
export type SaslOptions = SaslPasswordOptions | SaslOAuthBearerOptions;

function asSecret(v: string | Secret): Secret {
  return v instanceof Secret ? v : new Secret(v);
}

function resolveTls(tls: ClientParsed["tls"]): TlsConfig | undefined {
  if (tls === undefined || tls === false) return undefined;
  if (tls === true) return {};
  return {
    caCerts: tls.caCerts ? [...tls.caCerts] : undefined,
    cert: tls.cert,
    key: tls.key === undefined ? undefined : asSecret(tls.key),
  };
}

function resolveSasl(sasl: ClientParsed["sasl"]): SaslConfig | undefined {
  if (sasl === undefined) return undefined;
  if (sasl.mechanism === "oauthbearer") {
    return {
      mechanism: "oauthbearer",
      tokens: new OAuthBearerTokenCache(sasl.token),
      extensions: { ...sasl.extensions },
    };
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: asSecret(sasl.password) };
}

const clientOwn = shapeOf(clientInterface.table);

/**
 * The zod schema of each {@linkcode ClientOptions} field, and of
 * `requestTimeoutMs` and `signal` (which each client documents itself), in
 * the order they are validated.
 */
export const clientShape = {
  brokers: clientOwn.brokers,
  clientId: clientOwn.clientId,
  requestTimeoutMs: requestTimeoutSchema,
  tls: clientOwn.tls,
  sasl: clientOwn.sasl,
  retryBackoffMs: clientOwn.retryBackoffMs,
  retryBackoffMaxMs: clientOwn.retryBackoffMaxMs,
  reconnectBackoffMs: clientOwn.reconnectBackoffMs,
  reconnectBackoffMaxMs: clientOwn.reconnectBackoffMaxMs,
  bootstrapTimeoutMs: clientOwn.bootstrapTimeoutMs,
  signal: signalSchema,
  logger: clientOwn.logger,
};

/**
 * Other clients' names for options every client takes (Java's
 * `bootstrap.servers`, KafkaJS's and librdkafka's brokers list); each
 * client adds its own.
 */
const CLIENT_ALIASES: Readonly<Record<string, string>> = {
  bootstrapServers: "brokers",
  bootstrapBrokers: "brokers",
};

/**
 * A client's whole schema: the options every client takes
 * ({@linkcode clientShape}) followed by its own, declared in `table`.
 */
export function clientOptionsSchema<T extends OptionTable>(table: T) {
  const shape = { ...clientShape, ...shapeOf(table) };
  return { shape, schema: z.strictObject(shape) };
}

/** The names a client's options are resolved under: its own aliases, its type, its kind. */
export interface ClientOptionNames extends OptionNames {
  /** Which client, for the error message. */
  subject: OptionsSubject;
}

/**
 * The common start of every client's resolve function: each field parsed
 * against `shape` (Java's and other clients' names for the shared options
 * accepted as well as `names.aliases`), then the rules across the shared
 * fields ({@linkcode checkClientRules}). The caller adds its own rules,
 * then calls `throwIfAny()`.
 */
export function startClientResolving<S extends typeof clientShape>(
  input: unknown,
  shape: S,
  names: ClientOptionNames,
): Resolving<S> {
  const aliases = { ...CLIENT_ALIASES, ...names.aliases };
  const r = startResolving(input, shape, { aliases, typeName: names.typeName }, names.subject);
  checkClientRules(r.values as Partial<ClientParsed>, r.ok, r.fail);
  return r;
}

const clientOwnSchema = z.strictObject(clientOwn);
// The generated interface and the table's schemas must agree (a stale
// client_generated.ts stops compiling here, besides failing gen:options --check).
const _optionsMatchSchema: OptionsMatch<ClientOptions, z.input<typeof clientOwnSchema>> = true;

const clientSchema = z.strictObject(clientShape);
type ClientParsed = z.output<typeof clientSchema>;

/**
 * {@linkcode ClientOptions} resolved: the schema's output (every default
 * filled), with `tls` and `sasl` ready to use (secrets as `Secret`s), the
 * logger with every level, the backoff maxima computed, and the two backoffs
 * as ranges.
 */
export type ResolvedClientOptions =
  & Omit<ClientParsed, Computed>
  & {
    /** TLS settings, undefined without TLS. */
    tls?: TlsConfig;
    /** SASL settings, undefined without SASL. Secrets are {@linkcode Secret}s. */
    sasl?: SaslConfig;
    /** The user's logger with every level; calls never throw. */
    logger: Required<Logger>;
    /** Largest retry delay, in ms. */
    retryBackoffMaxMs: number;
    /** Largest reconnect delay, in ms. */
    reconnectBackoffMaxMs: number;
    /** retryBackoffMs .. retryBackoffMaxMs. */
    retryBackoff: { initialMs: number; maxMs: number };
    /** reconnectBackoffMs .. reconnectBackoffMaxMs. */
    reconnectBackoff: { initialMs: number; maxMs: number };
  };

/** Shared options whose resolved form is computed, not the schema's output. */
type Computed = "tls" | "sasl" | "logger" | "retryBackoffMaxMs" | "reconnectBackoffMaxMs";

/**
 * The rules across the shared fields: a backoff maximum not below its
 * starting value. Reports through `fail`.
 */
export function checkClientRules(
  o: Partial<ClientParsed>,
  ok: (...keys: (keyof ClientParsed)[]) => boolean,
  fail: (field: string, reason: string) => void,
): void {
  for (
    const [base, max] of [["retryBackoffMs", "retryBackoffMaxMs"], [
      "reconnectBackoffMs",
      "reconnectBackoffMaxMs",
    ]] as const
  ) {
    const b = o[base];
    const m = o[max];
    if (ok(base, max) && b !== undefined && m !== undefined && m < b) {
      fail(max, `must be >= ${base} (${b}) (got ${m})`);
    }
  }
}

/** The shared fields in their resolved form (`p` has passed {@linkcode clientShape}). */
export function resolveClient(p: ClientParsed): ResolvedClientOptions {
  const retryBackoffMaxMs = p.retryBackoffMaxMs ?? Math.max(BACKOFF_MAX_MS, p.retryBackoffMs);
  const reconnectBackoffMaxMs = p.reconnectBackoffMaxMs ??
    Math.max(BACKOFF_MAX_MS, p.reconnectBackoffMs);
  return {
    brokers: [...new Set(p.brokers)],
    clientId: p.clientId,
    requestTimeoutMs: p.requestTimeoutMs,
    tls: resolveTls(p.tls),
    sasl: resolveSasl(p.sasl),
    retryBackoffMs: p.retryBackoffMs,
    retryBackoffMaxMs,
    reconnectBackoffMs: p.reconnectBackoffMs,
    reconnectBackoffMaxMs,
    bootstrapTimeoutMs: p.bootstrapTimeoutMs,
    signal: p.signal,
    logger: safeLogger(p.logger),
    retryBackoff: { initialMs: p.retryBackoffMs, maxMs: retryBackoffMaxMs },
    reconnectBackoff: { initialMs: p.reconnectBackoffMs, maxMs: reconnectBackoffMaxMs },
  };
}

/**
 * The Cluster settings of a client: its connection options, its stop
 * signal, and a warning per failed bootstrap round.
 *
 * @example
 * ```ts
 * import { clientShape, clusterOptions, resolveClient } from "./client.ts";
 * import { z } from "zod";
 * const o = resolveClient(z.strictObject(clientShape).parse({ brokers: "127.0.0.1:9092" }));
 * clusterOptions(o, new AbortController().signal).connectTimeoutMs; // 10000
 * ```
 */
export function clusterOptions(o: ResolvedClientOptions, signal: AbortSignal): ClusterOptions {
  return {
    brokers: o.brokers,
    clientId: o.clientId,
    requestTimeoutMs: o.requestTimeoutMs,
    // The ApiVersions exchange of a new connection is a request too: a
    // broker that never answers it must not hold a connect (and a close()
    // waiting for the start-up) longer than any other request.
    connectTimeoutMs: Math.min(10_000, o.requestTimeoutMs),
    signal,
    tls: o.tls,
    sasl: o.sasl,
    bootstrapTimeoutMs: o.bootstrapTimeoutMs,
    reconnectBackoff: o.reconnectBackoff,
    onBootstrapFailure: ({ attempt, error }) =>
      o.logger.warn("no bootstrap broker answered; retrying", {
        attempt,
        brokers: o.brokers.join(","),
        error: error.reason,
        bootstrapTimeoutMs: o.bootstrapTimeoutMs,
      }),
  };
}

/**
 * True when `A` and `B` are the same type. With {@linkcode OptionsMatch}, the
 * compile-time guard between a generated options interface and the zod
 * schema built from the same table (a stale generated file stops compiling).
 */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * `true` when `Options` (the documented interface) and `SchemaInput` (the
 * schema's input type) have the same keys and the same type per key; used
 * as `const _check: OptionsMatch<ProducerOptions, z.input<typeof schema>> = true`,
 * which stops compiling when they drift apart.
 */
export type OptionsMatch<Options, SchemaInput> = Same<keyof Options, keyof SchemaInput> extends true
  ? (false extends {
    [K in keyof Options]-?: K extends keyof SchemaInput ? Same<Options[K], SchemaInput[K]> : false;
  }[keyof Options] ? false
    : true)
  : false;
