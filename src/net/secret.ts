/**
 * A holder for passwords, private keys and tokens that never prints its
 * value: `Deno.inspect`, `console.log`, `String()`, template strings and
 * `JSON.stringify` all show `<redacted>`. Only {@linkcode Secret.reveal}
 * gives the value, at the one place that sends it.
 *
 * @module
 */

const REDACTED = "<redacted>";

/**
 * A secret string (a password, a private key, a token). Printing it in any
 * way shows `<redacted>`.
 *
 * @example
 * ```ts
 * import { Secret } from "@sluice/kafka";
 * const password = new Secret("hunter2");
 * `${password}`; // "<redacted>"
 * JSON.stringify({ password }); // '{"password":"<redacted>"}'
 * Deno.inspect(password); // "<redacted>"
 * password.reveal(); // "hunter2"
 * ```
 */
export class Secret {
  // A private field: not an own property, so no inspector or serializer sees it.
  readonly #value: string;

  /** Wraps `value`. */
  constructor(value: string) {
    this.#value = value;
  }

  /**
   * The value itself: call it only where the secret is used.
   *
   * @example
   * ```ts
   * import { Secret } from "@sluice/kafka";
   * new Secret("hunter2").reveal(); // "hunter2"
   * ```
   */
  reveal(): string {
    return this.#value;
  }

  /**
   * `<redacted>`.
   *
   * @example
   * ```ts
   * import { Secret } from "@sluice/kafka";
   * `${new Secret("hunter2")}`; // "<redacted>"
   * ```
   */
  toString(): string {
    return REDACTED;
  }

  /**
   * `<redacted>`: `JSON.stringify` never shows the value.
   *
   * @example
   * ```ts
   * import { Secret } from "@sluice/kafka";
   * JSON.stringify({ password: new Secret("hunter2") }); // {"password":"<redacted>"}
   * ```
   */
  toJSON(): string {
    return REDACTED;
  }

  /**
   * `<redacted>` for `Deno.inspect` and `console.log`.
   *
   * @example
   * ```ts
   * import { Secret } from "@sluice/kafka";
   * Deno.inspect(new Secret("hunter2")); // "<redacted>"
   * ```
   */
  [Symbol.for("Deno.customInspect")](): string {
    return REDACTED;
  }

  /**
   * `<redacted>` for `node:util`'s inspect.
   *
   * @example
   * ```ts
   * import { inspect } from "node:util";
   * import { Secret } from "@sluice/kafka";
   * inspect(new Secret("hunter2")); // "<redacted>"
   * ```
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}

/**
 * Removes every occurrence of the secrets' values from `text` (e.g. a
 * broker's error message that might echo what it received).
 */
export function scrub(text: string, secrets: readonly (Secret | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    const v = s?.reveal();
    if (v && v.length >= 3) out = out.split(v).join(REDACTED);
  }
  return out;
}
