/**
 * The 3-node Kafka cluster of a chaos run, through `scripts/kafka.sh`: start
 * and stop one of our own, or find the `kafka.sh` name of a running one from
 * its bootstrap string (stop-broker/start-broker need the name).
 *
 * @module
 */

import { run } from "./processes.ts";

/** The state root of scripts/kafka.sh (`SLUICE_RUN`). */
export function runRoot(): string {
  return Deno.env.get("SLUICE_RUN") || "/tmp/sluice-kafka";
}

/**
 * The kafka.sh cluster name whose `bootstrap` file holds exactly `bootstrap`;
 * null when no running cluster started by kafka.sh has it.
 */
export async function clusterNameOf(bootstrap: string): Promise<string | null> {
  const want = bootstrap.split(",").map((s) => s.trim()).sort().join(",");
  try {
    for await (const entry of Deno.readDir(runRoot())) {
      if (!entry.isDirectory) continue;
      try {
        const text = await Deno.readTextFile(`${runRoot()}/${entry.name}/bootstrap`);
        if (text.trim().split(",").map((s) => s.trim()).sort().join(",") === want) {
          return entry.name;
        }
      } catch {
        // not running
      }
    }
  } catch {
    // no state root
  }
  return null;
}

/** Starts a cluster with `scripts/kafka.sh start`; returns its bootstrap. */
export async function startCluster(root: string, name: string, nodes: number): Promise<string> {
  const r = await run("bash", [
    `${root}/scripts/kafka.sh`,
    "start",
    "--brokers",
    String(nodes),
    "--name",
    name,
  ], {
    timeoutMs: 300_000,
  });
  const bootstrap = r.stdout.trim().split("\n").pop() ?? "";
  if (r.code !== 0 || bootstrap === "") {
    throw new Error(
      `scripts/kafka.sh start --name ${name} failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`,
    );
  }
  return bootstrap;
}

/** Stops a cluster started by {@linkcode startCluster}. */
export async function stopCluster(root: string, name: string): Promise<void> {
  await run("bash", [`${root}/scripts/kafka.sh`, "stop", "--name", name], { timeoutMs: 120_000 });
}
