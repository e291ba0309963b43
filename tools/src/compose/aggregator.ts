/**
 * Merges the types of implicit and explicit imports that share a name into one import.
 *
 * Each import's type is copied ("remapped") from the graph's arena into the aggregator's own
 * arena the first time its name is seen; a later import of the same name (or of the same
 * interface on a semver-compatible version, e.g. `a:b/c@0.2.0` and `@0.2.1`) is merged into
 * it: exports are unioned when one side is a subtype of the other, and the highest version's
 * name is kept. Interfaces are unified by their id, so types shared through `use` end up as
 * one import.
 */
import { SubtypeChecker, SubtypeError, context, coreExtern, fail } from "../component/subtype.ts";
import {
  Types, itemType, type DefinedType, type DefinedTypeId, type FuncTypeId, type InterfaceId, type ItemKind,
  type ModuleTypeId, type Resource, type ResourceId, type Type, type ValueType, type WorldId,
} from "../component/types.ts";
import { isSemver } from "../component/extern-name.ts";


interface Semver { major: number; minor: number; patch: number; pre: string }

function parseSemver(v: string): Semver | undefined {
  if (!isSemver(v)) return undefined;
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([^+]*))?/.exec(v)!;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] ?? "" };
}

function cmpSemver(a: Semver, b: Semver): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || (a.pre === b.pre ? 0 : a.pre === "" ? 1 : b.pre === "" ? -1 : a.pre < b.pre ? -1 : 1);
}

/**
 * The key under which semver-compatible names collide (`ns:p/i@1` for 1.x.y, `ns:p/i@0.2`
 * for 0.2.x) and the parsed version; undefined when the name has no compatible track.
 */
export function alternateLookupKey(name: string): { key: string; version: Semver } | undefined {
  const at = name.lastIndexOf("@");
  if (at < 0 || !name.includes(":")) return undefined;
  const version = parseSemver(name.slice(at + 1));
  if (version === undefined || version.pre !== "") return undefined;
  const base = name.slice(0, at);
  if (version.major > 0) return { key: `${base}@${version.major}`, version };
  if (version.minor > 0) return { key: `${base}@0.${version.minor}`, version };
  return undefined;
}

export function areSemverCompatible(a: string, b: string): boolean {
  if (a === b) return true;
  const ka = alternateLookupKey(a);
  const kb = alternateLookupKey(b);
  return ka !== undefined && kb !== undefined && ka.key === kb.key;
}

function keyOf(t: Type): string {
  if (t.kind !== "value") return `${t.kind}:${t.id}`;
  const v = t.type;
  return v.kind === "primitive" ? `p:${v.type}` : v.kind === "defined" ? `d:${v.id}` : `${v.kind}:${v.resource}`;
}

export class TypeAggregator {
  readonly types = new Types();
  /** Import name -> merged kind, in first-seen order (a higher version moves to the end). */
  readonly imports = new Map<string, ItemKind>();
  private readonly remapped = new Map<string, Type>();
  private readonly interfaces = new Map<string, InterfaceId>();
  private readonly redirects = new Map<string, string>();
  /** How many component types (worlds) are being remapped or merged around the current item. */
  private worldDepth = 0;

  constructor(private readonly checker: SubtypeChecker = new SubtypeChecker()) {}

  /** The name an import ended up under after semver merging. */
  canonicalName(name: string): string {
    return this.redirects.get(name) ?? name;
  }

  aggregate(name: string, types: Types, kind: ItemKind): void {
    const existing = this.imports.get(name);
    if (existing !== undefined) {
      this.mergeItem(existing, types, kind);
      return;
    }
    const alt = alternateLookupKey(name);
    if (alt !== undefined) {
      for (const [existingName, existingKind] of this.imports) {
        const other = alternateLookupKey(existingName);
        if (other === undefined || other.key !== alt.key) continue;
        this.mergeItem(existingKind, types, kind);
        if (cmpSemver(alt.version, other.version) > 0) {
          const merged = this.imports.get(existingName)!;
          this.imports.delete(existingName);
          this.imports.set(name, merged);
          for (const [k, v] of this.redirects) if (v === existingName) this.redirects.set(k, name);
          this.redirects.set(existingName, name);
        } else {
          this.redirects.set(name, existingName);
        }
        return;
      }
    }
    this.imports.set(name, this.remapItem(types, kind));
  }

  private sub(a: ItemKind, at: Types, b: ItemKind, bt: Types): boolean {
    try {
      this.checker.isSubtype(a, b, at, bt);
      return true;
    } catch (e) {
      if (e instanceof SubtypeError) return false;
      throw e;
    }
  }

