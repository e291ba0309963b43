/**
 * Turns a component binary into a composition Package: reads it (reader.ts) and converts the
 * reader's type identities into the shared type model (types.ts), inside the caller's
 * `Types` arena.
 *
 * Conversion rules that the encoder relies on (they match what wac-types does, so encoded
 * output matches the reference byte for byte):
 * - each distinct type identity becomes one model type (cached), so `(eq N)` exports and
 *   imports get their own ids while references through an index share them;
 * - a resource seen again under another name becomes an alias resource of the first one,
 *   remembering the interface that owns the original (for `alias export` encoding);
 * - inside instance and component types, a type export that names a type owned by another
 *   interface is recorded in `uses` (WIT `use`).
 */
import { readFileSync } from "node:fs";
import type { Package } from "../compose/graph.ts";
import { readComponent } from "./reader.ts";
import type { ComponentFile } from "./skeleton.ts";
import {
  type DefinedType, type FuncTypeId, type InterfaceId, type ItemKind, type ModuleTypeId, type ResourceId,
  type Type, type Types, type ValueType, type WorldId,
} from "./types.ts";
import { peelOf, type WAny, type WCompType, type WDefined, type WEnt, type WFunc, type WInstType, type WModType, type WRes, type WVal } from "./wtypes.ts";
import { validateExternName } from "./extern-name.ts";

type Owner = { k: "interface"; id: InterfaceId } | { k: "world"; id: WorldId };

class Converter {
  private readonly cache = new Map<object, unknown>();
  private readonly resourceMap = new Map<object, ResourceId>();
  private readonly owners = new Map<WAny, { owner: Owner; name: string }>();

  constructor(private readonly types: Types) {}

  entity(name: string, ent: WEnt): ItemKind {
    switch (ent.k) {
      case "module": return { kind: "module", id: this.module(ent.t) };
      case "value": return { kind: "value", type: this.val(ent.t) };
      case "type": return { kind: "type", type: this.ty(name, ent.created) };
      case "func": return { kind: "func", id: this.func(ent.t) };
      case "instance": return { kind: "instance", id: this.iface(name, ent.t) };
      case "component": return { kind: "component", id: this.world(name, ent.t) };
    }
  }

  private ty(name: string, t: WAny): Type {
    switch (t.w) {
      case "defined": return { kind: "value", type: this.defined(t) };
      case "func": return { kind: "func", id: this.func(t) };
      case "component": return { kind: "world", id: this.world(undefined, t) };
      case "instance": return { kind: "interface", id: this.iface(undefined, t) };
      case "resource": return { kind: "resource", id: this.resource(name, t) };
    }
  }

  val(v: WVal): ValueType {
    return "prim" in v ? { kind: "primitive", type: v.prim } : this.defined(v);
  }

  private defined(d: WDefined): ValueType {
    const hit = this.cache.get(d) as ValueType | undefined;
    if (hit !== undefined) return hit;
    const def = d.def;
    let vt: ValueType;
    const mk = (x: DefinedType): ValueType => this.types.definedValue(x);
    switch (def.k) {
      case "prim": vt = mk({ kind: "alias", target: { kind: "primitive", type: def.p } }); break;
      case "record": vt = mk({ kind: "record", fields: new Map(def.fields.map(([n, t]) => [n, this.val(t)])) }); break;
      case "variant": vt = mk({ kind: "variant", cases: new Map(def.cases.map(([n, t]) => [n, t === undefined ? undefined : this.val(t)])) }); break;
      case "list": vt = mk(def.len === undefined ? { kind: "list", element: this.val(def.el) } : { kind: "list", element: this.val(def.el), length: def.len }); break;
      case "tuple": vt = mk({ kind: "tuple", types: def.types.map((t) => this.val(t)) }); break;
      case "flags": vt = mk({ kind: "flags", names: [...def.names] }); break;
      case "enum": vt = mk({ kind: "enum", names: [...def.names] }); break;
      case "option": vt = mk({ kind: "option", some: this.val(def.t) }); break;
      case "result": {
        const x: { kind: "result"; ok?: ValueType; err?: ValueType } = { kind: "result" };
        if (def.ok !== undefined) x.ok = this.val(def.ok);
        if (def.err !== undefined) x.err = this.val(def.err);
        vt = mk(x);
        break;
      }
      case "own": vt = { kind: "own", resource: this.resourceRef(def.r) }; break;
      case "borrow": vt = { kind: "borrow", resource: this.resourceRef(def.r) }; break;
      case "stream": vt = mk(def.t === undefined ? { kind: "stream" } : { kind: "stream", element: this.val(def.t) }); break;
      case "future": vt = mk(def.t === undefined ? { kind: "future" } : { kind: "future", element: this.val(def.t) }); break;
    }
    this.cache.set(d, vt);
    return vt;
  }

