import type {
  Document, ExportOptions, Expr, Ident, ImportStatement, InstantiationArg, PackageName, PackagePath, Statement, StringLit,
  WorldItem, InterfaceItem,
} from "./ast.ts";
import { packagePathString } from "./ast.ts";
import { SourceError, type Source, type Span } from "./diagnostics.ts";
import { locateDependency, type DependencyOptions } from "./deps.ts";
import { Scope, TypeConverter, qualifiedName, describeEntry, type ScopeEntry, type TypeHost } from "./type-converter.ts";
import { WitLoader, witPackageToGraphPackage } from "./wit-package.ts";
import { parseDocument } from "./parser.ts";
import { CompositionGraph, packageKey, type NodeId, type Package, type PackageId } from "../compose/graph.ts";
import { SubtypeChecker } from "../component/subtype.ts";
import { promote, type InterfaceId, type ItemKind, type Types, type WorldId } from "../component/types.ts";
import { WasmOciError } from "../util/errors.ts";
import type { ComponentFileSource } from "../component/skeleton.ts";

/**
 * Turns a component binary into a graph package whose types live in `types`. Provided by
 * the component reader (tools/src/component/); injected so this module does not depend on
 * how binaries are read.
 */
export type ComponentLoader = (args: {
  bytes: Uint8Array;
  /** Set when `bytes` is a skeleton of a large file (`DependencyOptions.skeletons`). */
  source?: ComponentFileSource;
  types: Types;
  name: string;
  version?: string;
  path: string;
}) => Package | Promise<Package>;

export interface ResolveOptions extends DependencyOptions {
  readonly loadComponent: ComponentLoader;
}

/** What a local name in a WAC document stands for. */
type Item =
  | {
      readonly kind: "node";
      readonly node: NodeId;
      readonly item: ItemKind;
      readonly origin: "import" | "instantiation" | "alias" | "definition";
      /** import name (imports), export name (aliases) or the defined type's name */
      readonly name?: string;
      /** For an import by package path: the path as written, used to infer argument names. */
      readonly path?: string;
      readonly span: Span;
    }
  | { readonly kind: "type"; readonly entry: ScopeEntry; readonly node: NodeId; readonly name: string; readonly span: Span };

/** The interface-name part of `ns:pkg/name@ver` (or undefined for a plain name). */
function interfaceSegment(name: string): string | undefined {
  const slash = name.lastIndexOf("/");
  if (slash < 0 || !name.includes(":")) return undefined;
  const at = name.indexOf("@", slash);
  return name.slice(slash + 1, at < 0 ? undefined : at);
}

/**
 * `baz` names `foo:bar/baz[@v]` when exactly one such interface name exists and `baz` itself
 * does not (wac's rule for inferred/named arguments and access expressions).
 */
function matchingInterfaceName(label: string, names: Iterable<string>): string | undefined {
  const all = [...names];
  if (all.includes(label)) return undefined;
  const m = all.filter((n) => interfaceSegment(n) === label);
  return m.length === 1 ? m[0] : undefined;
}

