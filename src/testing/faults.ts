/**
 * Fault injection of the embedded cluster: interception rules matched per
 * request (API key, broker), what a matched request gets (an error code, a
 * delay, a dropped connection, no answer), and latency added to every
 * response.
 *
 * @module
 */

import { DECLARED_APIS } from "../protocol/apis.ts";
import type * as messages from "../protocol/messages/mod.ts";

/**
 * The name of a Kafka API, as {@linkcode InterceptOptions.apiKey} accepts it.
 *
 * @example
 * ```ts
 * import type { ApiName } from "@sluice/kafka/testing";
 *
 * const api: ApiName = "Fetch";
 * ```
 */
export type ApiName = {
  [K in keyof typeof messages]: K extends `${infer Name}Api` ? Name : never;
}[keyof typeof messages];

/**
 * API keys by name, from the generated declarations (src/protocol/messages):
 * every API sluice declares, none written twice.
 */
export const API_KEYS: Readonly<Record<ApiName, number>> = Object.fromEntries(
  DECLARED_APIS.map((api) => [api.name, api.apiKey]),
) as Record<ApiName, number>;

/**
 * What an intercepted request gets.
 *
 * - `{ errorCode }`: the request is served as usual (a Fetch without waiting:
 *   its max wait is taken as 0), then the response's error codes are
 *   overwritten: every `errorCode` field of its entries (partition, topic or
 *   group level, at any depth) when it has entries carrying one, the
 *   top-level `errorCode` otherwise (JoinGroup, Heartbeat, ApiVersions…).
 *   Records of the overwritten entries are emptied.
 * - `{ delayMs }`: the answer is delayed.
 * - `{ drop: true }`: the connection is closed on receipt, unanswered.
 * - `{ hang: true }`: no answer until the rule is removed (then the request
 *   is served as usual) or the broker stops.
 * - `{ rewrite }`: the request is served as usual, then `rewrite` changes the
 *   decoded response object in place before it is encoded (e.g. a top-level
 *   `errorCode` of a Fetch, or a fetch `sessionId`). It gets the decoded
 *   request too.
 * - `{ mutate }`: the request is served as usual and encoded, then `mutate`
 *   gets the whole response frame (the 4-byte size prefix, the header with
 *   the correlation id, the body) and returns the bytes sent instead, as
 *   they are: any length, any content (corrupt sizes, truncated frames,
 *   wrong correlation ids, damaged record batches). An empty array sends
 *   nothing (the request stays unanswered on an open connection). It gets
 *   the request too (API key, version, body).
 * - `{ observe: true }`: the request is only recorded (see
 *   {@linkcode Interception.requests}) and served as usual; unlike the other
 *   actions it does not stop the search, so a later rule may still apply.
 *
 * @example
 * ```ts
 * import type { FaultAction } from "@sluice/kafka/testing";
 *
 * const notLeader: FaultAction = { errorCode: 6 }; // NOT_LEADER_OR_FOLLOWER
 * const slow: FaultAction = { delayMs: 500 };
 * const sessionGone: FaultAction = { rewrite: (res) => void (res.errorCode = 70) };
 * const flipped: FaultAction = {
 *   mutate: (frame) => {
 *     const out = frame.slice();
 *     out[out.length - 1] ^= 0x01;
 *     return out;
 *   },
 * };
 * ```
 */
export type FaultAction =
  | { readonly errorCode: number }
  | { readonly delayMs: number }
  | { readonly drop: true }
  | { readonly hang: true }
  | {
    readonly rewrite: (
      response: Record<string, unknown>,
      request: Readonly<Record<string, unknown>>,
    ) => void;
  }
  | { readonly mutate: (frame: Uint8Array, request: ObservedRequest) => Uint8Array }
  | { readonly observe: true };

/**
 * A request as an {@linkcode Interception} recorded it.
 *
 * @example
 * ```ts
 * import { EmbeddedCluster } from "@sluice/kafka/testing";
 *
 * await using cluster = await EmbeddedCluster.start();
 * const seen = cluster.intercept({ apiKey: "Metadata", action: { observe: true } });
 * // ... run a client, then:
 * for (const r of seen.requests) console.log(r.atMs, r.broker, r.body.topics);
 * ```
 */
