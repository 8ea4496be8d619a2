/**
 * What one API handler of the embedded cluster is ({@linkcode Handler}), what
 * it is given ({@linkcode RequestContext}), and {@linkcode handler}, which
 * builds one served at {@linkcode servedVersions}. Its own file so that the
 * handler files (handlers.ts, group_handlers.ts, consumer_group_handlers.ts)
 * all build theirs the same way without importing each other.
 *
 * @module
 */

import type { ApiSchema, VersionRange } from "../protocol/schema.ts";
import type { ClusterState } from "./state.ts";
import { servedVersions } from "./versions.ts";

/** What a handler gets besides the request body. */
export interface RequestContext {
  /** The cluster state. */
  readonly state: ClusterState;
  /** The node id of the broker serving the request. */
  readonly nodeId: number;
  /** The request's API version. */
  readonly version: number;
  /** The request's client id. */
  readonly clientId: string | null;
  /** The client's host, as Kafka shows it ("/127.0.0.1"). */
  readonly clientHost: string;
  /** Aborts when the broker closes (ends held Fetches). */
  readonly signal: AbortSignal;
}

/** One API the embedded cluster serves. */
export interface Handler {
  /** The API's declaration. */
  readonly api: ApiSchema;
  /** Versions served. */
  readonly versions: VersionRange;
  /** Answers a request: the response body, or null for no response (acks=0 Produce). */
  handle(
    body: Record<string, unknown>,
    ctx: RequestContext,
  ): object | null | Promise<object | null>;
}

/** The handler of `api` answering with `handle`, served at {@linkcode servedVersions}. */
export function handler<Req>(
  api: ApiSchema<Req, unknown>,
  handle: (body: Req, ctx: RequestContext) => object | null | Promise<object | null>,
): Handler {
  return {
    api: api as ApiSchema,
    versions: servedVersions(api as ApiSchema),
    handle: handle as Handler["handle"],
  };
}
