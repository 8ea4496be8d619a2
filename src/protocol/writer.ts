/**
 * A growable big-endian byte writer for Kafka primitive types.
 *
 * @module
 */

import { uuidFromString } from "./reader.ts";

const utf8 = new TextEncoder();

/** Writes Kafka primitive types into a buffer that grows as needed. */
export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  /** Number of bytes written so far. */
  pos = 0;

  /** Starts with room for `initial` bytes. */
  constructor(initial = 256) {
    this.#buf = new Uint8Array(initial);
    this.#view = new DataView(this.#buf.buffer);
  }

  #ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Writes a signed 8-bit integer. */
  int8(v: number): this {
    this.#ensure(1);
    this.#view.setInt8(this.pos++, v);
    return this;
  }

  /** Writes a signed 16-bit integer. */
  int16(v: number): this {
    this.#ensure(2);
    this.#view.setInt16(this.pos, v);
    this.pos += 2;
    return this;
  }

  /** Writes an unsigned 16-bit integer. */
  uint16(v: number): this {
    this.#ensure(2);
    this.#view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  /** Writes a signed 32-bit integer. */
  int32(v: number): this {
    this.#ensure(4);
    this.#view.setInt32(this.pos, v);
    this.pos += 4;
    return this;
  }

  /** Writes an unsigned 32-bit integer. */
  uint32(v: number): this {
    this.#ensure(4);
    this.#view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  /** Writes a signed 64-bit integer. */
  int64(v: bigint): this {
    this.#ensure(8);
    this.#view.setBigInt64(this.pos, v);
    this.pos += 8;
    return this;
  }

  /** Writes a 64-bit IEEE float. */
  float64(v: number): this {
    this.#ensure(8);
    this.#view.setFloat64(this.pos, v);
    this.pos += 8;
    return this;
  }

  /** Writes a boolean as one byte. */
  bool(v: boolean): this {
    this.#ensure(1);
    this.#buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  /** Writes an unsigned LEB128 varint (up to 32 bits). */
  uvarint(v: number): this {
    this.#ensure(5);
    let n = v >>> 0;
    while (n >= 0x80) {
      this.#buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.#buf[this.pos++] = n;
    return this;
  }

  /** Writes a zig-zag encoded signed varint (32 bits). */
  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Writes a zig-zag encoded signed varlong (64 bits). */
  varlong(v: bigint): this {
    this.#ensure(10);
    let n = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    while (n >= 0x80n) {
      this.#buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.#buf[this.pos++] = Number(n);
    return this;
  }

  /** Writes a UUID given in Kafka's base64url text form. */
  uuid(v: string): this {
    return this.raw(uuidFromString(v));
  }

  /** Appends raw bytes. */
  raw(bytes: Uint8Array): this {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** Appends a string's UTF-8 bytes, returning how many were written. */
  utf8(s: string): number {
    // Worst case 3 bytes per UTF-16 unit.
    this.#ensure(s.length * 3);
    const { written } = utf8.encodeInto(s, this.#buf.subarray(this.pos));
    this.pos += written;
    return written;
  }

  /** Overwrites a big-endian int32 at an earlier position (length prefixes). */
  patchInt32(at: number, v: number): void {
    this.#view.setInt32(at, v);
  }

  /** The bytes written so far (a view; copy it if the writer is reused). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.pos);
  }
}

/** The UTF-8 byte length of a string, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
