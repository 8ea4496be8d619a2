// The documented options interfaces are generated from the option tables
// (scripts/gen_options.ts): a table changed without regenerating fails here.

import assert from "node:assert/strict";
import { z } from "zod";
import { generate, renderInterface } from "../scripts/gen_options.ts";

Deno.test("the generated options interfaces are what the tables give (else run deno task gen:options)", async () => {
  for (const { path, text } of await generate()) {
    const file = await Deno.readTextFile(new URL(`../${path}`, import.meta.url));
    assert.equal(file, text, `${path} is stale: run deno task gen:options`);
  }
});

Deno.test("renderInterface: @default comes from the schema's default, or from defaultDoc for a computed one; ? from optionality", () => {
  const text = renderInterface({
    name: "DemoOptions",
    doc: ["Demo."],
    extends: { name: "ClientOptions", from: "./client_generated.ts" },
    imports: { "./demo.ts": ["Mode"] },
    table: {
      hosts: { doc: ["Hosts."], type: "string[]", schema: z.array(z.string()) },
      mode: { doc: ["Mode."], type: "Mode", schema: z.enum(["a", "b"]).default("b") },
      sizes: { doc: ["Sizes."], type: "number[]", schema: z.array(z.number()).default([1, 2]) },
      maxMs: { doc: ["Max."], type: "number", schema: z.number().optional(), defaultDoc: "minMs" },
      note: { doc: ["Note."], type: "string", schema: z.string().optional() },
    },
  }, "demo");
  const has = (part: string) => assert.ok(text.includes(part), `${part}\nnot in\n${text}`);
  has('import type { ClientOptions } from "./client_generated.ts";');
  has('import type { Mode } from "./demo.ts";');
  has("export interface DemoOptions extends ClientOptions {");
  has("  /** Hosts. */\n  hosts: string[];");
  has('   * Mode.\n   * @default {"b"}\n   */\n  mode?: Mode;');
  has("   * @default {[1, 2]}\n   */\n  sizes?: number[];");
  has("   * @default {minMs}\n   */\n  maxMs?: number;");
  has("  /** Note. */\n  note?: string;");
});
