import assert from "node:assert/strict";
import { FetchSession } from "./fetch_session.ts";

const epoch = () => 0;
const p = (partition: number, position: bigint) => ({ topic: "t", partition, position });

Deno.test("FetchSession opens with a full fetch, then sends only what changed", () => {
  const s = new FetchSession();
  const first = s.next([p(0, 0n), p(1, 0n)], epoch);
  assert.deepEqual([first.sessionId, first.sessionEpoch, first.send.length], [0, 0, 2]);
  s.onResponse(77);
  // Partition 0 moved (it returned data), partition 1 did not.
  const second = s.next([p(0, 10n), p(1, 0n)], epoch);
  assert.deepEqual([second.sessionId, second.sessionEpoch], [77, 1]);
  assert.deepEqual(second.send.map((x) => x.partition), [0]);
  assert.deepEqual(second.forget, []);
  s.onResponse(77);
  // Partition 1 paused: forgotten; partition 0 unchanged: not sent.
  const third = s.next([p(0, 10n)], epoch);
  assert.equal(third.sessionEpoch, 2);
  assert.deepEqual(third.send, []);
  assert.deepEqual(third.forget, [{ topic: "t", partition: 1 }]);
  s.onResponse(77);
  // Resumed: sent again.
  const fourth = s.next([p(0, 10n), p(1, 0n)], epoch);
  assert.deepEqual(fourth.send.map((x) => x.partition), [1]);
});

Deno.test("FetchSession resends every partition after a reset and goes sessionless when declined", () => {
  const s = new FetchSession();
  s.next([p(0, 0n)], epoch);
  s.onResponse(5);
  s.reset();
  const full = s.next([p(0, 3n), p(1, 4n)], epoch);
  assert.deepEqual([full.sessionId, full.sessionEpoch, full.send.length], [0, 0, 2]);
  s.onResponse(0); // the broker declined a session
  const again = s.next([p(0, 3n), p(1, 4n)], epoch);
  assert.deepEqual([again.sessionId, again.sessionEpoch, again.send.length], [0, -1, 2]);
});

Deno.test("FetchSession resends a partition whose leader epoch changed", () => {
  const s = new FetchSession();
  let e = 1;
  s.next([p(0, 0n)], () => e);
  s.onResponse(9);
  assert.equal(s.next([p(0, 0n)], () => e).send.length, 0);
  s.onResponse(9);
  e = 2;
  assert.equal(s.next([p(0, 0n)], () => e).send.length, 1);
});
