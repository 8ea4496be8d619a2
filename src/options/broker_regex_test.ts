// toBrokerRegex(): a table of translations, the refusals, and two agreement
// checks over seeded random patterns and topic names: the translation run as
// a JavaScript full match (where it is also valid JavaScript), and run through
// Kafka's own RE2J (com.google.re2j from Kafka's libs: SLUICE_KAFKA_LIBS or
// the download cache) with `Pattern.compile(p).matcher(topic).matches()`, as
// the group coordinator's TopicRegexResolver does. A missing java or re2j jar
// fails the RE2J test saying what to install.
import assert from "node:assert/strict";
import { ConfigError } from "./issues.ts";
import { Rng } from "../util/random.ts";
import { toBrokerRegex } from "./broker_regex.ts";
import { requireJava, runJavaSource } from "../testdata/java.ts";

/** A RegExp with ES2025 modifiers ((?i:…)), which the linter does not know yet. */
function modifiers(source: string, flags = ""): RegExp {
  return new RegExp(source, flags);
}

const TABLE: [RegExp, string][] = [
  [/orders/, ".*orders.*"],
  [/^orders-.*$/, "orders-.*"],
  [/^orders/, "orders.*"],
  [/\.v1$/, ".*\\.v1"],
  [/^a|b$/, "a.*|.*b"],
  [/^(a|b)$/, "(a|b)"],
  [/(^a|b)c/, ".*(^a|b)c.*"],
  [/a^b/, ".*a^b.*"],
  [/^$/, "(?:)"],
  [/^/, ".*"],
  [/$/, ".*"],
  [new RegExp(""), ".*(?:).*"],
  [/ORDERS/i, "(?i).*ORDERS.*"],
  [/^a|b$/i, "(?i)a.*|.*b"],
  [/orders/g, ".*orders.*"],
  [/orders/y, ".*orders.*"],
  [/orders/ms, ".*orders.*"],
  [/orders/d, ".*orders.*"],
  [/[a-z0-9._-]+/, ".*[a-z0-9\\._\\-]+.*"],
  [/[^a]/, ".*[^a].*"],
  [/[\d-z]/, ".*[\\d\\-z].*"],
  [/[\b]/, ".*[\\x08].*"],
  [new RegExp("[]"), ".*[^\\x00-\\x{10FFFF}].*"],
  [/[^]/, ".*[\\x00-\\x{10FFFF}].*"],
  [/\d+\w*\W?\s\S\D/, ".*\\d+\\w*\\W?\\s\\S\\D.*"],
  [/\bab\B/, ".*\\bab\\B.*"],
  [/(?<name>x)\.y/, ".*(x)\\.y.*"],
  [/(?:x|y)z/, ".*(?:x|y)z.*"],
  [modifiers("(?i:ab)c"), ".*(?i:ab)c.*"],
  [modifiers("(?-i:ab)c", "i"), "(?i).*(?-i:ab)c.*"],
  [modifiers("(?m:a)"), ".*(?:a).*"],
  [/a{2,3}?b{4}c{1,}/, ".*a{2,3}?b{4}c{1,}.*"],
  [/a{/, ".*a\\{.*"],
  [/a{1,x}/, ".*a\\{1,x\\}.*"],
  [/a]}/, ".*a\\]\\}.*"],
  [/\a\/\-/, ".*a/-.*"],
  [/\u0041\x42\cA\0/, ".*AB\\x01\\x00.*"],
  [/\u{1F600}/u, ".*\\x{1F600}.*"],
  [/\uD83D\uDE00/u, ".*\\x{1F600}.*"],
  [/é/, ".*\\xE9.*"],
  [/ſ/iu, "(?i).*\\x{17F}.*"],
  [/\c/, ".*\\\\c.*"],
];

Deno.test("toBrokerRegex() translates each construct as the table says", () => {
  for (const [re, expected] of TABLE) {
    assert.equal(toBrokerRegex(re), expected, String(re));
  }
});

