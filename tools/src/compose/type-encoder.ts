/**
 * Encodes model types (types.ts) into component binary type definitions, inside the top
 * level of a component, a component type or an instance type.
 *
 * Scoping mirrors the binary format: each component/instance type has its own type index
 * space. Types used from another interface (`uses`) are aliased from the imported instance
 * of that interface, and inside a nested type scope they are reached with `alias outer`.
 * Resources are tracked by name per scope so `own`/`borrow` and aliases of a resource refer
 * to the index it was imported or exported under.
 */
import { Writer } from "../component/binary.ts";
import type {
  CoreExtern, CoreValType, DefinedTypeId, FuncTypeId, InterfaceId, ItemKind, ModuleTypeId, PrimitiveType,
  Resource, ResourceId, Type, Types, ValueType, WorldId,
} from "../component/types.ts";
import { CompositionError } from "./graph.ts";

const PRIM_CODE: Record<PrimitiveType, number> = {
  bool: 0x7f, s8: 0x7e, u8: 0x7d, s16: 0x7c, u16: 0x7b, s32: 0x7a, u32: 0x79, s64: 0x78, u64: 0x77,
  f32: 0x76, f64: 0x75, char: 0x74, string: 0x73,
};

/** How an import/export is described (`externdesc`). */
export type TypeRef =
  | { k: "module"; idx: number }
  | { k: "func"; idx: number }
  | { k: "value"; val: EncodedVal }
  | { k: "type"; eq?: number }
  | { k: "instance"; idx: number }
  | { k: "component"; idx: number };

/** A value type as encoded: a primitive code or a type index. */
export type EncodedVal = { prim: number } | { idx: number };

export function writeVal(w: Writer, v: EncodedVal): void {
  if ("prim" in v) w.byte(v.prim);
  // Signed, so an index can never be mistaken for a primitive type code.
  else w.s33(v.idx);
}

export function writeTypeRef(w: Writer, r: TypeRef): void {
  switch (r.k) {
    case "module": w.byte(0x00).byte(0x11).u32(r.idx); break;
    case "func": w.byte(0x01).u32(r.idx); break;
    case "value": w.byte(0x02).byte(0x00); writeVal(w, r.val); break;
    case "type": if (r.eq === undefined) w.byte(0x03).byte(0x01); else w.byte(0x03).byte(0x00).u32(r.eq); break;
    case "component": w.byte(0x04).u32(r.idx); break;
    case "instance": w.byte(0x05).u32(r.idx); break;
  }
}

/** Sort byte(s) of an item kind, as used by aliases, exports and instantiation arguments. */
export function sortOf(kind: ItemKind["kind"]): number[] {
  switch (kind) {
    case "module": return [0x00, 0x11];
    case "func": return [0x01];
    case "value": return [0x02];
    case "type": return [0x03];
    case "component": return [0x04];
    case "instance": return [0x05];
  }
}

/**
 * Something type definitions can be added to: the top-level component builder, a component
 * type or an instance type. Counts follow the binary format's index spaces.
 */
export interface Encodable {
  readonly kind: "builder" | "component" | "instance";
  typeCount: number;
  instanceCount: number;
  coreTypeCount: number;
  /** Adds a type definition (the bytes of a `deftype`). */
  addType(def: Uint8Array): number;
  /** Adds a core type definition (module type). */
  addCoreType(def: Uint8Array): number;
  /** `alias export instance name (type)`. */
  aliasTypeExport(instance: number, name: string): number;
  /** `alias outer count index (type)`. */
  aliasOuterType(count: number, index: number): number;
  /** Import (component type or builder). Returns the index in the imported item's space. */
  importItem(name: string, ref: TypeRef): number;
  /** Export declaration (component or instance type). Returns the type index before the export. */
  exportDecl(name: string, ref: TypeRef): number;
}

