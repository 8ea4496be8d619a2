/**
 * A stream pipeline: batches are parsed as JSON by a TransformStream and
 * written to a sink that acknowledges each batch once it is stored.
 *
 * Run: KAFKA_BROKERS=127.0.0.1:9092 deno run -A examples/pipeline.ts orders
 */

import { Consumer, type RecordBatch } from "../mod.ts";

const topic = Deno.args[0] ?? "orders";
const consumer = new Consumer({
  brokers: (Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092").split(","),
  groupId: "example-pipeline",
  topics: [topic],
  autoOffsetReset: "earliest",
  signal: AbortSignal.timeout(30_000), // stop after 30 s for the example
});

const dec = new TextDecoder();
const parse = new TransformStream<RecordBatch, { batch: RecordBatch; rows: unknown[] }>({
  transform(batch, controller) {
    const rows = batch.records.map((r) => {
      try {
        return JSON.parse(dec.decode(r.value ?? new Uint8Array()));
      } catch {
        return { raw: dec.decode(r.value ?? new Uint8Array()) };
      }
    });
    controller.enqueue({ batch, rows });
  },
});

let stored = 0;
const sink = new WritableStream<{ batch: RecordBatch; rows: unknown[] }>({
  write({ batch, rows }) {
    stored += rows.length; // a real sink would await a database write here
    batch.ack();
  },
});

try {
  await consumer.readable.pipeThrough(parse).pipeTo(sink);
} catch (e) {
  if (!(e instanceof DOMException && e.name === "TimeoutError")) throw e;
} finally {
  await consumer.close();
  console.log(`stored ${stored} rows`);
}
