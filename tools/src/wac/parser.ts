import type {
  Document, Expr, ExportOptions, FuncResults, FuncType, FuncTypeRef, Gate, Ident, ImportType,
  InlineInterface, InstantiationArg, InterfaceDecl, InterfaceItem, NamedType, PackageDecl,
  PackageName, PackagePath, PostfixExpr, PrimaryExpr, PrimitiveName, ResourceItem, Statement,
  StringLit, TypeDecl, TypeNode, UseDecl, UseItem, UsePath, WitFile, WitItem, WorldDecl, WorldItem,
  WorldItemPath, WorldRef,
} from "./ast.ts";
import type { Source, Span } from "./diagnostics.ts";
import { describeToken, Lexer, type Punct, type Token } from "./lexer.ts";

const PRIMITIVES = new Set<string>([
  "u8", "s8", "u16", "s16", "u32", "s32", "u64", "s64", "f32", "f64", "char", "bool", "string",
]);

type Mode = "wac" | "wit";

/** Nesting bound: deeply nested input is rejected instead of overflowing the stack. */
const MAX_DEPTH = 200;

/**
 * A recursive-descent parser for WAC documents and WIT files. The two languages share their
 * type grammar; `mode` enables the few constructs only one of them has (WAC statements,
 * WIT feature gates, `own`/`stream`/`future`, named function type references).
 */
class Parser {
  readonly lex: Lexer;
  private depth = 0;

  constructor(
    source: Source,
    readonly mode: Mode,
  ) {
    this.lex = new Lexer(source, mode === "wac" ? "WAC_SYNTAX" : "WIT_SYNTAX");
  }

  // ---------------------------------------------------------------- token helpers

  private peek(): Token {
    return this.lex.peek();
  }

  private isPunct(p: Punct, t: Token = this.peek()): boolean {
    return t.kind === "punct" && t.value === p;
  }

  private isKw(k: string, t: Token = this.peek()): boolean {
    return t.kind === "kw" && t.value === k;
  }

  private fail(expected: readonly string[], t: Token = this.peek()): never {
    let list: string;
    if (expected.length === 1) list = expected[0]!;
    else if (expected.length === 2) list = `${expected[0]} or ${expected[1]}`;
    else {
      const shown = expected.slice(0, 10);
      const more = expected.length > 10 ? ", or more..." : "";
      list = `either ${shown.slice(0, -1).join(", ")}, ${more ? shown[shown.length - 1] + more : "or " + shown[shown.length - 1]}`;
    }
    this.lex.fail(t.span, `expected ${list}, found ${describeToken(t)}`);
  }

  private punct(p: Punct): Span {
    const t = this.peek();
    if (!this.isPunct(p, t)) {
      // A missing `;` is reported at the end of the previous token, where a reader expects it.
      if (p === ";" && t.kind !== "eof") this.fail([`\`${p}\``], t);
      this.fail([`\`${p}\``], t);
    }
    return this.lex.next().span;
  }

  private eatPunct(p: Punct): Span | undefined {
    if (this.isPunct(p)) return this.lex.next().span;
    return undefined;
  }

  private kw(k: string): Span {
    if (!this.isKw(k)) this.fail([`\`${k}\` keyword`]);
    return this.lex.next().span;
  }

  private ident(): Ident {
    const t = this.peek();
    if (t.kind !== "id") this.fail(["identifier"], t);
    this.lex.next();
    return { name: t.value, span: t.span };
  }

  /** Segments after `:` or `/` in a package name or path may be keywords (`test:comp/world`). */
  private segment(): Ident {
    const t = this.peek();
    if (t.kind !== "id" && t.kind !== "kw") this.fail(["identifier"], t);
    this.lex.next();
    return { name: t.value, span: t.span };
  }

  private string(): StringLit {
    const t = this.peek();
    if (t.kind !== "string") this.fail(["string"], t);
    this.lex.next();
    return { value: t.value, span: t.span };
  }

  private enter(span: Span): void {
    if (++this.depth > MAX_DEPTH) this.lex.fail(span, "nesting is too deep");
  }

  private leave(): void {
    this.depth--;
  }

