import assert from "node:assert/strict";
import { FaultRules, overwriteErrorCodes, resolveApiKey } from "./faults.ts";

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
