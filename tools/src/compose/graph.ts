/**
 * The composition graph: packages, and nodes that import items, instantiate packages, alias
 * instance exports and define types; edges are instantiation arguments, aliases and type
 * dependencies. It mirrors the semantics of wac-graph's CompositionGraph so that WAC
 * resolution (tools/src/wac/) and the reference fixtures map onto it one to one:
 *
 * - `import(name, kind)` adds an explicit import; names are checked as extern names.
 * - `instantiate(pkg)` adds an instantiation with no arguments; unsatisfied arguments
 *   become implicit imports at encoding time (merged across instantiations by name).
 * - `setInstantiationArgument(inst, name, node)` type-checks node against the package's
 *   import `name` with the component model subtyping rules.
 * - `aliasInstanceExport(inst, export)` returns the same alias node for the same export.
 * - `export(node, name)` marks a node for export; `defineType(name, type)` adds an always
 *   exported type definition.
 * - `encode(options)` produces the component (see encoder.ts).
 *
 * Node ids are stable for the life of the graph (removed nodes leave a hole).
 */
import { WasmOciError } from "../util/errors.ts";
import type { ComponentFileSource } from "../component/skeleton.ts";
import type { Chunk } from "./chunks.ts";
import { validateExternName, type ExternNameKind } from "../component/extern-name.ts";
import { SubtypeChecker } from "../component/subtype.ts";
import {
  Types, type InterfaceId, type ItemKind, type Type, type ValueType, type WorldId,
} from "../component/types.ts";

/** Error raised by graph operations and encoding; `code` says which rule was broken. */
export class CompositionError extends WasmOciError {
  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = "CompositionError";
  }
}

/**
 * A package registered with a graph: a component (with its bytes) or a type-only package
 * (a WIT package: no bytes, only `definitions`). All ids refer to the graph's `types`.
 */
export interface Package {
  /** `ns:name`. */
  name: string;
  /** Semver string, without a leading `@`. */
  version?: string;
  /** The component binary; absent for a type-only WIT package, which cannot be instantiated. */
  bytes?: Uint8Array;
  /**
   * Set when `bytes` is a skeleton of a large file (component/skeleton.ts): the encoder copies
   * the file itself into the output.
   */
  source?: ComponentFileSource;
  /** The component type of the package (its imports and exports). */
  ty: WorldId;
  /** The instance type produced by instantiating it (the component's exports). */
  instanceType: InterfaceId;
  /**
   * Interfaces and worlds the package defines, by their name inside the package (e.g.
   * `types` for `ns:pkg/types`): what `import x: ns:pkg/types` and `targets` refer to.
   */
  definitions: Map<string, ItemKind>;
}

/** `name` or `name@version`. */
export function packageKey(name: string, version?: string): string {
  return version === undefined ? name : `${name}@${version}`;
}

export type PackageId = number & { readonly __package: true };
export type NodeId = number & { readonly __node: true };

export type NodeKind =
  | { kind: "definition" }
  | { kind: "import"; name: string }
  | { kind: "instantiation"; package: PackageId; satisfied: Set<number> }
  | { kind: "alias"; source: NodeId; exportIndex: number; exportName: string };

export interface Node {
  readonly id: NodeId;
  readonly kind: NodeKind;
  /** The package the node belongs to (instantiations and their aliases). */
  readonly package?: PackageId;
  readonly itemKind: ItemKind;
  /** Debug name recorded in the `component-name` section. */
  name?: string;
  /** Export name, when marked for export. */
  exportName?: string;
}

/** A graph edge: alias (instance -> alias node), argument (source -> instantiation), dependency (type -> dependent type). */
export interface Edge {
  from: NodeId;
  to: NodeId;
  kind: "alias" | "argument" | "dependency";
  /** Export index (alias) or import index (argument). */
  index: number;
}

export interface EncodeOptions {
  /** Embed dependencies (true, the default) or import them as `unlocked-dep=<...>`. */
  defineComponents?: boolean;
  /** Validate the output with wasm-tools (default true). */
  validate?: boolean;
  /** Recorded in the producers section as processed-by; default `wasm-oci`. */
  processor?: { name: string; version: string };
}

