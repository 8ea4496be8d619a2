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
  assert.match(text, /import type \{ ClientOptions \} from "\.\/client_generated\.ts";/);
  assert.match(text, /import type \{ Mode \} from "\.\/demo\.ts";/);
  assert.match(text, /export interface DemoOptions extends ClientOptions \{/);
  assert.match(text, /\/\*\* Hosts\. \*\/\n  hosts: string\[\];/);
  assert.match(text, /\* Mode\.\n   \* @default \{"b"\}\n   \*\/\n  mode\?: Mode;/);
  assert.match(text, /@default \{\[1, 2\]\}\n   \*\/\n  sizes\?: number\[\];/);
  assert.match(text, /@default \{minMs\}\n   \*\/\n  maxMs\?: number;/);
  assert.match(text, /\/\*\* Note\. \*\/\n  note\?: string;/);
});
