import assert from "node:assert/strict";
import { decodeMessage, encodeMessage } from "./codec.ts";
import { CorruptDataError } from "./errors.ts";
import { decodeRequestHeader, decodeResponse, encodeRequest } from "./frame.ts";
import { ApiVersionsApi } from "./messages/api_versions.ts";
import { FetchApi } from "./messages/fetch.ts";
import { HeartbeatApi } from "./messages/heartbeat.ts";
import { JoinGroupApi } from "./messages/join_group.ts";
import { ConsumerProtocolSubscriptionSchema } from "./messages/consumer_protocol_subscription.ts";

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

Deno.test("encodeRequest writes a flexible request (header v2) byte for byte", () => {
  const bytes = encodeRequest(HeartbeatApi, 4, 7, "c", {
    groupId: "g",
    generationId: 1,
    memberId: "m",
    groupInstanceId: null,
  });
  // Derived by hand from the Kafka protocol guide:
  const expected = [
    0,
    0,
    0,
    22, // frame size: 12 bytes of header + 10 of body
    0,
    12,
    0,
    4,
    0,
    0,
    0,
    7, // api key 12, version 4, correlation id 7
    0,
    1,
    ...ascii("c"), // client id: classic int16-length string even in header v2
    0, // header tagged fields: none
    2,
    ...ascii("g"), // group id: compact string (length + 1)
    0,
    0,
    0,
    1, // generation id
    2,
    ...ascii("m"), // member id
    0, // group instance id: compact nullable string, null
    0, // body tagged fields: none
  ];
  assert.deepEqual([...bytes], expected);
  const h = decodeRequestHeader(bytes.subarray(4));
  assert.deepEqual([h.apiKey, h.apiVersion, h.correlationId, h.clientId], [12, 4, 7, "c"]);
});

Deno.test("encodeMessage writes a classic (non-flexible) version byte for byte", () => {
  const bytes = encodeMessage(JoinGroupApi.request, 5, {
    groupId: "g",
    sessionTimeoutMs: 10,
    rebalanceTimeoutMs: 20,
    memberId: "",
    groupInstanceId: null,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: new Uint8Array([9]) }],
  });
  const expected = [
    0,
    1,
    ...ascii("g"),
    0,
    0,
    0,
    10,
    0,
    0,
    0,
    20,
    0,
    0, // member id ""
    0xff,
    0xff, // group instance id null (int16 -1)
    0,
    8,
    ...ascii("consumer"),
    0,
    0,
    0,
    1, // one protocol (int32 count)
    0,
    5,
    ...ascii("range"),
    0,
    0,
    0,
    1,
    9, // metadata bytes (int32 length)
  ];
  assert.deepEqual([...bytes], expected);
});

Deno.test("tagged fields are written only when set, sorted by tag, and read back", () => {
  const base = {
    maxWaitMs: 500,
    minBytes: 1,
    topics: [],
  };
  const plain = encodeMessage(FetchApi.request, 15, base);
  const tagged = encodeMessage(FetchApi.request, 15, {
    ...base,
    clusterId: "abc",
    replicaState: { replicaId: 3, replicaEpoch: 9n },
  });
  // Top-level tagged section at the end: plain has count 0.
  assert.equal(plain.at(-1), 0);
  // tagged: count 2, tag 0 (size 4: compact "abc"), tag 1 (size 13: int32 + int64 + struct tags)
  const tail = [...tagged.subarray(tagged.length - 1 - 6 - 15)];
  assert.deepEqual(tail.slice(0, 7), [2, 0, 4, 4, ...ascii("abc")]);
  assert.deepEqual(tail.slice(7, 9), [1, 13]);
  const back = decodeMessage<Record<string, unknown>>(FetchApi.request, 15, tagged);
  assert.equal(back.clusterId, "abc");
  assert.deepEqual(back.replicaState, { replicaId: 3, replicaEpoch: 9n });
  const backPlain = decodeMessage<Record<string, unknown>>(FetchApi.request, 15, plain);
  assert.equal(backPlain.clusterId, null, "absent tagged field takes its default");
  assert.equal(backPlain.maxBytes, 0x7fffffff, "absent field takes the declared default");
});

Deno.test("unknown tagged fields are skipped on decode", () => {
  const w = [...encodeMessage(HeartbeatApi.response, 4, { throttleTimeMs: 0, errorCode: 27 })];
  // Replace the empty tag section with one unknown tag 99 of 3 bytes.
  w.splice(w.length - 1, 1, 1, 99, 3, 1, 2, 3);
  const res = decodeMessage<{ errorCode: number }>(HeartbeatApi.response, 4, new Uint8Array(w));
  assert.equal(res.errorCode, 27);
});

Deno.test("the ConsumerProtocol subscription matches the bytes Java consumers write (v0)", () => {
  const bytes = encodeMessage(ConsumerProtocolSubscriptionSchema, 0, {
    topics: ["t"],
    userData: null,
  });
  assert.deepEqual([...bytes], [0, 0, 0, 1, 0, 1, ...ascii("t"), 0xff, 0xff, 0xff, 0xff]);
});

Deno.test("decoders reject hostile lengths with CorruptDataError, not RangeError", () => {
  const cases = [
    new Uint8Array([]),
    new Uint8Array([0, 0, 0, 0, 0]),
    // JoinGroup v5 response: throttle, error, generation, then protocol name length 0x7fff
    new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff]),
  ];
  for (const c of cases) {
    assert.throws(() => decodeMessage(JoinGroupApi.response, 5, c), CorruptDataError);
  }
  // An array claiming more elements than there are bytes is refused up front.
  const huge = encodeMessage(JoinGroupApi.response, 5, {
    throttleTimeMs: 0,
    errorCode: 0,
    generationId: 1,
    protocolName: "r",
    leader: "l",
    memberId: "m",
    members: [],
  });
  new DataView(huge.buffer).setInt32(huge.length - 4, 0x10000000);
  assert.throws(() => decodeMessage(JoinGroupApi.response, 5, huge), /exceeds the 0 bytes left/);
});

Deno.test("a field absent at a version takes a null default when Kafka declares it nullable", () => {
  const bytes = encodeMessage(ConsumerProtocolSubscriptionSchema, 0, {
    topics: ["t"],
    userData: null,
  });
  const back = decodeMessage<{ rackId: unknown; generationId: number }>(
    ConsumerProtocolSubscriptionSchema,
    0,
    bytes,
  );
  assert.equal(back.rackId, null);
  assert.equal(back.generationId, -1);
});

Deno.test("decodeResponse reads an UNSUPPORTED_VERSION answer to ApiVersions v5 in the v0 layout", () => {
  // What a Kafka 3.9-4.3 broker writes for ApiVersions v5: correlation id,
  // then a v0 body (error 35 and its own ApiVersions range), no tagged fields.
  const body = encodeMessage(ApiVersionsApi.response, 0, {
    errorCode: 35,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
  });
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setInt32(0, 7);
  frame.set(body, 4);
  const res = decodeResponse(ApiVersionsApi, 5, frame);
  assert.equal(res.errorCode, 35);
  assert.deepEqual(res.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]), [[18, 0, 4]]);

  // A successful v5 answer is read as v5.
  const ok = encodeMessage(ApiVersionsApi.response, 5, {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 5 }],
    throttleTimeMs: 0,
  });
  const okFrame = new Uint8Array(4 + ok.length);
  okFrame.set(ok, 4);
  assert.equal(decodeResponse(ApiVersionsApi, 5, okFrame).apiKeys[0].maxVersion, 5);
});
