import assert from "node:assert/strict";
import { ApiRecorder, type ApiRecordLine, errorCodesIn } from "./api_record.ts";

const CHILD = new URL("./testdata/api_record_child.ts", import.meta.url).pathname;
const METADATA = { apiKey: 3, name: "Metadata" };

function collect(): { lines: ApiRecordLine[]; recorder: ApiRecorder } {
  const lines: ApiRecordLine[] = [];
  const recorder = new ApiRecorder((line) => {
    assert.ok(line.endsWith("\n"));
    lines.push(JSON.parse(line));
  });
  return { lines, recorder };
}

Deno.test("errorCodesIn() finds non-zero error codes at any depth, once each, ascending", () => {
  const body = {
    throttleTimeMs: 0,
    errorCode: 0,
    responses: [
      { topic: "a", partitions: [{ errorCode: 6, highWatermark: 5n }, { errorCode: 0 }] },
      { topic: "b", partitions: [{ errorCode: 3 }, { errorCode: 6 }] },
    ],
    groups: [{ groupId: "g", errorCode: 100, topics: [] }],
  };
  assert.deepEqual(errorCodesIn(body), [3, 6, 100]);
  assert.deepEqual(errorCodesIn({ errorCode: -1 }), [-1]);
  assert.deepEqual(errorCodesIn({ errorCode: 0, topics: [] }), []);
});

Deno.test("errorCodesIn() counts *ErrorCode fields and ignores other numbers and byte arrays", () => {
  assert.deepEqual(
    errorCodesIn({ topics: [{ configs: [], topicConfigErrorCode: 41, numPartitions: 3 }] }),
    [41],
  );
  // Byte arrays are not walked, even though they are objects with numeric keys.
  const records = new Uint8Array([1, 2, 3]);
  assert.deepEqual(errorCodesIn({ records, partitionIndex: 7, leaderEpoch: 2 }), []);
  assert.deepEqual(errorCodesIn(null), []);
  assert.deepEqual(errorCodesIn({ errorMessage: "x", nested: null }), []);
});

Deno.test("ApiRecorder writes each (broker, api, version, outcome) once", () => {
  const { lines, recorder } = collect();
  for (let i = 0; i < 1000; i++) recorder.response("h:1", METADATA, 12, { errorCode: 0 });
  recorder.response("h:2", METADATA, 12, { errorCode: 0 });
  recorder.response("h:1", METADATA, 11, { errorCode: 0 });
  recorder.response("h:1", METADATA, 12, { topics: [{ errorCode: 3 }] });
  recorder.response("h:1", METADATA, 12, { topics: [{ errorCode: 3 }, { errorCode: 0 }] });
  recorder.response("h:1", METADATA, 12, { topics: [{ errorCode: 5 }] });
  recorder.failure("h:1", METADATA, 12, "timeout");
  recorder.failure("h:1", METADATA, 12, "timeout");
  recorder.failure("h:1", METADATA, 12, "undecodable");
  // Every line here is a Metadata response; only where, which version and the outcome differ.
  const metadata = (broker: string, version: number, outcome: Record<string, unknown>) => ({
    kind: "response",
    broker,
    apiKey: 3,
    api: "Metadata",
    version,
    ...outcome,
  });
  assert.deepEqual(lines, [
    metadata("h:1", 12, { ok: true }),
    metadata("h:2", 12, { ok: true }),
    metadata("h:1", 11, { ok: true }),
    metadata("h:1", 12, { ok: false, errors: [3] }),
    metadata("h:1", 12, { ok: false, errors: [5] }),
    metadata("h:1", 12, { ok: false, failure: "timeout" }),
    metadata("h:1", 12, { ok: false, failure: "undecodable" }),
  ]);
});

Deno.test("ApiRecorder writes a broker's advertised ranges once per distinct set", () => {
  const { lines, recorder } = collect();
  recorder.versions("h:1", [[3, 0, 13], [1, 4, 18]]);
  recorder.versions("h:1", [[1, 4, 18], [3, 0, 13]]);
  recorder.versions("h:2", [[1, 4, 18], [3, 0, 13]]);
  assert.deepEqual(lines, [
    { kind: "versions", broker: "h:1", apis: [[1, 4, 18], [3, 0, 13]] },
    { kind: "versions", broker: "h:2", apis: [[1, 4, 18], [3, 0, 13]] },
  ]);
});