export class CompositionGraph {
  /** The arena every package and defined type of this graph lives in. */
  readonly types = new Types();
  /** Every node ever allocated; removed ones are `undefined`. */
  private readonly nodeTable: Array<Node | undefined> = [];
  /** Argument edges: target instantiation -> (import index -> source node). */
  private readonly args = new Map<NodeId, Map<number, NodeId>>();
  /**
   * Every edge in insertion order (removed ones are `undefined`). The encoder walks edges
   * newest first, as the reference implementation's graph library does, so that output
   * order (topological order, argument order) matches it exactly.
   */
  private readonly edgeList: Array<Edge | undefined> = [];
  private readonly importsByName = new Map<string, NodeId>();
  private readonly exportsByName = new Map<string, NodeId>();
  private readonly definedTypes = new Map<string, NodeId>();
  private readonly packageTable: Array<Package | undefined> = [];
  private readonly packageByKey = new Map<string, PackageId>();
  private readonly checker = new SubtypeChecker();

  // ---- packages -------------------------------------------------------------------------

  /** Registers a package (its types must already be in `this.types`). */
  registerPackage(pkg: Package): PackageId {
    const key = packageKey(pkg.name, pkg.version);
    if (this.packageByKey.has(key)) {
      throw new CompositionError("PACKAGE_ALREADY_REGISTERED", `package \`${key}\` has already been registered in the graph`);
    }
    const id = this.packageTable.push(pkg) - 1 as PackageId;
    this.packageByKey.set(key, id);
    return id;
  }

  /** Removes a package and every node that belongs to it. */
  unregisterPackage(id: PackageId): void {
    const pkg = this.pkg(id);
    for (const n of this.nodes()) if (n.package === id) this.removeNodeInternal(n.id);
    this.packageByKey.delete(packageKey(pkg.name, pkg.version));
    this.packageTable[id] = undefined;
  }

  getPackageByName(name: string, version?: string): { id: PackageId; package: Package } | undefined {
    const id = this.packageByKey.get(packageKey(name, version));
    return id === undefined ? undefined : { id, package: this.pkg(id) };
  }

  pkg(id: PackageId): Package {
    const p = this.packageTable[id];
    if (p === undefined) throw new RangeError(`invalid package id ${id}`);
    return p;
  }

  packages(): Array<{ id: PackageId; package: Package }> {
    const out: Array<{ id: PackageId; package: Package }> = [];
    this.packageTable.forEach((p, i) => { if (p !== undefined) out.push({ id: i as PackageId, package: p }); });
    return out;
  }

  // ---- nodes -----------------------------------------------------------------------------

  node(id: NodeId): Node {
    const n = this.nodeTable[id];
    if (n === undefined) throw new RangeError(`invalid node id ${id}`);
    return n;
  }

  /** Live nodes in id order (the order they were added). */
  nodes(): Node[] {
    return this.nodeTable.filter((n): n is Node => n !== undefined);
  }

  private addNode(kind: NodeKind, itemKind: ItemKind, pkg?: PackageId): Node {
    const id = this.nodeTable.length as NodeId;
    const node: Node = pkg === undefined ? { id, kind, itemKind } : { id, kind, itemKind, package: pkg };
    this.nodeTable.push(node);
    return node;
  }

  /**
   * Adds a type definition node (always exported as `name`). Resources cannot be defined;
   * defining the same type twice is an error.
   */
  defineType(name: string, type: Type): NodeId {
    if (type.kind === "resource") throw new CompositionError("CANNOT_DEFINE_RESOURCE", "a resource type cannot be defined in the graph");
    const key = typeKey(type);
    if (this.definedTypes.has(key)) throw new CompositionError("TYPE_ALREADY_DEFINED", "the provided type has already been defined in the graph");
    if (this.exportsByName.has(name)) throw new CompositionError("EXPORT_CONFLICT", `type name \`${name}\` conflicts with an existing export of the same name`);
    this.checkName(name, "TYPE_NAME_INVALID", `type name \`${name}\` is not valid`);
    const node = this.addNode({ kind: "definition" }, { kind: "type", type });
    node.exportName = name;
    for (const dep of referencedDefined(this.types, type)) {
      const depNode = this.definedTypes.get(`value:defined:${dep}`);
      if (depNode !== undefined && !this.edgeList.some((e) => e?.kind === "dependency" && e.from === depNode && e.to === node.id)) {
        this.edgeList.push({ from: depNode, to: node.id, kind: "dependency", index: 0 });
      }
    }
    for (const [otherKey, other] of this.definedTypes) {
      const otherNode = this.node(other);
      if (otherNode.itemKind.kind !== "type") continue;
      if (type.kind === "value" && type.type.kind === "defined" && referencedDefined(this.types, otherNode.itemKind.type).includes(type.type.id)
        && otherKey !== key && !this.edgeList.some((e) => e?.kind === "dependency" && e.from === node.id && e.to === other)) {
        this.edgeList.push({ from: node.id, to: other, kind: "dependency", index: 0 });
      }
    }
    this.definedTypes.set(key, node.id);
    this.exportsByName.set(name, node.id);
    return node.id;
  }

