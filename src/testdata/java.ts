/**
 * For the tests that check us against Kafka's own Java classes or other
 * independent tools: where Kafka's jars are, a classpath of some of them, and
 * whether a command is installed. Test-only (deno.json does not publish
 * testdata/); a missing tool fails those tests saying what to install.
 *
 * @module
 */

/** Kafka's libs: SLUICE_KAFKA_LIBS, else the download cache scripts/kafka.sh keeps. */
export const KAFKA_LIBS: string = Deno.env.get("SLUICE_KAFKA_LIBS") ??
  `${Deno.env.get("SLUICE_CACHE") ?? `${Deno.env.get("HOME")}/.cache/sluice`}/kafka-4.4.0/libs`;

/**
 * The classpath of one jar of {@linkcode KAFKA_LIBS} per name (`kafka-clients`
 * finds `kafka-clients-<version>.jar`), or undefined when one is missing.
 */
function kafkaClasspath(names: readonly string[]): string | undefined {
  let files: string[];
  try {
    files = [...Deno.readDirSync(KAFKA_LIBS)].map((e) => e.name);
  } catch {
    return undefined;
  }
  const jars = names.map((name) =>
    files.find((f) => f.startsWith(`${name}-`) && f.endsWith(".jar"))
  );
  if (jars.some((j) => j === undefined)) return undefined;
  return jars.map((j) => `${KAFKA_LIBS}/${j}`).join(":");
}

/** Whether `cmd args` runs and exits with 0 (e.g. `java -version`). */
export function hasCommand(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/**
 * The classpath of the named jars of Kafka's libs, once it is certain that
 * they and `java` are there; otherwise throws saying what to install (a test
 * that needs them fails, it never skips).
 */
export function requireJava(names: readonly string[]): string {
  const classpath = kafkaClasspath(names);
  if (classpath === undefined || !hasCommand("java", ["-version"])) {
    throw new Error(
      `Kafka's jars (${names.join(", ")} in ${KAFKA_LIBS}) or java are missing: run ` +
        "`bash scripts/kafka.sh fetch` (or set SLUICE_KAFKA_LIBS) and install a JDK",
    );
  }
  return classpath;
}

/**
 * Runs the Java program `source` (class `className`, one source file, no
 * separate compile) on `classpath` with `input` on its standard input, and
 * returns its standard output; throws with its standard error when it fails.
 */
export async function runJavaSource(
  classpath: string,
  className: string,
  source: string,
  input: string,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `sluice-${className}-` });
  try {
    await Deno.writeTextFile(`${dir}/${className}.java`, source);
    const child = new Deno.Command("java", {
      args: ["-cp", classpath, `${dir}/${className}.java`],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
    const { success, stdout, stderr } = await child.output();
    if (!success) throw new Error(`java ${className} failed: ${new TextDecoder().decode(stderr)}`);
    return new TextDecoder().decode(stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
