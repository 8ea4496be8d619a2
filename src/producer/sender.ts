/**
 * The producer's send side: per-partition queues of batches, the drain that
 * groups ready batches by leader into Produce requests, the answers
 * (success, retry, failure), and idempotence (producer id, sequence numbers,
 * the epoch bump after a gap).
 *
 * Order per partition: batches go out in creation order, up to
 * `maxInFlightRequestsPerConnection` pipelined on one connection to the
 * leader. When one must be retried, nothing new goes to that partition until
 * every batch in flight has answered; then the failed ones go again, in order,
 * with their sequence numbers (a broker that already has one answers it as a
 * duplicate, with its original offset).
 *
 * A gap (a sequenced batch failed for good, or the broker forgot the
 * producer) would make every later batch OUT_OF_ORDER_SEQUENCE_NUMBER. Then,
 * as Java's producer: no new batches anywhere, wait until nothing is in
 * flight, ask for a new epoch (InitProducerId with the current id and epoch;
 * Kafka 4.x answers with a new producer id at epoch 0, which serves the same),
 * start every partition's sequence at 0 again and send what is waiting.
 *
 * @module
 */

import { ErrorCode, errorInfo } from "../protocol/error_codes.ts";
import { KafkaError, KafkaProtocolError } from "../protocol/errors.ts";
import { InitProducerIdApi } from "../protocol/messages/init_producer_id.ts";
import { ProduceApi, type ProduceRequest } from "../protocol/messages/produce.ts";
import type { Cluster } from "../net/cluster.ts";
import { ConnectionError } from "../net/errors.ts";
import { backoffMs } from "../util/async.ts";
import { partitionKey } from "../util/partitions.ts";
import { BATCH_OVERHEAD, ProducerBatch } from "./batch.ts";
import { ProducerTimeoutError, type RecordMetadata, RecordTooLargeError } from "./errors.ts";
import type { ResolvedProducerOptions } from "./options.ts";

const INT32_MAX = 2 ** 31 - 1;

/** Kafka's sequence arithmetic: after 2^31 - 1 comes 0. */
function addSequence(seq: number, n: number): number {
  return seq > INT32_MAX - n ? n - (INT32_MAX - seq) - 1 : seq + n;
}

/**
 * A written record's {@linkcode RecordMetadata}, made per record at the
 * answer: the offset (a bigint) is computed when read, not for every record.
 */
class Written implements RecordMetadata {
  readonly #batch: ProducerBatch;
  readonly #baseOffset: bigint;
  readonly #appendTime: number;
  readonly #index: number;

  constructor(batch: ProducerBatch, baseOffset: bigint, appendTime: number, index: number) {
    this.#batch = batch;
    this.#baseOffset = baseOffset;
    this.#appendTime = appendTime;
    this.#index = index;
  }

  get topic(): string {
    return this.#batch.topic;
  }

  get partition(): number {
    return this.#batch.partition;
  }

  get offset(): bigint {
    return this.#baseOffset >= 0n ? this.#baseOffset + BigInt(this.#index) : -1n;
  }

  get timestamp(): number {
    return this.#appendTime >= 0 ? this.#appendTime : this.#batch.timestamps[this.#index];
  }

  toJSON(): object {
    return { ...this.#plain(), offset: String(this.offset) };
  }

  [Symbol.for("Deno.customInspect")](): object {
    return this.#plain();
  }

  #plain(): RecordMetadata {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.offset,
      timestamp: this.timestamp,
    };
  }
}

/** One partition's batches: waiting, in flight, to retry. */
class PartitionQueue {
  /** Not yet sent, oldest first; the last may still take records. */
  readonly queue: ProducerBatch[] = [];
  /** Sent, not answered, in send order. */
  readonly inFlight: ProducerBatch[] = [];
  /** Answered with a retriable error, in creation order. */
  readonly retry: ProducerBatch[] = [];
  /** The broker the in-flight batches went to. */
  inFlightNode = -1;
  /** Sequence of the next new batch. */
  nextSequence = 0;
  /** Sequence after the last acknowledged batch: the broker's expectation. */
  ackedSequence = 0;
  /** A sequenced batch failed for good: later ones wait for the epoch bump. */
  gap = false;
  /**
   * The broker acknowledged a batch of this epoch here. Until then one batch
   * at a time: a broker takes any first sequence from a producer it has no
   * state for, so a second batch could be appended before a first that
   * failed (NOT_LEADER on a new topic), out of order.
   */
  established = false;

