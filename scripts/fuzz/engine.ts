/**
 * The fuzz run: in-process cases (decoders, record batches, codecs, the
 * connection against a fake broker) and end-to-end cases (a Consumer
 * against the embedded cluster answering with damaged bytes), each case
 * derived from the run's seed and its number alone, bounded in time, with
 * every failure reported with the command that replays it.
 *
 * @module
 */

import {
  type CaseReport,
  codecCase,
  describe,
  recordsCase,
  responseCase,
} from "./decoder_targets.ts";
import { connectionCase, FakeBroker } from "./connection_target.ts";
import { e2eCase, E2eHarness } from "./e2e_target.ts";
import { weighted } from "./mutators.ts";
import { Rng } from "../../src/util/random.ts";
import { type GoldenPair, loadGolden, type RecordSeed, recordSeeds } from "./seeds.ts";

/** Settings of {@linkcode runFuzz}. */
export interface FuzzOptions {
  /** The run's seed. */
  seed: number;
  /** In-process cases to run (fewer when `seconds` runs out first). */
  cases: number;
  /** End-to-end cases to run (fewer when `seconds` runs out first). */
  e2e: number;
  /** Time budget of the whole run, in seconds. */
  seconds: number;
  /** Run only this case: a number (in-process) or `e<number>` (end to end). */
  only?: string;
  /** Called with every case's report (e.g. to print them). */
  onCase?: (id: string, report: CaseReport) => void;
  /** Concurrent connection cases. @default 16 */
  connectionConcurrency?: number;
  /** Concurrent end-to-end cases. @default 3 */
  e2eConcurrency?: number;
}

/** A failed case. */
export interface FuzzCaseFailure {
  /** Case id: `N` or `eN`. */
  id: string;
  /** What broke. */
  message: string;
}

/** What a run did. */
export interface FuzzSummary {
  /** The seed. */
  seed: number;
  /** In-process cases run. */
  inProcess: number;
  /** End-to-end cases run. */
  e2e: number;
  /** Cases per target and outcome, e.g. `records accepted`. */
  counts: Record<string, number>;
  /** Failed cases. */
  failures: FuzzCaseFailure[];
  /** Wall time, seconds. */
  seconds: number;
}

type InProcessTarget = "response" | "records" | "codec" | "connection";

const TARGETS: ReadonlyArray<readonly [InProcessTarget, number]> = [
  ["response", 35],
  ["records", 40],
  ["codec", 10],
  ["connection", 15],
];

/** The e2e cases draw from their own stream, apart from the in-process ones. */
const E2E_STREAM = 0x0e2e0e2e;

/** Runs the fuzzer; never throws for a failing case (see `failures`). */
export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const golden = loadGolden();
  const seeds = recordSeeds(golden);
  const counts: Record<string, number> = {};
  const failures: FuzzCaseFailure[] = [];
  const inFlight = new Set<string>();
  // An unhandled rejection would end the process: record it against the
  // cases running at the time instead, and go on.
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    failures.push({
      id: [...inFlight].join(",") || "?",
      message: `unhandled rejection: ${describe(e.reason)}`,
    });
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  const record = (id: string, report: CaseReport) => {
    const k = `${report.target} ${report.outcome}`;
    counts[k] = (counts[k] ?? 0) + 1;
    options.onCase?.(id, report);
  };
  const fail = (id: string, e: unknown) => {
    failures.push({ id, message: e instanceof Error ? `${describe(e)}` : String(e) });
  };
  let inProcess = 0;
  let e2e = 0;
  try {
    const only = options.only;
    if (only === undefined || !only.startsWith("e")) {
      const first = only === undefined ? 0 : Number(only);
      const end = only === undefined ? options.cases : first + 1;
      // The in-process phase gets 60% of the budget; e2e the rest.
      const phaseEnd = only === undefined && options.e2e > 0
        ? started + options.seconds * 600
        : deadline;
      inProcess = await runInProcess(
        options.seed,
        first,
        end,
        phaseEnd,
        golden,
        seeds,
        options.connectionConcurrency ?? 16,
        record,
        fail,
        inFlight,
      );
    }
    if (only === undefined ? options.e2e > 0 : only.startsWith("e")) {
      const first = only === undefined ? 0 : Number(only.slice(1));
      const end = only === undefined ? options.e2e : first + 1;
      e2e = await runE2e(
        options.seed,
        first,
        end,
        deadline,
        options.e2eConcurrency ?? 3,
        record,
        fail,
        inFlight,
      );
    }
  } finally {
    // Let late rejections of the last cases surface before unhooking.
    await new Promise((r) => setTimeout(r, 50));
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
  return {
    seed: options.seed,
    inProcess,
    e2e,
    counts,
    failures,
    seconds: (performance.now() - started) / 1000,
  };
}

async function runInProcess(
  seed: number,
  first: number,
  end: number,
  deadline: number,
  golden: readonly GoldenPair[],
  seeds: readonly RecordSeed[],
  concurrency: number,
  record: (id: string, r: CaseReport) => void,
  fail: (id: string, e: unknown) => void,
  inFlight: Set<string>,
): Promise<number> {
  const broker = new FakeBroker();
  const running = new Set<Promise<void>>();
  let ran = 0;
  try {
    for (let i = first; i < end; i++) {
      if (performance.now() > deadline) break;
      const rng = Rng.forCase(seed, i);
      const target = weighted(rng, TARGETS);
      const id = String(i);
      ran++;
      if (target === "connection") {
        while (running.size >= concurrency) await Promise.race(running);
        inFlight.add(id);
        const task = connectionCase(rng, i, broker, golden).then(
          (r) => record(id, r),
          (e) => fail(id, e),
        ).finally(() => {
          inFlight.delete(id);
          running.delete(task);
        });
        running.add(task);
        continue;
      }
      try {
        if (target === "response") record(id, responseCase(rng, golden));
        else if (target === "records") record(id, recordsCase(rng, seeds));
        else record(id, codecCase(rng, seeds));
      } catch (e) {
        fail(id, e);
      }
      // Let the connection cases' sockets and timers run.
      if (ran % 64 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    await Promise.allSettled([...running]);
  } finally {
    await broker.close();
  }
  return ran;
}

async function runE2e(
  seed: number,
  first: number,
  end: number,
  deadline: number,
  concurrency: number,
  record: (id: string, r: CaseReport) => void,
  fail: (id: string, e: unknown) => void,
  inFlight: Set<string>,
): Promise<number> {
  const harness = await E2eHarness.start();
  let next = first;
  let ran = 0;
  const worker = async () => {
    for (;;) {
      if (next >= end || performance.now() > deadline) return;
      const i = next++;
      const id = `e${i}`;
      ran++;
      inFlight.add(id);
      try {
        record(id, await e2eCase(Rng.forCase(seed ^ E2E_STREAM, i), i, harness));
      } catch (e) {
        fail(id, e);
      } finally {
        inFlight.delete(id);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await harness.close();
  }
  return ran;
}