  /** A resource referenced by own/borrow: normally already converted under its import/export name. */
  private resourceRef(r: WRes): ResourceId {
    const hit = this.cache.get(r) as ResourceId | undefined;
    if (hit !== undefined) return hit;
    return this.resource(r.underlying.name || "resource", r);
  }

  private func(f: WFunc): FuncTypeId {
    const hit = this.cache.get(f) as FuncTypeId | undefined;
    if (hit !== undefined) return hit;
    const params = new Map(f.params.map(([n, t]) => [n, this.val(t)] as [string, ValueType]));
    const result = f.result === undefined ? undefined : this.val(f.result);
    const id = this.types.addFunc(result === undefined ? { params, ...(f.async ? { async: true } : {}) } : { params, result, ...(f.async ? { async: true } : {}) });
    this.cache.set(f, id);
    return id;
  }

  private module(m: WModType): ModuleTypeId {
    const hit = this.cache.get(m) as ModuleTypeId | undefined;
    if (hit !== undefined) return hit;
    const id = this.types.addModule({
      imports: new Map(m.imports.map((i) => [`${i.module}\u0000${i.name}`, i])),
      exports: new Map(m.exports),
    });
    this.cache.set(m, id);
    return id;
  }

  private iface(name: string | undefined, t: WInstType): InterfaceId {
    const hit = this.cache.get(t) as InterfaceId | undefined;
    if (hit !== undefined) return hit;
    const ifaceName = name !== undefined && name.includes(":") ? name : undefined;
    const id = this.types.addInterface(ifaceName === undefined ? { uses: new Map(), exports: new Map() } : { id: ifaceName, uses: new Map(), exports: new Map() });
    this.cache.set(t, id);
    const owner: Owner = { k: "interface", id };
    for (const [n, ent] of t.exports) {
      const kind = this.entity(n, ent);
      if (ent.k === "type") {
        this.useOrOwn(owner, n, ent.referenced, ent.created);
        if (kind.kind === "type" && kind.type.kind === "resource") {
          const res = this.types.resource(kind.type.id);
          if (res.aliasOwner === id) delete res.aliasOwner;
        }
      }
      this.types.iface(id).exports.set(n, kind);
    }
    return id;
  }

  private world(name: string | undefined, t: WCompType): WorldId {
    const hit = this.cache.get(t) as WorldId | undefined;
    if (hit !== undefined) return hit;
    const worldName = name !== undefined && name.includes(":") ? name : undefined;
    const id = this.types.addWorld(worldName === undefined
      ? { uses: new Map(), imports: new Map(), exports: new Map() }
      : { id: worldName, uses: new Map(), imports: new Map(), exports: new Map() });
    this.cache.set(t, id);
    for (const [n, ent] of t.imports) {
      const kind = this.entity(n, ent);
      if (ent.k === "type") this.useOrOwn({ k: "world", id }, n, ent.referenced, ent.created);
      this.types.world(id).imports.set(n, kind);
    }
    for (const [n, ent] of t.exports) this.types.world(id).exports.set(n, this.entity(n, ent));
    return id;
  }

