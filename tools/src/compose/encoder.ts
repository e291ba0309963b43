/**
 * Encodes a CompositionGraph into a component.
 *
 * Layout (the same as the reference composer, so outputs are comparable byte for byte after
 * printing): first every import (implicit imports of unsatisfied instantiation arguments,
 * merged by name, then explicit imports), then the other nodes in topological order
 * (components are embedded, or imported as `unlocked-dep=<ns:name>` when
 * `defineComponents` is false; instantiations; aliases; type definitions), then exports, a
 * `component-name` section with node names, and an optional producers section.
 */
import { Writer } from "../component/binary.ts";
import { SubtypeError } from "../component/subtype.ts";
import type { ItemKind, Types } from "../component/types.ts";
import { TypeAggregator } from "./aggregator.ts";
import { CompositionError, packageKey, type CompositionGraph, type EncodeOptions, type NodeId, type Package, type PackageId } from "./graph.ts";
import { EncodeState, TypeEncoder, typeKey, writeTypeRef, sortOf, type Encodable, type TypeRef } from "./type-encoder.ts";
import { concatChunks, type Chunk } from "./chunks.ts";
import type { ComponentFileSource } from "../component/skeleton.ts";

/** The top-level component being built; consecutive items of one kind share a section. */
export class ComponentBuilder implements Encodable {
  readonly kind = "builder" as const;
  typeCount = 0;
  instanceCount = 0;
  coreTypeCount = 0;
  funcCount = 0;
  componentCount = 0;
  moduleCount = 0;
  valueCount = 0;
  /** Output pieces; embedded components are referenced (buffers or file slices), not copied, until `finish`. */
  private readonly chunks: Chunk[] = [Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00)];
  private sectionId = -1;
  private items: Uint8Array[] = [];

  private section(id: number, body: Uint8Array): void {
    this.chunks.push(new Writer(8).byte(id).u32(body.length).bytes(), body);
  }

  private item(section: number, bytes: Uint8Array): void {
    if (this.sectionId !== section) this.flush();
    this.sectionId = section;
    this.items.push(bytes);
  }

  private flush(): void {
    if (this.sectionId < 0 || this.items.length === 0) return;
    const body = new Writer().u32(this.items.length);
    for (const i of this.items) body.raw(i);
    this.section(this.sectionId, body.bytes());
    this.items = [];
    this.sectionId = -1;
  }

  addType(def: Uint8Array): number {
    this.item(7, def);
    return this.typeCount++;
  }

  addCoreType(def: Uint8Array): number {
    this.item(3, def);
    return this.coreTypeCount++;
  }

  aliasTypeExport(instance: number, name: string): number {
    return this.aliasExport(instance, "type", name);
  }

  aliasOuterType(): number {
    throw new CompositionError("ENCODE_INTERNAL", "outer aliases are not valid at the top level of a component");
  }

  /** `alias export instance name (kind)`: returns the index in that kind's space. */
  aliasExport(instance: number, kind: ItemKind["kind"], name: string): number {
    this.item(6, new Writer().raw(Uint8Array.from(sortOf(kind))).byte(0x00).u32(instance).str(name).bytes());
    return this.bump(kind);
  }

  importItem(name: string, ref: TypeRef): number {
    const w = new Writer().externName(name);
    writeTypeRef(w, ref);
    this.item(10, w.bytes());
    return this.bump(ref.k === "type" ? "type" : ref.k);
  }

  exportDecl(): number {
    throw new CompositionError("ENCODE_INTERNAL", "export declarations are only valid in types");
  }

  exportItem(name: string, kind: ItemKind["kind"], index: number): number {
    this.item(11, new Writer().externName(name).raw(Uint8Array.from(sortOf(kind))).u32(index).byte(0x00).bytes());
    return this.bump(kind);
  }

  componentRaw(bytes: Uint8Array): number {
    this.flush();
    this.section(4, bytes);
    return this.componentCount++;
  }

  /** A component section whose body is a whole input file, copied when the output is written. */
  componentFile(source: ComponentFileSource): number {
    this.flush();
    const size = source.identity.size;
    this.chunks.push(new Writer(8).byte(4).u32(size).bytes(), { path: source.path, start: 0, end: size, identity: source.identity });
    return this.componentCount++;
  }

  instantiate(component: number, args: Array<{ name: string; kind: ItemKind["kind"]; index: number }>): number {
    const w = new Writer().byte(0x00).u32(component).u32(args.length);
    for (const a of args) w.str(a.name).raw(Uint8Array.from(sortOf(a.kind))).u32(a.index);
    this.item(5, w.bytes());
    return this.instanceCount++;
  }

  custom(name: string, payload: Uint8Array): void {
    this.flush();
    this.section(0, new Writer().str(name).raw(payload).bytes());
  }

  private bump(kind: ItemKind["kind"]): number {
    switch (kind) {
      case "type": return this.typeCount++;
      case "func": return this.funcCount++;
      case "instance": return this.instanceCount++;
      case "component": return this.componentCount++;
      case "module": return this.moduleCount++;
      case "value": return this.valueCount++;
    }
  }

  /** The output as pieces (embedded components are the caller's buffers or file slices, not copies). */
  finishChunks(): Chunk[] {
    this.flush();
    return this.chunks;
  }

  finish(): Uint8Array {
    return concatChunks(this.finishChunks());
  }
}

