import assert from "node:assert/strict";
import { FetchBuffer, type FetchedChunk } from "./fetch_buffer.ts";

function chunk(partition: number, bytes: number): FetchedChunk {
  return {
    topic: "t",
    partition,
    data: new Uint8Array(bytes),
    fetchOffset: 0n,
    nextOffset: 1n,
    highWatermark: 1n,
    abortedTransactions: null,
    incarnationId: 1,
    bytes,
  };
}

Deno.test("FetchBuffer refuses reservations once the budget is spent and frees on delivery", () => {
  const b = new FetchBuffer(1000);
  assert.equal(b.tryReserve(100, 600), 600);
  assert.equal(b.tryReserve(500, 600), 0, "only 400 left, 500 needed");
  assert.equal(b.tryReserve(100, 600), 400);
  assert.equal(b.free, 0);
  b.push(chunk(0, 600)); // the first reservation became data
  b.release(400); // the second fetch returned nothing
  assert.equal(b.used, 600);
  assert.equal(b.shift()?.bytes, 600);
  assert.equal(b.used, 0);
  assert.equal(b.shift(), undefined);
});

Deno.test("FetchBuffer.drop removes one partition's chunks and wakes fetchers waiting for space", async () => {
  const b = new FetchBuffer(100);
  b.tryReserve(100, 100);
  b.push(chunk(0, 50));
  b.release(50);
  b.tryReserve(50, 50);
  b.push(chunk(1, 50));
  const ctl = new AbortController();
  let woke = false;
  const waiting = b.whenSpace(ctl.signal).then(() => woke = true);
  assert.equal(b.drop((c) => c.partition === 0), 1);
  await waiting;
  assert.ok(woke);
  assert.equal(b.length, 1);
  assert.equal(b.shift()?.partition, 1);
});

Deno.test("FetchBuffer.requeue puts the rest of a chunk before its partition's next, after others", () => {
  const b = new FetchBuffer(10_000);
  for (const [p, bytes] of [[0, 300], [1, 200], [0, 100]]) {
    b.tryReserve(1, bytes);
    b.push(chunk(p, bytes));
  }
  const first = b.shift()!;
  assert.equal(b.used, 300);
  b.requeue({ ...first, fetchOffset: 1n });
  assert.equal(b.used, 600, "reserved until the last piece is taken");
  const order = [b.shift()!, b.shift()!, b.shift()!].map((c) => `${c.partition}@${c.bytes}`);
  assert.deepEqual(order, ["1@200", "0@300", "0@100"], "partition 1's turn, then 0 in order");
  assert.equal(b.used, 0);
});
