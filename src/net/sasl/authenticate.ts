/**
 * SASL authentication of one connection, right after ApiVersions (and again
 * before the session ends, KIP-368): SaslHandshake v1 names the mechanism,
 * then SaslAuthenticate requests carry the mechanism's messages. A broker
 * error, or a server message that does not verify, becomes an
 * {@linkcode AuthenticationError}.
 *
 * @module
 */

import type { RequestOptions } from "../connection.ts";
import { SaslAuthenticateApi } from "../../protocol/messages/sasl_authenticate.ts";
import { SaslHandshakeApi } from "../../protocol/messages/sasl_handshake.ts";
import type { ApiSchema } from "../../protocol/schema.ts";
import { ErrorCode, errorName } from "../../protocol/error_codes.ts";
import { AuthenticationError } from "../errors.ts";
import { scrub, type Secret } from "../secret.ts";
import { OAuthBearerSession, type OAuthBearerTokenCache } from "./oauthbearer.ts";
import { PlainSession } from "./plain.ts";
import { ScramSession } from "./scram.ts";
import { SaslMechanismError, type SaslSession } from "./session.ts";

/**
 * Resolved SASL settings of a connection (see the `sasl` consumer option):
 * secrets are {@linkcode Secret}s, OAUTHBEARER tokens come from a shared
 * cache.
 */
export type SaslConfig =
  | {
    mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
    username: string;
    password: Secret;
  }
  | {
    mechanism: "oauthbearer";
    tokens: OAuthBearerTokenCache;
    extensions: Readonly<Record<string, string>>;
  };

/** What authentication needs from a connection: requests, in order. */
export interface SaslTransport {
  /** `host:port`, for messages. */
  readonly broker: string;
  /** Sends one request (on the connection being authenticated). */
  send<Req, Res>(api: ApiSchema<Req, Res>, body: Req, opts?: RequestOptions): Promise<Res>;
  /** The broker's version range of an API key, from ApiVersions. */
  brokerVersions(apiKey: number): { min: number; max: number } | undefined;
}

/** Kafka's name of a mechanism. */
export function mechanismName(config: SaslConfig): string {
  return config.mechanism.toUpperCase();
}

/** A new exchange for `config`. */
export function createSession(config: SaslConfig): SaslSession {
  switch (config.mechanism) {
    case "plain":
      return new PlainSession(config.username, config.password);
    case "scram-sha-256":
      return new ScramSession("SHA-256", config.username, config.password);
    case "scram-sha-512":
      return new ScramSession("SHA-512", config.username, config.password);
    case "oauthbearer":
      return new OAuthBearerSession(config.tokens, config.extensions);
  }
}

/** The outcome of a successful authentication. */
export interface SaslResult {
  /**
   * Session lifetime the broker announced (KIP-368), in ms; 0 when the
   * session does not expire.
   */
  sessionLifetimeMs: number;
}

/**
 * Authenticates the connection behind `transport` with `config`.
 *
 * @throws {AuthenticationError} when the broker refuses or cannot be verified.
 */
export async function authenticate(
  transport: SaslTransport,
  config: SaslConfig,
  timeoutMs: number,
): Promise<SaslResult> {
  const mechanism = mechanismName(config);
  const broker = transport.broker;
  const secrets = config.mechanism === "oauthbearer" ? [] : [config.password];
  const fail = (reason: string, cause?: unknown): never => {
    throw new AuthenticationError(broker, mechanism, scrub(reason, secrets), { cause });
  };
  const handshake = transport.brokerVersions(SaslHandshakeApi.apiKey);
  const auth = transport.brokerVersions(SaslAuthenticateApi.apiKey);
  if (!handshake || handshake.max < 1 || !auth) {
    fail("the broker does not support SaslHandshake v1 and SaslAuthenticate (Kafka 1.0 or later)");
  }
  const hs = await transport.send(SaslHandshakeApi, { mechanism }, { version: 1, timeoutMs });
  if (hs.errorCode !== 0) {
    if (hs.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
      fail(
        `this listener does not enable ${mechanism} (it enables: ${
          hs.mechanisms.join(", ") || "none"
        })`,
      );
    }
    fail(
      hs.errorCode === ErrorCode.ILLEGAL_SASL_STATE
        ? "the listener does not expect SASL (ILLEGAL_SASL_STATE), so it is not a SASL listener"
        : `SaslHandshake answered ${errorName(hs.errorCode)}`,
    );
  }
  const version = Math.min(auth!.max, 2);
  const session = createSession(config);
  let lifetime = 0;
  let message: Uint8Array | null;
  try {
    message = await session.step(null);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e), e);
  }
  while (message !== null) {
    const res = await transport.send(SaslAuthenticateApi, { authBytes: message }, {
      version,
      timeoutMs,
    });
    if (res.errorCode !== 0) {
      const said = res.errorMessage ? `: ${res.errorMessage}` : "";
      fail(`the broker answered ${errorName(res.errorCode)}${said}`);
    }
    lifetime = Number(res.sessionLifetimeMs);
    try {
      message = await session.step(res.authBytes);
    } catch (e) {
      if (e instanceof SaslMechanismError) fail(e.message, e);
      throw e;
    }
  }
  return { sessionLifetimeMs: lifetime > 0 ? lifetime : 0 };
}
