/**
 * Subtype checks for instantiation arguments (Subtyping.md). Instances and components may
 * provide more exports (and need fewer imports) than required; functions and value types
 * must match structurally (runtimes do not implement width subtyping of values yet, so, like
 * wac, we require equality there). Resources match when they are the same resource or, when
 * they come from different packages, have the same name (imports are unified at encoding).
 *
 * Failures throw SubtypeError whose message is a chain such as
 * "mismatched type for export `baz`: expected function, found instance".
 */
import { WasmOciError } from "../util/errors.ts";
import type { CoreExtern, FuncTypeId, InterfaceId, ItemKind, ModuleTypeId, ResourceId, Type, Types, ValueType, WorldId } from "./types.ts";

export class SubtypeError extends WasmOciError {
  /** The chain of contexts, outermost first; the last entry is the root cause. */
  readonly chain: string[];
  constructor(chain: string[]) {
    super("TYPE_MISMATCH", chain.join(": "));
    this.name = "SubtypeError";
    this.chain = chain;
  }
}

type Variance = "covariant" | "contravariant";

/** Throws a SubtypeError with one message; context() prefixes where it happened. */
export function fail(msg: string): never {
  throw new SubtypeError([msg]);
}

/** Runs f; a SubtypeError from it gets ctx prepended to its chain of messages. */
export function context<T>(ctx: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SubtypeError) throw new SubtypeError([ctx, ...e.chain]);
    throw e;
  }
}

export class SubtypeChecker {
  private readonly cache = new Set<string>();
  private readonly kinds: Variance[] = [];

  private readonly arenaIds = new Map<Types, number>();

  /**
   * Throws SubtypeError unless `a` (what is given, in arena `at`) is a subtype of `b` (what is
   * expected, in arena `bt`). `bt` defaults to `at`.
   */
  isSubtype(a: ItemKind, b: ItemKind, at: Types, bt: Types = at, variance?: Variance): void {
    const aid = this.arenaId(at);
    const bid = this.arenaId(bt);
    const v = variance ?? this.kind();
    const key = `${aid}:${JSON.stringify(a)}|${bid}:${JSON.stringify(b)}|${v}`;
    if (this.cache.has(key)) return;
    this.kinds.push(v);
    try {
      this.item(a, at, b, bt);
    } finally {
      this.kinds.pop();
    }
    this.cache.add(key);
  }

  /** Flips variance for the checks that follow (world/module imports), until `revert`. */
  invert(): void {
    this.kinds.push(this.kind() === "covariant" ? "contravariant" : "covariant");
  }

  revert(): void {
    this.kinds.pop();
  }

  private arenaId(t: Types): number {
    let id = this.arenaIds.get(t);
    if (id === undefined) {
      id = this.arenaIds.size;
      this.arenaIds.set(t, id);
    }
    return id;
  }

  private kind(): Variance {
    return this.kinds[this.kinds.length - 1] ?? "covariant";
  }

  /** Orders (a, b) as (expected, found) for messages, depending on variance. */
  private ef<T>(a: T, b: T): [T, T] {
    return this.kind() === "covariant" ? [b, a] : [a, b];
  }

  private efT<T>(a: T, at: Types, b: T, bt: Types): [T, Types, T, Types] {
    return this.kind() === "covariant" ? [b, bt, a, at] : [a, at, b, bt];
  }

  private item(a: ItemKind, at: Types, b: ItemKind, bt: Types): void {
    if (a.kind === "type" && b.kind === "type") return this.type(a.type, at, b.type, bt);
    if (a.kind === "func" && b.kind === "func") return this.func(a.id, at, b.id, bt);
    if (a.kind === "instance" && b.kind === "instance") return this.iface(a.id, at, b.id, bt);
    if (a.kind === "component" && b.kind === "component") return this.world(a.id, at, b.id, bt);
    if (a.kind === "module" && b.kind === "module") return this.module(a.id, at, b.id, bt);
    if (a.kind === "value" && b.kind === "value") return this.value(a.type, at, b.type, bt);
    const [e, et, f, ft] = this.efT(a, at, b, bt);
    fail(`expected ${et.describeItem(e)}, found ${ft.describeItem(f)}`);
  }

  private type(a: Type, at: Types, b: Type, bt: Types): void {
    if (a.kind === "resource" && b.kind === "resource") return this.resource(a.id, at, b.id, bt);
    if (a.kind === "func" && b.kind === "func") return this.func(a.id, at, b.id, bt);
    if (a.kind === "value" && b.kind === "value") return this.value(a.type, at, b.type, bt);
    if (a.kind === "interface" && b.kind === "interface") return this.iface(a.id, at, b.id, bt);
    if (a.kind === "world" && b.kind === "world") return this.world(a.id, at, b.id, bt);
    if (a.kind === "module" && b.kind === "module") return this.module(a.id, at, b.id, bt);
    const [e, et, f, ft] = this.efT(a, at, b, bt);
    fail(`expected ${et.describeType(e)}, found ${ft.describeType(f)}`);
  }

