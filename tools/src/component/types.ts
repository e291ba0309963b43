/**
 * The component model type model shared by the binary reader, the WIT/WAC front end, the
 * composition graph and the encoder.
 *
 * Types live in one arena (`Types`) and are referred to by numeric ids, like wac-types does:
 * two items that mention the same id share the type (this is how `use` between interfaces
 * and aliases of resources stay the same type through a composition), and structural
 * comparison only happens in the subtype checker. Every package registered with a graph
 * and every type the WAC front end defines goes into the graph's single `Types` arena.
 *
 * Conventions:
 * - Maps keep insertion order, which is the order items appear in the source (binary or
 *   WIT); the encoder relies on that order for deterministic output.
 * - A world is a component type; an interface is an instance type.
 */

declare const brand: unique symbol;
type Id<B extends string> = number & { readonly [brand]: B };

/** Id of a `DefinedType` in a `Types` arena. */
export type DefinedTypeId = Id<"defined">;
/** Id of a `Resource` in a `Types` arena. Resource identity is the (resolved) id. */
export type ResourceId = Id<"resource">;
/** Id of a `FuncType` in a `Types` arena. */
export type FuncTypeId = Id<"func">;
/** Id of an `Interface` (instance type) in a `Types` arena. */
export type InterfaceId = Id<"interface">;
/** Id of a `World` (component type) in a `Types` arena. */
export type WorldId = Id<"world">;
/** Id of a `ModuleType` (core module type) in a `Types` arena. */
export type ModuleTypeId = Id<"module">;

/** Component model primitive value types (the WIT spelling). */
export const PRIMITIVE_TYPES = [
  "bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64", "char", "string",
] as const;
export type PrimitiveType = (typeof PRIMITIVE_TYPES)[number];

/**
 * A value type. `defined` points at a `DefinedType` (record, variant, list, alias...);
 * `containsBorrow` is cached because function results may not contain a borrow.
 */
export type ValueType =
  | { readonly kind: "primitive"; readonly type: PrimitiveType }
  | { readonly kind: "own"; readonly resource: ResourceId }
  | { readonly kind: "borrow"; readonly resource: ResourceId }
  | { readonly kind: "defined"; readonly id: DefinedTypeId; readonly containsBorrow: boolean };

/** A value type with structure. `alias` is a named alias of another value type (`type a = b`). */
export type DefinedType =
  | { readonly kind: "tuple"; readonly types: readonly ValueType[] }
  | { readonly kind: "list"; readonly element: ValueType; readonly length?: number }
  | { readonly kind: "option"; readonly some: ValueType }
  | { readonly kind: "result"; readonly ok?: ValueType; readonly err?: ValueType }
  | { readonly kind: "variant"; readonly cases: ReadonlyMap<string, ValueType | undefined> }
  | { readonly kind: "record"; readonly fields: ReadonlyMap<string, ValueType> }
  | { readonly kind: "flags"; readonly names: readonly string[] }
  | { readonly kind: "enum"; readonly names: readonly string[] }
  | { readonly kind: "stream"; readonly element?: ValueType }
  | { readonly kind: "future"; readonly element?: ValueType }
  | { readonly kind: "alias"; readonly target: ValueType };

/**
 * A resource type. Each `(sub resource)` import/export or WIT `resource` declaration gets a
 * fresh id; `aliasOf` records that this id is another name for an existing resource (a `use`
 * or an `(eq N)` bound), so `Types.resolveResource` gives the identity.
 */
export interface Resource {
  name: string;
  aliasOf?: ResourceId;
  /**
   * For an alias: the interface that owns the aliased name (the interface a `use` pulled it
   * from), when known. The encoder uses it to emit `alias export` instead of a new import.
   */
  aliasOwner?: InterfaceId;
}

/** Function kinds derived from the name (`[method]r.f`, `[static]r.f`, `[constructor]r`). */
export type FuncKind = "free" | "method" | "static" | "constructor";

/**
 * A function type. Named params in order; at most one unnamed result (the component model
 * removed named result lists; the reader rejects them with a clear error).
 */
export interface FuncType {
  params: Map<string, ValueType>;
  result?: ValueType;
  /** Set for `async` function types (component model async); encoded as 0x43. */
  async?: boolean;
}