  /** Adds an explicit import of `kind` named `name`. */
  import(name: string, kind: ItemKind): NodeId {
    if (this.importsByName.has(name)) throw new CompositionError("IMPORT_ALREADY_EXISTS", `import name \`${name}\` already exists in the graph`);
    this.checkName(name, "IMPORT_NAME_INVALID", `import name \`${name}\` is not valid`);
    const node = this.addNode({ kind: "import", name }, kind);
    this.importsByName.set(name, node.id);
    return node.id;
  }

  getImportName(id: NodeId): string | undefined {
    const k = this.node(id).kind;
    return k.kind === "import" ? k.name : undefined;
  }

  /** Adds an instantiation of a registered component package with no arguments set. */
  instantiate(pkgId: PackageId): NodeId {
    const pkg = this.pkg(pkgId);
    if (pkg.bytes === undefined) {
      throw new CompositionError("PACKAGE_NOT_INSTANTIABLE", `package \`${packageKey(pkg.name, pkg.version)}\` is a WIT package and cannot be instantiated`);
    }
    const node = this.addNode({ kind: "instantiation", package: pkgId, satisfied: new Set() }, { kind: "instance", id: pkg.instanceType }, pkgId);
    this.args.set(node.id, new Map());
    return node.id;
  }

  /** Adds (or returns the existing) alias node for an export of an instance node. */
  aliasInstanceExport(instance: NodeId, exportName: string): NodeId {
    const src = this.node(instance);
    if (src.itemKind.kind !== "instance") {
      throw new CompositionError("NODE_IS_NOT_AN_INSTANCE", `expected source node to be an instance, but the node is a ${this.types.describeItem(src.itemKind)}`);
    }
    const exports = [...this.types.iface(src.itemKind.id).exports];
    const index = exports.findIndex(([n]) => n === exportName);
    const entry = exports[index];
    if (entry === undefined) throw new CompositionError("INSTANCE_MISSING_EXPORT", `instance does not have an export named \`${exportName}\``);
    for (const n of this.nodes()) {
      if (n.kind.kind === "alias" && n.kind.source === instance && n.kind.exportIndex === index) return n.id;
    }
    const node = this.addNode({ kind: "alias", source: instance, exportIndex: index, exportName }, entry[1], src.package);
    this.edgeList.push({ from: instance, to: node.id, kind: "alias", index });
    return node.id;
  }

  getAliasSource(alias: NodeId): { source: NodeId; exportName: string } | undefined {
    const k = this.node(alias).kind;
    return k.kind === "alias" ? { source: k.source, exportName: k.exportName } : undefined;
  }

  /** Arguments set on an instantiation: import name -> source node, in import order. */
  getInstantiationArguments(instantiation: NodeId): Array<{ name: string; source: NodeId }> {
    const node = this.node(instantiation);
    if (node.kind.kind !== "instantiation") return [];
    const imports = [...this.types.world(this.pkg(node.kind.package).ty).imports.keys()];
    const set = this.args.get(instantiation) ?? new Map<number, NodeId>();
    return [...set].sort((a, b) => a[0] - b[0]).map(([i, source]) => ({ name: imports[i] ?? "", source }));
  }

  setNodeName(id: NodeId, name: string): void {
    this.node(id).name = name;
  }

  /** Marks a node for export. Names must be valid and not hash, url or dependency names. */
  export(id: NodeId, name: string): void {
    if (this.exportsByName.has(name)) throw new CompositionError("EXPORT_ALREADY_EXISTS", `an export with the name \`${name}\` already exists`);
    const kind = this.checkName(name, "EXPORT_NAME_INVALID", `export name \`${name}\` is not valid`);
    if (kind === "hash" || kind === "url" || kind === "dependency") {
      throw new CompositionError("EXPORT_NAME_INVALID", `export name \`${name}\` is not valid: export name cannot be a hash, url, or dependency`);
    }
    const node = this.node(id);
    node.exportName = name;
    this.exportsByName.set(name, id);
  }

  getExport(name: string): NodeId | undefined {
    return this.exportsByName.get(name);
  }

