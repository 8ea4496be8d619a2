import assert from "node:assert/strict";
import { AckTracker, type Ticket } from "./ack_tracker.ts";
import { Rng } from "../../util/random.ts";

const tp = { topic: "orders", partition: 0 };

/** A tracker with one incarnation of `tp` started at 0, committed at 0: most tests' start. */
function trackedFromZero(): { t: AckTracker; inc: ReturnType<AckTracker["startIncarnation"]> } {
  const t = new AckTracker();
  return { t, inc: t.startIncarnation(tp, 0n, { committed: 0n }) };
}

Deno.test("AckTracker commits acks delivered in order as they come", () => {
  const { t, inc } = trackedFromZero();
  assert.equal(t.committable(tp), null, "the baseline equals what is committed");
  const a = t.delivered(inc, 0n, 10n);
  const b = t.delivered(inc, 10n, 20n);
  assert.equal(t.outstanding(tp), 2);
  assert.equal(t.committable(tp), null);
  assert.equal(t.ack(a), true);
  assert.equal(t.committable(tp), 10n);
  assert.equal(t.ack(b), true);
  assert.equal(t.committable(tp), 20n);
  assert.equal(t.outstanding(tp), 0);
  t.markCommitted(tp, 20n, inc);
  assert.equal(t.committable(tp), null);
  assert.deepEqual(t.pendingCommits(), []);
});

Deno.test("AckTracker commits only the acknowledged prefix of out-of-order acks", () => {
  const t = new AckTracker();
  const inc = t.startIncarnation(tp, 100n, { committed: 100n });
  const [a, b, c] = [
    t.delivered(inc, 100n, 105n),
    t.delivered(inc, 105n, 110n),
    t.delivered(inc, 110n, 111n),
  ];
  t.ack(c);
  t.ack(b);
  assert.equal(t.committable(tp), null, "a is unacknowledged: nothing beyond it");
  assert.equal(t.outstanding(tp), 1);
  t.ack(a);
  assert.equal(t.committable(tp), 111n, "the whole prefix at once");
});

Deno.test("AckTracker acks are idempotent", () => {
  const t = new AckTracker();
  const inc = t.startIncarnation(tp, 0n);
  const a = t.delivered(inc, 0n, 1n);
  const b = t.delivered(inc, 1n, 2n);
  assert.equal(t.ack(b), true);
  assert.equal(t.ack(b), true);
  assert.equal(t.outstanding(tp), 1, "a second ack is not counted twice");
  assert.equal(t.ack(a), true);
  assert.equal(t.ack(a), true, "acking a collapsed batch again");
  assert.equal(t.outstanding(tp), 0);
  assert.equal(t.committable(tp), 2n);
});

Deno.test("AckTracker fences acks of a revoked incarnation, even after the partition returns", () => {
  const t = new AckTracker();
  const first = t.startIncarnation(tp, 0n, { committed: 0n });
  const old = t.delivered(first, 0n, 50n);
  t.endIncarnation(tp, "revoked");
  assert.equal(t.outstanding(tp), 0, "fenced batches are not waited for");
  // Reassigned; the group's committed offset is still 0.
  const second = t.startIncarnation(tp, 0n, { committed: 0n });
  assert.notEqual(second.id, first.id);
  const fresh = t.delivered(second, 0n, 20n);
  assert.equal(t.ack(old), false, "the old ticket is fenced");
  assert.equal(t.committable(tp), null, "and moved nothing");
  assert.equal(t.outstanding(tp), 1);
  assert.equal(t.ack(fresh), true);
  assert.equal(t.committable(tp), 20n);
});

Deno.test("AckTracker keeps a revoked incarnation's final prefix committable, not a lost one's", () => {
  const { t, inc } = trackedFromZero();
  const a = t.delivered(inc, 0n, 7n);
  t.ack(a);
  t.endIncarnation(tp, "revoked");
  assert.equal(t.committable(tp), 7n, "the fence goes up, then the last commit");
  assert.deepEqual(t.pendingCommits().map((p) => [p.topic, p.partition, p.offset]), [[
    "orders",
    0,
    7n,
  ]]);

  const other = { topic: "orders", partition: 1 };
  const inc2 = t.startIncarnation(other, 0n, { committed: 0n });
  t.ack(t.delivered(inc2, 0n, 3n));
  t.endIncarnation(other, "lost");
  assert.equal(t.committable(other), null, "nothing can be committed for lost partitions");
});

