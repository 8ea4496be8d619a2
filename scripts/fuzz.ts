/**
 * `deno task fuzz`: damaged responses against the decoders, the record
 * batch path (every codec), the connection's framing, and a Consumer on the
 * embedded cluster. Bounded: by default 200,000 in-process cases and 300
 * end-to-end cases within 540 s (whichever ends first; a run cut short says
 * so).
 *
 * ```sh
 * deno task fuzz                          # random seed, printed
 * deno task fuzz --seed 42 --cases 20000 --e2e 30 --seconds 60
 * deno task fuzz --seed 42 --case 1234    # replay one in-process case, verbosely
 * deno task fuzz --seed 42 --case e17     # replay one end-to-end case
 * ```
 *
 * Exits 1 when any case failed, listing each with the command that replays it.
 *
 * @module
 */

import { runFuzz } from "./fuzz/engine.ts";

const USAGE =
  `usage: deno task fuzz [--seed S] [--cases N] [--e2e N] [--seconds S] [--case N|eN] [--verbose]
  --seed S      run seed (default: random, printed)
  --cases N     in-process cases (default 200000)
  --e2e N       end-to-end cases on the embedded cluster (default 300)
  --seconds S   time budget of the whole run (default 540)
  --case ID     replay one case: N (in-process) or eN (end to end), printing it
  --verbose     print every case`;

function parse(args: string[]) {
  const out = {
    seed: Math.floor(Math.random() * 2 ** 31),
    cases: 200_000,
    e2e: 300,
    seconds: 540,
    only: undefined as string | undefined,
    verbose: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = () => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === "--seed") out.seed = int();
    else if (a === "--cases") out.cases = int();
    else if (a === "--e2e") out.e2e = int();
    else if (a === "--seconds") out.seconds = int();
    else if (a === "--case") {
      out.only = value();
      if (!/^e?\d+$/.test(out.only)) throw new Error("--case needs N or eN");
      out.verbose = true;
    } else if (a === "--verbose") out.verbose = true;
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return out;
}

let opts: ReturnType<typeof parse>;
try {
  opts = parse(Deno.args);
} catch (e) {
  console.error(`${(e as Error).message}\n${USAGE}`);
  Deno.exit(2);
}

console.log(
  `fuzz: seed ${opts.seed}; ${
    opts.only ?? `${opts.cases} in-process + ${opts.e2e} end-to-end cases`
  }, at most ${opts.seconds} s`,
);
const summary = await runFuzz({
  seed: opts.seed,
  cases: opts.cases,
  e2e: opts.e2e,
  seconds: opts.seconds,
  only: opts.only,
  onCase: opts.verbose
    ? (id, r) => console.log(`case ${id} ${r.target} [${r.input}] ${r.what}: ${r.outcome}`)
    : undefined,
});
const counts = Object.entries(summary.counts).sort(([a], [b]) => a.localeCompare(b))
  .map(([k, v]) => `${k} ${v}`).join(", ");
console.log(
  `fuzz: ${summary.inProcess} in-process and ${summary.e2e} end-to-end cases in ` +
    `${summary.seconds.toFixed(1)} s (${counts})`,
);
if (opts.only === undefined && (summary.inProcess < opts.cases || summary.e2e < opts.e2e)) {
  console.log(`fuzz: the ${opts.seconds} s budget ended the run before every case ran`);
}
for (const f of summary.failures) {
  const replay = f.id.includes(",") || f.id === "?"
    ? ""
    : `\n  replay: deno task fuzz --seed ${summary.seed} --case ${f.id}`;
  console.log(`FAILED case ${f.id}: ${f.message}${replay}`);
}
console.log(
  summary.failures.length === 0
    ? `fuzz: no failures (seed ${summary.seed})`
    : `fuzz: ${summary.failures.length} failed cases (seed ${summary.seed})`,
);
Deno.exit(summary.failures.length === 0 ? 0 : 1);
