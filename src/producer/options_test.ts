import assert from "node:assert/strict";
import { ConfigError } from "../options/issues.ts";
import { resolveProducerOptions } from "./options.ts";

Deno.test("resolveProducerOptions() fills Java's defaults", () => {
  const o = resolveProducerOptions({ brokers: "127.0.0.1:9092" });
  assert.equal(o.acks, -1);
  assert.equal(o.idempotent, true);
  assert.equal(o.lingerMs, 5);
  assert.equal(o.batchSize, 16384);
  assert.equal(o.bufferMemory, 32 * 1024 * 1024);
  assert.equal(o.deliveryTimeoutMs, 120000);
  assert.equal(o.maxInFlightRequestsPerConnection, 5);
  assert.equal(o.compression, 0);
});

Deno.test("resolveProducerOptions() turns default idempotence off for acks 0 or 1, as Java", () => {
  assert.equal(resolveProducerOptions({ brokers: "h:1", acks: 1 }).idempotent, false);
  assert.equal(resolveProducerOptions({ brokers: "h:1", acks: 0 }).idempotent, false);
  assert.equal(
    resolveProducerOptions({ brokers: "h:1", maxInFlightRequestsPerConnection: 6 }).idempotent,
    false,
  );
});

Deno.test("resolveProducerOptions() refuses explicit idempotence with acks 1 or 6 in flight", () => {
  try {
    resolveProducerOptions({
      brokers: "h:1",
      idempotent: true,
      acks: 1,
      maxInFlightRequestsPerConnection: 6,
    });
    assert.fail("no ConfigError");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.issues.map((i) => i.field), ["acks", "maxInFlightRequestsPerConnection"]);
  }
});

Deno.test("resolveProducerOptions() names each wrong field, and suggests Java's names", () => {
  try {
    resolveProducerOptions({
      brokers: "h:1",
      acks: 2,
      compression: "brotli",
      lingerMs: -1,
      enableIdempotence: true,
      deliveryTimeoutMs: 10,
    });
    assert.fail("no ConfigError");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const byField = Object.fromEntries(e.issues.map((i) => [i.field, i.reason]));
    assert.match(byField.acks, /must be 0, 1 or "all"/);
    assert.match(byField.compression, /must be "none", "gzip"/);
    assert.match(byField.lingerMs, /must be an integer >= 0/);
    assert.match(byField.enableIdempotence, /did you mean "idempotent"/);
    assert.match(e.message, /^Invalid producer options/);
  }
});

Deno.test("resolveProducerOptions() wants deliveryTimeoutMs >= lingerMs + requestTimeoutMs", () => {
  assert.throws(
    () => resolveProducerOptions({ brokers: "h:1", deliveryTimeoutMs: 1000 }),
    /deliveryTimeoutMs": must be at least lingerMs \+ requestTimeoutMs \(30005\)/,
  );
});
