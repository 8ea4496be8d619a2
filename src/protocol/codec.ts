/**
 * Encoders and decoders derived from the declarations in `messages/`: for a
 * given message and version, the declaration is compiled once into a tree of
 * small closures (cached), so no per-version code is ever written by hand.
 *
 * @module
 */

import { CorruptDataError } from "./errors.ts";
import { Reader, ZERO_UUID } from "./reader.ts";
import { type FieldSchema, inRange, type MessageSchema, parseVersions } from "./schema.ts";
import { utf8Length, Writer } from "./writer.ts";

type Encode = (w: Writer, v: unknown) => void;
type Decode = (r: Reader) => unknown;

/** A message compiled for one version. */
export interface CompiledMessage {
  /** Writes `value` (missing fields take their declared defaults). */
  readonly encode: (w: Writer, value: object) => void;
  /** Reads one message. */
  readonly decode: (r: Reader) => Record<string, unknown>;
  /** Whether this version uses the flexible encoding. */
  readonly flexible: boolean;
}

const cache = new WeakMap<MessageSchema, Map<number, CompiledMessage>>();

/** Compiles (once, then cached) `schema` at `version`. */
export function compile(schema: MessageSchema, version: number): CompiledMessage {
  let byVersion = cache.get(schema);
  if (!byVersion) cache.set(schema, byVersion = new Map());
  let compiled = byVersion.get(version);
  if (!compiled) {
    const valid = parseVersions(schema.validVersions);
    if (!inRange(valid, version)) {
      throw new RangeError(
        `${schema.name} has no version ${version} (valid: ${schema.validVersions})`,
      );
    }
    const flexible = inRange(parseVersions(schema.flexibleVersions), version);
    const struct = compileStruct(schema.fields, version, flexible, schema.name);
    compiled = {
      encode: struct.encode as (w: Writer, value: object) => void,
      decode: (r) => {
        try {
          return struct.decode(r) as Record<string, unknown>;
        } catch (e) {
          if (e instanceof CorruptDataError) {
            throw new CorruptDataError(`${schema.name} v${version}: ${e.message}`, {}, {
              cause: e,
            });
          }
          throw e;
        }
      },
      flexible,
    };
    byVersion.set(version, compiled);
  }
  return compiled;
}

/** Encodes a message at a version into a fresh byte array. */
export function encodeMessage(schema: MessageSchema, version: number, value: object): Uint8Array {
  const w = new Writer();
  compile(schema, version).encode(w, value);
  return w.bytes().slice();
}

/** Decodes a whole byte array as one message at a version. */
export function decodeMessage<T = Record<string, unknown>>(
  schema: MessageSchema,
  version: number,
  bytes: Uint8Array,
): T {
  return compile(schema, version).decode(new Reader(bytes)) as T;
}

interface CompiledField {
  readonly name: string;
  readonly encode: Encode;
  readonly decode: Decode;
  readonly defaultValue: () => unknown;
  readonly tag: number | undefined;
  readonly isDefault: (v: unknown) => boolean;
}

