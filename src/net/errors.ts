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
  /** The broker address, `host:port`. */
  readonly broker: string;
  /** Creates the error; `reason` says what the socket reported. */
  constructor(broker: string, reason: string, options?: ErrorOptions) {
    super(
      `Cannot reach broker ${broker}: ${reason}. Check that the address is right and the broker is up.`,
      options,
    );
    this.broker = broker;
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
  /** Creates the error from our and the broker's version ranges. */
  constructor(broker: string, api: string, ours: string, theirs: string) {
    super(
      `Broker ${broker} supports ${api} versions ${theirs}, this client speaks ${ours}: ` +
        `no common version. Kafka 3.x or later is required.`,
    );
    this.broker = broker;
    this.api = api;
  }
}
