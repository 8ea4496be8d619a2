import assert from "node:assert/strict";
import { FetchBuffer } from "./fetch_buffer.ts";
import { AckTracker, type Ticket } from "./offsets/ack_tracker.ts";
import { PartitionStates, type SentPartition } from "./partition_state.ts";
import { Rng } from "../util/random.ts";

const TP = { topic: "t", partition: 0 };

function setup() {
  const tracker = new AckTracker();
  const buffer = new FetchBuffer(1024 * 1024);
  const states = new PartitionStates(tracker, buffer);
  let changes = 0;
  states.onChange(() => changes++);
  return { tracker, buffer, states, changes: () => changes };
}

/** {@linkcode setup} with TP assigned at `position` (nothing committed) and started. */
function fetching(position: bigint) {
  const s = setup();
  s.states.assign(TP, position, null);
  s.states.start(TP);
  return s;
}

/** A Fetch for the partition that brings `count` offsets (bytes reserved first, as the fetcher does). */
function fetch(
  s: ReturnType<typeof setup>,
  count: bigint,
  tp = TP,
): SentPartition {
  const view = s.states.get(tp)!;
  const [sent] = s.states.send([view]);
  s.states.sent([sent]);
  assert.ok(s.states.current(sent));
  s.buffer.tryReserve(10, 10);
  s.states.fetched(sent, {
    data: new Uint8Array(10),
    nextOffset: sent.position + count,
    lastEpoch: 3,
    highWatermark: 100n,
    abortedTransactions: null,
  });
  return sent;
}

/** Takes the next deliverable chunk and delivers it as a batch. */
function deliver(s: ReturnType<typeof setup>): Ticket | null | undefined {
  const next = s.states.takeDeliverable();
  return next && s.states.delivered(next, true);
}

Deno.test("assign does not fetch until start; start tells the fetcher", () => {
  const s = setup();
  s.states.assign(TP, 5n, 4n);
  assert.equal(s.states.get(TP)?.started, false);
  assert.equal(s.states.get(TP)?.position, 5n);
  s.states.start(TP);
  assert.equal(s.states.get(TP)?.started, true);
  assert.equal(s.changes(), 1);
  assert.deepEqual(s.states.assigned(), [TP]);
});

Deno.test("fetched chunks are delivered in order and the position follows them", () => {
  const s = fetching(0n);
  fetch(s, 3n);
  fetch(s, 2n);
  assert.equal(s.states.get(TP)?.position, 5n);
  assert.equal(s.states.get(TP)?.lastFetchedEpoch, 3);
  const a = deliver(s)!;
  const b = deliver(s)!;
  assert.equal(deliver(s), undefined);
  assert.deepEqual([a.firstOffset, a.nextOffset, b.firstOffset, b.nextOffset], [0n, 3n, 3n, 5n]);
  assert.equal(s.tracker.ack(b), true);
  assert.equal(s.tracker.committable(TP), 0n); // a is not acknowledged yet
  assert.equal(s.tracker.ack(a), true);
  assert.equal(s.tracker.committable(TP), 5n);
});

for (const move of ["seekTo", "resetTo", "truncateTo"] as const) {
  Deno.test(`${move} starts a new incarnation: buffered data dropped, older acks fenced, in-flight answers refused`, () => {
    const s = fetching(0n);
    fetch(s, 3n);
    const delivered = deliver(s)!;
    fetch(s, 3n); // buffered, not delivered
    const view = s.states.get(TP)!;
    const [inFlight] = s.states.send([view]);
    s.states.backoff(view, () => 60_000);
    const before = view.incarnationId;
    s.states[move](TP, 42n);
    assert.equal(s.buffer.length, 0, "nothing buffered survives");
    assert.notEqual(view.incarnationId, before);
    assert.equal(view.position, 42n);
    assert.equal(view.lastFetchedEpoch, -1);
    assert.equal(view.retryAt, 0, "a restart is fetched at once");
    assert.equal(s.states.current(inFlight), false, "the answer of the Fetch in flight is dropped");
    assert.equal(s.tracker.ack(delivered), false, "acks of the ended incarnation are fenced");
    fetch(s, 1n);
    const next = s.states.takeDeliverable()!;
    assert.equal(next.chunk.fetchOffset, 42n);
  });
}

Deno.test("pause drops buffered chunks and rewinds to what was delivered; delivered batches stay ackable", () => {
  const s = fetching(10n);
  fetch(s, 2n);
  const delivered = deliver(s)!;
  fetch(s, 5n);
  assert.equal(s.states.get(TP)?.position, 17n);
  s.states.pause(TP);
  assert.equal(s.buffer.length, 0);
  assert.equal(s.states.get(TP)?.position, 12n, "fetching resumes at the delivered position");
  assert.equal(s.states.get(TP)?.paused, true);
  assert.equal(s.tracker.ack(delivered), true, "same incarnation: the ack counts");
  s.states.resume(TP);
  assert.equal(s.states.get(TP)?.paused, false);
  fetch(s, 1n);
  assert.equal(deliver(s)?.firstOffset, 12n, "contiguous after the pause");
});

