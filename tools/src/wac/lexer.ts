import { SourceError, type Source, type Span } from "./diagnostics.ts";

/**
 * Keywords shared by WAC and WIT. Words WIT adds (`own`, `stream`, `future`, `async`,
 * `error-context`) are NOT reserved here: WAC documents use them as names (`let stream = ...`),
 * so the parser treats them contextually in WIT type positions.
 */
export const KEYWORDS = new Set([
  "import", "with", "type", "tuple", "list", "option", "result", "borrow", "resource", "variant",
  "record", "flags", "enum", "func", "static", "constructor", "u8", "s8", "u16", "s16", "u32",
  "s32", "u64", "s64", "f32", "f64", "char", "bool", "string", "interface", "world", "export",
  "new", "let", "use", "include", "as", "package", "targets",
]);

export type Punct =
  | "{" | "}" | "(" | ")" | "[" | "]" | "<" | ">" | "," | ";" | ":" | "." | "=" | "->" | "@"
  | "/" | "..." | "_" | "*";

export type Token =
  | { kind: "id"; value: string; explicit: boolean; span: Span }
  | { kind: "kw"; value: string; span: Span }
  | { kind: "string"; value: string; span: Span }
  | { kind: "int"; value: string; span: Span }
  | { kind: "punct"; value: Punct; span: Span }
  | { kind: "eof"; span: Span };

export function describeToken(t: Token): string {
  switch (t.kind) {
    case "id":
      return "identifier";
    case "kw":
      return `\`${t.value}\` keyword`;
    case "string":
      return "string";
    case "int":
      return "integer";
    case "punct":
      return `\`${t.value}\``;
    case "eof":
      return "end of input";
  }
}

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?/;

function isIdStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}
function isIdChar(c: number): boolean {
  return isIdStart(c) || (c >= 48 && c <= 57);
}

/** Checks the component-model label grammar: words or ACRONYMS joined by single dashes. */
export function isValidLabel(name: string): boolean {
  return /^([a-z][a-z0-9]*|[A-Z][A-Z0-9]*)(-([a-z][a-z0-9]*|[A-Z][A-Z0-9]*))*$/.test(name);
}

/**
 * An on-demand scanner: the parser pulls tokens and may ask for a raw semantic version
 * after `@`, because `1.2.3` is not a sequence of ordinary tokens.
 */
export class Lexer {
  private pos = 0;
  private peeked: Token | undefined;
  private code: string;

  constructor(
    readonly source: Source,
    private readonly errorCode: string,
  ) {
    this.code = source.text;
  }

  fail(span: Span, message: string): never {
    throw new SourceError(this.errorCode, this.source, span, message);
  }

  /** Offset right after the last consumed token (for "expected `;`" at end of a line). */
  get offset(): number {
    return this.pos;
  }

  peek(): Token {
    if (this.peeked === undefined) this.peeked = this.scan();
    return this.peeked;
  }

  next(): Token {
    const t = this.peek();
    this.peeked = undefined;
    return t;
  }

  /** Scans a semantic version starting at the current raw position (just after `@`). */
  version(): { value: string; span: Span } {
    if (this.peeked !== undefined) {
      // A peeked token started at or after pos; rewind to its start (versions contain no whitespace).
      this.pos = this.peeked.span.start;
      this.peeked = undefined;
    }
    this.skipTrivia();
    const start = this.pos;
    const m = SEMVER.exec(this.code.slice(start, start + 256));
    if (m === null) {
      let end = start;
      while (end < this.code.length && /[0-9A-Za-z.+-]/.test(this.code[end]!)) end++;
      while (end > start && this.code[end - 1] === ".") end--;
      this.fail({ start, end: Math.max(end, start + 1) }, "invalid semantic version: expected MAJOR.MINOR.PATCH");
    }
    this.pos = start + m[0].length;
    return { value: m[0], span: { start, end: this.pos } };
  }

  private skipTrivia(): void {
    const s = this.code;
    for (;;) {
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) {
        this.pos++;
        continue;
      }
      if (c === 47 && s.charCodeAt(this.pos + 1) === 47) {
        const nl = s.indexOf("\n", this.pos);
        this.pos = nl < 0 ? s.length : nl + 1;
        continue;
      }
      if (c === 47 && s.charCodeAt(this.pos + 1) === 42) {
        const start = this.pos;
        let depth = 1;
        this.pos += 2;
        while (depth > 0) {
          if (this.pos >= s.length) this.fail({ start, end: start + 2 }, "unterminated block comment");
          if (s.charCodeAt(this.pos) === 47 && s.charCodeAt(this.pos + 1) === 42) {
            depth++;
            this.pos += 2;
          } else if (s.charCodeAt(this.pos) === 42 && s.charCodeAt(this.pos + 1) === 47) {
            depth--;
            this.pos += 2;
          } else this.pos++;
        }
        continue;
      }
      return;
    }
  }

  private scan(): Token {
    this.skipTrivia();
    const s = this.code;
    const start = this.pos;
    if (start >= s.length) return { kind: "eof", span: { start, end: start } };
    const c = s.charCodeAt(start);
    if (c === 37 /* % */ || isIdStart(c)) {
      const explicit = c === 37;
      let p = explicit ? start + 1 : start;
      if (!isIdStart(s.charCodeAt(p))) this.fail({ start, end: start + 1 }, "expected an identifier after `%`");
      while (p < s.length) {
        const d = s.charCodeAt(p);
        if (isIdChar(d)) p++;
        else if (d === 45 /* - */ && isIdChar(s.charCodeAt(p + 1))) p++;
        else break;
      }
      this.pos = p;
      const value = s.slice(explicit ? start + 1 : start, p);
      const span = { start, end: p };
      if (!isValidLabel(value)) this.fail(span, `invalid identifier \`${value}\``);
      if (!explicit && KEYWORDS.has(value)) return { kind: "kw", value, span };
      return { kind: "id", value, explicit, span };
    }
    if (c >= 48 && c <= 57) {
      let p = start;
      while (p < s.length && s.charCodeAt(p) >= 48 && s.charCodeAt(p) <= 57) p++;
      this.pos = p;
      return { kind: "int", value: s.slice(start, p), span: { start, end: p } };
    }
    if (c === 34 /* " */) {
      let p = start + 1;
      while (p < s.length && s.charCodeAt(p) !== 34 && s.charCodeAt(p) !== 10) p++;
      if (p >= s.length || s.charCodeAt(p) !== 34) this.fail({ start, end: p }, "unterminated string");
      this.pos = p + 1;
      return { kind: "string", value: s.slice(start + 1, p), span: { start, end: p + 1 } };
    }
    const two = s.slice(start, start + 2);
    if (two === "->") {
      this.pos += 2;
      return { kind: "punct", value: "->", span: { start, end: start + 2 } };
    }
    if (s.startsWith("...", start)) {
      this.pos += 3;
      return { kind: "punct", value: "...", span: { start, end: start + 3 } };
    }
    const ch = s[start]!;
    if ("{}()[]<>,;:.=@/_*".includes(ch)) {
      this.pos++;
      return { kind: "punct", value: ch as Punct, span: { start, end: start + 1 } };
    }
    const cp = s.codePointAt(start) ?? 0;
    this.fail({ start, end: start + (cp > 0xffff ? 2 : 1) }, `unexpected character \`${String.fromCodePoint(cp)}\``);
  }
}
