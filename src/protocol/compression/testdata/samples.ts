/**
 * Deterministic sample payloads for the compression tests and benchmarks.
 *
 * @module
 */

/** A seeded linear congruential generator: the same bytes on every run. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

/**
 * Record-like JSON lines (ids, names, amounts, timestamps). Compresses about
 * 4:1, like typical topic data, so codec speeds measured on it are realistic.
 */
export function sampleText(size: number, seed = 1): Uint8Array {
  const next = lcg(seed);
  const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = `{"id":${i},"customer":"${words[next() % 8]}-${next() % 100000}","amount":${
      (next() % 1000000) / 100
    },"ts":${1700000000000 + i * 37 + (next() % 1000)},"note":"${words[next() % 8]} ${
      words[next() % 8]
    } ${(next() >>> 2).toString(36)}"}\n`;
    parts.push(line);
    length += line.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, size);
}

/** Incompressible bytes. */
export function sampleRandom(size: number, seed = 2): Uint8Array {
  const next = lcg(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = next() >>> 24;
  return out;
}

/** Highly repetitive bytes: short runs and a repeating 7-byte pattern. */
export function sampleRepetitive(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = i % 4096 < 2048 ? 0 : (i % 7) + 65;
  return out;
}

/** The named samples the round-trip tests run over. */
export function samples(): Record<string, Uint8Array> {
  return {
    empty: new Uint8Array(0),
    oneByte: new Uint8Array([42]),
    short: new TextEncoder().encode("abcabcabcabcabcabc"),
    text: sampleText(200_000),
    random1MiB: sampleRandom(1 << 20),
    repetitive: sampleRepetitive(300_000),
    zeros: new Uint8Array(1 << 20),
  };
}
