/**
 * Generates `src/protocol/messages/*.ts` from Kafka's own JSON message
 * definitions (`common/message/*.json` inside the kafka-clients jar that
 * `scripts/kafka.sh fetch` downloads). Only facts are carried over: names,
 * types, version ranges, defaults and tags. Run with `deno task gen:protocol`;
 * `tests/protocol_declarations_test.ts` fails when the committed files differ
 * from what this script writes.
 *
 * Usage: deno run -A scripts/gen_protocol.ts [--jar kafka-clients.jar] [--out dir]
 */

/** The APIs we declare: Kafka's file prefix and our file name. */
export const APIS: ReadonlyArray<{ json: string; file: string }> = [
  { json: "Produce", file: "produce" },
  { json: "Fetch", file: "fetch" },
  { json: "ListOffsets", file: "list_offsets" },
  { json: "Metadata", file: "metadata" },
  { json: "OffsetCommit", file: "offset_commit" },
  { json: "OffsetFetch", file: "offset_fetch" },
  { json: "FindCoordinator", file: "find_coordinator" },
  { json: "JoinGroup", file: "join_group" },
  { json: "Heartbeat", file: "heartbeat" },
  { json: "LeaveGroup", file: "leave_group" },
  { json: "SyncGroup", file: "sync_group" },
  { json: "DescribeGroups", file: "describe_groups" },
  { json: "ListGroups", file: "list_groups" },
  { json: "SaslHandshake", file: "sasl_handshake" },
  { json: "ApiVersions", file: "api_versions" },
  { json: "CreateTopics", file: "create_topics" },
  { json: "DeleteTopics", file: "delete_topics" },
  { json: "InitProducerId", file: "init_producer_id" },
  { json: "OffsetForLeaderEpoch", file: "offset_for_leader_epoch" },
  { json: "SaslAuthenticate", file: "sasl_authenticate" },
  { json: "DeleteGroups", file: "delete_groups" },
  { json: "CreatePartitions", file: "create_partitions" },
  { json: "DescribeConfigs", file: "describe_configs" },
  { json: "IncrementalAlterConfigs", file: "incremental_alter_configs" },
  { json: "ConsumerGroupDescribe", file: "consumer_group_describe" },
  { json: "ConsumerGroupHeartbeat", file: "consumer_group_heartbeat" },
];

/** Data structures that are not requests: the ConsumerProtocol payloads. */
export const DATA: ReadonlyArray<{ json: string; file: string }> = [
  { json: "ConsumerProtocolSubscription", file: "consumer_protocol_subscription" },
  { json: "ConsumerProtocolAssignment", file: "consumer_protocol_assignment" },
];

interface JsonField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean | null;
  fields?: JsonField[];
}

interface JsonMessage {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  /** The highest valid version is still being designed: brokers do not advertise it. */
  latestVersionUnstable?: boolean;
  flexibleVersions: string;
  fields: JsonField[];
  commonStructs?: Array<{ name: string; versions: string; fields: JsonField[] }>;
}

