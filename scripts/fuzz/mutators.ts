/**
 * Mutators: ways to damage bytes, each returning the damaged copy and a
 * one-line description (printed when a case fails, with the seed and case
 * number that replay it).
 *
 * Two families:
 * - byte mutators, blind to structure: bit flips, byte sets, truncation at
 *   every length class, huge values written over int32/int16/varint length
 *   fields, splices, trailing garbage;
 * - record batch mutators, aware of the magic v2 layout: wrong CRCs,
 *   header fields set to edge values, garbage batches, and damage behind a
 *   recomputed (valid) CRC — inside the records, or inside the decompressed
 *   records of a compressed batch, recompressed — so that the decode paths
 *   past the CRC check and past decompression get exercised.
 *
 * @module
 */

import { compress, decompress } from "../../src/protocol/compression/mod.ts";
import { crc32c } from "../../src/protocol/crc32c.ts";
import {
  ATTRIBUTES_AT,
  BATCH_LENGTH_AT,
  CRC_AT,
  LAST_OFFSET_DELTA_AT,
  LOG_OVERHEAD,
  MAGIC_AT,
  PRODUCER_ID_AT,
  RECORD_COUNT_AT,
  RECORDS_AT,
} from "../../src/protocol/wire_batch_format.ts";
import type { Rng } from "../../src/util/random.ts";

/** Damaged bytes and what was done to them. */
export interface Mutation {
  /** The damaged copy (the input is never changed). */
  bytes: Uint8Array;
  /** What was done, for failure reports. */
  what: string;
  /**
   * True when a batch's CRC was recomputed over damaged data (or garbage was
   * given a valid CRC): a CRC check cannot catch the damage.
   */
  signed?: boolean;
}

/** A mutator: damages a copy of `input`. */
export type Mutator = (rng: Rng, input: Uint8Array) => Mutation;

// Values that break length and count fields in interesting ways: the
// extremes, -1 (null), just past what a buffer holds, and large positives
// that would make a careless decoder allocate gigabytes.
const HUGE_INT32 = [0x7fffffff, -1, -2, -0x80000000, 0x40000000, 0x00ffffff, 0x10000, 65535];
const HUGE_INT16 = [0x7fff, -1, -0x8000, 0x4000];
// Unsigned varints: 2^32-1 (5 bytes), 2^35 (overlong: 6 bytes), an
// unterminated one (every continuation bit set) and a zigzag -2^31.
const HUGE_VARINTS = [
  [0xff, 0xff, 0xff, 0xff, 0x0f],
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0xff, 0xff, 0xff, 0xff, 0x0f],
  [0xfe, 0xff, 0xff, 0xff, 0x0f],
];
const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x0f];

function at(rng: Rng, input: Uint8Array, width = 1): number {
  return input.length <= width ? 0 : rng.int(input.length - width + 1);
}

/** Flips 1 to 8 random bits. */
export const bitFlips: Mutator = (rng, input) => {
  const bytes = input.slice();
  if (bytes.length === 0) return { bytes, what: "bit flips (empty input)" };
  const n = rng.range(1, 8);
  const where: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = rng.int(bytes.length);
    const bit = rng.int(8);
    bytes[p] ^= 1 << bit;
    where.push(`${p}.${bit}`);
  }
  return { bytes, what: `bit flips at ${where.join(" ")}` };
};

/** Sets 1 to 4 bytes to edge values or random ones. */
export const byteSets: Mutator = (rng, input) => {
  const bytes = input.slice();
  if (bytes.length === 0) return { bytes, what: "byte sets (empty input)" };
  const n = rng.range(1, 4);
  const where: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = rng.int(bytes.length);
    bytes[p] = rng.chance(0.6) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
    where.push(`${p}=${bytes[p]}`);
  }
  return { bytes, what: `byte sets ${where.join(" ")}` };
};

/**
 * Cuts the input at a length from one of its classes: empty, inside the
 * first int32, inside a short header, anywhere, one byte short, a few short.
 */
export const truncate: Mutator = (rng, input) => {
  const n = input.length;
  const classes = [
    () => 0,
    () => rng.range(1, Math.min(3, n)),
    () => rng.range(4, Math.min(16, n)),
    () => rng.int(n),
    () => n - 1,
    () => n - rng.range(2, 9),
  ];
  const len = Math.max(0, Math.min(n, rng.pick(classes)()));
  return { bytes: input.slice(0, len), what: `truncated to ${len} of ${n} bytes` };
};

/** Writes a huge or negative int32, int16 or varint over some position. */
export const hugeLength: Mutator = (rng, input) => {
  const bytes = input.slice();
  if (bytes.length < 5) return truncate(rng, input);
  const view = new DataView(bytes.buffer);
  const kind = rng.int(3);
  if (kind === 0) {
    const p = at(rng, bytes, 4);
    const v = rng.pick(HUGE_INT32);
    view.setInt32(p, v);
    return { bytes, what: `int32 ${v} written at ${p}` };
  }
  if (kind === 1) {
    const p = at(rng, bytes, 2);
    const v = rng.pick(HUGE_INT16);
    view.setInt16(p, v);
    return { bytes, what: `int16 ${v} written at ${p}` };
  }
  const varint = rng.pick(HUGE_VARINTS);
  const p = at(rng, bytes, varint.length);
  for (let i = 0; i < varint.length && p + i < bytes.length; i++) bytes[p + i] = varint[i];
  return { bytes, what: `varint [${varint}] written at ${p}` };
};

