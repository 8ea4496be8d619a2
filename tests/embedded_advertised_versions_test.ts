// The embedded cluster's `advertisedVersions` option: brokers that list
// narrower ranges in ApiVersions (an older broker) and refuse requests
// outside them as Kafka does; a wrong option fails start().

import assert from "node:assert/strict";
import { type ApiName, EmbeddedCluster } from "../testing.ts";
import { Connection } from "../src/net/connection.ts";
import { ConnectionError } from "../src/net/errors.ts";
import { ErrorCode } from "../src/protocol/error_codes.ts";
import { ApiVersionsApi } from "../src/protocol/messages/api_versions.ts";
import { MetadataApi } from "../src/protocol/messages/metadata.ts";

async function connect(cluster: EmbeddedCluster): Promise<Connection> {
  const [host, port] = cluster.bootstrap.split(",")[0].split(":");
  return await Connection.connect({ host, port: Number(port), clientId: "advertised-test" });
}

async function advertised(cluster: EmbeddedCluster): Promise<Map<number, [number, number]>> {
  const conn = await connect(cluster);
  try {
    const res = await conn.send(ApiVersionsApi, {}, { version: 4 });
    assert.equal(res.errorCode, ErrorCode.NONE);
    return new Map(res.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
  } finally {
    conn.close();
  }
}

Deno.test("EmbeddedCluster advertisedVersions: the chosen APIs are listed narrowed, the rest unchanged", async () => {
  const full = await (async () => {
    await using plain = await EmbeddedCluster.start();
    return await advertised(plain);
  })();
  await using cluster = await EmbeddedCluster.start({
    brokers: 2,
    advertisedVersions: { Fetch: { min: 0, max: 3 }, Metadata: { min: 1, max: 9 } },
  });
  const narrowed = await advertised(cluster);
  assert.deepEqual(narrowed.get(1), [0, 3]);
  assert.deepEqual(narrowed.get(3), [1, 9]);
  for (const [key, range] of full) {
    if (key !== 1 && key !== 3) assert.deepEqual(narrowed.get(key), range, `API key ${key}`);
  }
  assert.equal(narrowed.size, full.size);
});

Deno.test("EmbeddedCluster advertisedVersions: a version served but not advertised closes the connection", async () => {
  await using cluster = await EmbeddedCluster.start({
    advertisedVersions: { Metadata: { min: 1, max: 9 } },
  });
  const conn = await connect(cluster);
  try {
    // Negotiated: the advertised maximum, answered.
    assert.equal(conn.version(MetadataApi), 9);
    const ok = await conn.send(MetadataApi, { topics: [], allowAutoTopicCreation: false });
    assert.equal(ok.brokers.length, 1);
    // Above it (the cluster could decode v12): refused as Kafka refuses a
    // version it does not take, by closing the connection.
    await assert.rejects(
      () => conn.send(MetadataApi, { topics: [], allowAutoTopicCreation: false }, { version: 12 }),
      ConnectionError,
    );
    assert.equal(conn.closed, true);
  } finally {
    conn.close();
  }
});

Deno.test("EmbeddedCluster advertisedVersions: a wrong option fails start() naming the API", async () => {
  const bad: [Record<string, { min: number; max: number }>, RegExp][] = [
    [{ Nope: { min: 0, max: 1 } }, /does not serve "Nope"/],
    [{ DeleteRecords: { min: 0, max: 1 } }, /does not serve "DeleteRecords"/],
    [{ Fetch: { min: 5, max: 4 } }, /advertisedVersions\.Fetch: .*min <= max, got 5-4/],
    [{ Fetch: { min: -1, max: 4 } }, /advertisedVersions\.Fetch: .*got -1-4/],
    [{ Fetch: { min: 4, max: 4.5 } }, /advertisedVersions\.Fetch: .*integers/],
    [{ Fetch: { min: 4, max: 19 } }, /advertisedVersions\.Fetch: 4-19 goes above 18/],
    [{ ApiVersions: { min: 0, max: 6 } }, /advertisedVersions\.ApiVersions: 0-6 goes above 5/],
  ];
  for (const [option, message] of bad) {
    await assert.rejects(
      () =>
        EmbeddedCluster.start({
          advertisedVersions: option as Partial<Record<ApiName, { min: number; max: number }>>,
        }),
      (e: unknown) => e instanceof RangeError && message.test(e.message),
      JSON.stringify(option),
    );
  }
});