/** A component or instance type under construction (a list of declarations). */
export class DeclEncodable implements Encodable {
  typeCount = 0;
  instanceCount = 0;
  coreTypeCount = 0;
  private readonly decls: Uint8Array[] = [];
  constructor(readonly kind: "component" | "instance") {}

  addType(def: Uint8Array): number {
    this.decls.push(new Writer(def.length + 1).byte(0x01).raw(def).bytes());
    return this.typeCount++;
  }

  addCoreType(def: Uint8Array): number {
    this.decls.push(new Writer(def.length + 1).byte(0x00).raw(def).bytes());
    return this.coreTypeCount++;
  }

  aliasTypeExport(instance: number, name: string): number {
    this.decls.push(new Writer().byte(0x02).byte(0x03).byte(0x00).u32(instance).str(name).bytes());
    return this.typeCount++;
  }

  aliasOuterType(count: number, index: number): number {
    this.decls.push(new Writer().byte(0x02).byte(0x03).byte(0x02).u32(count).u32(index).bytes());
    return this.typeCount++;
  }

  importItem(name: string, ref: TypeRef): number {
    if (this.kind !== "component") throw new CompositionError("ENCODE_INTERNAL", "imports are only allowed in component types");
    const w = new Writer().byte(0x03).externName(name);
    writeTypeRef(w, ref);
    this.decls.push(w.bytes());
    return this.count(ref);
  }

  exportDecl(name: string, ref: TypeRef): number {
    const before = this.typeCount;
    const w = new Writer().byte(0x04).externName(name);
    writeTypeRef(w, ref);
    this.decls.push(w.bytes());
    this.count(ref);
    return before;
  }

  private count(ref: TypeRef): number {
    if (ref.k === "type") return this.typeCount++;
    if (ref.k === "instance") return this.instanceCount++;
    return 0;
  }

  /** The `deftype` bytes: 0x41/0x42 followed by the declarations. */
  finish(): Uint8Array {
    const w = new Writer().byte(this.kind === "component" ? 0x41 : 0x42).u32(this.decls.length);
    for (const d of this.decls) w.raw(d);
    return w.bytes();
  }
}

/** Per-scope encoding state. */
export class Scope {
  /** Encoded type indexes, per source arena, keyed by type identity. */
  readonly typeIndexes = new Map<Types, Map<string, number>>();
  /** Interface id -> instance index it was imported as. */
  readonly instances = new Map<string, number>();
  /** Interface id -> the interface (and its arena) imported under that id, for aliasing its types. */
  readonly instanceTypes = new Map<string, { types: Types; iface: InterfaceId }>();
  /** Names `use`d in this scope -> the type index of their alias. */
  typeAliases = new Map<string, number>();
  /** Resource name -> type index. */
  readonly resources = new Map<string, number>();
  constructor(readonly encodable: Encodable) {}

  getType(types: Types, key: string): number | undefined {
    return this.typeIndexes.get(types)?.get(key);
  }

  setType(types: Types, key: string, idx: number): void {
    let m = this.typeIndexes.get(types);
    if (m === undefined) this.typeIndexes.set(types, (m = new Map()));
    m.set(key, idx);
  }
}

export class EncodeState {
  readonly scopes: Scope[] = [];
  current: Scope;
  constructor(root: Encodable) {
    this.current = new Scope(root);
  }

  push(e: Encodable): void {
    this.scopes.push(this.current);
    this.current = new Scope(e);
  }

  pop(): Encodable {
    const prev = this.current;
    const next = this.scopes.pop();
    if (next === undefined) throw new CompositionError("ENCODE_INTERNAL", "type scope stack underflow");
    this.current = next;
    return prev.encodable;
  }

  /** Index of a `use`d type name here, adding an outer alias when it was used by the parent. */
  usedTypeIndex(name: string): number | undefined {
    const local = this.current.typeAliases.get(name);
    if (local !== undefined) return local;
    const parent = this.scopes[this.scopes.length - 1];
    const outer = parent?.typeAliases.get(name);
    if (outer !== undefined) return this.current.encodable.aliasOuterType(1, outer);
    return undefined;
  }
}

