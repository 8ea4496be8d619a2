/**
 * Kafka's own Java consumer, timed: `ConsumerPerformance`
 * (`scripts/kafka.sh tool consumer-perf-test`, the JVM with the full JIT, G1
 * and a 512 MiB heap as kafka.sh runs throughput tools), under GNU time for
 * the JVM's CPU and peak RSS.
 *
 * @module
 */

import { kafkaScript, uniqueName } from "../../tests/_kafka.ts";
import { runTimed } from "./proc.ts";

/** One run of `consumer-perf-test`: the tool's own numbers plus the process's. */
export interface JavaResult {
  /** data.consumed.in.nMsg. */
  records: number;
  /** data.consumed.in.MB (MiB). */
  mb: number;
  /** The tool's whole window (consumer creation to last poll). */
  nMsgSec: number;
  /** MB.sec over the whole window. */
  mbSec: number;
  /** Consumer creation to the first assignment, ms. */
  rebalanceMs: number;
  /** The whole window minus rebalanceMs: the fetch window, ms. */
  fetchMs: number;
  /** MB/s (MiB) over fetchMs. */
  fetchMbSec: number;
  /** records/s over fetchMs. */
  fetchNMsgSec: number;
  /** user + sys CPU seconds of the whole JVM (NaN without /usr/bin/time). */
  cpuProcessS: number;
  /** Peak RSS of the JVM, bytes (NaN without /usr/bin/time). */
  peakRssBytes: number;
  /** Wall time of the whole tool run, JVM start-up included, ms. */
  wallMs: number;
}

/**
 * Reads `total` records of `topic` with `consumer-perf-test` and a fresh
 * group, the consumer properties in `configFile`. Throws unless the tool
 * read exactly `total` records (at least `total` for a `baseline` run: the
 * tool counts whole polls).
 */
export async function runJava(
  bootstrap: string,
  topic: string,
  total: number,
  configFile: string,
  baseline = false,
): Promise<JavaResult> {
  const toolArgs = [
    kafkaScript(),
    "tool",
    "consumer-perf-test",
    "--bootstrap-server",
    bootstrap,
    "--topic",
    topic,
    "--messages",
    String(total),
    "--consumer.config",
    configFile,
    "--group",
    uniqueName("bench-java"),
    "--timeout",
    "30000",
  ];
  const { code, stdout, stderr, cpuS, peakRssBytes, wallMs } = await runTimed("bash", toolArgs);
  if (code !== 0) {
    throw new Error(`consumer-perf-test failed (exit ${code}):\n${stderr}\n${stdout}`);
  }
  if (stdout.includes("WARNING: Exiting before consuming")) {
    throw new Error(`consumer-perf-test timed out before reading ${total} records:\n${stdout}`);
  }
  const lines = stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const h = lines.findIndex((l) => l.startsWith("start.time,"));
  if (h < 0 || h + 1 >= lines.length) throw new Error(`consumer-perf-test output:\n${stdout}`);
  const header = lines[h].split(/,\s*/);
  const row = lines[h + 1].split(/,\s*/);
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`consumer-perf-test: no column ${name} in: ${lines[h]}`);
    return Number(row[i]);
  };
  const result: JavaResult = {
    records: col("data.consumed.in.nMsg"),
    mb: col("data.consumed.in.MB"),
    nMsgSec: col("nMsg.sec"),
    mbSec: col("MB.sec"),
    rebalanceMs: col("rebalance.time.ms"),
    fetchMs: col("fetch.time.ms"),
    fetchMbSec: col("fetch.MB.sec"),
    fetchNMsgSec: col("fetch.nMsg.sec"),
    cpuProcessS: cpuS,
    peakRssBytes,
    wallMs,
  };
  if (baseline ? result.records < total : result.records !== total) {
    throw new Error(`consumer-perf-test read ${result.records} records, want ${total}`);
  }
  return result;
}
