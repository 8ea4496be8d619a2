/**
 * The versions the embedded cluster serves of an API: the client's own range
 * ({@linkcode ourVersions}, the declaration after any version cap), within
 * the response's declared range. The declarations are generated from Kafka
 * 4.4.0's message definitions, so this is what a 4.4.0 broker advertises for
 * the APIs implemented here, with no second table to keep in step; a version
 * the client may not send (a cap) is not served either, because nothing
 * would exercise it.
 *
 * @module
 */

import { type ApiSchema, parseVersions, type VersionRange } from "../protocol/schema.ts";
import { ourVersions } from "../protocol/version_caps.ts";

/** The versions of `api` the embedded cluster advertises and serves. */
export function servedVersions(api: ApiSchema): VersionRange {
  const ours = ourVersions(api);
  const res = parseVersions(api.response.validVersions);
  return { min: Math.max(ours.min, res.min), max: Math.min(ours.max, res.max) };
}

/**
 * Checks the `advertisedVersions` option of the embedded cluster and turns
 * it into ranges by API key. A narrowed range simulates an older broker: its
 * maximum may not exceed what the cluster serves (`served`: the handlers'
 * ranges by API key), but its minimum may go below (an old broker's versions
 * that the declarations, and so the cluster, no longer cover: advertised,
 * never served). Anything else (an unknown or unserved API, min > max, a
 * negative version) is refused with a RangeError naming the API, before any
 * broker starts.
 */
export function narrowedVersions(
  requested: Readonly<Record<string, { min: number; max: number } | undefined>>,
  keys: Readonly<Record<string, number>>,
  served: (apiKey: number) => VersionRange | undefined,
): Map<number, VersionRange> {
  const out = new Map<number, VersionRange>();
  for (const [name, range] of Object.entries(requested)) {
    if (range === undefined) continue;
    const key = Object.hasOwn(keys, name) ? keys[name] : undefined;
    const can = key === undefined ? undefined : served(key);
    if (key === undefined || can === undefined) {
      throw new RangeError(`advertisedVersions: the embedded cluster does not serve "${name}"`);
    }
    const { min, max } = range;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || min > max) {
      throw new RangeError(
        `advertisedVersions.${name}: min and max must be integers with 0 <= min <= max, ` +
          `got ${min}-${max}`,
      );
    }
    if (max > can.max) {
      throw new RangeError(
        `advertisedVersions.${name}: ${min}-${max} goes above ${can.max}, the newest version ` +
          `the embedded cluster serves (${can.min}-${can.max})`,
      );
    }
    out.set(key, { min, max });
  }
  return out;
}

/**
 * The versions of a request the cluster answers: both served and
 * advertised; null when none is (then every request of the API closes the
 * connection, as Kafka does for a version it does not know).
 */
export function acceptedVersions(
  served: VersionRange,
  advertised: VersionRange | undefined,
): VersionRange | null {
  if (advertised === undefined) return served;
  const min = Math.max(served.min, advertised.min);
  const max = Math.min(served.max, advertised.max);
  return min <= max ? { min, max } : null;
}
