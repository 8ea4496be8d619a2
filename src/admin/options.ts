/**
 * The Admin client's options: {@linkcode AdminOptions} (the options every
 * client shares, plus a request timeout and an abort signal; declared in
 * {@linkcode adminInterface}, generated into `options_generated.ts` by
 * `deno task gen:options`) and their validation, the same way as the consumer's: a wrong or unknown option throws
 * a {@linkcode ConfigError} (subject "admin") at construction, before anything
 * connects.
 *
 * @module
 */

import type { z } from "zod";
import {
  clientOptionsSchema,
  type OptionsMatch,
  requestTimeoutSchema,
  resolveClient,
  type ResolvedClientOptions,
  signalSchema,
  startClientResolving,
} from "../options/client.ts";
import type { InterfaceSpec } from "../options/table.ts";
import type { AdminOptions } from "./options_generated.ts";

export type { AdminOptions } from "./options_generated.ts";

/**
 * The {@linkcode AdminOptions} interface, declared once: per option its docs,
 * public type and schema (validation and default). `scripts/gen_options.ts`
 * writes the interface into `options_generated.ts`.
 */
export const adminInterface = {
  name: "AdminOptions",
  doc: [
    "Options of the `Admin` client. Only `brokers` is required.",
    "",
    "@example",
    "```ts",
    'import type { AdminOptions } from "@sluice/kafka";',
    "const options: AdminOptions = {",
    '  brokers: ["127.0.0.1:9092"],',
    '  clientId: "ops-script",',
    "  requestTimeoutMs: 10_000,",
    "};",
    "```",
  ],
  extends: { name: "ClientOptions", from: "../options/client_generated.ts" },
  imports: {},
  table: {
    requestTimeoutMs: {
      doc: [
        "Time, in ms, a request may wait for its response. Calls that wait for",
        "the cluster (topic creation, deletion) also send it as the broker-side",
        "timeout unless the call names its own `timeoutMs`.",
      ],
      type: "number",
      schema: requestTimeoutSchema,
    },
    signal: {
      doc: [
        "Aborting it closes the client, as `close()` does.",
      ],
      type: "AbortSignal",
      schema: signalSchema,
    },
  },
} satisfies InterfaceSpec;

/** Kafka's Java (and some other clients') names for the admin client's options. */
const ALIASES = { defaultApiTimeoutMs: "requestTimeoutMs" };

const { shape, schema } = clientOptionsSchema(adminInterface.table);
type OptionKey = keyof typeof shape;
type Parsed = z.output<typeof schema>;
// Fails to compile when the generated AdminOptions is stale (run deno task gen:options).
const _optionsMatchSchema: OptionsMatch<AdminOptions, z.input<typeof schema>> = true;

/** {@linkcode AdminOptions} after validation: every default filled. */
export type ResolvedAdminOptions = ResolvedClientOptions;

/**
 * Validates the admin client's options and fills in the defaults. Nothing
 * connects. Every problem is reported at once, in one {@linkcode ConfigError}.
 *
 * @param input The options as the user gave them (anything: it is checked).
 * @returns The options with every default filled in.
 * @throws {ConfigError} naming each offending field and why.
 *
 * @example
 * ```ts
 * import { resolveAdminOptions } from "./options.ts";
 * const o = resolveAdminOptions({ brokers: "10.0.0.1:9092, 10.0.0.2:9092" });
 * o.brokers; // ["10.0.0.1:9092", "10.0.0.2:9092"]
 * o.requestTimeoutMs; // 30000
 * ```
 */
export function resolveAdminOptions(input: unknown): ResolvedAdminOptions {
  const names = { aliases: ALIASES, typeName: "AdminOptions", subject: "admin" } as const;
  const r = startClientResolving(input, shape, names);
  r.throwIfAny();
  return resolveClient(r.values as Parsed);
}
