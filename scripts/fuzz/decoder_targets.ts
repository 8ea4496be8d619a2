/**
 * In-process fuzz targets without I/O: response decoding of every captured
 * exchange, record batch decoding (every codec, read_committed, offsets
 * below the fetch position), and the codecs on their own.
 *
 * A case passes when the code under test returns a value that keeps its
 * invariants or throws one of our typed errors ({@linkcode KafkaError} and
 * subclasses). Anything else — a RangeError, a TypeError, a record whose
 * content was never produced although its CRC was checked — is a failure,
 * thrown as {@linkcode FuzzFailure}.
 *
 * @module
 */

import { compile } from "../../src/protocol/codec.ts";
import { compress, decompress } from "../../src/protocol/compression/mod.ts";
import { KafkaError } from "../../src/protocol/errors.ts";
import { decodeResponse, responseHeaderFlexible } from "../../src/protocol/frame.ts";
import type { FetchResponse } from "../../src/protocol/messages/fetch.ts";
import { decodeRecordBatches, type KafkaRecord } from "../../src/protocol/wire_batch.ts";
import { scanRecordBatches } from "../../src/protocol/wire_batch_scan.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { mutateBytes, mutateRecords, type Mutation } from "./mutators.ts";
import type { Rng } from "../../src/util/random.ts";
import { contentOf, type GoldenPair, type RecordSeed } from "./seeds.ts";

/** An invariant broke: the case fails with this description. */
export class FuzzFailure extends Error {
  /** Builds the failure; `cause` is the unexpected exception, if any. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FuzzFailure";
  }
}

/**
 * How a case ended when it passed: the input was accepted (decoded, its
 * invariants held; end to end: every record arrived), rejected with a typed
 * error, or (end to end only) "trusted": the consumer acted on damage no
 * client can detect and did not reach the end, without breaking anything.
 */
export type Outcome = "accepted" | "rejected" | "trusted";

/** A passed case: which input, which damage, which outcome. */
export interface CaseReport {
  /** The target's name. */
  target: string;
  /** The seed input. */
  input: string;
  /** The mutation. */
  what: string;
  /** Decoded (invariants held) or refused with a typed error. */
  outcome: Outcome;
}

/** Runs `fn`; a typed error is a rejection, anything else a failure. */
export function expectTyped(what: string, fn: () => void): Outcome {
  try {
    fn();
    return "accepted";
  } catch (e) {
    if (e instanceof FuzzFailure) throw e;
    if (e instanceof KafkaError) return "rejected";
    throw new FuzzFailure(`${what} threw an untyped ${describe(e)}`, { cause: e });
  }
}

/** `Name: message` of a thrown value. */
export function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : `non-error ${String(e)}`;
}

/**
 * Checks decoded records: offsets strictly increase and are at or past
 * `fromOffset`, every lazy field reads without throwing, and — when
 * `contents` is given (the CRC was checked over undamaged-looking data) —
 * each record's content is one that was produced.
 */
export function checkRecords(
  records: readonly KafkaRecord[],
  fromOffset: bigint,
  contents: ReadonlySet<string> | null,
): void {
  let previous = -1n;
  for (const r of records) {
    const offset = r.offset;
    if (offset <= previous) throw new FuzzFailure(`offset ${offset} after ${previous}`);
    if (offset < fromOffset) throw new FuzzFailure(`offset ${offset} below ${fromOffset}`);
    previous = offset;
    const content = contentOf(r);
    if (contents !== null && !contents.has(content)) {
      throw new FuzzFailure(`delivered a record that was never produced at offset ${offset}`);
    }
  }
}

