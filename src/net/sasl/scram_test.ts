import assert from "node:assert/strict";
import { Secret } from "../secret.ts";
import { parseScramAttributes, saslName, scramNonce, ScramSession } from "./scram.ts";
import { SaslMechanismError } from "./session.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// RFC 7677 section 3: SCRAM-SHA-256, user "user", password "pencil".
const NONCE = "rOprNGfwEbeRWgbNEkqO";
const SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
  "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const CLIENT_FINAL = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
  "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

Deno.test("ScramSession produces RFC 7677's SCRAM-SHA-256 messages and accepts its server signature", async () => {
  const s = new ScramSession("SHA-256", "user", new Secret("pencil"), NONCE);
  assert.equal(s.mechanism, "SCRAM-SHA-256");
  assert.equal(dec.decode((await s.step(null))!), `n,,n=user,r=${NONCE}`);
  assert.equal(dec.decode((await s.step(enc.encode(SERVER_FIRST)))!), CLIENT_FINAL);
  assert.equal(await s.step(enc.encode(SERVER_FINAL)), null);
});

Deno.test("ScramSession refuses a server signature that does not verify", async () => {
  const s = new ScramSession("SHA-256", "user", new Secret("pencil"), NONCE);
  await s.step(null);
  await s.step(enc.encode(SERVER_FIRST));
  const forged = "v=" + btoa("x".repeat(32));
  await assert.rejects(s.step(enc.encode(forged)), (e: unknown) => {
    assert.ok(e instanceof SaslMechanismError);
    assert.match(e.message, /signature does not match/);
    assert.ok(!e.message.includes("pencil"));
    return true;
  });
});

Deno.test("ScramSession with the wrong password computes a different proof", async () => {
  const s = new ScramSession("SHA-256", "user", new Secret("pencil2"), NONCE);
  await s.step(null);
  const final = dec.decode((await s.step(enc.encode(SERVER_FIRST)))!);
  assert.notEqual(final, CLIENT_FINAL);
  assert.ok(final.startsWith("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p="));
});

Deno.test("ScramSession reports a server error (e=...) as a mechanism error", async () => {
  const s = new ScramSession("SHA-512", "user", new Secret("pencil"), NONCE);
  await s.step(null);
  await s.step(enc.encode(SERVER_FIRST));
  await assert.rejects(s.step(enc.encode("e=invalid-proof")), /refused: invalid-proof/);
});

Deno.test("ScramSession refuses a nonce that does not extend ours, and too few iterations", async () => {
  for (
    const [first, why] of [
      ["r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", /nonce/],
      [`r=${NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, /nonce/],
      [`r=${NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1`, /iteration/],
      [`r=${NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999`, /iteration/],
      [`r=${NONCE}x,i=4096`, /lacks/],
      [`r=${NONCE}x,s=!!notbase64,i=4096`, /base64/],
      ["garbage", /malformed/],
    ] as const
  ) {
    const s = new ScramSession("SHA-256", "user", new Secret("pencil"), NONCE);
    await s.step(null);
    await assert.rejects(s.step(enc.encode(first)), why, first);
  }
});

Deno.test("ScramSession SHA-512 messages have a 64-byte proof", async () => {
  const s = new ScramSession("SHA-512", "alice", new Secret("alice-secret"), NONCE);
  assert.equal(s.mechanism, "SCRAM-SHA-512");
  await s.step(null);
  const final = dec.decode((await s.step(enc.encode(SERVER_FIRST)))!);
  const proof = parseScramAttributes(final).get("p")!;
  assert.equal(atob(proof).length, 64);
});

Deno.test("saslName escapes = and , and scramNonce is random and comma-free", () => {
  assert.equal(saslName("a=b,c"), "a=3Db=2Cc");
  const a = scramNonce();
  const b = scramNonce();
  assert.notEqual(a, b);
  assert.ok(!a.includes(","));
  assert.equal(atob(a).length, 24);
});
