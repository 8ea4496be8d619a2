// The chaos harness's invariant checker (scripts/chaos/checker.ts) on
// hand-made event sequences: a clean run passes, and each invariant has a
// sequence that must break it. Also the event parser (scripts/chaos/events.ts)
// on lines as Kafka's Java tools print them.

import assert from "node:assert/strict";
import {
  checkRun,
  type MemberLog,
  type RunLog,
  type ViolationKind,
} from "../scripts/chaos/checker.ts";
import {
  type ConsumerEvent,
  MalformedEventError,
  parseConsumerLine,
  parseProducerLine,
  type ProducerAck,
} from "../scripts/chaos/events.ts";

const T = "t";
const tps = (ps: number[]) => ps.map((partition) => ({ topic: T, partition }));
const assigned = (ts: number, ...ps: number[]): ConsumerEvent => ({
  name: "partitions_assigned",
  timestamp: ts,
  partitions: tps(ps),
});
const revoked = (ts: number, ...ps: number[]): ConsumerEvent => ({
  name: "partitions_revoked",
  timestamp: ts,
  partitions: tps(ps),
});
const consumed = (ts: number, p: number, min: number, max: number): ConsumerEvent => ({
  name: "records_consumed",
  timestamp: ts,
  count: max - min + 1,
  partitions: [{ topic: T, partition: p, count: max - min + 1, minOffset: min, maxOffset: max }],
});
const committed = (ts: number, p: number, offset: number, success = true): ConsumerEvent => ({
  name: "offsets_committed",
  timestamp: ts,
  offsets: [{ topic: T, partition: p, offset }],
  success,
});
const shutdown = (ts: number): ConsumerEvent => ({ name: "shutdown_complete", timestamp: ts });

function member(
  id: string,
  events: ConsumerEvent[],
  end: MemberLog["end"] = null,
  pauses: MemberLog["pauses"] = [],
): MemberLog {
  return { id, events, end, pauses };
}

function acks(p: number, from: number, to: number, ts = 500): ProducerAck[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    timestamp: ts,
    partition: p,
    offset: from + i,
  }));
}

function run(partial: Partial<RunLog>): RunLog {
  return {
    topic: T,
    partitions: 1,
    members: [],
    acks: [],
    samples: [],
    faults: [],
    cleanFrom: null,
    finalCommitted: null,
    ...partial,
  };
}

const kinds = (log: RunLog): ViolationKind[] => checkRun(log).violations.map((v) => v.kind);

/** A handover of partition 0 from A to B after a clean revoke, everything committed. */
function cleanHandover(): RunLog {
  return run({
    members: [
      member("A", [
        { name: "startup_complete", timestamp: 900 },
        assigned(1000, 0),
        consumed(1100, 0, 0, 9),
        committed(1110, 0, 10),
        revoked(2000, 0),
        shutdown(2010),
      ], { at: 2020, how: "clean", code: 0 }),
      member("B", [
        assigned(2100, 0),
        consumed(2200, 0, 10, 19),
        committed(2210, 0, 20),
        revoked(3000, 0),
        shutdown(3010),
      ], { at: 3020, how: "clean", code: 0 }),
    ],
    acks: acks(0, 0, 19),
    samples: [
      { at: 1500, offsets: new Map([[0, 10]]) },
      { at: 2500, offsets: new Map([[0, 20]]) },
    ],
    cleanFrom: 900,
    finalCommitted: new Map([[0, 20]]),
  });
}

Deno.test("checkRun() passes a clean handover and counts it", () => {
  const report = checkRun(cleanHandover());
  assert.deepEqual(report.violations, []);
  assert.equal(report.stats.acked, 20);
  assert.equal(report.stats.consumed, 20);
  assert.equal(report.stats.distinct, 20);
  assert.equal(report.stats.duplicates, 0);
  assert.equal(report.stats.assignments, 2);
  assert.equal(report.stats.processes, 2);
});

Deno.test("checkRun() flags acknowledged records never consumed as lost", () => {
  const log = cleanHandover();
  log.acks.push(...acks(0, 20, 24));
  log.finalCommitted = new Map([[0, 20]]);
  const report = checkRun(log);
  assert.deepEqual(report.violations.map((v) => v.kind), ["lost"]);
  assert.match(report.violations[0].message, /5 acknowledged record\(s\) of t\/0.*first: 20, 21/);
});

