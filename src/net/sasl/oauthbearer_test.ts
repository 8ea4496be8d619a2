import assert from "node:assert/strict";
import {
  jwtExpiry,
  oauthBearerMessage,
  OAuthBearerSession,
  OAuthBearerTokenCache,
} from "./oauthbearer.ts";
import { SaslMechanismError } from "./session.ts";

const dec = new TextDecoder();

function jwt(claims: Record<string, unknown>): string {
  const b = (o: unknown) =>
    btoa(JSON.stringify(o)).replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
  return `${b({ alg: "none" })}.${b(claims)}.`;
}

Deno.test("oauthBearerMessage is the RFC 7628 initial response with extensions", () => {
  assert.equal(dec.decode(oauthBearerMessage("tok")), "n,,\u0001auth=Bearer tok\u0001\u0001");
  assert.equal(
    dec.decode(oauthBearerMessage("tok", { logicalCluster: "lkc-1", x: "y" })),
    "n,,\u0001auth=Bearer tok\u0001logicalCluster=lkc-1\u0001x=y\u0001\u0001",
  );
});

Deno.test("jwtExpiry reads the exp claim in ms; other tokens have none", () => {
  assert.equal(jwtExpiry(jwt({ sub: "a", exp: 1700000000 })), 1700000000_000);
  assert.equal(jwtExpiry(jwt({ sub: "a" })), undefined);
  assert.equal(jwtExpiry("opaque-token"), undefined);
  assert.equal(jwtExpiry("a.!!!.c"), undefined);
});

Deno.test("OAuthBearerTokenCache caches a token until 80% of its lifetime, one fetch at a time", async () => {
  let now = 1_000_000;
  let calls = 0;
  const cache = new OAuthBearerTokenCache(async () => {
    calls++;
    await Promise.resolve();
    return { value: `t${calls}`, expiresAt: now + 10_000 };
  }, () => now);
  const [a, b] = await Promise.all([cache.get(), cache.get()]);
  assert.equal(calls, 1);
  assert.equal(a, b);
  assert.equal(a.reveal(), "t1");
  now += 7_999;
  assert.equal((await cache.get()).reveal(), "t1");
  now += 1;
  assert.equal((await cache.get()).reveal(), "t2");
  assert.equal(calls, 2);
});

Deno.test("OAuthBearerTokenCache uses a JWT's exp, and does not cache a token of unknown expiry", async () => {
  let now = 1_000_000_000;
  let calls = 0;
  const withExp = new OAuthBearerTokenCache(() => {
    calls++;
    return jwt({ sub: "a", exp: (now + 100_000) / 1000 });
  }, () => now);
  await withExp.get();
  now += 50_000;
  await withExp.get();
  assert.equal(calls, 1);
  let opaque = 0;
  const noExp = new OAuthBearerTokenCache(() => `opaque-${++opaque}`, () => now);
  await noExp.get();
  await noExp.get();
  assert.equal(opaque, 2);
});

Deno.test("OAuthBearerTokenCache refuses expired or empty tokens and wraps provider failures", async () => {
  const now = 5_000;
  await assert.rejects(
    new OAuthBearerTokenCache(() => ({ value: "t", expiresAt: now - 1 }), () => now).get(),
    /expired/,
  );
  await assert.rejects(new OAuthBearerTokenCache(() => "", () => now).get(), /no token/);
  await assert.rejects(
    new OAuthBearerTokenCache(() => Promise.reject(new Error("idp down")), () => now).get(),
    (e: unknown) => e instanceof SaslMechanismError && /idp down/.test(e.message),
  );
});

Deno.test("OAuthBearerSession acknowledges a server error with \\x01, then fails naming it", async () => {
  const s = new OAuthBearerSession(new OAuthBearerTokenCache(() => "tok"));
  assert.equal(s.mechanism, "OAUTHBEARER");
  assert.equal(dec.decode((await s.step(null))!), "n,,\u0001auth=Bearer tok\u0001\u0001");
  const err = new TextEncoder().encode('{"status":"invalid_token"}');
  assert.deepEqual([...(await s.step(err))!], [1]);
  await assert.rejects(s.step(new Uint8Array()), /invalid_token/);
});

Deno.test("OAuthBearerSession is done after an empty success answer", async () => {
  const s = new OAuthBearerSession(new OAuthBearerTokenCache(() => "tok"));
  await s.step(null);
  assert.equal(await s.step(new Uint8Array()), null);
});

Deno.test("OAuthBearerTokenCache never prints its token", async () => {
  const cache = new OAuthBearerTokenCache(() => "super-secret-token");
  const token = await cache.get();
  for (
    const shown of [
      Deno.inspect(cache),
      Deno.inspect(token),
      JSON.stringify({ cache, token }),
      `${token}`,
    ]
  ) {
    assert.ok(!shown.includes("super-secret-token"), shown);
  }
});
