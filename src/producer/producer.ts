/**
 * The public {@linkcode Producer}: `send()` for records with their
 * outcomes, `writable` for streams, `sink()` for at-least-once pipelines
 * from a Consumer, `flush()` and `close()`.
 *
 * @module
 */

import { Cluster, type TopicInfo } from "../net/cluster.ts";
import { clusterOptions } from "../options/client.ts";
import { ErrorCode, errorInfo } from "../protocol/error_codes.ts";
import { KafkaError, KafkaProtocolError } from "../protocol/errors.ts";
import { backoffMs, delay, settlesBy } from "../util/async.ts";
import {
  BATCH_OVERHEAD,
  newOrder,
  normalizeRecord,
  type Outcomes,
  type ProducerRecord,
  RECORD_OVERHEAD,
  SendGroup,
} from "./batch.ts";
import {
  ProduceError,
  ProducerClosedError,
  ProducerTimeoutError,
  type RecordMetadata,
  RecordTooLargeError,
} from "./errors.ts";
import { keyPartition, StickyPartitioner } from "./partitioner.ts";
import {
  type ProducerOptions,
  type ResolvedProducerOptions,
  resolveProducerOptions,
} from "./options.ts";
import { Sender } from "./sender.ts";

/**
 * What a pipeline's `map` (see `Producer.sink`) returns for one consumed
 * batch: the records to write, or a promise of them.
 *
 * @example
 * ```ts
 * import type { RecordBatch, SinkOutput } from "@sluice/kafka";
 * const map = (batch: RecordBatch): SinkOutput =>
 *   batch.records.map((r) => ({ topic: "copy", key: r.key, value: r.value }));
 * ```
 */
export type SinkOutput = ProducerRecord[] | Promise<ProducerRecord[]>;

/**
 * A Kafka producer. Records are batched per partition (`lingerMs`,
 * `batchSize`), compressed, and written idempotently by default: retries
 * after a lost answer write nothing twice, and order holds per partition,
 * across `send()` and `writable`, in call order.
 *
 * @example
 * ```ts
 * import { Producer } from "@sluice/kafka";
 * await using producer = new Producer({ brokers: "127.0.0.1:9092" });
 * const [meta] = await producer.send([{ topic: "orders", key: "c-17", value: "hello" }]);
 * console.log(meta.partition, meta.offset);
 * ```
 */
export class Producer {
  /**
   * A stream of records to write: a write resolves once the record is
   * buffered (waiting while `bufferMemory` is used up: backpressure), and a
   * record that fails to be delivered errors the stream. Closing the
   * stream flushes (it does not close the producer).
   *
   * @example
   * ```ts
   * import { Producer, type ProducerRecord } from "@sluice/kafka";
   * const producer = new Producer({ brokers: "127.0.0.1:9092" });
   * const records = ReadableStream.from<ProducerRecord>([
   *   { topic: "events", value: "a" },
   *   { topic: "events", value: "b" },
   * ]);
   * await records.pipeTo(producer.writable);
   * await producer.close();
   * ```
   */
  readonly writable: WritableStream<ProducerRecord>;

