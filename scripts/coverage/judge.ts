/**
 * The version coverage guard's logic, pure: parses what a test run recorded
 * (src/net/api_record.ts lines, brokers.tsv, matrix.txt) and judges, per API
 * we declare, whether our highest negotiable version (after caps) was sent to
 * a real Kafka broker of the matrix and answered without an error.
 *
 * A version counts as proven by an ok answer from a real broker (an address
 * of brokers.tsv): such a broker advertised it, or it would not have answered
 * ok. Records to other addresses (the embedded cluster, fake brokers) prove
 * nothing but are mentioned when they are all there is.
 *
 * @module
 */

import type { ApiRecordLine, RequestFailure } from "../../src/net/api_record.ts";

/** An API we declare, with our version range after caps. */
export interface DeclaredApi {
  readonly apiKey: number;
  readonly name: string;
  /** Our highest negotiable version (declared maximum, after its cap). */
  readonly ourMax: number;
  /** The cap that lowered it, if any (shown in the row). */
  readonly cap?: { readonly max: number; readonly why: string };
}

/** A real Kafka broker the test run started (one line of brokers.tsv). */
export interface RealBroker {
  /** `host:port`, normalized (see {@linkcode normalizeAddress}). */
  readonly address: string;
  readonly kafkaVersion: string;
  readonly cluster: string;
}

/** What the run meant to cover and what it covered (matrix.txt). */
export interface Matrix {
  readonly planned: readonly string[];
  readonly ran: readonly string[];
}

/** A version that was sent to a real broker and not answered ok. */
export interface FailedSend {
  readonly version: number;
  readonly kafkaVersion: string;
  /** Distinct error codes seen in the answers, ascending. */
  readonly errors: readonly number[];
  /** Requests that got no decoded answer, by reason. */
  readonly failures: readonly RequestFailure[];
}

/** One row of the guard's table. */
export interface GuardRow {
  readonly api: string;
  readonly apiKey: number;
  readonly ourMax: number;
  readonly cap?: { readonly max: number; readonly why: string };
  /** Highest version advertised, per Kafka version of brokers.tsv (null: not advertised / no record). */
  readonly advertised: ReadonlyMap<string, number | null>;
  /** Highest version answered ok by a real broker, or null. */
  readonly bestOk: number | null;
  /** Highest version answered ok by another (embedded, fake) broker, or null. */
  readonly bestOkElsewhere: number | null;
  readonly verdict: "PASS" | "FAIL" | "NOT JUDGED";
  /** Why, for anything but PASS. */
  readonly reason: string;
  /** Versions above `bestOk` sent to real brokers and not answered ok. */
  readonly failed: readonly FailedSend[];
}

/** The guard's verdict on a run. */
export interface GuardResult {
  readonly rows: readonly GuardRow[];
  /** Kafka versions with a column: those of brokers.tsv, then planned ones that did not run. */
  readonly kafkaVersions: readonly string[];
  /** Planned Kafka versions that did not run (a partial run). */
  readonly missing: readonly string[];
  readonly passed: boolean;
}

/** Parsed content of the record directory. */
export interface RunRecords {
  readonly lines: readonly ApiRecordLine[];
  readonly brokers: readonly RealBroker[];
  readonly matrix: Matrix;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

/**
 * `host:port` with loopback names folded into `127.0.0.1`, so that a
 * connection to `localhost:9093` (a TLS listener named by its certificate)
 * matches the `127.0.0.1:9093` of brokers.tsv.
 */
export function normalizeAddress(address: string): string {
  const colon = address.lastIndexOf(":");
  if (colon < 0) return address.toLowerCase();
  const host = address.slice(0, colon).toLowerCase();
  return `${LOOPBACK.has(host) ? "127.0.0.1" : host}:${address.slice(colon + 1)}`;
}

/**
 * Parses the JSON lines of record files; lines that are not records (a
 * process killed mid-write) are counted, not fatal.
 */
export function parseRecordLines(text: string): { lines: ApiRecordLine[]; bad: number } {
  const lines: ApiRecordLine[] = [];
  let bad = 0;
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue;
    try {
      const v = JSON.parse(raw);
      if (isRecordLine(v)) lines.push(v);
      else bad++;
    } catch {
      bad++;
    }
  }
  return { lines, bad };
}

function isRecordLine(v: unknown): v is ApiRecordLine {
  if (v === null || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  if (typeof o.broker !== "string") return false;
  if (o.kind === "versions") return Array.isArray(o.apis);
  return o.kind === "response" && typeof o.apiKey === "number" &&
    typeof o.version === "number" && typeof o.ok === "boolean";
}

/** Parses brokers.tsv: `host:port<TAB>kafkaVersion<TAB>clusterName` per line. */
export function parseBrokers(text: string): RealBroker[] {
  const out: RealBroker[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "" || line.startsWith("#")) return;
    const [address, kafkaVersion, cluster = ""] = line.split("\t").map((s) => s.trim());
    if (!address || !kafkaVersion) {
      throw new Error(`brokers.tsv line ${i + 1}: expected host:port<TAB>version<TAB>cluster`);
    }
    out.push({ address: normalizeAddress(address), kafkaVersion, cluster });
  });
  return out;
}