/**
 * Topological order of the live nodes: a depth-first search started from the highest node
 * id down, following edges newest first, so that independent nodes come out in id order.
 */
export function toposort(graph: CompositionGraph): NodeId[] {
  const nodes = graph.nodes().map((n) => n.id);
  const discovered = new Set<NodeId>();
  const finished = new Set<NodeId>();
  const order: NodeId[] = [];
  for (let k = nodes.length - 1; k >= 0; k--) {
    const start = nodes[k]!;
    if (discovered.has(start)) continue;
    const stack: NodeId[] = [start];
    while (stack.length > 0) {
      const nx = stack[stack.length - 1]!;
      if (!discovered.has(nx)) {
        discovered.add(nx);
        for (const e of graph.outgoing(nx)) {
          if (e.to === nx) throw cycle();
          if (!discovered.has(e.to)) stack.push(e.to);
        }
      } else {
        stack.pop();
        if (!finished.has(nx)) {
          finished.add(nx);
          order.push(nx);
        }
      }
    }
  }
  order.reverse();
  const pos = new Map(order.map((n, i) => [n, i]));
  for (const n of order) {
    for (const e of graph.outgoing(n)) if ((pos.get(e.to) ?? -1) <= (pos.get(n) ?? 0)) throw cycle();
  }
  return order;
}

function cycle(): CompositionError {
  return new CompositionError("GRAPH_CONTAINS_CYCLE", "the graph contains a cycle and cannot be encoded");
}

function packageImportName(pkg: Package): string {
  return pkg.version === undefined ? `unlocked-dep=<${pkg.name}>` : `unlocked-dep=<${pkg.name}@{>=${pkg.version}}>`;
}

export async function encodeGraph(graph: CompositionGraph, options: EncodeOptions): Promise<Uint8Array> {
  return concatChunks(await encodeGraphValidatedChunks(graph, options));
}

/**
 * Encodes into output pieces and, unless `validate: false`, validates the result. Validation
 * runs on a second encoding whose embedded components have their custom sections removed
 * (they cannot affect validity), so the large output is never copied for it.
 */
export async function encodeGraphValidatedChunks(graph: CompositionGraph, options: EncodeOptions): Promise<Chunk[]> {
  const { chunks, validation } = await encodeGraphValidating(graph, options);
  await validation;
  return chunks;
}

/**
 * Encodes into output pieces and starts validating them (unless `validate: false`) without
 * waiting: a caller writing a file can write while wasm-tools works on another thread, and must
 * await `validation` before making the output visible. The promise is already marked handled,
 * so a failure that arrives while the caller is busy is not reported as unhandled.
 */
export async function encodeGraphValidating(graph: CompositionGraph, options: EncodeOptions): Promise<{ chunks: Chunk[]; validation: Promise<void> }> {
  const chunks = encodeGraphChunks(graph, options);
  if (options.validate === false) return { chunks, validation: Promise.resolve() };
  const { validateChunks, stripCustomSections } = await import("./validate.ts");
  // Skeletons are the files minus custom sections (and, when loaded for validation, with
  // their core modules), so the view is built from them and never reads the inputs again.
  const validation = validateChunks(encodeGraphChunks(graph, options, stripCustomSections));
  validation.catch(() => undefined);
  return { chunks, validation };
}

/** Encodes without validation (the caller validates when it wants to). */
export function encodeGraphSync(graph: CompositionGraph, options: EncodeOptions): Uint8Array {
  return concatChunks(encodeGraphChunks(graph, options));
}

/**
 * Encodes without validation into output pieces; concatenated they are the component.
 * `mapComponent` transforms embedded component bytes (used to build the validation view).
 */
