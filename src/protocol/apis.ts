/**
 * The generated API declarations as collections: every `XxxApi` that
 * `messages/mod.ts` exports, in a list and by key and name. The one place
 * that walks the generated module, for code that looks APIs up at run time.
 *
 * @module
 */

import * as messages from "./messages/mod.ts";
import type { ApiSchema } from "./schema.ts";

/** Every declared API (not the data structures), ordered by API key. */
export const DECLARED_APIS: readonly ApiSchema[] = Object.freeze(
  (Object.values(messages) as unknown[])
    .filter((v): v is ApiSchema =>
      typeof v === "object" && v !== null && "request" in v && "response" in v
    )
    .sort((a, b) => a.apiKey - b.apiKey),
);

/** Every declared API by its key. */
export const API_BY_KEY: ReadonlyMap<number, ApiSchema> = new Map(
  DECLARED_APIS.map((api) => [api.apiKey, api]),
);

/** Every declared API by its name (`"Fetch"`). */
export const API_BY_NAME: ReadonlyMap<string, ApiSchema> = new Map(
  DECLARED_APIS.map((api) => [api.name, api]),
);