export function typeKey(t: Type): string {
  if (t.kind !== "value") return `${t.kind}:${t.id}`;
  return valueKey(t.type);
}

function valueKey(v: ValueType): string {
  return v.kind === "primitive" ? `p:${v.type}` : v.kind === "defined" ? `d:${v.id}` : `${v.kind}:${v.resource}`;
}

export class TypeEncoder {
  constructor(readonly types: Types) {}

  ty(state: EncodeState, t: Type, name: string | undefined): number {
    const key = typeKey(t);
    const hit = state.current.getType(this.types, key);
    if (hit !== undefined) return hit;
    if (name !== undefined) {
      const used = state.usedTypeIndex(name);
      if (used !== undefined) {
        state.current.setType(this.types, key, used);
        return used;
      }
    }
    let index: number;
    switch (t.kind) {
      case "resource": throw new CompositionError("ENCODE_INTERNAL", "cannot encode a resource as a type definition");
      case "func": index = this.funcType(state, t.id); break;
      case "value": {
        const v = t.type;
        if (v.kind === "primitive") index = this.primitive(state, v.type);
        else if (v.kind === "defined") index = this.defined(state, v.id);
        else index = this.handle(state, v.kind, v.resource);
        break;
      }
      case "interface": index = this.instance(state, t.id, false); break;
      case "world": index = this.component(state, t.id); break;
      case "module": index = this.module(state, t.id); break;
    }
    state.current.setType(this.types, key, index);
    return index;
  }

  valueType(state: EncodeState, v: ValueType): EncodedVal {
    const key = valueKey(v);
    const hit = state.current.getType(this.types, key);
    if (hit !== undefined) return { idx: hit };
    let index: number;
    if (v.kind === "primitive") return { prim: PRIM_CODE[v.type] };
    if (v.kind === "defined") index = this.aliasFromImportedInstance(state, v.id) ?? this.defined(state, v.id);
    else index = this.handle(state, v.kind, v.resource);
    state.current.setType(this.types, key, index);
    return { idx: index };
  }

  /**
   * A defined type that is the export of an interface imported in this scope must be
   * referenced through that instance (an import whose type points at a local re-definition
   * of it is not valid), so alias it from the instance.
   */
  private aliasFromImportedInstance(state: EncodeState, id: DefinedTypeId): number | undefined {
    for (const [iid, info] of state.current.instanceTypes) {
      if (info.types !== this.types) continue;
      for (const [name, kind] of this.types.iface(info.iface).exports) {
        if (kind.kind === "type" && kind.type.kind === "value" && kind.type.type.kind === "defined" && kind.type.type.id === id) {
          const instance = state.current.instances.get(iid);
          if (instance === undefined) continue;
          return state.current.encodable.aliasTypeExport(instance, name);
        }
      }
    }
    return undefined;
  }

  /** Records that interface `iid` was imported as instance `index` in the current scope. */
  registerInstance(state: EncodeState, iid: string, index: number, iface: InterfaceId): void {
    state.current.instances.set(iid, index);
    state.current.instanceTypes.set(iid, { types: this.types, iface });
  }

  private add(state: EncodeState, w: Writer): number {
    return state.current.encodable.addType(w.bytes());
  }

  private primitive(state: EncodeState, p: PrimitiveType): number {
    return this.add(state, new Writer(1).byte(PRIM_CODE[p]));
  }

  private handle(state: EncodeState, kind: "own" | "borrow", res: ResourceId): number {
    const name = this.types.resource(res).name;
    const idx = state.current.resources.get(name);
    if (idx === undefined) throw new CompositionError("ENCODE_INTERNAL", `resource \`${name}\` is not available in the current type scope`);
    return this.add(state, new Writer().byte(kind === "own" ? 0x69 : 0x68).u32(idx));
  }

