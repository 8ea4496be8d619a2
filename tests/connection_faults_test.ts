// Hostile or broken brokers, played by a tiny loopback server: every case
// ends in a typed error, never a hang.

import assert from "node:assert/strict";
import { Connection } from "../src/net/connection.ts";
import { ConnectionError, RequestTimeoutError } from "../src/net/errors.ts";
import { CorruptDataError } from "../src/protocol/errors.ts";
import { HeartbeatApi } from "../src/protocol/messages/heartbeat.ts";

/** Serves one connection: for each request frame, `reply` gives bytes to send back. */
function fakeBroker(
  reply: (correlationId: number, n: number) => Uint8Array | null,
): { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    const buf = new Uint8Array(65536);
    let have = 0;
    let n = 0;
    try {
      while (true) {
        const r = await conn.read(buf.subarray(have));
        if (r === null) break;
        have += r;
        while (have >= 4) {
          const size = new DataView(buf.buffer).getInt32(0);
          if (have < 4 + size) break;
          const correlationId = new DataView(buf.buffer).getInt32(8);
          const out = reply(correlationId, n++);
          buf.copyWithin(0, 4 + size, have);
          have -= 4 + size;
          if (out === null) continue;
          if (out.length === 0) {
            conn.close();
            return;
          }
          await conn.write(out);
        }
      }
    } catch {
      // the client closed on us
    }
    try {
      conn.close();
    } catch {
      // already closed
    }
  })();
  return { port, done };
}

function frame(...parts: number[][]): Uint8Array {
  const body = parts.flat();
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

const int32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
// Heartbeat v4 response: header v1 (correlation id, no tags), throttle, error, no tags.
const heartbeatOk = (id: number) => frame(int32(id), [0], int32(0), [0, 0], [0]);
const hb = { groupId: "g", generationId: 1, memberId: "m" };

async function open(port: number, requestTimeoutMs = 2000): Promise<Connection> {
  return await Connection.connect({
    host: "127.0.0.1",
    port,
    skipApiVersions: true,
    requestTimeoutMs,
  });
}

Deno.test("a well-formed response resolves the matching request", async () => {
  const b = fakeBroker((id) => heartbeatOk(id));
  const c = await open(b.port);
  const res = await c.send(HeartbeatApi, hb, { version: 4 });
  assert.equal(res.errorCode, 0);
  c.close();
  await b.done;
});

Deno.test("a response for an unknown correlation id fails the connection with CorruptDataError", async () => {
  const b = fakeBroker((id) => heartbeatOk(id + 1000));
  const c = await open(b.port);
  await assert.rejects(() => c.send(HeartbeatApi, hb, { version: 4 }), (e: unknown) => {
    assert.ok(e instanceof CorruptDataError);
    assert.match(e.message, /unknown correlation id 1001/);
    return true;
  });
  assert.ok(c.closed);
  await c.done;
  await b.done;
});

Deno.test("a frame above the size limit is refused before allocating it", async () => {
  const b = fakeBroker((id) => {
    const f = heartbeatOk(id);
    new DataView(f.buffer).setInt32(0, 0x7ff00000); // ~2 GiB claimed
    return f;
  });
  const c = await Connection.connect({
    host: "127.0.0.1",
    port: b.port,
    skipApiVersions: true,
    maxFrameBytes: 1 << 20,
  });
  await assert.rejects(
    () => c.send(HeartbeatApi, hb, { version: 4 }),
    /sent a frame of 2146435072 bytes/,
  );
  await b.done;
});

Deno.test("a truncated response body is a CorruptDataError naming the message", async () => {
  // Correct header, then the body stops after the throttle time.
  const b = fakeBroker((id) => frame(int32(id), [0], int32(0)));
  const c = await open(b.port);
  await assert.rejects(() => c.send(HeartbeatApi, hb, { version: 4 }), (e: unknown) => {
    assert.ok(e instanceof CorruptDataError);
    assert.match(e.message, /HeartbeatResponse v4: Truncated data: int16/);
    return true;
  });
  c.close();
  await b.done;
});

Deno.test("a broker that closes mid-response fails pending requests with ConnectionError", async () => {
  const b = fakeBroker(() => new Uint8Array(0));
  const c = await open(b.port);
  await assert.rejects(() => c.send(HeartbeatApi, hb, { version: 4 }), ConnectionError);
  await b.done;
});

Deno.test("a broker that never answers hits the request timeout", async () => {
  const b = fakeBroker(() => null);
  const c = await open(b.port, 300);
  await assert.rejects(() => c.send(HeartbeatApi, hb, { version: 4 }), RequestTimeoutError);
  assert.ok(c.closed, "the connection is closed after a timeout, as Kafka's Java client does");
  await b.done;
});

Deno.test("a malformed varint in a flexible response is a CorruptDataError", async () => {
  // Header tagged-field count encoded as six continuation bytes.
  const b = fakeBroker((id) => frame(int32(id), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  const c = await open(b.port);
  await assert.rejects(() => c.send(HeartbeatApi, hb, { version: 4 }), CorruptDataError);
  c.close();
  await b.done;
});