  constructor(readonly topic: string, readonly partition: number) {}
}

/** What the sender needs from the producer. */
export interface SenderHooks {
  /** A batch finished (delivered or failed): its memory is free. */
  released(batch: ProducerBatch): void;
  /** Metadata of these topics is stale (a leader moved). */
  staleMetadata(topics: string[]): void;
}

/** Batches per partition and their journey to the brokers. */
export class Sender {
  readonly #cluster: Cluster;
  readonly #o: ResolvedProducerOptions;
  readonly #hooks: SenderHooks;
  readonly #queues = new Map<string, PartitionQueue>();
  readonly #nodeInFlight = new Map<number, number>();
  #producerId = -1n;
  #producerEpoch = -1;
  #idRequest: Promise<void> | null = null;
  #bumpPending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #scheduled = false;
  #flushing = 0;
  #closed = false;
  /** The error that stops everything (e.g. no producer id can be had). */
  #fatal: KafkaError | null = null;

  constructor(cluster: Cluster, options: ResolvedProducerOptions, hooks: SenderHooks) {
    this.#cluster = cluster;
    this.#o = options;
    this.#hooks = hooks;
  }

  /** The batch records for `topic`/`partition` go into now (a new one when full). */
  openBatch(topic: string, partition: number, size: number, now: number): ProducerBatch {
    const key = partitionKey(topic, partition);
    let pq = this.#queues.get(key);
    if (pq === undefined) {
      pq = new PartitionQueue(topic, partition);
      this.#queues.set(key, pq);
    }
    let batch = pq.queue.at(-1);
    if (
      batch === undefined || batch.closed ||
      (batch.count > 0 && batch.bytes + size > this.#o.batchSize)
    ) {
      if (batch !== undefined && !batch.closed) {
        batch.closed = true;
        this.wake();
      }
      // Uncompressed batches are assembled around their records in place;
      // a first buffer of a batch's size saves regrowing.
      batch = new ProducerBatch(
        topic,
        partition,
        now,
        this.#o.compression === 0,
        Math.min(Math.max(size, this.#o.batchSize), 1 << 20),
      );
      pq.queue.push(batch);
      if (pq.queue.length === 1) this.#scheduleAt(now + this.#o.lingerMs);
    }
    return batch;
  }

  /** A batch that reached `batchSize` goes without waiting for the linger. */
  filled(batch: ProducerBatch): void {
    if (batch.bytes >= this.#o.batchSize) {
      batch.closed = true;
      this.wake();
    }
  }

  /** Sends everything buffered without waiting for the linger, until `end()` is called. */
  flushing(): () => void {
    this.#flushing++;
    this.wake();
    let ended = false;
    return () => {
      if (!ended) this.#flushing--;
      ended = true;
    };
  }

  /** Runs the drain soon (once per turn of the event loop). */
  wake(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  /** Every batch not yet finished. */
  unfinished(): ProducerBatch[] {
    const out: ProducerBatch[] = [];
    for (const pq of this.#queues.values()) {
      out.push(...pq.inFlight, ...pq.retry, ...pq.queue);
    }
    return out.filter((b) => !b.finished);
  }

  /** Stops sending; unfinished batches fail with `error`. */
  close(error: KafkaError): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const b of this.unfinished()) this.#fail(b, error);
  }

  #scheduleAt(at: number): void {
    if (this.#closed || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timerAt = Infinity;
      this.#drain();
    }, Math.max(0, at - Date.now()));
  }