  private funcType(state: EncodeState, id: FuncTypeId): number {
    const f = this.types.func(id);
    const params = [...f.params].map(([n, t]) => [n, this.valueType(state, t)] as const);
    const result = f.result === undefined ? undefined : this.valueType(state, f.result);
    const w = new Writer().byte(f.async === true ? 0x43 : 0x40).u32(params.length);
    for (const [n, t] of params) { w.str(n); writeVal(w, t); }
    if (result === undefined) w.byte(0x01).byte(0x00);
    else { w.byte(0x00); writeVal(w, result); }
    return this.add(state, w);
  }

  private defined(state: EncodeState, id: DefinedTypeId): number {
    const d = this.types.definedType(id);
    const vt = (v: ValueType): EncodedVal => this.valueType(state, v);
    const opt = (w: Writer, v: EncodedVal | undefined): void => { if (v === undefined) w.byte(0x00); else { w.byte(0x01); writeVal(w, v); } };
    switch (d.kind) {
      case "tuple": {
        const ts = d.types.map(vt);
        const w = new Writer().byte(0x6f).u32(ts.length);
        ts.forEach((t) => writeVal(w, t));
        return this.add(state, w);
      }
      case "list": {
        const el = vt(d.element);
        const w = new Writer().byte(d.length === undefined ? 0x70 : 0x67);
        writeVal(w, el);
        if (d.length !== undefined) w.u32(d.length);
        return this.add(state, w);
      }
      case "option": { const t = vt(d.some); const w = new Writer().byte(0x6b); writeVal(w, t); return this.add(state, w); }
      case "result": {
        const ok = d.ok === undefined ? undefined : vt(d.ok);
        const err = d.err === undefined ? undefined : vt(d.err);
        const w = new Writer().byte(0x6a);
        opt(w, ok);
        opt(w, err);
        return this.add(state, w);
      }
      case "variant": {
        const cases = [...d.cases].map(([n, t]) => [n, t === undefined ? undefined : vt(t)] as const);
        const w = new Writer().byte(0x71).u32(cases.length);
        for (const [n, t] of cases) { w.str(n); opt(w, t); w.byte(0x00); }
        return this.add(state, w);
      }
      case "record": {
        const fields = [...d.fields].map(([n, t]) => [n, vt(t)] as const);
        const w = new Writer().byte(0x72).u32(fields.length);
        for (const [n, t] of fields) { w.str(n); writeVal(w, t); }
        return this.add(state, w);
      }
      case "flags": case "enum": {
        const w = new Writer().byte(d.kind === "flags" ? 0x6e : 0x6d).u32(d.names.length);
        d.names.forEach((n) => w.str(n));
        return this.add(state, w);
      }
      case "stream": case "future": {
        const el = d.element === undefined ? undefined : vt(d.element);
        const w = new Writer().byte(d.kind === "stream" ? 0x66 : 0x65);
        opt(w, el);
        return this.add(state, w);
      }
      case "alias": {
        const t = d.target;
        if (t.kind === "primitive") return this.primitive(state, t.type);
        if (t.kind === "defined") return this.defined(state, t.id);
        return this.handle(state, t.kind, t.resource);
      }
    }
  }

  private useAliases(state: EncodeState, uses: Map<string, { interface: InterfaceId; name?: string }>, owner?: Map<string, ItemKind>): void {
    state.current.typeAliases = new Map();
    for (const [name, used] of uses) {
      const iface = this.types.iface(used.interface);
      const iid = iface.id;
      if (iid === undefined) throw new CompositionError("ENCODE_INTERNAL", `used type \`${name}\` comes from an interface without an id`);
      const instance = state.current.instances.get(iid);
      if (instance === undefined) throw new CompositionError("ENCODE_INTERNAL", `interface \`${iid}\` is not imported in the current scope`);
      const exportName = used.name ?? name;
      const index = state.current.encodable.aliasTypeExport(instance, exportName);
      state.current.typeAliases.set(name, index);
      // Later references by identity (not by name) must reuse the alias too.
      const usedKind = iface.exports.get(exportName);
      if (usedKind?.kind === "type") state.current.setType(this.types, typeKey(usedKind.type), index);
      const ownKind = owner?.get(name);
      if (ownKind?.kind === "type") state.current.setType(this.types, typeKey(ownKind.type), index);
    }
  }