  /** A comma-separated list inside open/close; trailing comma allowed. */
  private list<T>(open: Punct, close: Punct, item: () => T): { items: T[]; close: Span } {
    this.punct(open);
    const items: T[] = [];
    for (;;) {
      const c = this.eatPunct(close);
      if (c !== undefined) return { items, close: c };
      items.push(item());
      if (this.eatPunct(",") === undefined) return { items, close: this.punct(close) };
    }
  }

  // ---------------------------------------------------------------- names and paths

  private version(): string {
    return this.lex.version().value;
  }

  packageName(): PackageName {
    const first = this.ident();
    let name = first.name;
    let end = first.span.end;
    this.punct(":");
    const second = this.segment();
    name += `:${second.name}`;
    end = second.span.end;
    while (this.isPunct(":")) {
      this.lex.next();
      const more = this.segment();
      name += `:${more.name}`;
      end = more.span.end;
    }
    let version: string | undefined;
    if (this.isPunct("@")) {
      this.lex.next();
      const v = this.lex.version();
      version = v.value;
      end = v.span.end;
    }
    return version === undefined
      ? { name, span: { start: first.span.start, end } }
      : { name, version, span: { start: first.span.start, end } };
  }

  /** After the first identifier of a path has been read and `:` is next. */
  private packagePathFrom(first: Ident): PackagePath {
    this.punct(":");
    return this.packagePathTail(first, `${first.name}:${this.segment().name}`);
  }

  packagePath(): PackagePath {
    return this.packagePathFrom(this.ident());
  }

  // ---------------------------------------------------------------- types

  type(): TypeNode {
    const t = this.peek();
    if (t.kind === "kw") {
      if (PRIMITIVES.has(t.value)) {
        this.lex.next();
        return { kind: "primitive", name: t.value as PrimitiveName, span: t.span };
      }
      switch (t.value) {
        case "tuple": {
          this.lex.next();
          this.enter(t.span);
          const { items, close } = this.list("<", ">", () => this.type());
          this.leave();
          if (items.length === 0) this.lex.fail({ start: t.span.start, end: close.end }, "tuple must contain at least one type");
          return { kind: "tuple", types: items, span: { start: t.span.start, end: close.end } };
        }
        case "list": {
          this.lex.next();
          this.enter(t.span);
          this.punct("<");
          const element = this.type();
          let length: number | undefined;
          if (this.mode === "wit" && this.eatPunct(",") !== undefined) {
            const n = this.peek();
            if (n.kind !== "int") this.fail(["integer"], n);
            this.lex.next();
            length = Number(n.value);
          }
          const close = this.punct(">");
          this.leave();
          const span = { start: t.span.start, end: close.end };
          return length === undefined ? { kind: "list", element, span } : { kind: "list", element, length, span };
        }
        case "option":
        case "borrow": {
          this.lex.next();
          this.enter(t.span);
          this.punct("<");
          const inner = this.type();
          const close = this.punct(">");
          this.leave();
          return { kind: t.value, type: inner, span: { start: t.span.start, end: close.end } };
        }
        case "result": {
          this.lex.next();
          if (!this.isPunct("<")) return { kind: "result", span: t.span };
          this.enter(t.span);
          this.lex.next();
          let ok: TypeNode | undefined;
          let err: TypeNode | undefined;
          if (this.eatPunct("_") !== undefined) {
            // `result<_>` is accepted as `result` (no ok, no error type).
            if (this.eatPunct(",") !== undefined) err = this.type();
          } else {
            ok = this.type();
            if (this.eatPunct(",") !== undefined) err = this.type();
          }
          const close = this.punct(">");
          this.leave();
          const span = { start: t.span.start, end: close.end };
          return { kind: "result", ...(ok ? { ok } : {}), ...(err ? { err } : {}), span };
        }
      }
    }
    if (t.kind === "id") {
      this.lex.next();
      if (this.mode === "wit" && !t.explicit) {
        const special = this.witSpecialType(t);
        if (special !== undefined) return special;
      }
      return { kind: "named", id: { name: t.value, span: t.span }, span: t.span };
    }
    this.fail([
      "`u8` keyword", "`s8` keyword", "`u16` keyword", "`s16` keyword", "`u32` keyword", "`s32` keyword",
      "`u64` keyword", "`s64` keyword", "`f32` keyword", "`f64` keyword", "`char` keyword", "`bool` keyword",
      "`string` keyword", "`tuple` keyword", "`list` keyword", "`option` keyword", "`result` keyword",
      "`borrow` keyword", "identifier",
    ], t);
  }