/** Every package the document refers to, so they can be loaded before resolution. */
export function referencedPackages(doc: Document): Array<{ name: string; version?: string; span: Span }> {
  const out: Array<{ name: string; version?: string; span: Span }> = [];
  const seen = new Set<string>();
  const own = doc.package.name.name;
  const add = (name: string, version: string | undefined, span: Span) => {
    if (name === own) return;
    const k = packageKey(name, version);
    if (seen.has(k)) return;
    seen.add(k);
    out.push(version === undefined ? { name, span } : { name, version, span });
  };
  const path = (p: PackagePath) => add(p.package, p.version, p.span);
  const pkgName = (p: PackageName) => add(p.name, p.version, p.span);
  const ifaceItems = (items: readonly InterfaceItem[]) => {
    for (const i of items) if (i.kind === "use" && i.path.kind === "package") path(i.path.path);
  };
  const worldItems = (items: readonly WorldItem[]) => {
    for (const i of items) {
      if (i.kind === "use" && i.path.kind === "package") path(i.path.path);
      else if ((i.kind === "import" || i.kind === "export")) {
        if (i.path.kind === "package") path(i.path.path);
        else if (i.path.kind === "named" && i.path.type.kind === "inline-interface") ifaceItems(i.path.type.items);
      } else if (i.kind === "include" && i.world.kind === "package") path(i.world.path);
    }
  };
  const expr = (e: Expr) => {
    const p = e.primary;
    if (p.kind === "new") {
      pkgName(p.package);
      for (const a of p.args) if (a.kind === "named") expr(a.expr);
    } else if (p.kind === "nested") expr(p.expr);
  };
  if (doc.package.targets !== undefined) path(doc.package.targets);
  for (const s of doc.statements) {
    switch (s.kind) {
      case "import":
        if (s.type.kind === "package") path(s.type.path);
        else if (s.type.kind === "inline-interface") ifaceItems(s.type.items);
        break;
      case "interface":
        ifaceItems(s.items);
        break;
      case "world":
        worldItems(s.items);
        break;
      case "let":
      case "export":
        expr(s.expr);
        break;
      case "type":
        break;
    }
  }
  return out;
}

/**
 * Loads every referenced package (WIT directories, `.wat` compiled through jco, `.wasm`)
 * into the graph. Unknown packages are errors positioned at their first reference.
 */
