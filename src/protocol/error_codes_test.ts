import assert from "node:assert/strict";
import { ERROR_TABLE, ErrorCode, errorInfo, errorName } from "./error_codes.ts";
import { isRetriable, KafkaError, KafkaProtocolError } from "./errors.ts";

Deno.test("ERROR_TABLE has unique codes and names, in code order from -1 to 136", () => {
  const codes = ERROR_TABLE.map((e) => e.code);
  const names = ERROR_TABLE.map((e) => e.name);
  assert.equal(new Set(codes).size, codes.length);
  assert.equal(new Set(names).size, names.length);
  // Kafka's codes have no gaps: -1, 0, 1, …, 136.
  assert.deepEqual(codes, Array.from({ length: 138 }, (_, i) => i - 1));
  for (const e of ERROR_TABLE) {
    assert.match(e.name, /^[A-Z][A-Z0-9_]*$/);
    assert.ok(e.description.length > 0, `${e.name} has a description`);
    assert.ok(!e.description.includes("\n"), `${e.name}: description is one line`);
    assert.ok(Object.isFrozen(e), `${e.name} is frozen`);
  }
  assert.ok(Object.isFrozen(ERROR_TABLE));
});

Deno.test("ErrorCode maps every name to the table's code", () => {
  assert.equal(Object.keys(ErrorCode).length, ERROR_TABLE.length);
  for (const [name, code] of Object.entries(ErrorCode)) {
    assert.equal(errorName(code), name);
  }
});

Deno.test("errorInfo() agrees with Kafka on well-known codes", () => {
  const known: [number, string][] = [
    [-1, "UNKNOWN_SERVER_ERROR"],
    [0, "NONE"],
    [1, "OFFSET_OUT_OF_RANGE"],
    [3, "UNKNOWN_TOPIC_OR_PARTITION"],
    [6, "NOT_LEADER_OR_FOLLOWER"],
    [15, "COORDINATOR_NOT_AVAILABLE"],
    [16, "NOT_COORDINATOR"],
    [22, "ILLEGAL_GENERATION"],
    [25, "UNKNOWN_MEMBER_ID"],
    [27, "REBALANCE_IN_PROGRESS"],
    [29, "TOPIC_AUTHORIZATION_FAILED"],
    [30, "GROUP_AUTHORIZATION_FAILED"],
    [70, "FETCH_SESSION_ID_NOT_FOUND"],
    [71, "INVALID_FETCH_SESSION_EPOCH"],
    [74, "FENCED_LEADER_EPOCH"],
    [79, "MEMBER_ID_REQUIRED"],
    [82, "FENCED_INSTANCE_ID"],
    [100, "UNKNOWN_TOPIC_ID"],
    [133, "SHARE_SESSION_LIMIT_REACHED"],
    [136, "CONTROLLER_ID_NOT_REGISTERED"],
  ];
  for (const [code, name] of known) {
    assert.equal(errorInfo(code).code, code);
    assert.equal(errorInfo(code).name, name, `code ${code}`);
    assert.equal(errorName(code), name, `code ${code}`);
  }
});

Deno.test("errorInfo() flags retriable codes as Kafka does", () => {
  const retriable = [
    "NOT_LEADER_OR_FOLLOWER",
    "UNKNOWN_TOPIC_OR_PARTITION",
    "REQUEST_TIMED_OUT",
    "COORDINATOR_LOAD_IN_PROGRESS",
    "COORDINATOR_NOT_AVAILABLE",
    "NOT_COORDINATOR",
    "FENCED_LEADER_EPOCH",
    "UNKNOWN_LEADER_EPOCH",
    "OFFSET_NOT_AVAILABLE",
    "UNSTABLE_OFFSET_COMMIT",
    "FETCH_SESSION_ID_NOT_FOUND",
    "CORRUPT_MESSAGE", // CorruptRecordException extends RetriableException
  ] as const;
  const fatal = [
    "UNKNOWN_SERVER_ERROR",
    "NONE",
    "OFFSET_OUT_OF_RANGE",
    "TOPIC_AUTHORIZATION_FAILED",
    "GROUP_AUTHORIZATION_FAILED",
    "FENCED_INSTANCE_ID",
    "INCONSISTENT_GROUP_PROTOCOL",
    "INVALID_SESSION_TIMEOUT",
    // Handled by rejoining, not by retrying the request.
    "REBALANCE_IN_PROGRESS",
    "UNKNOWN_MEMBER_ID",
    "ILLEGAL_GENERATION",
    "MEMBER_ID_REQUIRED",
  ] as const;
  for (const name of retriable) assert.equal(errorInfo(ErrorCode[name]).retriable, true, name);
  for (const name of fatal) assert.equal(errorInfo(ErrorCode[name]).retriable, false, name);
});