/** Parses matrix.txt: a `planned v…` line and a `ran v…` line. */
export function parseMatrix(text: string): Matrix {
  let planned: string[] | undefined;
  let ran: string[] | undefined;
  for (const line of text.split("\n")) {
    const [word, ...versions] = line.trim().split(/\s+/);
    if (word === "planned") planned = versions;
    else if (word === "ran") ran = versions;
  }
  if (!planned || !ran) throw new Error("matrix.txt: expected a `planned …` and a `ran …` line");
  return { planned, ran };
}

/** Orders Kafka versions numerically (3.9.1 < 4.0.0 < 4.10.0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number(pa[i] ?? 0);
    const y = Number(pb[i] ?? 0);
    if (Number.isNaN(x) || Number.isNaN(y)) {
      const c = (pa[i] ?? "").localeCompare(pb[i] ?? "");
      if (c !== 0) return c;
    } else if (x !== y) return x - y;
  }
  return 0;
}

/** Judges every declared API against the run's records. */
export function judge(declared: readonly DeclaredApi[], run: RunRecords): GuardResult {
  const versionOf = new Map(run.brokers.map((b) => [b.address, b.kafkaVersion]));
  const missing = run.matrix.planned.filter((v) => !run.matrix.ran.includes(v));
  const kafkaVersions = [
    ...new Set(run.brokers.map((b) => b.kafkaVersion)),
  ].sort(compareVersions);
  for (const v of missing) if (!kafkaVersions.includes(v)) kafkaVersions.push(v);

  // Advertised maxima per API key and Kafka version (real brokers only).
  const advertised = new Map<number, Map<string, number>>();
  for (const line of run.lines) {
    if (line.kind !== "versions") continue;
    const kv = versionOf.get(normalizeAddress(line.broker));
    if (kv === undefined) continue;
    for (const [key, , max] of line.apis) {
      const perVersion = advertised.get(key) ?? new Map<string, number>();
      perVersion.set(kv, Math.max(max, perVersion.get(kv) ?? -1));
      advertised.set(key, perVersion);
    }
  }

  const rows = declared.map((api): GuardRow => {
    let bestOk: number | null = null;
    let bestOkElsewhere: number | null = null;
    const sentReal = new Set<number>();
    const failures = new Map<string, { errors: Set<number>; failures: Set<RequestFailure> }>();
    for (const line of run.lines) {
      if (line.kind !== "response" || line.apiKey !== api.apiKey) continue;
      const kv = versionOf.get(normalizeAddress(line.broker));
      if (kv === undefined) {
        if (line.ok) bestOkElsewhere = Math.max(bestOkElsewhere ?? -1, line.version);
        continue;
      }
      sentReal.add(line.version);
      if (line.ok) {
        bestOk = Math.max(bestOk ?? -1, line.version);
        continue;
      }
      const k = `${line.version}\t${kv}`;
      const f = failures.get(k) ?? { errors: new Set<number>(), failures: new Set() };
      for (const e of line.errors ?? []) f.errors.add(e);
      if (line.failure) f.failures.add(line.failure);
      failures.set(k, f);
    }
    const failed: FailedSend[] = [...failures].map(([k, f]) => {
      const [version, kafkaVersion] = k.split("\t");
      return {
        version: Number(version),
        kafkaVersion,
        errors: [...f.errors].sort((a, b) => a - b),
        failures: [...f.failures].sort(),
      };
    }).filter((f) => bestOk === null || f.version > bestOk)
      .sort((a, b) => b.version - a.version || compareVersions(a.kafkaVersion, b.kafkaVersion));

    const adv = new Map<string, number | null>();
    for (const kv of kafkaVersions) adv.set(kv, advertised.get(api.apiKey)?.get(kv) ?? null);
    const advertisedMax = Math.max(-1, ...[...adv.values()].map((v) => v ?? -1));

    const base = {
      api: api.name,
      apiKey: api.apiKey,
      ourMax: api.ourMax,
      ...(api.cap ? { cap: api.cap } : {}),
      advertised: adv,
      bestOk,
      bestOkElsewhere,
      failed,
    };
    if (bestOk !== null && bestOk >= api.ourMax) {
      return { ...base, verdict: "PASS", reason: "" };
    }
    let reason: string;
    if (sentReal.size === 0) {
      reason = "declared but never sent to a real broker";
    } else if (bestOk === null) {
      reason = `sent to real brokers (v${[...sentReal].sort((a, b) => a - b).join(", v")}) ` +
        "but never answered ok";
    } else {
      reason = `best ok v${bestOk} < our max v${api.ourMax}`;
    }
    if (advertisedMax >= 0 && advertisedMax < api.ourMax) {
      reason += `; no broker of the run advertises v${api.ourMax} (highest: v${advertisedMax})`;
    }
    if (bestOkElsewhere !== null && bestOkElsewhere >= api.ourMax) {
      reason += `; v${bestOkElsewhere} answered ok only by non-Kafka brokers (embedded, fake)`;
    }
    if (missing.length > 0) {
      return {
        ...base,
        verdict: "NOT JUDGED",
        reason: `${reason}; not judged: Kafka ${missing.join(", ")} did not run`,
      };
    }
    return { ...base, verdict: "FAIL", reason };
  });
  return {
    rows,
    kafkaVersions,
    missing,
    passed: rows.every((r) => r.verdict !== "FAIL"),
  };
}
