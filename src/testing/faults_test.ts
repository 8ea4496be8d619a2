import assert from "node:assert/strict";
import {
  API_KEYS,
  type ApiName,
  FaultRules,
  overwriteErrorCodes,
  resolveApiKey,
} from "./faults.ts";
import * as messages from "../protocol/messages/mod.ts";

Deno.test("faults: rules match by key or name, broker filter, first match wins", () => {
  const rules = new FaultRules();
  assert.equal(resolveApiKey("Fetch"), 1);
  assert.equal(resolveApiKey(12), 12);
  assert.throws(() => resolveApiKey("Nope" as "Fetch"), /unknown API name/);
  const onlyB1 = rules.add({ apiKey: "Fetch", broker: 1, action: { errorCode: 6 } });
  const any = rules.add({ apiKey: 1, action: { delayMs: 10 } });
  assert.equal(rules.match(1, 1), onlyB1);
  assert.equal(rules.match(1, 0), any);
  assert.equal(rules.match(3, 1), undefined);
  assert.equal(onlyB1.hits, 1);
  assert.equal(any.hits, 1);
  onlyB1.remove();
  assert.equal(onlyB1.active, false);
  assert.equal(onlyB1.removedSignal.aborted, true);
  assert.equal(rules.match(1, 1), any);
  onlyB1.remove(); // idempotent
  assert.deepEqual(rules.rules, [any]);
});

Deno.test("faults: times counts down and the rule removes itself", () => {
  const rules = new FaultRules();
  const r = rules.add({ apiKey: "Metadata", times: 2, action: { drop: true } });
  assert.equal(rules.match(3, 0), r);
  assert.equal(r.active, true);
  assert.equal(rules.match(3, 2), r);
  assert.equal(r.active, false);
  assert.equal(rules.match(3, 0), undefined);
  assert.equal(r.hits, 2);
  assert.deepEqual(rules.rules, []);
});

Deno.test("faults: invalid rules are refused", () => {
  const rules = new FaultRules();
  assert.throws(() => rules.add({ apiKey: 1, times: 0, action: { hang: true } }), RangeError);
  assert.throws(() => rules.add({ apiKey: -1, action: { hang: true } }), RangeError);
  assert.throws(
    () => rules.add({ apiKey: 1, action: { hang: true, drop: true } as never }),
    TypeError,
  );
  assert.throws(() => rules.add({ apiKey: 1, action: { delayMs: -5 } }), RangeError);
  assert.throws(() => rules.add({ apiKey: 1, action: { errorCode: 70000 } }), RangeError);
  assert.deepEqual(rules.rules, []);
});

Deno.test("faults: clear removes every rule", () => {
  const rules = new FaultRules();
  const a = rules.add({ apiKey: 1, action: { hang: true } });
  const b = rules.add({ apiKey: 2, action: { hang: true } });
  rules.clear();
  assert.equal(a.removedSignal.aborted && b.removedSignal.aborted, true);
  assert.deepEqual(rules.rules, []);
});

Deno.test("faults: overwriteErrorCodes sets entry-level codes, else the top level", () => {
  const fetch = {
    throttleTimeMs: 0,
    errorCode: 0,
    responses: [{
      topic: "t",
      partitions: [
        { partitionIndex: 0, errorCode: 0, records: new Uint8Array([1, 2]) },
        { partitionIndex: 1, errorCode: 0, records: new Uint8Array([3]) },
      ],
    }],
  };
  overwriteErrorCodes(fetch, 29);
  assert.equal(fetch.errorCode, 0);
  assert.deepEqual(fetch.responses[0].partitions.map((p) => p.errorCode), [29, 29]);
  assert.deepEqual(fetch.responses[0].partitions.map((p) => p.records.length), [0, 0]);

  const heartbeat = { throttleTimeMs: 0, errorCode: 0 };
  assert.equal(overwriteErrorCodes(heartbeat, 16).errorCode, 16);

  const metadata = {
    brokers: [{ nodeId: 0 }],
    topics: [{ errorCode: 0, name: "t", partitions: [{ errorCode: 0, partitionIndex: 0 }] }],
  };
  overwriteErrorCodes(metadata, 5);
  assert.equal(metadata.topics[0].errorCode, 5);
  assert.equal(metadata.topics[0].partitions[0].errorCode, 5);
  assert.equal("errorCode" in metadata, false);
});

Deno.test("faults: rewrite, mutate and observe actions are accepted; others refused", () => {
  const rules = new FaultRules();
  rules.add({ apiKey: 1, action: { rewrite: () => {} } });
  rules.add({ apiKey: 1, action: { mutate: (b) => b } });
  rules.add({ apiKey: 1, action: { observe: true } });
  assert.throws(
    () => rules.add({ apiKey: 1, action: { mutate: 5 } as never }),
    /mutate must be a function/,
  );
  assert.throws(
    () => rules.add({ apiKey: 1, action: { observe: true, hang: true } as never }),
    /exactly one of/,
  );
  assert.throws(() => rules.add({ apiKey: 1, action: { observe: 1 } as never }), /observe/);
});

