import assert from "node:assert/strict";
import { Admin, ConfigError, Secret } from "../../mod.ts";
import { resolveAdminOptions } from "./options.ts";

function configError(options: unknown): ConfigError {
  try {
    resolveAdminOptions(options);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("resolveAdminOptions() fills the shared defaults", () => {
  const o = resolveAdminOptions({ brokers: "a:9092, b:9092,a:9092" });
  assert.deepEqual(o.brokers, ["a:9092", "b:9092"]);
  assert.equal(o.clientId, "sluice");
  assert.equal(o.requestTimeoutMs, 30000);
  assert.deepEqual(o.retryBackoff, { initialMs: 100, maxMs: 1000 });
  assert.equal(o.bootstrapTimeoutMs, 60000);
});

Deno.test("resolveAdminOptions() names the wrong field, with subject admin", () => {
  const e = configError({ brokers: "127.0.0.1:9092", requestTimeoutMs: 0 });
  assert.equal(e.field, "requestTimeoutMs");
  assert.match(
    e.message,
    /^Invalid admin option "requestTimeoutMs": must be an integer >= 1 \(got 0\)$/,
  );
});

Deno.test("resolveAdminOptions() catches unknown keys and suggests the right one", () => {
  const typo = configError({ brokers: "127.0.0.1:9092", requestTimeoutMS: 5 });
  assert.equal(typo.field, "requestTimeoutMS");
  assert.match(typo.message, /did you mean "requestTimeoutMs"/);
  const java = configError({ bootstrapServers: "127.0.0.1:9092" });
  assert.deepEqual(java.issues.map((i) => i.field).sort(), ["bootstrapServers", "brokers"]);
  assert.match(java.message, /did you mean "brokers"/);
  // Consumer options are not admin options.
  const consumer = configError({ brokers: "127.0.0.1:9092", groupId: "g" });
  assert.equal(consumer.field, "groupId");
  assert.match(consumer.message, /unknown option/);
});

Deno.test("resolveAdminOptions() checks rules across fields and never prints secrets", () => {
  const e = configError({
    brokers: "127.0.0.1:9092",
    retryBackoffMs: 500,
    retryBackoffMaxMs: 100,
    sasl: { mechanism: "plain", username: "u", password: 42 },
  });
  assert.deepEqual(e.issues.map((i) => i.field).sort(), ["retryBackoffMaxMs", "sasl.password"]);
  assert.doesNotMatch(e.message, /42/);
  const ok = resolveAdminOptions({
    brokers: ["[::1]:9092"],
    sasl: { mechanism: "scram-sha-256", username: "u", password: "hunter2" },
  });
  assert.ok(ok.sasl !== undefined && "password" in ok.sasl && ok.sasl.password instanceof Secret);
  assert.doesNotMatch(Deno.inspect(ok), /hunter2/);
});

Deno.test("resolveAdminOptions() refuses what is not an object", () => {
  for (const input of [undefined, null, "127.0.0.1:9092", []]) {
    const e = configError(input);
    assert.equal(e.field, "");
    assert.match(e.message, /^Invalid admin options: must be an object/);
  }
  assert.match(configError({}).message, /"brokers": is required/);
});

Deno.test("new Admin() throws ConfigError before connecting; close() is idempotent", async () => {
  assert.throws(() => new Admin({ brokers: "no-port" }), ConfigError);
  const admin = new Admin({ brokers: "127.0.0.1:1" });
  await admin.close();
  await admin.close();
  await assert.rejects(admin.listTopics(), /closed/);
});