export function encodeGraphChunks(graph: CompositionGraph, options: EncodeOptions, mapComponent?: (bytes: Uint8Array) => Uint8Array): Chunk[] {
  const defineComponents = options.defineComponents !== false;
  const builder = new ComponentBuilder();
  const state = new EncodeState(builder);
  const order = toposort(graph);
  const importNodes = order.filter((n) => graph.node(n).kind.kind === "import");
  const otherNodes = order.filter((n) => graph.node(n).kind.kind !== "import");
  const nodeIndexes = new Map<NodeId, number>();
  const implicitArgs = new Map<NodeId, Array<{ name: string; kind: ItemKind["kind"]; index: number }>>();

  // Imports: aggregate implicit (unsatisfied arguments) then explicit imports by name.
  const aggregator = new TypeAggregator();
  const firstBy = new Map<string, NodeId>();
  const implicit: Array<{ name: string; node: NodeId }> = [];
  for (const n of graph.nodes()) {
    if (n.kind.kind !== "instantiation") continue;
    const pkg = graph.pkg(n.kind.package);
    let i = 0;
    for (const [name, kind] of graph.types.world(pkg.ty).imports) {
      const satisfied = n.kind.satisfied.has(i++);
      if (satisfied) continue;
      if (graph.importNode(name) !== undefined) {
        throw new CompositionError("IMPLICIT_IMPORT_CONFLICT", `an instantiation of package \`${packageKey(pkg.name, pkg.version)}\` implicitly imports an item named \`${name}\`, but it conflicts with an explicit import of the same name`);
      }
      if (!firstBy.has(name)) firstBy.set(name, n.id);
      try {
        aggregator.aggregate(name, graph.types, kind);
      } catch (e) {
        if (e instanceof SubtypeError) {
          throw new CompositionError("IMPORT_TYPE_MERGE_CONFLICT", `failed to merge the type definition for implicit import \`${name}\` due to conflicting types: ${e.message}`, { cause: e });
        }
        throw e;
      }
      implicit.push({ name, node: n.id });
    }
  }
  const explicit = new Map<string, NodeId>();
  for (const n of importNodes) {
    const node = graph.node(n);
    if (node.kind.kind !== "import") continue;
    explicit.set(node.kind.name, n);
    aggregator.aggregate(node.kind.name, graph.types, node.itemKind);
  }

  const encoded = new Map<string, { kind: ItemKind["kind"]; index: number }>();
  const aggEncoder = new TypeEncoder(aggregator.types);
  // Instances first, so types that are exports of an imported interface can be aliased from it.
  const ordered = [...aggregator.imports].sort((a, b) => Number(b[1].kind === "instance") - Number(a[1].kind === "instance"));
  for (const [name, kind] of ordered) {
    encoded.set(name, { kind: kind.kind, index: importItem(state, builder, aggEncoder, aggregator.types, name, kind) });
  }
  for (const { name, node } of implicit) {
    const e = encoded.get(aggregator.canonicalName(name))!;
    const list = implicitArgs.get(node) ?? [];
    list.push({ name, kind: e.kind, index: e.index });
    implicitArgs.set(node, list);
  }
  for (const [name, node] of explicit) nodeIndexes.set(node, encoded.get(aggregator.canonicalName(name))!.index);

  const encoder = new TypeEncoder(graph.types);
  const packages = new Map<PackageId, number>();
  for (const n of otherNodes) {
    const node = graph.node(n);
    let index: number;
    switch (node.kind.kind) {
      case "definition": {
        const name = node.exportName!;
        if (node.itemKind.kind !== "type") throw new CompositionError("ENCODE_INTERNAL", "only types can be defined");
        const t = node.itemKind.type;
        let typeIndex: number;
        if (t.kind === "interface") typeIndex = encoder.interfaceDefinition(state, t.id);
        else if (t.kind === "world") typeIndex = encoder.worldDefinition(state, t.id);
        else if (t.kind === "value" && t.type.kind === "defined") {
          const d = graph.types.definedType(t.type.id);
          const existing = d.kind === "alias" && d.target.kind === "defined" ? state.current.getType(graph.types, `d:${d.target.id}`) : undefined;
          typeIndex = existing ?? encoder.ty(state, t, undefined);
        } else typeIndex = encoder.ty(state, t, undefined);
        index = builder.exportItem(name, "type", typeIndex);
        state.current.setType(graph.types, typeKey(t), index);
        break;
      }
      case "instantiation": {
        const pkgId = node.kind.package;
        const pkg = graph.pkg(pkgId);
        let component = packages.get(pkgId);
        if (component === undefined) {
          if (defineComponents) {
            if (pkg.bytes === undefined) throw new CompositionError("PACKAGE_NOT_INSTANTIABLE", `package \`${packageKey(pkg.name, pkg.version)}\` has no component bytes`);
            component = embedComponent(builder, pkg, pkg.bytes, mapComponent);
          } else {
            const ty = encoder.component(state, pkg.ty);
            component = builder.importItem(packageImportName(pkg), { k: "component", idx: ty });
          }
          packages.set(pkgId, component);
        }
        const imports = [...graph.types.world(pkg.ty).imports.keys()];
        const args: Array<{ name: string; kind: ItemKind["kind"]; index: number }> = [];
        for (const e of graph.incoming(n)) {
          if (e.kind !== "argument") continue;
          args.push({ name: imports[e.index]!, kind: graph.node(e.from).itemKind.kind, index: nodeIndexes.get(e.from)! });
        }
        args.push(...(implicitArgs.get(n) ?? []));
        index = builder.instantiate(component, args);
        break;
      }
      case "alias": {
        const src = graph.node(node.kind.source);
        if (src.itemKind.kind !== "instance") throw new CompositionError("ENCODE_INTERNAL", "alias source is not an instance");
        const kind = graph.types.iface(src.itemKind.id).exports.get(node.kind.exportName)!;
        index = builder.aliasExport(nodeIndexes.get(node.kind.source)!, kind.kind, node.kind.exportName);
        break;
      }
      case "import":
        continue;
    }
    nodeIndexes.set(n, index);
  }

  for (const name of graph.exportNames()) {
    const id = graph.getExport(name)!;
    const node = graph.node(id);
    if (node.kind.kind === "definition") continue;
    builder.exportItem(name, node.itemKind.kind, nodeIndexes.get(id)!);
  }

  encodeNames(graph, nodeIndexes, builder);
  if (options.processor !== undefined) builder.custom("producers", producers(options.processor.name, options.processor.version));
  return builder.finishChunks();
}

