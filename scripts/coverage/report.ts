/**
 * Renders the coverage guard's verdict: a table (API, our max, advertised
 * max per Kafka version, best ok version, verdict, notes) and one summary
 * line.
 *
 * @module
 */

import type { FailedSend, GuardResult, GuardRow } from "./judge.ts";

/** Turns an error code into `NAME (code)`. */
export type ErrorNamer = (code: number) => string;

function describeFailed(f: FailedSend, name: ErrorNamer): string {
  const what = [...f.errors.map(name), ...f.failures];
  return `v${f.version} on ${f.kafkaVersion}: ${what.join(", ")}`;
}

function notes(row: GuardRow, name: ErrorNamer): string {
  const parts: string[] = [];
  if (row.verdict !== "PASS") parts.push(row.reason);
  if (row.verdict !== "PASS" && row.failed.length > 0) {
    parts.push(`sent and failed: ${row.failed.map((f) => describeFailed(f, name)).join("; ")}`);
  }
  if (row.cap) parts.push(`capped at v${row.cap.max}: ${row.cap.why}`);
  return parts.join(". ");
}

/** The table, one line per API, with a header. */
export function renderTable(result: GuardResult, name: ErrorNamer): string {
  const header = [
    "API",
    "ours",
    ...result.kafkaVersions.map((v) => result.missing.includes(v) ? `${v}(not run)` : v),
    "best ok",
    "verdict",
    "notes",
  ];
  const body = result.rows.map((row) => [
    row.api,
    String(row.ourMax),
    ...result.kafkaVersions.map((v) => {
      if (result.missing.includes(v) && row.advertised.get(v) == null) return "?";
      const a = row.advertised.get(v);
      return a == null ? "-" : String(a);
    }),
    row.bestOk === null ? "-" : String(row.bestOk),
    row.verdict,
    notes(row, name),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const numeric = (i: number) => i > 0 && i < header.length - 2;
  const line = (cells: string[]) =>
    cells.map((c, i) =>
      i === cells.length - 1 ? c : numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])
    ).join("  ").trimEnd();
  return [line(header), ...body.map(line)].join("\n");
}

/** The closing line: PASS / FAIL, what failed, what could not be judged. */
export function summaryLine(result: GuardResult): string {
  const failed = result.rows.filter((r) => r.verdict === "FAIL").map((r) => r.api);
  const unjudged = result.rows.filter((r) => r.verdict === "NOT JUDGED").map((r) => r.api);
  const n = result.rows.length;
  if (failed.length > 0) {
    return `coverage guard: FAIL — ${failed.length} of ${n} APIs not proven at our max version ` +
      `against a real broker: ${failed.join(", ")}`;
  }
  if (unjudged.length > 0) {
    return `coverage guard: INCOMPLETE — ${n - unjudged.length} of ${n} APIs proven; ` +
      `${unjudged.length} not judged (Kafka ${result.missing.join(", ")} did not run): ` +
      unjudged.join(", ");
  }
  return `coverage guard: PASS — all ${n} APIs answered ok by a real broker at our max version`;
}
