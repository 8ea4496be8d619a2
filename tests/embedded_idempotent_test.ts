// Idempotent produce over the real protocol on the embedded cluster: a
// Produce whose answer is lost after the broker appended it, sent again on a
// new connection, is recognised as a retry (same producer id, epoch and
// sequences): the records are in the log once and the answer carries the
// first copy's base offset, as Kafka's broker answers. The producer state
// rules themselves are unit tested in src/testing/partition_log_test.ts.

import assert from "node:assert/strict";
import { RequestTimeoutError } from "../mod.ts";
import { EmbeddedCluster } from "../testing.ts";
import { fetchPartition } from "../src/net/admin.ts";
import { Cluster } from "../src/net/cluster.ts";
import type { Connection } from "../src/net/connection.ts";
import { ErrorCode } from "../src/protocol/error_codes.ts";
import { InitProducerIdApi } from "../src/protocol/messages/init_producer_id.ts";
import { ProduceApi, type ProduceRequest } from "../src/protocol/messages/produce.ts";
import { encodeRecordBatch } from "../src/protocol/wire_batch.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const TOPIC = "idempotent";

/** A fresh producer id and epoch from InitProducerId without a transactional id. */
async function initProducerId(
  client: Cluster,
  current = { producerId: -1n, producerEpoch: -1 },
): Promise<{ producerId: bigint; producerEpoch: number }> {
  const boot = await client.connection("bootstrap", "admin");
  const res = await boot.send(InitProducerIdApi, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
    ...current,
  });
  assert.equal(res.errorCode, 0, `InitProducerId answered error ${res.errorCode}`);
  return { producerId: res.producerId, producerEpoch: res.producerEpoch };
}

/** A Produce request (acks=all) of one idempotent batch to partition 0 of TOPIC. */
function produceRequest(
  client: Cluster,
  producer: { producerId: bigint; producerEpoch: number },
  baseSequence: number,
  values: string[],
): ProduceRequest {
  const records = encodeRecordBatch({
    records: values.map((v, i) => ({ value: enc.encode(v), timestamp: 5000 + i })),
    ...producer,
    baseSequence,
  });
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{
      name: TOPIC,
      topicId: client.topics.get(TOPIC)!.topicId,
      partitionData: [{ index: 0, records }],
    }],
  };
}

/** Sends `req` on `conn` and returns its one partition's answer. */
async function send(conn: Connection, req: ProduceRequest, timeoutMs?: number) {
  const res = await conn.send(ProduceApi, req, { timeoutMs });
  return res.responses[0].partitionResponses[0];
}

async function values(client: Cluster): Promise<string[]> {
  const read = await fetchPartition(client, TOPIC, 0, 0n);
  return read.records.map((r) => dec.decode(r.value!));
}

Deno.test("a Produce retried after its answer was lost is appended once and answered with the first base offset [embedded]", async () => {
  await using cluster = await EmbeddedCluster.start();
  await cluster.createTopic(TOPIC, { partitions: 1 });
  await cluster.produce(TOPIC, 0, [{ value: "before" }]); // offset 0
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    await client.refreshMetadata([TOPIC]);
    const leader = client.leaderOf(TOPIC, 0);
    const producer = await initProducerId(client);
    const req = produceRequest(client, producer, 0, ["a", "b", "c"]);

    // The broker appends, then its answer is swallowed: the client times out.
    const lost = cluster.intercept({
      apiKey: "Produce",
      times: 1,
      action: { mutate: () => new Uint8Array(0) },
    });
    const first = await client.connection(leader, "produce");
    await assert.rejects(send(first, req, 500), RequestTimeoutError);
    assert.equal(lost.hits, 1);
    assert.equal(cluster.topic(TOPIC)!.partitions[0].highWatermark, 4n, "appended before");
    assert.ok(first.closed, "the timed-out connection is closed");

    // The same bytes again, on a new connection: a duplicate.
    const second = await client.connection(leader, "produce");
    assert.notEqual(second, first);
    const retry = await send(second, req);
    assert.equal(retry.errorCode, 0);
    assert.equal(retry.baseOffset, 1n, "the first copy's base offset");
    assert.equal(retry.logAppendTimeMs, 5002n, "Kafka answers the cached batch's timestamp");
    assert.equal(cluster.topic(TOPIC)!.partitions[0].highWatermark, 4n, "nothing appended");
    assert.deepEqual(await values(client), ["before", "a", "b", "c"]);

    // The producer goes on at the next sequence; a gap is refused.
    const gap = await send(second, produceRequest(client, producer, 4, ["x"]));
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(gap.baseOffset, -1n);
    const next = await send(second, produceRequest(client, producer, 3, ["d"]));
    assert.equal(next.errorCode, 0);
    assert.equal(next.baseOffset, 4n);
    assert.equal(next.logAppendTimeMs, -1n, "a fresh append: create time, no append time");
    assert.deepEqual(await values(client), ["before", "a", "b", "c", "d"]);
  } finally {
    await client.close();
  }
});

Deno.test("InitProducerId without a transactional id hands out a new producer id each time, as Kafka does [embedded]", async () => {
  await using cluster = await EmbeddedCluster.start();
  const client = new Cluster({ brokers: cluster.bootstrap.split(",") });
  try {
    const a = await initProducerId(client);
    const b = await initProducerId(client);
    assert.notEqual(a.producerId, b.producerId);
    assert.deepEqual([a.producerEpoch, b.producerEpoch], [0, 0]);
    // Naming the current id and epoch (KIP-360, v3+) does not bump the
    // epoch: Kafka's coordinator ignores them for idempotent producers.
    const c = await initProducerId(client, a);
    assert.ok(c.producerId !== a.producerId && c.producerId !== b.producerId, "a third id");
    assert.equal(c.producerEpoch, 0);
  } finally {
    await client.close();
  }
});
