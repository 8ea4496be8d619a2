/**
 * The records section of a magic v2 record batch, written one record at a
 * time into a growing buffer: the producer encodes each record as it is
 * appended (so what it buffers is bytes, as Java's producer does, and its
 * memory bound counts real bytes), and `encodeRecordBatch` writes whole
 * batches with it. Room for the batch header can be kept in front, so an
 * uncompressed batch is assembled without copying its records.
 *
 * @module
 */

const utf8 = new TextEncoder();

/** One record's fields, as bytes. */
export interface RecordFields {
  /** Key bytes, or null. */
  readonly key?: Uint8Array | null;
  /** Value bytes, or null (a tombstone). */
  readonly value: Uint8Array | null;
  /** Headers in order; keys repeat freely. */
  readonly headers?: ReadonlyArray<{ key: string; value: Uint8Array | null }>;
}

/** Appends records (length-prefixed, varint fields) to a growing buffer. */
export class RecordsWriter {
  #buf: Uint8Array;
  #pos: number;
  readonly #headroom: number;
  #count = 0;
  /** Where each record starts (for `single`). */
  #starts: number[] = [];

  /** A writer with room for `capacity` bytes of records after `headroom` bytes kept free. */
  constructor(capacity = 256, headroom = 0) {
    this.#buf = new Uint8Array(headroom + Math.max(16, capacity));
    this.#pos = headroom;
    this.#headroom = headroom;
  }

  /** Records appended. */
  get count(): number {
    return this.#count;
  }

  /** Bytes of records written. */
  get size(): number {
    return this.#pos - this.#headroom;
  }

  /**
   * Appends one record at `offsetDelta` and `timestampDelta` (relative to
   * the batch's base offset and base timestamp); returns its encoded size.
   *
   * @example
   * ```ts
   * import { RecordsWriter } from "./wire_records_writer.ts";
   * const w = new RecordsWriter();
   * w.append({ key: null, value: new Uint8Array([1, 2, 3]) }, 0, 0); // 11
   * ```
   */
  append(r: RecordFields, offsetDelta: number, timestampDelta: number): number {
    const headers = r.headers;
    const keys = headers === undefined || headers.length === 0
      ? NO_KEYS
      : headers.map((h) => utf8.encode(h.key));
    const key = r.key ?? null;
    let body = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta) + bytesSize(key) +
      bytesSize(r.value) + varintSize(keys.length);
    for (let h = 0; h < keys.length; h++) body += bytesSize(keys[h]) + bytesSize(headers![h].value);
    const total = varintSize(body) + body;
    this.#ensure(total);
    this.#starts.push(this.#pos);
    this.#varint(body);
    this.#buf[this.#pos++] = 0; // record attributes: unused
    this.#varlong(timestampDelta);
    this.#varint(offsetDelta);
    this.#bytes(key);
    this.#bytes(r.value);
    this.#varint(keys.length);
    for (let h = 0; h < keys.length; h++) {
      this.#bytes(keys[h]);
      this.#bytes(headers![h].value);
    }
    this.#count++;
    return total;
  }

  /** The records written (a view, valid until the next append). */
  records(): Uint8Array {
    return this.#buf.subarray(this.#headroom, this.#pos);
  }

  /** The headroom followed by the records (a view), to write a header into. */
  withHeadroom(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /**
   * Record `i` as the only record of a batch of its own: offset delta 0 and
   * timestamp delta 0 (its timestamp, `baseTimestamp` + its delta, becomes
   * the new batch's base). Returns the writer and that timestamp.
   */
  single(i: number, baseTimestamp: number, headroom = 0): {
    writer: RecordsWriter;
    timestamp: number;
  } {
    const b = this.#buf;
    let p = this.#starts[i];
    const [, afterLen] = readVarint(b, p);
    p = afterLen + 1; // attributes
    const [tsZig, afterTs] = readVarlong(b, p);
    const [, afterOffset] = readVarint(b, afterTs);
    const end = i + 1 < this.#starts.length ? this.#starts[i + 1] : this.#pos;
    const rest = b.subarray(afterOffset, end); // key, value, headers as written
    const timestamp = baseTimestamp + tsZig;
    const w = new RecordsWriter(rest.length + 16, headroom);
    const body = 1 + 1 + 1 + rest.length;
    w.#ensure(varintSize(body) + body);
    w.#starts.push(w.#pos);
    w.#varint(body);
    w.#buf[w.#pos++] = 0;
    w.#varlong(0);
    w.#varint(0);
    w.#buf.set(rest, w.#pos);
    w.#pos += rest.length;
    w.#count = 1;
    return { writer: w, timestamp };
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  /** Zigzag varint of an int32. */
  #varint(n: number): void {
    let u = ((n << 1) ^ (n >> 31)) >>> 0;
    while (u >= 0x80) {
      this.#buf[this.#pos++] = (u & 0x7f) | 0x80;
      u >>>= 7;
    }
    this.#buf[this.#pos++] = u;
  }

  /** Zigzag varlong of a safe integer. */
  #varlong(n: number): void {
    let u = zigzagLong(n);
    while (u >= 0x80) {
      this.#buf[this.#pos++] = (u % 0x80) | 0x80;
      u = Math.floor(u / 0x80);
    }
    this.#buf[this.#pos++] = u;
  }

  /** Length-prefixed bytes; length -1 for null. */
  #bytes(b: Uint8Array | null): void {
    if (b === null) {
      this.#varint(-1);
      return;
    }
    this.#varint(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }
}

const NO_KEYS: Uint8Array[] = [];

function zigzagLong(n: number): number {
  if (!Number.isSafeInteger(n) || Math.abs(n) > 2 ** 51) {
    throw new RangeError(`timestamp delta ${n} is not an integer that fits a varlong here`);
  }
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function varintSize(n: number): number {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
    throw new RangeError(`${n} does not fit an int32 varint`);
  }
  const u = ((n << 1) ^ (n >> 31)) >>> 0;
  return u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5;
}

function varlongSize(n: number): number {
  let u = zigzagLong(n);
  let size = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 0x80);
    size++;
  }
  return size;
}

function bytesSize(b: Uint8Array | null): number {
  return b === null ? 1 : varintSize(b.length) + b.length;
}

/** Reads a zigzag varint we wrote; returns [value, next position]. */
function readVarint(b: Uint8Array, p: number): [number, number] {
  let u = 0;
  let shift = 0;
  for (;;) {
    const byte = b[p++];
    u |= (byte & 0x7f) << shift;
    if (byte < 0x80) break;
    shift += 7;
  }
  return [(u >>> 1) ^ -(u & 1), p];
}

/** Reads a zigzag varlong we wrote (a safe integer); returns [value, next position]. */
function readVarlong(b: Uint8Array, p: number): [number, number] {
  let u = 0;
  let mul = 1;
  for (;;) {
    const byte = b[p++];
    u += (byte & 0x7f) * mul;
    if (byte < 0x80) break;
    mul *= 0x80;
  }
  return [u % 2 === 0 ? u / 2 : -(u + 1) / 2, p];
}