Deno.test("a chunk fetched while pausing is not delivered: it rewinds the partition instead", () => {
  const s = fetching(0n);
  const view = s.states.get(TP)!;
  const [sent] = s.states.send([view]);
  s.states.pause(TP);
  // The answer arrives for the same incarnation and position: it applies, but the partition is paused.
  s.states.sent([sent]);
  s.buffer.tryReserve(10, 10);
  s.states.fetched(sent, {
    data: new Uint8Array(10),
    nextOffset: 4n,
    lastEpoch: 1,
    highWatermark: 4n,
    abortedTransactions: null,
  });
  assert.equal(s.states.takeDeliverable(), undefined);
  assert.equal(s.buffer.length, 0);
  assert.equal(view.position, 0n);
});

Deno.test("revoke leaves the assignment at once but acks count until endRevoked", () => {
  const s = fetching(0n);
  fetch(s, 3n);
  const delivered = deliver(s)!;
  fetch(s, 3n);
  const [inFlight] = s.states.send([s.states.get(TP)!]);
  const revoked = s.states.revoke();
  assert.deepEqual(revoked, [TP]);
  assert.equal(s.states.get(TP), undefined);
  assert.equal(s.buffer.length, 0);
  assert.equal(s.states.current(inFlight), false);
  assert.equal(s.tracker.ack(delivered), true, "an ack during revocation counts");
  s.states.endRevoked(revoked);
  assert.equal(s.tracker.ack(delivered), false, "after endRevoked, acks are fenced");
  assert.equal(s.tracker.committable(TP), 3n, "the revoked prefix stays committable");
  assert.deepEqual(s.states.revoke(), [], "revoking twice revokes nothing");
});

Deno.test("lose fences at once and leaves nothing committable", () => {
  const s = fetching(0n);
  fetch(s, 3n);
  const delivered = deliver(s)!;
  assert.deepEqual(s.states.lose(), [TP]);
  assert.equal(s.tracker.ack(delivered), false);
  assert.equal(s.tracker.committable(TP), null);
});

Deno.test("a re-assigned partition is a new incarnation: answers and acks of the old one are refused", () => {
  const s = fetching(0n);
  fetch(s, 2n);
  const old = deliver(s)!;
  const [inFlight] = s.states.send([s.states.get(TP)!]);
  s.states.endRevoked(s.states.revoke());
  s.states.assign(TP, 2n, 2n);
  s.states.start(TP);
  assert.equal(s.states.current(inFlight), false);
  assert.equal(s.tracker.ack(old), false);
});

Deno.test("property: random transitions never deliver a gap, a stale chunk, or count a fenced ack", () => {
  // Seeded, so a failure replays.
  const rng = new Rng(0x9e3779b9);
  const rand = (n: number) => rng.int(n);
  for (let run = 0; run < 200; run++) {
    const s = setup();
    const tps = [{ topic: "a", partition: 0 }, { topic: "a", partition: 1 }];
    for (const tp of tps) {
      s.states.assign(tp, 0n, null);
      s.states.start(tp);
    }
    const live = new Map<string, { ticket: Ticket; inc: number }[]>();
    const lastEnd = new Map<number, bigint>(); // incarnation id -> next offset delivered
    for (let step = 0; step < 60; step++) {
      const tp = tps[rand(2)];
      const view = s.states.get(tp);
      switch (rand(7)) {
        case 0:
        case 1:
          if (view && !view.paused) fetch(s, BigInt(1 + rand(4)), tp);
          break;
        case 2: {
          const next = s.states.takeDeliverable();
          if (!next) break;
          const { chunk, incarnation } = next;
          // Contiguous within an incarnation: starts where the last delivery ended.
          const expected = lastEnd.get(incarnation.id) ?? incarnation.startOffset;
          assert.equal(chunk.fetchOffset, expected, `run ${run} step ${step}`);
          assert.equal(chunk.incarnationId, incarnation.id);
          const ticket = s.states.delivered(next, true)!;
          lastEnd.set(incarnation.id, chunk.nextOffset);
          const k = `${chunk.topic}/${chunk.partition}`;
          live.set(k, [...(live.get(k) ?? []), { ticket, inc: incarnation.id }]);
          break;
        }
        case 3:
          if (view) s.states.seekTo(tp, BigInt(rand(50)));
          break;
        case 4:
          if (view) view.paused ? s.states.resume(tp) : s.states.pause(tp);
          break;
        case 5:
          if (view) s.states.endRevoked(s.states.revoke([tp]));
          else {
            s.states.assign(tp, BigInt(rand(50)), null);
            s.states.start(tp);
          }
          break;
        case 6: {
          // Ack a random delivered batch: counts only while its incarnation is current.
          const k = `${tp.topic}/${tp.partition}`;
          const list = live.get(k) ?? [];
          if (list.length === 0) break;
          const { ticket, inc } = list[rand(list.length)];
          const current = s.tracker.current(tp);
          const counted = s.tracker.ack(ticket);
          if (counted) {
            assert.ok(current !== undefined && current.id === inc, "a fenced ack never counts");
          }
          break;
        }
      }
    }
  }
});
