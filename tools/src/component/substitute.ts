/**
 * Instantiating a component known only by its type (an imported component, or one reached
 * through an alias): the instance's exports are the type's exports with
 * - the type's imported types replaced by the instantiation arguments' types (a `sub
 *   resource` import becomes the argument's resource, an `eq` import the argument's type),
 * - the resources the type defines (abstract exported resources, also those inside exported
 *   instance types) replaced by fresh ones, so that each instantiation of the same type gets
 *   distinct resources (generativity, as in the component model's type checking and
 *   wasmparser's `ComponentTypes` substitution).
 *
 * A defined component gets the same effect by being interpreted with its arguments bound
 * (reader.ts); this is the equivalent for a type, done over the wtypes representation.
 */
import { WCompType, WDefined, WFunc, WInstType, WRes, type ResourceIdentity, type WAny, type WDef, type WEnt, type WVal } from "./wtypes.ts";

export function instantiateCompType(t: WCompType, args: ReadonlyMap<string, WEnt>): WInstType {
  const s = new Substitution();
  for (const [name, declared] of t.imports) {
    const arg = args.get(name);
    if (arg !== undefined) s.bindImport(declared, arg);
  }
  const fresh: WRes[] = [];
  for (const r of t.definedResources) fresh.push(s.freshen(r));
  for (const ent of t.exports.values()) if (ent.k === "instance") freshenInstance(s, ent.t, fresh, 0);
  return new WInstType(s.entities(t.exports), fresh);
}

/** Exported instance types define resources too, and each instantiation owns its own copy. */
function freshenInstance(s: Substitution, t: WInstType, out: WRes[], depth: number): void {
  // Instance types nest at most as deep as the reader allows; the guard only bounds hostile cycles.
  if (depth > 100) return;
  for (const r of t.definedResources) if (!s.hasResource(r)) out.push(s.freshen(r));
  for (const ent of t.exports.values()) if (ent.k === "instance") freshenInstance(s, ent.t, out, depth + 1);
}

class Substitution {
  /** Resource identities (shared by every alias of a resource) to their replacement. */
  private readonly resources = new Map<ResourceIdentity, WRes>();
  /** Type identities bound to exactly this replacement (imports, and memoised copies). */
  private readonly types = new Map<WAny, WAny>();

  hasResource(r: WRes): boolean {
    return this.resources.has(r.underlying);
  }

  freshen(r: WRes): WRes {
    const fresh = new WRes({ name: r.underlying.name });
    this.resources.set(r.underlying, fresh);
    this.types.set(r, fresh);
    return fresh;
  }

  /**
   * Records what a declared import stands for once `arg` is supplied. Only abstract
   * (`sub resource`) resources are rebound by identity: an `eq`-bound resource is an alias of
   * a resource that exists outside the type, which the argument must already be.
   */
  bindImport(declared: WEnt, arg: WEnt): void {
    if (declared.k === "type" && arg.k === "type") {
      const d = declared.created;
      const a = arg.created;
      if (d.w === "resource" && a.w === "resource" && d.peel === undefined) this.resources.set(d.underlying, a);
      this.types.set(d, a);
      return;
    }
    if (declared.k === "instance" && arg.k === "instance") {
      for (const [n, de] of declared.t.exports) {
        const ae = arg.t.exports.get(n);
        if (ae !== undefined) this.bindImport(de, ae);
      }
    }
  }

  entities(m: ReadonlyMap<string, WEnt>): Map<string, WEnt> {
    const out = new Map<string, WEnt>();
    for (const [n, e] of m) out.set(n, this.entity(e));
    return out;
  }

  private entity(e: WEnt): WEnt {
    switch (e.k) {
      case "type": return { k: "type", referenced: this.type(e.referenced), created: this.type(e.created) };
      case "func": return { k: "func", t: this.func(e.t) };
      case "instance": return { k: "instance", t: this.instance(e.t) };
      case "component": return { k: "component", t: this.component(e.t) };
      case "value": return { k: "value", t: this.val(e.t) };
      case "module": return e;
    }
  }

  /** Keeps a type's identity when nothing in it changes, so ownership (WIT `use`) survives. */
  type(t: WAny): WAny {
    const hit = this.types.get(t);
    if (hit !== undefined) return hit;
    let out: WAny;
    switch (t.w) {
      case "resource": out = this.resource(t); break;
      case "defined": out = this.defined(t); break;
      case "func": out = this.func(t); break;
      case "instance": out = this.instance(t); break;
      case "component": out = this.component(t); break;
    }
    this.types.set(t, out);
    return out;
  }