  /** Exported names in the order they were added. */
  exportNames(): string[] {
    return [...this.exportsByName.keys()];
  }

  unexport(id: NodeId): void {
    const node = this.node(id);
    if (node.kind.kind === "definition") throw new CompositionError("MUST_EXPORT_DEFINITION", "cannot unexport a type definition");
    if (node.exportName !== undefined) {
      this.exportsByName.delete(node.exportName);
      delete node.exportName;
    }
  }

  /** Removes a node, its aliases (recursively) and every argument edge touching it. */
  removeNode(id: NodeId): void {
    this.node(id);
    this.removeNodeInternal(id);
  }

  private removeNodeInternal(id: NodeId): void {
    const node = this.nodeTable[id];
    if (node === undefined) return;
    for (const n of this.nodes()) {
      if (n.kind.kind === "alias" && n.kind.source === id) this.removeNodeInternal(n.id);
    }
    this.nodeTable[id] = undefined;
    this.edgeList.forEach((e, i) => { if (e !== undefined && (e.from === id || e.to === id)) this.edgeList[i] = undefined; });
    if (node.kind.kind === "import") this.importsByName.delete(node.kind.name);
    if (node.exportName !== undefined) this.exportsByName.delete(node.exportName);
    if (node.kind.kind === "definition" && node.itemKind.kind === "type") this.definedTypes.delete(typeKey(node.itemKind.type));
    this.args.delete(id);
    for (const [target, set] of this.args) {
      const t = this.nodeTable[target];
      for (const [i, src] of set) {
        if (src === id) {
          set.delete(i);
          if (t !== undefined && t.kind.kind === "instantiation") t.kind.satisfied.delete(i);
        }
      }
    }
  }

