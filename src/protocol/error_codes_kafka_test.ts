/**
 * Checks our error table against Kafka's own `Errors` enum, read from the
 * kafka-clients jar by scripts/kafka/ErrorsDump.java: every code, name and
 * retriable flag must match, both ways.
 *
 * Needs `SLUICE_KAFKA_LIBS` (the directory holding kafka-clients and
 * slf4j-api, as `scripts/kafka.sh libs` prints), `java` on PATH, and
 * `--allow-env --allow-run --allow-read`. Without the variable the test fails:
 * a missing Kafka must not pass silently.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ERROR_TABLE } from "./error_codes.ts";

const DUMP_SOURCE = fileURLToPath(new URL("../../scripts/kafka/ErrorsDump.java", import.meta.url));

/** One constant of Kafka's Errors enum. */
interface EnumEntry {
  code: number;
  name: string;
  retriable: boolean;
}

async function kafkaErrors(libs: string): Promise<EnumEntry[]> {
  const { code, stdout, stderr } = await new Deno.Command("java", {
    args: ["-cp", `${libs}/*`, DUMP_SOURCE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(
      `ErrorsDump.java exited with ${code}; is ${libs} Kafka's libs directory?\n` +
        new TextDecoder().decode(stderr),
    );
  }
  return out.trim().split("\n").map((line) => {
    const m = /^(-?\d+) ([A-Z0-9_]+) (true|false)$/.exec(line.trim());
    if (!m) throw new Error(`Unexpected ErrorsDump.java line: ${JSON.stringify(line)}`);
    return { code: Number(m[1]), name: m[2], retriable: m[3] === "true" };
  });
}

Deno.test("ERROR_TABLE matches Kafka's Errors enum (codes, names, retriable)", async () => {
  const libs = Deno.env.get("SLUICE_KAFKA_LIBS");
  if (!libs) {
    assert.fail(
      "SLUICE_KAFKA_LIBS is not set: point it at Kafka's libs directory " +
        "(run `bash scripts/kafka.sh libs` to fetch Kafka and print it).",
    );
  }
  const kafka = await kafkaErrors(libs);
  assert.ok(kafka.length > 100, `ErrorsDump.java printed only ${kafka.length} errors`);

  const ours = new Map(ERROR_TABLE.map((e) => [e.code, e]));
  const problems: string[] = [];
  for (const k of kafka) {
    const o = ours.get(k.code);
    if (!o) {
      problems.push(`missing code ${k.code} ${k.name} (retriable ${k.retriable})`);
      continue;
    }
    if (o.name !== k.name) problems.push(`code ${k.code}: name ${o.name}, Kafka says ${k.name}`);
    if (o.retriable !== k.retriable) {
      problems.push(
        `code ${k.code} ${k.name}: retriable ${o.retriable}, Kafka says ${k.retriable}`,
      );
    }
  }
  const kafkaCodes = new Set(kafka.map((k) => k.code));
  for (const o of ERROR_TABLE) {
    if (!kafkaCodes.has(o.code)) problems.push(`code ${o.code} ${o.name} is not in Kafka's enum`);
  }
  assert.deepEqual(problems, [], `our table differs from Kafka's:\n${problems.join("\n")}`);
});
