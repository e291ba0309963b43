import type {
  FuncResults, FuncType as FuncTypeNode, FuncTypeRef, Ident, InlineInterface, InterfaceItem, NamedType,
  PackagePath, TypeDecl, TypeNode, UseDecl, WorldItem,
} from "./ast.ts";
import { SourceError, type Source, type Span } from "./diagnostics.ts";
import type {
  DefinedType, FuncType, FuncTypeId, Interface, InterfaceId, ItemKind, ResourceId, Types, UsedType,
  ValueType, World, WorldId,
} from "../component/types.ts";

/**
 * Converts the WIT-shaped part of the syntax tree (interfaces, worlds, type declarations)
 * into the shared type model. WAC type statements and WIT files go through the same code;
 * they differ only in how names outside the current declaration are found (`TypeHost`) and
 * in whether a name may be used before its declaration (WIT: yes, WAC: no).
 */

export type ScopeEntry =
  | { readonly kind: "value"; readonly type: ValueType }
  | { readonly kind: "resource"; readonly id: ResourceId }
  | { readonly kind: "func"; readonly id: FuncTypeId }
  | { readonly kind: "interface"; readonly id: InterfaceId }
  | { readonly kind: "world"; readonly id: WorldId };

export class Scope {
  readonly entries = new Map<string, ScopeEntry>();
  /** WIT only: declarations not converted yet, converted on first use. */
  readonly pending = new Map<string, () => void>();

  constructor(readonly parent?: Scope) {}

  lookup(name: string): ScopeEntry | undefined {
    let s: Scope | undefined = this;
    while (s !== undefined) {
      const e = s.entries.get(name);
      if (e !== undefined) return e;
      const p = s.pending.get(name);
      if (p !== undefined) {
        s.pending.delete(name);
        p();
        return s.entries.get(name);
      }
      s = s.parent;
    }
    return undefined;
  }
}

export interface TypeHost {
  readonly types: Types;
  readonly source: Source;
  /** WAC_RESOLUTION or WIT_RESOLUTION */
  readonly code: string;
  /** Package the declarations belong to: gives ids like `ns:pkg/iface@ver`. */
  readonly packageName: string;
  readonly version?: string;
  /** A `use x.{..}` / `import x` / `include x` with a bare name. */
  localInterface(id: Ident): InterfaceId;
  localWorld(id: Ident): WorldId;
  /** A reference by package path: `ns:pkg/name[@ver]`. */
  foreignInterface(path: PackagePath): InterfaceId;
  foreignWorld(path: PackagePath): WorldId;
}

export function qualifiedName(pkg: string, name: string, version?: string): string {
  return `${pkg}/${name}${version === undefined ? "" : `@${version}`}`;
}

export class TypeConverter {
  constructor(readonly host: TypeHost) {}

  fail(span: Span, message: string): never {
    throw new SourceError(this.host.code, this.host.source, span, message);
  }

  private get types(): Types {
    return this.host.types;
  }

  // ---------------------------------------------------------------- value types