const REFUSED: [RegExp, RegExp][] = [
  [/a(?=b)/, /lookahead/],
  [/a(?!b)/, /lookahead/],
  [/(?<=a)b/, /lookbehind/],
  [/(?<!a)b/, /lookbehind/],
  [/(a)\1/, /backreferences \(\\1\)/],
  [/(?<n>a)\k<n>/, /backreferences \(\\k<name>\)/],
  [new RegExp("\\01"), /backreferences|octal/],
  [/\p{L}/u, /Unicode property escapes/],
  [/\P{L}/u, /Unicode property escapes/],
  [new RegExp("a", "v"), /the v flag/],
  [/a{1001}/, /repeat counts above 1000/],
  [/a{1,2000}/, /repeat counts above 1000/],
  [/😀/, /outside the Basic Multilingual Plane/],
  [/ſ/i, /with the i flag but without u/],
  [/\u212A/i, /with the i flag but without u/],
  [/[a-ſ]/i, /with the i flag but without u/],
  [/[^\u212A]/i, /with the i flag but without u/],
  [modifiers("(?i:ſ)"), /with the i flag but without u/],
];

Deno.test("toBrokerRegex() refuses what RE2J lacks or reads differently, naming it", () => {
  for (const [re, reason] of REFUSED) {
    assert.throws(() => toBrokerRegex(re), (e: unknown) => {
      assert.ok(e instanceof ConfigError, `${re}: ${e}`);
      assert.equal(e.field, "topics");
      assert.match(e.message, reason, String(re));
      assert.match(e.message, /groupProtocol "classic"/);
      return true;
    }, String(re));
  }
  // Outside an `i` scope the same characters are fine.
  assert.equal(toBrokerRegex(/ſ/), ".*\\x{17F}.*");
  assert.equal(toBrokerRegex(modifiers("(?-i:ſ)", "i")), "(?i).*(?-i:\\x{17F}).*");
});

// ---------------------------------------------------------------------------
// Random patterns and topic names
// ---------------------------------------------------------------------------

const LITERALS = ["a", "b", "A", "c", "0", "1", "-", "_", "\\.", "\\-", "x", "\\a", "\\/"];
const CLASSES = [
  "[ab]",
  "[^a]",
  "[a-c]",
  "[A-Z]",
  "[0-9._-]",
  "[^-]",
  "[\\d]",
  "[\\w.]",
  "[^\\W]",
  "[]",
  "[^]",
  "[\\s]",
  "[\\S]",
  "[\\d-b]",
  "[B-a]",
  "[\\b]",
  "[.]",
];
const ESCAPES = ["\\d", "\\w", "\\W", "\\D", "\\s", "\\S", "\\x61", "\\u0042", "\\x2e"];
const ASSERTIONS = ["^", "$", "\\b", "\\B"];
const QUANTIFIERS = ["", "", "", "*", "+", "?", "{2}", "{1,2}", "{0,}", "*?", "+?", "??", "{1,3}?"];
const FLAGS = ["", "", "i", "u", "iu", "m", "s", "g"];

/** A random JavaScript pattern over the constructs toBrokerRegex() translates. */
function randomPattern(rng: Rng): RegExp {
  let groups = 0;
  const disjunction = (depth: number): string => {
    const alternatives: string[] = [];
    const n = rng.chance(0.7) ? 1 : rng.range(2, 3);
    for (let i = 0; i < n; i++) alternatives.push(alternative(depth));
    return alternatives.join("|");
  };
  const alternative = (depth: number): string => {
    let s = "";
    const terms = rng.range(0, 4);
    for (let i = 0; i < terms; i++) s += term(depth);
    return s;
  };
  const term = (depth: number): string => {
    const r = rng.next();
    if (r < 0.15) return rng.pick(ASSERTIONS);
    let atom: string;
    if (r < 0.5) atom = rng.pick(LITERALS);
    else if (r < 0.6) atom = ".";
    else if (r < 0.72) atom = rng.pick(CLASSES);
    else if (r < 0.82) atom = rng.pick(ESCAPES);
    else if (depth < 2) {
      const open = rng.pick(["(", "(?:", `(?<g${groups++}>`, "(?i:", "(?-i:"]);
      atom = `${open}${disjunction(depth + 1)})`;
    } else atom = "a";
    return atom + rng.pick(QUANTIFIERS);
  };
  // Some draws are not valid JavaScript (e.g. "\\a" or "[\\d-b]" with u): draw again.
  for (;;) {
    groups = 0;
    try {
      return new RegExp(disjunction(0), rng.pick(FLAGS));
    } catch {
      continue;
    }
  }
}

const TOPIC_CHARS = "aabbcAB01x._-";

function randomTopics(rng: Rng, n: number): string[] {
  const topics = new Set([
    "a",
    "b",
    "A",
    "ab",
    "ba",
    "aa",
    "a.b",
    "a-b",
    "a_b",
    "-",
    ".",
    "_",
    "x",
  ]);
  while (topics.size < n) {
    let t = "";
    const len = rng.range(1, 8);
    for (let i = 0; i < len; i++) t += rng.pick([...TOPIC_CHARS]);
    topics.add(t);
  }
  return [...topics];
}

