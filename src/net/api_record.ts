/**
 * Test instrumentation: records which (API, version) pairs this process sent
 * to which broker, and whether the broker answered without an error, so that
 * `scripts/coverage_guard.ts` can prove every version we negotiate was
 * exercised against a real broker.
 *
 * Active only when the environment variable `SLUICE_API_RECORD_DIR` names a
 * directory and the process already has permission to read that variable and
 * to write there: the variable is never read without env permission (so a
 * library user without `--allow-env` sees no prompt), and any failure to
 * write turns recording off silently. Recording must never break a client.
 *
 * Each process (and each worker) appends JSON lines to a file of its own,
 * `api-<pid>-<random>.jsonl`. Lines are written only the first time a fact
 * is seen, so a run of millions of Fetches writes a handful of lines:
 *
 * - `{"kind":"versions","broker":"h:p","apis":[[apiKey,min,max],…]}` — the
 *   ranges a broker advertised in ApiVersions (once per broker and ranges);
 * - `{"kind":"response","broker":"h:p","apiKey":9,"api":"OffsetFetch",
 *   "version":10,"ok":false,"errors":[100]}` — once per (broker, API,
 *   version, ok, and for failures the error codes or `failure` reason).
 *
 * `ok` means the response decoded and carries no non-zero error code
 * anywhere in its body (see {@linkcode errorCodesIn}). A request that timed
 * out, whose response did not decode, or whose connection broke before the
 * answer came (`failure`: `"timeout"`, `"undecodable"`, `"connection lost"`)
 * is not ok.
 *
 * @module
 */

/** The environment variable naming the directory records go to. */
export const API_RECORD_DIR_ENV = "SLUICE_API_RECORD_DIR";

/** Why a request got no decoded answer. */
export type RequestFailure = "timeout" | "undecodable" | "connection lost";

/** One line of a record file. */
export type ApiRecordLine =
  | {
    readonly kind: "versions";
    readonly broker: string;
    /** `[apiKey, minVersion, maxVersion]` per advertised API. */
    readonly apis: ReadonlyArray<readonly [number, number, number]>;
  }
  | {
    readonly kind: "response";
    readonly broker: string;
    readonly apiKey: number;
    readonly api: string;
    readonly version: number;
    readonly ok: boolean;
    /** Distinct non-zero error codes found in the response, ascending. */
    readonly errors?: readonly number[];
    /** Set when no decoded response came. */
    readonly failure?: RequestFailure;
  };

/**
 * The distinct non-zero error codes anywhere in a decoded response body,
 * ascending: values of fields named `errorCode` or ending in `ErrorCode`
 * (e.g. CreateTopics' `topicConfigErrorCode`), at any depth of structs and
 * arrays. Byte arrays (`records`, `bytes`) are not walked.
 *
 * @example
 * ```ts
 * import { errorCodesIn } from "./api_record.ts";
 * errorCodesIn({ errorCode: 0, topics: [{ partitions: [{ errorCode: 3 }] }] }); // [3]
 * ```
 */
export function errorCodesIn(body: unknown): number[] {
  const found = new Set<number>();
  walk(body, found);
  return [...found].sort((a, b) => a - b);
}

function walk(value: unknown, found: Set<number>): void {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === "object") walk(item, found);
    }
    return;
  }
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === "number") {
      if (v !== 0 && (key === "errorCode" || key.endsWith("ErrorCode"))) found.add(v);
    } else if (v !== null && typeof v === "object") {
      walk(v, found);
    }
  }
}

/**
 * Aggregates what one process sent and appends each new fact as a line
 * through `append`. Use {@linkcode apiRecorder} for the process-wide one;
 * construct directly in tests.
 */
export class ApiRecorder {
  readonly #append: (line: string) => void;
  readonly #seen = new Set<string>();
  #broken = false;

  /** `append` writes one line (with its newline); if it throws, recording stops. */
  constructor(append: (line: string) => void) {
    this.#append = append;
  }

  /** False once a write failed: nothing more is recorded. */
  get active(): boolean {
    return !this.#broken;
  }

  /** The ranges `broker` advertised in its ApiVersions answer. */
  versions(broker: string, apis: ReadonlyArray<readonly [number, number, number]>): void {
    const sorted = [...apis].sort((a, b) => a[0] - b[0]);
    this.#emit(`v|${broker}|${sorted.join(";")}`, { kind: "versions", broker, apis: sorted });
  }

  /** A decoded response: ok when it carries no non-zero error code. */
  response(
    broker: string,
    api: { apiKey: number; name: string },
    version: number,
    body: unknown,
  ): void {
    if (this.#broken) return;
    const errors = errorCodesIn(body);
    const ok = errors.length === 0;
    this.#emit(`r|${broker}|${api.apiKey}|${version}|${ok ? "ok" : errors.join(",")}`, {
      kind: "response",
      broker,
      apiKey: api.apiKey,
      api: api.name,
      version,
      ok,
      ...(ok ? {} : { errors }),
    });
  }

  /** A request that got no decoded response. */
  failure(
    broker: string,
    api: { apiKey: number; name: string },
    version: number,
    failure: RequestFailure,
  ): void {
    this.#emit(`f|${broker}|${api.apiKey}|${version}|${failure}`, {
      kind: "response",
      broker,
      apiKey: api.apiKey,
      api: api.name,
      version,
      ok: false,
      failure,
    });
  }

  #emit(key: string, line: ApiRecordLine): void {
    if (this.#broken || this.#seen.has(key)) return;
    this.#seen.add(key);
    try {
      this.#append(JSON.stringify(line) + "\n");
    } catch {
      this.#broken = true;
    }
  }
}

let processRecorder: ApiRecorder | null | undefined;

/**
 * The process-wide recorder, or null when recording is off (the variable is
 * unset or unreadable without a prompt, or the directory is not writable).
 * Decided once per process (per worker).
 */
export function apiRecorder(): ApiRecorder | null {
  if (processRecorder === undefined) processRecorder = openRecorder();
  return processRecorder;
}

function openRecorder(): ApiRecorder | null {
  try {
    const env = Deno.permissions.querySync({ name: "env", variable: API_RECORD_DIR_ENV });
    if (env.state !== "granted") return null;
    const dir = Deno.env.get(API_RECORD_DIR_ENV);
    if (!dir) return null;
    const write = Deno.permissions.querySync({ name: "write", path: dir });
    if (write.state !== "granted") return null;
    const random = crypto.getRandomValues(new Uint32Array(2));
    const name = `api-${Deno.pid}-${random[0].toString(16)}${random[1].toString(16)}.jsonl`;
    const path = `${dir.replace(/\/+$/, "")}/${name}`;
    return new ApiRecorder((line) => Deno.writeTextFileSync(path, line, { append: true }));
  } catch {
    return null;
  }
}