  private mergeItem(existing: ItemKind, types: Types, kind: ItemKind): void {
    if (existing.kind === "instance" && kind.kind === "instance") return this.mergeInterface(existing.id, types, kind.id);
    if (existing.kind === "component" && kind.kind === "component") return this.mergeWorld(existing.id, types, kind.id);
    if (existing.kind === "func" && kind.kind === "func") return this.mergeBoth(existing, types, kind);
    if (existing.kind === "module" && kind.kind === "module") return this.mergeModule(existing.id, types, kind.id);
    if (existing.kind === "value" && kind.kind === "value") return this.mergeBoth(existing, types, kind);
    if (existing.kind === "type" && kind.kind === "type") return this.mergeType(existing.type, types, kind.type);
    fail(`${this.types.describeItem(existing)} cannot be merged with ${types.describeItem(kind)}`);
  }

  private mergeBoth(existing: ItemKind, types: Types, kind: ItemKind): void {
    this.checker.isSubtype(kind, existing, types, this.types, "covariant");
    this.checker.isSubtype(existing, kind, this.types, types, "covariant");
  }

  private mergeType(existing: Type, types: Types, ty: Type): void {
    if (existing.kind === "interface" && ty.kind === "interface") return this.mergeInterface(existing.id, types, ty.id);
    if (existing.kind === "world" && ty.kind === "world") return this.mergeWorld(existing.id, types, ty.id);
    if (existing.kind === "module" && ty.kind === "module") return this.mergeModule(existing.id, types, ty.id);
    if (existing.kind === ty.kind) return this.mergeBoth({ kind: "type", type: existing }, types, { kind: "type", type: ty });
    fail(`${this.types.describeType(existing)} cannot be merged with ${types.describeType(ty)}`);
  }

  private mergeUses(target: Map<string, { interface: InterfaceId; name?: string }>, types: Types, uses: Map<string, { interface: InterfaceId; name?: string }>): void {
    for (const [name, used] of uses) {
      const usedIface = types.iface(used.interface).id;
      if (usedIface === undefined) fail("used type has no interface identifier");
      const ex = target.get(name);
      if (ex !== undefined) {
        const exIface = this.types.iface(ex.interface).id ?? "";
        if (!areSemverCompatible(exIface, usedIface)) {
          fail(`cannot merge used type \`${name}\` as it is expected to be from interface \`${exIface}\` but it is from interface \`${usedIface}\``);
        }
        if (ex.name !== used.name) fail(`cannot merge used type \`${name}\` as the export names are mismatched`);
      }
      const remapped = this.remapInterface(types, used.interface);
      if (ex === undefined) target.set(name, used.name === undefined ? { interface: remapped } : { interface: remapped, name: used.name });
    }
  }

  private mergeInterface(existing: InterfaceId, types: Types, id: InterfaceId): void {
    this.mergeUses(this.types.iface(existing).uses, types, types.iface(id).uses);
    for (const [name, source] of types.iface(id).exports) {
      const target = this.types.iface(existing).exports.get(name);
      if (target !== undefined) {
        if (this.sub(source, types, target, this.types)) {
          this.remapped.set(keyOf(itemType(source)), itemType(target));
          continue;
        }
        context(`mismatched type for export \`${name}\``, () => this.checker.isSubtype(target, source, this.types, types, "covariant"));
      }
      const remapped = this.remapItem(types, source);
      this.types.iface(existing).exports.set(name, remapped);
    }
  }

  private mergeWorld(existing: WorldId, types: Types, id: WorldId): void {
    this.worldDepth++;
    try {
      this.mergeWorldBody(existing, types, id);
    } finally {
      this.worldDepth--;
    }
  }

  private mergeWorldBody(existing: WorldId, types: Types, id: WorldId): void {
    this.mergeUses(this.types.world(existing).uses, types, types.world(id).uses);
    for (const [name, source] of types.world(id).imports) {
      const target = this.types.world(existing).imports.get(name);
      if (target !== undefined) {
        if (this.sub(target, this.types, source, types)) continue;
        context(`mismatched type for import \`${name}\``, () => this.checker.isSubtype(source, target, types, this.types, "contravariant"));
      }
      this.types.world(existing).imports.set(name, this.remapItem(types, source));
    }
    for (const [name, source] of types.world(id).exports) {
      const target = this.types.world(existing).exports.get(name);
      if (target !== undefined) {
        if (this.sub(source, types, target, this.types)) continue;
        context(`mismatched type for export \`${name}\``, () => this.checker.isSubtype(target, source, this.types, types, "covariant"));
      }
      this.types.world(existing).exports.set(name, this.remapItem(types, source));
    }
  }

