/**
 * The invariants of a chaos run, checked after the fact from what the
 * processes printed: the verifiable consumers' events, the verifiable
 * producer's acknowledgements, the committed offsets read from the broker,
 * and the harness's own record of the faults it caused. Pure: no I/O, no
 * clocks, so every violation is unit tested with hand-made event sequences
 * (`tests/chaos_checker_test.ts`).
 *
 * All timestamps are ms since the epoch from the same machine's clock (the
 * tools stamp their events with it). Where two events share a millisecond
 * the checks give the benefit of the doubt (strict comparisons).
 *
 * @module
 */

import type { ConsumerEvent, ProducerAck } from "./events.ts";

/** How a consumer process ended. */
export interface MemberEnd {
  /** When the harness saw it exit (or killed it). */
  at: number;
  /** `clean`: SIGTERM from the harness; `killed`: SIGKILL; `exited`: on its own. */
  how: "clean" | "killed" | "exited";
  /** Exit code, null when killed by a signal. */
  code: number | null;
}

/** Everything one consumer process printed, and what the harness did to it. */
export interface MemberLog {
  /** Unique per process, e.g. `c2#3` (slot 2, third start). */
  id: string;
  /** Events in the order printed. */
  events: ConsumerEvent[];
  /** Null while it still runs (treated as ending at the end of the log). */
  end: MemberEnd | null;
  /** SIGSTOP..SIGCONT intervals (ms). */
  pauses: Array<{ from: number; to: number }>;
}

/** A fault the harness caused. */
export interface Fault {
  /** When (ms). */
  at: number;
  /** What. */
  kind:
    | "consumer-restart"
    | "consumer-kill"
    | "consumer-pause"
    | "consumer-block"
    | "broker-restart"
    | "broker-kill";
  /** Which process or node, for the report. */
  target: string;
}

/** Committed offsets read from the group coordinator. */
export interface CommitSample {
  /** When the OffsetFetch answer arrived. */
  at: number;
  /** Partition -> committed offset (partitions without a commit are absent). */
  offsets: Map<number, number>;
}

/** Input of {@linkcode checkRun}. */
export interface RunLog {
  /** The topic under test. */
  topic: string;
  /** Its partition count. */
  partitions: number;
  /** Every consumer process of the run. */
  members: MemberLog[];
  /** Acknowledged records of the verifiable producer. */
  acks: ProducerAck[];
  /** Committed offsets sampled during the run, in time order. */
  samples: CommitSample[];
  /** Faults caused by the harness, in time order. */
  faults: Fault[];
  /** Start of the clean phase (only clean restarts after it); null when there was none. */
  cleanFrom: number | null;
  /** Committed offsets after every consumer shut down cleanly at the end; null if not read. */
  finalCommitted: Map<number, number> | null;
  /**
   * Cooperative rebalancing (KIP-429): `partitions_assigned` lists only the
   * added partitions, and kept ones stay held. Eager (default): it lists the
   * whole new assignment.
   */
  cooperative?: boolean;
}

/** The kinds of violations, each one an invariant of Kafka's consumer system tests. */
export type ViolationKind =
  | "lost" // an acknowledged record was never consumed
  | "unassigned" // records consumed for a partition the member did not hold
  | "overlap" // a partition assigned to a member while another (not frozen) still held it
  | "stale-owner" // consumed after another member was assigned the partition
  | "skip" // an assignment started past every consumed offset: records jumped over
  | "gap" // within one assignment, consumption jumped forward
  | "repeat" // within one assignment, consumption went backwards
  | "behind-commit" // an assignment started before the group's committed offset
  | "commit-back" // the committed offset moved backwards
  | "commit-ahead" // a committed offset past what had been consumed
  | "duplicate-after-clean" // a record consumed twice in the clean phase
  | "uncommitted-at-end" // after the final clean shutdown, consumed records left uncommitted
  | "no-shutdown" // a cleanly stopped consumer never printed shutdown_complete
  | "crash" // a consumer process exited on its own
  | "malformed"; // a consumer printed an event that does not follow the protocol

/** One broken invariant. */
export interface Violation {
  /** Which invariant. */
  kind: ViolationKind;
  /** When (ms), as precisely as known. */
  at: number;
  /** What happened, with member, partition and offsets. */
  message: string;
}

/** Recovery of one fault: how long until every partition delivered new records again. */
export interface Recovery {
  /** The fault. */
  fault: Fault;
  /** ms from the fault to the last partition flowing again; Infinity if it never did. */
  ms: number;
}