  /** `own<T>`, `future[<T>]`, `stream[<T>]`, `error-context` only mean types in WIT. */
  private witSpecialType(t: Token & { kind: "id" }): TypeNode | undefined {
    const v = t.value;
    if (v === "error-context") return { kind: "primitive", name: "error-context", span: t.span };
    if (v === "own") {
      if (!this.isPunct("<")) return undefined;
      this.lex.next();
      this.enter(t.span);
      const inner = this.type();
      const close = this.punct(">");
      this.leave();
      return { kind: "own", type: inner, span: { start: t.span.start, end: close.end } };
    }
    if (v === "future" || v === "stream") {
      if (!this.isPunct("<")) return { kind: v, span: t.span };
      this.lex.next();
      this.enter(t.span);
      const inner = this.type();
      const close = this.punct(">");
      this.leave();
      return { kind: v, type: inner, span: { start: t.span.start, end: close.end } };
    }
    return undefined;
  }

  private namedType(): NamedType {
    const id = this.ident();
    this.punct(":");
    return { id, type: this.type() };
  }

  private params(): { params: NamedType[]; close: Span } {
    const { items, close } = this.list("(", ")", () => this.namedType());
    return { params: items, close };
  }

  private results(): { results: FuncResults; end?: number } {
    if (this.eatPunct("->") === undefined) return { results: { kind: "none" } };
    if (this.isPunct("(")) {
      const { items, close } = this.list("(", ")", () => this.namedType());
      return { results: { kind: "named", list: items }, end: close.end };
    }
    const type = this.type();
    return { results: { kind: "scalar", type }, end: type.span.end };
  }

  /** `[async] func(params) [-> results]` */
  funcType(): FuncType {
    const startTok = this.peek();
    let isAsync = false;
    if (this.mode === "wit" && startTok.kind === "id" && startTok.value === "async" && !startTok.explicit) {
      this.lex.next();
      isAsync = true;
    }
    const fn = this.kw("func");
    const { params, close } = this.params();
    const { results, end } = this.results();
    return { kind: "func", params, results, async: isAsync, span: { start: isAsync ? startTok.span.start : fn.start, end: end ?? close.end } };
  }

  private isFuncStart(): boolean {
    const t = this.peek();
    return this.isKw("func", t) || (this.mode === "wit" && t.kind === "id" && t.value === "async" && !t.explicit);
  }

  // ---------------------------------------------------------------- gates (WIT)

  /** `@since(version = 1.2.3)`, `@unstable(feature = x)`, `@deprecated(version = 1.2.3)`: parsed, then ignored. */
  private gates(): Gate[] {
    const gates: Gate[] = [];
    while (this.isPunct("@")) {
      const at = this.lex.next();
      if (this.mode === "wac") this.lex.fail(at.span, "feature gates are not supported in WAC");
      const name = this.ident();
      if (!["since", "unstable", "deprecated"].includes(name.name)) {
        this.lex.fail(name.span, `unknown feature gate \`@${name.name}\`: expected \`since\`, \`unstable\` or \`deprecated\``);
      }
      this.punct("(");
      const key = this.ident();
      this.punct("=");
      if (key.name === "version") this.version();
      else if (key.name === "feature") this.ident();
      else this.lex.fail(key.span, "expected `version` or `feature`");
      const close = this.punct(")");
      gates.push({ name: name.name, span: { start: at.span.start, end: close.end } });
    }
    return gates;
  }

  // ---------------------------------------------------------------- declarations