  private resource(a: ResourceId, at: Types, b: ResourceId, bt: Types): void {
    if (a === b && at === bt) return;
    const ra = at.resource(at.resolveResource(a));
    const rb = bt.resource(bt.resolveResource(b));
    if (ra.name !== rb.name) {
      const [e, f] = this.ef(ra, rb);
      fail(`expected resource \`${e.name}\`, found resource \`${f.name}\``);
    }
  }

  private func(a: FuncTypeId, at: Types, b: FuncTypeId, bt: Types): void {
    if (a === b && at === bt) return;
    const fa = at.func(a);
    const fb = bt.func(b);
    if (fa.params.size !== fb.params.size) {
      const [e, f] = this.ef(fa, fb);
      fail(`expected function with parameter count ${e.params.size}, found parameter count ${f.params.size}`);
    }
    const pb = [...fb.params];
    [...fa.params].forEach(([an, av], i) => {
      const [bn, bv] = pb[i]!;
      if (an !== bn) {
        const [e, f] = this.ef(an, bn);
        fail(`expected function parameter ${i} to be named \`${e}\`, found name \`${f}\``);
      }
      context(`mismatched type for function parameter \`${bn}\``, () => this.value(av, at, bv, bt));
    });
    if (fa.result !== undefined && fb.result !== undefined) {
      const ra = fa.result;
      const rb = fb.result;
      context("mismatched type for function result", () => this.value(ra, at, rb, bt));
      return;
    }
    if (fa.result === undefined && fb.result === undefined) return;
    const [e] = this.ef(fa, fb);
    fail(e.result !== undefined
      ? "expected function with a result, found function without a result"
      : "expected function without a result, found function with a result");
  }

  private exports(a: Map<string, ItemKind>, at: Types, b: Map<string, ItemKind>, bt: Types, what: "instance" | "component"): void {
    for (const [k, bk] of b) {
      const ak = a.get(k);
      if (ak === undefined) {
        fail(this.kind() === "covariant"
          ? `${what} is missing expected ${bt.describeItem(bk)} export \`${k}\``
          : `${what} has unexpected ${bt.describeItem(bk)} export \`${k}\``);
      }
      context(`mismatched type for export \`${k}\``, () => this.isSubtype(ak, bk, at, bt, this.kind()));
    }
  }

  private iface(a: InterfaceId, at: Types, b: InterfaceId, bt: Types): void {
    if (a === b && at === bt) return;
    this.exports(at.iface(a).exports, at, bt.iface(b).exports, bt, "instance");
  }

  private world(a: WorldId, at: Types, b: WorldId, bt: Types): void {
    if (a === b && at === bt) return;
    const wa = at.world(a);
    const wb = bt.world(b);
    for (const [k, ak] of wa.imports) {
      const bk = wb.imports.get(k);
      if (bk === undefined) {
        fail(this.kind() === "covariant"
          ? `component is missing expected ${at.describeItem(ak)} import \`${k}\``
          : `component has unexpected import ${at.describeItem(ak)} \`${k}\``);
      }
      const flipped: Variance = this.kind() === "covariant" ? "contravariant" : "covariant";
      context(`mismatched type for import \`${k}\``, () => this.isSubtype(bk, ak, bt, at, flipped));
    }
    this.exports(wa.exports, at, wb.exports, bt, "component");
  }

  private module(a: ModuleTypeId, at: Types, b: ModuleTypeId, bt: Types): void {
    if (a === b && at === bt) return;
    const ma = at.module(a);
    const mb = bt.module(b);
    for (const [k, ai] of ma.imports) {
      const bi = mb.imports.get(k);
      if (bi === undefined) fail(`module has unexpected import \`${ai.module}::${ai.name}\``);
      context(`mismatched type for import \`${ai.module}::${ai.name}\``, () => coreExtern(bi.type, ai.type));
    }
    for (const [k, be] of mb.exports) {
      const ae = ma.exports.get(k);
      if (ae === undefined) fail(`module is missing expected ${be.kind} export \`${k}\``);
      context(`mismatched type for export \`${k}\``, () => coreExtern(ae, be));
    }
  }

