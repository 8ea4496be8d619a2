/**
 * Request and response framing: the int32 size prefix and the request and
 * response headers around a message body.
 *
 * Request header v1 (non-flexible requests): api_key int16, api_version int16,
 * correlation_id int32, client_id nullable string. v2 (flexible requests) adds
 * an empty tagged-field section; client_id stays a classic int16-length string.
 * Response header v0: correlation_id; v1 (flexible responses) adds tagged
 * fields, except ApiVersions, whose response header is always v0 so that a
 * client can parse it before versions are known.
 *
 * @module
 */

import { compile } from "./codec.ts";
import { ErrorCode } from "./error_codes.ts";
import { CorruptDataError } from "./errors.ts";
import { ApiVersionsApi } from "./messages/api_versions.ts";
import { Reader } from "./reader.ts";
import { type ApiSchema, inRange, parseVersions } from "./schema.ts";
import { utf8Length, Writer } from "./writer.ts";

const API_VERSIONS_KEY = ApiVersionsApi.apiKey;

/** Encodes a full request frame, size prefix included. */
export function encodeRequest(
  api: ApiSchema,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: object,
  sizeHint = 128,
): Uint8Array {
  const compiled = compile(api.request, version);
  // A good hint (a Produce request's record bytes) saves regrowing copies.
  const w = new Writer(sizeHint);
  w.int32(0); // size, patched below
  w.int16(api.apiKey).int16(version).int32(correlationId);
  if (clientId === null) w.int16(-1);
  else {
    w.int16(utf8Length(clientId));
    w.utf8(clientId);
  }
  if (compiled.flexible) w.uvarint(0);
  compiled.encode(w, body);
  w.patchInt32(0, w.pos - 4);
  return w.bytes();
}

/** Whether the response of `api` at `version` carries header v1 (tagged fields). */
export function responseHeaderFlexible(api: ApiSchema, version: number): boolean {
  if (api.apiKey === API_VERSIONS_KEY) return false;
  return inRange(parseVersions(api.response.flexibleVersions), version);
}

/** Reads the correlation id of a response frame (the bytes after the size). */
export function peekCorrelationId(frame: Uint8Array): number {
  if (frame.length < 4) {
    throw new CorruptDataError(`Response frame of ${frame.length} bytes has no correlation id`);
  }
  return ((frame[0] << 24) | (frame[1] << 16) | (frame[2] << 8) | frame[3]) | 0;
}

/** Decodes the body of a response frame (the bytes after the size prefix). */
export function decodeResponse<Res>(
  api: ApiSchema<unknown, Res>,
  version: number,
  frame: Uint8Array,
): Res {
  const r = new Reader(frame);
  r.int32(); // correlation id, matched by the caller
  if (responseHeaderFlexible(api, version)) {
    const n = r.uvarint();
    for (let i = 0; i < n; i++) {
      r.uvarint();
      r.skip(r.uvarint());
    }
  }
  // A broker that does not speak the ApiVersions version we sent answers
  // UNSUPPORTED_VERSION in the v0 layout, with its own range so that the
  // client can ask again (KIP-511). The error code leads the body in every
  // version, so it tells which layout follows.
  const unsupported = api.apiKey === API_VERSIONS_KEY && r.remaining >= 2 &&
    new DataView(frame.buffer, frame.byteOffset + r.pos, 2).getInt16(0) ===
      ErrorCode.UNSUPPORTED_VERSION;
  return compile(api.response, unsupported ? 0 : version).decode(r) as Res;
}

/**
 * Decodes a request frame (the bytes after the size prefix): what a broker
 * does. Used by the embedded cluster and by tests.
 */
export function decodeRequestHeader(
  frame: Uint8Array,
): {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  reader: Reader;
} {
  const r = new Reader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const n = r.int16();
  const clientId = n < 0 ? null : r.utf8(n);
  return { apiKey, apiVersion, correlationId, clientId, reader: r };
}
