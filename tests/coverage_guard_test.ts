import assert from "node:assert/strict";
import type { ApiRecordLine } from "../src/net/api_record.ts";
import {
  compareVersions,
  type DeclaredApi,
  judge,
  normalizeAddress,
  parseBrokers,
  parseMatrix,
  parseRecordLines,
  type RealBroker,
} from "../scripts/coverage/judge.ts";
import { renderTable, summaryLine } from "../scripts/coverage/report.ts";
import { declaredApis } from "../scripts/coverage_guard.ts";

const OFFSET_FETCH: DeclaredApi = { apiKey: 9, name: "OffsetFetch", ourMax: 10 };
const FETCH: DeclaredApi = { apiKey: 1, name: "Fetch", ourMax: 18 };
const K44 = "127.0.0.1:9092";
const K41 = "127.0.0.1:9041";
const EMBEDDED = "127.0.0.1:40000";
const BROKERS: RealBroker[] = [
  { address: K44, kafkaVersion: "4.4.0", cluster: "test" },
  { address: K41, kafkaVersion: "4.1.1", cluster: "test41" },
];
const ALL_RAN = { planned: ["4.1.1", "4.4.0"], ran: ["4.1.1", "4.4.0"] };

function advertised(broker: string, offsetFetchMax: number): ApiRecordLine {
  return { kind: "versions", broker, apis: [[1, 4, 18], [9, 1, offsetFetchMax]] };
}

function sent(
  broker: string,
  apiKey: number,
  version: number,
  outcome: { errors?: number[]; failure?: "timeout" } = {},
): ApiRecordLine {
  const ok = !outcome.errors && !outcome.failure;
  return {
    kind: "response",
    broker,
    apiKey,
    api: apiKey === 9 ? "OffsetFetch" : "Fetch",
    version,
    ok,
    ...outcome,
  };
}

const name = (code: number) => `E${code} (${code})`;

Deno.test("guard: OffsetFetch v10 sent and answered UNKNOWN_TOPIC_ID fails, naming the error", () => {
  const result = judge([FETCH, OFFSET_FETCH], {
    brokers: BROKERS,
    matrix: ALL_RAN,
    lines: [
      advertised(K44, 10),
      advertised(K41, 9),
      sent(K44, 1, 18),
      sent(K44, 9, 10, { errors: [100] }),
      sent(K44, 9, 9),
      sent(K41, 9, 9),
    ],
  });
  assert.equal(result.passed, false);
  const [fetch, offsetFetch] = result.rows;
  assert.equal(fetch.verdict, "PASS");
  assert.equal(offsetFetch.verdict, "FAIL");
  assert.equal(offsetFetch.bestOk, 9);
  assert.equal(offsetFetch.reason, "best ok v9 < our max v10");
  assert.deepEqual(offsetFetch.failed, [
    { version: 10, kafkaVersion: "4.4.0", errors: [100], failures: [] },
  ]);
  assert.deepEqual([...offsetFetch.advertised], [["4.1.1", 9], ["4.4.0", 10]]);
  const table = renderTable(result, name);
  assert.match(table, /OffsetFetch\s+10\s+9\s+10\s+9\s+FAIL\s+best ok v9 < our max v10/);
  assert.match(table, /sent and failed: v10 on 4\.4\.0: E100 \(100\)/);
  assert.equal(
    summaryLine(result),
    "coverage guard: FAIL — 1 of 2 APIs not proven at our max version against a real broker: " +
      "OffsetFetch",
  );
});

Deno.test("guard: a matrix that stops at 4.1 fails OffsetFetch (best ok v9 < our max v10)", () => {
  const result = judge([OFFSET_FETCH], {
    brokers: [BROKERS[1]],
    matrix: { planned: ["4.1.1"], ran: ["4.1.1"] },
    lines: [advertised(K41, 9), sent(K41, 9, 9)],
  });
  const [row] = result.rows;
  assert.equal(row.verdict, "FAIL");
  assert.equal(row.bestOk, 9);
  assert.equal(
    row.reason,
    "best ok v9 < our max v10; no broker of the run advertises v10 (highest: v9)",
  );
  assert.equal(result.passed, false);
});