  private mergeModule(existing: ModuleTypeId, types: Types, id: ModuleTypeId): void {
    const ex = this.types.module(existing);
    for (const [k, imp] of types.module(id).imports) {
      const t = ex.imports.get(k);
      if (t !== undefined) {
        try { coreExtern(t.type, imp.type); continue; } catch { /* fall through to the reverse check */ }
        context(`mismatched type for import \`${imp.module}::${imp.name}\``, () => coreExtern(imp.type, t.type));
      }
      ex.imports.set(k, imp);
    }
    for (const [k, e] of types.module(id).exports) {
      const t = ex.exports.get(k);
      if (t !== undefined) {
        try { coreExtern(e, t); continue; } catch { /* fall through to the reverse check */ }
        context(`mismatched type for export \`${k}\``, () => coreExtern(t, e));
      }
      ex.exports.set(k, e);
    }
  }

  // ---- remapping ---------------------------------------------------------------------

  private remapItem(types: Types, kind: ItemKind): ItemKind {
    switch (kind.kind) {
      case "type": return { kind: "type", type: this.remapType(types, kind.type) };
      case "func": return { kind: "func", id: this.remapFunc(types, kind.id) };
      case "instance": return { kind: "instance", id: this.remapInterface(types, kind.id) };
      case "component": return { kind: "component", id: this.remapWorld(types, kind.id) };
      case "module": return { kind: "module", id: this.remapModule(types, kind.id) };
      case "value": return { kind: "value", type: this.remapValue(types, kind.type) };
    }
  }

  private remapType(types: Types, t: Type): Type {
    switch (t.kind) {
      case "resource": return { kind: "resource", id: this.remapResource(types, t.id) };
      case "func": return { kind: "func", id: this.remapFunc(types, t.id) };
      case "value": return { kind: "value", type: this.remapValue(types, t.type) };
      case "interface": return { kind: "interface", id: this.remapInterface(types, t.id) };
      case "world": return { kind: "world", id: this.remapWorld(types, t.id) };
      case "module": return { kind: "module", id: this.remapModule(types, t.id) };
    }
  }

  private cached(t: Type): Type | undefined {
    return this.remapped.get(keyOf(t));
  }

  private remapResource(types: Types, id: ResourceId): ResourceId {
    const hit = this.cached({ kind: "resource", id });
    if (hit?.kind === "resource") {
      const owner = this.types.resource(hit.id).aliasOwner;
      if (owner !== undefined) this.importOwner(owner);
      return hit.id;
    }
    const r = types.resource(id);
    const out: Resource = { name: r.name };
    if (r.aliasOf !== undefined) {
      if (r.aliasOwner !== undefined) {
        const owner = this.remapInterface(types, r.aliasOwner);
        out.aliasOwner = owner;
        this.importOwner(owner);
      }
      out.aliasOf = this.remapResource(types, r.aliasOf);
    }
    const nid = this.types.addResource(out);
    this.remapped.set(keyOf({ kind: "resource", id }), { kind: "resource", id: nid });
    return nid;
  }

  /**
   * A resource aliased from an interface is encoded as an alias of that interface's
   * instance, so at the top level the interface must be imported too. Inside a component
   * type the interface is one of that type's own imports or exports, declared there: an
   * import of it here is one nothing uses.
   */
  private importOwner(owner: InterfaceId): void {
    if (this.worldDepth > 0) return;
    const ownerName = this.types.iface(owner).id;
    if (ownerName !== undefined && !this.imports.has(ownerName)) this.imports.set(ownerName, { kind: "instance", id: owner });
  }

  private remapFunc(types: Types, id: FuncTypeId): FuncTypeId {
    const hit = this.cached({ kind: "func", id });
    if (hit?.kind === "func") return hit.id;
    const f = types.func(id);
    const params = new Map([...f.params].map(([n, v]) => [n, this.remapValue(types, v)] as [string, ValueType]));
    const result = f.result === undefined ? undefined : this.remapValue(types, f.result);
    const nid = this.types.addFunc(result === undefined ? { params } : { params, result });
    this.remapped.set(keyOf({ kind: "func", id }), { kind: "func", id: nid });
    return nid;
  }

  private remapValue(types: Types, v: ValueType): ValueType {
    switch (v.kind) {
      case "primitive": return v;
      case "own": return { kind: "own", resource: this.remapResource(types, v.resource) };
      case "borrow": return { kind: "borrow", resource: this.remapResource(types, v.resource) };
      case "defined": {
        const id = this.remapDefined(types, v.id);
        return { kind: "defined", id, containsBorrow: v.containsBorrow };
      }
    }
  }

