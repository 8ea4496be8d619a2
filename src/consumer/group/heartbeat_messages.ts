/**
 * What crosses between the consumer and its heartbeat Worker, and how the
 * connection settings cross: structured clone drops `#private` fields (a
 * {@linkcode Secret} would arrive empty) and cannot carry functions, so
 * secrets are revealed into the message on purpose and wrapped again in the
 * worker, and OAUTHBEARER tokens are asked of the main thread (which holds
 * the user's token provider) by message.
 *
 * @module
 */

import type { ClusterOptions } from "../../net/cluster.ts";
import { Secret } from "../../net/secret.ts";
import { OAuthBearerTokenCache } from "../../net/sasl/oauthbearer.ts";
import type { BackoffOptions } from "../../util/async.ts";
import type { HeartbeatCommand, HeartbeatTaskEvent, HeartbeatTaskSpec } from "./heartbeat_task.ts";

/**
 * Connection settings as they cross: {@linkcode ClusterOptions}' plain
 * fields as they are, TLS key and SASL password as strings, no functions.
 */
export type ClusterTransfer =
  & Omit<ClusterOptions, "tls" | "sasl" | "signal" | "onBootstrapFailure">
  & {
    tls?: { caCerts?: string[]; cert?: string; key?: string };
    sasl?:
      | {
        mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
        username: string;
        password: string;
      }
      | { mechanism: "oauthbearer"; extensions: Readonly<Record<string, string>> };
  };

/** The first message to the worker. */
export interface WorkerInit {
  type: "init";
  cluster: ClusterTransfer;
  groupId: string;
  retryBackoff: BackoffOptions;
  task: HeartbeatTaskSpec;
  liveness: SharedArrayBuffer;
}

/** Consumer -> worker. */
export type ToWorker =
  | WorkerInit
  | { type: "command"; command: HeartbeatCommand }
  /** A token (or why there is none): the answer to request `id`, or pushed unasked. */
  | { type: "token"; id?: number; value?: string; expiresAt?: number; error?: string }
  | { type: "close" };

/** Worker -> consumer. */
export type FromWorker =
  | { type: "event"; event: HeartbeatTaskEvent }
  | { type: "log"; level: "debug" | "info" | "warn" | "error"; message: string; fields?: unknown }
  | { type: "token-request"; id: number }
  | { type: "closed" };

/** The plain-data form of the consumer's connection settings (secrets revealed). */
export function toTransfer(options: ClusterOptions): ClusterTransfer {
  const { tls, sasl } = options;
  return {
    brokers: [...options.brokers],
    clientId: options.clientId,
    requestTimeoutMs: options.requestTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    bootstrapTimeoutMs: options.bootstrapTimeoutMs,
    reconnectBackoff: options.reconnectBackoff,
    tls: tls && { caCerts: tls.caCerts, cert: tls.cert, key: tls.key?.reveal() },
    sasl: sasl === undefined
      ? undefined
      : sasl.mechanism === "oauthbearer"
      ? { mechanism: "oauthbearer", extensions: { ...sasl.extensions } }
      : { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password.reveal() },
  };
}

/**
 * Connection settings again, in the worker: secrets wrapped, tokens from
 * `askToken` (the main thread's provider, by message).
 */
export function fromTransfer(
  t: ClusterTransfer,
  askToken: () => Promise<{ value: string; expiresAt?: number }>,
  signal: AbortSignal,
): ClusterOptions {
  return {
    brokers: t.brokers,
    clientId: t.clientId,
    requestTimeoutMs: t.requestTimeoutMs,
    connectTimeoutMs: t.connectTimeoutMs,
    bootstrapTimeoutMs: t.bootstrapTimeoutMs,
    reconnectBackoff: t.reconnectBackoff,
    signal,
    tls: t.tls && {
      caCerts: t.tls.caCerts,
      cert: t.tls.cert,
      key: t.tls.key === undefined ? undefined : new Secret(t.tls.key),
    },
    sasl: t.sasl === undefined ? undefined : t.sasl.mechanism === "oauthbearer"
      ? {
        mechanism: "oauthbearer",
        tokens: new OAuthBearerTokenCache(askToken),
        extensions: t.sasl.extensions,
      }
      : {
        mechanism: t.sasl.mechanism,
        username: t.sasl.username,
        password: new Secret(t.sasl.password),
      },
  };
}