  private typeDecl(): TypeDecl | undefined {
    const t = this.peek();
    if (t.kind !== "kw") return undefined;
    switch (t.value) {
      case "resource":
        return this.resourceDecl();
      case "variant": {
        this.lex.next();
        const id = this.ident();
        const { items, close } = this.list("{", "}", () => {
          const cid = this.ident();
          if (this.eatPunct("(") === undefined) return { id: cid };
          const type = this.type();
          this.punct(")");
          return { id: cid, type };
        });
        if (items.length === 0) this.lex.fail(close, "variant must contain at least one case");
        return { kind: "variant", id, cases: items };
      }
      case "record": {
        this.lex.next();
        const id = this.ident();
        const { items, close } = this.list("{", "}", () => this.namedType());
        if (items.length === 0 && this.mode === "wac") this.lex.fail(close, "record must contain at least one field");
        return { kind: "record", id, fields: items };
      }
      case "flags": {
        this.lex.next();
        const id = this.ident();
        const { items, close } = this.list("{", "}", () => this.ident());
        if (items.length === 0 && this.mode === "wac") this.lex.fail(close, "flags must contain at least one flag");
        return { kind: "flags", id, flags: items };
      }
      case "enum": {
        this.lex.next();
        const id = this.ident();
        const { items, close } = this.list("{", "}", () => this.ident());
        if (items.length === 0) this.lex.fail(close, "enum must contain at least one case");
        return { kind: "enum", id, cases: items };
      }
      case "type": {
        this.lex.next();
        const id = this.ident();
        this.punct("=");
        const target = this.isFuncStart() ? this.funcType() : this.type();
        if (target.kind === "func" && this.mode === "wit") this.lex.fail(target.span, "function types cannot be named in WIT");
        this.punct(";");
        return { kind: "alias", id, target };
      }
    }
    return undefined;
  }

  private resourceDecl(): TypeDecl {
    this.kw("resource");
    const id = this.ident();
    if (this.eatPunct(";") !== undefined) return { kind: "resource", id, items: [] };
    this.punct("{");
    const items: ResourceItem[] = [];
    while (this.eatPunct("}") === undefined) {
      const gates = this.gates();
      const g = gates.length > 0 ? { gates } : {};
      if (this.isKw("constructor")) {
        const c = this.lex.next();
        const { params, close } = this.params();
        const { results, end } = this.mode === "wit" ? this.results() : { results: { kind: "none" } as FuncResults, end: undefined };
        this.punct(";");
        items.push({ kind: "constructor", params, results, span: { start: c.span.start, end: end ?? close.end }, ...g });
        continue;
      }
      const t = this.peek();
      if (t.kind !== "id") this.fail(["`constructor` keyword", "identifier", "`}`"], t);
      const mid = this.ident();
      this.punct(":");
      let isStatic = false;
      if (this.isKw("static")) {
        this.lex.next();
        isStatic = true;
      }
      const func = this.funcType();
      this.punct(";");
      items.push({ kind: "method", id: mid, isStatic, func, ...g });
    }
    // WIT does not require `;` after a resource body but tolerates none; WAC has none either.
    return { kind: "resource", id, items };
  }

  private usePath(): UsePath {
    const first = this.ident();
    if (this.isPunct(":")) return { kind: "package", path: this.packagePathFrom(first) };
    return { kind: "ident", id: first };
  }

  private useDecl(): UseDecl {
    const start = this.kw("use");
    const path = this.usePath();
    this.punct(".");
    const { items } = this.list("{", "}", (): UseItem => {
      const id = this.ident();
      if (this.isKw("as")) {
        this.lex.next();
        return { id, as: this.ident() };
      }
      return { id };
    });
    const end = this.punct(";");
    if (items.length === 0) this.lex.fail({ start: start.start, end: end.end }, "`use` must name at least one type");
    return { kind: "use", path, items, span: { start: start.start, end: end.end } };
  }

  private interfaceItems(): InterfaceItem[] {
    this.punct("{");
    const items: InterfaceItem[] = [];
    while (this.eatPunct("}") === undefined) {
      const gates = this.gates();
      const g = gates.length > 0 ? { gates } : {};
      if (this.isKw("use")) {
        items.push({ ...this.useDecl(), ...g });
        continue;
      }
      const decl = this.typeDecl();
      if (decl !== undefined) {
        items.push({ kind: "type", decl: { ...decl, ...g } });
        continue;
      }
      const t = this.peek();
      if (t.kind !== "id") {
        this.fail([
          "`use` keyword", "`type` keyword", "`resource` keyword", "`variant` keyword", "`record` keyword",
          "`flags` keyword", "`enum` keyword", "identifier", "`}`",
        ], t);
      }
      const id = this.ident();
      this.punct(":");
      let func: FuncTypeRef;
      if (this.isFuncStart()) func = this.funcType();
      else if (this.mode === "wac") func = { kind: "ident", id: this.ident() };
      else this.fail(["`func` keyword"]);
      this.punct(";");
      items.push({ kind: "export", id, func, ...g });
    }
    return items;
  }