  valueType(node: TypeNode, scope: Scope): ValueType {
    const t = this.types;
    switch (node.kind) {
      case "primitive":
        if (node.name === "error-context") this.fail(node.span, "`error-context` is not supported by this composer");
        return { kind: "primitive", type: node.name };
      case "tuple":
        return t.definedValue({ kind: "tuple", types: node.types.map((x) => this.valueType(x, scope)) });
      case "list": {
        const element = this.valueType(node.element, scope);
        return t.definedValue(node.length === undefined ? { kind: "list", element } : { kind: "list", element, length: node.length });
      }
      case "option":
        return t.definedValue({ kind: "option", some: this.valueType(node.type, scope) });
      case "result": {
        const d: { kind: "result"; ok?: ValueType; err?: ValueType } = { kind: "result" };
        if (node.ok !== undefined) d.ok = this.valueType(node.ok, scope);
        if (node.err !== undefined) d.err = this.valueType(node.err, scope);
        return t.definedValue(d);
      }
      case "borrow":
      case "own": {
        const inner = node.type;
        if (inner.kind !== "named") this.fail(inner.span, `\`${node.kind}\` must refer to a resource type`);
        const e = scope.lookup(inner.id.name);
        if (e === undefined) this.fail(inner.id.span, `undefined name \`${inner.id.name}\``);
        if (e.kind !== "resource") this.fail(inner.id.span, `\`${inner.id.name}\` (${describeEntry(e, t)}) is not a resource type`);
        return { kind: node.kind, resource: e.id };
      }
      case "future":
      case "stream": {
        const d: DefinedType = node.type === undefined ? { kind: node.kind } : { kind: node.kind, element: this.valueType(node.type, scope) };
        return t.definedValue(d);
      }
      case "named": {
        const e = scope.lookup(node.id.name);
        if (e === undefined) this.fail(node.id.span, `undefined name \`${node.id.name}\``);
        if (e.kind === "value") return e.type;
        if (e.kind === "resource") return { kind: "own", resource: e.id };
        this.fail(node.id.span, `\`${node.id.name}\` is a ${describeEntry(e, t)}, not a value type`);
      }
    }
  }

  // ---------------------------------------------------------------- functions

  private params(list: readonly NamedType[], scope: Scope, into: Map<string, ValueType>): void {
    for (const p of list) {
      if (into.has(p.id.name)) this.fail(p.id.span, `duplicate function parameter \`${p.id.name}\``);
      into.set(p.id.name, this.valueType(p.type, scope));
    }
  }

  private result(results: FuncResults, scope: Scope, span: Span): ValueType | undefined {
    if (results.kind === "none") return undefined;
    if (results.kind === "named") {
      if (results.list.length === 0) return undefined;
      this.fail(span, "named function results are not supported by the component model");
    }
    const v = this.valueType(results.type, scope);
    if (this.types.containsBorrow(v)) this.fail(results.type.span, "function result cannot contain a `borrow` type");
    return v;
  }

  funcType(node: FuncTypeNode, scope: Scope, self?: ResourceId): FuncTypeId {
    const params = new Map<string, ValueType>();
    if (self !== undefined) params.set("self", { kind: "borrow", resource: self });
    this.params(node.params, scope, params);
    const f: FuncType = { params };
    const r = this.result(node.results, scope, node.span);
    if (r !== undefined) f.result = r;
    if (node.async) f.async = true;
    return this.types.addFunc(f);
  }

  funcTypeRef(ref: FuncTypeRef, scope: Scope): FuncTypeId {
    if (ref.kind === "func") return this.funcType(ref, scope);
    const e = scope.lookup(ref.id.name);
    if (e === undefined) this.fail(ref.id.span, `undefined name \`${ref.id.name}\``);
    if (e.kind !== "func") this.fail(ref.id.span, `\`${ref.id.name}\` is a ${describeEntry(e, this.types)}, not a function type`);
    return e.id;
  }

  // ---------------------------------------------------------------- declarations

  private declare(scope: Scope, id: Ident, entry: ScopeEntry): void {
    if (scope.entries.has(id.name)) this.fail(id.span, `\`${id.name}\` is already defined`);
    scope.entries.set(id.name, entry);
  }

