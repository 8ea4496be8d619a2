/**
 * The report of `bench/compare/compare.ts`: `bench/RESULTS.md` (machine,
 * versions, settings, a table per cell with median and min–max, ratios, the
 * issue's targets, n/a reasons) and `bench/results.svg` (records/s per client
 * per cell, one panel per cell, drawn here as plain SVG text).
 *
 * @module
 */

import type { ProduceRate } from "../lib/kafka.ts";
import type { Machine } from "../lib/machine.ts";
import type { OursResult } from "../lib/ours.ts";
import { fmt, fmtInt, median, MiB, stat } from "../lib/stats.ts";
import type { Cell, Sample } from "./clients.ts";

/** A client as the report names it. */
export interface ClientInfo {
  /** Client id (see clients.ts). */
  id: string;
  /** Name and version. */
  version: string;
}

/** Everything one cell produced. */
export interface CellResult {
  /** The data set. */
  cell: Cell;
  /** Samples by client id, one per repetition that succeeded. */
  samples: Map<string, Sample[]>;
  /** Clients that cannot run this cell here, with the reason. */
  na: Map<string, string>;
  /** Clients whose read failed (wrong data, crash), with the first lines of the error. */
  failed: Map<string, string>;
  /** The producer's rates when writing the cell. */
  produced: ProduceRate;
  /** Records per partition. */
  perPartition: number[];
}

/** The memory checks of ours. */
export interface MemoryResult {
  /** Bytes of payload read in the 1 GB check. */
  bytes: number;
  /** Reads of 1 GB with the default settings. */
  oneGb: OursResult[];
  /** Stalled readers: the configured bound and the read. */
  stalled: { boundBytes: number; result: OursResult }[];
}

/** What {@linkcode renderMarkdown} needs besides the cells. */
export interface ReportInput {
  /** Cell results in run order. */
  cells: CellResult[];
  /** The clients of the run (with versions). */
  clients: ClientInfo[];
  /** The memory checks, when run. */
  memory: MemoryResult | null;
  /** Machine facts. */
  machine: Machine;
  /** Load averages before and after. */
  loadBefore: string;
  /** Load averages after the run. */
  loadAfter: string;
  /** Wall time of the whole run, s. */
  seconds: number;
  /** Repetitions per cell. */
  reps: number;
  /** The command line. */
  command: string;
  /** When the run ended, ISO 8601. */
  date: string;
  /** Which broker. */
  brokerNote: string;
}

/** Short client names for the chart and the matrices. */
const SHORT: Record<string, string> = {
  "ours": "sluice assign",
  "ours-group": "sluice group",
  "java": "Java",
  "kcat": "kcat (librdkafka)",
  "kafkajs-node": "kafkajs / Node",
  "kafkajs-deno": "kafkajs / Deno",
  "platformatic-node": "platformatic / Node",
  "platformatic-deno": "platformatic / Deno",
};

const short = (id: string) => SHORT[id] ?? id;

/** Median records/s of a client in a cell (NaN when it has no samples). */
function rps(c: CellResult, id: string): number {
  const s = c.samples.get(id) ?? [];
  return s.length > 0 ? median(s.map((x) => x.recordsPerSec)) : NaN;
}

/** Median MB/s. */
function mbps(c: CellResult, id: string): number {
  const s = c.samples.get(id) ?? [];
  return s.length > 0 ? median(s.map((x) => x.mbPerSec)) : NaN;
}

/** "1.24M" / "812k" / "31.2k". */
function compact(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  if (n >= 1e6) return `${fmt(n / 1e6, 2)}M`;
  if (n >= 1e5) return `${fmt(n / 1e3, 0)}k`;
  return `${fmt(n / 1e3, 1)}k`;
}

function cellTitle(cell: Cell): string {
  const size = cell.size >= 1000 ? `${cell.size / 1000} KB` : `${cell.size} B`;
  return `${size}, ${cell.codec}`;
}

/** A cell's state for a client: its value, or why there is none. */
function cellValue(c: CellResult, id: string, value: (c: CellResult, id: string) => string) {
  if (c.na.has(id)) return "n/a";
  if (c.failed.has(id)) return "failed";
  return value(c, id);
}

interface Target {
  what: string;
  measured: string;
  ratio: number;
  threshold: number;
}

