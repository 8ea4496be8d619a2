/**
 * A JavaScript RegExp subscription as the broker's `subscribedTopicRegex`
 * (KIP-848). The group coordinator compiles the string with RE2J
 * (`com.google.re2j.Pattern.compile`, no flags) and keeps the topics for
 * which `pattern.matcher(topic).matches()` — a match of the whole name —
 * while `RegExp.prototype.test` searches anywhere in the name. So each
 * top-level alternative is wrapped in `.*` on the sides where it is not
 * anchored: `/orders/` → `.*orders.*`, `/^orders-.*$/` → `orders-.*`,
 * `/^a|b$/` → `a.*|.*b`. Anchors elsewhere stay assertions (RE2J's `^` and
 * `$` mean start and end of text, as JavaScript's without `m`).
 *
 * "Same meaning" is judged on what can be a topic name: 1 to 249 characters
 * of `[a-zA-Z0-9._-]`. That is why the `m` and `s` flags (no name holds a
 * line terminator) and the differences in `\s` and `.` do not matter.
 * What RE2J lacks, or reads differently, is refused with a
 * {@linkcode ConfigError} naming the feature: lookahead and lookbehind,
 * backreferences (`\1`, `\k<name>`), Unicode property escapes (`\p{…}`),
 * the `v` flag, repeat counts over 1000, characters outside the BMP without
 * the `u` flag, and (with `i` but without `u`) the two characters RE2J
 * folds onto ASCII letters and JavaScript does not (`ſ` U+017F, `K` U+212A).
 * `g` and `y` are dropped (they only make `test()` stateful), `d` is
 * harmless, `i` becomes a leading `(?i)`. Named groups become plain groups:
 * names do not change what matches, and RE2J's name rules are narrower.
 *
 * @module
 */

import { ConfigError } from "./issues.ts";

/** The option a refusal names. */
const FIELD = "topics";

/** RE2J's largest repeat count (`{n,m}`). */
const MAX_REPEAT = 1000;

/** Code points RE2J's `(?i)` folds onto ASCII letters, which JavaScript's `i` without `u` does not. */
const FOLDS_ONTO_ASCII = [0x17f, 0x212a];

/** Characters RE2J reads as syntax outside a class: escaped when meant literally. */
const SPECIAL = new Set("\\.+*?()|[]{}^$");

/** One translated piece of an alternative; anchors are kept apart so the edges can drop them. */
interface Piece {
  text: string;
  kind: "start" | "end" | "other";
}

/**
 * The RE2J pattern that full-matches exactly the topic names `re.test()`
 * accepts.
 *
 * @param re The subscription as the user gave it.
 * @returns The string to send as `subscribedTopicRegex`.
 * @throws {ConfigError} (field `topics`) naming the feature RE2J lacks or reads differently.
 *
 * @example
 * ```ts
 * import { toBrokerRegex } from "./broker_regex.ts";
 * toBrokerRegex(/^orders-.*$/); // "orders-.*"
 * toBrokerRegex(/orders/); // ".*orders.*"
 * toBrokerRegex(/^a|b$/i); // "(?i)a.*|.*b"
 * ```
 */
export function toBrokerRegex(re: RegExp): string {
  for (const flag of re.flags) {
    if (flag === "v") {
      refuse(
        re,
        "the v flag (class set operations) has no RE2J equivalent; drop it (or use u)",
      );
    }
  }
  const t = new Translator(re);
  const alternatives = t.disjunction();
  if (t.pos < t.src.length) refuse(re, `unexpected "${t.src[t.pos]}" at ${t.pos}`);
  const body = alternatives.map((pieces) => {
    let start = false;
    let end = false;
    if (pieces.length > 0 && pieces[0].kind === "start") {
      pieces = pieces.slice(1);
      start = true;
    }
    if (pieces.length > 0 && pieces[pieces.length - 1].kind === "end") {
      pieces = pieces.slice(0, -1);
      end = true;
    }
    return (start ? "" : ".*") + pieces.map((p) => p.text).join("") + (end ? "" : ".*");
  }).join("|");
  // An empty string would read as "no regex"; this one full-matches only "" (no topic).
  return (re.ignoreCase ? "(?i)" : "") + (body === "" ? "(?:)" : body);
}

