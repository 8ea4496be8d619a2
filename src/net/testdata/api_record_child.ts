// Child process of src/net/api_record_test.ts: the recorder is decided once
// per process from SLUICE_API_RECORD_DIR and the permissions granted, so each
// case runs in a process of its own with the permissions under test.
//
//   probe       prints whether recording is on, and records one fact
//   connection  Connection traffic against an embedded broker: an ok answer,
//               an error code, an undecodable answer, a timeout, a broken
//               connection and a client close

import { apiRecorder } from "../api_record.ts";
import { Connection } from "../connection.ts";
import { MetadataApi } from "../../protocol/messages/metadata.ts";
import { EmbeddedCluster } from "../../testing/embedded_cluster.ts";

const mode = Deno.args[0];
if (mode === "probe") {
  const r = apiRecorder();
  r?.versions("127.0.0.1:1", [[18, 0, 4]]);
  console.log(JSON.stringify({ on: r !== null, active: r?.active ?? false }));
} else if (mode === "connection") {
  await using cluster = await EmbeddedCluster.start();
  const [host, port] = cluster.bootstrap.split(":");
  const open = () => Connection.connect({ host, port: Number(port) });
  const metadata = { topics: [], allowAutoTopicCreation: false };
  const conn = await open();
  await conn.send(MetadataApi, metadata);
  await conn.send(MetadataApi, metadata); // the same fact again: no new line
  cluster.intercept({ apiKey: "Metadata", times: 1, action: { errorCode: 3 } });
  await conn.send(MetadataApi, metadata);
  // A frame holding only the correlation id: the body does not decode.
  cluster.intercept({
    apiKey: "Metadata",
    times: 1,
    action: {
      mutate: (frame) => {
        const out = frame.slice(0, 8);
        new DataView(out.buffer).setInt32(0, 4);
        return out;
      },
    },
  });
  await conn.send(MetadataApi, metadata).then(() => Deno.exit(3), () => {});
  const hang = cluster.intercept({ apiKey: "Metadata", action: { hang: true } });
  await conn.send(MetadataApi, metadata, { timeoutMs: 100 }).then(() => Deno.exit(4), () => {});
  // The broker drops the connection with the request in flight.
  hang.remove();
  const dropped = await open();
  cluster.intercept({ apiKey: "Metadata", times: 1, action: { drop: true } });
  await dropped.send(MetadataApi, metadata, { version: 12 }).then(() => Deno.exit(5), () => {});
  // We close with a request in flight: not the broker's doing, not recorded.
  const closing = await open();
  const held = cluster.intercept({ apiKey: "Metadata", action: { hang: true } });
  const pending = closing.send(MetadataApi, metadata, { version: 11 }).catch(() => {});
  await new Promise((r) => setTimeout(r, 50));
  closing.close();
  await pending;
  held.remove();
  conn.close();
  dropped.close();
}