function compileStruct(
  fields: readonly FieldSchema[],
  version: number,
  flexible: boolean,
  where: string,
): {
  encode: Encode;
  decode: Decode;
  defaults: () => Record<string, unknown>;
  isDefault: (v: unknown) => boolean;
} {
  const present: CompiledField[] = [];
  const tagged: CompiledField[] = [];
  const absent: { name: string; defaultValue: () => unknown }[] = [];
  for (const f of fields) {
    const c = compileField(f, version, flexible, where);
    if (!inRange(parseVersions(f.versions), version)) {
      absent.push({ name: f.name, defaultValue: c.defaultValue });
    } else if (flexible && inRange(parseVersions(f.taggedVersions), version)) {
      tagged.push(c);
    } else {
      present.push(c);
    }
  }
  tagged.sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
  const byTag = new Map(tagged.map((t) => [t.tag ?? 0, t]));

  const defaults = (): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (const f of fields) {
      const c = present.find((p) => p.name === f.name) ?? tagged.find((t) => t.name === f.name) ??
        absent.find((a) => a.name === f.name)!;
      o[f.name] = c.defaultValue();
    }
    return o;
  };

  const encode: Encode = (w, value) => {
    const o = value as Record<string, unknown>;
    for (let i = 0; i < present.length; i++) {
      const f = present[i];
      const v = o[f.name];
      f.encode(w, v === undefined ? f.defaultValue() : v);
    }
    if (!flexible) return;
    const toWrite: CompiledField[] = [];
    for (const t of tagged) {
      const v = o[t.name];
      if (v !== undefined && !t.isDefault(v)) toWrite.push(t);
    }
    w.uvarint(toWrite.length);
    for (const t of toWrite) {
      const inner = new Writer(64);
      t.encode(inner, o[t.name]);
      w.uvarint(t.tag ?? 0).uvarint(inner.pos).raw(inner.bytes());
    }
  };

  const decode: Decode = (r) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < present.length; i++) o[present[i].name] = present[i].decode(r);
    for (let i = 0; i < absent.length; i++) o[absent[i].name] = absent[i].defaultValue();
    if (flexible) {
      for (let i = 0; i < tagged.length; i++) o[tagged[i].name] = tagged[i].defaultValue();
      const count = r.uvarint();
      for (let i = 0; i < count; i++) {
        const tag = r.uvarint();
        const size = r.uvarint();
        r.need(size, `tagged field ${tag}`);
        const t = byTag.get(tag);
        if (t) {
          const sub = new Reader(r.bytes, r.pos, r.pos + size);
          o[t.name] = t.decode(sub);
        }
        r.pos += size;
      }
    }
    return o;
  };

  // Kafka writes a tagged struct only when it differs from a default
  // instance; an absent field counts as default.
  const isDefault = (v: unknown): boolean => {
    if (v === undefined) return true;
    if (v === null) return false;
    const o = v as Record<string, unknown>;
    for (const f of present) if (o[f.name] !== undefined && !f.isDefault(o[f.name])) return false;
    for (const f of tagged) if (o[f.name] !== undefined && !f.isDefault(o[f.name])) return false;
    return true;
  };

  return { encode, decode, defaults, isDefault };
}

function compileField(
  f: FieldSchema,
  version: number,
  flexible: boolean,
  where: string,
): CompiledField {
  const nullable = inRange(parseVersions(f.nullableVersions), version);
  const path = `${where}.${f.name}`;
  let encode: Encode;
  let decode: Decode;
  let defaultValue: () => unknown;
  let isDefault: (v: unknown) => boolean;

  if (f.type.startsWith("[]")) {
    const elemType = f.type.slice(2);
    const elem = f.fields
      ? compileStruct(f.fields, version, flexible, path)
      : primitive(elemType, false, false, flexible, undefined, path);
    const encElem = elem.encode;
    const decElem = elem.decode;
    encode = (w, v) => {
      if (v === null) {
        if (!nullable) throw new TypeError(`${path} may not be null in version ${version}`);
        if (flexible) w.uvarint(0);
        else w.int32(-1);
        return;
      }
      const a = v as unknown[];
      if (flexible) w.uvarint(a.length + 1);
      else w.int32(a.length);
      for (let i = 0; i < a.length; i++) encElem(w, a[i]);
    };
    decode = (r) => {
      const n = flexible ? r.uvarint() - 1 : r.int32();
      if (n < 0) {
        if (n === -1 && nullable) return null;
        throw new CorruptDataError(`Invalid array length ${n} for ${path}`);
      }
      // Each element takes at least one byte: a length beyond the bytes left
      // is corrupt, and must not make us allocate.
      if (n > r.remaining) {
        throw new CorruptDataError(
          `Array length ${n} for ${path} exceeds the ${r.remaining} bytes left`,
        );
      }
      const a = new Array(n);
      for (let i = 0; i < n; i++) a[i] = decElem(r);
      return a;
    };
    const explicitNull = f.default === null || f.default === "null";
    defaultValue = () => (nullable && explicitNull ? null : []);
    isDefault = (v) => v === null ? nullable && explicitNull : (v as unknown[]).length === 0;
  } else if (f.fields) {
    const s = compileStruct(f.fields, version, flexible, path);
    encode = nullable
      ? (w, v) => {
        if (v === null) {
          w.int8(-1);
        } else {
          w.int8(1);
          s.encode(w, v);
        }
      }
      : s.encode;
    decode = nullable ? (r) => (r.int8() < 0 ? null : s.decode(r)) : s.decode;
    defaultValue = nullable ? () => null : s.defaults;
    isDefault = nullable ? (v) => v === null : s.isDefault;
  } else {
    const p = primitive(
      f.type,
      nullable,
      f.nullableVersions !== undefined,
      flexible,
      f.default,
      path,
    );
    encode = p.encode;
    decode = p.decode;
    defaultValue = p.defaultValue;
    isDefault = p.isDefault;
  }
  return { name: f.name, encode, decode, defaultValue, tag: f.tag, isDefault };
}