  interfaceDecl(): InterfaceDecl {
    this.kw("interface");
    const id = this.ident();
    const items = this.interfaceItems();
    return { kind: "interface", id, items };
  }

  private inlineInterface(): InlineInterface {
    const start = this.kw("interface");
    this.enter(start);
    const items = this.interfaceItems();
    this.leave();
    return { kind: "inline-interface", items, span: { start: start.start, end: this.lex.offset } };
  }

  private worldItemPath(): WorldItemPath {
    const first = this.ident();
    if (this.isPunct(":")) {
      // `name: type` or `ns:pkg/path`: a package path has an identifier then `/` or `:` after it.
      this.lex.next();
      const t = this.peek();
      const pathLike = t.kind === "kw" && t.value !== "func" && t.value !== "interface";
      if ((t.kind === "id" && !(this.mode === "wit" && !t.explicit && t.value === "async")) || pathLike) {
        const second = this.lex.next() as Token & { kind: "id" | "kw" };
        if (this.isPunct("/") || this.isPunct(":")) {
          return { kind: "package", path: this.packagePathContinue(first, second) };
        }
        if (this.mode === "wit") this.lex.fail(second.span, "expected `func` keyword or `interface` keyword");
        return { kind: "named", id: first, type: { kind: "ident", id: { name: second.value, span: second.span } } };
      }
      if (this.isKw("interface")) return { kind: "named", id: first, type: this.inlineInterface() };
      if (this.isFuncStart()) return { kind: "named", id: first, type: this.funcType() };
      this.fail(["`func` keyword", "`interface` keyword", "identifier"]);
    }
    return { kind: "ident", id: first };
  }

  /** Continues a package path whose `ns` and first `:`-separated name were already read. */
  private packagePathContinue(first: Ident, second: Token & { kind: "id" | "kw" }): PackagePath {
    return this.packagePathTail(first, `${first.name}:${second.value}`);
  }

  /** The rest of a package path once `ns:name` has been read: further `:name`s, `/segments`, `@version`. */
  private packagePathTail(first: Ident, head: string): PackagePath {
    let pkg = head;
    while (this.isPunct(":")) {
      this.lex.next();
      pkg += `:${this.segment().name}`;
    }
    const segments: string[] = [];
    let end: number;
    do {
      this.punct("/");
      const seg = this.segment();
      segments.push(seg.name);
      end = seg.span.end;
    } while (this.isPunct("/"));
    let version: string | undefined;
    if (this.isPunct("@")) {
      this.lex.next();
      const v = this.lex.version();
      version = v.value;
      end = v.span.end;
    }
    const span = { start: first.span.start, end };
    return version === undefined ? { package: pkg, segments, span } : { package: pkg, segments, version, span };
  }

  private worldRef(): WorldRef {
    const first = this.ident();
    if (this.isPunct(":")) return { kind: "package", path: this.packagePathFrom(first) };
    return { kind: "ident", id: first };
  }

  worldDecl(): WorldDecl {
    this.kw("world");
    const id = this.ident();
    this.punct("{");
    const items: WorldItem[] = [];
    while (this.eatPunct("}") === undefined) {
      const gates = this.gates();
      const g = gates.length > 0 ? { gates } : {};
      const t = this.peek();
      if (this.isKw("use", t)) {
        items.push({ ...this.useDecl(), ...g });
        continue;
      }
      if (this.isKw("import", t) || this.isKw("export", t)) {
        this.lex.next();
        const path = this.worldItemPath();
        const end = this.punct(";");
        items.push({ kind: this.isKw("import", t) ? "import" : "export", path, span: { start: t.span.start, end: end.end }, ...g });
        continue;
      }
      if (this.isKw("include", t)) {
        this.lex.next();
        const world = this.worldRef();
        let withItems: { from: Ident; to: Ident }[] = [];
        if (this.isKw("with")) {
          this.lex.next();
          withItems = this.list("{", "}", () => {
            const from = this.ident();
            this.kw("as");
            return { from, to: this.ident() };
          }).items;
        }
        const end = this.punct(";");
        items.push({ kind: "include", world, with: withItems, span: { start: t.span.start, end: end.end }, ...g });
        continue;
      }
      const decl = this.typeDecl();
      if (decl !== undefined) {
        items.push({ kind: "type", decl: { ...decl, ...g } });
        continue;
      }
      this.fail([
        "`use` keyword", "`import` keyword", "`export` keyword", "`include` keyword", "`type` keyword",
        "`resource` keyword", "`variant` keyword", "`record` keyword", "`flags` keyword", "`enum` keyword", "`}`",
      ], t);
    }
    return { kind: "world", id, items };
  }

