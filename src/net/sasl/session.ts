/**
 * What every SASL mechanism implements: a client-side exchange of byte
 * messages, driven by {@linkcode authenticate} over SaslAuthenticate
 * requests.
 *
 * @module
 */

/**
 * One authentication exchange of one mechanism, on one connection.
 * `step(null)` gives the first message; each later call gets the server's
 * last bytes and returns the next message, or `null` once the client has
 * nothing more to send (the exchange succeeded as far as the client can
 * tell). A step throws {@linkcode SaslMechanismError} when the server's bytes
 * are wrong (e.g. a SCRAM server signature that does not verify).
 */
export interface SaslSession {
  /** Kafka's name of the mechanism, e.g. `"SCRAM-SHA-256"`. */
  readonly mechanism: string;
  /** The next message to send, or null when done. */
  step(server: Uint8Array | null): Promise<Uint8Array | null>;
}

/**
 * The server's side of an exchange made no sense to the client, or proved
 * wrong. The message never contains a secret.
 */
export class SaslMechanismError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SaslMechanismError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s);
}

/** A string from UTF-8 bytes; invalid UTF-8 from the server is a mechanism error. */
export function fromUtf8(b: Uint8Array, what: string): string {
  try {
    return decoder.decode(b);
  } catch {
    throw new SaslMechanismError(`the broker's ${what} is not valid UTF-8`);
  }
}