/** Reads one definition file out of the jar; Kafka's JSON carries `//` comments. */
export async function readDefinition(jar: string, name: string): Promise<JsonMessage> {
  const out = await new Deno.Command("unzip", {
    args: ["-p", jar, `common/message/${name}.json`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot read ${name}.json from ${jar}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  const text = new TextDecoder().decode(out.stdout)
    .split("\n").filter((l) => !/^\s*\/\//.test(l)).join("\n");
  return JSON.parse(text);
}

/** "0-6" -> "0-5": a version range without its newest version. */
function withoutLatest(range: string): string {
  const [min, max] = range.split("-").map(Number);
  if (max === undefined || max - 1 < min) {
    throw new Error(`Cannot drop the unstable latest version of the range "${range}"`);
  }
  return max - 1 === min ? `${min}` : `${min}-${max - 1}`;
}

const camel = (s: string): string => s[0].toLowerCase() + s.slice(1);

/** Inlines common structs so each field carries its own sub-fields. */
function resolve(fields: JsonField[], common: Map<string, JsonField[]>): JsonField[] {
  return fields.map((f) => {
    const base = f.type.startsWith("[]") ? f.type.slice(2) : f.type;
    const sub = f.fields ?? common.get(base);
    return { ...f, fields: sub ? resolve(sub, common) : undefined };
  });
}

function schemaLiteral(fields: JsonField[], indent: string): string {
  const lines = fields.map((f) => {
    const parts = [`name: ${JSON.stringify(camel(f.name))}`, `type: ${JSON.stringify(f.type)}`];
    parts.push(`versions: ${JSON.stringify(f.versions)}`);
    if (f.nullableVersions) parts.push(`nullableVersions: ${JSON.stringify(f.nullableVersions)}`);
    if (f.taggedVersions) parts.push(`taggedVersions: ${JSON.stringify(f.taggedVersions)}`);
    if (f.tag !== undefined) parts.push(`tag: ${f.tag}`);
    if (f.default !== undefined) parts.push(`default: ${JSON.stringify(f.default)}`);
    if (f.fields) parts.push(`fields: ${schemaLiteral(f.fields, indent + "  ")}`);
    return `${indent}  { ${parts.join(", ")} },`;
  });
  return `[\n${lines.join("\n")}\n${indent}]`;
}

const TS_TYPES: Record<string, string> = {
  bool: "boolean",
  int8: "number",
  int16: "number",
  uint16: "number",
  int32: "number",
  uint32: "number",
  int64: "bigint",
  float64: "number",
  string: "string",
  bytes: "Uint8Array",
  records: "Uint8Array | null",
  uuid: "string",
};

function minVersion(v: string): number {
  return Number(v.split(/[-+]/)[0]);
}

/** TypeScript interfaces for a message and its nested structs. */
function interfaces(msg: JsonMessage, fields: JsonField[], forInput: boolean): string {
  const out: string[] = [];
  const validMin = minVersion(msg.validVersions);
  const validMax = msg.validVersions.includes("-") ? Number(msg.validVersions.split("-")[1]) : 0;
  const visit = (name: string, fs: JsonField[], doc: string) => {
    const props = fs.map((f) => {
      const isArray = f.type.startsWith("[]");
      const base = isArray ? f.type.slice(2) : f.type;
      let t: string;
      if (f.fields) {
        const sub = `${msg.name}${base}`;
        visit(sub, f.fields, `A ${base} entry of {@linkcode ${msg.name}}.`);
        t = sub;
      } else t = TS_TYPES[base].replace(" | null", "");
      if (isArray) t = `${t}[]`;
      const nullable = !!f.nullableVersions || base === "records";
      if (nullable) t = `${t} | null`;
      const upper = f.versions.includes("-") ? Number(f.versions.split("-")[1]) : Infinity;
      const always = minVersion(f.versions) <= validMin && upper >= validMax;
      const optional = forInput &&
        (f.default !== undefined || !always || !!f.taggedVersions || nullable);
      return `  ${camel(f.name)}${optional ? "?" : ""}: ${t};`;
    });
    out.push(`/** ${doc} */\nexport interface ${name} {\n${props.join("\n")}\n}`);
  };
  visit(msg.name, fields, `${msg.name}, all versions (absent fields take their defaults).`);
  return out.reverse().join("\n\n");
}

/** Writes one generated module's text. */
export async function generateFile(
  jar: string,
  kafkaVersion: string,
  entry: { json: string; file: string },
  isApi: boolean,
): Promise<string> {
  const msgs = isApi
    ? [
      await readDefinition(jar, `${entry.json}Request`),
      await readDefinition(jar, `${entry.json}Response`),
    ]
    : [await readDefinition(jar, entry.json)];
  // A request whose newest version is unstable is not offered by released
  // brokers (they advertise it only with unstable.api.versions.enable): we
  // declare, and so may negotiate, only the stable versions.
  const unstable = isApi && msgs[0].latestVersionUnstable === true;
  if (unstable) { for (const m of msgs) m.validVersions = withoutLatest(m.validVersions); }
  const header =
    `// Generated by scripts/gen_protocol.ts from the message definitions of Kafka ${kafkaVersion}. Do not edit.\n` +
    `// Regenerate with \`deno task gen:protocol\`.\n\n` +
    `import type { ${isApi ? "ApiSchema" : "MessageSchema"} } from "../schema.ts";\n`;
  const parts: string[] = [header];
  const literals: string[] = [];
  for (const m of msgs) {
    const common = new Map((m.commonStructs ?? []).map((c) => [c.name, c.fields]));
    const fields = resolve(m.fields, common);
    parts.push(interfaces(m, fields, m.type === "request"));
    literals.push(
      `{\n  name: ${JSON.stringify(m.name)},\n  apiKey: ${m.apiKey ?? -1},\n` +
        `  validVersions: ${JSON.stringify(m.validVersions)},\n` +
        `  flexibleVersions: ${JSON.stringify(m.flexibleVersions)},\n` +
        `  fields: ${schemaLiteral(fields, "  ")},\n}`,
    );
  }
  if (isApi) {
    const key = msgs[0].apiKey!;
    parts.push(
      `/** Declaration of the ${entry.json} API (key ${key}). */\n` +
        // One type argument a line: the API's name makes the line too long for some.
        `export const ${entry.json}Api: ApiSchema<\n  ${msgs[0].name},\n  ${msgs[1].name},\n  ${
          JSON.stringify(entry.json)
        }\n> = {\n  apiKey: ${key},\n  name: ${JSON.stringify(entry.json)},\n` +
        `  request: ${literals[0]},\n  response: ${literals[1]},\n};`,
    );
  } else {
    parts.push(
      `/** Declaration of the ${entry.json} data structure. */\n` +
        `export const ${entry.json}Schema: MessageSchema = ${literals[0]};`,
    );
  }
  return parts.join("\n\n") + "\n";
}

function indexFile(kafkaVersion: string): string {
  const lines = [
    `// Generated by scripts/gen_protocol.ts from the message definitions of Kafka ${kafkaVersion}. Do not edit.`,
    "",
    "/**",
    " * Every Kafka API and data structure sluice declares, generated from Kafka's",
    " * JSON message definitions.",
    " *",
    " * @module",
    " */",
    "",
    ...APIS.map((a) => `export * from "./${a.file}.ts";`),
    ...DATA.map((a) => `export * from "./${a.file}.ts";`),
  ];
  return lines.join("\n") + "\n";
}

/** Finds the kafka-clients jar among the libs that scripts/kafka.sh fetched. */
export async function findClientsJar(): Promise<{ jar: string; version: string }> {
  let libs = Deno.env.get("SLUICE_KAFKA_LIBS");
  if (!libs) {
    const out = await new Deno.Command("bash", {
      args: [new URL("./kafka.sh", import.meta.url).pathname, "libs"],
      stdout: "piped",
    }).output();
    libs = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1);
  }
  for (const e of Deno.readDirSync(libs!)) {
    const m = /^kafka-clients-(\d[^-]*(?:-[^.]+)?)\.jar$/.exec(e.name);
    if (m && !e.name.includes("test")) return { jar: `${libs}/${e.name}`, version: m[1] };
  }
  throw new Error(`No kafka-clients jar in ${libs}`);
}

/** Generates every file into `outDir` (formatted with deno fmt). */
export async function generateAll(outDir: string, jar: string, version: string): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const [list, isApi] of [[APIS, true], [DATA, false]] as const) {
    for (const entry of list) {
      const path = `${outDir}/${entry.file}.ts`;
      await Deno.writeTextFile(path, await generateFile(jar, version, entry, isApi));
      written.push(path);
    }
  }
  await Deno.writeTextFile(`${outDir}/mod.ts`, indexFile(version));
  written.push(`${outDir}/mod.ts`);
  const root = new URL("../", import.meta.url).pathname;
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--config", `${root}deno.json`, ...written],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!fmt.success) throw new Error(new TextDecoder().decode(fmt.stderr));
  return written;
}

if (import.meta.main) {
  const args = Deno.args;
  const outIdx = args.indexOf("--out");
  const jarIdx = args.indexOf("--jar");
  const out = outIdx >= 0
    ? args[outIdx + 1]
    : new URL("../src/protocol/messages", import.meta.url).pathname;
  const found = jarIdx >= 0
    ? {
      jar: args[jarIdx + 1],
      version: /kafka-clients-([^/]+)\.jar$/.exec(args[jarIdx + 1])?.[1] ?? "?",
    }
    : await findClientsJar();
  const files = await generateAll(out, found.jar, found.version);
  console.log(`Wrote ${files.length} files to ${out} from ${found.jar}`);
}
