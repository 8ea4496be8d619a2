/**
 * The error of an admin call about several items (topics, groups,
 * partitions, resources) where more than one failed.
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";

/**
 * Several items of one admin call failed. Every item was tried; `errors`
 * holds each failure (usually a `KafkaProtocolError` naming the topic, group
 * or resource and carrying the broker's message), in the order of the items.
 * Items not listed succeeded. When exactly one item fails, the call throws
 * that item's error itself, not this.
 *
 * @example
 * ```ts
 * import { AdminBatchError, KafkaProtocolError } from "@sluice/kafka";
 * const e = new AdminBatchError("createTopics", [
 *   new KafkaProtocolError(36, { apiName: "CreateTopics", topic: "a" }),
 *   new KafkaProtocolError(17, { apiName: "CreateTopics", topic: "b." }),
 * ]);
 * e.errors.length; // 2
 * e.message.split("\n")[0]; // "createTopics failed for 2 items:"
 * ```
 */
export class AdminBatchError extends KafkaError {
  /** Each item's error, in the order of the items. */
  readonly errors: readonly unknown[];
  /** True when every item's error is retriable. */
  override readonly retriable: boolean;

  /** Creates the error for the call named `call` from its items' errors. */
  constructor(call: string, errors: readonly unknown[], options?: ErrorOptions) {
    const lines = errors.map((e) => `  - ${e instanceof Error ? e.message : String(e)}`);
    super(`${call} failed for ${errors.length} items:\n${lines.join("\n")}`, options);
    this.errors = [...errors];
    this.retriable = errors.length > 0 &&
      errors.every((e) => e instanceof KafkaError && e.retriable);
  }
}

/**
 * Runs `run` for every item at once and waits for all of them: their
 * results in item order, or (after all finished) the one failure, or an
 * {@linkcode AdminBatchError} listing several.
 */
export async function forEachItem<T, R>(
  call: string,
  items: readonly T[],
  run: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const settled = await Promise.allSettled(items.map((item, i) => run(item, i)));
  const errors = settled.flatMap((s) => s.status === "rejected" ? [s.reason] : []);
  throwFailures(call, errors);
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}

/** Throws nothing for no errors, the error itself for one, an {@linkcode AdminBatchError} for more. */
export function throwFailures(call: string, errors: readonly unknown[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AdminBatchError(call, errors);
}