  /**
   * Converts one type declaration into `scope` and, through `emit`, the items it adds to the
   * enclosing interface/world (the type, then a resource's functions).
   */
  typeDecl(decl: TypeDecl, scope: Scope, emit: (name: string, kind: ItemKind, span: Span) => void, allowFuncAlias: boolean): ScopeEntry {
    const t = this.types;
    switch (decl.kind) {
      case "variant": {
        const cases = new Map<string, ValueType | undefined>();
        for (const c of decl.cases) {
          if (cases.has(c.id.name)) this.fail(c.id.span, `duplicate variant case \`${c.id.name}\``);
          cases.set(c.id.name, c.type === undefined ? undefined : this.valueType(c.type, scope));
        }
        return this.valueDecl(decl.id, t.definedValue({ kind: "variant", cases }), scope, emit);
      }
      case "record": {
        const fields = new Map<string, ValueType>();
        for (const f of decl.fields) {
          if (fields.has(f.id.name)) this.fail(f.id.span, `duplicate record field \`${f.id.name}\``);
          fields.set(f.id.name, this.valueType(f.type, scope));
        }
        return this.valueDecl(decl.id, t.definedValue({ kind: "record", fields }), scope, emit);
      }
      case "flags":
      case "enum": {
        const names = decl.kind === "flags" ? decl.flags : decl.cases;
        const seen = new Set<string>();
        for (const n of names) {
          if (seen.has(n.name)) this.fail(n.span, `duplicate ${decl.kind === "flags" ? "flag" : "enum case"} \`${n.name}\``);
          seen.add(n.name);
        }
        return this.valueDecl(decl.id, t.definedValue({ kind: decl.kind, names: names.map((n) => n.name) }), scope, emit);
      }
      case "alias": {
        const target = decl.target;
        if (target.kind === "func") {
          if (!allowFuncAlias) this.fail(target.span, "function type aliases are only allowed in WAC");
          const id = this.funcType(target, scope);
          const entry: ScopeEntry = { kind: "func", id };
          this.declare(scope, decl.id, entry);
          emit(decl.id.name, { kind: "type", type: { kind: "func", id } }, decl.id.span);
          return entry;
        }
        if (target.kind === "named") {
          const e = scope.lookup(target.id.name);
          if (e === undefined) this.fail(target.id.span, `undefined name \`${target.id.name}\``);
          if (e.kind === "resource") {
            const id = t.addResource({ name: decl.id.name, aliasOf: e.id });
            const entry: ScopeEntry = { kind: "resource", id };
            this.declare(scope, decl.id, entry);
            emit(decl.id.name, { kind: "type", type: { kind: "resource", id } }, decl.id.span);
            return entry;
          }
          if (e.kind === "func") {
            if (!allowFuncAlias) this.fail(target.id.span, "function type aliases are only allowed in WAC");
            // A new function type id: each type definition is its own type in the graph.
            const f = t.func(e.id);
            const copy: FuncType = { params: new Map(f.params) };
            if (f.result !== undefined) copy.result = f.result;
            if (f.async) copy.async = true;
            const id = t.addFunc(copy);
            const entry: ScopeEntry = { kind: "func", id };
            this.declare(scope, decl.id, entry);
            emit(decl.id.name, { kind: "type", type: { kind: "func", id } }, decl.id.span);
            return entry;
          }
          if (e.kind !== "value") this.fail(target.id.span, `\`${target.id.name}\` is a ${describeEntry(e, t)}, not a value type`);
        }
        return this.valueDecl(decl.id, t.definedValue({ kind: "alias", target: this.valueType(target, scope) }), scope, emit);
      }
      case "resource": {
        const id = t.addResource({ name: decl.id.name });
        const entry: ScopeEntry = { kind: "resource", id };
        this.declare(scope, decl.id, entry);
        emit(decl.id.name, { kind: "type", type: { kind: "resource", id } }, decl.id.span);
        let ctor = false;
        const names = new Set<string>();
        for (const item of decl.items) {
          if (item.kind === "constructor") {
            if (ctor) this.fail(item.span, `duplicate constructor for resource \`${decl.id.name}\``);
            ctor = true;
            const params = new Map<string, ValueType>();
            this.params(item.params, scope, params);
            const f: FuncType = { params, result: { kind: "own", resource: id } };
            if (item.results.kind === "scalar") {
              // WIT allows `constructor() -> result<r, e>`.
              f.result = this.valueType(item.results.type, scope);
            }
            emit(`[constructor]${decl.id.name}`, { kind: "func", id: t.addFunc(f) }, item.span);
          } else {
            if (names.has(item.id.name)) this.fail(item.id.span, `duplicate method \`${item.id.name}\` for resource \`${decl.id.name}\``);
            names.add(item.id.name);
            const fid = this.funcType(item.func, scope, item.isStatic ? undefined : id);
            const prefix = item.isStatic ? "[static]" : "[method]";
            emit(`${prefix}${decl.id.name}.${item.id.name}`, { kind: "func", id: fid }, item.id.span);
          }
        }
        return entry;
      }
    }
  }

