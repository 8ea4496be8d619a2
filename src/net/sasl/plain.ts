/**
 * SASL PLAIN (RFC 4616): one message, `authzid NUL username NUL password`,
 * with an empty authorization id (Kafka's broker derives the principal from
 * the user name). Only safe over TLS: the password travels as is.
 *
 * @module
 */

import type { Secret } from "../secret.ts";
import { type SaslSession, utf8 } from "./session.ts";

/** The PLAIN message for `username` and `password` (empty authorization id). */
export function plainMessage(username: string, password: string): Uint8Array {
  return utf8(`\u0000${username}\u0000${password}`);
}

/** A PLAIN exchange: the message, then nothing (the broker's answer is empty). */
export class PlainSession implements SaslSession {
  /** Kafka's mechanism name. */
  readonly mechanism = "PLAIN";
  readonly #username: string;
  readonly #password: Secret;
  #sent = false;

  /** Creates the exchange. */
  constructor(username: string, password: Secret) {
    this.#username = username;
    this.#password = password;
  }

  /** The message first; then done. */
  step(_server: Uint8Array | null): Promise<Uint8Array | null> {
    if (this.#sent) return Promise.resolve(null);
    this.#sent = true;
    return Promise.resolve(plainMessage(this.#username, this.#password.reveal()));
  }
}