  readonly #o: ResolvedProducerOptions;
  readonly #cluster: Cluster;
  readonly #sender: Sender;
  readonly #sticky: StickyPartitioner;
  readonly #stop = new AbortController();
  #used = 0;
  #memoryWaiters: (() => void)[] = [];
  /** Appends that had to wait; later ones queue behind them (order). */
  #waiting = 0;
  #tail: Promise<void> = Promise.resolve();
  #metadataRefresh = new Map<string, Promise<void>>();
  #lastStaleRefresh = 0;
  #metadataTimer: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | null = null;
  /** Past close()'s flush: nothing more is sent. */
  #closed = false;
  #writableController: WritableStreamDefaultController | undefined;
  /** The first record of `writable` that failed: the stream's error. */
  #streamError: Error | undefined;
  readonly #streamOutcomes: Outcomes = {
    wantsMetadata: false,
    set: (_index, outcome) => {
      if (!(outcome instanceof Error)) return;
      this.#streamError ??= outcome;
      this.#writableController?.error(outcome);
    },
  };

  /**
   * Creates the producer. Nothing connects until the first record.
   *
   * @throws {ConfigError} when an option is wrong or unknown.
   */
  constructor(options: ProducerOptions) {
    const o = resolveProducerOptions(options);
    this.#o = o;
    this.#cluster = new Cluster(clusterOptions(o, this.#stop.signal));
    this.#sticky = new StickyPartitioner(o.batchSize);
    this.#sender = new Sender(this.#cluster, o, {
      released: (b) => this.#release(b.held),
      staleMetadata: (topics) => this.#refreshStale(topics),
    });
    this.writable = new WritableStream<ProducerRecord>({
      start: (controller) => {
        this.#writableController = controller;
      },
      // One Outcomes for the whole stream: a delivered record costs no
      // object, a failed one errors the stream.
      // A record refused before it was buffered (no metadata or memory
      // within maxBlockMs) rejects its own write, not only later ones.
      write: async (record) => {
        await this.#enqueue([record], this.#streamOutcomes);
        if (this.#streamError !== undefined) throw this.#streamError;
      },
      close: () => this.flush(),
    });
    if (o.signal) {
      if (o.signal.aborted) void this.close();
      else o.signal.addEventListener("abort", () => void this.close(), { once: true });
    }
  }

  /**
   * Writes records and resolves with where each went, in the order given,
   * once all are acknowledged (per `acks`). If some fail, rejects with a
   * {@linkcode ProduceError} whose `results` holds each record's metadata or
   * error: the others were written.
   *
   * @example
   * ```ts
   * import { Producer } from "@sluice/kafka";
   * await using producer = new Producer({ brokers: "127.0.0.1:9092", lingerMs: 0 });
   * const metas = await producer.send([
   *   { topic: "orders", key: "c-1", value: JSON.stringify({ total: 10 }) },
   *   { topic: "orders", key: "c-1", value: null }, // a tombstone
   * ]);
   * metas[1].offset > metas[0].offset; // same key, same partition, in order
   * ```
   */
  send(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    return new Promise((resolve, reject) => {
      if (!Array.isArray(records)) {
        reject(new TypeError("send() takes an array of records"));
        return;
      }
      this.#enqueue(records, (group) => {
        if (group.failed) {
          reject(new ProduceError(group.results as (RecordMetadata | KafkaError)[]));
        } else resolve(group.results as RecordMetadata[]);
      }).catch(reject);
    });
  }

  /**
   * A sink for at-least-once pipelines: each source batch (a Consumer's
   * `RecordBatch`, or anything with `ack()`) is mapped to records, which are
   * sent; the source batch is acknowledged only once all its records are
   * acknowledged by the brokers, so its offsets are committed only then. A
   * record that fails errors the sink (the pipe then cancels the consumer,
   * which commits nothing past what was acknowledged): after a crash of
   * either side, every input's output is written at least once.
   *
   * A write resolves once the mapped records are buffered, so the next batch
   * is read while these are in flight; acknowledgements happen in the
   * background, in any order (the consumer commits the acknowledged prefix).
   *
   * @example
   * ```ts
   * import { Consumer, Producer } from "@sluice/kafka";
   * const consumer = new Consumer({ brokers: "127.0.0.1:9092", groupId: "upper", topics: ["in"] });
   * const producer = new Producer({ brokers: "127.0.0.1:9092" });
   * await consumer.readable.pipeTo(producer.sink((batch) =>
   *   batch.records.map((r) => ({
   *     topic: "out",
   *     key: r.key,
   *     value: new TextDecoder().decode(r.value ?? new Uint8Array()).toUpperCase(),
   *   }))
   * ));
   * ```
   */
  sink<T extends { ack(): unknown }>(map: (batch: T) => SinkOutput): WritableStream<T> {
    let controller: WritableStreamDefaultController;
    return new WritableStream<T>({
      start: (c) => {
        controller = c;
      },
      write: async (batch) => {
        const records = await map(batch);
        await this.#enqueue(records, (group) => {
          const failed = group.results.find((r) => r instanceof Error);
          if (failed) controller.error(failed);
          else batch.ack();
        });
      },
      close: () => this.flush(),
    });
  }

  /**
   * Sends everything buffered now, without waiting for `lingerMs`, and
   * resolves once each of those records has its outcome (failures are
   * reported where the records were given: `send()`, `writable`).
   *
   * @example
   * ```ts
   * import { Producer } from "@sluice/kafka";
   * const producer = new Producer({ brokers: "127.0.0.1:9092", lingerMs: 1000 });
   * void producer.send([{ topic: "metrics", value: "cpu=0.5" }]);
   * await producer.flush(); // sent now, not in a second
   * await producer.close();
   * ```
   */
  async flush(): Promise<void> {
    await this.#tail;
    const end = this.#sender.flushing();
    // Batches split after a MESSAGE_TOO_LARGE sort before `until` too.
    const until = newOrder();
    try {
      for (;;) {
        const left = this.#sender.unfinished().filter((b) => b.order < until);
        if (left.length === 0) break;
        await Promise.all(left.map((b) => b.done));
      }
    } finally {
      end();
    }
  }

  /**
   * Stops taking records, delivers what is buffered within
   * `closeTimeoutMs` (what is left then fails with a
   * {@linkcode ProducerClosedError}) and closes the connections. Idempotent.
   *
   * @example
   * ```ts
   * import { Producer } from "@sluice/kafka";
   * const producer = new Producer({ brokers: "127.0.0.1:9092" });
   * void producer.send([{ topic: "audit", value: "bye" }]);
   * await producer.close(); // the record is written first
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /**
   * The same as {@linkcode close}, for `await using`.
   *
   * @example
   * ```ts
   * import { Producer } from "@sluice/kafka";
   * {
   *   await using producer = new Producer({ brokers: "127.0.0.1:9092" });
   *   void producer.send([{ topic: "t", value: "v" }]);
   * } // delivered and closed here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#o.closeTimeoutMs);
    try {
      await Promise.race([
        this.flush(),
        new Promise((resolve) => timeout.signal.addEventListener("abort", resolve)),
      ]);
    } finally {
      clearTimeout(timer);
    }
    const left = this.#sender.unfinished().length;
    this.#closed = true;
    this.#sender.close(
      new ProducerClosedError(
        `The producer was closed before this record was delivered (closeTimeoutMs ` +
          `${this.#o.closeTimeoutMs} ms ran out)`,
      ),
    );
    if (left > 0) {
      this.#o.logger.warn("producer closed with undelivered records", { batches: left });
    }
    clearInterval(this.#metadataTimer);
    for (const w of this.#memoryWaiters.splice(0)) w();
    this.#stop.abort();
    await this.#cluster.close();
  }

  // -------------------------------------------------------------------------
  // Appending records, in call order

  /** Appends records in order (behind earlier appends that had to wait). */
  #enqueue(
    records: readonly ProducerRecord[],
    done: ((group: SendGroup) => void) | Outcomes,
  ): Promise<void> {
    if (this.#closing) {
      return Promise.reject(
        new ProducerClosedError("The producer is closed: no record can be sent after close()"),
      );
    }
    const group = typeof done === "function" ? new SendGroup(records.length, done) : done;
    const deadline = Date.now() + this.#o.maxBlockMs;
    const run = () => this.#appendFrom(records, 0, group, deadline);
    if (this.#waiting === 0) {
      const pending = run();
      if (pending === undefined) return Promise.resolve();
      return this.#queue(pending);
    }
    return this.#queue(this.#tail.then(run));
  }

  #queue(p: Promise<void>): Promise<void> {
    this.#waiting++;
    const tracked = p.finally(() => this.#waiting--);
    this.#tail = tracked.catch(() => {});
    return tracked;
  }

  /** Appends records from `i` on; a promise when one has to wait (metadata, memory). */
  #appendFrom(
    records: readonly ProducerRecord[],
    i: number,
    group: Outcomes,
    deadline: number,
  ): Promise<void> | undefined {
    const now = Date.now();
    for (; i < records.length; i++) {
      const wait = this.#appendOne(records[i], i, group, now, deadline);
      if (wait !== undefined) {
        // Try the record again once the wait is over; a failed wait fails
        // the record alone and the rest go on.
        return wait.then(
          () => this.#appendFrom(records, i, group, deadline),
          (e) => {
            group.set(i, e instanceof KafkaError ? e : new KafkaError(String(e), { cause: e }));
            return this.#appendFrom(records, i + 1, group, deadline);
          },
        );
      }
    }
    this.#sender.wake();
    return undefined;
  }

  /** Appends one record, or says what to wait for first. */
  #appendOne(
    r: ProducerRecord,
    index: number,
    group: Outcomes,
    now: number,
    deadline: number,
  ): Promise<void> | undefined {
    // A record given before close() is still delivered (close() flushes
    // what waits for metadata or memory too), unless closeTimeoutMs ran out.
    if (this.#closed) {
      group.set(
        index,
        new ProducerClosedError("The producer was closed before this record was sent"),
      );
      return undefined;
    }
    let normalized;
    try {
      normalized = normalizeRecord(r, now);
    } catch (e) {
      group.set(index, new KafkaError(`Invalid record: ${(e as Error).message}`, { cause: e }));
      return undefined;
    }
    const record = normalized;
    const size = record.size;
    const topic = this.#cluster.topics.get(r.topic);
    if (topic === undefined || topic.errorCode !== 0 || topic.partitions.size === 0) {
      return this.#awaitTopic(r.topic, deadline);
    }
    const whole = size + BATCH_OVERHEAD;
    if (whole > this.#o.maxRequestSize || whole > this.#o.bufferMemory) {
      const limit = whole > this.#o.maxRequestSize ? "maxRequestSize" : "bufferMemory";
      group.set(index, new RecordTooLargeError(r.topic, whole, this.#o[limit], limit));
      return undefined;
    }
    const count = topic.partitions.size;
    let partition: number;
    if (r.partition !== undefined) {
      if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= count) {
        group.set(
          index,
          KafkaProtocolError.from(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
            apiName: "Produce",
            topic: r.topic,
            partition: r.partition,
            errorMessage: `topic "${r.topic}" has ${count} partitions`,
          }),
        );
        return undefined;
      }
      partition = r.partition;
    } else if (record.key) {
      partition = keyPartition(record.key, count);
    } else {
      partition = this.#sticky.partition(r.topic, size, this.#withLeader(topic));
    }
    // The estimate is an upper bound; what is held is the encoded size.
    if (this.#used + size > this.#o.bufferMemory) return this.#awaitMemory(deadline, r.topic);
    const batch = this.#sender.openBatch(r.topic, partition, size, now);
    this.#used += batch.add(record, group, index) + RECORD_OVERHEAD;
    this.#sender.filled(batch);
    return undefined;
  }

  /**
   * The partitions of `topic` with a leader (all of them when none has
   * one), computed once per metadata answer rather than per record.
   */
  #withLeader(topic: TopicInfo): readonly number[] {
    let list = this.#leaderCache.get(topic);
    if (list === undefined) {
      const led = [...topic.partitions.values()].filter((p) => p.leader >= 0).map((p) =>
        p.partition
      );
      list = led.length > 0 ? led : [...topic.partitions.keys()];
      this.#leaderCache.set(topic, list);
    }
    return list;
  }

  readonly #leaderCache = new WeakMap<TopicInfo, readonly number[]>();

  #release(bytes: number): void {
    this.#used -= bytes;
    const waiters = this.#memoryWaiters.splice(0);
    for (const w of waiters) w();
  }

  #awaitMemory(deadline: number, topic: string): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) {
      return Promise.reject(
        new ProducerTimeoutError(
          `No buffer memory for a record to "${topic}" within maxBlockMs (${this.#o.maxBlockMs} ms): ` +
            `bufferMemory (${this.#o.bufferMemory} bytes) is held by records not yet delivered`,
        ),
      );
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      this.#memoryWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // -------------------------------------------------------------------------
  // Metadata

  /** Waits until metadata knows `topic`, up to `deadline`. */
  async #awaitTopic(topic: string, deadline: number): Promise<void> {
    this.#startMetadataTimer();
    let last: unknown;
    // No metadata request was answered before the deadline: no broker
    // reached yet (bootstrap retries for bootstrapTimeoutMs, which may be
    // longer than maxBlockMs), rather than a topic the cluster lacks.
    let unanswered = true;
    for (let attempt = 0;; attempt++) {
      try {
        if (!(await settlesBy(this.#refresh([topic]), deadline))) {
          if (unanswered) last ??= this.#cluster.bootstrapFailure ?? undefined;
          break;
        }
        unanswered = false;
        const t = this.#cluster.topics.get(topic);
        if (t && t.errorCode === 0 && t.partitions.size > 0) return;
        if (t && t.errorCode !== 0) {
          const info = errorInfo(t.errorCode);
          last = KafkaProtocolError.from(t.errorCode, { apiName: "Metadata", topic });
          if (!info.retriable) throw last;
        }
      } catch (e) {
        if (e instanceof KafkaError && !e.retriable) throw e;
        last = e;
      }
      const left = deadline - Date.now();
      if (this.#closed || left <= 0) break;
      // The last look happens at the deadline.
      await delay(Math.min(backoffMs(attempt, this.#o.retryBackoff), left), this.#stop.signal)
        .catch(() => {});
    }
    const lastSaid = last instanceof Error ? `; last: ${last.message}` : "";
    throw new ProducerTimeoutError(
      unanswered
        ? `No metadata for topic "${topic}" within maxBlockMs (${this.#o.maxBlockMs} ms): no ` +
          `broker answered yet` + (lastSaid || ". Check that the brokers are reachable")
        : `Topic "${topic}" is not in the metadata after maxBlockMs (${this.#o.maxBlockMs} ms)` +
          `${lastSaid}: create the topic, or check its name`,
      { cause: last },
    );
  }

  /** One metadata refresh per topic set at a time. */
  #refresh(topics: string[]): Promise<void> {
    const key = topics.join(",");
    let p = this.#metadataRefresh.get(key);
    if (p === undefined) {
      p = this.#cluster.refreshMetadata(topics).then(() => {}).finally(() =>
        this.#metadataRefresh.delete(key)
      );
      this.#metadataRefresh.set(key, p);
    }
    return p;
  }

  /** A leader moved: refresh, at most once per `retryBackoffMs`. */
  #refreshStale(topics: string[]): void {
    const now = Date.now();
    if (now - this.#lastStaleRefresh < this.#o.retryBackoffMs) return;
    this.#lastStaleRefresh = now;
    this.#refresh(topics).then(() => this.#sender.wake(), (e) => {
      this.#o.logger.warn("metadata refresh failed", { topics: topics.join(","), error: e });
    });
  }

  #startMetadataTimer(): void {
    if (this.#metadataTimer !== undefined) return;
    this.#metadataTimer = setInterval(() => {
      const topics = [...this.#cluster.topics.keys()];
      if (topics.length === 0) return;
      this.#refresh(topics).catch((e) =>
        this.#o.logger.warn("periodic metadata refresh failed", { error: e })
      );
    }, this.#o.metadataMaxAgeMs);
    Deno.unrefTimer?.(this.#metadataTimer as unknown as number);
  }
}
