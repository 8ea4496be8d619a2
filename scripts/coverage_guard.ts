/**
 * The version coverage guard (issue 11): fails when an API we send could be
 * negotiated at a version that no test sent to a real Kafka broker with an
 * ok answer.
 *
 *   deno run -A scripts/coverage_guard.ts --dir DIR
 *
 * DIR is the run's SLUICE_API_RECORD_DIR: the `*.jsonl` files each process
 * of the test run wrote (src/net/api_record.ts), `brokers.tsv` (lines
 * `host:port<TAB>kafkaVersion<TAB>clusterName`: every real broker the run
 * started; only records to those count) and `matrix.txt` (`planned <versions…>`
 * and `ran <versions…>`). The APIs judged are all those declared in
 * src/protocol/messages/mod.ts, at our maximum after src/protocol/version_caps.ts.
 *
 * Prints a table and a summary line; exits 1 on any FAIL, 2 when DIR cannot
 * be read, else 0 (rows of a partial run that would fail are NOT JUDGED).
 *
 * @module
 */

import { DECLARED_APIS } from "../src/protocol/apis.ts";
import { ourVersions, VERSION_CAPS } from "../src/protocol/version_caps.ts";
import { errorName } from "../src/protocol/error_codes.ts";
import type { ApiRecordLine } from "../src/net/api_record.ts";
import {
  type DeclaredApi,
  judge,
  type Matrix,
  parseBrokers,
  parseMatrix,
  parseRecordLines,
} from "./coverage/judge.ts";
import { renderTable, summaryLine } from "./coverage/report.ts";

/** Every API declared in src/protocol/messages/mod.ts, ordered by key. */
export function declaredApis(): DeclaredApi[] {
  return DECLARED_APIS.map((api) => {
    const cap = VERSION_CAPS.get(api.apiKey);
    return {
      apiKey: api.apiKey,
      name: api.name,
      ourMax: ourVersions(api).max,
      ...(cap ? { cap: { max: cap.max, why: cap.why } } : {}),
    };
  });
}

function usage(message: string): never {
  console.error(`coverage_guard: ${message}`);
  console.error("usage: deno run -A scripts/coverage_guard.ts --dir DIR");
  Deno.exit(2);
}

async function main(args: string[]): Promise<number> {
  let dir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--dir") dir = args[++i];
    else if (args[i].startsWith("--dir=")) dir = args[i].slice("--dir=".length);
    else usage(`unknown argument ${args[i]}`);
  }
  if (!dir) usage("--dir is required");

  const lines: ApiRecordLine[] = [];
  let files = 0;
  let bad = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".jsonl")) continue;
      const parsed = parseRecordLines(await Deno.readTextFile(`${dir}/${entry.name}`));
      lines.push(...parsed.lines);
      bad += parsed.bad;
      files++;
    }
  } catch (e) {
    usage(`cannot read ${dir}: ${e instanceof Error ? e.message : e}`);
  }
  let brokersText: string;
  try {
    brokersText = await Deno.readTextFile(`${dir}/brokers.tsv`);
  } catch {
    usage(`no ${dir}/brokers.tsv: the run must list the real brokers it started`);
  }
  const brokers = parseBrokers(brokersText);
  let matrix: Matrix;
  try {
    matrix = parseMatrix(await Deno.readTextFile(`${dir}/matrix.txt`));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) usage(e instanceof Error ? e.message : String(e));
    // Without a matrix, the versions that ran are those of brokers.tsv.
    const ran = [...new Set(brokers.map((b) => b.kafkaVersion))];
    matrix = { planned: ran, ran };
    console.log(`coverage guard: no matrix.txt; judging the versions of brokers.tsv as planned`);
  }

  const result = judge(declaredApis(), { lines, brokers, matrix });
  const perVersion = result.kafkaVersions.map((v) => {
    const n = brokers.filter((b) => b.kafkaVersion === v).length;
    if (result.missing.includes(v)) return `${v} (planned, did not run)`;
    return `${v} (${n} broker${n === 1 ? "" : "s"})`;
  });
  console.log(
    `coverage guard: ${files} record files, ${lines.length} lines` +
      (bad > 0 ? ` (${bad} unreadable, skipped)` : "") +
      `; Kafka ${perVersion.join(", ")}`,
  );
  console.log(renderTable(result, (code) => `${errorName(code)} (${code})`));
  console.log(summaryLine(result));
  return result.passed ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
