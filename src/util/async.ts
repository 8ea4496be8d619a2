/**
 * The few async helpers the library needs, written once: an abortable delay
 * (rejecting, or {@linkcode sleep} answering whether it was aborted), a
 * wait bounded by a deadline, and exponential backoff with jitter.
 *
 * @module
 */

/** Resolves after `ms`, or rejects with the signal's reason when aborted. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(id);
      reject(signal!.reason);
    };
    const id = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits `ms`: resolves true when the time passed, false when `signal` aborted
 * first. Never rejects: for loops that simply stop when the client closes.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return delay(ms, signal).then(() => true, () => false);
}

/**
 * Waits for `p` until `deadline` (a `Date.now()` time): true when it
 * resolved in time, false when the deadline came first (`p` goes on, and
 * its later rejection counts as handled); rejects when `p` rejected in time.
 */
export async function settlesBy(p: Promise<unknown>, deadline: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      p.then(() => true),
      sleep(Math.max(0, deadline - Date.now()), timer.signal).then(() => false),
    ]);
  } finally {
    timer.abort();
  }
}

/** Settings of {@linkcode backoffMs}. */
export interface BackoffOptions {
  /** First delay. @default 100 */
  initialMs?: number;
  /** Largest delay. @default 10000 */
  maxMs?: number;
  /** Random spread, as a fraction of the delay (0.2 = ±20%). @default 0.2 */
  jitter?: number;
}

/**
 * The delay before retry number `attempt` (0-based): doubling from
 * `initialMs` up to `maxMs`, spread by ±`jitter` so that many clients
 * retrying together do not stampede a recovering broker.
 */
export function backoffMs(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 100, maxMs = 10_000, jitter = 0.2 } = options;
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  const spread = base * jitter * (Math.random() * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}