Deno.test("AckTracker counts gaps folded into nextOffset as acknowledged with the batch", () => {
  const { t, inc } = trackedFromZero();
  // Records at 0..4, then a transaction marker at 5 and a compaction gap to 9.
  const a = t.delivered(inc, 0n, 10n);
  // The next fetch started at 10; its first record is at 12 (gap folded in front).
  const b = t.delivered(inc, 10n, 13n);
  t.ack(a);
  assert.equal(t.committable(tp), 10n, "past the marker and the gap");
  t.ack(b);
  assert.equal(t.committable(tp), 13n);
});

Deno.test("AckTracker.skipped() advances past offsets with nothing to deliver", () => {
  const { t, inc } = trackedFromZero();
  const a = t.delivered(inc, 0n, 5n);
  t.skipped(inc, 5n, 6n); // a fetch holding only a commit marker
  assert.equal(t.committable(tp), null, "not before a is acknowledged");
  assert.equal(t.outstanding(tp), 1, "skipped offsets are not outstanding");
  t.ack(a);
  assert.equal(t.committable(tp), 6n);
  t.skipped(inc, 6n, 8n);
  assert.equal(t.committable(tp), 8n, "nothing before it: acknowledged at once");
  assert.equal(inc.position, 8n);
});

Deno.test("AckTracker refuses batches that do not continue the incarnation", () => {
  const t = new AckTracker();
  const inc = t.startIncarnation(tp, 10n);
  assert.throws(() => t.delivered(inc, 9n, 12n), /from offset 9, but delivery is at 10/);
  assert.throws(() => t.delivered(inc, 11n, 12n), RangeError);
  assert.throws(() => t.delivered(inc, 10n, 10n), /must be above/);
  t.delivered(inc, 10n, 12n);
  assert.throws(() => t.delivered(inc, 13n, 14n), RangeError, "a hole between batches");
  t.endIncarnation(tp, "revoked");
  assert.throws(() => t.delivered(inc, 12n, 14n), /after its incarnation ended \(revoked\)/);
  assert.throws(() => t.ack({} as Ticket), TypeError);
});

Deno.test("AckTracker.markCommitted() never goes back, and ignores stale incarnations", () => {
  const t = new AckTracker();
  const inc = t.startIncarnation(tp, 0n, { committed: null });
  t.ack(t.delivered(inc, 0n, 30n));
  t.markCommitted(tp, 30n);
  t.markCommitted(tp, 20n); // an older commit answered late
  assert.equal(t.snapshot()[0].lastCommitted, 30n);
  assert.equal(t.committable(tp), null);
  // A commit of the old incarnation answered after a seek says nothing about the new one.
  const next = t.startIncarnation(tp, 30n);
  t.markCommitted(tp, 99n, inc);
  assert.equal(t.snapshot()[0].lastCommitted, 30n);
  t.ack(t.delivered(next, 30n, 40n));
  assert.equal(t.committable(tp), 40n);
});

Deno.test("AckTracker commits the baseline of a new group and of a backward seek", () => {
  const t = new AckTracker();
  // No committed offset (a new group, reset to latest = 500): commit the position.
  const inc = t.startIncarnation(tp, 500n, { committed: null });
  assert.equal(t.committable(tp), 500n);
  const old = t.delivered(inc, 500n, 510n);
  t.ack(old);
  t.markCommitted(tp, 510n, inc);
  // seek(tp, 100n): the old acks must not move the new position …
  const seeked = t.startIncarnation(tp, 100n);
  assert.equal(inc.ended, "seek", "the live incarnation ends as a seek");
  assert.equal(t.ack(old), false);
  // … and the earlier position gets committed, as Java's consumer would.
  assert.equal(t.committable(tp), 100n);
  t.markCommitted(tp, 100n, seeked);
  assert.equal(t.committable(tp), null);
  t.ack(t.delivered(seeked, 100n, 120n));
  assert.equal(t.committable(tp), 120n);
});

