/**
 * {@linkcode processConcurrently}: a sink that runs a handler on many
 * records at once while keeping commits safe — each partition is
 * acknowledged only up to its contiguous completed prefix, so a crash never
 * commits past a record whose handler had not finished.
 *
 * @module
 */

import type { KafkaRecord } from "../protocol/record.ts";
import { backoffMs, sleep } from "../util/async.ts";
import type { RecordBatch } from "./record_batch.ts";

/**
 * What a record's handler gets besides the record.
 *
 * @example
 * ```ts
 * import type { KafkaRecord, RecordContext } from "@sluice/kafka";
 * async function handle(record: KafkaRecord, { signal, attempt }: RecordContext): Promise<void> {
 *   if (attempt > 1) console.warn("retrying", record.offset);
 *   await fetch("https://example.com/hook", { method: "POST", signal });
 * }
 * ```
 */
export interface RecordContext {
  /** The batch that delivered the record. */
  batch: RecordBatch;
  /** Aborted when the record's partition is revoked or lost, or the sink stops. */
  signal: AbortSignal;
  /** 1 on the first try, then 2, 3, … on retries. */
  attempt: number;
}

/**
 * What to do with a record whose handler failed.
 *
 * @example
 * ```ts
 * import type { ErrorAction } from "@sluice/kafka";
 * const onError = (e: unknown): ErrorAction => e instanceof TypeError ? "skip" : "retry";
 * ```
 */
export type ErrorAction = "retry" | "skip" | "stop";

/**
 * Options of {@linkcode processConcurrently}.
 *
 * @example
 * ```ts
 * import type { ProcessConcurrentlyOptions } from "@sluice/kafka";
 * const options: ProcessConcurrentlyOptions = { concurrency: 64, order: "key", maxAttempts: 3 };
 * ```
 */
export interface ProcessConcurrentlyOptions {
  /**
   * Most handlers running at once.
   * @default {16}
   */
  concurrency?: number;
  /**
   * Most records accepted and not yet completed (running, or waiting for a
   * slot or behind their key); the sink stops taking batches while it is
   * reached, so the consumer stops being read (and `maxPollIntervalMs` still
   * catches a handler that hangs). Larger than `concurrency`, so that while
   * one partition's (or key's) records wait their turn, other partitions'
   * batches are read and run.
   * @default {max(256, 16 × concurrency)}
   */
  maxPending?: number;
  /**
   * Which records run one after the other: `"key"` the records of one key
   * of a partition (compared on the key's bytes; records without a key in
   * partition order), `"partition"` all records of a partition, `"none"` no
   * order at all.
   * @default {"key"}
   */
  order?: "key" | "partition" | "none";
  /**
   * Decides about a failed record: `"retry"` (with backoff, up to
   * `maxAttempts` tries, then `"stop"`), `"skip"` (counts as done: the
   * commit passes it), `"stop"` (the stream ends with the error at once;
   * other running handlers are aborted; what completed is acknowledged, the
   * rest is delivered again after a restart).
   * @default {() => "stop"}
   */
  onError?: (error: unknown, record: KafkaRecord, context: RecordContext) => ErrorAction;
  /** Tries per record with `"retry"`. @default {5} */
  maxAttempts?: number;
  /** Backoff between retries: first and largest delay, in ms. @default {{ initialMs: 100, maxMs: 5000 }} */
  retryBackoff?: { initialMs: number; maxMs: number };
}

/** One record's slot in its batch's completion tracking. */
class BatchProgress {
  readonly done: Uint8Array;
  /** Records completed from the start, contiguously. */
  prefix = 0;

  constructor(readonly batch: RecordBatch) {
    this.done = new Uint8Array(batch.records.length);
  }

  /** Marks record `i` done; acknowledges the batch up to its completed prefix. */
  complete(i: number): void {
    this.done[i] = 1;
    if (i !== this.prefix) return;
    while (this.prefix < this.done.length && this.done[this.prefix]) this.prefix++;
    if (this.prefix === this.done.length) this.batch.ack();
    else this.batch.ack(this.batch.records[this.prefix - 1]);
  }
}

/**
 * A sink for a Consumer's batches that runs `handler` on up to
 * `concurrency` records at a time, in the order `order` asks, and
 * acknowledges each partition only up to its contiguous completed prefix
 * (through `batch.ack(record)`): a crash, a revocation or a stop never
 * commits a record whose handler had not completed. Each handler gets an
 * AbortSignal aborted when its partition is revoked or lost, or the sink is
 * aborted. Pair it with the consumer's `maxBatchRecords` (e.g. 100): a
 * fetch brings up to a megabyte of one partition at a time, and small
 * batches let partitions take turns in the sink, so `order: "partition"`
 * runs every partition at once (`deno task bench:concurrent`).
 *
 * @param handler Called once per record (again on `"retry"`).
 * @param options Concurrency, order and error handling.
 * @returns A `WritableStream` of batches, for `consumer.readable.pipeTo(...)`.
 *
 * @example
 * ```ts
 * import { Consumer, processConcurrently } from "@sluice/kafka";
 * const consumer = new Consumer({
 *   brokers: "127.0.0.1:9092",
 *   groupId: "mailer",
 *   topics: ["signups"],
 *   maxBatchRecords: 100,
 * });
 * await consumer.readable.pipeTo(processConcurrently(async (record, { signal }) => {
 *   const body = new TextDecoder().decode(record.value ?? new Uint8Array());
 *   await fetch("https://mail.example/send", { method: "POST", body, signal });
 * }, { concurrency: 64, order: "key", onError: () => "retry" }));
 * ```
 */