Deno.test("ApiRecorder stops silently after a write fails", () => {
  let calls = 0;
  const recorder = new ApiRecorder(() => {
    calls++;
    throw new Deno.errors.PermissionDenied("no write");
  });
  recorder.response("h:1", METADATA, 12, { errorCode: 0 });
  recorder.response("h:1", METADATA, 11, { errorCode: 0 });
  recorder.failure("h:1", METADATA, 11, "timeout");
  assert.equal(calls, 1);
  assert.equal(recorder.active, false);
});

async function runChild(
  permissions: string[],
  args: string[],
  env: Record<string, string>,
): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...permissions, CHILD, ...args],
    // Not this process's SLUICE_API_RECORD_DIR (set when the suite records).
    clearEnv: true,
    env: { ...passThrough(), ...env },
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `child failed (${out.code}): ${stderr}`);
  return new TextDecoder().decode(out.stdout).trim();
}

function passThrough(): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ["HOME", "PATH", "DENO_DIR", "TMPDIR"]) {
    const v = Deno.env.get(name);
    if (v !== undefined) kept[name] = v;
  }
  return kept;
}

async function recordFiles(dir: string): Promise<{ name: string; lines: ApiRecordLine[] }[]> {
  const files = [];
  for await (const e of Deno.readDir(dir)) {
    const text = await Deno.readTextFile(`${dir}/${e.name}`);
    files.push({ name: e.name, lines: text.trim().split("\n").map((l) => JSON.parse(l)) });
  }
  return files;
}

Deno.test("apiRecorder() is off without env permission, and off without write permission", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-rec-" });
  try {
    const env = { SLUICE_API_RECORD_DIR: dir };
    // No env permission: the variable is not read (no prompt, no error).
    assert.equal(
      await runChild([`--allow-write=${dir}`], ["probe"], env),
      '{"on":false,"active":false}',
    );
    // Env permission, no write permission: off, no error.
    assert.equal(
      await runChild([`--allow-env=SLUICE_API_RECORD_DIR`], ["probe"], env),
      '{"on":false,"active":false}',
    );
    // Both, but the variable unset: off.
    assert.equal(
      await runChild([`--allow-env`, `--allow-write=${dir}`], ["probe"], {}),
      '{"on":false,"active":false}',
    );
    assert.deepEqual(await recordFiles(dir), []);
    // Both: one file named after the process, holding the fact.
    assert.equal(
      await runChild([`--allow-env=SLUICE_API_RECORD_DIR`, `--allow-write=${dir}`], ["probe"], env),
      '{"on":true,"active":true}',
    );
    const files = await recordFiles(dir);
    assert.equal(files.length, 1);
    assert.match(files[0].name, /^api-\d+-[0-9a-f]+\.jsonl$/);
    assert.deepEqual(files[0].lines, [{
      kind: "versions",
      broker: "127.0.0.1:1",
      apis: [[18, 0, 4]],
    }]);
    // A directory that cannot be written to: recording turns itself off.
    assert.equal(
      await runChild(["-A"], ["probe"], { SLUICE_API_RECORD_DIR: `${dir}/missing/deeper` }),
      '{"on":true,"active":false}',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Connection records versions, ok answers, error codes, timeouts and broken connections", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-rec-" });
  try {
    await runChild(["-A"], ["connection"], { SLUICE_API_RECORD_DIR: dir });
    const files = await recordFiles(dir);
    assert.equal(files.length, 1);
    const lines = files[0].lines;
    const versions = lines.filter((l) => l.kind === "versions");
    assert.equal(versions.length, 1, "one broker, one set of ranges");
    const broker = versions[0].broker;
    assert.match(broker, /^127\.0\.0\.1:\d+$/);
    const advertised = new Map(versions[0].apis.map(([k, min, max]) => [k, { min, max }]));
    const metadataMax = Math.min(advertised.get(3)!.max, 13);
    const outcomes = lines.filter((l) => l.kind === "response" && l.apiKey === 3).map((l) =>
      l.kind === "response" ? [l.version, l.ok, l.errors ?? l.failure ?? null] : []
    );
    assert.deepEqual(outcomes, [
      [metadataMax, true, null],
      [metadataMax, false, [3]],
      [metadataMax, false, "undecodable"],
      [metadataMax, false, "timeout"],
      [12, false, "connection lost"],
    ]);
    // ApiVersions itself is recorded as answered.
    assert.ok(lines.some((l) => l.kind === "response" && l.apiKey === 18 && l.ok));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