/** The issue's targets, measured (median ratios of this run). */
function targets(cells: CellResult[], memory: MemoryResult | null, ids: string[]): Target[] {
  const all: Target[] = [];
  const out = {
    // Only the targets whose peer took part in the run.
    push: (t: Target & { peer: string }) => {
      if (ids.includes("ours") && ids.includes(t.peer)) all.push(t);
    },
  };
  const byId = new Map(cells.map((c) => [c.cell.id, c]));
  const ratio = (cellId: string, peer: string, f: typeof rps) => {
    const c = byId.get(cellId);
    return c ? f(c, "ours") / f(c, peer) : NaN;
  };
  const c100 = byId.get("100B-none");
  if (c100) {
    out.push({
      what: "100 B, none: ≥ 1.0× Java records/s",
      measured: `${compact(rps(c100, "ours"))} vs ${compact(rps(c100, "java"))}`,
      ratio: ratio("100B-none", "java", rps),
      threshold: 1.0,
      peer: "java",
    });
    for (const k of ["kafkajs-node", "kafkajs-deno"]) {
      out.push({
        what: `100 B, none: ≥ 4× kafkajs records/s (${short(k)})`,
        measured: `${compact(rps(c100, "ours"))} vs ${compact(rps(c100, k))}`,
        ratio: ratio("100B-none", k, rps),
        threshold: 4,
        peer: k,
      });
    }
    for (const k of ["platformatic-node", "platformatic-deno"]) {
      out.push({
        what: `100 B, none: ≥ 1.5× @platformatic/kafka records/s (${short(k)})`,
        measured: `${compact(rps(c100, "ours"))} vs ${compact(rps(c100, k))}`,
        ratio: ratio("100B-none", k, rps),
        threshold: 1.5,
        peer: k,
      });
    }
  }
  for (const id of ["1KB-none", "10KB-none"]) {
    const c = byId.get(id);
    if (!c) continue;
    out.push({
      what: `${cellTitle(c.cell)}: ≥ 0.9× Java MB/s`,
      measured: `${fmt(mbps(c, "ours"), 1)} vs ${fmt(mbps(c, "java"), 1)} MB/s`,
      ratio: ratio(id, "java", mbps),
      threshold: 0.9,
      peer: "java",
    });
  }
  for (const c of cells.filter((c) => c.cell.codec !== "none")) {
    out.push({
      what: `${cellTitle(c.cell)}: ≥ 0.8× Java records/s`,
      measured: `${compact(rps(c, "ours"))} vs ${compact(rps(c, "java"))}`,
      ratio: ratio(c.cell.id, "java", rps),
      threshold: 0.8,
      peer: "java",
    });
  }
  if (memory !== null && memory.oneGb.length > 0) {
    const peak = median(memory.oneGb.map((r) => r.timedPeakRssBytes));
    out.push({
      what: `peak RSS reading ${fmt(memory.bytes / 1e9, 1)} GB, default settings: ≤ 150 MB`,
      measured: `${fmt(peak / 1e6, 0)} MB (${
        fmt(peak / MiB, 0)
      } MiB), median of ${memory.oneGb.length}`,
      // As a ratio "target / measured" so that ≥ 1 means met, like the others.
      ratio: 150e6 / peak,
      threshold: 1,
      peer: "ours",
    });
  }
  return all;
}

