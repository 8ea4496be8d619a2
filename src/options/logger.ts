/**
 * The {@linkcode Logger} interface every client takes, {@linkcode consoleLogger},
 * and the wrapper that keeps a user's logger from breaking a client.
 *
 * @module
 */

import { describe, isSecretName } from "./issues.ts";

/**
 * A structured logger. Every method is optional; a missing one drops that
 * level. `console` fits, and so do most logging libraries. A client never
 * lets a logger break it: a method that throws (or returns a rejected
 * promise) is ignored.
 *
 * @example
 * ```ts
 * import type { Logger } from "@sluice/kafka";
 * const lines: string[] = [];
 * const logger: Logger = {
 *   warn: (msg, fields) => lines.push(`${msg} ${JSON.stringify(fields ?? {})}`),
 * };
 * ```
 */
export interface Logger {
  /** Detail useful when chasing a problem (requests, state changes). */
  debug?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Notable events: joined a group, partitions assigned. */
  info?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Recovered problems: retries, coordinator moves, reconnects. */
  warn?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Problems that end the stream. */
  error?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * A log level, from the most verbose.
 *
 * @example
 * ```ts
 * import { consoleLogger, type LogLevel } from "@sluice/kafka";
 * const level: LogLevel = "warn";
 * const logger = consoleLogger(level);
 * ```
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** The levels, from the most verbose. */
export const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function noop(): void {}

/**
 * A {@linkcode Logger} that prints one structured (logfmt) line per event to
 * stderr, for events at `level` or above:
 * `time=2025-01-01T00:00:00.000Z level=warn msg="coordinator moved" group=billing`.
 * Fields with secret-looking names (password, token, key, sasl, …) print as
 * `<redacted>`; bigints print as digits; errors as `Name: message`.
 *
 * @param level The least severe level printed.
 * @returns A logger for {@linkcode ConsumerOptions.logger}.
 * @throws {TypeError} when `level` is not a {@linkcode LogLevel}.
 *
 * @example
 * ```ts
 * import { consoleLogger, type ConsumerOptions } from "@sluice/kafka";
 * const options: ConsumerOptions = {
 *   brokers: "127.0.0.1:9092",
 *   groupId: "billing",
 *   topics: ["orders"],
 *   logger: consoleLogger("info"),
 * };
 * ```
 */
export function consoleLogger(level: LogLevel = "info"): Logger {
  const min = LEVELS.indexOf(level);
  if (min < 0) {
    throw new TypeError(
      `consoleLogger() level must be "debug", "info", "warn" or "error" (got ${describe(level)})`,
    );
  }
  const logger: Logger = {};
  for (const [i, name] of LEVELS.entries()) {
    logger[name] = i < min ? noop : (msg, fields) => console.error(logfmtLine(name, msg, fields));
  }
  return logger;
}

function logfmtLine(level: LogLevel, msg: string, fields?: Record<string, unknown>): string {
  let line = `time=${new Date().toISOString()} level=${level} msg=${logfmtValue(msg)}`;
  if (fields) line += logfmtFields(fields, "", 0);
  return line;
}

/** ` key=value` pairs; plain objects are flattened to dotted keys (a few levels deep). */
function logfmtFields(fields: object, prefix: string, depth: number): string {
  let s = "";
  for (const [k, v] of Object.entries(fields)) {
    const key = prefix + (k.replace(/[^\w.-]/g, "_") || "_");
    if (isSecretName(k)) s += ` ${key}=<redacted>`;
    else if (depth < 3 && isPlainObject(v)) s += logfmtFields(v, `${key}.`, depth + 1);
    else s += ` ${key}=${logfmtValue(fieldText(v))}`;
  }
  return s;
}

function isPlainObject(v: unknown): v is object {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function fieldText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (typeof v === "bigint") return v.toString();
  if (v === null || typeof v !== "object") return String(v);
  try {
    return JSON.stringify(v, (k, x) => {
      if (k !== "" && isSecretName(k)) return "<redacted>";
      if (typeof x === "bigint") return x.toString();
      if (x instanceof Error) return `${x.name}: ${x.message}`;
      return x;
    }) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function logfmtValue(s: string): string {
  return s === "" || /[\s="\\]/.test(s) ? JSON.stringify(s) : s;
}

/** Wraps the user's logger so every level exists and no call can throw or reject. */
export function safeLogger(input: Logger | undefined): Required<Logger> {
  const out = {} as Required<Logger>;
  for (const name of LEVELS) {
    const f = input?.[name];
    out[name] = typeof f !== "function" ? noop : (msg, fields) => {
      try {
        const r: unknown = f.call(input, msg, fields);
        if (r instanceof Promise) r.catch(noop);
      } catch {
        // A logger must never break a client.
      }
    };
  }
  return out;
}
