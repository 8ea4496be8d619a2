/**
 * What the fuzzer mutates: real response frames captured from Kafka 4.4.0
 * (`tests/testdata/golden/`, with the request each answered), and record
 * data — the record batches inside the captured Fetch responses (written by
 * Kafka's Java producer) plus batches of our encoder in every codec,
 * transactional ones with markers, and LogAppendTime ones.
 *
 * @module
 */

import { compile } from "../../src/protocol/codec.ts";
import { decodeRequestHeader, decodeResponse } from "../../src/protocol/frame.ts";
import {
  type AbortedTransaction,
  decodeRecordBatches,
  encodeControlBatch,
  encodeRecordBatch,
  type RecordToEncode,
} from "../../src/protocol/wire_batch.ts";
import { type ApiSchema, inRange, parseVersions } from "../../src/protocol/schema.ts";
import { API_BY_KEY } from "../../src/protocol/apis.ts";
import type { FetchResponse } from "../../src/protocol/messages/fetch.ts";
import { concat } from "./mutators.ts";
import { Rng } from "../../src/util/random.ts";

/** One captured exchange. */
export interface GoldenPair {
  /** Fixture name, e.g. `fetch_v18`. */
  name: string;
  /** The API. */
  api: ApiSchema;
  /** API version of the exchange. */
  version: number;
  /** The response frame as Kafka sent it, without the size prefix. */
  response: Uint8Array;
  /** The decoded request body (sent again by the connection target). */
  request: Record<string, unknown>;
}

interface IndexEntry {
  name: string;
  apiKey: number;
  version: number;
  request: string;
  response: string | null;
}

const GOLDEN = new URL("../../tests/testdata/golden/", import.meta.url);

/** The captured pairs that have a response, in fixture order. */
export function loadGolden(): GoldenPair[] {
  const index = JSON.parse(Deno.readTextFileSync(new URL("index.json", GOLDEN))) as {
    broker: IndexEntry[];
    java: IndexEntry[];
  };
  const out: GoldenPair[] = [];
  for (const e of [...index.broker, ...index.java]) {
    if (e.response === null) continue;
    const api = API_BY_KEY.get(e.apiKey);
    if (!api) continue;
    const response = Deno.readFileSync(new URL(e.response, GOLDEN));
    const h = decodeRequestHeader(Deno.readFileSync(new URL(e.request, GOLDEN)));
    if (inRange(parseVersions(api.request.flexibleVersions), h.apiVersion)) {
      const tags = h.reader.uvarint();
      for (let i = 0; i < tags; i++) {
        h.reader.uvarint();
        h.reader.skip(h.reader.uvarint());
      }
    }
    const request = compile(api.request, h.apiVersion).decode(h.reader);
    out.push({ name: e.name, api, version: e.version, response, request });
  }
  return out;
}

/** Record data to mutate, with what decoding it intact gives. */
export interface RecordSeed {
  /** Where it came from. */
  name: string;
  /** The batches. */
  data: Uint8Array;
  /** Aborted transactions to decode it with under read_committed. */
  aborted: AbortedTransaction[];
  /**
   * Content of every record the intact data holds (key, value, headers,
   * timestamp), as strings: a record decoded from damaged data whose CRC was
   * checked must be one of these.
   */
  contents: ReadonlySet<string>;
}

const hex = (b: Uint8Array | null) =>
  b === null ? "~" : Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** A record's content as one string (offset left out: the base offset is outside the CRC). */
export function contentOf(
  r: {
    key: Uint8Array | null;
    value: Uint8Array | null;
    timestamp: number;
    headers: ReadonlyArray<{ key: string; value: Uint8Array | null }>;
  },
): string {
  const headers = r.headers.map((h) => `${h.key}=${hex(h.value)}`).join(",");
  return `${hex(r.key)}|${hex(r.value)}|${r.timestamp}|${headers}`;
}

function randomRecords(rng: Rng, n: number): RecordToEncode[] {
  const enc = new TextEncoder();
  return Array.from({ length: n }, (_, i) => ({
    key: rng.chance(0.2) ? null : enc.encode(`key-${rng.int(1000)}`),
    value: rng.chance(0.1) ? null : rng.bytes(rng.range(0, 120)),
    headers: rng.chance(0.5) ? [] : Array.from({ length: rng.range(1, 3) }, (_, h) => ({
      key: `h${h}`,
      value: rng.chance(0.2) ? null : rng.bytes(rng.range(0, 8)),
    })),
    timestamp: 1_700_000_000_000 + i * rng.range(0, 50),
  }));
}

/** Record data seeds: those inside the golden Fetch responses, then ours. */
export function recordSeeds(golden: readonly GoldenPair[]): RecordSeed[] {
  const rng = new Rng(20261126);
  const seeds: Array<Omit<RecordSeed, "contents">> = [];
  for (const g of golden) {
    if (g.api.apiKey !== 1) continue;
    const res = decodeResponse(g.api, g.version, g.response) as FetchResponse;
    for (const t of res.responses) {
      for (const p of t.partitions) {
        if (p.records && p.records.length > 0) {
          seeds.push({
            name: `${g.name} partition ${p.partitionIndex}`,
            data: p.records.slice(),
            aborted: (p.abortedTransactions ?? []).map((a) => ({ ...a })),
          });
        }
      }
    }
  }
  for (let codec = 0; codec <= 4; codec++) {
    seeds.push({
      name: `codec ${codec}, three batches`,
      data: concat(
        encodeRecordBatch({ baseOffset: 0n, records: randomRecords(rng, 12), compression: codec }),
        encodeRecordBatch({ baseOffset: 12n, records: randomRecords(rng, 3), compression: codec }),
        encodeRecordBatch({
          baseOffset: 15n,
          records: randomRecords(rng, 6),
          compression: codec,
          logAppendTime: 1_700_000_123_456,
        }),
      ),
      aborted: [],
    });
  }
  // A transaction of producer 7 aborted around one of producer 9, committed.
  const txn = (baseOffset: bigint, producerId: bigint, n: number, compression = 0) =>
    encodeRecordBatch({
      baseOffset,
      records: randomRecords(rng, n),
      producerId,
      producerEpoch: 0,
      baseSequence: 0,
      transactional: true,
      compression,
    });
  seeds.push({
    name: "transactions with markers",
    data: concat(
      txn(0n, 7n, 4),
      txn(4n, 9n, 3, 4),
      encodeControlBatch({
        baseOffset: 7n,
        producerId: 7n,
        type: "abort",
        timestamp: 1_700_000_000_000,
      }),
      encodeControlBatch({
        baseOffset: 8n,
        producerId: 9n,
        type: "commit",
        timestamp: 1_700_000_000_000,
      }),
      encodeRecordBatch({ baseOffset: 9n, records: randomRecords(rng, 5), compression: 2 }),
    ),
    aborted: [{ producerId: 7n, firstOffset: 0n }],
  });
  return seeds.map((s) => {
    const where = { topic: "fuzz", partition: 0 };
    const contents = new Set<string>();
    for (const aborted of [null, s.aborted]) {
      for (
        const r of decodeRecordBatches(s.data, { ...where, abortedTransactions: aborted }).records
      ) {
        contents.add(contentOf(r));
      }
    }
    return { ...s, contents };
  });
}