Deno.test("faults: observe rules record and let the search go on", () => {
  const rules = new FaultRules();
  const seen = rules.add({ apiKey: "Heartbeat", action: { observe: true } });
  const err = rules.add({ apiKey: "Heartbeat", times: 1, action: { errorCode: 27 } });
  const req = (atMs: number) => ({
    atMs,
    broker: 0,
    apiKey: 12,
    version: 4,
    clientId: "c",
    body: { atMs },
  });
  assert.equal(rules.match(12, 0, req(1)), err);
  assert.equal(rules.match(12, 0, req(2)), undefined);
  assert.deepEqual(seen.requests.map((r) => r.atMs), [1, 2]);
  assert.deepEqual(err.requests.map((r) => r.atMs), [1]);
  assert.equal(seen.hits, 2);
});

Deno.test("faults: a clientId filter matches only that client's requests", () => {
  const rules = new FaultRules();
  const mine = rules.add({ apiKey: "Fetch", clientId: "me", action: { errorCode: 6 } });
  const req = (clientId: string | null) => ({
    atMs: 0,
    broker: 0,
    apiKey: 1,
    version: 12,
    clientId,
    body: {},
  });
  assert.equal(rules.match(1, 0, req("other")), undefined);
  assert.equal(rules.match(1, 0, req(null)), undefined);
  assert.equal(rules.match(1, 0, req("me")), mine);
  assert.equal(mine.hits, 1);
});

Deno.test("faults: mutate, rewrite and observe on a broker, seen by a client", async () => {
  // Imported here: the other tests of this file need no sockets.
  const { EmbeddedCluster } = await import("./embedded_cluster.ts");
  const { Connection } = await import("../net/connection.ts");
  const { CorruptDataError } = await import("../protocol/errors.ts");
  const { HeartbeatApi } = await import("../protocol/messages/heartbeat.ts");
  await using cluster = await EmbeddedCluster.start();
  const [host, port] = cluster.bootstrap.split(":");
  const conn = await Connection.connect({ host, port: Number(port), requestTimeoutMs: 2000 });
  try {
    const hb = { groupId: "g", generationId: 1, memberId: "m", groupInstanceId: null };
    const observed = cluster.intercept({ apiKey: "Heartbeat", action: { observe: true } });
    const rewrite = cluster.intercept({
      apiKey: "Heartbeat",
      times: 1,
      action: {
        rewrite: (res, req) => {
          res.errorCode = req.memberId === "m" ? 27 : 1;
        },
      },
    });
    assert.equal((await conn.send(HeartbeatApi, hb)).errorCode, 27);
    assert.equal(rewrite.hits, 1);
    // Without a rule the embedded coordinator answers for an unknown group.
    const plain = (await conn.send(HeartbeatApi, hb)).errorCode;
    assert.notEqual(plain, 27);
    assert.deepEqual(observed.requests.map((r) => r.body.memberId), ["m", "m"]);
    assert.equal(observed.requests[0].apiKey, 12);
    assert.ok(observed.requests[1].atMs >= observed.requests[0].atMs);

    // mutate gets the whole frame: size prefix, then the correlation id.
    let sizePrefix = -1;
    let frameLength = -1;
    cluster.intercept({
      apiKey: "Heartbeat",
      times: 1,
      action: {
        mutate: (frame) => {
          sizePrefix = new DataView(frame.buffer, frame.byteOffset).getInt32(0);
          frameLength = frame.length;
          const out = frame.slice();
          out[7] ^= 0x40; // the correlation id's low byte
          return out;
        },
      },
    });
    await assert.rejects(() => conn.send(HeartbeatApi, hb), CorruptDataError);
    assert.equal(sizePrefix, frameLength - 4);
    assert.equal(conn.closed, true);
  } finally {
    conn.close();
  }
});

Deno.test("API_KEYS and ApiName come from the generated declarations: every declared API, by its own name", () => {
  const declared = Object.entries(messages).filter(([exported]) => exported.endsWith("Api"));
  assert.equal(Object.keys(API_KEYS).length, declared.length);
  for (const [exported, api] of declared) {
    const name = exported.slice(0, -"Api".length) as ApiName;
    assert.equal((api as { name: string }).name, name, `${exported}.name`);
    assert.equal(API_KEYS[name], (api as { apiKey: number }).apiKey, name);
    assert.equal(resolveApiKey(name), API_KEYS[name]);
  }
  const names: ApiName[] = ["ApiVersions", "Fetch", "OffsetForLeaderEpoch", "DeleteGroups"];
  assert.deepEqual(names.map(resolveApiKey), [18, 1, 23, 42]);
  // @ts-expect-error: not an API sluice declares
  const unknown: ApiName = "DeleteRecords";
  assert.throws(() => resolveApiKey(unknown), RangeError);
});