  #drain(): void {
    if (this.#closed) return;
    if (this.#fatal) {
      for (const b of this.unfinished()) this.#fail(b, this.#fatal);
      return;
    }
    const now = Date.now();
    this.#expire(now);
    if (this.#o.idempotent && (this.#producerId < 0n || this.#bumpPending)) {
      if (this.#producerId < 0n || this.#quiet()) this.#requestProducerId();
      if (this.#producerId < 0n) return;
    }
    let next = Infinity;
    const stale = new Set<string>();
    // Requests per node, built round by round so a partition can have
    // several batches pipelined (one per request).
    for (let round = 0; round < this.#o.maxInFlightRequestsPerConnection; round++) {
      const requests = new Map<number, { size: number; batches: ProducerBatch[] }>();
      for (const pq of this.#queues.values()) {
        const pick = this.#sendable(pq, now, stale);
        if (typeof pick === "number") {
          next = Math.min(next, pick);
          continue;
        }
        if (pick === null) continue;
        const { batch, node } = pick;
        if ((this.#nodeInFlight.get(node) ?? 0) >= this.#o.maxInFlightRequestsPerConnection) {
          continue;
        }
        let req = requests.get(node);
        const bytes = this.#encode(pq, batch).length;
        if (req !== undefined && req.size + bytes > this.#o.maxRequestSize) continue;
        if (req === undefined) requests.set(node, req = { size: 0, batches: [] });
        req.size += bytes;
        req.batches.push(batch);
        this.#takeForSend(pq, batch, node);
      }
      if (requests.size === 0) break;
      for (const [node, req] of requests) void this.#send(node, req.batches);
    }
    if (stale.size > 0) this.#hooks.staleMetadata([...stale]);
    if (next < Infinity) this.#scheduleAt(next);
  }

  /**
   * The batch of `pq` to send now and where, null when nothing, or the time
   * to look again (linger, retry backoff).
   */
  #sendable(
    pq: PartitionQueue,
    now: number,
    stale: Set<string>,
  ): { batch: ProducerBatch; node: number } | null | number {
    const limit = pq.established || !this.#o.idempotent
      ? this.#o.maxInFlightRequestsPerConnection
      : 1;
    if (pq.inFlight.length >= limit) return null;
    if (pq.gap && this.#bumpPending) return null;
    let batch: ProducerBatch | undefined;
    if (pq.retry.length > 0) {
      // Rebuild the order from the oldest failed batch, once all answered.
      if (pq.inFlight.length > 0) return null;
      batch = pq.retry[0];
      if (batch.retryAt > now) return batch.retryAt;
    } else {
      if (this.#bumpPending) return null;
      batch = pq.queue[0];
      if (batch === undefined) return null;
      const due = batch.createdAt + this.#o.lingerMs;
      if (!batch.closed && pq.queue.length === 1 && this.#flushing === 0 && due > now) return due;
    }
    const leader = this.#cluster.topics.get(pq.topic)?.partitions.get(pq.partition)?.leader ?? -1;
    if (leader < 0) {
      stale.add(pq.topic);
      return now + this.#o.retryBackoffMs;
    }
    // Batches in flight to an old leader answer first (ordering).
    if (pq.inFlight.length > 0 && pq.inFlightNode !== leader) return null;
    return { batch, node: leader };
  }

  #encode(pq: PartitionQueue, batch: ProducerBatch): Uint8Array {
    if (this.#o.idempotent && batch.baseSequence < 0) {
      batch.baseSequence = pq.nextSequence;
      pq.nextSequence = addSequence(pq.nextSequence, batch.count);
      batch.encoded = null;
    }
    batch.encoded ??= this.#o.idempotent
      ? batch.encode(this.#o.compression, this.#producerId, this.#producerEpoch)
      : batch.encode(this.#o.compression, -1n, -1);
    return batch.encoded;
  }

  #takeForSend(pq: PartitionQueue, batch: ProducerBatch, node: number): void {
    if (pq.retry[0] === batch) pq.retry.shift();
    else pq.queue.shift();
    batch.closed = true;
    batch.attempts++;
    pq.inFlight.push(batch);
    pq.inFlightNode = node;
  }

  async #send(node: number, batches: ProducerBatch[]): Promise<void> {
    this.#nodeInFlight.set(node, (this.#nodeInFlight.get(node) ?? 0) + 1);
    const byTopic = new Map<string, ProducerBatch[]>();
    for (const b of batches) {
      const list = byTopic.get(b.topic);
      if (list) list.push(b);
      else byTopic.set(b.topic, [b]);
    }
    const request: ProduceRequest = {
      transactionalId: null,
      acks: this.#o.acks,
      timeoutMs: this.#o.requestTimeoutMs,
      topicData: [...byTopic].map(([name, list]) => ({
        name,
        topicId: this.#cluster.topics.get(name)?.topicId,
        partitionData: list.map((b) => ({ index: b.partition, records: b.encoded })),
      })),
    };
    try {
      const conn = await this.#cluster.connection(node, "produce");
      const sizeHint = 256 + batches.reduce((n, b) => n + b.encoded!.length + 16, 0);
      if (this.#o.acks === 0) {
        await conn.sendWithoutResponse(ProduceApi, request, { sizeHint });
        for (const b of batches) this.#complete(b, -1n, -1n);
        return;
      }
      const res = await conn.send(ProduceApi, request, { sizeHint });
      const answers = new Map<
        string,
        {
          errorCode: number;
          baseOffset: bigint;
          logAppendTimeMs: bigint;
          errorMessage: string | null;
        }
      >();
      for (const t of res.responses) {
        const name = t.name || this.#cluster.topicName(t.topicId) || "";
        for (const p of t.partitionResponses) answers.set(partitionKey(name, p.index), p);
      }
      for (const b of batches) {
        const a = answers.get(partitionKey(b.topic, b.partition));
        if (a === undefined) {
          this.#retriable(
            b,
            new KafkaError(`The Produce answer left out ${b.topic}/${b.partition}`),
          );
        } else this.#answered(b, a);
      }
    } catch (e) {
      const err = e instanceof KafkaError
        ? e
        : new ConnectionError(String(node), e instanceof Error ? e.message : String(e));
      this.#hooks.staleMetadata([...byTopic.keys()]);
      for (const b of batches) {
        if (err.retriable) this.#retriable(b, err);
        else this.#failSequenced(b, err);
      }
    } finally {
      this.#nodeInFlight.set(node, (this.#nodeInFlight.get(node) ?? 1) - 1);
      this.wake();
    }
  }

  #answered(
    b: ProducerBatch,
    a: {
      errorCode: number;
      baseOffset: bigint;
      logAppendTimeMs: bigint;
      errorMessage: string | null;
    },
  ): void {
    const code = a.errorCode;
    const pq = this.#queue(b);
    if (code === ErrorCode.NONE || code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      // A duplicate is a batch the broker has had for a while; it no longer
      // remembers where (-1).
      this.#complete(b, a.baseOffset, a.logAppendTimeMs);
      return;
    }
    const err = KafkaProtocolError.from(code, {
      apiName: "Produce",
      topic: b.topic,
      partition: b.partition,
      errorMessage: a.errorMessage,
    });
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && this.#o.idempotent) {
      // An earlier batch failed: this one goes again after it. The batch
      // the broker expected next: its state is lost, a gap.
      if (b.baseSequence !== pq.ackedSequence || pq.gap) this.#retriable(b, err);
      else this.#failSequenced(b, err);
      return;
    }
    if (code === ErrorCode.UNKNOWN_PRODUCER_ID && this.#o.idempotent) {
      // The broker forgot this producer (its records were deleted): new
      // epoch, then the batch goes again.
      this.#markGap(pq);
      this.#retriable(b, err);
      return;
    }
    if (
      (code === ErrorCode.MESSAGE_TOO_LARGE || code === ErrorCode.RECORD_LIST_TOO_LARGE) &&
      b.count > 1
    ) {
      // As Java's producer: split, so that only a record too large alone fails.
      this.#leaveInFlight(b);
      if (b.baseSequence >= 0) this.#markGap(pq);
      const parts = b.split();
      let i = pq.retry.length;
      while (i > 0 && pq.retry[i - 1].order > b.order) i--;
      pq.retry.splice(i, 0, ...parts);
      b.retire(); // its records live in the parts now
      return;
    }
    if (code === ErrorCode.MESSAGE_TOO_LARGE || code === ErrorCode.RECORD_LIST_TOO_LARGE) {
      const tooLarge = new RecordTooLargeError(
        b.topic,
        b.bytes + BATCH_OVERHEAD,
        -1,
        "the topic's max.message.bytes (the broker answered MESSAGE_TOO_LARGE)",
      );
      this.#failSequenced(b, tooLarge);
      return;
    }
    const info = errorInfo(code);
    if (info.refreshMetadata) this.#hooks.staleMetadata([b.topic]);
    if (info.retriable) this.#retriable(b, err);
    else this.#failSequenced(b, err);
  }

  #queue(b: ProducerBatch): PartitionQueue {
    return this.#queues.get(partitionKey(b.topic, b.partition))!;
  }

  #leaveInFlight(b: ProducerBatch): void {
    const pq = this.#queue(b);
    const i = pq.inFlight.indexOf(b);
    if (i >= 0) pq.inFlight.splice(i, 1);
  }