/** Deletes, duplicates or inserts a short run of bytes. */
export const splice: Mutator = (rng, input) => {
  const n = input.length;
  const a = rng.int(n + 1);
  const b = Math.min(n, a + rng.range(1, 16));
  const kind = rng.int(3);
  if (kind === 0) {
    return { bytes: concat(input.subarray(0, a), input.subarray(b)), what: `deleted [${a},${b})` };
  }
  if (kind === 1) {
    return {
      bytes: concat(input.subarray(0, b), input.subarray(a)),
      what: `duplicated [${a},${b})`,
    };
  }
  const extra = rng.bytes(rng.range(1, 16));
  return {
    bytes: concat(input.subarray(0, a), extra, input.subarray(a)),
    what: `inserted ${extra.length} random bytes at ${a}`,
  };
};

/** Appends random bytes. */
export const trailingGarbage: Mutator = (rng, input) => {
  const extra = rng.bytes(rng.range(1, 64));
  return { bytes: concat(input, extra), what: `appended ${extra.length} random bytes` };
};

/** The structure-blind mutators, each with a weight. */
export const BYTE_MUTATORS: ReadonlyArray<readonly [Mutator, number]> = [
  [bitFlips, 4],
  [byteSets, 3],
  [truncate, 3],
  [hugeLength, 4],
  [splice, 2],
  [trailingGarbage, 1],
];

/** One structure-blind mutation, chosen by weight. */
export function mutateBytes(rng: Rng, input: Uint8Array): Mutation {
  return weighted(rng, BYTE_MUTATORS)(rng, input);
}

/** Picks from `[item, weight]` pairs. */
export function weighted<T>(rng: Rng, list: ReadonlyArray<readonly [T, number]>): T {
  let total = 0;
  for (const [, w] of list) total += w;
  let r = rng.next() * total;
  for (const [item, w] of list) {
    r -= w;
    if (r < 0) return item;
  }
  return list[list.length - 1][0];
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Record batches

/** Start and end (exclusive) of each complete batch in a records area. */
export function batchBounds(data: Uint8Array): Array<[number, number]> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Array<[number, number]> = [];
  let pos = 0;
  while (data.length - pos >= LOG_OVERHEAD) {
    const len = view.getInt32(pos + BATCH_LENGTH_AT);
    const end = pos + LOG_OVERHEAD + len;
    if (len < RECORDS_AT - LOG_OVERHEAD || end > data.length) break;
    out.push([pos, end]);
    pos = end;
  }
  return out;
}

/** Recomputes the CRC of the batch at `[start, end)` in place. */
export function resign(data: Uint8Array, start: number, end: number): void {
  new DataView(data.buffer, data.byteOffset).setUint32(
    start + CRC_AT,
    crc32c(data, start + ATTRIBUTES_AT, end),
  );
}

function oneBatch(rng: Rng, data: Uint8Array): [number, number] | null {
  const bounds = batchBounds(data);
  return bounds.length === 0 ? null : rng.pick(bounds);
}

/** Changes one batch's CRC field (the data stays intact). */
export const wrongCrc: Mutator = (rng, input) => {
  const bytes = input.slice();
  const b = oneBatch(rng, bytes);
  if (!b) return bitFlips(rng, input);
  const view = new DataView(bytes.buffer);
  const crc = view.getUint32(b[0] + CRC_AT);
  const wrong = rng.chance(0.5) ? (crc ^ (1 << rng.int(32))) >>> 0 : rng.int(2 ** 32);
  view.setUint32(b[0] + CRC_AT, wrong === crc ? crc ^ 1 : wrong);
  return { bytes, what: `CRC of the batch at ${b[0]} changed` };
};

/**
 * Damages the body of one batch (attributes to the end) with a byte
 * mutator confined to it, then recomputes its CRC: the damage reaches the
 * decode paths after the CRC check.
 */
export const garbageBehindValidCrc: Mutator = (rng, input) => {
  const b = oneBatch(rng, input);
  if (!b) return mutateBytes(rng, input);
  const [start, end] = b;
  const from = start + ATTRIBUTES_AT + (rng.chance(0.5) ? RECORDS_AT - ATTRIBUTES_AT : 0);
  const inner = weighted(rng, [[bitFlips, 3], [byteSets, 3], [hugeLength, 4]] as const)(
    rng,
    input.slice(from, end),
  );
  const bytes = input.slice();
  bytes.set(inner.bytes.subarray(0, end - from), from);
  resign(bytes, start, end);
  return {
    bytes,
    what: `batch at ${start}, from ${from - start}: ${inner.what}; CRC recomputed`,
    signed: true,
  };
};