  /** Value types: structural equality, resources by identity or name. */
  value(a: ValueType, at: Types, b: ValueType, bt: Types): void {
    const ra = at.resolveValue(a);
    const rb = bt.resolveValue(b);
    if (ra.kind === "primitive" && rb.kind === "primitive") {
      if (ra.type !== rb.type) {
        const [e, f] = this.ef(ra.type, rb.type);
        fail(`expected ${e}, found ${f}`);
      }
      return;
    }
    if ((ra.kind === "own" && rb.kind === "own") || (ra.kind === "borrow" && rb.kind === "borrow")) {
      return this.resource(ra.resource, at, rb.resource, bt);
    }
    if (ra.kind === "defined" && rb.kind === "defined") {
      if (ra.id === rb.id && at === bt) return;
      const da = at.definedType(ra.id);
      const db = bt.definedType(rb.id);
      const mismatch = (): never => {
        const [e, f] = this.ef(da.kind, db.kind);
        return fail(`expected ${e}, found ${f}`);
      };
      const val = (x: ValueType, y: ValueType): void => this.value(x, at, y, bt);
      switch (da.kind) {
        case "tuple": {
          if (db.kind !== "tuple") return mismatch();
          if (da.types.length !== db.types.length) {
            const [e, f] = this.ef(da.types.length, db.types.length);
            fail(`expected a tuple of size ${e}, found a tuple of size ${f}`);
          }
          da.types.forEach((x, i) => context(`mismatched type for tuple item ${i}`, () => val(x, db.types[i]!)));
          return;
        }
        case "list":
          if (db.kind !== "list") return mismatch();
          return context("mismatched type for list element", () => val(da.element, db.element));
        case "option":
          if (db.kind !== "option") return mismatch();
          return context("mismatched type for option", () => val(da.some, db.some));
        case "result":
          if (db.kind !== "result") return mismatch();
          this.optional(da.ok, at, db.ok, bt, "result ok type");
          this.optional(da.err, at, db.err, bt, "result err type");
          return;
        case "variant": {
          if (db.kind !== "variant") return mismatch();
          const ca = [...da.cases];
          const cb = [...db.cases];
          if (ca.length !== cb.length) {
            const [e, f] = this.ef(ca.length, cb.length);
            fail(`expected a variant case count of ${e}, found a count of ${f}`);
          }
          ca.forEach(([n, v], i) => {
            const [m, w] = cb[i]!;
            if (n !== m) {
              const [e, f] = this.ef(n, m);
              fail(`expected variant case ${i} to be named \`${e}\`, found a case named \`${f}\``);
            }
            this.optional(v, at, w, bt, `variant case \`${m}\``);
          });
          return;
        }
        case "record": {
          if (db.kind !== "record") return mismatch();
          const fa = [...da.fields];
          const fb = [...db.fields];
          if (fa.length !== fb.length) {
            const [e, f] = this.ef(fa.length, fb.length);
            fail(`expected a record field count of ${e}, found a count of ${f}`);
          }
          fa.forEach(([n, v], i) => {
            const [m, w] = fb[i]!;
            if (n !== m) {
              const [e, f] = this.ef(n, m);
              fail(`expected record field ${i} to be named \`${e}\`, found a field named \`${f}\``);
            }
            context(`mismatched type for record field \`${m}\``, () => val(v, w));
          });
          return;
        }
        case "flags": case "enum": {
          if (db.kind !== da.kind) return mismatch();
          const na = da.names;
          const nb = db.kind === "flags" || db.kind === "enum" ? db.names : [];
          if (na.length !== nb.length || na.some((n, i) => n !== nb[i])) {
            const [e, f] = this.ef(na, nb);
            fail(`expected ${da.kind} \`${e.join(", ")}\`, found \`${f.join(", ")}\``);
          }
          return;
        }
        case "stream": case "future": {
          if (db.kind !== da.kind) return mismatch();
          const eb = db.kind === "stream" || db.kind === "future" ? db.element : undefined;
          return this.optional(da.element, at, eb, bt, `${da.kind} element type`);
        }
        case "alias":
          return this.value(da.target, at, rb, bt);
      }
    }
    const [e, et, f, ft] = this.efT(ra, at, rb, bt);
    fail(`expected ${et.describeValue(e)}, found ${ft.describeValue(f)}`);
  }

  private optional(a: ValueType | undefined, at: Types, b: ValueType | undefined, bt: Types, what: string): void {
    if (a !== undefined && b !== undefined) return context(`mismatched type for ${what}`, () => this.value(a, at, b, bt));
    if (a === undefined && b === undefined) return;
    const [e] = this.ef(a, b);
    fail(e !== undefined ? `expected ${what}, found none` : `expected no ${what}, found one`);
  }
}

export function coreExtern(a: CoreExtern, b: CoreExtern): void {
  if (a.kind !== b.kind) fail(`expected ${b.kind}, found ${a.kind}`);
  const sa = JSON.stringify(a, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  const sb = JSON.stringify(b, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  if (a.kind === "func" || a.kind === "tag" || a.kind === "global") {
    if (sa !== sb) fail(`mismatched ${a.kind} type`);
    return;
  }
  if ((a.kind === "memory" && b.kind === "memory") || (a.kind === "table" && b.kind === "table")) {
    if (a.min < b.min || (b.max !== undefined && (a.max === undefined || a.max > b.max))) fail(`mismatched ${a.kind} limits`);
  }
}
