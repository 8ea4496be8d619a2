// The short fuzz run for CI: the engine of `deno task fuzz` (scripts/fuzz/)
// with 15,000 in-process cases and 30 end-to-end cases on the embedded
// cluster. A fixed seed by default, so that a failure here replays with
// `deno task fuzz --seed 20261126 --case N`; FUZZ_SEED=S picks another.

import assert from "node:assert/strict";
import { runFuzz } from "../scripts/fuzz/engine.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261126);

Deno.test(`fuzz: 15,000 in-process and 30 end-to-end cases (seed ${SEED})`, async () => {
  const summary = await runFuzz({ seed: SEED, cases: 15_000, e2e: 30, seconds: 120 });
  const failures = summary.failures.map((f) =>
    `case ${f.id}: ${f.message}\n  replay: deno task fuzz --seed ${SEED} --case ${f.id}`
  );
  assert.deepEqual(failures, []);
  assert.equal(summary.inProcess, 15_000, "the time budget cut the run short");
  assert.equal(summary.e2e, 30, "the time budget cut the run short");
  // Every target ran, and both outcomes occurred where inputs can go either
  // way: a fuzzer whose damage is always (or never) refused tests little.
  const count = (k: string) => summary.counts[k] ?? 0;
  for (const target of ["response", "records", "codec", "connection"]) {
    assert.ok(
      count(`${target} accepted`) > 100,
      `${target} accepted: ${count(`${target} accepted`)}`,
    );
    assert.ok(
      count(`${target} rejected`) > 100,
      `${target} rejected: ${count(`${target} rejected`)}`,
    );
  }
  assert.ok(count("e2e accepted") > 0, JSON.stringify(summary.counts));
  assert.ok(count("e2e rejected") > 0, JSON.stringify(summary.counts));
});
