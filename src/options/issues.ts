/**
 * Option validation shared by the consumer, the producer and the admin
 * client: {@linkcode ConfigError}, and turning zod's issues into ours
 * (dotted field paths, "did you mean" for unknown keys, values described
 * without printing secrets).
 *
 * @module
 */

import { z } from "zod";
import { KafkaError } from "../protocol/errors.ts";

/**
 * One problem found in the options.
 *
 * @example
 * ```ts
 * import type { ConfigIssue } from "@sluice/kafka";
 * const issue: ConfigIssue = { field: "assign[1].partition", reason: "must be an integer >= 0 (got -1)" };
 * ```
 */
export interface ConfigIssue {
  /** Dotted path of the option, e.g. `sessionTimeoutMs` or `assign[1].partition`; `""` for the whole. */
  field: string;
  /** What is wrong, and the value received (`<redacted>` for secret-looking fields). */
  reason: string;
}

/**
 * A client's options are wrong (consumer, producer or admin). Thrown at
 * construction, before anything connects. `field` names the first offending option, `issues` lists them
 * all; the message has one line per issue. Values of secret-looking fields
 * (SASL settings, passwords, tokens, keys) never appear.
 *
 * @example
 * ```ts
 * import { ConfigError, Consumer } from "@sluice/kafka";
 * try {
 *   new Consumer({ brokers: "127.0.0.1:9092", groupId: "g", topics: ["t"], sessionTimeoutMs: -5 });
 * } catch (e) {
 *   if (e instanceof ConfigError) {
 *     e.field; // "sessionTimeoutMs"
 *     e.message; // 'Invalid consumer option "sessionTimeoutMs": must be an integer >= 1000 (got -5)'
 *   }
 * }
 * ```
 */
export class ConfigError extends KafkaError {
  /** Dotted path of the first offending option (`""` when the options are not an object). */
  readonly field: string;
  /** Every problem found: each field's own, then unknown keys, then rules across fields. */
  readonly issues: ConfigIssue[];

  /**
   * Creates the error from at least one issue; `subject` names whose options
   * they are in the message.
   */
  constructor(issues: ConfigIssue[], options?: ErrorOptions & { subject?: OptionsSubject }) {
    if (issues.length === 0) issues = [{ field: "", reason: "are invalid" }];
    super(configErrorMessage(issues, options?.subject ?? "consumer"), options);
    this.field = issues[0].field;
    this.issues = issues.map((i) => ({ ...i }));
  }
}

/** Whose options a {@linkcode ConfigError} is about. */
export type OptionsSubject = "consumer" | "producer" | "admin";

function configErrorMessage(issues: ConfigIssue[], subject: OptionsSubject): string {
  const line = (i: ConfigIssue) => i.field === "" ? i.reason : `"${i.field}": ${i.reason}`;
  if (issues.length === 1) {
    const [i] = issues;
    return i.field === ""
      ? `Invalid ${subject} options: ${i.reason}`
      : `Invalid ${subject} option ${line(i)}`;
  }
  return `Invalid ${subject} options (${issues.length} problems):\n` +
    issues.map((i) => `  - ${line(i)}`).join("\n");
}

// ---------------------------------------------------------------------------
// Issues: paths, unknown keys, values
// ---------------------------------------------------------------------------

type Path = ReadonlyArray<PropertyKey>;

// deno-lint-ignore no-explicit-any
type Shape = Record<string, z.ZodType<any, any>>;

/** How {@linkcode parseFields} names things in its hints. */
export interface OptionNames {
  /** Other clients' names for our options (`bootstrapServers` -> `brokers`). */
  aliases: Readonly<Record<string, string>>;
  /** The options type the user can look the list up in, e.g. `ConsumerOptions`. */
  typeName: string;
}