  private useOrOwn(owner: Owner, name: string, referenced: WAny, created: WAny): void {
    const found = this.findOwner(referenced);
    if (found !== undefined) {
      if (found.owner.k === "interface" && !(owner.k === "interface" && owner.id === found.owner.id)) {
        const used = found.name === name ? { interface: found.owner.id } : { interface: found.owner.id, name: found.name };
        (owner.k === "interface" ? this.types.iface(owner.id).uses : this.types.world(owner.id).uses).set(name, used);
      }
      return;
    }
    if (!this.owners.has(created)) this.owners.set(created, { owner, name });
  }

  private findOwner(t: WAny): { owner: Owner; name: string } | undefined {
    let cur: WAny | undefined = t;
    for (let guard = 0; cur !== undefined && guard < 100_000; guard++) {
      const hit = this.owners.get(cur);
      if (hit !== undefined) return hit;
      cur = peelOf(cur);
    }
    return undefined;
  }

  private resource(name: string, r: WRes): ResourceId {
    const hit = this.cache.get(r) as ResourceId | undefined;
    if (hit !== undefined) return hit;
    const source = this.resourceMap.get(r.underlying);
    if (source !== undefined) {
      const owner = this.findOwner(r);
      const id = this.types.addResource(owner?.owner.k === "interface"
        ? { name, aliasOf: source, aliasOwner: owner.owner.id }
        : { name, aliasOf: source });
      this.cache.set(r, id);
      return id;
    }
    const id = this.types.addResource({ name });
    this.resourceMap.set(r.underlying, id);
    this.cache.set(r, id);
    return id;
  }
}

/**
 * Reads a component binary into a Package whose types live in `types` (the graph's arena).
 * `name` is `ns:pkg`; `version` is semver without `@`.
 */
export function packageFromBytes(name: string, version: string | undefined, bytes: Uint8Array, types: Types): Package {
  const read = readComponent(bytes);
  const conv = new Converter(types);
  const imports = new Map<string, ItemKind>();
  for (const [n, ent] of read.imports) imports.set(n, conv.entity(n, ent));
  const exports = new Map<string, ItemKind>();
  for (const [n, ent] of read.exports) exports.set(n, conv.entity(n, ent));
  const ty = types.addWorld({ uses: new Map(), imports, exports: new Map(exports) });
  const instanceType = types.addInterface({ uses: new Map(), exports });
  const pkg: Package = { name, bytes, ty, instanceType, definitions: findDefinitions(types, ty) };
  if (version !== undefined) pkg.version = version;
  return pkg;
}

/**
 * `packageFromBytes` for a file read by `readComponentFile`. The package keeps the file's
 * source so the encoder copies the file; when the reader needs a module the skeleton left out,
 * the whole file is read and used instead.
 */
export function packageFromFile(name: string, version: string | undefined, file: Pick<ComponentFile, "bytes" | "source">, types: Types): Package {
  if (file.source === undefined) return packageFromBytes(name, version, file.bytes, types);
  try {
    const pkg = packageFromBytes(name, version, file.bytes, types);
    pkg.source = file.source;
    return pkg;
  } catch {
    // A stand-in module was needed (StandInModuleError), or the component is invalid: offsets
    // in the skeleton are not offsets in the file, so the error comes from reading the file.
    // The reader adds nothing to `types` before it has read the whole component, so retrying is clean.
  }
  const bytes = readFileSync(file.source.path);
  return packageFromBytes(name, version, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), types);
}

/** WIT-package style definitions: exported component types wrapping one interface or world. */
function findDefinitions(types: Types, world: WorldId): Map<string, ItemKind> {
  const defs = new Map<string, ItemKind>();
  for (const [name, kind] of types.world(world).exports) {
    if (kind.kind !== "type" || kind.type.kind !== "world") continue;
    const inner = types.world(kind.type.id);
    if (inner.exports.size !== 1) continue;
    const [exportName, exportKind] = [...inner.exports][0]!;
    let nameKind: string;
    try {
      nameKind = validateExternName(exportName);
    } catch {
      continue;
    }
    if (nameKind !== "interface") continue;
    if (exportKind.kind === "instance") defs.set(name, { kind: "type", type: { kind: "interface", id: exportKind.id } });
    else if (exportKind.kind === "component") defs.set(name, { kind: "type", type: { kind: "world", id: exportKind.id } });
  }
  return defs;
}