/** Sets one header field of one batch to an edge value, re-signing (70%) or not. */
export const batchHeaderField: Mutator = (rng, input) => setHeaderField(rng, input, 0.7);

/** Sets one header field of one batch to an edge value, leaving the CRC as it was. */
export const batchHeaderFieldUnsigned: Mutator = (rng, input) => setHeaderField(rng, input, 0);

function setHeaderField(rng: Rng, input: Uint8Array, resignChance: number): Mutation {
  const bytes = input.slice();
  const b = oneBatch(rng, bytes);
  if (!b) return hugeLength(rng, input);
  const view = new DataView(bytes.buffer);
  const [start, end] = b;
  const fields: Array<[string, () => void]> = [
    ["magic", () => view.setInt8(start + MAGIC_AT, rng.pick([0, 1, 3, -1, 127]))],
    ["batchLength", () => view.setInt32(start + BATCH_LENGTH_AT, rng.pick(HUGE_INT32))],
    [
      "attributes (codec)",
      () => view.setInt16(start + ATTRIBUTES_AT, rng.range(0, 7) | (rng.int(4) << 3)),
    ],
    ["attributes (control)", () => view.setInt16(start + ATTRIBUTES_AT, 0x20 | rng.int(0x20))],
    ["lastOffsetDelta", () => view.setInt32(start + LAST_OFFSET_DELTA_AT, rng.pick(HUGE_INT32))],
    ["producerId", () => view.setBigInt64(start + PRODUCER_ID_AT, BigInt(rng.range(-2, 3)))],
    ["recordCount", () => view.setInt32(start + RECORD_COUNT_AT, rng.pick(HUGE_INT32))],
  ];
  const [name, apply] = rng.pick(fields);
  apply();
  const signed = rng.chance(resignChance) && name !== "batchLength";
  if (signed) resign(bytes, start, end);
  return {
    bytes,
    what: `${name} of the batch at ${start} set${signed ? ", CRC recomputed" : ""}`,
    signed,
  };
}

/**
 * For a compressed batch: decompresses its records, damages them, and
 * recompresses them into a batch with a valid CRC, so that the record
 * parser sees garbage that came out of a successful decompression.
 */
export const garbageInsideCompression: Mutator = (rng, input) => {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const compressed = batchBounds(input).filter(([s]) => (view.getInt16(s + ATTRIBUTES_AT) & 7) > 0);
  if (compressed.length === 0) return garbageBehindValidCrc(rng, input);
  const [start, end] = rng.pick(compressed);
  const codec = view.getInt16(start + ATTRIBUTES_AT) & 7;
  const plain = decompress(codec, input.subarray(start + RECORDS_AT, end));
  const inner = weighted(
    rng,
    [[bitFlips, 2], [byteSets, 2], [hugeLength, 3], [truncate, 1]] as const,
  )(
    rng,
    plain,
  );
  const packed = compress(codec, inner.bytes);
  const batch = concat(input.subarray(start, start + RECORDS_AT), packed);
  new DataView(batch.buffer).setInt32(BATCH_LENGTH_AT, batch.length - LOG_OVERHEAD);
  resign(batch, 0, batch.length);
  return {
    bytes: concat(input.subarray(0, start), batch, input.subarray(end)),
    what: `codec ${codec} batch at ${start}: decompressed records ${inner.what}; recompressed`,
    signed: true,
  };
};

/** Replaces the data with random bytes, or with a random body behind a valid batch header. */
export const garbageBatch: Mutator = (rng, input) => {
  if (rng.chance(0.4)) {
    const n = rng.range(0, Math.max(8, input.length));
    return { bytes: rng.bytes(n), what: `${n} random bytes` };
  }
  const bodyLength = rng.range(0, 200);
  const batch = concat(
    input.subarray(0, Math.min(RECORDS_AT, input.length)),
    rng.bytes(bodyLength),
  );
  if (batch.length < RECORDS_AT) return { bytes: batch, what: "short random batch" };
  const view = new DataView(batch.buffer);
  view.setInt32(BATCH_LENGTH_AT, batch.length - LOG_OVERHEAD);
  view.setInt8(MAGIC_AT, 2);
  if (rng.chance(0.5)) view.setInt32(RECORD_COUNT_AT, rng.range(0, 20));
  resign(batch, 0, batch.length);
  return {
    bytes: batch,
    what: `a valid header over ${bodyLength} random bytes, CRC valid`,
    signed: true,
  };
};

/** Record-batch-aware mutators with weights (byte mutators included). */
export const BATCH_MUTATORS: ReadonlyArray<readonly [Mutator, number]> = [
  [mutateBytes, 4],
  [wrongCrc, 2],
  [garbageBehindValidCrc, 5],
  [batchHeaderField, 3],
  [garbageInsideCompression, 3],
  [garbageBatch, 1],
];

/** One record-batch-aware mutation, chosen by weight. */
export function mutateRecords(rng: Rng, input: Uint8Array): Mutation {
  return weighted(rng, BATCH_MUTATORS)(rng, input);
}
