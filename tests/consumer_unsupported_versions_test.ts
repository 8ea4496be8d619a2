// A broker too old for an API the consumer needs (issue 11, "Bad input"):
// the embedded cluster advertises narrower ranges (`advertisedVersions`),
// and the consumer's stream must end, at once and without retrying, with an
// UnsupportedVersionError naming the API, our range and the broker's. A
// narrowed range that still meets ours must just work, at its maximum.

import assert from "node:assert/strict";
import { Consumer, type ConsumerOptions, UnsupportedVersionError } from "../mod.ts";
import { type ApiName, EmbeddedCluster, type EmbeddedClusterOptions } from "../testing.ts";
import type { ApiSchema } from "../src/protocol/schema.ts";
import { ourVersions } from "../src/protocol/version_caps.ts";
import { FetchApi } from "../src/protocol/messages/fetch.ts";
import { ListOffsetsApi } from "../src/protocol/messages/list_offsets.ts";
import { OffsetCommitApi } from "../src/protocol/messages/offset_commit.ts";
import { OffsetFetchApi } from "../src/protocol/messages/offset_fetch.ts";
import { BatchReader, fastOptions } from "./_consumer_helpers.ts";

/** Our declared range of `api` (after caps), as UnsupportedVersionError renders it. */
function ours(api: ApiSchema): string {
  const r = ourVersions(api);
  return `${r.min}-${r.max}`;
}

/** A one-broker cluster with topic "t" (one partition) holding `count` records. */
async function startCluster(
  options: EmbeddedClusterOptions,
  count = 5,
): Promise<EmbeddedCluster> {
  const cluster = await EmbeddedCluster.start(options);
  await cluster.createTopic("t");
  const records = Array.from({ length: count }, (_, i) => ({ value: `v${i}` }));
  await cluster.produce("t", 0, records);
  return cluster;
}

function consumerOn(cluster: EmbeddedCluster, extra: Partial<ConsumerOptions>): Consumer {
  return new Consumer(fastOptions({ brokers: cluster.bootstrap.split(","), ...extra }));
}

const assignT: Partial<ConsumerOptions> = {
  assign: [{ topic: "t", partition: 0, offset: "earliest" }],
};

/** Reads `consumer`'s stream until it errors (see {@linkcode BatchReader.untilError}). */
function streamError(consumer: Consumer, timeoutMs: number) {
  return new BatchReader(consumer.readable).untilError(timeoutMs);
}

/** Asserts an UnsupportedVersionError for `api`, with both ranges and advice in the message. */
function assertUnsupported(e: unknown, api: ApiSchema, theirs: string): UnsupportedVersionError {
  assert.ok(e instanceof UnsupportedVersionError, `an UnsupportedVersionError, got ${e}`);
  assert.equal(e.api, api.name);
  assert.equal(e.ours, ours(api));
  assert.equal(e.theirs, theirs);
  assert.equal(e.retriable, false);
  assert.ok(e.message.includes(`${api.name} versions ${theirs}`), e.message);
  assert.ok(e.message.includes(ours(api)), e.message);
  assert.match(e.message, /upgrade the broker/);
  return e;
}

/** Records every request of `api` (none may go out of the advertised range). */
function observe(cluster: EmbeddedCluster, api: ApiName) {
  return cluster.intercept({ apiKey: api, action: { observe: true } });
}

Deno.test("unsupported versions: assign mode, a broker with Fetch 0-3 ends the stream with UnsupportedVersionError", async () => {
  assert.ok(ourVersions(FetchApi).min > 3, "the premise: we no longer speak Fetch 0-3");
  await using cluster = await startCluster({ advertisedVersions: { Fetch: { min: 0, max: 3 } } });
  const fetches = observe(cluster, "Fetch");
  await using consumer = consumerOn(cluster, assignT);
  const { error, records, ms } = await streamError(consumer, 5000);
  assertUnsupported(error, FetchApi, "0-3");
  assert.equal(records, 0);
  assert.equal(fetches.hits, 0, "no Fetch was sent at a version the broker does not speak");
  // Ended at once: no reconnect loop first (its backoff alone takes longer).
  assert.ok(ms < 3000, `ended after ${ms} ms`);
});