  private valueDecl(id: Ident, type: ValueType, scope: Scope, emit: (name: string, kind: ItemKind, span: Span) => void): ScopeEntry {
    const entry: ScopeEntry = { kind: "value", type };
    this.declare(scope, id, entry);
    emit(id.name, { kind: "type", type: { kind: "value", type } }, id.span);
    return entry;
  }

  /** Applies `use path.{a, b as c};` to a scope and the owning interface/world. */
  use(decl: UseDecl, scope: Scope, uses: Map<string, UsedType>, emit: (name: string, kind: ItemKind, span: Span) => void): InterfaceId {
    const ifaceId = decl.path.kind === "ident" ? this.host.localInterface(decl.path.id) : this.host.foreignInterface(decl.path.path);
    const iface = this.types.iface(ifaceId);
    for (const item of decl.items) {
      const local = item.as ?? item.id;
      const kind = iface.exports.get(item.id.name);
      if (kind === undefined || kind.kind !== "type") {
        const where = iface.id ?? "the interface";
        this.fail(item.id.span, kind === undefined ? `type \`${item.id.name}\` is not defined in interface \`${where}\`` : `\`${item.id.name}\` in interface \`${where}\` is not a type`);
      }
      if (uses.has(local.name) || scope.entries.has(local.name)) this.fail(local.span, `\`${local.name}\` is already defined`);
      const used: UsedType = item.as !== undefined && item.as.name !== item.id.name ? { interface: ifaceId, name: item.id.name } : { interface: ifaceId };
      uses.set(local.name, used);
      const ty = kind.type;
      let entry: ScopeEntry;
      let exported: ItemKind;
      if (ty.kind === "resource") {
        const rid = this.types.addResource({ name: local.name, aliasOf: ty.id, aliasOwner: ifaceId });
        entry = { kind: "resource", id: rid };
        exported = { kind: "type", type: { kind: "resource", id: rid } };
      } else if (ty.kind === "value") {
        entry = { kind: "value", type: ty.type };
        exported = kind;
      } else if (ty.kind === "func") {
        entry = { kind: "func", id: ty.id };
        exported = kind;
      } else this.fail(item.id.span, `\`${item.id.name}\` is not a value or resource type`);
      scope.entries.set(local.name, entry);
      emit(local.name, exported, local.span);
    }
    return ifaceId;
  }

  // ---------------------------------------------------------------- interfaces and worlds

  /**
   * Converts interface items. `lazy` (WIT): type declarations may be used before they are
   * declared; they are converted on first use, exports keep declaration order.
   */
  interface(items: readonly InterfaceItem[], id: string | undefined, parent: Scope | undefined, lazy: boolean, allowFuncAlias: boolean): InterfaceId {
    const scope = new Scope(parent);
    const iface: Interface = id === undefined ? { uses: new Map(), exports: new Map() } : { id, uses: new Map(), exports: new Map() };
    const spans = new Map<string, Span>();
    // Items are collected per declaration and flattened in declaration order at the end.
    const slots: Array<Array<[string, ItemKind, Span]>> = items.map(() => []);
    const emitter = (i: number) => (name: string, kind: ItemKind, span: Span) => {
      slots[i]!.push([name, kind, span]);
    };
    const done = new Set<number>();
    const convert = (i: number): void => {
      if (done.has(i)) return;
      done.add(i);
      const item = items[i]!;
      if (item.kind === "use") this.use(item, scope, iface.uses, emitter(i));
      else if (item.kind === "type") this.typeDecl(item.decl, scope, emitter(i), allowFuncAlias);
      else emitter(i)(item.id.name, { kind: "func", id: this.funcTypeRef(item.func, scope) }, item.id.span);
    };
    // `use` first: used names are visible to every declaration in WIT.
    if (lazy) {
      items.forEach((item, i) => { if (item.kind === "use") convert(i); });
      items.forEach((item, i) => {
        if (item.kind === "type") {
          const name = item.decl.id.name;
          if (!scope.pending.has(name) && !scope.entries.has(name)) scope.pending.set(name, () => convert(i));
        }
      });
    }
    items.forEach((_, i) => convert(i));
    for (const slot of slots) {
      for (const [name, kind, span] of slot) {
        if (iface.exports.has(name)) this.fail(span, `duplicate interface export \`${name}\``);
        iface.exports.set(name, kind);
        spans.set(name, span);
      }
    }
    return this.types.addInterface(iface);
  }

