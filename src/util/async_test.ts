import assert from "node:assert/strict";
import { backoffMs, delay, sleep } from "./async.ts";

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