/** Records that an exported/imported type name came from another interface via `use`. */
export interface UsedType {
  /** The interface the type was used from. */
  interface: InterfaceId;
  /** The original export name in that interface, when renamed with `as`. */
  name?: string;
}

/** An interface: an instance type. `id` is `ns:pkg/name[@ver]` for named interfaces. */
export interface Interface {
  id?: string;
  /** Exported name -> where a used type came from (drives alias encoding). */
  uses: Map<string, UsedType>;
  exports: Map<string, ItemKind>;
}

/** A world: a component type. `id` is `ns:pkg/world[@ver]` for named worlds. */
export interface World {
  id?: string;
  /** Imported type name -> where a used type came from. */
  uses: Map<string, UsedType>;
  imports: Map<string, ItemKind>;
  exports: Map<string, ItemKind>;
}

/** Core wasm value types as they appear in module types. */
export type CoreValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref" | { ref: string };

/** Core wasm extern types (imports/exports of a module type). */
export type CoreExtern =
  | { kind: "func"; params: CoreValType[]; results: CoreValType[] }
  | { kind: "table"; element: CoreValType; min: bigint; max?: bigint; table64?: boolean; shared?: boolean }
  | { kind: "memory"; min: bigint; max?: bigint; memory64?: boolean; shared?: boolean; pageSizeLog2?: number }
  | { kind: "global"; type: CoreValType; mutable: boolean; shared?: boolean }
  | { kind: "tag"; params: CoreValType[]; results: CoreValType[] };

/** A core module type. Imports are keyed by `module\u0000name` to keep them unique and ordered. */
export interface ModuleType {
  imports: Map<string, { module: string; name: string; type: CoreExtern }>;
  exports: Map<string, CoreExtern>;
}

/** Any type the component model can name. */
export type Type =
  | { readonly kind: "resource"; readonly id: ResourceId }
  | { readonly kind: "func"; readonly id: FuncTypeId }
  | { readonly kind: "value"; readonly type: ValueType }
  | { readonly kind: "interface"; readonly id: InterfaceId }
  | { readonly kind: "world"; readonly id: WorldId }
  | { readonly kind: "module"; readonly id: ModuleTypeId };

/**
 * The kind of an imported or exported item. `type` items are type exports (`(export "x"
 * (type ...))`); the others are values of that type (a function, an instance...).
 */
export type ItemKind =
  | { readonly kind: "type"; readonly type: Type }
  | { readonly kind: "func"; readonly id: FuncTypeId }
  | { readonly kind: "instance"; readonly id: InterfaceId }
  | { readonly kind: "component"; readonly id: WorldId }
  | { readonly kind: "module"; readonly id: ModuleTypeId }
  | { readonly kind: "value"; readonly type: ValueType };

export const prim = (type: PrimitiveType): ValueType => ({ kind: "primitive", type });

/**
 * Turns a type export of a function/interface/world type into the item of that type (what
 * `import name: ns:pkg/iface` means): used when importing a package's exported type.
 */
export function promote(kind: ItemKind): ItemKind {
  if (kind.kind !== "type") return kind;
  const t = kind.type;
  if (t.kind === "func") return { kind: "func", id: t.id };
  if (t.kind === "interface") return { kind: "instance", id: t.id };
  if (t.kind === "world") return { kind: "component", id: t.id };
  return kind;
}

/** Type of an item (for a `type` item the exported type itself). */
export function itemType(kind: ItemKind): Type {
  switch (kind.kind) {
    case "type": return kind.type;
    case "func": return { kind: "func", id: kind.id };
    case "instance": return { kind: "interface", id: kind.id };
    case "component": return { kind: "world", id: kind.id };
    case "module": return { kind: "module", id: kind.id };
    case "value": return { kind: "value", type: kind.type };
  }
}

/** Function kind from its extern name. */
export function funcKind(name: string): FuncKind {
  if (name.startsWith("[method]")) return "method";
  if (name.startsWith("[static]")) return "static";
  if (name.startsWith("[constructor]")) return "constructor";
  return "free";
}

/**
 * The arena of all types of one composition. Ids are dense indexes per table; entries are
 * never removed (a removed package simply leaves unreferenced types behind).
 */
