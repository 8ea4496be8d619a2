/**
 * Errors of the network layer: connecting, timeouts, version negotiation.
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";

/**
 * A connection to a broker could not be made or was lost: refused, reset,
 * closed by the broker, or closed by us. `broker` is `host:port`.
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@sluice/kafka";
 * const e = new ConnectionError("127.0.0.1:9", "connection refused");
 * e.message.startsWith("Cannot reach broker 127.0.0.1:9"); // true
 * ```
 */
export class ConnectionError extends KafkaError {
  /** A new connection may succeed: the consumer retries with backoff. */
  override readonly retriable: boolean = true;
  /** The broker address, `host:port`. */
  readonly broker: string;
  /** What went wrong, without the advice (e.g. "connection refused"). */
  readonly reason: string;
  /** Creates the error; `reason` says what the socket reported. */
  constructor(broker: string, reason: string, options?: ErrorOptions) {
    super(
      `Cannot reach broker ${broker}: ${reason}. Check that the address is right and the broker is up.`,
      options,
    );
    this.broker = broker;
    this.reason = reason;
  }
}

/**
 * The broker at an address from metadata is not the node we meant to reach
 * (ApiVersions answered REBOOTSTRAP_REQUIRED, KIP-1242): the cluster behind
 * the address changed. The client forgets the brokers it learnt from
 * metadata and asks the bootstrap brokers again; a retriable
 * {@linkcode ConnectionError}.
 *
 * @example
 * ```ts
 * import { ConnectionError, RebootstrapRequiredError } from "@sluice/kafka";
 * const e = new RebootstrapRequiredError("127.0.0.1:9092", "it is not node 1 any more");
 * e instanceof ConnectionError; // true
 * ```
 */
export class RebootstrapRequiredError extends ConnectionError {
  /** Creates the error; `reason` says which node and cluster we expected. */
  constructor(broker: string, reason: string) {
    super(
      broker,
      `${reason} (REBOOTSTRAP_REQUIRED); metadata is fetched again from the bootstrap brokers`,
    );
  }
}

/**
 * A request got no response within its timeout (`requestTimeoutMs`).
 *
 * @example
 * ```ts
 * import { RequestTimeoutError } from "@sluice/kafka";
 * new RequestTimeoutError("127.0.0.1:9092", "Fetch", 30000).message;
 * ```
 */
export class RequestTimeoutError extends KafkaError {
  /** The request may be answered in time on a new connection. */
  override readonly retriable: boolean = true;
  /** The broker address, `host:port`. */
  readonly broker: string;
  /** Name of the API whose request timed out. */
  readonly api: string;
  /** Creates the error. */
  constructor(broker: string, api: string, timeoutMs: number) {
    super(
      `${api} request to broker ${broker} got no response within ${timeoutMs} ms; ` +
        `the broker may be overloaded or unreachable (raise requestTimeoutMs if it is just slow)`,
    );
    this.broker = broker;
    this.api = api;
  }
}

/**
 * The broker supports no version of an API that this client can speak.
 *
 * @example
 * ```ts
 * import { UnsupportedVersionError } from "@sluice/kafka";
 * new UnsupportedVersionError("127.0.0.1:9092", "Fetch", "4-18", "0-3").message;
 * ```
 */
export class UnsupportedVersionError extends KafkaError {
  /** The broker address, `host:port`. */
  readonly broker: string;
  /** Name of the API. */
  readonly api: string;
  /** Our version range of the API, e.g. "4-18". */
  readonly ours: string;
  /** The broker's version range of the API, or "none" when it does not offer it. */
  readonly theirs: string;
  /** Creates the error from our and the broker's version ranges. */
  constructor(broker: string, api: string, ours: string, theirs: string) {
    super(
      theirs === "none"
        ? `Broker ${broker} does not offer the ${api} API (this client speaks versions ${ours}). ` +
          `sluice needs Apache Kafka 3.9 or later (or a broker that implements ${api}).`
        : `Broker ${broker} supports ${api} versions ${theirs}, this client speaks ${ours}: ` +
          `no common version. sluice needs Apache Kafka 3.9 or later: upgrade the broker, ` +
          `or use a client that still speaks the older versions.`,
    );
    this.broker = broker;
    this.api = api;
    this.ours = ours;
    this.theirs = theirs;
  }
}