function embedComponent(builder: ComponentBuilder, pkg: Package, bytes: Uint8Array, mapComponent: ((bytes: Uint8Array) => Uint8Array) | undefined): number {
  if (mapComponent !== undefined) {
    if (pkg.source?.modulesElided === true) {
      throw new CompositionError("PACKAGE_NOT_VALIDATABLE", `package \`${packageKey(pkg.name, pkg.version)}\` was read without its core modules (${pkg.source.path}), so the output cannot be validated; read it with modules to validate`);
    }
    return builder.componentRaw(mapComponent(bytes));
  }
  return pkg.source !== undefined ? builder.componentFile(pkg.source) : builder.componentRaw(bytes);
}

function importItem(state: EncodeState, builder: ComponentBuilder, encoder: TypeEncoder, types: Types, name: string, kind: ItemKind): number {
  if (kind.kind === "instance") {
    const iid = types.iface(kind.id).id;
    if (iid !== undefined) {
      const existing = state.current.instances.get(iid);
      if (existing !== undefined) return existing;
    }
  }
  if (kind.kind === "type" && kind.type.kind === "resource") return encoder.importResource(state, name, kind.type.id);
  const t = kind.kind === "type" ? kind.type
    : kind.kind === "func" ? { kind: "func" as const, id: kind.id }
      : kind.kind === "instance" ? { kind: "interface" as const, id: kind.id }
        : kind.kind === "component" ? { kind: "world" as const, id: kind.id }
          : kind.kind === "module" ? { kind: "module" as const, id: kind.id }
            : { kind: "value" as const, type: kind.type };
  const ty = encoder.ty(state, t, undefined);
  let ref: TypeRef;
  switch (kind.kind) {
    case "type": ref = { k: "type", eq: ty }; break;
    case "func": ref = { k: "func", idx: ty }; break;
    case "instance": ref = { k: "instance", idx: ty }; break;
    case "component": ref = { k: "component", idx: ty }; break;
    case "module": ref = { k: "module", idx: ty }; break;
    case "value": ref = { k: "value", val: { idx: ty } }; break;
  }
  const index = builder.importItem(name, ref);
  if (kind.kind === "type") state.current.setType(types, typeKey(kind.type), index);
  if (kind.kind === "instance") {
    const iid = types.iface(kind.id).id;
    if (iid !== undefined) encoder.registerInstance(state, iid, index, kind.id);
  }
  return index;
}

function encodeNames(graph: CompositionGraph, nodeIndexes: Map<NodeId, number>, builder: ComponentBuilder): void {
  const maps = new Map<ItemKind["kind"], Array<[number, string]>>();
  for (const n of graph.nodes()) {
    if (n.name === undefined) continue;
    const index = nodeIndexes.get(n.id);
    if (index === undefined) continue;
    const list = maps.get(n.itemKind.kind) ?? [];
    list.push([index, n.name]);
    maps.set(n.itemKind.kind, list);
  }
  const w = new Writer();
  for (const kind of ["type", "func", "instance", "component", "module", "value"] as const) {
    const list = maps.get(kind);
    if (list === undefined || list.length === 0) continue;
    const sub = new Writer().raw(Uint8Array.from(sortOf(kind))).u32(list.length);
    for (const [i, name] of list) sub.u32(i).str(name);
    w.byte(0x01).sized(sub);
  }
  if (w.length > 0) builder.custom("component-name", w.bytes());
}

function producers(name: string, version: string): Uint8Array {
  return new Writer().u32(1).str("processed-by").u32(1).str(name).str(version).bytes();
}