export class Types {
  readonly defined: DefinedType[] = [];
  readonly resources: Resource[] = [];
  readonly funcs: FuncType[] = [];
  readonly interfaces: Interface[] = [];
  readonly worlds: World[] = [];
  readonly modules: ModuleType[] = [];

  addDefined(t: DefinedType): DefinedTypeId { return (this.defined.push(t) - 1) as DefinedTypeId; }
  addResource(r: Resource): ResourceId { return (this.resources.push(r) - 1) as ResourceId; }
  addFunc(f: FuncType): FuncTypeId { return (this.funcs.push(f) - 1) as FuncTypeId; }
  addInterface(i: Interface): InterfaceId { return (this.interfaces.push(i) - 1) as InterfaceId; }
  addWorld(w: World): WorldId { return (this.worlds.push(w) - 1) as WorldId; }
  addModule(m: ModuleType): ModuleTypeId { return (this.modules.push(m) - 1) as ModuleTypeId; }

  /** Adds a defined type and returns the value type referring to it (computing containsBorrow). */
  definedValue(t: DefinedType): ValueType {
    const id = this.addDefined(t);
    return { kind: "defined", id, containsBorrow: this.definedContainsBorrow(t) };
  }

  definedType(id: DefinedTypeId): DefinedType { return at(this.defined, id, "defined type"); }
  resource(id: ResourceId): Resource { return at(this.resources, id, "resource"); }
  func(id: FuncTypeId): FuncType { return at(this.funcs, id, "function type"); }
  iface(id: InterfaceId): Interface { return at(this.interfaces, id, "interface"); }
  world(id: WorldId): World { return at(this.worlds, id, "world"); }
  module(id: ModuleTypeId): ModuleType { return at(this.modules, id, "module type"); }

  /** Follows `alias` defined types down to a non-alias value type. */
  resolveValue(t: ValueType): ValueType {
    let cur = t;
    for (let guard = 0; guard < 10_000 && cur.kind === "defined"; guard++) {
      const d = this.definedType(cur.id);
      if (d.kind !== "alias") return cur;
      cur = d.target;
    }
    return cur;
  }

  /** Follows resource aliases to the defining resource: the resource's identity. */
  resolveResource(id: ResourceId): ResourceId {
    let cur = id;
    for (let guard = 0; guard < 10_000; guard++) {
      const next = this.resource(cur).aliasOf;
      if (next === undefined) return cur;
      cur = next;
    }
    return cur;
  }

  containsBorrow(t: ValueType): boolean {
    return t.kind === "borrow" || (t.kind === "defined" && t.containsBorrow);
  }

  private definedContainsBorrow(t: DefinedType): boolean {
    const cb = (v: ValueType | undefined): boolean => v !== undefined && this.containsBorrow(v);
    switch (t.kind) {
      case "tuple": return t.types.some(cb);
      case "list": return cb(t.element);
      case "option": return cb(t.some);
      case "result": return cb(t.ok) || cb(t.err);
      case "variant": return [...t.cases.values()].some(cb);
      case "record": return [...t.fields.values()].some(cb);
      case "flags": case "enum": return false;
      case "stream": case "future": return false;
      case "alias": return cb(t.target);
    }
  }

  /** Short description for error messages ("function", "instance", "record"...). */
  describeItem(kind: ItemKind): string {
    switch (kind.kind) {
      case "type": return this.describeType(kind.type);
      case "func": return "function";
      case "instance": return "instance";
      case "component": return "component";
      case "module": return "module";
      case "value": return "value";
    }
  }

  describeType(t: Type): string {
    switch (t.kind) {
      case "resource": return "resource";
      case "func": return "function type";
      case "value": return this.describeValue(t.type);
      case "interface": return "interface";
      case "world": return "world";
      case "module": return "module type";
    }
  }

  describeValue(t: ValueType): string {
    switch (t.kind) {
      case "primitive": return t.type;
      case "own": return "own";
      case "borrow": return "borrow";
      case "defined": {
        const d = this.definedType(t.id);
        return d.kind === "alias" ? this.describeValue(d.target) : d.kind;
      }
    }
  }
}

function at<T>(arr: readonly T[], id: number, what: string): T {
  const v = arr[id];
  if (v === undefined) throw new RangeError(`unknown ${what} id ${id}`);
  return v;
}