function refuse(re: RegExp, reason: string): never {
  throw new ConfigError([{
    field: FIELD,
    reason: `${re} cannot be sent to the broker under groupProtocol "consumer" (it matches ` +
      `topics with RE2J): ${reason}. Rewrite the RegExp, list the topics, or use groupProtocol ` +
      `"classic" (the consumer matches the RegExp itself there)`,
  }]);
}

/** A recursive descent over the RegExp's source that writes RE2J as it goes. */
class Translator {
  readonly src: string;
  pos = 0;
  readonly #re: RegExp;
  readonly #unicode: boolean;
  /** `i` in force here (flags, then `(?i:…)` / `(?-i:…)` groups). */
  #ignoreCase: boolean[];

  constructor(re: RegExp) {
    this.#re = re;
    this.src = re.source;
    this.#unicode = re.unicode;
    this.#ignoreCase = [re.ignoreCase];
  }

  /** Alternatives up to the end or an unmatched `)`. */
  disjunction(): Piece[][] {
    const alternatives: Piece[][] = [this.#alternative()];
    while (this.src[this.pos] === "|") {
      this.pos++;
      alternatives.push(this.#alternative());
    }
    return alternatives;
  }

  #alternative(): Piece[] {
    const pieces: Piece[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== "|" && this.src[this.pos] !== ")") {
      pieces.push(this.#term());
    }
    return pieces;
  }

  #refuse(reason: string): never {
    refuse(this.#re, reason);
  }

  #term(): Piece {
    const c = this.src[this.pos];
    if (c === "^") {
      this.pos++;
      return { text: "^", kind: "start" };
    }
    if (c === "$") {
      this.pos++;
      return { text: "$", kind: "end" };
    }
    let atom: string;
    if (c === "(") atom = this.#group();
    else if (c === "[") atom = this.#class();
    else if (c === ".") {
      this.pos++;
      atom = ".";
    } else if (c === "\\") {
      const escaped = this.#atomEscape();
      if (escaped === "\\b" || escaped === "\\B") return { text: escaped, kind: "other" };
      atom = escaped;
    } else if (c === "{" && this.#quantifierAt(this.pos) === null) {
      this.pos++;
      atom = "\\{";
    } else {
      atom = this.#literal(this.#codePoint());
    }
    return { text: atom + this.#quantifier(), kind: "other" };
  }

  /** A quantifier at `i`: its RE2J text and length, or null. */
  #quantifierAt(i: number): { text: string; length: number } | null {
    const c = this.src[i];
    if (c === "*" || c === "+" || c === "?") return { text: c, length: 1 };
    if (c !== "{") return null;
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(i));
    if (m === null) return null;
    const counts = [m[1], m[3]].filter((n) => n !== undefined && n !== "").map(Number);
    if (counts.some((n) => n > MAX_REPEAT)) {
      this.#refuse(`repeat counts above ${MAX_REPEAT} (${m[0]}) are not supported by RE2J`);
    }
    return { text: m[0], length: m[0].length };
  }

