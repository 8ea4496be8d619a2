/**
 * SASL OAUTHBEARER (RFC 7628, KIP-255): the client sends a bearer token it
 * got from the application's token provider. Tokens are cached and fetched
 * again before they expire (at 80% of their lifetime, as Kafka's Java client
 * refreshes its login), one fetch at a time however many connections ask.
 *
 * @module
 */

import { Secret } from "../secret.ts";
import { fromUtf8, SaslMechanismError, type SaslSession, utf8 } from "./session.ts";

/**
 * A token from the application's provider: the compact JWT (or other bearer
 * token) and, when known, when it expires (ms since the epoch). Without
 * `expiresAt`, the `exp` claim of a JWT is used; a token whose expiry is
 * unknown is not cached (the provider is asked for every authentication).
 *
 * @example
 * ```ts
 * import type { OAuthBearerToken } from "@sluice/kafka";
 * const token: OAuthBearerToken = { value: "eyJhbGciOi...", expiresAt: Date.now() + 3_600_000 };
 * ```
 */
export interface OAuthBearerToken {
  /** The bearer token. */
  value: string;
  /** When it expires, in ms since the epoch. */
  expiresAt?: number;
}

/**
 * Returns a bearer token (or just its string); called when the cached token
 * is missing or 80% through its lifetime, and awaited.
 *
 * @example
 * ```ts
 * import type { OAuthBearerTokenProvider } from "@sluice/kafka";
 * const provider: OAuthBearerTokenProvider = async () => {
 *   const res = await fetch("https://login.example.com/token", { method: "POST" });
 *   const body = await res.json();
 *   return { value: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
 * };
 * ```
 */
export type OAuthBearerTokenProvider = () =>
  | OAuthBearerToken
  | string
  | Promise<OAuthBearerToken | string>;

/** The `exp` claim of a JWT, in ms since the epoch, if it has one. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length < 2) return undefined;
  try {
    const json = atob(parts[1].replaceAll("-", "+").replaceAll("_", "/"));
    const claims: unknown = JSON.parse(json);
    if (typeof claims === "object" && claims !== null && "exp" in claims) {
      const exp = (claims as { exp: unknown }).exp;
      if (typeof exp === "number" && Number.isFinite(exp)) return exp * 1000;
    }
  } catch {
    // not a JWT: expiry unknown
  }
  return undefined;
}

/**
 * When a token fetched at `fetchedAt` that expires at `expiresAt` is
 * refreshed: 80% through its lifetime, as Kafka's Java client does.
 */
export function refreshAt(fetchedAt: number, expiresAt: number): number {
  return fetchedAt + 0.8 * (expiresAt - fetchedAt);
}

/**
 * Holds the provider's current token; shared by every connection of a
 * consumer. Prints as `OAuthBearerTokenCache { <redacted> }`.
 */
export class OAuthBearerTokenCache {
  readonly #provider: OAuthBearerTokenProvider;
  readonly #now: () => number;
  #token: Secret | null = null;
  #refreshAt = 0;
  #expiresAt: number | undefined = undefined;
  #fetching: Promise<Secret> | null = null;

  /** Wraps `provider`; `now` is for tests. */
  constructor(provider: OAuthBearerTokenProvider, now: () => number = Date.now) {
    this.#provider = provider;
    this.#now = now;
  }

  /** A valid token: the cached one, or a new one from the provider. */
  get(): Promise<Secret> {
    if (this.#token && this.#now() < this.#refreshAt) return Promise.resolve(this.#token);
    this.#fetching ??= this.#fetch().finally(() => {
      this.#fetching = null;
    });
    return this.#fetching;
  }

  /**
   * A valid token and when it expires (undefined: unknown), for a holder
   * that caches it apart, such as the heartbeat worker.
   */
  async withExpiry(): Promise<{ token: Secret; expiresAt: number | undefined }> {
    const token = await this.get();
    return { token, expiresAt: token === this.#token ? this.#expiresAt : undefined };
  }

  async #fetch(): Promise<Secret> {
    const fetchedAt = this.#now();
    let got: OAuthBearerToken | string;
    try {
      got = await this.#provider();
    } catch (e) {
      throw new SaslMechanismError(
        `the OAUTHBEARER token provider failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const value = typeof got === "string" ? got : got?.value;
    if (typeof value !== "string" || value === "") {
      throw new SaslMechanismError(
        "the OAUTHBEARER token provider returned no token (expected a string or { value, expiresAt? })",
      );
    }
    const expiresAt = (typeof got === "object" ? got.expiresAt : undefined) ?? jwtExpiry(value);
    if (expiresAt !== undefined && expiresAt <= this.#now()) {
      throw new SaslMechanismError("the OAUTHBEARER token provider returned an expired token");
    }
    const token = new Secret(value);
    if (expiresAt === undefined) {
      this.#token = null;
      return token;
    }
    this.#token = token;
    this.#expiresAt = expiresAt;
    this.#refreshAt = refreshAt(fetchedAt, expiresAt);
    return token;
  }

  /** Never shows the token. */
  [Symbol.for("Deno.customInspect")](): string {
    return "OAuthBearerTokenCache { <redacted> }";
  }

  /** Never shows the token. */
  toJSON(): string {
    return "<redacted>";
  }
}

/**
 * The client's first (and only) OAUTHBEARER message:
 * `n,,\x01auth=Bearer TOKEN\x01[key=value\x01]...\x01`.
 */
export function oauthBearerMessage(
  token: string,
  extensions: Readonly<Record<string, string>> = {},
): Uint8Array {
  let s = `n,,\u0001auth=Bearer ${token}\u0001`;
  for (const [k, v] of Object.entries(extensions)) s += `${k}=${v}\u0001`;
  return utf8(`${s}\u0001`);
}

/**
 * One OAUTHBEARER exchange. On a bad token the broker answers with a JSON
 * error instead of success; RFC 7628 has the client acknowledge it with a
 * lone `\x01`, after which the broker fails the authentication.
 */
export class OAuthBearerSession implements SaslSession {
  /** Kafka's mechanism name. */
  readonly mechanism = "OAUTHBEARER";
  readonly #tokens: OAuthBearerTokenCache;
  readonly #extensions: Readonly<Record<string, string>>;
  #state: "start" | "sent" | "error-acknowledged" = "start";
  #serverError = "";

  /** Creates the exchange. */
  constructor(tokens: OAuthBearerTokenCache, extensions: Readonly<Record<string, string>> = {}) {
    this.#tokens = tokens;
    this.#extensions = extensions;
  }

  /** See {@linkcode SaslSession.step}. */
  async step(server: Uint8Array | null): Promise<Uint8Array | null> {
    if (this.#state === "start") {
      this.#state = "sent";
      const token = await this.#tokens.get();
      return oauthBearerMessage(token.reveal(), this.#extensions);
    }
    if (this.#state === "sent" && server && server.length > 0) {
      this.#state = "error-acknowledged";
      this.#serverError = fromUtf8(server, "OAUTHBEARER error");
      return utf8("\u0001");
    }
    if (this.#state === "error-acknowledged") {
      throw new SaslMechanismError(`the broker refused the token: ${this.#serverError}`);
    }
    return null;
  }
}