export async function loadPackages(doc: Document, source: Source, graph: CompositionGraph, opts: ResolveOptions): Promise<void> {
  for (const ref of referencedPackages(doc)) {
    if (graph.getPackageByName(ref.name, ref.version) !== undefined) continue;
    const found = await locateDependency(ref.name, ref.version, opts);
    if (found === undefined) {
      const where = ref.version === undefined ? `${opts.depsDir}/${ref.name.split(":").join("/")}{/,.wat,.wasm}` : `${opts.depsDir}/${ref.name.split(":").join("/")}/${ref.version}{/,.wat,.wasm}`;
      throw new SourceError("WAC_UNKNOWN_PACKAGE", source, ref.span, `unknown package \`${packageKey(ref.name, ref.version)}\` (looked for ${where}; use --dep ${ref.name}=PATH or --deps-dir)`);
    }
    let pkg: Package;
    try {
      if (found.kind === "wit") {
        const wit = new WitLoader(graph.types).loadPath(found.path);
        pkg = witPackageToGraphPackage(graph.types, wit);
        pkg.name = ref.name;
        if (ref.version !== undefined) pkg.version = ref.version;
        else delete pkg.version;
      } else {
        pkg = await opts.loadComponent({
          bytes: found.bytes,
          types: graph.types,
          name: ref.name,
          path: found.path,
          ...(ref.version !== undefined ? { version: ref.version } : {}),
          ...(found.source !== undefined ? { source: found.source } : {}),
        });
      }
    } catch (e) {
      if (e instanceof SourceError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      throw new SourceError(e instanceof WasmOciError ? e.code : "WAC_PACKAGE_INVALID", source, ref.span, `failed to load package \`${packageKey(ref.name, ref.version)}\` from ${found.path}: ${msg}`);
    }
    graph.registerPackage(pkg);
  }
}

/** Resolves a parsed WAC document into `graph` (packages must be loaded already). */
export class Resolver {
  private readonly root = new Scope();
  private readonly items = new Map<string, Item>();
  private readonly conv: TypeConverter;
  private readonly checker = new SubtypeChecker();

  constructor(
    readonly doc: Document,
    readonly source: Source,
    readonly graph: CompositionGraph,
  ) {
    const host: TypeHost = {
      types: graph.types,
      source,
      code: "WAC_RESOLUTION",
      packageName: doc.package.name.name,
      ...(doc.package.name.version === undefined ? {} : { version: doc.package.name.version }),
      localInterface: (id) => this.localInterface(id),
      localWorld: (id) => this.localWorld(id),
      foreignInterface: (path) => this.foreignDefinition(path, "interface") as InterfaceId,
      foreignWorld: (path) => this.foreignDefinition(path, "world") as WorldId,
    };
    this.conv = new TypeConverter(host);
  }

  private get types(): Types {
    return this.graph.types;
  }

  private fail(span: Span, message: string): never {
    throw new SourceError("WAC_RESOLUTION", this.source, span, message);
  }

  /** Runs a graph operation, reporting its CompositionError at `span`. */
  private at<T>(span: Span, f: () => T, prefix = ""): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof SourceError) throw e;
      if (e instanceof WasmOciError) throw new SourceError(e.code, this.source, span, prefix + e.message);
      throw e;
    }
  }

  private localInterface(id: Ident): InterfaceId {
    const e = this.root.lookup(id.name);
    if (e === undefined) this.fail(id.span, `undefined name \`${id.name}\``);
    if (e.kind !== "interface") this.fail(id.span, `\`${id.name}\` is a ${describeEntry(e, this.types)}, not an interface`);
    return e.id;
  }

  private localWorld(id: Ident): WorldId {
    const e = this.root.lookup(id.name);
    if (e === undefined) this.fail(id.span, `undefined name \`${id.name}\``);
    if (e.kind !== "world") this.fail(id.span, `\`${id.name}\` is a ${describeEntry(e, this.types)}, not a world`);
    return e.id;
  }

  private packageOf(name: string, version: string | undefined, span: Span): { id: PackageId; package: Package } {
    const p = this.graph.getPackageByName(name, version);
    if (p === undefined) this.fail(span, `unknown package \`${packageKey(name, version)}\``);
    return p;
  }

  /** `ns:pkg/name` naming an interface or world of a package (or of this document). */
  private foreignDefinition(path: PackagePath, want: "interface" | "world"): InterfaceId | WorldId {
    if (path.segments.length !== 1) this.fail(path.span, "nested package paths are not supported");
    const seg = path.segments[0]!;
    if (path.package === this.doc.package.name.name) {
      const id = { name: seg, span: path.span };
      return want === "interface" ? this.localInterface(id) : this.localWorld(id);
    }
    const pkg = this.packageOf(path.package, path.version, path.span).package;
    const def = pkg.definitions.get(seg);
    if (def === undefined) this.fail(path.span, `package \`${packageKey(pkg.name, pkg.version)}\` does not define \`${seg}\``);
    if (def.kind === "type" && def.type.kind === want) return def.type.id;
    if (want === "interface" && def.kind === "instance") return def.id;
    if (want === "world" && def.kind === "component") return def.id;
    this.fail(path.span, `\`${packagePathString(path)}\` (${this.types.describeItem(def)}) is not ${want === "interface" ? "an interface" : "a world"}`);
  }

  private bind(id: Ident, item: Item): void {
    if (this.items.has(id.name) || this.root.entries.has(id.name)) this.fail(id.span, `\`${id.name}\` is already defined`);
    this.items.set(id.name, item);
  }

  /**
   * `type a = u32; export a as "b";` exports the definition only as `b` (a definition has one
   * export name), so definitions re-exported under another name are defined with that name.
   */
  private readonly definitionNames = new Map<string, string>();

  resolve(): void {
    const typeNames = new Set<string>();
    for (const s of this.doc.statements) {
      if (s.kind === "interface" || s.kind === "world") typeNames.add(s.id.name);
      else if (s.kind === "type") typeNames.add(s.decl.id.name);
      else if (s.kind === "export" && s.options.kind === "as" && s.expr.postfix.length === 0 && s.expr.primary.kind === "ident") {
        const local = s.expr.primary.id.name;
        const name = "value" in s.options.name ? (s.options.name as StringLit).value : (s.options.name as Ident).name;
        if (typeNames.has(local) && !this.definitionNames.has(local)) this.definitionNames.set(local, name);
      }
    }
    for (const s of this.doc.statements) this.statement(s);
    if (this.doc.package.targets !== undefined) this.checkTargets(this.doc.package.targets);
  }

  private statement(s: Statement): void {
    switch (s.kind) {
      case "import":
        return this.importStatement(s);
      case "interface": {
        if (this.items.has(s.id.name)) this.fail(s.id.span, `\`${s.id.name}\` is already defined`);
        const id = this.conv.interface(s.items, qualifiedName(this.doc.package.name.name, s.id.name, this.doc.package.name.version), this.root, false, true);
        return this.defineTypeItem(s.id, { kind: "interface", id });
      }
      case "world": {
        if (this.items.has(s.id.name)) this.fail(s.id.span, `\`${s.id.name}\` is already defined`);
        const id = this.conv.world(s.items, qualifiedName(this.doc.package.name.name, s.id.name, this.doc.package.name.version), this.root, false, true);
        return this.defineTypeItem(s.id, { kind: "world", id });
      }
      case "type": {
        const id = s.decl.id;
        if (this.items.has(id.name)) this.fail(id.span, `\`${id.name}\` is already defined`);
        let main: ItemKind | undefined;
        this.conv.typeDecl(s.decl, this.root, (name, kind) => {
          if (name === id.name) main = kind;
        }, true);
        if (main === undefined || main.kind !== "type") this.fail(id.span, `\`${id.name}\` cannot be defined here`);
        const entry = this.root.entries.get(id.name)!;
        const node = this.at(id.span, () => this.graph.defineType(this.definitionNames.get(id.name) ?? id.name, (main as ItemKind & { kind: "type" }).type));
        this.graph.setNodeName(node, id.name);
        this.items.set(id.name, { kind: "type", entry, node, name: id.name, span: id.span });
        return;
      }
      case "let": {
        const item = this.expr(s.expr);
        if (item.kind === "node" && this.graph.node(item.node).name === undefined) this.graph.setNodeName(item.node, s.id.name);
        this.bind(s.id, item);
        return;
      }
      case "export":
        return this.exportStatement(s.expr, s.options, s.span);
    }
  }

  private defineTypeItem(id: Ident, type: { kind: "interface"; id: InterfaceId } | { kind: "world"; id: WorldId }): void {
    if (this.root.entries.has(id.name)) this.fail(id.span, `\`${id.name}\` is already defined`);
    const entry: ScopeEntry = type;
    this.root.entries.set(id.name, entry);
    const node = this.at(id.span, () => this.graph.defineType(this.definitionNames.get(id.name) ?? id.name, type));
    this.graph.setNodeName(node, id.name);
    this.items.set(id.name, { kind: "type", entry, node, name: id.name, span: id.span });
  }

  private importStatement(s: ImportStatement): void {
    let kind: ItemKind;
    let name: string;
    let path: string | undefined;
    const t = s.type;
    switch (t.kind) {
      case "package": {
        path = packagePathString(t.path);
        name = path;
        const seg = t.path.segments[0]!;
        if (t.path.segments.length !== 1) this.fail(t.path.span, "nested package paths are not supported");
        if (t.path.package === this.doc.package.name.name) {
          const e = this.root.lookup(seg);
          if (e?.kind === "interface") kind = { kind: "instance", id: e.id };
          else if (e?.kind === "world") kind = { kind: "component", id: e.id };
          else this.fail(t.path.span, `\`${path}\` is not defined in this document`);
        } else {
          const pkg = this.packageOf(t.path.package, t.path.version, t.path.span).package;
          const def = pkg.definitions.get(seg);
          if (def === undefined) this.fail(t.path.span, `package \`${packageKey(pkg.name, pkg.version)}\` does not define \`${seg}\``);
          kind = promote(def);
          if (kind.kind === "type") this.fail(t.path.span, `\`${path}\` is a ${this.types.describeItem(def)} and cannot be imported`);
        }
        break;
      }
      case "func":
        kind = { kind: "func", id: this.conv.funcType(t, this.root) };
        name = s.id.name;
        break;
      case "inline-interface":
        kind = { kind: "instance", id: this.conv.inlineInterface(t, this.root, false, true) };
        name = s.id.name;
        break;
      case "ident": {
        const e = this.root.lookup(t.id.name);
        if (e === undefined) this.fail(t.id.span, `undefined name \`${t.id.name}\``);
        name = s.id.name;
        if (e.kind === "func") kind = { kind: "func", id: e.id };
        else if (e.kind === "interface") {
          kind = { kind: "instance", id: e.id };
          name = this.types.iface(e.id).id ?? name;
        } else if (e.kind === "world") {
          kind = { kind: "component", id: e.id };
          name = this.types.world(e.id).id ?? name;
        } else this.fail(t.id.span, `\`${t.id.name}\` is a ${describeEntry(e, this.types)} and cannot be imported`);
        break;
      }
    }
    if (s.as !== undefined) name = "name" in s.as ? s.as.name : s.as.value;
    const span = s.as?.span ?? (t.kind === "package" ? t.path.span : s.id.span);
    if (this.items.has(s.id.name) || this.root.entries.has(s.id.name)) this.fail(s.id.span, `\`${s.id.name}\` is already defined`);
    const finalName = name;
    const node = this.at(span, () => {
      if (this.graph.imports().some((i) => i.node !== undefined && i.name === finalName)) {
        throw new WasmOciError("DUPLICATE_IMPORT", `duplicate import \`${finalName}\``);
      }
      return this.graph.import(finalName, kind);
    });
    this.graph.setNodeName(node, s.id.name);
    const item: Item = path === undefined
      ? { kind: "node", node, item: kind, origin: "import", name, span: s.id.span }
      : { kind: "node", node, item: kind, origin: "import", name, path, span: s.id.span };
    this.items.set(s.id.name, item);
  }

  // ---------------------------------------------------------------- expressions

  private lookupItem(id: Ident): Item {
    const item = this.items.get(id.name);
    if (item !== undefined) return item;
    if (this.root.entries.has(id.name)) this.fail(id.span, `\`${id.name}\` is a type and cannot be used as a value`);
    this.fail(id.span, `undefined name \`${id.name}\``);
  }

  private nodeOf(item: Item): { node: NodeId; kind: ItemKind } {
    if (item.kind === "node") return { node: item.node, kind: item.item };
    const k = this.graph.node(item.node).itemKind;
    return { node: item.node, kind: k };
  }

  private expr(e: Expr): Item {
    let item: Item;
    const p = e.primary;
    if (p.kind === "ident") item = this.lookupItem(p.id);
    else if (p.kind === "nested") item = this.expr(p.expr);
    else item = this.newExpr(p);
    for (const post of e.postfix) {
      if (item.kind !== "node" || item.item.kind !== "instance") this.fail(post.span, "an instance is required to perform an access operation");
      const iface = this.types.iface(item.item.id);
      let exportName: string;
      if (post.kind === "named-access") exportName = post.string.value;
      else {
        exportName = matchingInterfaceName(post.id.name, iface.exports.keys()) ?? post.id.name;
      }
      const kind = iface.exports.get(exportName);
      if (kind === undefined) this.fail(post.kind === "access" ? post.id.span : post.string.span, `the instance has no export named \`${exportName}\``);
      const source = item.node;
      const node = this.at(post.span, () => this.graph.aliasInstanceExport(source, exportName));
      item = { kind: "node", node, item: kind, origin: "alias", name: exportName, span: post.span };
    }
    return item;
  }

  private newExpr(p: Expr["primary"] & { kind: "new" }): Item {
    if (p.package.name === this.doc.package.name.name) this.fail(p.package.span, "cannot instantiate the package being defined");
    const { id: pkgId, package: pkg } = this.packageOf(p.package.name, p.package.version, p.package.span);
    if (pkg.bytes === undefined) this.fail(p.package.span, `package \`${packageKey(pkg.name, pkg.version)}\` is not a component (it is a WIT package) and cannot be instantiated`);
    const imports = this.types.world(pkg.ty).imports;
    const importNames = [...imports.keys()];
    const pkgLabel = packageKey(pkg.name, pkg.version);

    // Arguments are evaluated before the instantiation exists (nested `new` and aliases come
    // first in the graph, as in the reference), then set in source order.
    const args = new Map<string, { node: NodeId; span: Span }>();
    const add = (name: string, node: NodeId, span: Span) => {
      if (args.has(name)) this.fail(span, `duplicate instantiation argument \`${name}\``);
      args.set(name, { node, span });
    };
    for (const arg of p.args) {
      if (arg.kind === "spread") continue;
      if (arg.kind === "named") {
        const value = this.nodeOf(this.expr(arg.expr));
        const name = "value" in arg.name
          ? (arg.name as StringLit).value
          : matchingInterfaceName((arg.name as Ident).name, importNames) ?? (arg.name as Ident).name;
        add(name, value.node, arg.name.span);
        continue;
      }
      const item = this.lookupItem(arg.id);
      const value = this.nodeOf(item);
      let name: string | undefined;
      if (value.kind.kind === "instance") {
        const id = this.types.iface(value.kind.id).id;
        if (id !== undefined && imports.has(id)) name = id;
      }
      if (name === undefined) {
        const associated = this.graph.getImportName(value.node) ?? this.graph.getAliasSource(value.node)?.exportName;
        if (associated !== undefined && imports.has(associated)) name = associated;
      }
      name ??= matchingInterfaceName(arg.id.name, importNames) ?? arg.id.name;
      add(name, value.node, arg.id.span);
    }
    for (const arg of p.args) {
      if (arg.kind !== "spread") continue;
      const item = this.lookupItem(arg.id);
      if (item.kind !== "node" || item.item.kind !== "instance") this.fail(arg.id.span, `\`${arg.id.name}\` is not an instance: an instance is required to perform a spread operation`);
      const iface = this.types.iface(item.item.id);
      let matched = 0;
      for (const name of importNames) {
        if (args.has(name) || !iface.exports.has(name)) continue;
        const src = item.node;
        add(name, this.at(arg.span, () => this.graph.aliasInstanceExport(src, name)), arg.span);
        matched++;
      }
      if (matched === 0) this.fail(arg.span, `the instance \`${arg.id.name}\` has no matching exports for the remaining unsatisfied arguments of \`${pkgLabel}\``);
    }

    const node = this.at(p.package.span, () => this.graph.instantiate(pkgId));
    for (const [name, { node: source, span }] of args) {
      if (!imports.has(name)) this.fail(span, `component \`${pkgLabel}\` has no import named \`${name}\``);
      this.at(span, () => this.graph.setInstantiationArgument(node, name, source));
    }
    if (p.fill === undefined) {
      for (const name of importNames) {
        if (!args.has(name)) this.fail(p.package.span, `missing instantiation argument \`${name}\` for package \`${pkgLabel}\``);
      }
    }
    return { kind: "node", node, item: { kind: "instance", id: pkg.instanceType }, origin: "instantiation", span: p.span };
  }

  // ---------------------------------------------------------------- exports

  private exportStatement(expr: Expr, options: ExportOptions, span: Span): void {
    const item = this.expr(expr);
    const { node, kind } = this.nodeOf(item);
    if (options.kind === "spread") {
      if (kind.kind !== "instance") this.fail(expr.span, "only an instance can be spread as exports");
      const iface = this.types.iface(kind.id);
      let exported = 0;
      for (const name of iface.exports.keys()) {
        if (this.graph.getExport(name) !== undefined) continue;
        const alias = this.at(expr.span, () => this.graph.aliasInstanceExport(node, name));
        this.at(expr.span, () => this.graph.export(alias, name));
        exported++;
      }
      if (exported === 0) this.fail(expr.span, "instance has no exports or all exports of the instance match previously exported names");
      return;
    }
    let name: string;
    let nameSpan = expr.span;
    if (options.kind === "as") {
      name = "value" in options.name ? (options.name as StringLit).value : (options.name as Ident).name;
      nameSpan = options.name.span;
    } else if (item.kind === "type") name = item.name;
    else {
      const instanceId = kind.kind === "instance" ? this.types.iface(kind.id).id : undefined;
      const inferred = instanceId ?? this.graph.getImportName(node) ?? this.graph.getAliasSource(node)?.exportName;
      if (inferred === undefined) this.fail(expr.span, "export statement requires an `as` clause as the export name cannot be inferred");
      name = inferred;
    }
    const finalName = name;
    if (item.kind === "type" || this.graph.node(node).kind.kind === "definition") {
      // Exporting a type definition under another name renames its export.
      const current = this.graph.node(node).exportName;
      if (current === finalName) return;
    }
    this.at(nameSpan, () => {
      if (this.graph.getExport(finalName) !== undefined) throw new WasmOciError("DUPLICATE_EXPORT", `duplicate export \`${finalName}\``);
      this.graph.export(node, finalName);
    });
  }

  // ---------------------------------------------------------------- targets

  private checkTargets(path: PackagePath): void {
    const label = packagePathString(path);
    let worldId: WorldId;
    if (path.package === this.doc.package.name.name) {
      const seg = path.segments[0]!;
      const e = this.root.lookup(seg);
      if (e === undefined) this.fail(path.span, `\`${label}\` is not defined`);
      if (e.kind !== "world") this.fail(path.span, `\`${label}\` (${describeEntry(e, this.types)}) is not a world`);
      worldId = e.id;
    } else worldId = this.foreignDefinition(path, "world") as WorldId;
    const world = this.types.world(worldId);
    // A world's `use` imports the interface it uses from, even when not listed as an import.
    const worldImports = new Map(world.imports);
    for (const used of world.uses.values()) {
      const ifaceName = this.types.iface(used.interface).id;
      if (ifaceName !== undefined && !worldImports.has(ifaceName)) worldImports.set(ifaceName, { kind: "instance", id: used.interface });
    }
    for (const imp of this.graph.imports()) {
      const expected = worldImports.get(imp.name);
      if (expected === undefined) this.fail(path.span, `target world \`${label}\` does not have an import named \`${imp.name}\``);
      try {
        this.checker.isSubtype(expected, imp.kind, this.types);
      } catch (e) {
        this.fail(path.span, `import \`${imp.name}\` has a mismatched type for target world \`${label}\`: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    for (const [name, expected] of world.exports) {
      const nodeId = this.graph.getExport(name);
      if (nodeId === undefined) this.fail(path.span, `target world \`${label}\` requires an export named \`${name}\``);
      try {
        this.checker.isSubtype(this.graph.node(nodeId).itemKind, expected, this.types);
      } catch (e) {
        this.fail(path.span, `export \`${name}\` has a mismatched type for target world \`${label}\`: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

/** Parses, loads the dependencies of and resolves a WAC document into a new graph. */
export async function resolveDocument(source: Source, opts: ResolveOptions): Promise<{ graph: CompositionGraph; document: Document }> {
  const document = parseDocument(source);
  const graph = new CompositionGraph();
  await loadPackages(document, source, graph, opts);
  new Resolver(document, source, graph).resolve();
  return { graph, document };
}