export function processConcurrently(
  handler: (record: KafkaRecord, context: RecordContext) => unknown,
  options: ProcessConcurrentlyOptions = {},
): WritableStream<RecordBatch> {
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be an integer >= 1 (got ${concurrency})`);
  }
  const order = options.order ?? "key";
  if (order !== "key" && order !== "partition" && order !== "none") {
    throw new RangeError(`order must be "key", "partition" or "none" (got ${String(order)})`);
  }
  const maxPending = options.maxPending ?? Math.max(256, 16 * concurrency);
  if (!Number.isInteger(maxPending) || maxPending < 1) {
    throw new RangeError(`maxPending must be an integer >= 1 (got ${maxPending})`);
  }
  const onError = options.onError ?? (() => "stop" as const);
  const maxAttempts = options.maxAttempts ?? 5;
  const backoff = options.retryBackoff ?? { initialMs: 100, maxMs: 5000 };
  const stop = new AbortController();

  /** One record to run, and where its completion goes. */
  interface Job {
    record: KafkaRecord;
    index: number;
    progress: BatchProgress;
    key: string | null;
  }

  let controller: WritableStreamDefaultController | undefined;
  let running = 0;
  let pending = 0;
  let failure: { error: unknown } | null = null;
  let wakeWriter: (() => void) | null = null;
  let wakeIdle: (() => void) | null = null;
  /** Runnable jobs (the head of their key), first come first served. */
  const ready: Job[] = [];
  /** Per ordering key: the jobs waiting behind the one at the head. */
  const queues = new Map<string, Job[]>();

  const runOne = async ({ record, index, progress }: Job) => {
    const batch = progress.batch;
    const signal = AbortSignal.any([batch.signal, stop.signal]);
    for (let attempt = 1;; attempt++) {
      if (signal.aborted) return; // not done: delivered again from the commit
      const context = { batch, signal, attempt };
      try {
        await handler(record, context);
        // After a revocation the ack would be fenced anyway; after a stop
        // the record is not counted either way.
        if (!signal.aborted) progress.complete(index);
        return;
      } catch (e) {
        if (signal.aborted) return;
        let action = onError(e, record, context);
        if (action === "retry" && attempt >= maxAttempts) action = "stop";
        if (action === "skip") {
          progress.complete(index);
          return;
        }
        if (action === "stop") {
          if (failure === null) {
            failure = { error: e };
            // Ends the pipe now (the consumer is cancelled and commits what
            // was acknowledged); the other running handlers are aborted.
            controller?.error(e);
            stop.abort(e);
          }
          wakeWriter?.();
          return;
        }
        if (!(await sleep(backoffMs(attempt - 1, backoff), signal))) return;
      }
    }
  };

  /** Starts ready jobs while slots are free. */
  const pump = () => {
    while (running < concurrency && ready.length > 0) {
      const job = ready.shift()!;
      running++;
      runOne(job).finally(() => {
        running--;
        pending--;
        if (job.key !== null) {
          const next = queues.get(job.key)!.shift();
          if (next) ready.push(next);
          else queues.delete(job.key);
        }
        pump();
        wakeWriter?.();
        if (pending === 0) wakeIdle?.();
      });
    }
  };

  const keyOf = (batch: RecordBatch, record: KafkaRecord): string | null => {
    if (order === "none") return null;
    const tp = `${batch.topic}\u0000${batch.partition}`;
    if (order === "partition" || record.key === null) return tp;
    let k = "";
    for (const byte of record.key) k += String.fromCharCode(byte);
    return `${tp}\u0000${k}`;
  };

  const accept = (job: Job) => {
    pending++;
    if (job.key === null) ready.push(job);
    else {
      const waiting = queues.get(job.key);
      if (waiting) waiting.push(job);
      else {
        queues.set(job.key, []);
        ready.push(job);
      }
    }
    pump();
  };

  const throwIfFailed = () => {
    if (failure) throw failure.error;
  };

  return new WritableStream<RecordBatch>({
    start(c) {
      controller = c;
    },
    async write(batch) {
      const progress = new BatchProgress(batch);
      for (let i = 0; i < batch.records.length; i++) {
        while (pending >= maxPending && !failure) {
          await new Promise<void>((resolve) => (wakeWriter = resolve));
          wakeWriter = null;
        }
        throwIfFailed();
        const record = batch.records[i];
        accept({ record, index: i, progress, key: keyOf(batch, record) });
      }
      throwIfFailed();
    },
    async close() {
      while (pending > 0) {
        await new Promise<void>((resolve) => (wakeIdle = resolve));
        wakeIdle = null;
      }
      throwIfFailed();
    },
    abort(reason) {
      stop.abort(reason);
    },
  });
}
