import assert from "node:assert/strict";
import { Secret } from "../secret.ts";
import { plainMessage, PlainSession } from "./plain.ts";

Deno.test("plainMessage is NUL username NUL password (empty authorization id)", () => {
  assert.deepEqual(
    [...plainMessage("alice", "pw")],
    [0, 97, 108, 105, 99, 101, 0, 112, 119],
  );
  assert.deepEqual([...plainMessage("é", "")], [0, 0xc3, 0xa9, 0]);
});

Deno.test("PlainSession sends one message, then is done", async () => {
  const s = new PlainSession("alice", new Secret("pw"));
  assert.equal(s.mechanism, "PLAIN");
  assert.deepEqual(await s.step(null), plainMessage("alice", "pw"));
  assert.equal(await s.step(new Uint8Array()), null);
});
