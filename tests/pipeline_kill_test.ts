/**
 * At-least-once through a crash: a consume -> produce pipeline (the
 * Producer's `sink()`) is SIGKILLed mid-stream and started again; every
 * input record's output is downstream at least once. Input written by
 * Kafka's console producer, output read back with our consumer.
 */

import assert from "node:assert/strict";
import { Consumer } from "../mod.ts";
import { readAll } from "./_consumer_helpers.ts";
import { suiteTest } from "./_targets.ts";

const FIXTURE = new URL("./fixtures/pipeline.ts", import.meta.url).pathname;

function startPipeline(config: object): { child: Deno.ChildProcess; mapped: () => number } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", FIXTURE, JSON.stringify(config)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let mapped = 0;
  (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes('"mapped"')) mapped += JSON.parse(line).count;
      }
    }
  })().catch(() => {});
  return { child, mapped: () => mapped };
}

async function outputValues(bootstrap: string, topic: string, partitions: number) {
  const consumer = new Consumer({
    brokers: bootstrap,
    assign: Array.from({ length: partitions }, (_, partition) => ({
      topic,
      partition,
      offset: "earliest" as const,
    })),
    fetchMaxWaitMs: 100,
  });
  try {
    const tally = await readAll(consumer, partitions, 30_000);
    return [...tally.partitions.values()].flat().map((s) => s.value!);
  } catch {
    return []; // not every partition has data yet
  } finally {
    await consumer.close();
  }
}

suiteTest(
  "a pipeline SIGKILLed mid-stream and restarted writes every input downstream",
  async (t) => {
    const N = 2000;
    const input = await t.newTopic("pipe-in", 3);
    const output = await t.newTopic("pipe-out", 3);
    await t.produceConsole(input, Array.from({ length: N }, (_, i) => `k${i % 50}\tv${i}`), {
      parseKey: true,
    });
    const config = {
      brokers: t.bootstrap,
      groupId: `pipe-${crypto.randomUUID()}`,
      input,
      output,
      delayMs: 30,
    };
    const first = startPipeline(config);
    // Kill once a good part is through, without warning (no commit, no LeaveGroup).
    const deadline = Date.now() + 60_000;
    while (first.mapped() < N / 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(first.mapped() >= N / 3, `the first run mapped ${first.mapped()} records`);
    assert.ok(first.mapped() < N, "killed mid-stream");
    first.child.kill("SIGKILL");
    await first.child.status;

    const second = startPipeline(config);
    try {
      let values: string[] = [];
      const until = Date.now() + 90_000;
      while (Date.now() < until) {
        values = await outputValues(t.bootstrap, output, 3);
        if (new Set(values).size >= N) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const seen = new Set(values);
      const missing = Array.from({ length: N }, (_, i) => `out:v${i}`).filter((v) => !seen.has(v));
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} inputs have no output`);
      assert.ok(values.length >= N, "at least once");
    } finally {
      second.child.kill("SIGTERM");
      await second.child.status;
    }
  },
  { targets: ["kafka"] },
);