/** Counts of a run. */
export interface RunStats {
  /** Records the producer had acknowledged. */
  acked: number;
  /** Records delivered to the consumers (with repeats). */
  consumed: number;
  /** Distinct offsets consumed. */
  distinct: number;
  /** consumed - distinct. */
  duplicates: number;
  /** Duplicates among records consumed in the clean phase. */
  duplicatesClean: number;
  /** Rebalance rounds (partitions_assigned events less than 2 s apart count as one). */
  rebalances: number;
  /** partitions_assigned events. */
  assignments: number;
  /** Overlapping claims excused because the earlier owner was frozen (SIGSTOP). */
  frozenOverlaps: number;
  /** Failed offset commits reported by the consumers. */
  failedCommits: number;
  /** Consumer processes started. */
  processes: number;
  /** Faults by kind. */
  faults: Record<string, number>;
  /** Per fault. */
  recoveries: Recovery[];
}

/** What {@linkcode checkRun} found. */
export interface RunReport {
  /** Broken invariants (empty: the run passed). */
  violations: Violation[];
  /** Counts. */
  stats: RunStats;
}

/** Sorted, merged [from, to] offset intervals (inclusive). */
class OffsetSet {
  readonly #spans: Array<[number, number]> = [];

  /** Adds [from, to]; returns how many of those offsets were already in the set. */
  add(from: number, to: number): number {
    let overlap = 0;
    const spans = this.#spans;
    // Find the first span that may touch [from - 1, to + 1].
    let lo = 0, hi = spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (spans[mid][1] < from - 1) lo = mid + 1;
      else hi = mid;
    }
    let i = lo, start = from, end = to;
    while (i < spans.length && spans[i][0] <= to + 1) {
      const [a, b] = spans[i];
      overlap += Math.max(0, Math.min(b, to) - Math.max(a, from) + 1);
      start = Math.min(start, a);
      end = Math.max(end, b);
      i++;
    }
    spans.splice(lo, i - lo, [start, end]);
    return overlap;
  }

  /** True when `offset` is in the set. */
  has(offset: number): boolean {
    let lo = 0, hi = this.#spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#spans[mid][1] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.#spans.length && this.#spans[lo][0] <= offset;
  }

  /** Offsets in the set. */
  get size(): number {
    return this.#spans.reduce((n, [a, b]) => n + b - a + 1, 0);
  }
}

type Step =
  | { at: number; order: number; member: MemberLog; event: ConsumerEvent }
  | { at: number; order: number; member: MemberLog; event: { name: "process_end" } }
  | { at: number; order: number; sample: CommitSample };

interface Hold {
  since: number;
  /** Next offset expected from this member for the partition; null before its first records. */
  next: number | null;
}

/**
 * Checks a run against the invariants (see {@linkcode ViolationKind}) and
 * counts records, duplicates, rebalances and recovery times.
 *
 * @example
 * ```ts
 * import { checkRun } from "./checker.ts";
 * const report = checkRun({
 *   topic: "t", partitions: 1, members: [], acks: [], samples: [], faults: [],
 *   cleanFrom: null, finalCommitted: null,
 * });
 * console.log(report.violations.length); // 0
 * ```
 */