/** What {@linkcode parseFields} found: each valid field's value, and every issue. */
export interface ParsedFields<S extends Shape> {
  /** The valid fields' parsed values (defaults filled). */
  values: Partial<{ [K in keyof S]: z.output<S[K]> }>;
  /** Fields that parsed. */
  valid: Set<keyof S>;
  /** Each invalid field's issues, then unknown keys. */
  issues: ConfigIssue[];
}

/**
 * Checks each field of `input` on its own against `shape` (so that rules
 * across fields can still run and report when another field is wrong) and
 * reports unknown keys, suggesting the closest known one (`aliases`: other
 * clients' names for our options).
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { parseFields } from "./issues.ts";
 * const r = parseFields({ lingerMs: z.number().default(5) }, { lingerMS: 1 }, {
 *   aliases: {},
 *   typeName: "ProducerOptions",
 * });
 * r.issues[0].reason; // 'unknown option; did you mean "lingerMs"?'
 * ```
 */
export function parseFields<S extends Shape>(
  shape: S,
  input: Record<string, unknown>,
  names: OptionNames,
): ParsedFields<S> {
  const values: Record<string, unknown> = {};
  const valid = new Set<keyof S>();
  const issues: ConfigIssue[] = [];
  const keys = Object.keys(shape);
  const root = z.strictObject(shape);
  for (const key of keys) {
    const result = shape[key].safeParse(input[key], { reportInput: true });
    if (result.success) {
      values[key] = result.data;
      valid.add(key);
    } else {
      issues.push(...toIssues(result.error.issues, [key], root, names));
    }
  }
  for (const key of Object.keys(input)) {
    if (!keys.includes(key)) issues.push(unknownKey([], key, keys, names));
  }
  return { values: values as ParsedFields<S>["values"], valid, issues };
}

/** A resolve function's working state: {@linkcode startResolving}. */
export interface Resolving<S extends Shape> {
  /** The input object as given. */
  raw: Record<string, unknown>;
  /** The valid fields' parsed values (defaults filled). */
  values: Partial<{ [K in keyof S]: z.output<S[K]> }>;
  /** True when every one of `keys` parsed (a rule across them can run). */
  ok(...keys: (keyof S)[]): boolean;
  /** Records a problem found by a rule across fields. */
  fail(field: string, reason: string): void;
  /** Throws one ConfigError listing every problem, if there is any. */
  throwIfAny(): void;
}

/**
 * The common start of every client's resolve function: `input` must be an
 * object (else a ConfigError at once); each field is parsed on its own
 * ({@linkcode parseFields}); the rules across fields then report through
 * `fail`, and `throwIfAny()` ends it with one error naming `subject`.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { startResolving } from "./issues.ts";
 * const r = startResolving({ lingerMs: -1 }, { lingerMs: z.number().min(0) }, {
 *   aliases: {},
 *   typeName: "ProducerOptions",
 * }, "producer");
 * r.ok("lingerMs"); // false
 * ```
 */
export function startResolving<S extends Shape>(
  input: unknown,
  shape: S,
  names: OptionNames,
  subject: OptionsSubject,
): Resolving<S> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ConfigError([{ field: "", reason: `must be an object (got ${describe(input)})` }], {
      subject,
    });
  }
  const raw = input as Record<string, unknown>;
  const fields = parseFields(shape, raw, names);
  const issues: ConfigIssue[] = [...fields.issues];
  return {
    raw,
    values: fields.values,
    ok: (...keys) => keys.every((k) => fields.valid.has(k)),
    fail: (field, reason) => void issues.push({ field, reason }),
    throwIfAny: () => {
      if (issues.length > 0) throw new ConfigError(issues, { subject });
    },
  };
}

