/**
 * A bounds-checked cursor over bytes received from a broker. Every read that
 * would run past the end throws {@linkcode CorruptDataError} naming what was
 * being read, so hostile or truncated input never surfaces as a bare
 * `RangeError` from a `DataView`.
 *
 * @module
 */

import { CorruptDataError } from "./errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Reads Kafka primitive types from a byte buffer, big-endian. */
export class Reader {
  /** The whole buffer this reader walks over. */
  readonly bytes: Uint8Array;
  /** Current position in {@linkcode Reader.bytes}. */
  pos: number;
  /** One past the last readable byte. */
  readonly end: number;
  readonly #view: DataView;

  /** Reads `bytes[start, end)`. */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes can be read. */
  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new CorruptDataError(
        `Truncated data: ${what} needs ${n} bytes at position ${this.pos}, ${this.remaining} left`,
      );
    }
  }

  /** Reads a signed 8-bit integer. */
  int8(): number {
    this.need(1, "int8");
    return this.#view.getInt8(this.pos++);
  }

  /** Reads a signed 16-bit integer. */
  int16(): number {
    this.need(2, "int16");
    const v = this.#view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads an unsigned 16-bit integer. */
  uint16(): number {
    this.need(2, "uint16");
    const v = this.#view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads a signed 32-bit integer. */
  int32(): number {
    this.need(4, "int32");
    const v = this.#view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads an unsigned 32-bit integer. */
  uint32(): number {
    this.need(4, "uint32");
    const v = this.#view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads a signed 64-bit integer. */
  int64(): bigint {
    this.need(8, "int64");
    const v = this.#view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a 64-bit IEEE float. */
  float64(): number {
    this.need(8, "float64");
    const v = this.#view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a boolean (any non-zero byte is true). */
  bool(): boolean {
    this.need(1, "bool");
    return this.bytes[this.pos++] !== 0;
  }

  /** Reads an unsigned LEB128 varint of at most 5 bytes (32 bits). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw new CorruptDataError("Truncated data: unterminated varint");
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw new CorruptDataError("Malformed varint: exceeds 32 bits");
        return result;
      }
      shift += 7;
    }
    throw new CorruptDataError("Malformed varint: longer than 5 bytes");
  }

  /** Reads a zig-zag encoded signed varint (32 bits). */
  varint(): number {
    const u = this.uvarint();
    return (u & 1) ? -((u + 1) / 2) : u / 2;
  }

  /** Reads a zig-zag encoded signed varlong (64 bits). */
  varlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new CorruptDataError("Truncated data: unterminated varlong");
      const b = this.bytes[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (result >> 1n) ^ -(result & 1n);
      shift += 7n;
    }
    throw new CorruptDataError("Malformed varlong: longer than 10 bytes");
  }

  /** Reads a 16-byte UUID, returned in Kafka's base64url form. */
  uuid(): string {
    this.need(16, "uuid");
    const raw = this.bytes.subarray(this.pos, this.pos + 16);
    this.pos += 16;
    return uuidToString(raw);
  }

  /** Returns a zero-copy view of the next `n` bytes. */
  view(n: number, what = "bytes"): Uint8Array {
    this.need(n, what);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Decodes the next `n` bytes as UTF-8. */
  utf8(n: number): string {
    this.need(n, "string");
    const s = utf8.decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  /** Skips `n` bytes. */
  skip(n: number): void {
    this.need(n, "skipped field");
    this.pos += n;
  }
}

/** Kafka prints UUIDs as unpadded base64url; we use the same text form. */
export function uuidToString(raw: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < raw.length; i++) bin += String.fromCharCode(raw[i]);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Parses Kafka's base64url UUID text back into 16 bytes. */
export function uuidFromString(text: string): Uint8Array {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/") + "==";
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new CorruptDataError(`Invalid UUID text "${text}"`);
  }
  if (bin.length !== 16) throw new CorruptDataError(`Invalid UUID text "${text}"`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The all-zero UUID, meaning "no topic id". */
export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";