  // ---------------------------------------------------------------- WAC statements

  private expr(): Expr {
    const start = this.peek().span.start;
    this.enter(this.peek().span);
    const primary = this.primaryExpr();
    const postfix: PostfixExpr[] = [];
    for (;;) {
      if (this.isPunct(".")) {
        const dot = this.lex.next();
        const id = this.ident();
        postfix.push({ kind: "access", id, span: { start: dot.span.start, end: id.span.end } });
      } else if (this.isPunct("[")) {
        const open = this.lex.next();
        const string = this.string();
        const close = this.punct("]");
        postfix.push({ kind: "named-access", string, span: { start: open.span.start, end: close.end } });
      } else break;
    }
    this.leave();
    return { primary, postfix, span: { start, end: this.lex.offset } };
  }

  private primaryExpr(): PrimaryExpr {
    const t = this.peek();
    if (this.isKw("new", t)) {
      this.lex.next();
      const pkg = this.packageName();
      this.punct("{");
      const args: InstantiationArg[] = [];
      let fill: Span | undefined;
      for (;;) {
        if (this.isPunct("}")) break;
        const a = this.peek();
        if (this.isPunct("...", a)) {
          this.lex.next();
          if (this.peek().kind === "id") {
            const id = this.ident();
            args.push({ kind: "spread", id, span: { start: a.span.start, end: id.span.end } });
          } else {
            fill = a.span;
            this.eatPunct(",");
            if (!this.isPunct("}")) this.lex.fail(a.span, "implicit import argument `...` must be the last argument");
            break;
          }
        } else if (a.kind === "string") {
          const name = this.string();
          this.punct(":");
          args.push({ kind: "named", name, expr: this.expr() });
        } else if (a.kind === "id") {
          const id = this.ident();
          if (this.eatPunct(":") !== undefined) args.push({ kind: "named", name: id, expr: this.expr() });
          else args.push({ kind: "inferred", id });
        } else this.fail(["identifier", "string", "`...`", "`}`"], a);
        if (this.eatPunct(",") === undefined) break;
      }
      const close = this.punct("}");
      const span = { start: t.span.start, end: close.end };
      return fill === undefined ? { kind: "new", package: pkg, args, span } : { kind: "new", package: pkg, args, fill, span };
    }
    if (this.isPunct("(", t)) {
      this.lex.next();
      const expr = this.expr();
      const close = this.punct(")");
      return { kind: "nested", expr, span: { start: t.span.start, end: close.end } };
    }
    if (t.kind === "id") return { kind: "ident", id: this.ident() };
    this.fail(["`new` keyword", "`(`", "identifier"], t);
  }

  private importStatement(): Statement {
    const start = this.kw("import");
    const id = this.ident();
    let as: Ident | StringLit | undefined;
    if (this.isKw("as")) {
      this.lex.next();
      as = this.peek().kind === "string" ? this.string() : this.ident();
    }
    this.punct(":");
    let type: ImportType;
    const t = this.peek();
    if (this.isKw("func", t)) type = this.funcType();
    else if (this.isKw("interface", t)) type = this.inlineInterface();
    else if (t.kind === "id") {
      const first = this.ident();
      type = this.isPunct(":") ? { kind: "package", path: this.packagePathFrom(first) } : { kind: "ident", id: first };
    } else this.fail(["`func` keyword", "`interface` keyword", "identifier"], t);
    const end = this.punct(";");
    const span = { start: start.start, end: end.end };
    return as === undefined ? { kind: "import", id, type, span } : { kind: "import", id, as, type, span };
  }