  inlineInterface(node: InlineInterface, parent: Scope | undefined, lazy: boolean, allowFuncAlias: boolean): InterfaceId {
    return this.interface(node.items, undefined, parent, lazy, allowFuncAlias);
  }

  world(items: readonly WorldItem[], id: string | undefined, parent: Scope | undefined, lazy: boolean, allowFuncAlias: boolean): WorldId {
    const scope = new Scope(parent);
    const world: World = id === undefined ? { uses: new Map(), imports: new Map(), exports: new Map() } : { id, uses: new Map(), imports: new Map(), exports: new Map() };
    const addImport = (name: string, kind: ItemKind, span: Span) => {
      const prev = world.imports.get(name);
      // `use` already imported this interface: importing it explicitly is the same import.
      if (prev !== undefined && prev.kind === "instance" && kind.kind === "instance" && prev.id === kind.id && name.includes(":")) return;
      if (prev !== undefined) this.fail(span, `duplicate import \`${name}\` in world`);
      world.imports.set(name, kind);
    };
    const addExport = (name: string, kind: ItemKind, span: Span) => {
      if (world.exports.has(name)) this.fail(span, `duplicate export \`${name}\` in world`);
      world.exports.set(name, kind);
    };
    const typeEmit = (name: string, kind: ItemKind, span: Span) => addImport(name, kind, span);
    const includes: Array<Extract<WorldItem, { kind: "include" }>> = [];
    if (lazy) {
      items.forEach((item) => {
        if (item.kind === "use") this.worldUse(item, scope, world, true);
      });
      items.forEach((item) => {
        if (item.kind === "type") {
          const name = item.decl.id.name;
          if (!scope.entries.has(name) && !scope.pending.has(name)) scope.pending.set(name, () => this.typeDecl(item.decl, scope, typeEmit, allowFuncAlias));
        }
      });
    }
    for (const item of items) {
      switch (item.kind) {
        case "use":
          if (!lazy) this.worldUse(item, scope, world, false);
          break;
        case "type":
          if (!lazy || scope.pending.has(item.decl.id.name)) {
            scope.pending.delete(item.decl.id.name);
            this.typeDecl(item.decl, scope, typeEmit, allowFuncAlias);
          }
          break;
        case "import":
        case "export": {
          const add = item.kind === "import" ? addImport : addExport;
          const p = item.path;
          if (p.kind === "named") {
            const ty = p.type;
            let kind: ItemKind;
            if (ty.kind === "func") kind = { kind: "func", id: this.funcType(ty, scope) };
            else if (ty.kind === "inline-interface") kind = { kind: "instance", id: this.inlineInterface(ty, scope, lazy, allowFuncAlias) };
            else {
              const e = scope.lookup(ty.id.name);
              if (e?.kind === "func") kind = { kind: "func", id: e.id };
              else if (e?.kind === "interface") kind = { kind: "instance", id: e.id };
              else if (e === undefined) {
                kind = { kind: "instance", id: this.host.localInterface(ty.id) };
              } else this.fail(ty.id.span, `\`${ty.id.name}\` is a ${describeEntry(e, this.types)}; a world ${item.kind} must be a function or an interface`);
            }
            add(p.id.name, kind, p.id.span);
          } else {
            const ifaceId = p.kind === "package" ? this.host.foreignInterface(p.path) : this.host.localInterface(p.id);
            const name = this.types.iface(ifaceId).id;
            const span = p.kind === "package" ? p.path.span : p.id.span;
            if (name === undefined) this.fail(span, "only named interfaces can be imported or exported by name");
            add(name, { kind: "instance", id: ifaceId }, span);
          }
          break;
        }
        case "include":
          // WAC (wac-parser) includes after the world's own items, so conflicts are found in
          // what the world declares itself; WIT declares no order and elaborates in place.
          if (lazy) this.include(item, world, true);
          else includes.push(item);
          break;
      }
    }
    for (const item of includes) this.include(item, world, false);
    return this.types.addWorld(world);
  }

