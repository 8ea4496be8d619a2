/**
 * Child processes for the benchmarks: run a command to its end in a process
 * group of its own (so an interrupt ends it with everything it started), and
 * run one wrapped in GNU `/usr/bin/time` for its CPU time and peak RSS.
 *
 * Shared by `bench/e2e_consumer.ts` and `bench/compare/compare.ts`.
 *
 * @module
 */

/** What a finished command left. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Its standard output, decoded. */
  stdout: string;
  /** Its standard error, decoded. */
  stderr: string;
}

/** A command's result plus what `/usr/bin/time` measured of it. */
export interface TimedResult extends RunResult {
  /** user + sys CPU seconds of the process and the children it waited for (NaN without GNU time). */
  cpuS: number;
  /** Peak resident set size, bytes (`ru_maxrss`; NaN without GNU time). */
  peakRssBytes: number;
  /** Wall time from spawn to exit, ms. */
  wallMs: number;
}

/** Process groups of the commands running now (each is started in its own group). */
const running = new Set<number>();
let interrupted = false;

/** Logs a line on stderr with the benchmark's prefix. */
export const log = (msg: string): void => console.error(`bench: ${msg}`);

/**
 * Runs a command to its end in a process group of its own (`detached`), so
 * that {@linkcode killRunning} ends it with everything it started: JVMs under
 * `bash kafka.sh tool` or `/usr/bin/time`, Deno and Node children.
 *
 * `onStdout`, when given, receives standard output chunk by chunk as it
 * arrives (then `stdout` of the result is empty): for a child whose output is
 * the measurement itself (kcat), without holding it all in memory.
 */
export async function run(
  cmd: string,
  args: string[],
  opts: {
    track?: boolean;
    env?: Record<string, string>;
    onStdout?: (chunk: Uint8Array) => void;
  } = {},
): Promise<RunResult> {
  const track = opts.track ?? true;
  if (track && interrupted) throw new Error("interrupted");
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
    ...(opts.env ? { env: opts.env } : {}),
  }).spawn();
  if (track) running.add(child.pid);
  try {
    const dec = new TextDecoder();
    let stdout = "";
    const reading = opts.onStdout
      ? (async () => {
        for await (const chunk of child.stdout) opts.onStdout!(chunk);
      })()
      : new Response(child.stdout).text().then((t) => {
        stdout = t;
      });
    const stderr = new Response(child.stderr).arrayBuffer();
    const [status] = await Promise.all([child.status, reading]);
    return { code: status.code, stdout, stderr: dec.decode(await stderr) };
  } finally {
    running.delete(child.pid);
  }
}

/** SIGTERM to every running command's process group; later {@linkcode run} calls throw. */
export function killRunning(): void {
  interrupted = true;
  for (const pid of running) {
    try {
      Deno.kill(-pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

/**
 * On SIGINT or SIGTERM (once): kill the running children, run `stop` (the
 * broker), and exit 130/143. Returns a function that removes the listeners.
 */
export function stopOnSignals(stop: () => Promise<void>): () => void {
  let stopping = false;
  const onSignal = (sig: Deno.Signal) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping`);
    killRunning();
    stop().finally(() => Deno.exit(sig === "SIGINT" ? 130 : 143));
  };
  const sigint = () => onSignal("SIGINT");
  const sigterm = () => onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", sigint);
  Deno.addSignalListener("SIGTERM", sigterm);
  return () => {
    Deno.removeSignalListener("SIGINT", sigint);
    Deno.removeSignalListener("SIGTERM", sigterm);
  };
}

/** True if the path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** GNU time (Debian package `time`); without it CPU and RSS are NaN. */
export const GNU_TIME = "/usr/bin/time";

/**
 * Runs a command under GNU `/usr/bin/time -f "%U %S %M"`: the CPU time and
 * peak RSS come from the kernel's rusage of the child at its exit (all of
 * its threads, and the children it waited for), the same way for every
 * client whatever its runtime.
 */
export async function runTimed(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; onStdout?: (chunk: Uint8Array) => void } = {},
): Promise<TimedResult> {
  const haveTime = await exists(GNU_TIME);
  const timeFile = haveTime ? await Deno.makeTempFile({ suffix: ".time" }) : "";
  const t0 = performance.now();
  try {
    const r = haveTime
      ? await run(GNU_TIME, ["-f", "%U %S %M", "-o", timeFile, cmd, ...args], opts)
      : await run(cmd, args, opts);
    const wallMs = performance.now() - t0;
    let cpuS = NaN;
    let peakRssBytes = NaN;
    if (haveTime) {
      // The last line: earlier ones may be "Command exited with non-zero status N".
      const t = (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1)!.split(" ");
      cpuS = Number(t[0]) + Number(t[1]);
      peakRssBytes = Number(t[2]) * 1024;
    }
    return { ...r, cpuS, peakRssBytes, wallMs };
  } finally {
    if (haveTime) await Deno.remove(timeFile).catch(() => {});
  }
}

/** The last line of a child's stdout parsed as JSON; throws with its output when it is not. */
export function lastJsonLine<T>(what: string, r: RunResult): T {
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    const err = r.stderr.trim().split("\n").slice(-20).join("\n");
    throw new Error(`${what}: no result line (exit ${r.code}):\n${err}\n${r.stdout.slice(-2000)}`);
  }
}