/** The markdown of bench/RESULTS.md. */
export function renderMarkdown(r: ReportInput): string {
  const m = r.machine;
  const ids = r.clients.map((c) => c.id);
  const lines: string[] = [
    "# sluice vs other Kafka consumers: latest results",
    "",
    `Written by \`${r.command}\` on ${r.date} (the run took ${
      fmt(r.seconds / 60, 1)
    } min). How it measures: [README.md](README.md#comparison-with-other-clients); the chart: ` +
    "[results.svg](results.svg). Producers (sluice's `Producer` vs Java's ProducerPerformance, " +
    "kafkajs and @platformatic/kafka): [RESULTS_producer.md](RESULTS_producer.md), written by " +
    "`deno task bench:produce`.",
    "",
    "## Machine, versions, settings",
    "",
    `- Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memTotal} RAM, ${m.os}, Linux ${m.kernel}`,
    `- Load average (1/5/15 min) before: ${r.loadBefore}; after: ${r.loadAfter}. The machine is ` +
    "shared (other work may run during the run), and the broker, the tools and the client share " +
    "its cores: absolute numbers move with the load, ratios less.",
    `- Broker: Kafka ${m.kafka}, ${r.brokerNote}`,
    `- ${m.deno}; Java: ${m.java}; sluice at commit ${m.commit} (plus uncommitted changes)`,
    ...r.clients.map((c) => `- ${short(c.id)}: ${c.version}`),
    "- Data: per cell one topic of 6 partitions written once by Kafka's producer-perf-test " +
    "(values of the cell's size, no keys, acks=1, batch.size=1048576, linger.ms=50, the cell's " +
    "compression.type, RoundRobinPartitioner: a sixth of the records per partition).",
    "- Fetch settings, every client: at most 50 MiB per fetch, 1 MiB per partition, min 1 byte, " +
    "max wait 500 ms (Java/librdkafka `fetch.max.bytes=52428800 max.partition.fetch.bytes=1048576 " +
    "fetch.min.bytes=1 fetch.max.wait.ms|fetch.wait.max.ms=500`; kafkajs `maxBytes`, " +
    "`maxBytesPerPartition`, `minBytes`, `maxWaitTimeInMs`; @platformatic/kafka `maxBytes`, " +
    "`maxBytesPerPartition`, `minBytes`, `maxWaitTime`; sluice `fetchMaxBytes`, " +
    "`maxPartitionFetchBytes`, `fetchMinBytes`, `fetchMaxWaitMs`, its defaults).",
    `- ${r.reps} repetition${
      r.reps === 1 ? "" : "s"
    } per cell, clients alternated (the order rotates each repetition), ` +
    "after one untimed read by sluice and by Java; median and (min–max).",
    "",
  ];

  lines.push(
    "## Records/s (median) per cell",
    "",
    `| client | ${r.cells.map((c) => cellTitle(c.cell)).join(" | ")} |`,
    `|---|${r.cells.map(() => "---:").join("|")}|`,
    ...ids.map((id) =>
      `| ${short(id)} | ${
        r.cells.map((c) => cellValue(c, id, (c, id) => fmtInt(rps(c, id))))
          .join(" | ")
      } |`
    ),
    "",
    "## Payload MB/s (median, 10^6 bytes of values) per cell",
    "",
    `| client | ${r.cells.map((c) => cellTitle(c.cell)).join(" | ")} |`,
    `|---|${r.cells.map(() => "---:").join("|")}|`,
    ...ids.map((id) =>
      `| ${short(id)} | ${
        r.cells.map((c) => cellValue(c, id, (c, id) => fmt(mbps(c, id), 1)))
          .join(" | ")
      } |`
    ),
    "",
    "## Ratios: sluice (assign) / peer, records/s medians",
    "",
    `| peer | ${r.cells.map((c) => cellTitle(c.cell)).join(" | ")} |`,
    `|---|${r.cells.map(() => "---:").join("|")}|`,
    ...ids.filter((id) => id !== "ours").map((id) =>
      `| ${short(id)} | ${
        r.cells.map((c) =>
          cellValue(c, id, (c, id) => {
            const x = rps(c, "ours") / rps(c, id);
            return Number.isFinite(x) ? `${fmt(x, 2)}×` : "n/a";
          })
        ).join(" | ")
      } |`
    ),
    "",
  );

  const t = targets(r.cells, r.memory, ids);
  if (t.length > 0) {
    lines.push(
      "## Targets (from the issue; median ratios of this run)",
      "",
      "| target | measured | ratio | met |",
      "|---|---|---:|---|",
      ...t.map((x) =>
        `| ${x.what} | ${x.measured} | ${Number.isFinite(x.ratio) ? fmt(x.ratio, 2) : "n/a"} | ${
          !Number.isFinite(x.ratio) ? "n/a" : x.ratio >= x.threshold ? "yes" : "**no**"
        } |`
      ),
      "",
    );
  }

  lines.push("## Per cell", "");
  for (const c of r.cells) {
    lines.push(
      `### ${cellTitle(c.cell)}: ${fmtInt(c.cell.records)} records`,
      "",
      `Written at ${fmtInt(c.produced.recordsPerSec)} records/s; per partition: ${
        c.perPartition.join(", ")
      }.`,
      "",
      "| client | records/s | MB/s | window ms | CPU s (process) | CPU µs/record (window) | peak RSS MiB |",
      "|---|---:|---:|---:|---:|---:|---:|",
    );
    for (const id of ids) {
      if (c.na.has(id)) {
        lines.push(`| ${short(id)} | n/a (see below) | | | | | |`);
        continue;
      }
      const s = c.samples.get(id) ?? [];
      const failed = c.failed.has(id) ? ` (failed: ${c.failed.get(id)!.replace(/\|/g, "/")})` : "";
      lines.push(
        `| ${short(id)} | ${stat(s.map((x) => x.recordsPerSec), fmtInt)}${failed} | ${
          stat(s.map((x) => x.mbPerSec), (n) => fmt(n, 1))
        } | ${stat(s.map((x) => x.windowMs), (n) => fmt(n, 0))} | ${
          stat(s.map((x) => x.cpuS), (n) => fmt(n, 2))
        } | ${stat(s.map((x) => (x.cpuWindowS / c.cell.records) * 1e6), (n) => fmt(n, 2))} | ${
          stat(s.map((x) => x.peakRssBytes / MiB), (n) => fmt(n, 0))
        } |`,
      );
    }
    lines.push("");
  }

  lines.push(
    "Columns: records/s and MB/s over each client's window, first record to last on its own " +
      "clock (Java: ConsumerPerformance's `fetch.*` window, from the first assignment to the last " +
      "poll; kcat: the arrival of its first and last output line in the parent). CPU s (process): " +
      "user + sys of the whole client process from GNU time, start-up included (a JVM start costs " +
      "about 1–3 CPU s, Node and Deno about 0.1 s). CPU µs/record (window): where the client " +
      "measures it itself (sluice and the JavaScript peers: process CPU at the first and the last " +
      "record). Peak RSS: the process's maximum resident set (GNU time). Every read was checked: " +
      "the count, the payload bytes and per partition the count and the sum of offsets (Java's tool " +
      "prints only its count, which is checked).",
    "",
  );

  if (r.memory !== null) {
    const mem = r.memory;
    lines.push(
      "## Memory (sluice)",
      "",
      `Reading ${fmt(mem.bytes / 1e9, 1)} GB (${fmtInt(mem.bytes / 10000)} records × 10 KB, ` +
        `uncompressed) with the default settings (\`maxBufferedBytes\` 32 MiB): peak RSS ${
          stat(mem.oneGb.map((x) => x.timedPeakRssBytes / MiB), (n) => fmt(n, 0))
        } MiB at ${stat(mem.oneGb.map((x) => x.records / (x.firstToLastMs / 1000)), fmtInt)} ` +
        "records/s.",
      "",
      "A stalled reader (stops for 5 s after its first batch; RSS sampled every 50 ms):",
      "",
      "| maxBufferedBytes | RSS before the consumer, MiB | RSS at the stall's start | max RSS during the stall | growth during the stall | growth since start |",
      "|---:|---:|---:|---:|---:|---:|",
      ...mem.stalled.map(({ boundBytes, result: x }) =>
        `| ${fmt(boundBytes / MiB, 0)} MiB | ${fmt(x.startRssBytes / MiB, 0)} | ${
          fmt(x.stallStartRssBytes / MiB, 0)
        } | ${fmt(x.stallMaxRssBytes / MiB, 0)} | ${
          fmt((x.stallMaxRssBytes - x.stallStartRssBytes) / MiB, 0)
        } | ${fmt((x.stallMaxRssBytes - x.startRssBytes) / MiB, 0)} |`
      ),
      "",
      `With ${fmt(mem.bytes / 1e9, 1)} GB waiting in the topic, RSS during the stall stays ` +
        "within the bound plus the runtime's own memory: fetching stops when the buffer is full.",
      "",
    );
  }

  const na = r.cells.flatMap((c) =>
    [...c.na].map(([id, why]) => `${short(id)}, ${c.cell.id}: ${why}`)
  );
  const failed = r.cells.flatMap((c) =>
    [...c.failed].map(([id, why]) => `${short(id)}, ${c.cell.id}: ${why}`)
  );
  if (na.length > 0 || failed.length > 0) {
    lines.push("## n/a and failures", "");
    const uniq = [
      ...new Set(r.cells.flatMap((c) => [...c.na].map(([id, why]) => `${id}\t${why}`))),
    ];
    for (const u of uniq) {
      const [id, why] = u.split("\t");
      const where = r.cells.filter((c) => c.na.get(id) === why).map((c) => c.cell.id);
      lines.push(`- ${short(id)} (${where.join(", ")}): ${why}`);
    }
    for (const f of failed) lines.push(`- failed: ${f}`);
    lines.push("");
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------
// chart

const COLORS: Record<string, string> = {
  "ours": "#1f77b4",
  "ours-group": "#6baed6",
  "java": "#d62728",
  "kcat": "#ff7f0e",
  "kafkajs-node": "#2ca02c",
  "kafkajs-deno": "#98df8a",
  "platformatic-node": "#9467bd",
  "platformatic-deno": "#c5b0d5",
};

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * A panel per cell (rows: record sizes, columns: codecs), a horizontal bar
 * per client with its median records/s; each panel has its own linear scale
 * (10 KB records run at a hundredth of 100 B ones).
 */
export function renderSvg(cells: CellResult[], clients: ClientInfo[]): string {
  const ids = clients.map((c) => c.id);
  const labelW = 130;
  const barW = 220;
  const rowH = 17;
  const panelW = labelW + barW + 60;
  const panelH = 30 + ids.length * rowH + 10;
  const cols = Math.min(3, cells.length);
  const rows = Math.ceil(cells.length / cols);
  const top = 46;
  const width = cols * panelW + 20;
  const height = top + rows * panelH + 30;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">Kafka consumers, records/s ` +
    `(median; one broker, 6 partitions, same fetch settings)</text>`,
    `<text x="10" y="37" fill="#555">Each panel has its own scale. Produced by ` +
    `deno task bench:compare; details in bench/RESULTS.md.</text>`,
  ];
  cells.forEach((c, i) => {
    const x0 = 10 + (i % cols) * panelW;
    const y0 = top + Math.floor(i / cols) * panelH;
    const values = ids.map((id) => (c.na.has(id) || c.failed.has(id) ? NaN : rps(c, id)));
    const max = Math.max(...values.filter(Number.isFinite), 1);
    out.push(
      `<text x="${x0}" y="${y0 + 16}" font-size="13" font-weight="bold">${
        esc(cellTitle(c.cell))
      }</text>`,
    );
    ids.forEach((id, k) => {
      const y = y0 + 26 + k * rowH;
      const v = values[k];
      out.push(
        `<text x="${x0 + labelW - 6}" y="${y + 11}" text-anchor="end">${esc(short(id))}</text>`,
      );
      if (Number.isFinite(v)) {
        const w = Math.max(1, (v / max) * barW);
        out.push(
          `<rect x="${x0 + labelW}" y="${y + 2}" width="${fmt(w, 1)}" height="${rowH - 4}" ` +
            `fill="${COLORS[id] ?? "#888"}"/>`,
          `<text x="${x0 + labelW + w + 4}" y="${y + 11}">${compact(v)}</text>`,
        );
      } else {
        out.push(
          `<text x="${x0 + labelW + 4}" y="${y + 11}" fill="#999">${
            c.failed.has(id) ? "failed" : "n/a"
          }</text>`,
        );
      }
    });
  });
  out.push("</svg>", "");
  return out.join("\n");
}

// ---------------------------------------------------------------------------
// raw data

/** The JSON form of a run: everything the report is rendered from. */
export interface RawRun {
  /** The report input without the cells. */
  input: Omit<ReportInput, "cells" | "clients">;
  /** Clients. */
  clients: ClientInfo[];
  /** Cells with their maps as [key, value] arrays. */
  cells: {
    cell: Cell;
    samples: [string, Sample[]][];
    na: [string, string][];
    failed: [string, string][];
    produced: ProduceRate;
    perPartition: number[];
  }[];
}

/** A run as JSON text (for `--render` later: a new report without measuring again). */
export function toJson(r: ReportInput): string {
  const { cells, clients, ...input } = r;
  const raw: RawRun = {
    input,
    clients: clients.map((c) => ({ id: c.id, version: c.version })),
    cells: cells.map((c) => ({
      cell: c.cell,
      samples: [...c.samples],
      na: [...c.na],
      failed: [...c.failed],
      produced: c.produced,
      perPartition: c.perPartition,
    })),
  };
  return JSON.stringify(raw, null, 1) + "\n";
}

/** The report input back from {@linkcode toJson}'s text. */
export function fromJson(text: string): ReportInput {
  const raw = JSON.parse(text) as RawRun;
  return {
    ...raw.input,
    // Runs saved before the date was part of the input: the render's date.
    date: raw.input.date ?? new Date().toISOString(),
    clients: raw.clients,
    cells: raw.cells.map((c) => ({
      cell: c.cell,
      samples: new Map(c.samples),
      na: new Map(c.na),
      failed: new Map(c.failed),
      produced: c.produced,
      perPartition: c.perPartition,
    })),
  };
}
