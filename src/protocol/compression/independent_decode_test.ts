// Output of our lz4 and snappy compressors read back by our decoders (both
// kinds) and by independent ones: the lz4 CLI (Debian's `lz4`) and the classes
// Kafka's Java consumer decompresses record batches with (kafka-clients with
// lz4-java and snappy-java: SLUICE_KAFKA_LIBS, or the Kafka download
// scripts/kafka.sh keeps in ~/.cache/sluice). A missing tool fails the test
// saying what to install: .ci/run installs lz4, `deno task test` fetches Kafka.
import assert from "node:assert/strict";
import { hasCommand, requireJava } from "../../testdata/java.ts";
import { compressLz4, decompressLz4 } from "./lz4.ts";
import {
  compressSnappy,
  compressSnappyBlock,
  decompressSnappy,
  decompressSnappyBlock,
} from "./snappy.ts";
import { lcg, sampleRandom, sampleRepetitive, samples, sampleText } from "./testdata/samples.ts";

/** Inputs compressed one after another, so state left by a call meets the next. */
function inputs(): Array<[string, Uint8Array]> {
  const list: Array<[string, Uint8Array]> = Object.entries(samples());
  for (const size of [16 * 1024, 65535, 65536, 65537, 1 << 20]) {
    list.push([`text ${size}`, sampleText(size, size)]);
  }
  list.push(["random 16KiB", sampleRandom(16 * 1024, 7)]);
  list.push(["repetitive 100000", sampleRepetitive(100_000)]);
  // Text with incompressible stretches: skip-ahead must not hide later matches.
  const mixed = new Uint8Array(200_000);
  for (let i = 0; i < mixed.length; i += 40_000) {
    mixed.set(i % 80_000 === 0 ? sampleText(40_000, i) : sampleRandom(40_000, i), i);
  }
  list.push(["mixed 200000", mixed]);
  return list;
}

Deno.test("compressLz4() and compressSnappy() output reads back with our decoders", () => {
  for (const [name, data] of inputs()) {
    const lz4 = compressLz4(data);
    assert.deepEqual(decompressLz4(lz4), data, `lz4 wasm ${name}`);
    assert.deepEqual(decompressLz4(lz4, { decoder: "js" }), data, `lz4 js ${name}`);
    const lz4js = compressLz4(data, { encoder: "js" });
    assert.deepEqual(decompressLz4(lz4js, { decoder: "js" }), data, `lz4 js-encoded ${name}`);
    // Same algorithm, same hash: the two encoders differ only by stale table entries.
    assert.ok(Math.abs(lz4js.length - lz4.length) <= lz4.length / 50 + 16, `lz4 sizes ${name}`);
    const snappy = compressSnappy(data);
    assert.deepEqual(decompressSnappy(snappy), data, `snappy wasm ${name}`);
    assert.deepEqual(decompressSnappy(snappy, { decoder: "js" }), data, `snappy js ${name}`);
    const snappyJs = compressSnappy(data, { encoder: "js" });
    assert.deepEqual(decompressSnappy(snappyJs, { decoder: "js" }), data, `snappy js-enc ${name}`);
    const raw = compressSnappyBlock(data);
    assert.deepEqual(decompressSnappyBlock(raw, { decoder: "js" }), data, `snappy raw ${name}`);
    const rawJs = compressSnappyBlock(data, { encoder: "js" });
    assert.deepEqual(decompressSnappyBlock(rawJs), data, `snappy raw js-enc ${name}`);
  }
});

Deno.test({
  name: "compressLz4() output reads back with the lz4 CLI",
  async fn() {
    assert.ok(hasCommand("lz4", ["--version"]), "the lz4 CLI is missing: apt-get install lz4");
    for (
      const [name, data, encoder] of inputs().flatMap(([n, d]) =>
        [[n, d, "wasm"], [n, d, "js"]] as const
      )
    ) {
      const child = new Deno.Command("lz4", { args: ["-d", "-c"], stdin: "piped", stdout: "piped" })
        .spawn();
      const done = child.output();
      const writer = child.stdin.getWriter();
      await writer.write(compressLz4(data, { encoder }));
      await writer.close();
      const r = await done;
      assert.ok(r.success, `${encoder} ${name}`);
      assert.deepEqual(r.stdout, data, `${encoder} ${name}`);
    }
  },
});

