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