  #quantifier(): string {
    const q = this.#quantifierAt(this.pos);
    if (q === null) return "";
    this.pos += q.length;
    if (this.src[this.pos] === "?") {
      this.pos++;
      return q.text + "?";
    }
    return q.text;
  }

  #group(): string {
    const rest = this.src.slice(this.pos);
    let open: string;
    let ignoreCase = this.#ignoreCase[this.#ignoreCase.length - 1];
    if (rest.startsWith("(?=") || rest.startsWith("(?!")) {
      this.#refuse("lookahead ((?=…), (?!…)) is not supported by RE2J");
    } else if (rest.startsWith("(?<=") || rest.startsWith("(?<!")) {
      this.#refuse("lookbehind ((?<=…), (?<!…)) is not supported by RE2J");
    } else if (rest.startsWith("(?:")) {
      open = "(?:";
      this.pos += 3;
    } else if (rest.startsWith("(?<")) {
      // A named group: the name does not change what matches.
      const close = rest.indexOf(">");
      open = "(";
      this.pos += close + 1;
    } else if (rest.startsWith("(?")) {
      // Modifiers (?ims-ims:…): m and s cannot matter for topic names.
      const m = /^\(\?([ims]*)(?:-([ims]*))?:/.exec(rest);
      if (m === null) this.#refuse(`the group syntax at ${this.pos} is not supported`);
      const on = m[1].includes("i");
      const off = (m[2] ?? "").includes("i");
      open = on ? "(?i:" : off ? "(?-i:" : "(?:";
      ignoreCase = on ? true : off ? false : ignoreCase;
      this.pos += m[0].length;
    } else {
      open = "(";
      this.pos += 1;
    }
    this.#ignoreCase.push(ignoreCase);
    const inner = this.disjunction().map((pieces) => pieces.map((p) => p.text).join("")).join("|");
    this.#ignoreCase.pop();
    if (this.src[this.pos] !== ")") this.#refuse(`unclosed group at ${this.pos}`);
    this.pos++;
    return open + inner + ")";
  }

  /** The next source character (a whole code point with `u`; a code unit without). */
  #codePoint(): number {
    const cp = this.#unicode ? this.src.codePointAt(this.pos)! : this.src.charCodeAt(this.pos);
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  #checkCodePoint(cp: number): void {
    if (cp >= 0xd800 && cp <= 0xdfff) {
      this.#refuse(
        "characters outside the Basic Multilingual Plane (or lone surrogates) need the u flag: " +
          "without it JavaScript matches UTF-16 halves, RE2J whole characters",
      );
    }
    if (this.#foldsDiffer(cp, cp)) {
      this.#refuse(
        `with the i flag but without u, ${hex(cp)} matches no ASCII letter in JavaScript but ` +
          "one in RE2J; add the u flag or remove the character",
      );
    }
  }

  /** Whether [lo, hi] holds a character RE2J's `(?i)` folds onto ASCII and JavaScript's `i` does not. */
  #foldsDiffer(lo: number, hi: number): boolean {
    const ignoreCase = this.#ignoreCase[this.#ignoreCase.length - 1];
    return ignoreCase && !this.#unicode && FOLDS_ONTO_ASCII.some((cp) => cp >= lo && cp <= hi);
  }

  #literal(cp: number): string {
    this.#checkCodePoint(cp);
    const ch = String.fromCodePoint(cp);
    if (SPECIAL.has(ch)) return "\\" + ch;
    if (cp > 0x20 && cp < 0x7f) return ch;
    return hex(cp);
  }

  /** `\…` outside a class: an RE2J escape or a literal. */
  #atomEscape(): string {
    const e = this.#escape(false);
    if (typeof e === "string") return e;
    return this.#literal(e);
  }

  /**
   * Reads `\…` at pos: a class escape or assertion as RE2J text (`\d`, `\b`),
   * or the code point it stands for.
   */
  #escape(inClass: boolean): string | number {
    this.pos++; // the backslash
    if (this.pos >= this.src.length) this.#refuse("a trailing backslash");
    const c = this.src[this.pos];
    const rest = this.src.slice(this.pos);
    if ("dDwWsS".includes(c)) {
      this.pos++;
      return "\\" + c;
    }
    if (c === "b" || c === "B") {
      this.pos++;
      if (inClass && c === "b") return 0x08;
      if (inClass) this.#refuse("\\B inside a character class");
      return "\\" + c;
    }
    if (/^[1-9]/.test(rest) || /^0\d/.test(rest)) {
      if (inClass && !this.#unicode) {
        this.#refuse(`the legacy octal escape \\${c} is not supported; write \\xHH`);
      }
      this.#refuse(
        `backreferences (\\${/^\d+/.exec(rest)![0]}) are not supported by RE2J ` +
          "(legacy octal escapes neither)",
      );
    }
    if (c === "k") {
      this.#refuse("backreferences (\\k<name>) are not supported by RE2J");
    }
    if ((c === "p" || c === "P") && this.#unicode) {
      this.#refuse(
        `Unicode property escapes (\\${c}{…}) are not translated: topic names are ASCII, ` +
          "use a character class",
      );
    }
    this.pos++;
    switch (c) {
      case "0":
        return 0;
      case "f":
        return 0x0c;
      case "n":
        return 0x0a;
      case "r":
        return 0x0d;
      case "t":
        return 0x09;
      case "v":
        return 0x0b;
      case "c": {
        const letter = this.src[this.pos];
        if (letter !== undefined && /[A-Za-z]/.test(letter)) {
          this.pos++;
          return letter.charCodeAt(0) % 32;
        }
        // Annex B: "\c" not followed by a letter is a backslash and a "c".
        this.pos--;
        return 0x5c;
      }
      case "x": {
        const m = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.pos));
        if (m === null) return 0x78; // Annex B: a lone "\x" is "x"
        this.pos += 2;
        return parseInt(m[0], 16);
      }
      case "u": {
        const braces = this.#unicode ? /^\{([0-9a-fA-F]+)\}/.exec(this.src.slice(this.pos)) : null;
        if (braces !== null) {
          this.pos += braces[0].length;
          return parseInt(braces[1], 16);
        }
        const m = /^[0-9a-fA-F]{4}/.exec(this.src.slice(this.pos));
        if (m === null) return 0x75; // Annex B: a lone "\u" is "u"
        this.pos += 4;
        const unit = parseInt(m[0], 16);
        const low = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(this.src.slice(this.pos));
        if (this.#unicode && unit >= 0xd800 && unit <= 0xdbff && low !== null) {
          this.pos += 6;
          return 0x10000 + ((unit - 0xd800) << 10) + (parseInt(low[1], 16) - 0xdc00);
        }
        return unit;
      }
      default: {
        // An identity escape: the character itself ("\." is a dot, "\a" an "a"
        // in JavaScript without u, where RE2J would read a bell).
        this.pos--;
        return this.#codePoint();
      }
    }
  }

  #class(): string {
    this.pos++; // [
    let negated = false;
    if (this.src[this.pos] === "^") {
      negated = true;
      this.pos++;
    }
    const members: string[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== "]") {
      const lo = this.#classAtom();
      if (
        this.src[this.pos] === "-" && this.pos + 1 < this.src.length &&
        this.src[this.pos + 1] !== "]"
      ) {
        this.pos++;
        const hi = this.#classAtom();
        if (typeof lo === "string" || typeof hi === "string") {
          // Annex B: a class escape at either end makes "-" a literal.
          members.push(classText(lo), "\\-", classText(hi));
        } else {
          for (const cp of [lo, hi]) this.#checkSurrogate(cp);
          if (this.#foldsDiffer(lo, hi)) {
            this.#refuse(
              `with the i flag but without u, the range ${hex(lo)}-${hex(hi)} matches ASCII ` +
                "letters in RE2J (through U+017F or U+212A) that it does not in JavaScript; " +
                "add the u flag",
            );
          }
          members.push(`${classText(lo)}-${classText(hi)}`);
        }
      } else {
        if (typeof lo === "number") this.#checkCodePoint(lo);
        members.push(classText(lo));
      }
    }
    if (this.src[this.pos] !== "]") this.#refuse("an unclosed character class");
    this.pos++;
    // JavaScript's [] matches nothing and [^] anything; RE2J reads "[]" and "[^]" differently.
    if (members.length === 0) return negated ? "[\\x00-\\x{10FFFF}]" : "[^\\x00-\\x{10FFFF}]";
    return (negated ? "[^" : "[") + members.join("") + "]";
  }

  #checkSurrogate(cp: number): void {
    if (cp >= 0xd800 && cp <= 0xdfff) {
      this.#refuse(
        "characters outside the Basic Multilingual Plane (or lone surrogates) need the u flag",
      );
    }
  }

  /** One class member: a class escape as RE2J text (`\d`), or a code point. */
  #classAtom(): string | number {
    if (this.src[this.pos] === "\\") return this.#escape(true);
    return this.#codePoint();
  }
}

/** A class member in RE2J: letters and digits as they are, ASCII punctuation escaped, the rest by code. */
function classText(m: string | number): string {
  if (typeof m === "string") return m;
  const ch = String.fromCodePoint(m);
  if (/[A-Za-z0-9_]/.test(ch)) return ch;
  return /[!-\/:-@[-`{-~]/.test(ch) ? "\\" + ch : hex(m);
}

/** `\xHH` (also JavaScript) below 0x100, `\x{H…}` (RE2J only) above. */
function hex(cp: number): string {
  const h = cp.toString(16).toUpperCase();
  return cp < 0x100 ? `\\x${h.padStart(2, "0")}` : `\\x{${h}}`;
}