Deno.test("unsupported versions: assign mode, a broker with ListOffsets 0-0 ends the start-up at once", async () => {
  assert.ok(ourVersions(ListOffsetsApi).min > 0);
  await using cluster = await startCluster({
    advertisedVersions: { ListOffsets: { min: 0, max: 0 } },
  });
  const lookups = observe(cluster, "ListOffsets");
  // Default-sized retry backoff: 20 retries of the lookup would take ~8 s.
  await using consumer = consumerOn(cluster, assignT);
  const { error, ms } = await streamError(consumer, 5000);
  assertUnsupported(error, ListOffsetsApi, "0-0");
  assert.equal(lookups.hits, 0);
  assert.ok(ms < 3000, `ended after ${ms} ms: the lookup was retried`);
});

Deno.test("unsupported versions: subscribe mode, a coordinator with OffsetFetch 0-0 ends the stream at the join", async () => {
  assert.ok(ourVersions(OffsetFetchApi).min > 0);
  await using cluster = await startCluster({
    advertisedVersions: { OffsetFetch: { min: 0, max: 0 } },
  });
  const fetches = observe(cluster, "OffsetFetch");
  const joins = observe(cluster, "JoinGroup");
  await using consumer = consumerOn(cluster, { groupId: "g-old-offset-fetch", topics: ["t"] });
  const { error, records, ms } = await streamError(consumer, 5000);
  assertUnsupported(error, OffsetFetchApi, "0-0");
  assert.equal(records, 0);
  assert.equal(fetches.hits, 0);
  // Not rejoined over and over: one join (plus KIP-394's member id round).
  assert.ok(joins.hits <= 2, `${joins.hits} JoinGroups`);
  assert.ok(ms < 3000, `ended after ${ms} ms`);
});

Deno.test("unsupported versions: subscribe mode, a coordinator with OffsetCommit 0-1 ends the stream at the first auto-commit", async () => {
  assert.ok(ourVersions(OffsetCommitApi).min > 1);
  await using cluster = await startCluster({
    advertisedVersions: { OffsetCommit: { min: 0, max: 1 } },
  });
  const commits = observe(cluster, "OffsetCommit");
  await using consumer = consumerOn(cluster, {
    groupId: "g-old-offset-commit",
    topics: ["t"],
    autoCommitIntervalMs: 200,
  });
  const { error, records } = await streamError(consumer, 5000);
  assertUnsupported(error, OffsetCommitApi, "0-1");
  assert.equal(records, 5, "records were delivered until the first commit");
  assert.equal(commits.hits, 0);
  assert.deepEqual(cluster.group("g-old-offset-commit").committed, []);
});

Deno.test("unsupported versions: a narrowed range that meets ours (Fetch 4-12) is used at its maximum", async () => {
  await using cluster = await startCluster({ advertisedVersions: { Fetch: { min: 4, max: 12 } } });
  const fetches = observe(cluster, "Fetch");
  await using consumer = consumerOn(cluster, assignT);
  const reader = new BatchReader(consumer.readable);
  let read = 0;
  while (read < 5) {
    const batch = await reader.nextBatch(5000, "the records");
    read += batch.records.length;
    batch.ack();
  }
  assert.equal(read, 5);
  assert.ok(fetches.hits > 0);
  assert.deepEqual(new Set(fetches.requests.map((r) => r.version)), new Set([12]));
});

Deno.test("unsupported versions: a broker with ApiVersions 0-3 answers our v5 with its range, and we go on at v3", async () => {
  await using cluster = await startCluster({
    advertisedVersions: { ApiVersions: { min: 0, max: 3 } },
  });
  const asked = observe(cluster, "ApiVersions");
  await using consumer = consumerOn(cluster, assignT);
  const reader = new BatchReader(consumer.readable);
  const batch = await reader.nextBatch(5000, "the records");
  assert.equal(batch.records[0].offset, 0n);
  batch.ack();
  // The refused v5 requests are answered before rules apply: only v3 is seen.
  assert.ok(asked.hits > 0);
  assert.deepEqual(new Set(asked.requests.map((r) => r.version)), new Set([3]));
});
