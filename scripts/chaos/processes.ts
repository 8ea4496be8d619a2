/**
 * Child processes of the chaos harness: each one's stdout read line by line
 * as it comes (every line handed to a callback), its stderr written to a log
 * file, and signals sent to it by pid. Every process started here is
 * registered, so {@linkcode killAll} can end whatever is left on any way out.
 *
 * @module
 */

const live = new Set<ChildProcess>();

/** How to start a child. */
export interface SpawnOptions {
  /** Program. */
  cmd: string;
  /** Arguments. */
  args: string[];
  /** Working directory. */
  cwd?: string;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Where stderr goes (a file path). */
  stderrFile: string;
  /** Called with each stdout line and the time it was read. */
  onLine: (line: string, at: number) => void;
}

/** A running child process. */
export class ChildProcess {
  /** Resolves with the exit status; never rejects. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Resolves when stdout and stderr were read to the end. */
  readonly drained: Promise<void>;
  readonly #child: Deno.ChildProcess;
  #exited = false;
  #exitedAt = 0;

  /** Spawns the process. */
  constructor(opts: SpawnOptions) {
    this.#child = new Deno.Command(opts.cmd, {
      args: opts.args,
      cwd: opts.cwd,
      env: opts.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    live.add(this);
    this.status = this.#child.status.then((s) => {
      this.#exited = true;
      this.#exitedAt = Date.now();
      live.delete(this);
      return s;
    });
    this.drained = Promise.all([
      readLines(this.#child.stdout, opts.onLine),
      Deno.open(opts.stderrFile, { create: true, append: true, write: true })
        .then((f) => this.#child.stderr.pipeTo(f.writable))
        .catch(() => {}),
    ]).then(() => {});
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** True once it exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** When it exited (ms), 0 while running. */
  get exitedAt(): number {
    return this.#exitedAt;
  }

  /** Sends a signal; false when the process is gone. */
  signal(sig: Deno.Signal): boolean {
    if (this.#exited) return false;
    try {
      this.#child.kill(sig);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Waits up to `ms` for the exit; on timeout resumes it (it may be stopped)
   * and kills it with SIGKILL. Resolves with true when it exited on its own.
   */
  async waitExit(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.status.then(() => false),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), ms)),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.signal("SIGCONT");
      this.signal("SIGKILL");
      await this.status;
    }
    await this.drained;
    return !timedOut;
  }
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string, at: number) => void,
): Promise<void> {
  let rest = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        onLine(rest.slice(0, nl), Date.now());
        rest = rest.slice(nl + 1);
      }
    }
  } catch {
    // the process was killed mid-line
  }
  if (rest !== "") onLine(rest, Date.now());
}

/** Resumes and kills (SIGKILL) every child still running, and waits for them. */
export async function killAll(): Promise<void> {
  const left = [...live];
  for (const p of left) {
    p.signal("SIGCONT");
    p.signal("SIGKILL");
  }
  await Promise.all(left.map((p) => p.status.then(() => p.drained)));
}

/** Runs a command to the end; resolves with its exit code and output. */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}