interface Primitive {
  encode: Encode;
  decode: Decode;
  defaultValue: () => unknown;
  isDefault: (v: unknown) => boolean;
}

function primitive(
  type: string,
  nullable: boolean,
  // A field absent at this version still defaults to null if it may be null
  // in the versions that have it.
  nullableEver: boolean,
  flexible: boolean,
  dflt: FieldSchema["default"],
  path: string,
): Primitive {
  const isNullDefault = dflt === null || dflt === "null";
  const num = (fallback: number) => {
    const d = dflt === undefined || dflt === "" ? fallback : Number(dflt);
    return { defaultValue: () => d, isDefault: (v: unknown) => v === d };
  };
  switch (type) {
    case "bool": {
      const d = dflt === true || dflt === "true";
      return {
        encode: (w, v) => w.bool(v as boolean),
        decode: (r) => r.bool(),
        defaultValue: () => d,
        isDefault: (v) => v === d,
      };
    }
    case "int8":
      return { encode: (w, v) => w.int8(v as number), decode: (r) => r.int8(), ...num(0) };
    case "int16":
      return { encode: (w, v) => w.int16(v as number), decode: (r) => r.int16(), ...num(0) };
    case "uint16":
      return { encode: (w, v) => w.uint16(v as number), decode: (r) => r.uint16(), ...num(0) };
    case "int32":
      return { encode: (w, v) => w.int32(v as number), decode: (r) => r.int32(), ...num(0) };
    case "uint32":
      return { encode: (w, v) => w.uint32(v as number), decode: (r) => r.uint32(), ...num(0) };
    case "float64":
      return { encode: (w, v) => w.float64(v as number), decode: (r) => r.float64(), ...num(0) };
    case "int64": {
      const d = dflt === undefined || dflt === "" ? 0n : BigInt(dflt as string | number);
      return {
        encode: (w, v) => w.int64(typeof v === "bigint" ? v : BigInt(v as number)),
        decode: (r) => r.int64(),
        defaultValue: () => d,
        isDefault: (v) => v === d,
      };
    }
    case "uuid":
      return {
        encode: (w, v) => w.uuid(v as string),
        decode: (r) => r.uuid(),
        defaultValue: () => ZERO_UUID,
        isDefault: (v) => v === ZERO_UUID,
      };
    case "string": {
      const d = nullableEver && isNullDefault ? null : typeof dflt === "string" ? dflt : "";
      return {
        encode: (w, v) => {
          if (v === null) {
            if (!nullable) throw new TypeError(`${path} may not be null`);
            if (flexible) w.uvarint(0);
            else w.int16(-1);
            return;
          }
          const s = v as string;
          const n = utf8Length(s);
          if (flexible) w.uvarint(n + 1);
          else w.int16(n);
          w.utf8(s);
        },
        decode: (r) => {
          const n = flexible ? r.uvarint() - 1 : r.int16();
          if (n < 0) {
            if (n === -1 && nullable) return null;
            throw new CorruptDataError(`Invalid string length ${n} for ${path}`);
          }
          return r.utf8(n);
        },
        defaultValue: () => d,
        isDefault: (v) => v === d,
      };
    }
    case "bytes":
    case "records": {
      const nullDefault = type === "records" || (nullableEver && isNullDefault);
      return {
        encode: (w, v) => {
          if (v === null) {
            if (!nullable && type !== "records") throw new TypeError(`${path} may not be null`);
            if (flexible) w.uvarint(0);
            else w.int32(-1);
            return;
          }
          const b = v as Uint8Array;
          if (flexible) w.uvarint(b.length + 1);
          else w.int32(b.length);
          w.raw(b);
        },
        decode: (r) => {
          const n = flexible ? r.uvarint() - 1 : r.int32();
          if (n < 0) {
            if (n === -1 && (nullable || type === "records")) return null;
            throw new CorruptDataError(`Invalid byte length ${n} for ${path}`);
          }
          return r.view(n, path);
        },
        defaultValue: () => (nullDefault ? null : new Uint8Array(0)),
        isDefault: (v) => v === null || (v as Uint8Array).length === 0,
      };
    }
    default:
      throw new TypeError(`Unknown field type ${type} at ${path}`);
  }
}
