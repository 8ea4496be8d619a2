// The short chaos run (CI): `scripts/chaos.ts` against the 3-node test
// cluster (KAFKA_CLUSTER_BROKERS) with our verifiable consumer — 3 consumers,
// 12 partitions, Kafka's verifiable producer at 100 records/s, ~40 s of
// random clean restarts, SIGKILLs, SIGSTOP pauses past the session timeout
// and broker restarts, then the clean phase and the invariant checks. Fails
// on any violation. The harness leaves every broker running; a hard timeout
// ends it (SIGTERM, then SIGKILL) so the test cannot hang.
//
// Run three times: with the eager range assignor, with cooperative-sticky
// (KIP-429: kept partitions stay held through rebalances, which the checker
// then tracks incrementally), and under the consumer group protocol
// (KIP-848: the broker assigns, incrementally; its session is the test
// brokers' group.consumer.session.timeout.ms, 10 s, the harness's default).
//
// SLUICE_CHAOS_SEED=N reproduces a run's fault schedule (the seed is printed).

import assert from "node:assert/strict";
import { clusterBrokers } from "./_kafka.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const HARD_TIMEOUT_MS = 300_000;

for (
  const [label, flags] of [
    ["range", ["--assignor", "range"]],
    ["cooperative-sticky", ["--assignor", "cooperative-sticky"]],
    ["consumer protocol", ["--group-protocol", "consumer"]],
  ] as const
) {
  Deno.test(`chaos (${label}): no invariant broken by restarts, SIGKILLs, pauses and broker restarts`, async () => {
    const bootstrap = clusterBrokers();
    const seed = Deno.env.get("SLUICE_CHAOS_SEED") ?? String(Date.now() % 1_000_000);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-check",
        `${ROOT}scripts/chaos.ts`,
        "--brokers",
        bootstrap,
        "--consumer",
        "ours",
        "--duration",
        "40",
        "--consumers",
        "3",
        "--throughput",
        "100",
        "--gap",
        "4000,9000",
        "--seed",
        seed,
        ...flags,
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = new Response(child.stdout).text();
    const stderr = new Response(child.stderr).text();
    const term = setTimeout(() => child.kill("SIGTERM"), HARD_TIMEOUT_MS);
    const kill = setTimeout(() => child.kill("SIGKILL"), HARD_TIMEOUT_MS + 60_000);
    let status: Deno.CommandStatus;
    try {
      status = await child.status;
    } finally {
      clearTimeout(term);
      clearTimeout(kill);
    }
    const out = await stdout, err = await stderr;
    const explain = `chaos (seed ${seed}) exited ${status.code}\n--- stdout\n${out}\n--- stderr\n` +
      err.slice(-6000);
    assert.equal(status.code, 0, explain);
    assert.match(out, /chaos: no violations/, explain);
    // The run did something: records flowed and faults happened.
    const acked = Number(/records acknowledged by the producer\s+(\d+)/.exec(out)?.[1] ?? 0);
    assert.ok(acked > 1000, `only ${acked} records acknowledged\n${explain}`);
    const chaosFaults = err.split("\n").filter((l) =>
      /^chaos .* (SIGTERM c\d|SIGKILL c\d|SIGSTOP c\d|SIGUSR1 c\d|SIGKILL broker|stop broker)/.test(
        l,
      )
    );
    assert.ok(chaosFaults.length >= 2, `only ${chaosFaults.length} fault(s)\n${explain}`);
    console.log(out.trim());
  });
}
