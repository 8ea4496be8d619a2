import assert from "node:assert/strict";
import { backoffMs, delay, settlesBy, sleep } from "./async.ts";

Deno.test("sleep() answers true after the time, false when aborted, and never rejects", async () => {
  assert.equal(await sleep(5), true);
  const aborted = new AbortController();
  aborted.abort();
  assert.equal(await sleep(10_000, aborted.signal), false);
  const later = new AbortController();
  const waiting = sleep(10_000, later.signal);
  later.abort(new Error("closed"));
  assert.equal(await waiting, false);
});

Deno.test("delay() rejects with the signal's reason when aborted", async () => {
  const c = new AbortController();
  const reason = new Error("closed");
  const waiting = delay(10_000, c.signal);
  c.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
});

Deno.test("backoffMs() doubles from initialMs up to maxMs within the jitter", () => {
  for (let attempt = 0; attempt < 8; attempt++) {
    const base = Math.min(1000, 50 * 2 ** attempt);
    const ms = backoffMs(attempt, { initialMs: 50, maxMs: 1000 });
    assert.ok(ms >= base * 0.8 - 1 && ms <= base * 1.2 + 1, `attempt ${attempt}: ${ms}`);
  }
});

Deno.test("settlesBy() is true when the promise resolves in time, false at the deadline, and rejects with its error in time", async () => {
  assert.equal(await settlesBy(Promise.resolve(), Date.now() + 1000), true);
  let resolveLate: () => void = () => {};
  const late = new Promise<void>((resolve) => (resolveLate = resolve));
  const started = Date.now();
  assert.equal(await settlesBy(late, started + 50), false);
  assert.ok(Date.now() - started >= 45, "waited until the deadline");
  resolveLate();
  await assert.rejects(settlesBy(Promise.reject(new Error("boom")), Date.now() + 1000), /boom/);
  // A rejection after the deadline is not unhandled.
  let rejectLate: (e: Error) => void = () => {};
  const failing = new Promise<void>((_, reject) => (rejectLate = reject));
  assert.equal(await settlesBy(failing, Date.now()), false);
  rejectLate(new Error("too late"));
  await new Promise((r) => setTimeout(r, 10));
});