  instance(state: EncodeState, id: InterfaceId, typesOnly: boolean): number {
    const iface = this.types.iface(id);
    for (const used of iface.uses.values()) this.importDeps(state, used.interface);
    this.useAliases(state, iface.uses, iface.exports);
    state.push(new DeclEncodable("instance"));
    for (const [name, kind] of iface.exports) {
      if (kind.kind === "type" || !typesOnly) this.export(state, name, kind);
    }
    const inst = state.pop() as DeclEncodable;
    return state.current.encodable.addType(inst.finish());
  }

  component(state: EncodeState, id: WorldId): number {
    const world = this.types.world(id);
    state.push(new DeclEncodable("component"));
    for (const used of world.uses.values()) this.importDeps(state, used.interface);
    this.useAliases(state, world.uses, world.imports);
    for (const [name, kind] of world.imports) this.import(state, name, kind);
    for (const [name, kind] of world.exports) this.export(state, name, kind);
    const comp = state.pop() as DeclEncodable;
    return state.current.encodable.addType(comp.finish());
  }

  private importDeps(state: EncodeState, id: InterfaceId): void {
    const iface = this.types.iface(id);
    const iid = iface.id;
    if (iid === undefined) throw new CompositionError("ENCODE_INTERNAL", "a used interface has no id");
    if (state.current.instances.has(iid)) return;
    for (const used of iface.uses.values()) this.importDeps(state, used.interface);
    const index = this.instance(state, id, state.scopes.length > 0);
    const importIndex = state.current.encodable.importItem(iid, { k: "instance", idx: index });
    this.registerInstance(state, iid, importIndex, id);
  }

  /** Top-level definition of a named interface: `(type (component (export "id" (instance ...))))`. */
  interfaceDefinition(state: EncodeState, id: InterfaceId): number {
    const iid = this.types.iface(id).id;
    if (iid === undefined) throw new CompositionError("ENCODE_INTERNAL", "an interface definition must have an id");
    state.push(new DeclEncodable("component"));
    for (const used of this.types.iface(id).uses.values()) this.importDeps(state, used.interface);
    const index = this.instance(state, id, false);
    state.current.encodable.exportDecl(iid, { k: "instance", idx: index });
    const comp = state.pop() as DeclEncodable;
    return state.current.encodable.addType(comp.finish());
  }

  /** Top-level definition of a named world: `(type (component (export "id" (component ...))))`. */
  worldDefinition(state: EncodeState, id: WorldId): number {
    const wid = this.types.world(id).id;
    if (wid === undefined) throw new CompositionError("ENCODE_INTERNAL", "a world definition must have an id");
    state.push(new DeclEncodable("component"));
    const index = this.component(state, id);
    state.current.encodable.exportDecl(wid, { k: "component", idx: index });
    const comp = state.pop() as DeclEncodable;
    return state.current.encodable.addType(comp.finish());
  }