export interface ObservedRequest {
  /** When it arrived: `performance.now()` of the broker's process, in ms. */
  readonly atMs: number;
  /** Node id of the broker that received it. */
  readonly broker: number;
  /** API key. */
  readonly apiKey: number;
  /** API version of the request. */
  readonly version: number;
  /** The client id of the request header. */
  readonly clientId: string | null;
  /** The decoded request body (field names as in the protocol declarations, camelCased). */
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * Options of {@linkcode EmbeddedCluster.intercept}.
 *
 * @example
 * ```ts
 * import type { InterceptOptions } from "@sluice/kafka/testing";
 *
 * const rule: InterceptOptions = { apiKey: "Fetch", broker: 0, times: 3, action: { errorCode: 6 } };
 * ```
 */
export interface InterceptOptions {
  /** The API intercepted, by key (1) or name ("Fetch"). */
  readonly apiKey: number | ApiName;
  /** Only requests to this broker (node id). @default every broker */
  readonly broker?: number;
  /** Only requests whose header carries this client id. @default every client */
  readonly clientId?: string;
  /** How many requests the rule intercepts before it removes itself. @default until removed */
  readonly times?: number;
  /** What the intercepted requests get. */
  readonly action: FaultAction;
}

/**
 * An installed interception rule (see {@linkcode EmbeddedCluster.intercept}).
 *
 * @example
 * ```ts
 * import { EmbeddedCluster } from "@sluice/kafka/testing";
 *
 * await using cluster = await EmbeddedCluster.start();
 * const rule = cluster.intercept({ apiKey: "Fetch", action: { delayMs: 200 } });
 * // ... later
 * console.log(rule.hits);
 * rule.remove();
 * ```
 */
export interface Interception {
  /** Requests intercepted so far. */
  readonly hits: number;
  /** Every request intercepted so far, in arrival order. */
  readonly requests: readonly ObservedRequest[];
  /** False once removed or its `times` are used up. */
  readonly active: boolean;
  /** Removes the rule (releases requests it holds with `hang`). Idempotent. */
  remove(): void;
}

/** Resolves an API key or name to the key; throws on an unknown name. */
export function resolveApiKey(apiKey: number | ApiName): number {
  if (typeof apiKey === "number") {
    if (!Number.isInteger(apiKey) || apiKey < 0) {
      throw new RangeError(`apiKey must be a non-negative integer, got ${apiKey}`);
    }
    return apiKey;
  }
  const key = (API_KEYS as Record<string, number>)[apiKey];
  if (key === undefined) throw new RangeError(`unknown API name "${apiKey}"`);
  return key;
}

/** One rule, as {@linkcode FaultRules} holds it. */
export class FaultRule implements Interception {
  /** The API key matched. */
  readonly apiKey: number;
  /** The broker matched, or undefined for all. */
  readonly broker: number | undefined;
  /** The client id matched, or undefined for all. */
  readonly clientId: string | undefined;
  /** The action. */
  readonly action: FaultAction;
  readonly #times: number;
  readonly #owner: FaultRules;
  readonly #removed = new AbortController();
  readonly #requests: ObservedRequest[] = [];
  #hits = 0;
  #usedUp = false;

  /** Builds a rule of `owner` (use {@linkcode FaultRules.add}). */
  constructor(owner: FaultRules, options: InterceptOptions) {
    this.#owner = owner;
    this.apiKey = resolveApiKey(options.apiKey);
    this.broker = options.broker;
    this.clientId = options.clientId;
    const times = options.times ?? Infinity;
    if (!(times > 0) || (times !== Infinity && !Number.isInteger(times))) {
      throw new RangeError(`times must be a positive integer, got ${times}`);
    }
    this.#times = times;
    this.action = checkAction(options.action);
  }

  /** Requests intercepted so far. */
  get hits(): number {
    return this.#hits;
  }

  /** Every request intercepted so far, in arrival order. */
  get requests(): readonly ObservedRequest[] {
    return this.#requests;
  }

  /** False once removed or used up. */
  get active(): boolean {
    return !this.#usedUp && !this.#removed.signal.aborted;
  }

  /** Aborts when the rule is removed (by remove() only, not when used up). */
  get removedSignal(): AbortSignal {
    return this.#removed.signal;
  }

  /** Whether the rule applies to a request to `nodeId` with `apiKey` (from `clientId`). */
  matches(apiKey: number, nodeId: number, clientId?: string | null): boolean {
    return this.active && apiKey === this.apiKey &&
      (this.broker === undefined || this.broker === nodeId) &&
      (this.clientId === undefined || this.clientId === clientId);
  }

