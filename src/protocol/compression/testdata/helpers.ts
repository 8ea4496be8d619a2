/**
 * Helpers shared by the codec tests: the fixture files next to this module,
 * and the one way they check that a decoder refuses input.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CorruptDataError } from "../../errors.ts";

/** The bytes of `testdata/<name>` (Kafka-written frames and their plaintext). */
export function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`./${name}`, import.meta.url));
}

/** Asserts that `fn` throws a CorruptDataError whose message matches `message`. */
export function throwsCorrupt(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CorruptDataError, `expected CorruptDataError, got ${e}`);
    assert.match(e.message, message);
    return true;
  });
}