/** A Fetch response frame whose partition `records` were replaced, re-encoded validly. */
function withMutatedRecords(rng: Rng, g: GoldenPair): Mutation | null {
  const res = decodeResponse(g.api, g.version, g.response) as FetchResponse;
  const parts = res.responses.flatMap((t) => t.partitions).filter((p) => p.records?.length);
  if (parts.length === 0) return null;
  const p = rng.pick(parts);
  const m = mutateRecords(rng, p.records!);
  p.records = m.bytes;
  const w = new Writer(g.response.length + 256);
  w.int32(new DataView(g.response.buffer, g.response.byteOffset).getInt32(0));
  if (responseHeaderFlexible(g.api, g.version)) w.uvarint(0);
  compile(g.api.response, g.version).encode(w, res);
  return { bytes: w.bytes(), what: `records of partition ${p.partitionIndex}: ${m.what}` };
}

/**
 * Target "response": a captured response frame, damaged, decoded at its
 * version; a decoded Fetch response then has its record data scanned and
 * decoded as the consumer does.
 */
export function responseCase(rng: Rng, golden: readonly GoldenPair[]): CaseReport {
  const g = rng.pick(golden);
  const m = (g.api.apiKey === 1 && rng.chance(0.5) ? withMutatedRecords(rng, g) : null) ??
    mutateBytes(rng, g.response);
  const outcome = expectTyped(`decoding ${g.name}`, () => {
    const res = decodeResponse(g.api, g.version, m.bytes);
    if (g.api.apiKey !== 1) return;
    for (const t of (res as FetchResponse).responses) {
      for (const p of t.partitions) {
        if (!p.records) continue;
        scanRecordBatches(p.records);
        const from = rng.chance(0.8) ? 0n : BigInt(rng.range(0, 10));
        const decoded = decodeRecordBatches(p.records, {
          topic: t.topic || "fuzz",
          partition: p.partitionIndex,
          abortedTransactions: p.abortedTransactions,
          fromOffset: from,
        });
        checkRecords(decoded.records, from, null);
      }
    }
  });
  return { target: "response", input: g.name, what: m.what, outcome };
}

/**
 * Target "records": record data, damaged, scanned and decoded with random
 * options. With the CRC checked and no CRC recomputed by the mutation,
 * every record delivered must be one that was produced.
 */
export function recordsCase(rng: Rng, seeds: readonly RecordSeed[]): CaseReport {
  const s = rng.pick(seeds);
  const m = mutateRecords(rng, s.data);
  const verifyCrc = rng.chance(0.8);
  const aborted = rng.chance(0.5) ? null : s.aborted;
  const from = rng.chance(0.7) ? 0n : BigInt(rng.range(-2, 24));
  const small = rng.chance(0.1);
  const outcome = expectTyped(`decoding ${s.name}`, () => {
    expectTyped("scanning", () => void scanRecordBatches(m.bytes));
    const decoded = decodeRecordBatches(m.bytes, {
      topic: "fuzz",
      partition: 0,
      verifyCrc,
      abortedTransactions: aborted,
      fromOffset: from,
      ...(small ? { maxDecompressedBytes: 4096, maxBatchSize: 8192 } : {}),
    });
    checkRecords(decoded.records, from, verifyCrc && !m.signed ? s.contents : null);
  });
  return {
    target: "records",
    input: s.name,
    what: `${m.what}${verifyCrc ? "" : " (CRC not checked)"}`,
    outcome,
  };
}

/** Target "codec": compressed data of each codec, damaged, decompressed with a size cap. */
export function codecCase(rng: Rng, seeds: readonly RecordSeed[]): CaseReport {
  const codec = rng.range(1, 4);
  const plain = rng.chance(0.5) ? rng.pick(seeds).data : rng.bytes(rng.range(0, 3000));
  const m = mutateBytes(rng, compress(codec, plain));
  const max = rng.chance(0.3) ? rng.range(0, 2048) : 1 << 20;
  const outcome = expectTyped(`decompressing codec ${codec}`, () => {
    const out = decompress(codec, m.bytes, { maxDecompressedBytes: max });
    if (out.length > max) {
      throw new FuzzFailure(`codec ${codec} returned ${out.length} bytes over the cap ${max}`);
    }
  });
  return { target: "codec", input: `codec ${codec}`, what: m.what, outcome };
}
