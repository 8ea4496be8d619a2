// Against the real broker started by `deno task test`: records written by
// Kafka's own console producer, with every compression type, are read back
// with our low-level client (Connection + Fetch + record batch decoding) and
// compared field by field.

import assert from "node:assert/strict";
import { Cluster } from "../src/net/cluster.ts";
import { fetchPartition } from "../src/net/admin.ts";
import { ListOffsetsApi } from "../src/protocol/messages/list_offsets.ts";
import type { KafkaRecord } from "../src/protocol/record.ts";
import { brokers, createTopic, produceConsole, uniqueName } from "./_kafka.ts";

const dec = new TextDecoder();

async function fetchAll(
  cluster: Cluster,
  topic: string,
  partition: number,
  expected: number,
): Promise<KafkaRecord[]> {
  const out: KafkaRecord[] = [];
  let offset = 0n;
  for (let round = 0; round < 50 && out.length < expected; round++) {
    const read = await fetchPartition(cluster, topic, partition, offset, { maxWaitMs: 200 });
    out.push(...read.records);
    offset = read.nextOffset;
  }
  return out;
}

for (const compression of ["none", "gzip", "snappy", "lz4", "zstd"] as const) {
  Deno.test(`Fetch reads back ${compression} records written by Kafka's console producer`, async () => {
    const topic = uniqueName(`fetch-${compression}`);
    await createTopic(topic, { partitions: 1 });
    const n = 300;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      // console producer with parse.headers: "h1:v1,h2:v2<TAB>key<TAB>value"
      const headers = i % 3 === 0 ? `trace:t${i},dup:a,dup:b` : "";
      lines.push(`${headers}\tkey-${i}\tvalue-${i}-${"x".repeat(i % 50)}`);
    }
    await produceConsole(topic, lines, { parseKey: true, parseHeaders: true, compression });
    const cluster = new Cluster({ brokers: brokers().split(",") });
    try {
      const records = await fetchAll(cluster, topic, 0, n);
      assert.equal(records.length, n);
      records.forEach((r, i) => {
        assert.equal(r.offset, BigInt(i));
        assert.equal(dec.decode(r.key!), `key-${i}`);
        assert.equal(dec.decode(r.value!), `value-${i}-${"x".repeat(i % 50)}`);
        assert.ok(r.timestamp > Date.now() - 600_000 && r.timestamp <= Date.now() + 60_000);
        const headers = r.headers.map((
          h,
        ) => [h.key, h.value === null ? null : dec.decode(h.value)]);
        if (i % 3 === 0) {
          assert.deepEqual(headers, [["trace", `t${i}`], ["dup", "a"], ["dup", "b"]]);
        } else assert.deepEqual(headers, []);
      });
    } finally {
      await cluster.close();
    }
  });
}

Deno.test("ListOffsets gives earliest and latest offsets of a topic written by Kafka's producer", async () => {
  const topic = uniqueName("list-offsets");
  await createTopic(topic, { partitions: 2 });
  await produceConsole(topic, ["0\ta", "0\tb", "0\tc"], { parseKey: true });
  const cluster = new Cluster({ brokers: brokers().split(",") });
  try {
    await cluster.refreshMetadata([topic]);
    let total = 0n;
    for (const partition of [0, 1]) {
      const conn = await cluster.connection(cluster.leaderOf(topic, partition));
      for (const [timestamp, expectAtLeast] of [[-2n, 0n], [-1n, 0n]] as const) {
        const res = await conn.send(ListOffsetsApi, {
          replicaId: -1,
          isolationLevel: 0,
          topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }],
        });
        const p = res.topics[0].partitions[0];
        assert.equal(p.errorCode, 0);
        assert.ok(p.offset >= expectAtLeast);
        if (timestamp === -1n) total += p.offset;
        else assert.equal(p.offset, 0n);
      }
    }
    assert.equal(total, 3n);
  } finally {
    await cluster.close();
  }
});
