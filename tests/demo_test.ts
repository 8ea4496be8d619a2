// The README's first command, `deno task demo`, must keep working: it runs
// examples/demo.ts on the embedded cluster (no KAFKA_BROKERS, no Java).

import assert from "node:assert/strict";

Deno.test("the demo runs on the embedded cluster and consumes every sample record", async () => {
  const env = { ...Deno.env.toObject() };
  delete env.KAFKA_BROKERS;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../examples/demo.ts", import.meta.url).pathname],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(stdout, /started an embedded 3-broker cluster/);
  assert.match(stdout, /Stable, protocol range, 2 members/);
  assert.match(stdout, /consumed 15 records; both consumers committed and left the group/);
  for (const p of [0, 1, 2]) {
    assert.match(stdout, new RegExp(`lag p${p}: position 5, committed 5, lag 0`));
    assert.match(stdout, new RegExp(`p${p}: committed 5, log end 5, lag 0`));
  }
});