function toIssues(
  zodIssues: readonly z.core.$ZodIssue[],
  prefix: Path,
  root: z.ZodType,
  names: OptionNames,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of zodIssues) {
    const path = [...prefix, ...issue.path];
    let next: ConfigIssue[];
    if (issue.code === "unrecognized_keys") {
      next = issue.keys.map((k) => unknownKey(path, k, knownKeysAt(root, path), names));
    } else {
      let reason = issue.message;
      if (!("input" in issue) || issue.input === undefined) {
        if (issue.code === "invalid_type" || issue.code === "invalid_union") {
          if (!reason.startsWith("is required")) reason = `is required (${reason})`;
        }
      } else {
        reason += ` (got ${isSecretPath(path) ? "<redacted>" : describe(issue.input)})`;
      }
      next = [{ field: fieldName(path), reason }];
    }
    for (const i of next) {
      if (!out.some((o) => o.field === i.field && o.reason === i.reason)) out.push(i);
    }
  }
  return out;
}

/** The keys allowed in the object at `path`, found by walking the schema. */
function knownKeysAt(root: z.ZodType, path: Path): string[] {
  // deno-lint-ignore no-explicit-any
  let s: any = root;
  for (const seg of path) {
    while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPipe) {
      s = s instanceof z.ZodPipe ? s.out : s.unwrap();
    }
    if (s instanceof z.ZodObject && typeof seg === "string") s = s.shape[seg];
    else if (s instanceof z.ZodArray && typeof seg === "number") s = s.element;
    else return [];
    if (s === undefined) return [];
  }
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap();
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function unknownKey(
  path: Path,
  key: string,
  known: readonly string[],
  names: OptionNames,
): ConfigIssue {
  const hint = suggest(key, known, names.aliases);
  const what = path.length === 0 ? "unknown option" : "unknown key";
  return {
    field: fieldName([...path, key]),
    reason: hint !== undefined
      ? `${what}; did you mean "${hint}"?`
      : known.length > 0 && known.length <= 8
      ? `${what} (known: ${known.join(", ")})`
      : `${what} (see ${names.typeName} for the list)`,
  };
}

function suggest(
  key: string,
  known: readonly string[],
  aliases: Readonly<Record<string, string>>,
): string | undefined {
  // Java-style dotted names: "session.timeout.ms" -> "sessionTimeoutMs".
  const camel = key.replace(/[._-]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
  for (const candidate of [key, camel]) {
    const alias = aliases[candidate];
    if (alias !== undefined && known.includes(alias)) return alias;
    const sameCase = known.find((k) => k.toLowerCase() === candidate.toLowerCase());
    if (sameCase !== undefined) return sameCase;
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(camel.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(camel.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function fieldName(path: Path): string {
  let s = "";
  for (const seg of path) {
    if (typeof seg === "number") s += `[${seg}]`;
    else if (s === "") s = String(seg); // a top-level key, as the user wrote it
    else if (typeof seg === "string" && /^[A-Za-z_$][\w$]*$/.test(seg)) s += `.${seg}`;
    else s += `[${JSON.stringify(String(seg))}]`;
  }
  return s;
}

const SECRET = /sasl|passw|secret|token|key|credential|auth|private/i;

/** Whether a field name looks like it holds a secret (its value is never printed). */
export function isSecretName(name: string): boolean {
  return SECRET.test(name);
}

function isSecretPath(path: Path): boolean {
  return path.some((seg) => typeof seg === "string" && isSecretName(seg));
}

/** A short, safe rendering of a received value for an error message. */
export function describe(v: unknown): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
    case "bigint":
      return `${v}n`;
    case "function":
      return "a function";
    case "symbol":
      return v.toString();
    case "object":
      if (v === null) return "null";
      if (Array.isArray(v)) {
        return v.length === 0
          ? "an empty array"
          : `an array of ${v.length} item${v.length === 1 ? "" : "s"}`;
      }
      if (v instanceof RegExp) return String(v);
      if (v instanceof Date) return "a Date";
      {
        const name = Object.getPrototypeOf(v)?.constructor?.name;
        return name && name !== "Object"
          ? `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`
          : "an object";
      }
    default:
      return String(v);
  }
}