  private module(state: EncodeState, id: ModuleTypeId): number {
    const m = this.types.module(id);
    const decls: Writer[] = [];
    let typeCount = 0;
    const entity = (e: CoreExtern): Writer => {
      const w = new Writer();
      if (e.kind === "func" || e.kind === "tag") {
        const t = new Writer().byte(0x01).byte(0x60).u32(e.params.length);
        e.params.forEach((p) => writeCoreVal(t, p));
        t.u32(e.results.length);
        e.results.forEach((p) => writeCoreVal(t, p));
        decls.push(t);
        const idx = typeCount++;
        if (e.kind === "func") w.byte(0x00).u32(idx);
        else w.byte(0x04).byte(0x00).u32(idx);
      } else if (e.kind === "table") {
        w.byte(0x01);
        writeCoreVal(w, e.element);
        writeLimits(w, e.min, e.max, e.shared === true, e.table64 === true, undefined);
      } else if (e.kind === "memory") {
        w.byte(0x02);
        writeLimits(w, e.min, e.max, e.shared === true, e.memory64 === true, e.pageSizeLog2);
      } else {
        w.byte(0x03);
        writeCoreVal(w, e.type);
        w.byte((e.mutable ? 1 : 0) | (e.shared === true ? 2 : 0));
      }
      return w;
    };
    for (const imp of m.imports.values()) {
      const desc = entity(imp.type);
      decls.push(new Writer().byte(0x00).str(imp.module).str(imp.name).raw(desc.bytes()));
    }
    for (const [name, e] of m.exports) {
      const desc = entity(e);
      decls.push(new Writer().byte(0x03).str(name).raw(desc.bytes()));
    }
    const w = new Writer().byte(0x50).u32(decls.length);
    decls.forEach((d) => w.raw(d.bytes()));
    return state.current.encodable.addCoreType(w.bytes());
  }

  /** An import inside a component type. */
  import(state: EncodeState, name: string, kind: ItemKind): void {
    if (kind.kind === "type" && kind.type.kind === "resource") {
      this.importResource(state, name, kind.type.id);
      return;
    }
    const t = itemTypeOf(kind);
    const index = this.ty(state, t, name);
    switch (kind.kind) {
      case "type": {
        const importIndex = state.current.encodable.importItem(name, { k: "type", eq: index });
        state.current.setType(this.types, typeKey(t), importIndex);
        break;
      }
      case "func": state.current.encodable.importItem(name, { k: "func", idx: index }); break;
      case "instance": {
        const importIndex = state.current.encodable.importItem(name, { k: "instance", idx: index });
        const iid = this.types.iface(kind.id).id;
        if (iid !== undefined) this.registerInstance(state, iid, importIndex, kind.id);
        break;
      }
      case "component": state.current.encodable.importItem(name, { k: "component", idx: index }); break;
      case "module": state.current.encodable.importItem(name, { k: "module", idx: index }); break;
      case "value": state.current.encodable.importItem(name, { k: "value", val: { idx: index } }); break;
    }
  }

  importResource(state: EncodeState, name: string, id: ResourceId): number {
    const existing = state.current.resources.get(name);
    if (existing !== undefined) return existing;
    const res = this.types.resource(id);
    const enc = state.current.encodable;
    let index: number;
    const outer = state.usedTypeIndex(name);
    if (outer !== undefined) {
      index = enc.importItem(name, { k: "type", eq: outer });
    } else {
      // Undefined also for a used resource whose interface is not imported here (a world that
      // includes another world's `use`): wac-parser keeps the item without the `use`, and
      // wac-graph imports it as a resource of its own.
      const source = this.resourceSourceIndex(state, res);
      index = enc.importItem(name, source === undefined ? { k: "type" } : { k: "type", eq: source });
    }
    state.current.resources.set(res.name, index);
    return index;
  }

  /**
   * The index of the resource an alias resource stands for in the current scope: already
   * imported or aliased, else aliased now from the imported instance of its owning interface;
   * undefined when that interface is not imported in this scope.
   */
  private resourceSourceIndex(state: EncodeState, res: Resource): number | undefined {
    if (res.aliasOf === undefined) return undefined;
    const source = this.types.resolveResource(res.aliasOf);
    const sourceName = this.types.resource(source).name;
    const known = state.current.resources.get(sourceName) ?? state.current.getType(this.types, `resource:${source}`);
    if (known !== undefined) return known;
    if (res.aliasOwner === undefined) throw new CompositionError("ENCODE_INTERNAL", `resource \`${res.name}\` aliases \`${sourceName}\`, which is not available and has no owning interface`);
    const iid = this.types.iface(res.aliasOwner).id;
    const instance = iid === undefined ? undefined : state.current.instances.get(iid);
    if (instance === undefined) return undefined;
    const index = state.current.encodable.aliasTypeExport(instance, sourceName);
    state.current.setType(this.types, `resource:${source}`, index);
    return index;
  }

