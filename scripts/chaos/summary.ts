/**
 * Human-readable results of chaos runs: one run, or several side by side
 * (ours next to Kafka's Java consumer).
 *
 * @module
 */

import type { Recovery, RunReport } from "./checker.ts";

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function seconds(ms: number): string {
  return Number.isFinite(ms) ? (ms / 1000).toFixed(1) + "s" : "never";
}

/** "median / max (n)" of recovery times, for faults of the given kinds. */
export function recoveryLine(recoveries: Recovery[], kinds: readonly string[]): string {
  const ms = recoveries.filter((r) => kinds.includes(r.fault.kind)).map((r) => r.ms)
    .sort((a, b) => a - b);
  if (ms.length === 0) return "-";
  return `${seconds(quantile(ms, 0.5))} / ${seconds(ms[ms.length - 1])} (${ms.length})`;
}

const RECOVERY_ROWS: Array<[string, string[]]> = [
  ["recovery: clean restart (median / max)", ["consumer-restart"]],
  ["recovery: SIGKILL", ["consumer-kill"]],
  ["recovery: SIGSTOP > session", ["consumer-pause"]],
  ["recovery: event loop blocked > session", ["consumer-block"]],
  ["recovery: broker restart/kill", ["broker-restart", "broker-kill"]],
];

/** The rows of the summary table of one run. */
export function summaryRows(report: RunReport): Array<[string, string]> {
  const s = report.stats;
  const byKind = new Map<string, number>();
  for (const v of report.violations) byKind.set(v.kind, (byKind.get(v.kind) ?? 0) + 1);
  const faults = Object.entries(s.faults).map(([k, n]) => `${k} ${n}`).join(", ");
  return [
    ["records acknowledged by the producer", String(s.acked)],
    ["records consumed (with repeats)", String(s.consumed)],
    ["distinct offsets consumed", String(s.distinct)],
    ["duplicates (all phases)", String(s.duplicates)],
    ["duplicates in the clean phase", String(s.duplicatesClean)],
    ["rebalances (rounds) / assignments", `${s.rebalances} / ${s.assignments}`],
    ["consumer processes", String(s.processes)],
    ["failed commits reported", String(s.failedCommits)],
    ["claims overlapping a frozen owner", String(s.frozenOverlaps)],
    ["faults", faults || "-"],
    ...RECOVERY_ROWS.map(([label, kinds]): [string, string] => [
      label,
      recoveryLine(s.recoveries, kinds),
    ]),
    [
      "violations",
      report.violations.length === 0
        ? "0"
        : `${report.violations.length} (${[...byKind].map(([k, n]) => `${k} ${n}`).join(", ")})`,
    ],
  ];
}

/** A table with one column per run. */
export function sideBySide(runs: Array<{ name: string; report: RunReport }>): string {
  const rows = runs.map((r) => summaryRows(r.report));
  const labels = rows[0].map(([label]) => label);
  const header = ["", ...runs.map((r) => r.name)];
  const table = [header, ...labels.map((l, i) => [l, ...rows.map((r) => r[i][1])])];
  const widths = header.map((_, c) => Math.max(...table.map((row) => row[c].length)));
  return table.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd())
    .join("\n");
}

/** The first violations, one per line. */
export function violationLines(report: RunReport, max = 30): string[] {
  const lines = report.violations.slice(0, max).map((v) =>
    `  [${v.kind}] ${new Date(v.at).toISOString()} ${v.message}`
  );
  if (report.violations.length > max) {
    lines.push(`  … and ${report.violations.length - max} more`);
  }
  return lines;
}