export function checkRun(log: RunLog): RunReport {
  const violations: Violation[] = [];
  const flag = (kind: ViolationKind, at: number, message: string) =>
    violations.push({ kind, at, message });
  const topic = log.topic;

  // One timeline: every member's events (each member's own order kept), its
  // end, and the commit samples.
  const steps: Step[] = [];
  let order = 0;
  let lastTs = 0;
  for (const m of log.members) {
    for (const e of m.events) {
      steps.push({ at: e.timestamp, order: order++, member: m, event: e });
      lastTs = Math.max(lastTs, e.timestamp);
    }
  }
  for (const m of log.members) {
    steps.push({
      at: m.end?.at ?? Number.MAX_SAFE_INTEGER,
      order: order++,
      member: m,
      event: { name: "process_end" },
    });
  }
  for (const s of log.samples) steps.push({ at: s.at, order: order++, sample: s });
  steps.sort((a, b) => a.at - b.at || a.order - b.order);

  const holds = new Map<string, Map<number, Hold>>(); // member id -> partition -> hold
  const holdOf = (m: MemberLog) => {
    let h = holds.get(m.id);
    if (!h) holds.set(m.id, h = new Map());
    return h;
  };
  const lastAssigned = new Map<number, { member: string; at: number }>();
  const position = new Map<number, number>(); // max consumed offset + 1, any member
  const committed = new Map<number, number>(); // highest commit known so far
  const lastSample = new Map<number, number>();
  const consumedSets = new Map<number, OffsetSet>();
  const consumption = new Map<number, Array<{ at: number; max: number }>>();
  let consumed = 0, duplicates = 0, duplicatesClean = 0, frozenOverlaps = 0, failedCommits = 0;
  const assignTimes: number[] = [];
  const frozenBetween = (m: MemberLog, from: number, to: number) =>
    m.pauses.some((p) => p.from < to && p.to > from);

  for (const step of steps) {
    if ("sample" in step) {
      for (const [p, v] of step.sample.offsets) {
        const before = lastSample.get(p);
        if (before !== undefined && v < before) {
          flag(
            "commit-back",
            step.at,
            `committed offset of ${topic}/${p} went back from ${before} to ${v}`,
          );
        }
        lastSample.set(p, v);
        const pos = position.get(p) ?? 0;
        if (v > pos) {
          flag(
            "commit-ahead",
            step.at,
            `committed offset ${v} of ${topic}/${p} is past everything consumed so far (${pos})`,
          );
        }
        committed.set(p, Math.max(committed.get(p) ?? 0, v));
      }
      continue;
    }
    const m = step.member;
    const own = holdOf(m);
    const e = step.event;
    switch (e.name) {
      case "process_end":
        own.clear();
        break;
      case "shutdown_complete":
        own.clear();
        break;
      case "partitions_revoked":
        for (const tp of e.partitions) own.delete(tp.partition);
        break;
      case "partitions_assigned": {
        assignTimes.push(e.timestamp);
        // Eager: Kafka's tool reports the whole new assignment. Cooperative:
        // only what was added; kept partitions stay held.
        if (!log.cooperative) own.clear();
        for (const tp of e.partitions) {
          if (tp.topic !== topic) continue;
          const p = tp.partition;
          for (const other of log.members) {
            if (other === m) continue;
            const h = holds.get(other.id)?.get(p);
            if (!h) continue;
            if (frozenBetween(other, h.since, e.timestamp)) {
              frozenOverlaps++;
              continue;
            }
            flag(
              "overlap",
              e.timestamp,
              `${topic}/${p} was assigned to ${m.id} while ${other.id} still held it ` +
                `(since ${h.since}, not revoked)`,
            );
          }
          own.set(p, { since: e.timestamp, next: null });
          lastAssigned.set(p, { member: m.id, at: e.timestamp });
        }
        break;
      }
      case "records_consumed":
        for (const r of e.partitions) {
          if (r.topic !== topic) continue;
          const p = r.partition;
          const at = e.timestamp;
          consumed += r.count;
          let set = consumedSets.get(p);
          if (!set) consumedSets.set(p, set = new OffsetSet());
          // Ranges of a non-compacted, non-transactional topic are dense.
          const dup = set.add(r.minOffset, r.maxOffset);
          duplicates += dup;
          if (log.cleanFrom !== null && at >= log.cleanFrom && dup > 0) {
            duplicatesClean += dup;
            flag(
              "duplicate-after-clean",
              at,
              `${m.id} consumed ${dup} record(s) of ${topic}/${p} again in the clean phase ` +
                `(range ${r.minOffset}..${r.maxOffset})`,
            );
          }
          let list = consumption.get(p);
          if (!list) consumption.set(p, list = []);
          list.push({ at, max: r.maxOffset });
          const h = own.get(p);
          if (!h) {
            flag(
              "unassigned",
              at,
              `${m.id} consumed ${topic}/${p} ${r.minOffset}..${r.maxOffset} without holding it`,
            );
          } else {
            const last = lastAssigned.get(p);
            if (last && last.member !== m.id && last.at < at) {
              flag(
                "stale-owner",
                at,
                `${m.id} consumed ${topic}/${p} ${r.minOffset}..${r.maxOffset} after it was ` +
                  `assigned to ${last.member} (at ${last.at})`,
              );
            }
            if (h.next === null) {
              const pos = position.get(p) ?? 0;
              const c = committed.get(p);
              if (r.minOffset > pos) {
                flag(
                  "skip",
                  at,
                  `${m.id} started ${topic}/${p} at ${r.minOffset}, past everything consumed ` +
                    `before (${pos}): offsets ${pos}..${r.minOffset - 1} skipped`,
                );
              } else if (c !== undefined && r.minOffset < c) {
                flag(
                  "behind-commit",
                  at,
                  `${m.id} started ${topic}/${p} at ${r.minOffset}, before the committed offset ${c}`,
                );
              }
            } else if (r.minOffset > h.next) {
              flag(
                "gap",
                at,
                `${m.id} jumped from ${h.next} to ${r.minOffset} in ${topic}/${p}: ` +
                  `${r.minOffset - h.next} offset(s) skipped`,
              );
            } else if (r.minOffset < h.next) {
              flag(
                "repeat",
                at,
                `${m.id} went back from ${h.next} to ${r.minOffset} in ${topic}/${p} ` +
                  `within one assignment`,
              );
            }
            h.next = r.maxOffset + 1;
          }
          position.set(p, Math.max(position.get(p) ?? 0, r.maxOffset + 1));
        }
        break;
      case "offsets_committed":
        if (!e.success) {
          failedCommits++;
          break;
        }
        for (const o of e.offsets) {
          if (o.topic !== topic) continue;
          const p = o.partition;
          // No owner check here: a commit sent before a freeze is printed
          // after it, so the print time says little about when the broker
          // took it. A stale commit that landed shows in the samples
          // (commit-back) and a stale delivery as a stale-owner consumption.
          const pos = position.get(p) ?? 0;
          if (o.offset > pos) {
            flag(
              "commit-ahead",
              e.timestamp,
              `${m.id} committed ${topic}/${p} at ${o.offset}, past everything consumed (${pos})`,
            );
          }
          committed.set(p, Math.max(committed.get(p) ?? 0, o.offset));
        }
        break;
      default:
        break;
    }
  }

  // Every acknowledged record consumed at least once.
  const missing = new Map<number, number[]>();
  for (const a of log.acks) {
    if (consumedSets.get(a.partition)?.has(a.offset)) continue;
    let list = missing.get(a.partition);
    if (!list) missing.set(a.partition, list = []);
    list.push(a.offset);
  }
  for (const [p, offsets] of [...missing].sort((a, b) => a[0] - b[0])) {
    offsets.sort((a, b) => a - b);
    flag(
      "lost",
      lastTs,
      `${offsets.length} acknowledged record(s) of ${topic}/${p} never consumed ` +
        `(first: ${offsets.slice(0, 5).join(", ")})`,
    );
  }

  if (log.finalCommitted) {
    for (let p = 0; p < log.partitions; p++) {
      const pos = position.get(p) ?? 0;
      const c = log.finalCommitted.get(p) ?? 0;
      if (c < pos) {
        flag(
          "uncommitted-at-end",
          lastTs,
          `after the final clean shutdown ${topic}/${p} is committed at ${c} but was consumed ` +
            `up to ${pos}`,
        );
      } else if (c > pos) {
        flag(
          "commit-ahead",
          lastTs,
          `after the final clean shutdown ${topic}/${p} is committed at ${c}, past everything ` +
            `consumed (${pos})`,
        );
      }
    }
  }

  for (const m of log.members) {
    // A process stopped before it started up (a JVM still loading) cannot report either.
    const started = m.events.some((e) => e.name === "startup_complete");
    if (
      m.end?.how === "clean" && started && !m.events.some((e) => e.name === "shutdown_complete")
    ) {
      flag(
        "no-shutdown",
        m.end.at,
        `${m.id} was stopped with SIGTERM but never printed shutdown_complete`,
      );
    }
    if (m.end?.how === "exited") {
      flag("crash", m.end.at, `${m.id} exited on its own with code ${m.end.code}`);
    }
  }

  let distinct = 0;
  for (const s of consumedSets.values()) distinct += s.size;
  assignTimes.sort((a, b) => a - b);
  let rebalances = 0;
  for (let i = 0; i < assignTimes.length; i++) {
    if (i === 0 || assignTimes[i] - assignTimes[i - 1] >= 2000) rebalances++;
  }
  const faults: Record<string, number> = {};
  for (const f of log.faults) faults[f.kind] = (faults[f.kind] ?? 0) + 1;

  violations.sort((a, b) => a.at - b.at);
  return {
    violations,
    stats: {
      acked: log.acks.length,
      consumed,
      distinct,
      duplicates,
      duplicatesClean,
      rebalances,
      assignments: assignTimes.length,
      frozenOverlaps,
      failedCommits,
      processes: log.members.length,
      faults,
      recoveries: recoveries(log, consumption),
    },
  };
}

/**
 * For each fault: the time until every partition delivered a record written
 * after the fault (the producer writes to every partition throughout).
 */
function recoveries(
  log: RunLog,
  consumption: Map<number, Array<{ at: number; max: number }>>,
): Recovery[] {
  const acksBy = new Map<number, ProducerAck[]>();
  for (const a of log.acks) {
    let list = acksBy.get(a.partition);
    if (!list) acksBy.set(a.partition, list = []);
    list.push(a);
  }
  for (const list of acksBy.values()) list.sort((a, b) => a.timestamp - b.timestamp);
  for (const list of consumption.values()) list.sort((a, b) => a.at - b.at);
  return log.faults.map((fault) => {
    let worst = 0;
    for (const [p, acks] of acksBy) {
      const first = acks.find((a) => a.timestamp > fault.at);
      if (!first) continue;
      const done = consumption.get(p)?.find((c) => c.at > fault.at && c.max >= first.offset);
      worst = Math.max(worst, done ? done.at - fault.at : Infinity);
    }
    return { fault, ms: worst };
  });
}