  #complete(b: ProducerBatch, baseOffset: bigint, logAppendTime: bigint): void {
    this.#leaveInFlight(b);
    if (b.finished) return;
    const pq = this.#queue(b);
    if (b.baseSequence >= 0) {
      pq.ackedSequence = addSequence(b.baseSequence, b.count);
      pq.established = true;
    }
    const appendTime = logAppendTime >= 0n ? Number(logAppendTime) : -1;
    b.succeed((i) => new Written(b, baseOffset, appendTime, i));
    this.#hooks.released(b);
  }

  #retriable(b: ProducerBatch, err: KafkaError): void {
    this.#leaveInFlight(b);
    if (b.finished) return;
    const now = Date.now();
    if (now - b.createdAt >= this.#o.deliveryTimeoutMs) {
      this.#failSequenced(b, this.#timeout(b, err));
      return;
    }
    b.lastError = err;
    b.retryAt = now + backoffMs(b.attempts - 1, this.#o.retryBackoff);
    const pq = this.#queue(b);
    let i = pq.retry.length;
    while (i > 0 && pq.retry[i - 1].order > b.order) i--;
    pq.retry.splice(i, 0, b);
  }

  #timeout(b: ProducerBatch, cause: KafkaError | undefined): ProducerTimeoutError {
    return new ProducerTimeoutError(
      `${b.count} record(s) for ${b.topic}/${b.partition} not delivered within ` +
        `deliveryTimeoutMs (${this.#o.deliveryTimeoutMs} ms) after ${b.attempts} attempt(s)` +
        (cause ? `; last error: ${cause.message}` : ""),
      { cause },
    );
  }

  /** Fails a batch for good; a sent idempotent batch leaves a gap in its sequence. */
  #failSequenced(b: ProducerBatch, err: KafkaError): void {
    this.#leaveInFlight(b);
    if (b.finished) return;
    if (b.baseSequence >= 0) this.#markGap(this.#queue(b));
    this.#fail(b, err);
  }

  #fail(b: ProducerBatch, err: KafkaError): void {
    this.#leaveInFlight(b);
    if (b.finished) return;
    b.fail(err);
    this.#hooks.released(b);
  }

  #markGap(pq: PartitionQueue): void {
    pq.gap = true;
    this.#bumpPending = true;
  }

  /** Batches not in flight past `deliveryTimeoutMs` fail (in flight ones wait for their answer). */
  #expire(now: number): void {
    for (const pq of this.#queues.values()) {
      for (const list of [pq.retry, pq.queue]) {
        while (list.length > 0 && now - list[0].createdAt >= this.#o.deliveryTimeoutMs) {
          const b = list.shift()!;
          this.#failSequenced(b, this.#timeout(b, b.lastError));
        }
      }
    }
  }

  /** No batch in flight, and no retry waiting except behind a gap. */
  #quiet(): boolean {
    for (const pq of this.#queues.values()) {
      if (pq.inFlight.length > 0) return false;
      if (!pq.gap && pq.retry.length > 0) return false;
    }
    return true;
  }

  /** Gets a producer id (first use), or bumps the epoch after a gap. */
  #requestProducerId(): void {
    if (this.#idRequest) return;
    const bump = this.#producerId >= 0n;
    this.#idRequest = (async () => {
      for (let attempt = 0;; attempt++) {
        try {
          const conn = await this.#cluster.connection("bootstrap", "produce-init");
          const res = await conn.send(InitProducerIdApi, {
            transactionalId: null,
            transactionTimeoutMs: 2147483647,
            producerId: this.#producerId,
            producerEpoch: this.#producerEpoch,
          });
          if (res.errorCode !== 0) {
            throw KafkaProtocolError.from(res.errorCode, { apiName: "InitProducerId" });
          }
          this.#producerId = res.producerId;
          this.#producerEpoch = res.producerEpoch;
          break;
        } catch (e) {
          const err = e instanceof KafkaError ? e : new KafkaError(String(e), { cause: e });
          if (!err.retriable || attempt >= 10 || this.#closed) {
            this.#fatal = new KafkaError(
              `The idempotent producer could not get a producer id (InitProducerId): ${err.message}`,
              { cause: err },
            );
            return;
          }
          await new Promise((r) => setTimeout(r, backoffMs(attempt, this.#o.retryBackoff)));
        }
      }
      if (bump) this.#restartSequences();
    })().finally(() => {
      this.#idRequest = null;
      this.wake();
    });
  }

  /** After an epoch bump: every partition starts at sequence 0, waiting batches get new ones. */
  #restartSequences(): void {
    for (const pq of this.#queues.values()) {
      pq.nextSequence = 0;
      pq.ackedSequence = 0;
      pq.gap = false;
      pq.established = false;
      // Queued batches may have a sequence too (encoded, then left for the
      // next request when this one was full).
      for (const b of [...pq.retry, ...pq.queue]) {
        b.baseSequence = -1;
        b.encoded = null;
        b.retryAt = 0;
      }
    }
    this.#bumpPending = false;
  }
}
