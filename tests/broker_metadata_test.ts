// ApiVersions and Metadata against the real broker started by `deno task test`.

import assert from "node:assert/strict";
import { Cluster } from "../src/net/cluster.ts";
import { Connection } from "../src/net/connection.ts";
import { ConnectionError } from "../src/net/errors.ts";
import { FetchApi } from "../src/protocol/messages/fetch.ts";
import { MetadataApi } from "../src/protocol/messages/metadata.ts";
import { parseVersions } from "../src/protocol/schema.ts";
import { brokers, createTopic, uniqueName } from "./_kafka.ts";
import * as apis from "../src/protocol/messages/mod.ts";

function first(): { host: string; port: number } {
  const [host, port] = brokers().split(",")[0].split(":");
  return { host, port: Number(port) };
}

Deno.test("ApiVersions negotiates a common version of every API we declare", async () => {
  const conn = await Connection.connect(first());
  try {
    for (const api of Object.values(apis)) {
      if (!("request" in api)) continue;
      const v = conn.version(api);
      const ours = parseVersions(api.request.validVersions);
      assert.ok(v >= ours.min && v <= ours.max, `${api.name} v${v}`);
    }
    // Kafka 4.x: Fetch from v4 up; the broker's top version is ours or higher.
    assert.ok(conn.version(FetchApi) >= 12);
  } finally {
    conn.close();
  }
});

Deno.test("Metadata lists the broker and a new topic with its id and leaders", async () => {
  const topic = uniqueName("meta");
  await createTopic(topic, { partitions: 3 });
  const cluster = new Cluster({ brokers: brokers().split(",") });
  try {
    const res = await cluster.refreshMetadata([topic]);
    assert.equal(res.brokers.length, 1);
    assert.ok(cluster.clusterId);
    const t = cluster.topics.get(topic)!;
    assert.equal(t.errorCode, 0);
    assert.equal(t.partitions.size, 3);
    assert.notEqual(t.topicId, "AAAAAAAAAAAAAAAAAAAAAA");
    assert.equal(cluster.topicName(t.topicId), topic);
    for (const p of t.partitions.values()) {
      assert.equal(p.leader, res.brokers[0].nodeId);
      assert.ok(p.leaderEpoch >= 0);
    }
  } finally {
    await cluster.close();
  }
});

Deno.test("Metadata for an unknown topic reports UNKNOWN_TOPIC_OR_PARTITION", async () => {
  const cluster = new Cluster({ brokers: brokers().split(",") });
  try {
    const name = uniqueName("missing");
    const res = await cluster.refreshMetadata([name]);
    assert.equal(res.topics[0].errorCode, 3);
    assert.throws(() => cluster.leaderOf(name, 0), /UNKNOWN_TOPIC_OR_PARTITION/);
  } finally {
    await cluster.close();
  }
});

Deno.test("pipelined requests on one connection all get their own responses", async () => {
  const conn = await Connection.connect(first());
  try {
    const all = await Promise.all(
      Array.from({ length: 50 }, () => conn.send(MetadataApi, { topics: [] })),
    );
    assert.equal(all.length, 50);
    for (const r of all) assert.equal(r.brokers.length, 1);
  } finally {
    conn.close();
  }
});

Deno.test("an unreachable bootstrap list ends in a ConnectionError after bounded retries", async () => {
  // A port nobody listens on: bind, note the port, close.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const failures: number[] = [];
  const cluster = new Cluster({
    brokers: [`127.0.0.1:${port}`],
    bootstrapTimeoutMs: 1000,
    reconnectBackoff: { initialMs: 100, maxMs: 200 },
    onBootstrapFailure: ({ attempt }) => failures.push(attempt),
  });
  const started = Date.now();
  await assert.rejects(() => cluster.refreshMetadata(null), (e: unknown) => {
    assert.ok(e instanceof ConnectionError);
    assert.match(e.message, /no bootstrap broker answered within 1000 ms \(\d+ rounds/);
    assert.match(e.message, /connection refused/);
    // The advice is said once, not once per wrapped error.
    assert.equal(e.message.match(/Check that/g)?.length, 1, e.message);
    return true;
  });
  const took = Date.now() - started;
  // Retried with the backoff for about the bound (~100, ~200, ~200 ... ms pauses), never spun.
  assert.ok(took >= 700 && took < 3000, `gave up after ${took} ms`);
  assert.ok(failures.length >= 4 && failures.length <= 12, `rounds: ${failures}`);
  assert.deepEqual(failures, failures.map((_, i) => i + 1));
  await cluster.close();
});
