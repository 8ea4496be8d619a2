/**
 * The producer's own errors. Broker answers keep their typed
 * `KafkaProtocolError` (e.g. `OUT_OF_ORDER_SEQUENCE_NUMBER`,
 * `TOPIC_AUTHORIZATION_FAILED`).
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";

/**
 * Where a record went: its partition and offset.
 *
 * @example
 * ```ts
 * import type { Producer, RecordMetadata } from "@sluice/kafka";
 * async function write(producer: Producer): Promise<string> {
 *   const [m]: RecordMetadata[] = await producer.send([{ topic: "orders", value: "v" }]);
 *   return `${m.topic}/${m.partition}@${m.offset}`;
 * }
 * ```
 */
export interface RecordMetadata {
  /** Topic written to. */
  topic: string;
  /** Partition written to. */
  partition: number;
  /** Offset of the record; `-1n` with `acks: 0` (the broker does not answer). */
  offset: bigint;
  /** The record's timestamp: its create time, or the broker's append time on a LogAppendTime topic. */
  timestamp: number;
}

/**
 * Some records of a `send()` failed. `results` has one entry per record, in
 * the order given: its metadata, or the error that failed it. The others were
 * written (a `send()` is not atomic): retrying all of them writes those twice.
 *
 * @example
 * ```ts
 * import { ProduceError, type Producer } from "@sluice/kafka";
 * async function sendReporting(producer: Producer): Promise<void> {
 *   try {
 *     await producer.send([{ topic: "orders", value: "a" }, { topic: "orders", value: "b" }]);
 *   } catch (e) {
 *     if (!(e instanceof ProduceError)) throw e;
 *     for (const r of e.results) if (r instanceof Error) console.error(r.message);
 *   }
 * }
 * ```
 */
export class ProduceError extends KafkaError {
  /** Per record, in order: its metadata, or why it failed. */
  readonly results: (RecordMetadata | KafkaError)[];

  /** Builds the error from the per-record results. */
  constructor(results: (RecordMetadata | KafkaError)[]) {
    const failed = results.filter((r) => r instanceof Error) as KafkaError[];
    super(
      `${failed.length} of ${results.length} records failed (the others were written); ` +
        `first: ${failed[0]?.message}`,
      { cause: failed[0] },
    );
    this.results = results;
  }
}

/**
 * A record is too large to send: its batch alone exceeds `maxRequestSize`
 * or `bufferMemory`, or the broker refused it (`MESSAGE_TOO_LARGE`: the
 * topic's `max.message.bytes`). Only that record fails.
 *
 * @example
 * ```ts
 * import { RecordTooLargeError } from "@sluice/kafka";
 * const e = new RecordTooLargeError("orders", 2_000_000, 1_048_576, "maxRequestSize");
 * e.size; // 2000000
 * ```
 */
export class RecordTooLargeError extends KafkaError {
  /** The topic. */
  readonly topic: string;
  /** The record's size in a batch of its own, in bytes. */
  readonly size: number;
  /** The limit it exceeds, in bytes (-1 when the broker's, unknown here). */
  readonly limit: number;

  /** Builds the error; `limitName` says which limit. */
  constructor(topic: string, size: number, limit: number, limitName: string) {
    super(
      `A record for topic "${topic}" is ${size} bytes in a batch of its own, above ` +
        (limit >= 0 ? `${limitName} (${limit})` : limitName) +
        `: raise the limit or send smaller records`,
    );
    this.topic = topic;
    this.size = size;
    this.limit = limit;
  }
}

/**
 * A record could not be delivered within `deliveryTimeoutMs` (retries
 * included), or waited longer than `maxBlockMs` for its topic's metadata or
 * for buffer memory. `cause` holds the last error seen, if any.
 *
 * @example
 * ```ts
 * import { ProducerTimeoutError } from "@sluice/kafka";
 * const e = new ProducerTimeoutError('Topic "nope" is not in the metadata after 60000 ms');
 * e.message;
 * ```
 */
export class ProducerTimeoutError extends KafkaError {
  /** A timeout is worth retrying later: the cluster may recover. */
  override readonly retriable: boolean = true;

  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The producer was closed: a write after `close()`, or a record still
 * undelivered when `closeTimeoutMs` ran out.
 *
 * @example
 * ```ts
 * import { ProducerClosedError } from "@sluice/kafka";
 * new ProducerClosedError("The producer is closed").message;
 * ```
 */
export class ProducerClosedError extends KafkaError {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
  }
}
