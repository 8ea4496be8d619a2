/**
 * SASL SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) on Web Crypto:
 * PBKDF2 for the salted password, HMAC for the keys and signatures. The
 * client proves it knows the password without sending it, and checks the
 * server's signature, which proves the server knows it too.
 *
 * No channel binding (`n,,`), as Kafka's own client. The password is used as
 * its UTF-8 bytes, as Kafka's `ScramFormatter` does (no SASLprep).
 *
 * @module
 */

import type { Secret } from "../secret.ts";
import { fromUtf8, SaslMechanismError, type SaslSession, utf8 } from "./session.ts";

/** The hash of a SCRAM mechanism. */
export type ScramHash = "SHA-256" | "SHA-512";

// Kafka's broker refuses fewer than 4096 iterations; more than this from a
// server would only burn the client's CPU.
const MIN_ITERATIONS = 4096;
const MAX_ITERATIONS = 1_000_000;

/** A fresh client nonce: 24 random bytes, base64 (no commas). */
export function scramNonce(): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

/** A user name as a SCRAM `saslname`: `=` and `,` escaped. */
export function saslName(username: string): string {
  return username.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

/** Parses `k=v,k=v` attributes (values may contain `=`). */
export function parseScramAttributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(",")) {
    const eq = part.indexOf("=");
    if (eq !== 1) throw new SaslMechanismError(`malformed SCRAM attribute in the broker's message`);
    out.set(part[0], part.slice(2));
  }
  return out;
}

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function unb64(s: string, what: string): Uint8Array<ArrayBuffer> {
  try {
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  } catch {
    throw new SaslMechanismError(`the broker's SCRAM ${what} is not base64`);
  }
}

async function hmac(hash: ScramHash, key: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

/** PBKDF2-HMAC of the password: SCRAM's `SaltedPassword`. */
export async function scramSaltedPassword(
  hash: ScramHash,
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", utf8(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = hash === "SHA-256" ? 256 : 512;
  return new Uint8Array(
    await crypto.subtle.deriveBits({ name: "PBKDF2", hash, salt, iterations }, key, bits),
  );
}

function xor(a: Uint8Array<ArrayBuffer>, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * One SCRAM exchange: client-first, client-final (with the proof), then the
 * server's signature is checked.
 */
export class ScramSession implements SaslSession {
  /** Kafka's mechanism name. */
  readonly mechanism: string;
  readonly #hash: ScramHash;
  readonly #username: string;
  readonly #password: Secret;
  readonly #nonce: string;
  #state: "start" | "first-sent" | "final-sent" | "done" = "start";
  #clientFirstBare = "";
  #serverSignature: Uint8Array | null = null;

  /**
   * Creates the exchange. `nonce` is for tests with published vectors;
   * without it a random one is made with `crypto.getRandomValues`.
   */
  constructor(hash: ScramHash, username: string, password: Secret, nonce: string = scramNonce()) {
    this.mechanism = `SCRAM-${hash}`;
    this.#hash = hash;
    this.#username = username;
    this.#password = password;
    this.#nonce = nonce;
  }

  /** See {@linkcode SaslSession.step}. */
  async step(server: Uint8Array | null): Promise<Uint8Array | null> {
    switch (this.#state) {
      case "start":
        this.#state = "first-sent";
        this.#clientFirstBare = `n=${saslName(this.#username)},r=${this.#nonce}`;
        return utf8(`n,,${this.#clientFirstBare}`);
      case "first-sent":
        this.#state = "final-sent";
        return utf8(await this.#clientFinal(fromUtf8(server ?? new Uint8Array(), "SCRAM message")));
      case "final-sent": {
        this.#state = "done";
        const attrs = parseScramAttributes(fromUtf8(server ?? new Uint8Array(), "SCRAM message"));
        const error = attrs.get("e");
        if (error !== undefined) throw new SaslMechanismError(`the broker refused: ${error}`);
        const v = attrs.get("v");
        if (v === undefined) {
          throw new SaslMechanismError("the broker's final SCRAM message has no signature");
        }
        if (!sameBytes(unb64(v, "signature"), this.#serverSignature!)) {
          throw new SaslMechanismError(
            "the broker's SCRAM signature does not match: it does not know this user's " +
              "credentials (a wrong or impostor broker)",
          );
        }
        return null;
      }
      default:
        return null;
    }
  }

  async #clientFinal(serverFirst: string): Promise<string> {
    const attrs = parseScramAttributes(serverFirst);
    if (attrs.has("m")) throw new SaslMechanismError("the broker asks for a SCRAM extension");
    const nonce = attrs.get("r");
    const saltText = attrs.get("s");
    const iterText = attrs.get("i");
    if (nonce === undefined || saltText === undefined || iterText === undefined) {
      throw new SaslMechanismError("the broker's first SCRAM message lacks r, s or i");
    }
    if (!nonce.startsWith(this.#nonce) || nonce.length <= this.#nonce.length) {
      throw new SaslMechanismError("the broker's SCRAM nonce does not extend ours");
    }
    const iterations = Number(iterText);
    if (
      !/^\d+$/.test(iterText) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS
    ) {
      throw new SaslMechanismError(
        `the broker's SCRAM iteration count ${JSON.stringify(iterText.slice(0, 20))} is outside ` +
          `${MIN_ITERATIONS}..${MAX_ITERATIONS}`,
      );
    }
    const salt = unb64(saltText, "salt");
    const hash = this.#hash;
    const salted = await scramSaltedPassword(hash, this.#password.reveal(), salt, iterations);
    const clientKey = await hmac(hash, salted, utf8("Client Key"));
    const storedKey = new Uint8Array(await crypto.subtle.digest(hash, clientKey));
    const withoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,")
    const authMessage = utf8(`${this.#clientFirstBare},${serverFirst},${withoutProof}`);
    const clientSignature = await hmac(hash, storedKey, authMessage);
    const serverKey = await hmac(hash, salted, utf8("Server Key"));
    this.#serverSignature = await hmac(hash, serverKey, authMessage);
    return `${withoutProof},p=${b64(xor(clientKey, clientSignature))}`;
  }
}
