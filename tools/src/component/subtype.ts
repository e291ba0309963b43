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

function fail(msg: string): never {
  throw new SubtypeError([msg]);
}

function context<T>(ctx: string, f: () => T): T {
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

  /** Throws SubtypeError unless `a` (what is given) is a subtype of `b` (what is expected). */
  isSubtype(a: ItemKind, b: ItemKind, types: Types, variance: Variance = "covariant"): void {
    const key = `${JSON.stringify(a)}|${JSON.stringify(b)}`;
    if (this.cache.has(key)) return;
    this.kinds.push(variance);
    try {
      this.item(a, b, types);
    } finally {
      this.kinds.pop();
    }
    this.cache.add(key);
  }

  private kind(): Variance {
    return this.kinds[this.kinds.length - 1] ?? "covariant";
  }

  /** Orders (a, b) as (expected, found) for messages, depending on variance. */
  private ef<T>(a: T, b: T): [T, T] {
    return this.kind() === "covariant" ? [b, a] : [a, b];
  }

  private item(a: ItemKind, b: ItemKind, t: Types): void {
    if (a.kind === "type" && b.kind === "type") return this.type(a.type, b.type, t);
    if (a.kind === "func" && b.kind === "func") return this.func(a.id, b.id, t);
    if (a.kind === "instance" && b.kind === "instance") return this.iface(a.id, b.id, t);
    if (a.kind === "component" && b.kind === "component") return this.world(a.id, b.id, t);
    if (a.kind === "module" && b.kind === "module") return this.module(a.id, b.id, t);
    if (a.kind === "value" && b.kind === "value") return this.value(a.type, b.type, t);
    const [e, f] = this.ef(a, b);
    fail(`expected ${t.describeItem(e)}, found ${t.describeItem(f)}`);
  }

  private type(a: Type, b: Type, t: Types): void {
    if (a.kind === "resource" && b.kind === "resource") return this.resource(a.id, b.id, t);
    if (a.kind === "func" && b.kind === "func") return this.func(a.id, b.id, t);
    if (a.kind === "value" && b.kind === "value") return this.value(a.type, b.type, t);
    if (a.kind === "interface" && b.kind === "interface") return this.iface(a.id, b.id, t);
    if (a.kind === "world" && b.kind === "world") return this.world(a.id, b.id, t);
    if (a.kind === "module" && b.kind === "module") return this.module(a.id, b.id, t);
    const [e, f] = this.ef(a, b);
    fail(`expected ${t.describeType(e)}, found ${t.describeType(f)}`);
  }

  private resource(a: ResourceId, b: ResourceId, t: Types): void {
    if (a === b) return;
    const ra = t.resource(t.resolveResource(a));
    const rb = t.resource(t.resolveResource(b));
    if (ra.name !== rb.name) {
      const [e, f] = this.ef(ra, rb);
      fail(`expected resource \`${e.name}\`, found resource \`${f.name}\``);
    }
  }

  private func(a: FuncTypeId, b: FuncTypeId, t: Types): void {
    if (a === b) return;
    const fa = t.func(a);
    const fb = t.func(b);
    if (fa.params.size !== fb.params.size) {
      const [e, f] = this.ef(fa, fb);
      fail(`expected function with parameter count ${e.params.size}, found parameter count ${f.params.size}`);
    }
    const pa = [...fa.params];
    const pb = [...fb.params];
    pa.forEach(([an, at], i) => {
      const [bn, bt] = pb[i]!;
      if (an !== bn) {
        const [e, f] = this.ef(an, bn);
        fail(`expected function parameter ${i} to be named \`${e}\`, found name \`${f}\``);
      }
      context(`mismatched type for function parameter \`${bn}\``, () => this.value(at, bt, t));
    });
    if (fa.result !== undefined && fb.result !== undefined) {
      const ra = fa.result;
      const rb = fb.result;
      context("mismatched type for function result", () => this.value(ra, rb, t));
      return;
    }
    if (fa.result === undefined && fb.result === undefined) return;
    const [e] = this.ef(fa, fb);
    fail(e.result !== undefined
      ? "expected function with a result, found function without a result"
      : "expected function without a result, found function with a result");
  }

  private exports(a: Map<string, ItemKind>, b: Map<string, ItemKind>, t: Types, what: "instance" | "component"): void {
    for (const [k, bk] of b) {
      const ak = a.get(k);
      if (ak === undefined) {
        fail(this.kind() === "covariant"
          ? `${what} is missing expected ${t.describeItem(bk)} export \`${k}\``
          : `${what} has unexpected ${t.describeItem(bk)} export \`${k}\``);
      }
      context(`mismatched type for export \`${k}\``, () => this.isSubtype(ak, bk, t, "covariant"));
    }
  }

  private iface(a: InterfaceId, b: InterfaceId, t: Types): void {
    if (a === b) return;
    this.exports(t.iface(a).exports, t.iface(b).exports, t, "instance");
  }

  private world(a: WorldId, b: WorldId, t: Types): void {
    if (a === b) return;
    const wa = t.world(a);
    const wb = t.world(b);
    for (const [k, ak] of wa.imports) {
      const bk = wb.imports.get(k);
      if (bk === undefined) {
        fail(this.kind() === "covariant"
          ? `component is missing expected ${t.describeItem(ak)} import \`${k}\``
          : `component has unexpected import ${t.describeItem(ak)} \`${k}\``);
      }
      context(`mismatched type for import \`${k}\``, () => this.isSubtype(bk, ak, t, "contravariant"));
    }
    this.exports(wa.exports, wb.exports, t, "component");
  }

  private module(a: ModuleTypeId, b: ModuleTypeId, t: Types): void {
    if (a === b) return;
    const ma = t.module(a);
    const mb = t.module(b);
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
  value(a: ValueType, b: ValueType, t: Types): void {
    const ra = t.resolveValue(a);
    const rb = t.resolveValue(b);
    if (ra.kind === "primitive" && rb.kind === "primitive") {
      if (ra.type !== rb.type) {
        const [e, f] = this.ef(ra.type, rb.type);
        fail(`expected ${e}, found ${f}`);
      }
      return;
    }
    if ((ra.kind === "own" && rb.kind === "own") || (ra.kind === "borrow" && rb.kind === "borrow")) {
      return this.resource(ra.resource, rb.resource, t);
    }
    if (ra.kind === "defined" && rb.kind === "defined") {
      if (ra.id === rb.id) return;
      const da = t.definedType(ra.id);
      const db = t.definedType(rb.id);
      const mismatch = (): never => {
        const [e, f] = this.ef(da.kind, db.kind);
        return fail(`expected ${e}, found ${f}`);
      };
      switch (da.kind) {
        case "tuple": {
          if (db.kind !== "tuple") return mismatch();
          if (da.types.length !== db.types.length) {
            const [e, f] = this.ef(da.types.length, db.types.length);
            fail(`expected a tuple of size ${e}, found a tuple of size ${f}`);
          }
          da.types.forEach((x, i) => context(`mismatched type for tuple item ${i}`, () => this.value(x, db.types[i]!, t)));
          return;
        }
        case "list":
          if (db.kind !== "list") return mismatch();
          return context("mismatched type for list element", () => this.value(da.element, db.element, t));
        case "option":
          if (db.kind !== "option") return mismatch();
          return context("mismatched type for option", () => this.value(da.some, db.some, t));
        case "result": {
          if (db.kind !== "result") return mismatch();
          this.optional(da.ok, db.ok, t, "result ok type");
          this.optional(da.err, db.err, t, "result err type");
          return;
        }
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
            this.optional(v, w, t, `variant case \`${m}\``);
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
            context(`mismatched type for record field \`${m}\``, () => this.value(v, w, t));
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
          return this.optional(da.element, eb, t, `${da.kind} element type`);
        }
        case "alias":
          return this.value(da.target, rb, t);
      }
    }
    const [e, f] = this.ef(ra, rb);
    fail(`expected ${t.describeValue(e)}, found ${t.describeValue(f)}`);
  }

  private optional(a: ValueType | undefined, b: ValueType | undefined, t: Types, what: string): void {
    if (a !== undefined && b !== undefined) return context(`mismatched type for ${what}`, () => this.value(a, b, t));
    if (a === undefined && b === undefined) return;
    const [e] = this.ef(a, b);
    fail(e !== undefined ? `expected ${what}, found none` : `expected no ${what}, found one`);
  }
}

function coreExtern(a: CoreExtern, b: CoreExtern): void {
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