Deno.test("checkRun() flags records consumed for a partition the member does not hold", () => {
  assert.deepEqual(
    kinds(run({ members: [member("A", [consumed(1000, 0, 0, 4), assigned(1100, 0)])] })),
    ["unassigned"],
  );
  // After its revocation too.
  assert.deepEqual(
    kinds(run({
      members: [
        member("A", [
          assigned(1000, 0),
          consumed(1100, 0, 0, 4),
          revoked(1200, 0),
          consumed(1300, 0, 5, 6),
        ]),
      ],
    })),
    ["unassigned"],
  );
});

Deno.test("checkRun() flags two members holding a partition at once", () => {
  const a = member("A", [assigned(1000, 0), consumed(1100, 0, 0, 4)]);
  const b = member("B", [assigned(1500, 0)]);
  assert.deepEqual(kinds(run({ members: [a, b] })), ["overlap"]);
  // A killed before B's assignment: no overlap.
  const killed = member("A", [assigned(1000, 0), consumed(1100, 0, 0, 4)], {
    at: 1400,
    how: "killed",
    code: null,
  });
  assert.deepEqual(kinds(run({ members: [killed, b] })), []);
});

Deno.test("checkRun() excuses a claim held by a frozen member, and counts it", () => {
  const a = member("A", [assigned(1000, 0), consumed(1100, 0, 0, 4), revoked(1800, 0)], null, [
    { from: 1200, to: 1700 },
  ]);
  const b = member("B", [assigned(1500, 0), consumed(1600, 0, 5, 9)]);
  const report = checkRun(run({ members: [a, b] }));
  assert.deepEqual(report.violations, []);
  assert.equal(report.stats.frozenOverlaps, 1);
});

Deno.test("checkRun() flags a frozen member consuming after another took its partition", () => {
  const a = member(
    "A",
    [assigned(1000, 0), consumed(1100, 0, 0, 4), consumed(1750, 0, 5, 6)],
    null,
    [
      { from: 1200, to: 1700 },
    ],
  );
  const b = member("B", [assigned(1500, 0), consumed(1600, 0, 5, 9)]);
  assert.deepEqual(kinds(run({ members: [a, b] })), ["stale-owner"]);
});

Deno.test("checkRun() does not blame a commit printed after a freeze on the new owner", () => {
  // The commit was sent before SIGSTOP and its answer read after SIGCONT.
  const a = member("A", [assigned(1000, 0), consumed(1100, 0, 0, 4), committed(1750, 0, 5)], null, [
    { from: 1101, to: 1700 },
  ]);
  const b = member("B", [assigned(1500, 0), consumed(1600, 0, 5, 9)]);
  assert.deepEqual(kinds(run({ members: [a, b] })), []);
});

Deno.test("checkRun() flags an assignment that starts past everything consumed", () => {
  const a = member("A", [assigned(1000, 0), consumed(1100, 0, 0, 9), revoked(1200, 0)]);
  const b = member("B", [assigned(1300, 0), consumed(1400, 0, 15, 20)]);
  const report = checkRun(run({ members: [a, b] }));
  assert.deepEqual(report.violations.map((v) => v.kind), ["skip"]);
  assert.match(report.violations[0].message, /offsets 10\.\.14 skipped/);
});

Deno.test("checkRun() flags a jump forward within one assignment", () => {
  const a = member("A", [assigned(1000, 0), consumed(1100, 0, 0, 9), consumed(1200, 0, 12, 15)]);
  assert.deepEqual(kinds(run({ members: [a] })), ["gap"]);
});

Deno.test("checkRun() flags going back within one assignment", () => {
  const a = member("A", [assigned(1000, 0), consumed(1100, 0, 0, 9), consumed(1200, 0, 5, 12)]);
  assert.deepEqual(kinds(run({ members: [a] })), ["repeat"]);
});

Deno.test("checkRun() flags an assignment starting before the committed offset", () => {
  const a = member("A", [
    assigned(1000, 0),
    consumed(1100, 0, 0, 9),
    committed(1110, 0, 10),
    revoked(1200, 0),
  ]);
  const b = member("B", [assigned(1300, 0), consumed(1400, 0, 5, 12)]);
  assert.deepEqual(kinds(run({ members: [a, b] })), ["behind-commit"]);
  // The same when the commit is known only from the broker.
  const a2 = member("A", [assigned(1000, 0), consumed(1100, 0, 0, 9), revoked(1200, 0)]);
  assert.deepEqual(
    kinds(run({ members: [a2, b], samples: [{ at: 1250, offsets: new Map([[0, 10]]) }] })),
    ["behind-commit"],
  );
});