  /**
   * Sets argument `argumentName` of an instantiation to `argument`, after checking that the
   * argument's type is a subtype of the import's type. Setting the same edge again is a no-op.
   */
  setInstantiationArgument(instantiation: NodeId, argumentName: string, argument: NodeId): void {
    const target = this.node(instantiation);
    if (target.kind.kind !== "instantiation") throw new CompositionError("NODE_IS_NOT_AN_INSTANTIATION", "the specified node is not an instantiation");
    const pkg = this.pkg(target.kind.package);
    const imports = [...this.types.world(pkg.ty).imports];
    const index = imports.findIndex(([n]) => n === argumentName);
    const expected = imports[index];
    if (expected === undefined) {
      throw new CompositionError("INVALID_ARGUMENT_NAME", `argument name \`${argumentName}\` is not an import of package \`${pkg.name}\``);
    }
    const set = this.args.get(instantiation) ?? new Map<number, NodeId>();
    const existing = set.get(index);
    if (existing !== undefined) {
      if (existing === argument) return;
      throw new CompositionError("ARGUMENT_ALREADY_PASSED", `argument \`${argumentName}\` has already been passed to the instantiation`);
    }
    const source = this.node(argument);
    try {
      this.checker.isSubtype(source.itemKind, expected[1], this.types, this.types, "covariant");
    } catch (e) {
      throw new CompositionError("ARGUMENT_TYPE_MISMATCH", `mismatched instantiation argument \`${argumentName}\`: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    set.set(index, argument);
    this.args.set(instantiation, set);
    target.kind.satisfied.add(index);
    this.edgeList.push({ from: argument, to: instantiation, kind: "argument", index });
  }

  /** Removes the argument edge if `argument` currently satisfies `argumentName`. */
  unsetInstantiationArgument(instantiation: NodeId, argumentName: string, argument: NodeId): void {
    const target = this.node(instantiation);
    if (target.kind.kind !== "instantiation") throw new CompositionError("NODE_IS_NOT_AN_INSTANTIATION", "the specified node is not an instantiation");
    const pkg = this.pkg(target.kind.package);
    const index = [...this.types.world(pkg.ty).imports.keys()].indexOf(argumentName);
    if (index < 0) throw new CompositionError("INVALID_ARGUMENT_NAME", `argument name \`${argumentName}\` is not an import of package \`${pkg.name}\``);
    const set = this.args.get(instantiation);
    if (set?.get(index) === argument) {
      set.delete(index);
      target.kind.satisfied.delete(index);
      const e = this.edgeList.findIndex((x) => x !== undefined && x.kind === "argument" && x.from === argument && x.to === instantiation && x.index === index);
      if (e >= 0) this.edgeList[e] = undefined;
    }
  }

  /** Outgoing edges of a node, newest first. */
  outgoing(id: NodeId): Edge[] {
    const out: Edge[] = [];
    for (let i = this.edgeList.length - 1; i >= 0; i--) {
      const e = this.edgeList[i];
      if (e !== undefined && e.from === id) out.push(e);
    }
    return out;
  }

  /** Incoming edges of a node, newest first. */
  incoming(id: NodeId): Edge[] {
    const out: Edge[] = [];
    for (let i = this.edgeList.length - 1; i >= 0; i--) {
      const e = this.edgeList[i];
      if (e !== undefined && e.to === id) out.push(e);
    }
    return out;
  }

  /** Names of explicit import nodes. */
  importNode(name: string): NodeId | undefined {
    return this.importsByName.get(name);
  }

  /** Raw argument edges of an instantiation (import index -> source), for the encoder. */
  argumentEdges(instantiation: NodeId): ReadonlyMap<number, NodeId> {
    return this.args.get(instantiation) ?? new Map();
  }

  /**
   * Every import the encoding will have: unsatisfied arguments of instantiations (implicit,
   * `node` undefined) then explicit import nodes. Names may repeat before merging.
   */
  imports(): Array<{ name: string; kind: ItemKind; node?: NodeId }> {
    const out: Array<{ name: string; kind: ItemKind; node?: NodeId }> = [];
    for (const n of this.nodes()) {
      if (n.kind.kind !== "instantiation") continue;
      let i = 0;
      for (const [name, kind] of this.types.world(this.pkg(n.kind.package).ty).imports) {
        if (!n.kind.satisfied.has(i)) out.push({ name, kind });
        i++;
      }
    }
    for (const n of this.nodes()) if (n.kind.kind === "import") out.push({ name: n.kind.name, kind: n.itemKind, node: n.id });
    return out;
  }

  /**
   * Encodes the graph as output pieces (embedded components are not copied); write them with
   * `writeChunksAtomic` from chunks.ts. Validated unless `validate: false`.
   */
  async encodeChunks(options: EncodeOptions = {}): Promise<Chunk[]> {
    const { encodeGraphValidatedChunks } = await import("./encoder.ts");
    return encodeGraphValidatedChunks(this, options);
  }

  /** Encodes the graph as a component (see encoder.ts for the layout and options). */
  async encode(options: EncodeOptions = {}): Promise<Uint8Array> {
    const { encodeGraph } = await import("./encoder.ts");
    return encodeGraph(this, options);
  }

  private checkName(name: string, code: string, message: string): ExternNameKind {
    try {
      return validateExternName(name);
    } catch (e) {
      throw new CompositionError(code, `${message}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
}

/** Identity key of a type for `defineType` de-duplication. */
function typeKey(t: Type): string {
  if (t.kind !== "value") return `${t.kind}:${t.id}`;
  const v = t.type;
  return v.kind === "primitive" ? `value:primitive:${v.type}` : v.kind === "defined" ? `value:defined:${v.id}` : `value:${v.kind}:${v.resource}`;
}

/** Defined type ids a type refers to (directly or through its structure), excluding itself. */
function referencedDefined(types: Types, t: Type): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const visitVal = (v: ValueType | undefined): void => {
    if (v === undefined || v.kind !== "defined" || seen.has(v.id)) return;
    seen.add(v.id);
    out.push(v.id);
    const d = types.definedType(v.id);
    switch (d.kind) {
      case "tuple": d.types.forEach(visitVal); break;
      case "list": visitVal(d.element); break;
      case "option": visitVal(d.some); break;
      case "result": visitVal(d.ok); visitVal(d.err); break;
      case "variant": d.cases.forEach((c) => visitVal(c)); break;
      case "record": d.fields.forEach((f) => visitVal(f)); break;
      case "alias": visitVal(d.target); break;
      case "stream": case "future": visitVal(d.element); break;
      default: break;
    }
  };
  if (t.kind === "value") {
    const v = t.type;
    if (v.kind === "defined") {
      seen.add(v.id);
      const d = types.definedType(v.id);
      visitVal(d.kind === "alias" ? d.target : undefined);
      if (d.kind !== "alias") {
        seen.delete(v.id);
        visitVal(v);
        out.shift();
      }
    }
  } else if (t.kind === "func") {
    const f = types.func(t.id);
    f.params.forEach((p) => visitVal(p));
    visitVal(f.result);
  }
  return out;
}