  /** An export inside a component or instance type. */
  export(state: EncodeState, name: string, kind: ItemKind): number {
    if (kind.kind === "type" && kind.type.kind === "resource") return this.exportResource(state, name, kind.type.id);
    const t = itemTypeOf(kind);
    const index = this.ty(state, t, name);
    let ref: TypeRef;
    switch (kind.kind) {
      case "type": ref = { k: "type", eq: index }; break;
      case "func": ref = { k: "func", idx: index }; break;
      case "instance": ref = { k: "instance", idx: index }; break;
      case "component": ref = { k: "component", idx: index }; break;
      case "module": ref = { k: "module", idx: index }; break;
      case "value": ref = { k: "value", val: { idx: index } }; break;
    }
    const instanceIndex = state.current.encodable.instanceCount;
    const out = state.current.encodable.exportDecl(name, ref);
    if (kind.kind === "type") state.current.setType(this.types, typeKey(t), out);
    if (kind.kind === "instance") {
      // An exported instance joins this type's instance index space, so a later export that
      // `use`s its types (`export types; export handler;` in WIT) must alias them from it:
      // importing the interface instead adds an import that nothing supplies.
      const iid = this.types.iface(kind.id).id;
      if (iid !== undefined && !state.current.instances.has(iid)) this.registerInstance(state, iid, instanceIndex, kind.id);
    }
    return out;
  }

  private exportResource(state: EncodeState, name: string, id: ResourceId): number {
    const existing = state.current.resources.get(name);
    if (existing !== undefined) return existing;
    const res = this.types.resource(id);
    const enc = state.current.encodable;
    let index: number;
    const outer = state.usedTypeIndex(name);
    if (outer !== undefined) index = enc.exportDecl(name, { k: "type", eq: outer });
    else if (res.aliasOf !== undefined) {
      const sourceName = this.types.resource(this.types.resolveResource(res.aliasOf)).name;
      const src = state.current.resources.get(sourceName);
      if (src === undefined) throw new CompositionError("ENCODE_INTERNAL", `resource \`${name}\` aliases \`${sourceName}\`, which is not defined in this type`);
      index = enc.exportDecl(name, { k: "type", eq: src });
    } else index = enc.exportDecl(name, { k: "type" });
    state.current.resources.set(res.name, index);
    return index;
  }
}

function itemTypeOf(kind: ItemKind): Type {
  switch (kind.kind) {
    case "type": return kind.type;
    case "func": return { kind: "func", id: kind.id };
    case "instance": return { kind: "interface", id: kind.id };
    case "component": return { kind: "world", id: kind.id };
    case "module": return { kind: "module", id: kind.id };
    case "value": return { kind: "value", type: kind.type };
  }
}

function writeCoreVal(w: Writer, v: CoreValType): void {
  switch (v) {
    case "i32": w.byte(0x7f); return;
    case "i64": w.byte(0x7e); return;
    case "f32": w.byte(0x7d); return;
    case "f64": w.byte(0x7c); return;
    case "v128": w.byte(0x7b); return;
    case "funcref": w.byte(0x70); return;
    case "externref": w.byte(0x6f); return;
    default: throw new CompositionError("UNSUPPORTED", `cannot encode core reference type ${v.ref}`);
  }
}

function writeLimits(w: Writer, min: bigint, max: bigint | undefined, shared: boolean, is64: boolean, pageSizeLog2: number | undefined): void {
  const flags = (max !== undefined ? 1 : 0) | (shared ? 2 : 0) | (is64 ? 4 : 0) | (pageSizeLog2 !== undefined ? 8 : 0);
  w.byte(flags).u64(min);
  if (max !== undefined) w.u64(max);
  if (pageSizeLog2 !== undefined) w.u32(pageSizeLog2);
}
