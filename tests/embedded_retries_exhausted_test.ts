// A retriable error that persists until the retries run out (issue 11, "Bad
// input"): the final error must say what was sent (the API and the version
// actually sent) and what the broker answered, not only that attempts ran
// out. Each retry loop of the consumer, on the embedded cluster with an
// error injected into every answer; tiny backoffs keep the hundreds of
// retries quick.

import assert from "node:assert/strict";
import { Consumer, type ConsumerOptions, KafkaProtocolError } from "../mod.ts";
import { type ApiName, EmbeddedCluster, type Interception } from "../testing.ts";
import { ErrorCode, errorInfo } from "../src/protocol/error_codes.ts";
import { BatchReader, fastOptions } from "./_consumer_helpers.ts";

const { COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, LEADER_NOT_AVAILABLE } = ErrorCode;

async function startCluster(): Promise<EmbeddedCluster> {
  const cluster = await EmbeddedCluster.start();
  await cluster.createTopic("t");
  await cluster.produce("t", 0, [{ value: "a" }, { value: "b" }]);
  return cluster;
}

function consumerOn(cluster: EmbeddedCluster, extra: Partial<ConsumerOptions>): Consumer {
  return new Consumer(fastOptions({
    brokers: cluster.bootstrap.split(","),
    retryBackoffMs: 1,
    retryBackoffMaxMs: 3,
    ...extra,
  }));
}

/** Answers every request of `api` with `code`. */
function always(cluster: EmbeddedCluster, api: ApiName, code: number): Interception {
  return cluster.intercept({ apiKey: api, action: { errorCode: code } });
}

/**
 * Asserts that `e`'s message names `api` at the version `rule` saw sent
 * (one version throughout) and the broker's answer `code`, and returns it.
 */
function assertSays(e: unknown, rule: Interception, api: ApiName, code: number): string {
  assert.ok(e instanceof Error, `an error, got ${e}`);
  assert.ok(rule.hits > 1, `${api} was retried (${rule.hits} sent)`);
  const versions = new Set(rule.requests.map((r) => r.version));
  assert.equal(versions.size, 1, `one version sent: ${[...versions]}`);
  const sent = `${api} v${rule.requests[0].version}`;
  assert.ok(e.message.includes(sent), `"${sent}" in: ${e.message}`);
  assert.ok(e.message.includes(errorInfo(code).name), `the answer in: ${e.message}`);
  return e.message;
}

Deno.test("retries exhausted: JoinGroup always COORDINATOR_LOAD_IN_PROGRESS: the error names JoinGroup v<N> and the answer", async () => {
  await using cluster = await startCluster();
  const rule = always(cluster, "JoinGroup", COORDINATOR_LOAD_IN_PROGRESS);
  await using consumer = consumerOn(cluster, { groupId: "g-join", topics: ["t"] });
  const { error } = await new BatchReader(consumer.readable).untilError(30_000);
  const message = assertSays(error, rule, "JoinGroup", COORDINATOR_LOAD_IN_PROGRESS);
  assert.match(message, /^Could not join group g-join: 30 attempts failed/);
  const cause = (error as Error).cause;
  assert.ok(cause instanceof KafkaProtocolError);
  assert.equal(cause.apiName, "JoinGroup");
  assert.equal(cause.apiVersion, rule.requests[0].version);
  assert.equal(cause.code, COORDINATOR_LOAD_IN_PROGRESS);
});

Deno.test("retries exhausted: SyncGroup always COORDINATOR_LOAD_IN_PROGRESS: the error names SyncGroup v<N> and the answer", async () => {
  await using cluster = await startCluster();
  const rule = always(cluster, "SyncGroup", COORDINATOR_LOAD_IN_PROGRESS);
  await using consumer = consumerOn(cluster, { groupId: "g-sync", topics: ["t"] });
  const { error, records } = await new BatchReader(consumer.readable).untilError(30_000);
  assertSays(error, rule, "SyncGroup", COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal(records, 0);
});

Deno.test("retries exhausted: OffsetFetch during the join always COORDINATOR_LOAD_IN_PROGRESS: the error names OffsetFetch v<N>", async () => {
  await using cluster = await startCluster();
  const rule = always(cluster, "OffsetFetch", COORDINATOR_LOAD_IN_PROGRESS);
  await using consumer = consumerOn(cluster, { groupId: "g-offsets", topics: ["t"] });
  const { error, records } = await new BatchReader(consumer.readable).untilError(30_000);
  assertSays(error, rule, "OffsetFetch", COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal(records, 0, "nothing delivered without the committed offsets");
});

Deno.test("retries exhausted: FindCoordinator always COORDINATOR_NOT_AVAILABLE: the error names FindCoordinator v<N>", async () => {
  await using cluster = await startCluster();
  const rule = always(cluster, "FindCoordinator", COORDINATOR_NOT_AVAILABLE);
  await using consumer = consumerOn(cluster, { groupId: "g-find", topics: ["t"] });
  const { error } = await new BatchReader(consumer.readable).untilError(30_000);
  assertSays(error, rule, "FindCoordinator", COORDINATOR_NOT_AVAILABLE);
});

Deno.test("retries exhausted: ListOffsets always LEADER_NOT_AVAILABLE: the error names ListOffsets v<N>", async () => {
  await using cluster = await startCluster();
  const rule = always(cluster, "ListOffsets", LEADER_NOT_AVAILABLE);
  await using consumer = consumerOn(cluster, {
    assign: [{ topic: "t", partition: 0, offset: "earliest" }],
  });
  const { error } = await new BatchReader(consumer.readable).untilError(30_000);
  assertSays(error, rule, "ListOffsets", LEADER_NOT_AVAILABLE);
  assert.ok(error instanceof KafkaProtocolError && error.code === LEADER_NOT_AVAILABLE);
});

Deno.test("retries exhausted: commit() with OffsetCommit always COORDINATOR_LOAD_IN_PROGRESS: the error names OffsetCommit v<N>", async () => {
  await using cluster = await startCluster();
  await using consumer = consumerOn(cluster, {
    groupId: "g-commit",
    assign: [{ topic: "t", partition: 0, offset: "earliest" }],
    commit: "manual",
  });
  const reader = new BatchReader(consumer.readable);
  const batch = await reader.nextBatch(5000, "the records");
  batch.ack();
  const rule = always(cluster, "OffsetCommit", COORDINATOR_LOAD_IN_PROGRESS);
  const error = await consumer.commit().then(() => null, (e: unknown) => e);
  assertSays(error, rule, "OffsetCommit", COORDINATOR_LOAD_IN_PROGRESS);
  rule.remove();
});