/**
 * SASL authentication with a broker failed: wrong credentials, a mechanism
 * the broker's listener does not enable, or a broker whose answers do not
 * verify (SCRAM's server signature). Not retriable: the consumer ends its
 * stream with it instead of reconnecting. The message never contains a
 * password or token.
 *
 * @example
 * ```ts
 * import { AuthenticationError } from "@sluice/kafka";
 * const e = new AuthenticationError("127.0.0.1:9093", "SCRAM-SHA-256", "invalid credentials");
 * e.mechanism; // "SCRAM-SHA-256"
 * e.retriable; // false
 * ```
 */
export class AuthenticationError extends KafkaError {
  /** The broker address, `host:port`. */
  readonly broker: string;
  /** The SASL mechanism, e.g. `"SCRAM-SHA-256"`. */
  readonly mechanism: string;
  /** Always false: the same credentials would fail again. */
  override readonly retriable: boolean = false;
  /** Creates the error; `reason` says what the broker (or the check) reported. */
  constructor(broker: string, mechanism: string, reason: string, options?: ErrorOptions) {
    super(
      `SASL ${mechanism} authentication with broker ${broker} failed: ${reason}. ` +
        `Check the sasl option (mechanism, user name, password or token) against the ` +
        `broker's listener.`,
      options,
    );
    this.broker = broker;
    this.mechanism = mechanism;
  }
}

/**
 * The TLS handshake with a broker failed in a way retrying cannot fix: its
 * certificate is not signed by a trusted CA, does not name the host we
 * connected to, or the broker refused our client certificate. Not
 * retriable: the consumer ends its stream with it.
 *
 * @example
 * ```ts
 * import { TlsError } from "@sluice/kafka";
 * const e = new TlsError("127.0.0.1:9093", "invalid peer certificate: UnknownIssuer");
 * e.message.includes("caCerts"); // true
 * ```
 */
export class TlsError extends KafkaError {
  /** The broker address, `host:port`. */
  readonly broker: string;
  /** Always false. */
  override readonly retriable: boolean = false;
  /** Creates the error from what the TLS layer reported. */
  constructor(broker: string, reason: string, options?: ErrorOptions) {
    super(`TLS with broker ${broker} failed: ${reason}. ${tlsHint(reason)}`, options);
    this.broker = broker;
  }
}

function tlsHint(reason: string): string {
  const r = reason.toLowerCase();
  if (r.includes("unknownissuer") || r.includes("unknown issuer") || r.includes("self-signed")) {
    return "The broker's certificate is not signed by a trusted CA: pass the CA's PEM in " +
      "tls.caCerts (or check that the address is the TLS listener you meant).";
  }
  if (r.includes("notvalidforname") || r.includes("not valid for name")) {
    return "The broker's certificate does not name this host: connect with a host name or " +
      "address in its subject alternative names (check the brokers option and the broker's " +
      "advertised.listeners).";
  }
  if (r.includes("expired") || r.includes("notvalidyet")) {
    return "The broker's certificate is outside its validity period: renew it, or check the clock.";
  }
  if (r.includes("certificaterequired") || r.includes("certificate required")) {
    return "The broker requires a client certificate: pass tls.cert and tls.key.";
  }
  if (r.includes("alert")) {
    return "The broker refused the handshake: check tls.cert and tls.key (signed by a CA the " +
      "broker trusts) and that this is a TLS listener.";
  }
  return "Check that this address is a TLS listener and that tls.caCerts holds its CA.";
}