Deno.test("guard: v10 answered ok by a real 4.4 broker passes, whatever else failed", () => {
  const result = judge([OFFSET_FETCH], {
    brokers: BROKERS,
    matrix: ALL_RAN,
    lines: [
      advertised(K44, 10),
      sent(K44, 9, 10, { errors: [100] }),
      sent(K44, 9, 10, { failure: "timeout" }),
      sent(K44, 9, 10),
    ],
  });
  assert.equal(result.rows[0].verdict, "PASS");
  assert.deepEqual(result.rows[0].failed, []);
  assert.equal(result.passed, true);
  assert.equal(
    summaryLine(result),
    "coverage guard: PASS — all 1 APIs answered ok by a real broker at our max version",
  );
});

Deno.test("guard: ok answers from brokers outside brokers.tsv prove nothing", () => {
  const result = judge([OFFSET_FETCH, FETCH], {
    brokers: BROKERS,
    matrix: ALL_RAN,
    lines: [advertised(K44, 10), sent(EMBEDDED, 9, 10), sent(K44, 9, 9)],
  });
  const [offsetFetch, fetch] = result.rows;
  assert.equal(offsetFetch.verdict, "FAIL");
  assert.equal(offsetFetch.bestOkElsewhere, 10);
  assert.match(offsetFetch.reason, /v10 answered ok only by non-Kafka brokers/);
  assert.equal(fetch.verdict, "FAIL");
  assert.equal(fetch.bestOk, null);
  assert.equal(fetch.reason, "declared but never sent to a real broker");
});

Deno.test("guard: an API sent but never answered ok lists what was sent", () => {
  const result = judge([OFFSET_FETCH], {
    brokers: BROKERS,
    matrix: ALL_RAN,
    lines: [sent(K44, 9, 10, { failure: "timeout" }), sent(K41, 9, 9, { errors: [15] })],
  });
  const [row] = result.rows;
  assert.equal(row.verdict, "FAIL");
  assert.equal(row.reason, "sent to real brokers (v9, v10) but never answered ok");
  assert.deepEqual(row.failed, [
    { version: 10, kafkaVersion: "4.4.0", errors: [], failures: ["timeout"] },
    { version: 9, kafkaVersion: "4.1.1", errors: [15], failures: [] },
  ]);
});

Deno.test("guard: a partial run does not judge rows that would fail, and names the missing versions", () => {
  const result = judge([FETCH, OFFSET_FETCH], {
    brokers: [BROKERS[0]],
    matrix: { planned: ["3.9.1", "4.4.0"], ran: ["4.4.0"] },
    lines: [advertised(K44, 10), sent(K44, 1, 18), sent(K44, 9, 9)],
  });
  const [fetch, offsetFetch] = result.rows;
  assert.equal(fetch.verdict, "PASS");
  assert.equal(offsetFetch.verdict, "NOT JUDGED");
  assert.match(offsetFetch.reason, /not judged: Kafka 3\.9\.1 did not run$/);
  assert.deepEqual(result.missing, ["3.9.1"]);
  assert.deepEqual(result.kafkaVersions, ["4.4.0", "3.9.1"]);
  assert.equal(result.passed, true);
  assert.match(renderTable(result, name), /3\.9\.1\(not run\)/);
  assert.equal(
    summaryLine(result),
    "coverage guard: INCOMPLETE — 1 of 2 APIs proven; 1 not judged (Kafka 3.9.1 did not run): " +
      "OffsetFetch",
  );
});

Deno.test("guard: a cap lowers our max, and the row says so", () => {
  const capped: DeclaredApi = { ...OFFSET_FETCH, ourMax: 9, cap: { max: 9, why: "testing" } };
  const result = judge([capped], {
    brokers: BROKERS,
    matrix: ALL_RAN,
    lines: [advertised(K44, 10), sent(K44, 9, 9)],
  });
  assert.equal(result.rows[0].verdict, "PASS");
  assert.match(renderTable(result, name), /capped at v9: testing/);
});

