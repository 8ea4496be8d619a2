/**
 * The repetitions of one benchmark cell: every client once per repetition,
 * in an order that rotates from one repetition to the next (so no client
 * always runs first or last), each sample logged, a client that fails once
 * left out of the rest with its first error kept.
 *
 * @module
 */

import { log } from "./proc.ts";
import { fmt, fmtInt, MiB } from "./stats.ts";

/** What every sample reports. */
export interface RepSample {
  /** Records per second. */
  recordsPerSec: number;
  /** Payload MB per second. */
  mbPerSec: number;
  /** CPU seconds of the client process. */
  cpuS: number;
  /** Peak RSS in bytes. */
  peakRssBytes: number;
}

/** Runs `reps` rotated rounds of `once` over `clients`, into `samples` and `failed`. */
export async function runRotated<C extends { id: string }, S extends RepSample>(
  cellId: string,
  reps: number,
  clients: readonly C[],
  samples: Map<string, S[]>,
  failed: Map<string, string>,
  once: (client: C) => Promise<S>,
): Promise<void> {
  for (let rep = 0; rep < reps; rep++) {
    const shift = rep % clients.length;
    for (const c of [...clients.slice(shift), ...clients.slice(0, shift)]) {
      if (failed.has(c.id)) continue;
      try {
        const s = await once(c);
        samples.get(c.id)!.push(s);
        log(
          `${cellId} rep ${rep + 1}/${reps} ${c.id}: ${fmtInt(s.recordsPerSec)} records/s, ` +
            `${fmt(s.mbPerSec, 1)} MB/s, CPU ${fmt(s.cpuS, 2)} s, RSS ${
              fmt(s.peakRssBytes / MiB, 0)
            } MiB`,
        );
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        log(`${cellId} rep ${rep + 1}/${reps} ${c.id} FAILED: ${msg}`);
        failed.set(c.id, msg.split("\n").slice(0, 3).join(" ").slice(0, 300));
      }
    }
  }
}
