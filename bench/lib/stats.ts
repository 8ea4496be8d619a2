/**
 * Small statistics and number formatting for the benchmark reports.
 *
 * @module
 */

/** The median (mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** An integer with thousands separators: `1,234,567`. */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Fixed decimals. */
export function fmt(n: number, digits: number): string {
  return n.toFixed(digits);
}

/** "median (min–max)" with a formatter; "n/a" when empty or not finite. */
export function stat(xs: number[], f: (n: number) => string): string {
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) return "n/a";
  if (xs.length === 1) return f(xs[0]);
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

/** 2^20 bytes. */
export const MiB = 1024 * 1024;