Deno.test("checkRun() flags a committed offset that moves backwards", () => {
  const a = member("A", [assigned(1000, 0), consumed(1100, 0, 0, 9)]);
  const samples = [
    { at: 1200, offsets: new Map([[0, 10]]) },
    { at: 1300, offsets: new Map([[0, 4]]) },
  ];
  assert.deepEqual(kinds(run({ members: [a], samples })), ["commit-back"]);
});

Deno.test("checkRun() flags committed offsets past what was consumed", () => {
  const a = member("A", [assigned(1000, 0), consumed(1100, 0, 0, 9)]);
  assert.deepEqual(
    kinds(run({ members: [a], samples: [{ at: 1200, offsets: new Map([[0, 15]]) }] })),
    ["commit-ahead"],
  );
  const b = member("B", [assigned(1000, 0), consumed(1100, 0, 0, 9), committed(1110, 0, 12)]);
  assert.deepEqual(kinds(run({ members: [b] })), ["commit-ahead"]);
});

Deno.test("checkRun() flags duplicates in the clean phase only", () => {
  const members = (ts: number) => [
    member("A", [assigned(1000, 0), consumed(1100, 0, 0, 9), revoked(1200, 0)]),
    member("B", [assigned(ts, 0), consumed(ts + 100, 0, 5, 14)]),
  ];
  // Before the clean phase: counted, not a violation (a crash may cause them).
  const before = checkRun(run({ members: members(1300), cleanFrom: 5000 }));
  assert.deepEqual(before.violations, []);
  assert.equal(before.stats.duplicates, 5);
  assert.equal(before.stats.duplicatesClean, 0);
  // In the clean phase: a violation.
  const after = checkRun(run({ members: members(5100), cleanFrom: 5000 }));
  assert.deepEqual(after.violations.map((v) => v.kind), ["duplicate-after-clean"]);
  assert.equal(after.stats.duplicatesClean, 5);
});

Deno.test("checkRun() flags consumed records left uncommitted after the final shutdown", () => {
  const log = cleanHandover();
  log.finalCommitted = new Map([[0, 15]]);
  assert.deepEqual(kinds(log), ["uncommitted-at-end"]);
});

Deno.test("checkRun() flags a started consumer stopped cleanly without shutdown_complete, and a crash", () => {
  const up = { name: "startup_complete", timestamp: 900 } as const;
  const quiet = member("A", [up, assigned(1000, 0)], { at: 2000, how: "clean", code: 0 });
  assert.deepEqual(kinds(run({ members: [quiet] })), ["no-shutdown"]);
  // Stopped before it started up (a JVM still loading): nothing to report.
  const early = member("A", [], { at: 2000, how: "clean", code: 143 });
  assert.deepEqual(kinds(run({ members: [early] })), []);
  const crashed = member("A", [assigned(1000, 0)], { at: 2000, how: "exited", code: 1 });
  assert.deepEqual(kinds(run({ members: [crashed] })), ["crash"]);
});

Deno.test("checkRun() measures recovery until new records flow on every partition", () => {
  const a = member("A", [
    assigned(1000, 0, 1),
    consumed(1100, 0, 0, 9),
    consumed(1100, 1, 0, 9),
    consumed(3000, 0, 10, 12), // p0 recovers 2 s after the fault
    consumed(4500, 1, 10, 12), // p1 3.5 s after
  ]);
  const report = checkRun(run({
    partitions: 2,
    members: [a],
    acks: [...acks(0, 0, 9), ...acks(1, 0, 9), ...acks(0, 10, 12, 1200), ...acks(1, 10, 12, 1300)],
    faults: [
      { at: 1000, kind: "consumer-kill", target: "X" },
      { at: 4000, kind: "broker-kill", target: "node1" },
    ],
  }));
  assert.deepEqual(report.violations, []);
  assert.deepEqual(report.stats.recoveries.map((r) => r.ms), [3500, 0]);
  assert.deepEqual(report.stats.faults, { "consumer-kill": 1, "broker-kill": 1 });
  // A partition that never flows again: Infinity.
  const stuck = checkRun(run({
    members: [member("A", [assigned(1000, 0), consumed(1100, 0, 0, 9)])],
    acks: [...acks(0, 0, 9), { timestamp: 2100, partition: 0, offset: 10 }],
    faults: [{ at: 2000, kind: "consumer-pause", target: "A" }],
  }));
  assert.equal(stuck.stats.recoveries[0].ms, Infinity);
  assert.deepEqual(stuck.violations.map((v) => v.kind), ["lost"]);
});