/** The patterns of both agreement checks: the table's, the refusals' none, and random ones. */
function corpus(seed: number, n: number): RegExp[] {
  const rng = new Rng(seed);
  const patterns = TABLE.map(([re]) => re);
  while (patterns.length < n) patterns.push(randomPattern(rng));
  return patterns;
}

/** JavaScript's `test()`, without the stateful flags (config.ts drops them too). */
function jsTest(re: RegExp, topic: string): boolean {
  return new RegExp(re.source, re.flags.replace(/[gy]/g, "")).test(topic);
}

Deno.test("toBrokerRegex() output, run as a JavaScript full match, agrees with test() on topic names", () => {
  const patterns = corpus(0x848b, 600);
  const topics = randomTopics(new Rng(7), 200);
  let compared = 0;
  for (const re of patterns) {
    let translated: string;
    try {
      translated = toBrokerRegex(re);
    } catch (e) {
      assert.ok(e instanceof ConfigError, `${re}: ${e}`);
      continue;
    }
    // Valid JavaScript only without RE2J's own spellings.
    if (translated.includes("\\x{")) continue;
    let flags = re.unicode ? "u" : "";
    let body = translated;
    if (body.startsWith("(?i)")) {
      body = body.slice(4);
      flags += "i";
    }
    const full = new RegExp(`^(?:${body})$`, flags);
    for (const topic of topics) {
      assert.equal(
        full.test(topic),
        jsTest(re, topic),
        `${re} -> ${translated} on topic "${topic}"`,
      );
    }
    compared++;
  }
  assert.ok(compared > 500, `only ${compared} patterns compared`);
});

// ---------------------------------------------------------------------------
// Against RE2J itself
// ---------------------------------------------------------------------------

/**
 * Reads the topic count, the topics, then one pattern per line; answers per
 * pattern a line of 0/1 per topic (`Pattern.compile(p).matcher(t).matches()`,
 * as Kafka's TopicRegexResolver), or `E <message>` when it does not compile.
 */
const RE2J_MATCH_JAVA = `
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

public class Re2jMatch {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");
    int n = Integer.parseInt(in.readLine());
    List<String> topics = new ArrayList<>();
    for (int i = 0; i < n; i++) topics.add(in.readLine());
    String line;
    while ((line = in.readLine()) != null) {
      try {
        Pattern p = Pattern.compile(line);
        StringBuilder sb = new StringBuilder();
        for (String t : topics) sb.append(p.matcher(t).matches() ? '1' : '0');
        out.println(sb);
      } catch (PatternSyntaxException e) {
        out.println("E " + e.getMessage().replace('\\n', ' '));
      }
    }
    out.flush();
  }
}
`;

Deno.test("toBrokerRegex() output, run by Kafka's RE2J as the coordinator runs it, agrees with test()", async () => {
  const classpath = requireJava(["re2j"]);
  const patterns: RegExp[] = [];
  const translated: string[] = [];
  for (const re of corpus(0x2e2, 400)) {
    try {
      translated.push(toBrokerRegex(re));
      patterns.push(re);
    } catch (e) {
      assert.ok(e instanceof ConfigError, `${re}: ${e}`);
    }
  }
  const topics = randomTopics(new Rng(11), 300);
  const input = [String(topics.length), ...topics, ...translated].join("\n") + "\n";
  const output = await runJavaSource(classpath, "Re2jMatch", RE2J_MATCH_JAVA, input);
  const lines = output.trimEnd().split("\n");
  assert.equal(lines.length, patterns.length);
  const disagreements: string[] = [];
  lines.forEach((line, i) => {
    const re = patterns[i];
    if (line.startsWith("E ")) {
      disagreements.push(`${re} -> ${translated[i]}: RE2J refused it: ${line.slice(2)}`);
      return;
    }
    topics.forEach((topic, j) => {
      const js = jsTest(re, topic);
      if ((line[j] === "1") !== js) {
        disagreements.push(
          `${re} -> ${translated[i]} on "${topic}": JavaScript ${js}, RE2J ${!js}`,
        );
      }
    });
  });
  assert.deepEqual(disagreements.slice(0, 20), [], `${disagreements.length} disagreements`);
  assert.ok(patterns.length > 350, `only ${patterns.length} patterns translated`);
});
