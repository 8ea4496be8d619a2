import assert from "node:assert/strict";
import { isRetriable } from "../protocol/errors.ts";
import * as errors from "./errors.ts";

Deno.test("isRetriable() is true for the network errors the consumer retries, false for the fatal ones", () => {
  const cases: [Error, boolean][] = [
    [new errors.ConnectionError("b:9092", "connection refused"), true],
    [new errors.RebootstrapRequiredError("b:9092", "not node 1"), true],
    [new errors.RequestTimeoutError("b:9092", "Fetch", 1000), true],
    [new errors.AuthenticationError("b:9092", "PLAIN", "bad password"), false],
    [new errors.TlsError("b:9092", "unknown issuer"), false],
    [new errors.UnsupportedVersionError("b:9092", "Fetch", "4-18", "0-3"), false],
  ];
  for (const [error, retriable] of cases) assert.equal(isRetriable(error), retriable, error.name);
});

Deno.test("UnsupportedVersionError names the API, both ranges and what to do", () => {
  const e = new errors.UnsupportedVersionError("b:9092", "OffsetFetch", "1-10", "0-0");
  assert.equal(e.api, "OffsetFetch");
  assert.equal(e.ours, "1-10");
  assert.equal(e.theirs, "0-0");
  assert.match(e.message, /supports OffsetFetch versions 0-0, this client speaks 1-10/);
  assert.match(e.message, /Kafka 3\.9 or later/);
  const missing = new errors.UnsupportedVersionError(
    "b:9092",
    "ConsumerGroupHeartbeat",
    "0-1",
    "none",
  );
  assert.match(missing.message, /does not offer the ConsumerGroupHeartbeat API/);
});