  /** Counts a hit (recording the request); the rule leaves its set when its times are used up. */
  hit(request?: ObservedRequest): void {
    if (request) this.#requests.push(request);
    this.#hits++;
    if (this.#hits >= this.#times) {
      this.#usedUp = true;
      this.#owner.delete(this);
    }
  }

  /** Removes the rule. */
  remove(): void {
    this.#owner.delete(this);
    this.#removed.abort();
  }
}

function checkAction(action: FaultAction): FaultAction {
  const a = action as Record<string, unknown>;
  const kinds = ["errorCode", "delayMs", "drop", "hang", "rewrite", "mutate", "observe"];
  const keys = kinds.filter((k) => a[k] !== undefined);
  if (keys.length !== 1) {
    throw new TypeError(`action must have exactly one of ${kinds.join(", ")}`);
  }
  if ("errorCode" in a && a.errorCode !== undefined) {
    const c = a.errorCode as number;
    if (!Number.isInteger(c) || c < -1 || c > 32767) {
      throw new RangeError(`errorCode must be an int16, got ${c}`);
    }
  }
  if ("delayMs" in a && a.delayMs !== undefined) {
    const d = a.delayMs as number;
    if (!(d >= 0) || d === Infinity) {
      throw new RangeError(`delayMs must be a finite non-negative number, got ${d}`);
    }
  }
  if ("drop" in a && a.drop !== undefined && a.drop !== true) {
    throw new TypeError("drop must be true");
  }
  if ("hang" in a && a.hang !== undefined && a.hang !== true) {
    throw new TypeError("hang must be true");
  }
  if ("observe" in a && a.observe !== undefined && a.observe !== true) {
    throw new TypeError("observe must be true");
  }
  for (const k of ["rewrite", "mutate"]) {
    if (k in a && a[k] !== undefined && typeof a[k] !== "function") {
      throw new TypeError(`${k} must be a function`);
    }
  }
  return action;
}

/** The interception rules of a cluster and its added latency. */
export class FaultRules {
  readonly #rules: FaultRule[] = [];
  /** Latency added to every response, in ms. */
  latencyMs = 0;

  /** Installs a rule (after the existing ones: the first match wins). */
  add(options: InterceptOptions): FaultRule {
    const rule = new FaultRule(this, options);
    this.#rules.push(rule);
    return rule;
  }

  /** Takes a rule out of the set (the rule stays usable as a record). */
  delete(rule: FaultRule): void {
    const i = this.#rules.indexOf(rule);
    if (i >= 0) this.#rules.splice(i, 1);
  }

  /**
   * The first rule matching a request, counting the hit; undefined when none.
   * Matching `observe` rules on the way record the request and the search
   * goes on. `request`, when given, is recorded by every rule that hits.
   */
  match(apiKey: number, nodeId: number, request?: ObservedRequest): FaultRule | undefined {
    for (const rule of this.#rules.slice()) {
      if (!rule.matches(apiKey, nodeId, request?.clientId)) continue;
      rule.hit(request);
      if (!("observe" in rule.action)) return rule;
    }
    return undefined;
  }

  /** Installed rules, in match order. */
  get rules(): readonly FaultRule[] {
    return this.#rules.slice();
  }

  /** Removes every rule. */
  clear(): void {
    for (const r of this.#rules.slice()) r.remove();
  }
}

/**
 * Overwrites a response's error codes with `errorCode`, in place: every
 * `errorCode` field found in array entries at any depth (emptying their
 * `records`), or when there is none the top-level `errorCode`. Returns the
 * response.
 */
export function overwriteErrorCodes<T extends object>(response: T, errorCode: number): T {
  let nested = 0;
  const visit = (value: unknown, inArray: boolean): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v, true);
      return;
    }
    if (value === null || typeof value !== "object" || value instanceof Uint8Array) return;
    const o = value as Record<string, unknown>;
    if (inArray && "errorCode" in o) {
      o.errorCode = errorCode;
      if (o.records instanceof Uint8Array) o.records = new Uint8Array(0);
      nested++;
    }
    for (const v of Object.values(o)) if (typeof v === "object") visit(v, false);
  };
  const top = response as Record<string, unknown>;
  for (const v of Object.values(top)) if (typeof v === "object") visit(v, false);
  if (nested === 0) top.errorCode = errorCode;
  return response;
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