  private remapDefined(types: Types, id: DefinedTypeId): DefinedTypeId {
    const hit = this.cached({ kind: "value", type: { kind: "defined", id, containsBorrow: false } });
    if (hit?.kind === "value" && hit.type.kind === "defined") return hit.type.id;
    const d = types.definedType(id);
    const rv = (x: ValueType): ValueType => this.remapValue(types, x);
    let out: DefinedType;
    switch (d.kind) {
      case "tuple": out = { kind: "tuple", types: d.types.map(rv) }; break;
      case "list": out = d.length === undefined ? { kind: "list", element: rv(d.element) } : { kind: "list", element: rv(d.element), length: d.length }; break;
      case "option": out = { kind: "option", some: rv(d.some) }; break;
      case "result": {
        const r: { kind: "result"; ok?: ValueType; err?: ValueType } = { kind: "result" };
        if (d.ok !== undefined) r.ok = rv(d.ok);
        if (d.err !== undefined) r.err = rv(d.err);
        out = r;
        break;
      }
      case "variant": out = { kind: "variant", cases: new Map([...d.cases].map(([n, t]) => [n, t === undefined ? undefined : rv(t)])) }; break;
      case "record": out = { kind: "record", fields: new Map([...d.fields].map(([n, t]) => [n, rv(t)])) }; break;
      case "flags": out = { kind: "flags", names: [...d.names] }; break;
      case "enum": out = { kind: "enum", names: [...d.names] }; break;
      case "alias": out = { kind: "alias", target: rv(d.target) }; break;
      case "stream": out = d.element === undefined ? { kind: "stream" } : { kind: "stream", element: rv(d.element) }; break;
      case "future": out = d.element === undefined ? { kind: "future" } : { kind: "future", element: rv(d.element) }; break;
    }
    const nid = this.types.addDefined(out);
    this.remapped.set(`d:${id}`, { kind: "value", type: { kind: "defined", id: nid, containsBorrow: false } });
    return nid;
  }

  private remapInterface(types: Types, id: InterfaceId): InterfaceId {
    const src = types.iface(id);
    if (src.id !== undefined) {
      let existing = this.interfaces.get(src.id);
      if (existing === undefined) {
        const alt = alternateLookupKey(src.id);
        if (alt !== undefined) {
          for (const [n, i] of this.interfaces) if (alternateLookupKey(n)?.key === alt.key) { existing = i; break; }
        }
      }
      if (existing !== undefined) {
        const ex = existing;
        context(`failed to merge interface \`${src.id}\``, () => this.mergeInterface(ex, types, id));
        this.interfaces.set(src.id, ex);
        return ex;
      }
    }
    const hit = this.cached({ kind: "interface", id });
    if (hit?.kind === "interface") return hit.id;
    const uses = new Map<string, { interface: InterfaceId; name?: string }>();
    for (const [n, u] of src.uses) {
      if (types.iface(u.interface).id === undefined) fail(`used type \`${n}\` is from an interface without an identifier`);
      const ri = this.remapInterface(types, u.interface);
      uses.set(n, u.name === undefined ? { interface: ri } : { interface: ri, name: u.name });
    }
    const exports = new Map<string, ItemKind>();
    for (const [n, k] of src.exports) exports.set(n, this.remapItem(types, k));
    const nid = this.types.addInterface(src.id === undefined ? { uses, exports } : { id: src.id, uses, exports });
    this.remapped.set(keyOf({ kind: "interface", id }), { kind: "interface", id: nid });
    if (src.id !== undefined) this.interfaces.set(src.id, nid);
    return nid;
  }

  private remapWorld(types: Types, id: WorldId): WorldId {
    const hit = this.cached({ kind: "world", id });
    if (hit?.kind === "world") return hit.id;
    this.worldDepth++;
    try {
      return this.remapWorldBody(types, id);
    } finally {
      this.worldDepth--;
    }
  }

  private remapWorldBody(types: Types, id: WorldId): WorldId {
    const src = types.world(id);
    const uses = new Map<string, { interface: InterfaceId; name?: string }>();
    for (const [n, u] of src.uses) {
      if (types.iface(u.interface).id === undefined) fail(`used type \`${n}\` is from an interface without an identifier`);
      const ri = this.remapInterface(types, u.interface);
      uses.set(n, u.name === undefined ? { interface: ri } : { interface: ri, name: u.name });
    }
    const imports = new Map<string, ItemKind>();
    for (const [n, k] of src.imports) imports.set(n, this.remapItem(types, k));
    const exports = new Map<string, ItemKind>();
    for (const [n, k] of src.exports) exports.set(n, this.remapItem(types, k));
    const nid = this.types.addWorld(src.id === undefined ? { uses, imports, exports } : { id: src.id, uses, imports, exports });
    this.remapped.set(keyOf({ kind: "world", id }), { kind: "world", id: nid });
    return nid;
  }

  private remapModule(types: Types, id: ModuleTypeId): ModuleTypeId {
    const hit = this.cached({ kind: "module", id });
    if (hit?.kind === "module") return hit.id;
    const m = types.module(id);
    const nid = this.types.addModule({ imports: new Map(m.imports), exports: new Map(m.exports) });
    this.remapped.set(keyOf({ kind: "module", id }), { kind: "module", id: nid });
    return nid;
  }
}
