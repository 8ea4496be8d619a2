import assert from "node:assert/strict";
import { encodeRecordBatch } from "../protocol/wire_batch_encode.ts";
import { decodeRecordBatches } from "../protocol/wire_batch_decode.ts";
import type { KafkaRecord } from "../protocol/record.ts";
import { processConcurrently } from "./process_concurrently.ts";
import { RecordBatch } from "./record_batch.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A batch of records `key:value` from offset `base`; acks go to `acks` (as the offset acknowledged up to). */
function batch(
  base: bigint,
  entries: [string | null, string][],
  acks: bigint[],
  signal?: AbortSignal,
): RecordBatch {
  const bytes = encodeRecordBatch({
    baseOffset: base,
    records: entries.map(([k, v]) => ({
      key: k === null ? null : enc.encode(k),
      value: enc.encode(v),
    })),
  });
  const { records } = decodeRecordBatches(bytes, { topic: "t", partition: 0, fromOffset: base });
  const next = base + BigInt(entries.length);
  return new RecordBatch({
    topic: "t",
    partition: 0,
    records,
    nextOffset: next,
    highWatermark: next,
    ack: (upTo) => {
      acks.push(upTo ?? next);
      return true;
    },
    signal,
  });
}

const value = (r: KafkaRecord) => dec.decode(r.value!);
const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

Deno.test("processConcurrently() keeps one key in order, runs keys at once, acks the completed prefix", async () => {
  const acks: bigint[] = [];
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const sink = processConcurrently(async (r) => {
    running++;
    most = Math.max(most, running);
    // a's records are slow, b's fast: b completes first.
    await tick(value(r).startsWith("a") ? 20 : 1);
    log.push(value(r));
    running--;
  }, { concurrency: 8, order: "key" });
  const w = sink.getWriter();
  await w.write(batch(0n, [["a", "a1"], ["b", "b1"], ["a", "a2"], ["b", "b2"]], acks));
  await w.close();
  assert.deepEqual(log.filter((v) => v.startsWith("a")), ["a1", "a2"], "one key in order");
  assert.ok(log.indexOf("b2") < log.indexOf("a1"), "another key did not wait");
  assert.equal(most, 2, "one running per key");
  // b1 and b2 finished first, but nothing is acknowledged past a1 until it completes.
  assert.deepEqual(acks, [2n, 4n]);
});

Deno.test("processConcurrently() never runs more than `concurrency` records", async () => {
  const acks: bigint[] = [];
  let running = 0;
  let most = 0;
  const sink = processConcurrently(async () => {
    running++;
    most = Math.max(most, running);
    await tick(2);
    running--;
  }, { concurrency: 3, order: "none" });
  const w = sink.getWriter();
  const entries = Array.from({ length: 20 }, (_, i) => [null, `v${i}`] as [null, string]);
  await w.write(batch(0n, entries, acks));
  await w.close();
  assert.equal(most, 3);
  assert.equal(acks.at(-1), 20n);
});

Deno.test("processConcurrently(): onError skip passes a record, retry tries again, stop ends the stream", async () => {
  // skip
  let acks: bigint[] = [];
  let sink = processConcurrently((r) => {
    if (value(r) === "bad") throw new Error("bad record");
  }, { order: "partition", onError: () => "skip" });
  let w = sink.getWriter();
  await w.write(batch(0n, [[null, "ok"], [null, "bad"], [null, "ok"]], acks));
  await w.close();
  assert.equal(acks.at(-1), 3n, "skipped counts as done");

  // retry, bounded
  acks = [];
  let tries = 0;
  sink = processConcurrently(() => {
    if (++tries < 3) throw new Error("flaky");
  }, { onError: () => "retry", retryBackoff: { initialMs: 1, maxMs: 1 } });
  w = sink.getWriter();
  await w.write(batch(0n, [[null, "x"]], acks));
  await w.close();
  assert.equal(tries, 3);
  assert.deepEqual(acks, [1n]);

  // stop: the stream errors; the completed prefix stays acknowledged
  acks = [];
  sink = processConcurrently(async (r) => {
    await tick(value(r) === "slow" ? 30 : 1);
    if (value(r) === "boom") throw new Error("boom");
  }, { order: "partition" });
  w = sink.getWriter();
  await w.write(batch(0n, [[null, "ok"], [null, "boom"], [null, "later"]], acks)).catch(() => {});
  await assert.rejects(w.close(), /boom/);
  assert.deepEqual(acks, [1n], "only the record before the failure");
});

Deno.test("processConcurrently(): a revoked partition aborts its handlers and acks nothing more", async () => {
  const acks: bigint[] = [];
  const revoke = new AbortController();
  let aborted = 0;
  const sink = processConcurrently(async (_r, { signal }) => {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        aborted++;
        resolve();
      });
    });
  }, { order: "none" });
  const w = sink.getWriter();
  await w.write(batch(0n, [[null, "a"], [null, "b"]], acks, revoke.signal));
  revoke.abort();
  await w.close();
  assert.equal(aborted, 2);
  assert.deepEqual(acks, [], "nothing acknowledged: delivered again to the new owner");
});

Deno.test("processConcurrently() takes no more than maxPending records before they complete", async () => {
  const acks: bigint[] = [];
  let completed = 0;
  const sink = processConcurrently(async () => {
    await tick(1);
    completed++;
  }, { concurrency: 2, maxPending: 5, order: "none" });
  const w = sink.getWriter();
  const entries = Array.from({ length: 20 }, (_, i) => [null, `v${i}`] as [null, string]);
  await w.write(batch(0n, entries, acks));
  // The write returns once the last record is accepted: at most 5 pending then.
  assert.ok(completed >= 15, `${completed} completed when the write returned`);
  await w.close();
  assert.equal(completed, 20);
});
