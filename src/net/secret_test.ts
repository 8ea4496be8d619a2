import assert from "node:assert/strict";
import { inspect } from "node:util";
import { scrub, Secret } from "./secret.ts";

Deno.test("Secret never shows its value when printed, serialized or interpolated", () => {
  const s = new Secret("hunter2");
  const holder = { password: s, nested: { list: [s] } };
  for (
    const shown of [
      Deno.inspect(s),
      Deno.inspect(holder, { depth: 10, showHidden: true }),
      JSON.stringify(holder),
      String(s),
      `${s}`,
      inspect(holder, { depth: 10, showHidden: true }),
      Object.keys(s).join(","),
    ]
  ) {
    assert.ok(!shown.includes("hunter2"), shown);
  }
  assert.equal(
    JSON.stringify(holder),
    '{"password":"<redacted>","nested":{"list":["<redacted>"]}}',
  );
  assert.equal(s.reveal(), "hunter2");
});

Deno.test("scrub() removes secret values from text", () => {
  assert.equal(scrub("bad password hunter2!", [new Secret("hunter2")]), "bad password <redacted>!");
  assert.equal(scrub("nothing here", [undefined, new Secret("x")]), "nothing here");
});