Deno.test("AckTracker.whenAcked() resolves when the partitions' batches are acked or fenced", async () => {
  const t = new AckTracker();
  const tp1 = { topic: "orders", partition: 1 };
  const inc0 = t.startIncarnation(tp, 0n);
  const inc1 = t.startIncarnation(tp1, 0n);
  const a = t.delivered(inc0, 0n, 1n);
  t.delivered(inc1, 0n, 1n);
  let done = false;
  const waiting = t.whenAcked([tp, tp1]).then(() => done = true);
  t.ack(a);
  await Promise.resolve();
  assert.equal(done, false, "tp1 is still outstanding");
  t.endIncarnation(tp1, "lost");
  await waiting;
  assert.equal(done, true);
  await t.whenAcked([tp, { topic: "unknown", partition: 0 }]); // nothing outstanding: at once
});

Deno.test("AckTracker.whenAcked() gives up when the signal aborts", async () => {
  const t = new AckTracker();
  const inc = t.startIncarnation(tp, 0n);
  t.delivered(inc, 0n, 1n);
  const controller = new AbortController();
  const waiting = t.whenAcked([tp], controller.signal);
  controller.abort(new Error("close timeout"));
  await assert.rejects(waiting, /close timeout/);
  await assert.rejects(t.whenAcked([tp], AbortSignal.abort(new Error("already"))), /already/);
});

Deno.test("AckTracker.snapshot() reports position, acknowledged prefix and counts", () => {
  const t = new AckTracker();
  const inc = t.startIncarnation(tp, 5n, { committed: 5n });
  const a = t.delivered(inc, 5n, 9n);
  t.delivered(inc, 9n, 12n);
  t.ack(a);
  assert.deepEqual(t.snapshot(), [{
    topic: "orders",
    partition: 0,
    incarnation: inc.id,
    ended: null,
    position: 12n,
    acknowledged: 9n,
    committable: 9n,
    lastCommitted: 5n,
    outstanding: 1,
  }]);
  t.forget(tp);
  assert.deepEqual(t.snapshot(), []);
  assert.equal(t.current(tp), undefined);
});

Deno.test("AckTracker.endAll() fences every partition", () => {
  const t = new AckTracker();
  const tickets = [0, 1, 2].map((p) => {
    const inc = t.startIncarnation({ topic: "t", partition: p }, 0n);
    return t.delivered(inc, 0n, 1n);
  });
  t.endAll("closed");
  assert.deepEqual(tickets.map((k) => t.ack(k)), [false, false, false]);
  assert.deepEqual(t.snapshot().map((s) => s.ended), ["closed", "closed", "closed"]);
});

Deno.test("AckTracker memory stays bounded by outstanding batches over a long run", () => {
  const t = new AckTracker();
  const inc = t.startIncarnation(tp, 0n);
  let next = 0n;
  const window: Ticket[] = [];
  for (let i = 0; i < 100_000; i++) {
    window.push(t.delivered(inc, next, next + 3n));
    next += 3n;
    if (window.length > 8) t.ack(window.shift()!);
  }
  assert.equal(t.outstanding(tp), 8);
  assert.equal(t.committable(tp), next - 8n * 3n);
  // The ring never needed more than its initial room for 9 batches in flight.
  const ring = () => (inc as unknown as { nexts: bigint[] }).nexts.length;
  assert.ok(ring() <= 16, `ring of ${ring()}`);
  // A burst of 5000 unacked batches grows it; once acked, it shrinks back.
  for (const k of window.splice(0)) t.ack(k);
  for (let i = 0; i < 5000; i++) {
    window.push(t.delivered(inc, next, next + 1n));
    next += 1n;
  }
  assert.ok(ring() >= 5000);
  for (const k of window.reverse()) t.ack(k);
  assert.equal(t.committable(tp), next);
  assert.ok(ring() <= 16, `ring of ${ring()} after the burst`);
});

