/**
 * The events of Kafka's verifiable tools, as the chaos harness reads them:
 * the consumer protocol of `VerifiableConsumer` (spoken by Kafka's Java tool
 * and by `examples/verifiable_consumer.ts`) and the acknowledgements of
 * `VerifiableProducer`. Parsing is strict about the fields the checks use,
 * so a tool that prints a malformed event is caught, not silently ignored.
 *
 * @module
 */

/** A partition of the topic under test (one topic per run). */
export interface Partition {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
}

/** One partition's summary inside `records_consumed`. */
export interface ConsumedRange extends Partition {
  /** Records of this partition in the poll. */
  count: number;
  /** Offset of the first record. */
  minOffset: number;
  /** Offset of the last record. */
  maxOffset: number;
}

/** One partition's committed offset inside `offsets_committed`. */
export interface CommittedOffset extends Partition {
  /** The next offset to consume. */
  offset: number;
}

/** The events a verifiable consumer prints, one JSON object per line. */
export type ConsumerEvent =
  | { name: "startup_complete"; timestamp: number }
  | { name: "shutdown_complete"; timestamp: number }
  | { name: "partitions_assigned"; timestamp: number; partitions: Partition[] }
  | { name: "partitions_revoked"; timestamp: number; partitions: Partition[] }
  | { name: "records_consumed"; timestamp: number; count: number; partitions: ConsumedRange[] }
  | {
    name: "record_data";
    timestamp: number;
    topic: string;
    partition: number;
    offset: number;
    key: string | null;
    value: string | null;
  }
  | {
    name: "offsets_committed";
    timestamp: number;
    offsets: CommittedOffset[];
    success: boolean;
    error?: string;
  };

/** A record the verifiable producer had acknowledged (`producer_send_success`). */
export interface ProducerAck {
  /** When the ack was printed (ms). */
  timestamp: number;
  /** Partition written. */
  partition: number;
  /** Offset given by the broker. */
  offset: number;
}

/** A line that looked like an event but was not a valid one. */
export class MalformedEventError extends Error {
  /** Builds the error naming the line and what is wrong with it. */
  constructor(line: string, reason: string) {
    super(`malformed verifiable-consumer event (${reason}): ${line.slice(0, 300)}`);
    this.name = "MalformedEventError";
  }
}

type Json = Record<string, unknown>;

function int(o: Json, field: string, line: string): number {
  const v = o[field];
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new MalformedEventError(line, `"${field}" must be an integer`);
  }
  return v;
}

function str(o: Json, field: string, line: string): string {
  const v = o[field];
  if (typeof v !== "string") throw new MalformedEventError(line, `"${field}" must be a string`);
  return v;
}

function list(o: Json, field: string, line: string): Json[] {
  const v = o[field];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "object" || x === null)) {
    throw new MalformedEventError(line, `"${field}" must be an array of objects`);
  }
  return v as Json[];
}

function partitions(o: Json, line: string): Partition[] {
  return list(o, "partitions", line).map((p) => ({
    topic: str(p, "topic", line),
    partition: int(p, "partition", line),
  }));
}

/**
 * Parses one stdout line of a verifiable consumer. Returns null for lines
 * that are not JSON objects (Kafka's tools may print a stray log line) and
 * for event names outside the protocol; throws {@linkcode MalformedEventError}
 * for a known event with missing or mistyped fields.
 *
 * @example
 * ```ts
 * import { parseConsumerLine } from "./events.ts";
 * const e = parseConsumerLine('{"timestamp":1,"name":"startup_complete"}');
 * console.log(e?.name); // "startup_complete"
 * ```
 */
export function parseConsumerLine(line: string): ConsumerEvent | null {
  const text = line.trim();
  if (!text.startsWith("{")) return null;
  let o: Json;
  try {
    o = JSON.parse(text) as Json;
  } catch {
    return null;
  }
  const timestamp = int(o, "timestamp", text);
  const name = o.name;
  switch (name) {
    case "startup_complete":
    case "shutdown_complete":
      return { name, timestamp };
    case "partitions_assigned":
    case "partitions_revoked":
      return { name, timestamp, partitions: partitions(o, text) };
    case "records_consumed": {
      const ranges = list(o, "partitions", text).map((p) => {
        const r = {
          topic: str(p, "topic", text),
          partition: int(p, "partition", text),
          count: int(p, "count", text),
          minOffset: int(p, "minOffset", text),
          maxOffset: int(p, "maxOffset", text),
        };
        if (r.count < 1 || r.maxOffset < r.minOffset || r.maxOffset - r.minOffset + 1 < r.count) {
          throw new MalformedEventError(
            text,
            `range ${r.minOffset}..${r.maxOffset} cannot hold ${r.count} records`,
          );
        }
        return r;
      });
      return { name, timestamp, count: int(o, "count", text), partitions: ranges };
    }
    case "record_data":
      return {
        name,
        timestamp,
        topic: str(o, "topic", text),
        partition: int(o, "partition", text),
        offset: int(o, "offset", text),
        key: o.key === null ? null : str(o, "key", text),
        value: o.value === null ? null : str(o, "value", text),
      };
    case "offsets_committed": {
      if (typeof o.success !== "boolean") {
        throw new MalformedEventError(text, `"success" must be true or false`);
      }
      const offsets = list(o, "offsets", text).map((p) => ({
        topic: str(p, "topic", text),
        partition: int(p, "partition", text),
        offset: int(p, "offset", text),
      }));
      const event: ConsumerEvent = { name, timestamp, offsets, success: o.success };
      if (o.error !== undefined && o.error !== null) event.error = String(o.error);
      return event;
    }
    default:
      return null;
  }
}

/** Parses a `producer_send_success` line of Kafka's verifiable producer; null for others. */
export function parseProducerLine(line: string): ProducerAck | null {
  const text = line.trim();
  if (!text.startsWith("{")) return null;
  let o: Json;
  try {
    o = JSON.parse(text) as Json;
  } catch {
    return null;
  }
  if (o.name !== "producer_send_success") return null;
  return {
    timestamp: int(o, "timestamp", text),
    partition: int(o, "partition", text),
    offset: int(o, "offset", text),
  };
}
