// The committed declarations in src/protocol/messages/ must be exactly what
// scripts/gen_protocol.ts makes from the message definitions inside the
// kafka-clients jar that scripts/kafka.sh downloads (Kafka's own JSON, the
// input of its Java code generator). A hand edit, or a Kafka upgrade without
// regeneration, fails here.

import assert from "node:assert/strict";
import { findClientsJar, generateAll } from "../scripts/gen_protocol.ts";

Deno.test("generated protocol declarations match Kafka's message definitions", async () => {
  if (!Deno.env.get("SLUICE_KAFKA_LIBS")) {
    throw new Error("SLUICE_KAFKA_LIBS is not set: run the tests with `deno task test`");
  }
  const { jar, version } = await findClientsJar();
  const dir = await Deno.makeTempDir({ prefix: "sluice-gen-" });
  try {
    const files = await generateAll(dir, jar, version);
    assert.ok(files.length > 20);
    const committed = new URL("../src/protocol/messages/", import.meta.url);
    const names = new Set<string>();
    for (const f of files) {
      const name = f.slice(dir.length + 1);
      names.add(name);
      const want = await Deno.readTextFile(f);
      const have = await Deno.readTextFile(new URL(name, committed));
      assert.equal(have, want, `src/protocol/messages/${name} differs from the generator's output`);
    }
    for (const e of Deno.readDirSync(committed)) {
      assert.ok(names.has(e.name), `src/protocol/messages/${e.name} is not generated`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
