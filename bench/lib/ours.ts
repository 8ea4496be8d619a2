/**
 * sluice's `Consumer`, timed: one read in a child process of its own
 * (`bench/e2e_consumer_child.ts`, a fresh `deno run` each time), under GNU
 * time, its result checked against what the topic holds.
 *
 * @module
 */

import { uniqueName } from "../../tests/_kafka.ts";
import type { ChildResult } from "../e2e_consumer_child.ts";
import { type Expected, verify } from "./kafka.ts";
import { lastJsonLine, runTimed } from "./proc.ts";

const CHILD = new URL("../e2e_consumer_child.ts", import.meta.url).pathname;

/** The child's own report plus what GNU time measured of the whole process. */
export interface OursResult extends ChildResult {
  /** user + sys CPU seconds, whole process (GNU time; NaN without it). */
  timedCpuS: number;
  /** Peak RSS, bytes (GNU time; NaN without it). */
  timedPeakRssBytes: number;
}

/** Options of one read by ours. */
export interface OursOptions {
  /** Extra `deno run` flags (e.g. `--cpu-prof`). */
  denoFlags?: string[];
  /** `checkCrcs: false`. */
  noCrc?: boolean;
  /** Group name prefix in group mode. */
  groupPrefix?: string;
  /** The consumer's default fetch settings instead of the fair ones. */
  defaults?: boolean;
  /** Stop reading for this long after the first batch (a stalled reader). */
  stallMs?: number;
  /** `maxBufferedBytes`. */
  maxBufferedBytes?: number;
}

/**
 * Reads every record of `topic` once with our consumer in `mode` ("assign":
 * all partitions from offset 0, no group; "group": a fresh group, auto
 * commit), with the fair fetch settings; throws unless it read exactly the
 * expected records. (`opts.defaults`: the consumer's own fetch settings.)
 */
export async function runOurs(
  mode: "assign" | "group",
  bootstrap: string,
  topic: string,
  expected: Expected,
  opts: OursOptions = {},
): Promise<OursResult> {
  const args = [
    "run",
    "-A",
    ...(opts.denoFlags ?? []),
    CHILD,
    "--brokers",
    bootstrap,
    "--topic",
    topic,
    "--partitions",
    String(expected.perPartition.length),
    "--records",
    String(expected.total),
    "--mode",
    mode,
    "--timeout-ms",
    "120000",
  ];
  if (mode === "group") args.push("--group", uniqueName(opts.groupPrefix ?? "bench-ours"));
  if (opts.noCrc) args.push("--no-crc");
  if (opts.defaults) args.push("--defaults");
  if (opts.stallMs) args.push("--stall-ms", String(opts.stallMs));
  if (opts.maxBufferedBytes) args.push("--max-buffered-bytes", String(opts.maxBufferedBytes));
  const r = await runTimed(Deno.execPath(), args);
  if (r.code !== 0) {
    throw new Error(`our consumer (${mode}) failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  }
  const result = lastJsonLine<ChildResult>(`ours ${mode}`, r);
  verify(`ours ${mode}`, result, expected);
  return { ...result, timedCpuS: r.cpuS, timedPeakRssBytes: r.peakRssBytes };
}
