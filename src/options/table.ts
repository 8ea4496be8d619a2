/**
 * Option tables: each client's options declared once. An entry holds an
 * option's documentation, its public TypeScript type (as text) and its zod
 * schema, whose `.default(v)` is the default. From a table come the zod
 * shape that validates ({@linkcode shapeOf}), the resolved types
 * (`z.output` of that shape) and, through `scripts/gen_options.ts`
 * (`deno task gen:options`), the documented public interface with its
 * `@default` tags, written into a `*_generated.ts` file next to the table.
 *
 * @module
 */

import type { z } from "zod";

/**
 * One option.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import type { OptionSpec } from "./table.ts";
 * const lingerMs: OptionSpec = {
 *   doc: ["How long, in ms, a batch waits for more records."],
 *   type: "number",
 *   schema: z.number().int().min(0).default(5),
 * };
 * ```
 */
export interface OptionSpec<S extends z.ZodType = z.ZodType> {
  /** Markdown documentation of the option, one string per line: its JSDoc in the interface. */
  doc: string[];
  /** The option's type in the public interface, as TypeScript text. */
  type: string;
  /**
   * Validation. `.default(v)` gives the default (rendered as `@default`),
   * `.optional()` makes the option optional; neither: required.
   */
  schema: S;
  /**
   * The `@default` text when the default is computed (from other options)
   * rather than given by the schema, which is then `.optional()`.
   */
  defaultDoc?: string;
}

/**
 * The options of one public interface, by name, in the order they are
 * validated and documented.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import type { OptionTable } from "./table.ts";
 * const table = {
 *   lingerMs: { doc: ["Batch wait, in ms."], type: "number", schema: z.number().default(5) },
 * } satisfies OptionTable;
 * ```
 */
export type OptionTable = Record<string, OptionSpec>;

/**
 * The public interface generated from a table: its name, what it extends,
 * its own JSDoc (examples included), the types its option types name, and
 * the table.
 *
 * @example
 * ```ts
 * import type { InterfaceSpec } from "./table.ts";
 * const spec: InterfaceSpec = {
 *   name: "AdminOptions",
 *   doc: ["Options of the `Admin` client."],
 *   extends: { name: "ClientOptions", from: "../options/client_generated.ts" },
 *   imports: {},
 *   table: {},
 * };
 * ```
 */
export interface InterfaceSpec {
  /** Name of the generated interface. */
  name: string;
  /** JSDoc of the interface, one string per line (markdown; examples in fenced blocks). */
  doc: string[];
  /** The interface it extends, and the module (relative to the generated file) exporting it. */
  extends?: { name: string; from: string };
  /** Type names the option types use, by module (relative to the generated file). */
  imports: Record<string, string[]>;
  /** The options. */
  table: OptionTable;
}

/** The zod shape of a table: each option's schema, by name. */
export type ShapeOf<T extends OptionTable> = { [K in keyof T]: T[K]["schema"] };

/**
 * The zod shape of a table (each option's schema, in table order), for
 * `z.strictObject` or `parseFields`.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { shapeOf } from "./table.ts";
 * const shape = shapeOf({
 *   lingerMs: { doc: ["Batch wait, in ms."], type: "number", schema: z.number().default(5) },
 * });
 * z.strictObject(shape).parse({}).lingerMs; // 5
 * ```
 */
export function shapeOf<T extends OptionTable>(table: T): ShapeOf<T> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, spec] of Object.entries(table)) shape[key] = spec.schema;
  return shape as ShapeOf<T>;
}

/**
 * The default of an option as its schema declares it (`undefined` when it
 * has none), for rendering `@default`.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { schemaDefault } from "./table.ts";
 * schemaDefault(z.number().default(5)); // { value: 5 }
 * schemaDefault(z.number().optional()); // undefined
 * ```
 */
export function schemaDefault(schema: z.ZodType): { value: unknown } | undefined {
  const def = schema.def as { type: string; defaultValue?: unknown };
  return def.type === "default" ? { value: def.defaultValue } : undefined;
}

/**
 * Whether an option may be left out (its schema has a default or is
 * optional).
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { isOptional } from "./table.ts";
 * isOptional(z.string()); // false
 * isOptional(z.string().optional()); // true
 * ```
 */
export function isOptional(schema: z.ZodType): boolean {
  const type = (schema.def as { type: string }).type;
  return type === "default" || type === "optional";
}