  private statement(): Statement {
    const t = this.peek();
    if (this.isKw("import", t)) return this.importStatement();
    if (this.isKw("let", t)) {
      this.lex.next();
      const id = this.ident();
      this.punct("=");
      const expr = this.expr();
      const end = this.punct(";");
      return { kind: "let", id, expr, span: { start: t.span.start, end: end.end } };
    }
    if (this.isKw("export", t)) {
      this.lex.next();
      const expr = this.expr();
      let options: ExportOptions = { kind: "none" };
      if (this.isPunct("...")) options = { kind: "spread", span: this.lex.next().span };
      else if (this.isKw("as")) {
        this.lex.next();
        options = { kind: "as", name: this.peek().kind === "string" ? this.string() : this.ident() };
      }
      const end = this.punct(";");
      return { kind: "export", expr, options, span: { start: t.span.start, end: end.end } };
    }
    if (this.isKw("interface", t)) return this.interfaceDecl();
    if (this.isKw("world", t)) return this.worldDecl();
    const decl = t.kind === "kw" && t.value !== "resource" ? this.typeDecl() : undefined;
    if (decl !== undefined) return { kind: "type", decl };
    this.fail([
      "`import` keyword", "`let` keyword", "`export` keyword", "`interface` keyword", "`world` keyword",
      "`variant` keyword", "`record` keyword", "`flags` keyword", "`enum` keyword", "`type` keyword",
    ], t);
  }

  document(): Document {
    const t = this.peek();
    if (!this.isKw("package", t)) this.fail(["`package` keyword"], t);
    this.lex.next();
    const name = this.packageName();
    let targets: PackagePath | undefined;
    if (this.isKw("targets")) {
      this.lex.next();
      targets = this.packagePath();
    }
    const end = this.punct(";");
    const pkg: PackageDecl = targets === undefined
      ? { name, span: { start: t.span.start, end: end.end } }
      : { name, targets, span: { start: t.span.start, end: end.end } };
    const statements: Statement[] = [];
    while (this.peek().kind !== "eof") statements.push(this.statement());
    return { package: pkg, statements };
  }

  // ---------------------------------------------------------------- WIT files

  private witItems(close: boolean): WitItem[] {
    const items: WitItem[] = [];
    for (;;) {
      const t0 = this.peek();
      if (close && this.isPunct("}", t0)) {
        this.lex.next();
        return items;
      }
      if (!close && (t0.kind === "eof" || this.isKw("package", t0))) return items;
      this.gates();
      const t = this.peek();
      if (this.isKw("interface", t)) items.push(this.interfaceDecl());
      else if (this.isKw("world", t)) items.push(this.worldDecl());
      else if (this.isKw("use", t)) {
        this.lex.next();
        const path = this.packagePath();
        let as: Ident | undefined;
        if (this.isKw("as")) {
          this.lex.next();
          as = this.ident();
        }
        const end = this.punct(";");
        const span = { start: t.span.start, end: end.end };
        items.push(as === undefined ? { kind: "top-use", path, span } : { kind: "top-use", path, as, span });
      } else this.fail(["`interface` keyword", "`world` keyword", "`use` keyword", close ? "`}`" : "end of input"], t);
    }
  }

  witFile(): WitFile {
    let pkg: PackageName | undefined;
    const nested: { package: PackageName; items: WitItem[] }[] = [];
    const items: WitItem[] = [];
    if (this.isKw("package")) {
      this.lex.next();
      const name = this.packageName();
      if (this.isPunct("{")) {
        this.lex.next();
        nested.push({ package: name, items: this.witItems(true) });
      } else {
        this.punct(";");
        pkg = name;
      }
    }
    while (this.peek().kind !== "eof") {
      if (this.isKw("package")) {
        this.lex.next();
        const name = this.packageName();
        this.punct("{");
        nested.push({ package: name, items: this.witItems(true) });
        continue;
      }
      items.push(...this.witItems(false));
    }
    return pkg === undefined ? { items, nested } : { package: pkg, items, nested };
  }
}

export function parseDocument(source: Source): Document {
  return new Parser(source, "wac").document();
}

export function parseWitFile(source: Source): WitFile {
  return new Parser(source, "wit").witFile();
}
