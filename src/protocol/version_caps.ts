/**
 * Caps on the versions we negotiate, kept apart from the generated
 * declarations (which say what Kafka defines): a cap says "we declare this
 * version but do not send it yet", with the reason. The coverage guard
 * (`scripts/coverage_guard.ts`) judges every API at its capped maximum, so a
 * version above a cap is never sent and never needs proof; lifting a cap
 * needs a test that sends the version to a real broker.
 *
 * Empty today: every declared stable version is sent and exercised. (The
 * generator already leaves out versions Kafka marks `latestVersionUnstable`.)
 *
 * @module
 */

import type { ApiSchema } from "./schema.ts";
import { parseVersions } from "./schema.ts";

/** One cap: the highest version of an API we send, and why. */
export interface VersionCap {
  /** Highest version we send. */
  readonly max: number;
  /** Why the versions above are not sent. */
  readonly why: string;
}

/** Caps by API key. */
export const VERSION_CAPS: ReadonlyMap<number, VersionCap> = new Map<number, VersionCap>([]);

/** Our version range of `api` after its cap: what we may negotiate. */
export function ourVersions(
  api: ApiSchema,
  caps: ReadonlyMap<number, VersionCap> = VERSION_CAPS,
): { min: number; max: number } {
  const declared = parseVersions(api.request.validVersions);
  const cap = caps.get(api.apiKey);
  return { min: declared.min, max: cap ? Math.min(cap.max, declared.max) : declared.max };
}