Deno.test("checkRun() counts rebalance rounds from assignments close in time", () => {
  const a = member("A", [assigned(1000, 0), revoked(5000, 0), assigned(5100)]);
  const b = member("B", [assigned(1001), assigned(5101, 0)]);
  const report = checkRun(run({ members: [a, b] }));
  assert.equal(report.stats.assignments, 4);
  assert.equal(report.stats.rebalances, 2);
});

Deno.test("parseConsumerLine() reads the events as Kafka's Java tool prints them", () => {
  assert.deepEqual(parseConsumerLine('{"timestamp":1,"name":"startup_complete"}'), {
    name: "startup_complete",
    timestamp: 1,
  });
  assert.deepEqual(
    parseConsumerLine(
      '{"timestamp":2,"name":"records_consumed","count":3,"partitions":[{"topic":"t",' +
        '"partition":1,"count":3,"minOffset":4,"maxOffset":6}]}',
    ),
    {
      name: "records_consumed",
      timestamp: 2,
      count: 3,
      partitions: [{ topic: "t", partition: 1, count: 3, minOffset: 4, maxOffset: 6 }],
    },
  );
  assert.deepEqual(
    parseConsumerLine(
      '{"timestamp":3,"name":"offsets_committed","offsets":[{"topic":"t","partition":1,' +
        '"offset":7}],"error":"boom","success":false}',
    ),
    {
      name: "offsets_committed",
      timestamp: 3,
      offsets: [{ topic: "t", partition: 1, offset: 7 }],
      success: false,
      error: "boom",
    },
  );
  assert.equal(parseConsumerLine("[2025-01-01] WARN something"), null);
  assert.equal(parseConsumerLine('{"timestamp":1,"name":"something_else"}'), null);
});

Deno.test("parseConsumerLine() refuses known events with missing or impossible fields", () => {
  assert.throws(
    () => parseConsumerLine('{"timestamp":1,"name":"partitions_assigned"}'),
    MalformedEventError,
  );
  assert.throws(
    () =>
      parseConsumerLine(
        '{"timestamp":2,"name":"records_consumed","count":5,"partitions":[{"topic":"t",' +
          '"partition":1,"count":5,"minOffset":4,"maxOffset":6}]}',
      ),
    /cannot hold 5 records/,
  );
  assert.throws(
    () => parseConsumerLine('{"name":"startup_complete"}'),
    /"timestamp" must be an integer/,
  );
});

Deno.test("parseProducerLine() reads producer_send_success and ignores the rest", () => {
  assert.deepEqual(
    parseProducerLine(
      '{"timestamp":9,"name":"producer_send_success","key":"0","value":"0","offset":5,' +
        '"topic":"t","partition":2}',
    ),
    { timestamp: 9, partition: 2, offset: 5 },
  );
  assert.equal(parseProducerLine('{"timestamp":9,"name":"startup_complete"}'), null);
  assert.equal(parseProducerLine('{"timestamp":9,"name":"producer_send_error"}'), null);
});

Deno.test("checkRun() with cooperative: a partition kept through a rebalance stays held; eager reads the same events as dropping it", () => {
  // A holds 0 and 1; a rebalance revokes only 1 and adds nothing ([]); A
  // goes on consuming 0. B takes 1 after A revoked it.
  const log = (cooperative: boolean) =>
    run({
      partitions: 2,
      cooperative,
      members: [
        member("A", [
          assigned(1000, 0, 1),
          consumed(1100, 0, 0, 9),
          consumed(1100, 1, 0, 9),
          revoked(2000, 1),
          assigned(2001),
          consumed(2100, 0, 10, 19),
          revoked(3000, 0),
          shutdown(3010),
        ], { at: 3020, how: "clean", code: 0 }),
        member("B", [
          assigned(2050, 1),
          consumed(2200, 1, 10, 19),
          revoked(3000, 1),
          shutdown(3010),
        ], { at: 3020, how: "clean", code: 0 }),
      ],
      acks: [...acks(0, 0, 19), ...acks(1, 0, 19)],
    });
  assert.deepEqual(kinds(log(true)), []);
  // Eager semantics: "assigned []" is A's whole new assignment, so its later
  // consumption of partition 0 is of a partition it no longer holds.
  assert.ok(kinds(log(false)).includes("unassigned"), String(kinds(log(false))));
});
