/**
 * `deno task check` step: every public symbol of mod.ts and testing.ts, and
 * every public method of their classes, has an `@example` in its JSDoc
 * (GUIDE §7; `deno check --doc` then type-checks them). Prints what lacks
 * one and exits 1.
 *
 *     deno run -A scripts/check_examples.ts
 *
 * @module
 */

interface JsDoc {
  tags?: { kind: string }[];
}

interface DocNode {
  name: string;
  declarations?: DocDeclaration[];
}

interface DocDeclaration {
  kind: string;
  jsDoc?: JsDoc;
  def?: { methods?: { name: string; accessibility?: string; jsDoc?: JsDoc }[] };
}

const out = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--json", "mod.ts", "testing.ts"],
  stdout: "piped",
  stderr: "inherit",
}).output();
if (!out.success) Deno.exit(2);
const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as {
  nodes: Record<string, { symbols: DocNode[] }>;
};

const hasExample = (js?: JsDoc) => (js?.tags ?? []).some((t) => t.kind === "example");
const missing: string[] = [];
let checked = 0;
for (const { symbols } of Object.values(doc.nodes)) {
  for (const symbol of symbols) {
    for (const d of symbol.declarations ?? []) {
      checked++;
      if (!hasExample(d.jsDoc)) missing.push(`${symbol.name} (${d.kind})`);
      if (d.kind !== "class") continue;
      for (const m of d.def?.methods ?? []) {
        if (m.accessibility === "private") continue;
        checked++;
        if (!hasExample(m.jsDoc)) missing.push(`${symbol.name}.${m.name} (method)`);
      }
    }
  }
}
if (missing.length > 0) {
  console.error(`${missing.length} of ${checked} public symbols and methods have no @example:`);
  for (const m of missing) console.error(`  - ${m}`);
  Deno.exit(1);
}
console.log(
  `examples: all ${checked} public symbols and methods of mod.ts and testing.ts have one`,
);