  /**
   * `include w [with {..}]`: the included world's imports and exports (renamed). Its `uses` come
   * along only from WIT, where the used interface is among the imports (wit-parser); wac-parser
   * copies only the items, so an included used type is imported as the type itself.
   */
  private include(item: Extract<WorldItem, { kind: "include" }>, world: World, withUses: boolean): void {
    const wid = item.world.kind === "package" ? this.host.foreignWorld(item.world.path) : this.host.localWorld(item.world.id);
    const other = this.types.world(wid);
    const renames = new Map<string, string>();
    const seenWith = new Set<string>();
    for (const w of item.with) {
      if (seenWith.has(w.from.name)) this.fail(w.from.span, `duplicate \`${w.from.name}\` in world include \`with\` clause`);
      seenWith.add(w.from.name);
    }
    for (const w of item.with) {
      if (!other.imports.has(w.from.name) && !other.exports.has(w.from.name)) {
        this.fail(w.from.span, `world does not have an import or export named \`${w.from.name}\``);
      }
      renames.set(w.from.name, w.to.name);
    }
    if (withUses) for (const [name, used] of other.uses) if (!world.uses.has(name)) world.uses.set(name, used);
    for (const [map, into] of [[other.imports, world.imports], [other.exports, world.exports]] as const) {
      for (const [name, kind] of map) {
        const target = renames.get(name) ?? name;
        if (into.has(target)) {
          // Interfaces included twice are the same import; plain names must not clash.
          if (target.includes(":")) continue;
          this.fail(item.span, `\`${target}\` from the included world conflicts with an existing item of the same name; rename it with \`with\``);
        }
        into.set(target, kind);
      }
    }
  }

  /**
   * `use` in a world. WIT (wit-parser) also lists the used interface among the world's
   * imports; WAC (wac-types) records it only in `uses`, and the encoder imports it from there.
   */
  private worldUse(item: UseDecl, scope: Scope, world: World, importInterface: boolean): void {
    const pending: Array<[string, ItemKind, Span]> = [];
    const ifaceId = this.use(item, scope, world.uses, (n, k, s) => pending.push([n, k, s]));
    const ifaceName = this.types.iface(ifaceId).id;
    if (importInterface && ifaceName !== undefined && !world.imports.has(ifaceName)) world.imports.set(ifaceName, { kind: "instance", id: ifaceId });
    for (const [n, k, s] of pending) {
      if (world.imports.has(n)) this.fail(s, `duplicate import \`${n}\` in world`);
      world.imports.set(n, k);
    }
  }
}

export function describeEntry(e: ScopeEntry, types: Types): string {
  switch (e.kind) {
    case "value":
      return `${types.describeValue(e.type)} type`;
    case "resource":
      return "resource";
    case "func":
      return "function type";
    case "interface":
      return "interface";
    case "world":
      return "world";
  }
}