Deno.test("errorInfo() action flags follow the Java consumer", () => {
  const flagged = (flag: "refreshMetadata" | "findCoordinator" | "rejoin"): string[] =>
    ERROR_TABLE.filter((e) => e[flag]).map((e): string => e.name).sort();
  assert.deepEqual(flagged("findCoordinator"), ["COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR"]);
  assert.deepEqual(flagged("rejoin"), [
    "FENCED_MEMBER_EPOCH",
    "ILLEGAL_GENERATION",
    "MEMBER_ID_REQUIRED",
    "REBALANCE_IN_PROGRESS",
    "UNKNOWN_MEMBER_ID",
  ]);
  const metadata = flagged("refreshMetadata");
  for (
    const name of [
      "NOT_LEADER_OR_FOLLOWER",
      "FENCED_LEADER_EPOCH",
      "UNKNOWN_TOPIC_OR_PARTITION",
      "UNKNOWN_TOPIC_ID",
      "LEADER_NOT_AVAILABLE",
      "KAFKA_STORAGE_ERROR",
      "REPLICA_NOT_AVAILABLE",
      "INCONSISTENT_TOPIC_ID",
      "OFFSET_NOT_AVAILABLE",
    ]
  ) assert.ok(metadata.includes(name), name);
  // The broker is behind the client here: back off, the metadata is fine.
  assert.ok(!metadata.includes("UNKNOWN_LEADER_EPOCH"));
  // Fatal codes ask for no recovery action.
  for (const name of ["TOPIC_AUTHORIZATION_FAILED", "FENCED_INSTANCE_ID"] as const) {
    const e = errorInfo(ErrorCode[name]);
    assert.equal(e.refreshMetadata || e.findCoordinator || e.rejoin, false, name);
  }
});

Deno.test("errorInfo() gives unknown codes a synthetic entry instead of throwing", () => {
  for (const code of [137, 999, 32767, -2, -32768, 1.5, Number.NaN]) {
    const info = errorInfo(code);
    assert.equal(info.code, code);
    assert.equal(info.name, `UNKNOWN_ERROR_CODE_${code}`);
    assert.equal(info.retriable, false);
    assert.equal(info.refreshMetadata || info.findCoordinator || info.rejoin, false);
    assert.match(info.description, /does not know/);
    assert.equal(errorName(code), `UNKNOWN_ERROR_CODE_${code}`);
  }
});

Deno.test("KafkaProtocolError message names the API, where, the code and what to do", () => {
  const e = new KafkaProtocolError(6, { apiName: "Fetch", topic: "orders", partition: 3 });
  assert.equal(
    e.message,
    `Fetch failed for topic orders partition 3: NOT_LEADER_OR_FOLLOWER (6): ${
      errorInfo(6).description
    }`,
  );
  assert.ok(e instanceof KafkaError);
  assert.ok(e instanceof Error);
  assert.equal(e.name, "KafkaProtocolError");
  assert.equal(e.code, 6);
  assert.equal(e.errorName, "NOT_LEADER_OR_FOLLOWER");
  assert.equal(e.retriable, true);
  assert.equal(e.refreshMetadata, true);
  assert.equal(e.findCoordinator, false);
  assert.equal(e.rejoin, false);
  assert.equal(e.topic, "orders");
  assert.equal(e.partition, 3);
  assert.equal(e.groupId, undefined);
  assert.equal(e.errorMessage, undefined);
});

Deno.test("KafkaProtocolError message with a group, a broker message, or no context", () => {
  const commit = KafkaProtocolError.from(25, {
    apiName: "OffsetCommit",
    groupId: "billing",
    topic: "orders",
    partition: 0,
    errorMessage: "member gone",
  });
  assert.match(
    commit.message,
    /^OffsetCommit failed for group billing, topic orders partition 0: UNKNOWN_MEMBER_ID \(25\): .+ \(broker said: member gone\)$/,
  );
  assert.equal(commit.rejoin, true);
  assert.equal(commit.errorMessage, "member gone");

  const heartbeat = KafkaProtocolError.from(27, { apiName: "Heartbeat", groupId: "billing" });
  assert.match(
    heartbeat.message,
    /^Heartbeat failed for group billing: REBALANCE_IN_PROGRESS \(27\)/,
  );

  const bare = new KafkaProtocolError(29);
  assert.match(bare.message, /^Request failed: TOPIC_AUTHORIZATION_FAILED \(29\): .*ACL/);

  const nullMessage = new KafkaProtocolError(7, { errorMessage: null });
  assert.equal(nullMessage.errorMessage, undefined);
  assert.ok(!nullMessage.message.includes("broker said"));

  const unknown = new KafkaProtocolError(4242, { apiName: "Fetch" });
  assert.equal(unknown.errorName, "UNKNOWN_ERROR_CODE_4242");
  assert.match(unknown.message, /^Fetch failed: UNKNOWN_ERROR_CODE_4242 \(4242\): .*does not know/);
  assert.equal(unknown.retriable, false);

  const cause = new Error("root");
  assert.equal(KafkaProtocolError.from(7, {}, { cause }).cause, cause);

  // The version sent is part of what the broker answered (v10 names topics by id).
  const versioned = KafkaProtocolError.from(ErrorCode.UNKNOWN_TOPIC_ID, {
    apiName: "OffsetFetch",
    apiVersion: 10,
    groupId: "billing",
    topic: "orders",
    partition: 0,
  });
  assert.match(
    versioned.message,
    /^OffsetFetch v10 failed for group billing, topic orders partition 0: UNKNOWN_TOPIC_ID \(100\)/,
  );
});

Deno.test("isRetriable() follows the code for KafkaProtocolErrors and is false for plain errors", () => {
  assert.equal(isRetriable(new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT)), true);
  assert.equal(isRetriable(new KafkaProtocolError(ErrorCode.NOT_COORDINATOR)), true);
  assert.equal(isRetriable(new KafkaProtocolError(ErrorCode.TOPIC_AUTHORIZATION_FAILED)), false);
  assert.equal(isRetriable(new KafkaProtocolError(ErrorCode.REBALANCE_IN_PROGRESS)), false);
  assert.equal(isRetriable(new KafkaError("x")), false);
  assert.equal(isRetriable(new Error("x")), false);
  assert.equal(isRetriable({ retriable: true }), false);
  assert.equal(isRetriable(undefined), false);
});