Deno.test("guard: records to localhost count for the 127.0.0.1 broker of brokers.tsv", () => {
  assert.equal(normalizeAddress("localhost:9093"), "127.0.0.1:9093");
  assert.equal(normalizeAddress("[::1]:9093"), "127.0.0.1:9093");
  assert.equal(normalizeAddress("Kafka-1:9092"), "kafka-1:9092");
  const result = judge([OFFSET_FETCH], {
    brokers: parseBrokers("localhost:9092\t4.4.0\ttest\n"),
    matrix: { planned: ["4.4.0"], ran: ["4.4.0"] },
    lines: [sent("127.0.0.1:9092", 9, 10)],
  });
  assert.equal(result.rows[0].verdict, "PASS");
});

Deno.test("guard: parses brokers.tsv, matrix.txt and record lines (skipping broken ones)", () => {
  assert.deepEqual(parseBrokers("# real brokers\n127.0.0.1:1\t4.4.0\ttest\n\n"), [
    { address: "127.0.0.1:1", kafkaVersion: "4.4.0", cluster: "test" },
  ]);
  assert.throws(() => parseBrokers("127.0.0.1:1\n"), /brokers\.tsv line 1/);
  assert.deepEqual(parseMatrix("planned 3.9.1 4.4.0\nran 4.4.0\n"), {
    planned: ["3.9.1", "4.4.0"],
    ran: ["4.4.0"],
  });
  assert.deepEqual(parseMatrix("planned\nran\n"), { planned: [], ran: [] });
  assert.throws(() => parseMatrix("planned 4.4.0\n"), /matrix\.txt/);
  const text = [
    JSON.stringify(sent(K44, 9, 10)),
    '{"kind":"response","broker":"x"',
    JSON.stringify({ kind: "other", broker: "x" }),
    "",
  ].join("\n");
  const parsed = parseRecordLines(text);
  assert.equal(parsed.lines.length, 1);
  assert.equal(parsed.bad, 2);
  assert.deepEqual(["4.10.0", "3.9.1", "4.4.0", "4.0.0"].sort(compareVersions), [
    "3.9.1",
    "4.0.0",
    "4.4.0",
    "4.10.0",
  ]);
});

Deno.test("guard: judges every API of messages/mod.ts at our max after caps", () => {
  const apis = declaredApis();
  const byName = new Map(apis.map((a) => [a.name, a]));
  assert.equal(byName.get("OffsetFetch")?.ourMax, 10);
  assert.equal(byName.get("OffsetCommit")?.ourMax, 10);
  assert.ok(byName.has("DeleteGroups") && byName.has("SaslAuthenticate"));
  // Data structures (ConsumerProtocol*) are not APIs.
  assert.ok(apis.every((a) => a.apiKey >= 0));
  assert.deepEqual(apis.map((a) => a.apiKey), [...apis.map((a) => a.apiKey)].sort((a, b) => a - b));
});

Deno.test("coverage_guard.ts exits 1 on a FAIL row and 0 once the version is proven", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-guard-" });
  const script = new URL("../scripts/coverage_guard.ts", import.meta.url).pathname;
  const run = async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, "--dir", dir],
      stdin: "null",
    }).output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  };
  try {
    await Deno.writeTextFile(`${dir}/brokers.tsv`, `${K44}\t4.4.0\ttest\n`);
    await Deno.writeTextFile(`${dir}/matrix.txt`, "planned 4.4.0\nran 4.4.0\n");
    // Every declared API answered ok at our max, except OffsetFetch at v10.
    const lines = declaredApis().map((api) =>
      JSON.stringify(
        api.name === "OffsetFetch"
          ? sent(K44, api.apiKey, api.ourMax, { errors: [100] })
          : { ...sent(K44, api.apiKey, api.ourMax), api: api.name },
      )
    );
    await Deno.writeTextFile(`${dir}/api-1-a.jsonl`, lines.join("\n") + "\n");
    const failing = await run();
    assert.equal(failing.code, 1, failing.stdout);
    assert.match(failing.stdout, /OffsetFetch .* FAIL .*UNKNOWN_TOPIC_ID \(100\)/);
    assert.match(failing.stdout, /coverage guard: FAIL — 1 of \d+ APIs .*: OffsetFetch$/m);
    await Deno.writeTextFile(`${dir}/api-2-b.jsonl`, JSON.stringify(sent(K44, 9, 10)) + "\n");
    const passing = await run();
    assert.equal(passing.code, 0, passing.stdout);
    assert.match(passing.stdout, /coverage guard: PASS/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
