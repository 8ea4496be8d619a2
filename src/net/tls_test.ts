import assert from "node:assert/strict";
import { ConnectionError, TlsError } from "./errors.ts";
import { classifyTlsError } from "./tls.ts";

Deno.test("classifyTlsError makes certificate problems TlsErrors that say what to check", () => {
  const cases: [string, RegExp][] = [
    ["invalid peer certificate: UnknownIssuer", /tls\.caCerts/],
    ["invalid peer certificate: NotValidForName", /does not name this host/],
    ["invalid peer certificate: Expired", /validity period/],
    ["received fatal alert: CertificateRequired", /tls\.cert and tls\.key/],
    ["received fatal alert: BadCertificate", /tls\.cert and tls\.key/],
  ];
  for (const [message, hint] of cases) {
    const e = classifyTlsError("127.0.0.1:9093", new Deno.errors.InvalidData(message));
    assert.ok(e instanceof TlsError, message);
    assert.equal(e.retriable, false);
    assert.match(e.message, hint);
    assert.ok(e.message.includes("127.0.0.1:9093"));
  }
});

Deno.test("classifyTlsError leaves socket failures as retriable ConnectionErrors", () => {
  const e = classifyTlsError("127.0.0.1:9093", new Deno.errors.ConnectionRefused("refused"));
  assert.ok(e instanceof ConnectionError);
  assert.match(e.message, /connection refused/);
});
