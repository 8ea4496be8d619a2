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
export function kafkaClasspath(names: readonly string[]): string | undefined {
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