  private resource(t: WRes): WRes {
    const hit = this.types.get(t);
    if (hit !== undefined) return hit as WRes;
    const peel = t.peel === undefined ? undefined : this.resource(t.peel);
    const target = this.resources.get(t.underlying);
    const out = target === undefined && peel === t.peel ? t : new WRes((target ?? t).underlying, peel);
    this.types.set(t, out);
    return out;
  }

  private val(v: WVal): WVal {
    return "prim" in v ? v : this.defined(v);
  }

  private optVal(v: WVal | undefined): WVal | undefined {
    return v === undefined ? undefined : this.val(v);
  }

  private defined(t: WDefined): WDefined {
    const hit = this.types.get(t);
    if (hit !== undefined) return hit as WDefined;
    const def = this.def(t.def);
    const peel = t.peel === undefined ? undefined : this.defined(t.peel);
    const out = def === t.def && peel === t.peel ? t : new WDefined(def, peel);
    this.types.set(t, out);
    return out;
  }

  /** The same object when no part changes. */
  private def(d: WDef): WDef {
    const same = <T>(a: readonly T[], b: readonly T[]): boolean => a.every((x, i) => x === b[i]);
    switch (d.k) {
      case "prim": case "flags": case "enum": return d;
      case "record": {
        const fields = d.fields.map(([n, t]) => [n, this.val(t)] as [string, WVal]);
        return same(fields.map((f) => f[1]), d.fields.map((f) => f[1])) ? d : { k: "record", fields };
      }
      case "variant": {
        const cases = d.cases.map(([n, t]) => [n, this.optVal(t)] as [string, WVal | undefined]);
        return same(cases.map((c) => c[1]), d.cases.map((c) => c[1])) ? d : { k: "variant", cases };
      }
      case "list": {
        const el = this.val(d.el);
        if (el === d.el) return d;
        return d.len === undefined ? { k: "list", el } : { k: "list", el, len: d.len };
      }
      case "tuple": {
        const types = d.types.map((t) => this.val(t));
        return same(types, d.types) ? d : { k: "tuple", types };
      }
      case "option": {
        const t = this.val(d.t);
        return t === d.t ? d : { k: "option", t };
      }
      case "result": {
        const ok = this.optVal(d.ok);
        const err = this.optVal(d.err);
        if (ok === d.ok && err === d.err) return d;
        const out: { k: "result"; ok?: WVal; err?: WVal } = { k: "result" };
        if (ok !== undefined) out.ok = ok;
        if (err !== undefined) out.err = err;
        return out;
      }
      case "own": case "borrow": {
        const r = this.resource(d.r);
        return r === d.r ? d : { k: d.k, r };
      }
      case "stream": case "future": {
        if (d.t === undefined) return d;
        const t = this.val(d.t);
        return t === d.t ? d : { k: d.k, t };
      }
    }
  }

  private func(f: WFunc): WFunc {
    const hit = this.types.get(f);
    if (hit !== undefined) return hit as WFunc;
    const params = f.params.map(([n, t]) => [n, this.val(t)] as [string, WVal]);
    const result = this.optVal(f.result);
    const peel = f.peel === undefined ? undefined : this.func(f.peel);
    const unchanged = params.every(([, t], i) => t === f.params[i]![1]) && result === f.result && peel === f.peel;
    const out = unchanged ? f : new WFunc(params, result, f.async, peel);
    this.types.set(f, out);
    return out;
  }

  private instance(t: WInstType): WInstType {
    const hit = this.types.get(t);
    if (hit !== undefined) return hit as WInstType;
    const exports = this.entities(t.exports);
    const defined = t.definedResources.map((r) => this.resource(r));
    const unchanged = [...t.exports].every(([n, e]) => sameEntity(e, exports.get(n)!));
    // `fresh` copies of an instance type re-evaluate its declaration: substitute them too.
    const fresh = t.fresh;
    const out = unchanged ? t : new WInstType(exports, defined, fresh === undefined ? undefined : () => this.instance(fresh()));
    this.types.set(t, out);
    return out;
  }

  private component(t: WCompType): WCompType {
    const hit = this.types.get(t);
    if (hit !== undefined) return hit as WCompType;
    const imports = this.entities(t.imports);
    const exports = this.entities(t.exports);
    const unchanged = [...t.imports].every(([n, e]) => sameEntity(e, imports.get(n)!))
      && [...t.exports].every(([n, e]) => sameEntity(e, exports.get(n)!));
    const out = unchanged ? t : new WCompType(imports, exports, t.definedResources.map((r) => this.resource(r)));
    this.types.set(t, out);
    return out;
  }
}

function sameEntity(a: WEnt, b: WEnt): boolean {
  if (a.k === "type" || b.k === "type") return a.k === "type" && b.k === "type" && a.referenced === b.referenced && a.created === b.created;
  return a.k === b.k && a.t === b.t;
}