Deno.test("AckTracker property: committable is always the longest acknowledged prefix", () => {
  const rng = new Rng(0xac4);
  const rand = () => rng.next();
  const int = (n: number) => Math.floor(rand() * n);
  let acks = 0;
  while (acks < 100_000) {
    const t = new AckTracker();
    const start = BigInt(int(1000));
    const inc = t.startIncarnation(tp, start, { committed: start });
    // Each range is [previous next, next): a delivered batch, or skipped
    // offsets with nothing to deliver (acknowledged by themselves).
    const ranges: { next: bigint; ticket: Ticket | null; acked: boolean }[] = [];
    const unacked: number[] = [];
    let pos = start;
    const total = 1 + int(80);
    // Deliveries and acks interleave; acks pick a random outstanding batch.
    while (ranges.length < total || unacked.length > 0) {
      if (ranges.length < total && (unacked.length === 0 || int(2) === 0)) {
        const next = pos + 1n + BigInt(int(5));
        if (int(8) === 0) {
          t.skipped(inc, pos, next);
          ranges.push({ next, ticket: null, acked: true });
        } else {
          unacked.push(ranges.length);
          ranges.push({ next, ticket: t.delivered(inc, pos, next), acked: false });
        }
        pos = next;
      } else {
        const [i] = unacked.splice(int(unacked.length), 1);
        assert.equal(t.ack(ranges[i].ticket!), true);
        if (int(10) === 0) assert.equal(t.ack(ranges[i].ticket!), true, "again");
        ranges[i].acked = true;
        acks++;
      }
      let prefix = start;
      for (const r of ranges) {
        if (!r.acked) break;
        prefix = r.next;
      }
      assert.equal(t.committable(tp), prefix === start ? null : prefix);
      assert.equal(t.outstanding(tp), unacked.length);
      assert.equal(inc.position, pos);
    }
    assert.equal(t.committable(tp), pos, "everything acknowledged: commit to the end");
  }
});

Deno.test("AckTracker: a batch acked in part moves the prefix inside it, once all before it are", () => {
  const { t, inc } = trackedFromZero();
  const a = t.delivered(inc, 0n, 10n);
  const b = t.delivered(inc, 10n, 20n);
  assert.equal(t.ack(b, 14n), true);
  assert.equal(t.committable(tp), null, "a is not acknowledged: nothing beyond it");
  assert.equal(t.ack(a, 4n), true);
  assert.equal(t.committable(tp), 4n);
  assert.equal(t.ack(a, 2n), true, "a lower part changes nothing");
  assert.equal(t.committable(tp), 4n);
  assert.equal(t.ack(a), true);
  assert.equal(t.committable(tp), 14n, "b's earlier part counts once a is whole");
  assert.equal(t.outstanding(tp), 1, "b is still outstanding");
  assert.equal(t.ack(b, 20n), true, "up to nextOffset is the whole batch");
  assert.equal(t.committable(tp), 20n);
  assert.equal(t.outstanding(tp), 0);
});

Deno.test("AckTracker fences a part ack of an ended incarnation", () => {
  const { t, inc } = trackedFromZero();
  const a = t.delivered(inc, 0n, 10n);
  t.endIncarnation(tp, "lost");
  assert.equal(t.ack(a, 5n), false);
  assert.equal(t.committable(tp), null);
});

Deno.test("AckTracker property: part acks keep committable the longest acknowledged prefix", () => {
  const rng = new Rng(0x9a27);
  const int = (n: number) => Math.floor(rng.next() * n);
  for (let round = 0; round < 2000; round++) {
    const { t, inc } = trackedFromZero();
    // acked[o] = offset o acknowledged; batches of 1..6 offsets.
    const batches: { first: bigint; next: bigint; ticket: Ticket; upTo: bigint }[] = [];
    let pos = 0n;
    for (let i = 0; i < 1 + int(20); i++) {
      const next = pos + 1n + BigInt(int(6));
      batches.push({ first: pos, next, ticket: t.delivered(inc, pos, next), upTo: pos });
      pos = next;
    }
    for (let step = 0; step < 40; step++) {
      const b = batches[int(batches.length)];
      const upTo = b.first + 1n + BigInt(int(Number(b.next - b.first)));
      t.ack(b.ticket, upTo);
      if (upTo > b.upTo) b.upTo = upTo > b.next ? b.next : upTo;
      let prefix = 0n;
      for (const x of batches) {
        prefix = x.upTo;
        if (x.upTo < x.next) break;
      }
      assert.equal(t.committable(tp), prefix === 0n ? null : prefix);
    }
  }
});