/** Decodes each (codec, file) pair with Kafka's own Compression classes into file.out. */
const KAFKA_DECODE_JAVA = `
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.utils.internals.BufferSupplier;

public class KafkaDecode {
  public static void main(String[] args) throws Exception {
    for (int i = 0; i + 1 < args.length; i += 2) {
      Compression c = args[i].equals("snappy")
          ? Compression.snappy().build() : Compression.lz4().build();
      ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(Path.of(args[i + 1])));
      try (InputStream s = c.wrapForInput(in, (byte) 2, BufferSupplier.create())) {
        Files.write(Path.of(args[i + 1] + ".out"), s.readAllBytes());
      }
    }
  }
}
`;

Deno.test({
  name: "compressLz4() and compressSnappy() output reads back with Kafka's Java decompressors",
  fn() {
    const classpath = requireJava(["kafka-clients", "snappy-java", "lz4-java", "slf4j-api"]);
    const dir = Deno.makeTempDirSync({ prefix: "sluice-kafka-decode-" });
    try {
      Deno.writeTextFileSync(`${dir}/KafkaDecode.java`, KAFKA_DECODE_JAVA);
      const list = inputs();
      const args: string[] = [];
      list.forEach(([, data], i) => {
        Deno.writeFileSync(`${dir}/${i}.lz4`, compressLz4(data));
        Deno.writeFileSync(`${dir}/${i}.js.lz4`, compressLz4(data, { encoder: "js" }));
        Deno.writeFileSync(`${dir}/${i}.snappy`, compressSnappy(data));
        Deno.writeFileSync(`${dir}/${i}.js.snappy`, compressSnappy(data, { encoder: "js" }));
        args.push("lz4", `${dir}/${i}.lz4`, "lz4", `${dir}/${i}.js.lz4`);
        args.push("snappy", `${dir}/${i}.snappy`, "snappy", `${dir}/${i}.js.snappy`);
      });
      const r = new Deno.Command("java", {
        args: ["-cp", classpath, `${dir}/KafkaDecode.java`, ...args],
        stdout: "null",
        stderr: "piped",
      }).outputSync();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      list.forEach(([name, data], i) => {
        for (const codec of ["lz4", "js.lz4", "snappy", "js.snappy"]) {
          assert.deepEqual(Deno.readFileSync(`${dir}/${i}.${codec}.out`), data, `${codec} ${name}`);
        }
      });
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("both lz4 and snappy encoders round-trip many small and boundary-sized inputs", () => {
  const next = lcg(99);
  for (let i = 0; i < 400; i++) {
    // Small alphabets make matches everywhere; 256 makes few. Sizes cross the
    // end rules (under 13 bytes) and the 32/64 KiB chunk and block edges.
    const alphabet = [2, 4, 16, 256][i % 4];
    const size = i < 40 ? i : i % 10 === 0 ? 65536 + (next() % 64) - 32 : next() % 5000;
    const data = new Uint8Array(size);
    for (let j = 0; j < size; j++) data[j] = next() % alphabet;
    for (const encoder of ["wasm", "js"] as const) {
      const lz4 = compressLz4(data, { encoder });
      assert.deepEqual(decompressLz4(lz4, { decoder: "js" }), data, `lz4 ${encoder} ${i}`);
      const snappy = compressSnappy(data, { encoder });
      assert.deepEqual(decompressSnappy(snappy, { decoder: "js" }), data, `snappy ${encoder} ${i}`);
      // Decoding in WASM overwrites the compressors' table with other bytes.
      assert.deepEqual(decompressSnappy(snappy), data, `snappy ${encoder} ${i} (wasm decode)`);
    }
  }
});
