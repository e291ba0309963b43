import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Ident, InterfaceDecl, PackagePath, WitItem, WorldDecl } from "./ast.ts";
import { SourceError, type Source } from "./diagnostics.ts";
import { parseWitFile } from "./parser.ts";
import { qualifiedName, TypeConverter, type TypeHost } from "./type-converter.ts";
import { WasmOciError } from "../util/errors.ts";
import type { InterfaceId, ItemKind, Types, WorldId } from "../component/types.ts";
import type { Package } from "../compose/graph.ts";

/** A WIT package converted into a `Types` arena. */
export interface WitPackageTypes {
  readonly name: string;
  readonly version?: string;
  readonly interfaces: Map<string, InterfaceId>;
  readonly worlds: Map<string, WorldId>;
}

interface Decl<T> {
  readonly decl: T;
  readonly source: Source;
}

interface Unresolved {
  readonly name: string;
  readonly version?: string;
  readonly interfaces: Map<string, Decl<InterfaceDecl>>;
  readonly worlds: Map<string, Decl<WorldDecl>>;
  /** Top-level `use ns:pkg/iface as alias;` */
  readonly aliases: Map<string, { path: PackagePath; source: Source }>;
  readonly done: WitPackageTypes & { interfaces: Map<string, InterfaceId>; worlds: Map<string, WorldId> };
  readonly inProgress: Set<string>;
}

function key(name: string, version?: string): string {
  return version === undefined ? name : `${name}@${version}`;
}

/**
 * Loads WIT packages (a directory of `.wit` files plus `deps/`, or a single `.wit` file) into
 * a Types arena. Declarations are converted on demand, so interfaces may refer to each
 * other in any order, across files and across packages in `deps/`; cycles are errors.
 */
export class WitLoader {
  private readonly packages = new Map<string, Unresolved>();

  constructor(readonly types: Types) {}

  /** Parses a package from `path` (and its `deps/`) and converts all of it. */
  loadPath(path: string): WitPackageTypes {
    const st = statSync(path);
    let files: string[];
    if (st.isDirectory()) {
      files = readdirSync(path).filter((f) => f.endsWith(".wit")).sort().map((f) => join(path, f));
      const deps = join(path, "deps");
      if (safeIsDir(deps)) this.loadDeps(deps);
    } else files = [path];
    if (files.length === 0) throw new WasmOciError("WIT_NO_FILES", `no .wit files found in directory ${path}`);
    const main = this.addSources(files.map((f) => ({ path: f, text: readFileSync(f, "utf8") })), path);
    return this.resolveAll(main);
  }

  /** Parses WIT sources given as text (all one package), e.g. for tests. */
  loadSources(sources: readonly Source[]): WitPackageTypes {
    return this.resolveAll(this.addSources(sources, sources[0]?.path ?? "<wit>"));
  }

  private loadDeps(dir: string): void {
    for (const entry of readdirSync(dir).sort()) {
      const p = join(dir, entry);
      if (safeIsDir(p)) {
        const files = readdirSync(p).filter((f) => f.endsWith(".wit")).sort().map((f) => join(p, f));
        if (files.length > 0) this.addSources(files.map((f) => ({ path: f, text: readFileSync(f, "utf8") })), p);
        const nested = join(p, "deps");
        if (safeIsDir(nested)) this.loadDeps(nested);
      } else if (entry.endsWith(".wit")) {
        this.addSources([{ path: p, text: readFileSync(p, "utf8") }], p);
      }
    }
  }

  /** Adds the sources of one package; returns the package key. */
  private addSources(sources: readonly Source[], where: string): Unresolved {
    let main: Unresolved | undefined;
    const pending: Array<{ source: Source; items: readonly WitItem[] }> = [];
    for (const source of sources) {
      const file = parseWitFile(source);
      if (file.package !== undefined) {
        const pkg = this.unresolved(file.package.name, file.package.version);
        if (main !== undefined && main !== pkg) {
          throw new SourceError("WIT_RESOLUTION", source, file.package.span, `package \`${key(file.package.name, file.package.version)}\` conflicts with \`${key(main.name, main.version)}\` declared in another file of ${where}`);
        }
        main = pkg;
      }
      pending.push({ source, items: file.items });
      for (const n of file.nested) this.addItems(this.unresolved(n.package.name, n.package.version), source, n.items);
    }
    if (main === undefined) throw new WasmOciError("WIT_NO_PACKAGE", `no \`package\` declaration found in ${where}`);
    for (const p of pending) this.addItems(main, p.source, p.items);
    return main;
  }

  private unresolved(name: string, version?: string): Unresolved {
    const k = key(name, version);
    let u = this.packages.get(k);
    if (u === undefined) {
      const done = version === undefined
        ? { name, interfaces: new Map<string, InterfaceId>(), worlds: new Map<string, WorldId>() }
        : { name, version, interfaces: new Map<string, InterfaceId>(), worlds: new Map<string, WorldId>() };
      u = version === undefined
        ? { name, interfaces: new Map(), worlds: new Map(), aliases: new Map(), done, inProgress: new Set() }
        : { name, version, interfaces: new Map(), worlds: new Map(), aliases: new Map(), done, inProgress: new Set() };
      this.packages.set(k, u);
    }
    return u;
  }

  private addItems(pkg: Unresolved, source: Source, items: readonly WitItem[]): void {
    for (const item of items) {
      if (item.kind === "top-use") {
        const alias = item.as?.name ?? item.path.segments[item.path.segments.length - 1]!;
        pkg.aliases.set(alias, { path: item.path, source });
        continue;
      }
      const map: Map<string, Decl<InterfaceDecl | WorldDecl>> = item.kind === "interface" ? pkg.interfaces : pkg.worlds;
      if (pkg.interfaces.has(item.id.name) || pkg.worlds.has(item.id.name)) {
        throw new SourceError("WIT_RESOLUTION", source, item.id.span, `\`${item.id.name}\` is defined more than once in package \`${key(pkg.name, pkg.version)}\``);
      }
      map.set(item.id.name, { decl: item, source });
    }
  }

  private resolveAll(pkg: Unresolved): WitPackageTypes {
    for (const [name, d] of pkg.interfaces) this.iface(pkg, name, d.source, d.decl.id);
    for (const [name, d] of pkg.worlds) this.world(pkg, name, d.source, d.decl.id);
    const out = pkg.done;
    // Keep declaration order in the maps regardless of on-demand conversion order.
    return {
      name: out.name,
      ...(out.version === undefined ? {} : { version: out.version }),
      interfaces: new Map([...pkg.interfaces.keys()].map((n) => [n, out.interfaces.get(n)!])),
      worlds: new Map([...pkg.worlds.keys()].map((n) => [n, out.worlds.get(n)!])),
    };
  }

  private host(pkg: Unresolved, source: Source): TypeHost {
    return {
      types: this.types,
      source,
      code: "WIT_RESOLUTION",
      packageName: pkg.name,
      ...(pkg.version === undefined ? {} : { version: pkg.version }),
      localInterface: (id: Ident) => {
        const alias = pkg.aliases.get(id.name);
        if (alias !== undefined && !pkg.interfaces.has(id.name)) return this.foreign(alias.path, alias.source, "interface");
        return this.iface(pkg, id.name, source, id);
      },
      localWorld: (id: Ident) => this.world(pkg, id.name, source, id),
      foreignInterface: (path: PackagePath) => this.foreign(path, source, "interface"),
      foreignWorld: (path: PackagePath) => this.foreign(path, source, "world"),
    };
  }

  findPackage(name: string, version: string | undefined): Unresolved | undefined {
    const exact = this.packages.get(key(name, version));
    if (exact !== undefined) return exact;
    if (version === undefined) {
      const candidates = [...this.packages.values()].filter((p) => p.name === name);
      if (candidates.length === 1) return candidates[0];
    }
    return undefined;
  }

  private foreign<K extends "interface" | "world">(path: PackagePath, source: Source, kind: K): K extends "interface" ? InterfaceId : WorldId;
  private foreign(path: PackagePath, source: Source, kind: "interface" | "world"): InterfaceId | WorldId {
    const pkg = this.findPackage(path.package, path.version);
    if (pkg === undefined) {
      throw new SourceError("WIT_RESOLUTION", source, path.span, `package \`${key(path.package, path.version)}\` not found (looked in the package's deps/ directory)`);
    }
    if (path.segments.length !== 1) throw new SourceError("WIT_RESOLUTION", source, path.span, "nested package paths are not supported");
    const name = path.segments[0]!;
    const id = { name, span: path.span };
    return kind === "interface" ? this.iface(pkg, name, source, id) : this.world(pkg, name, source, id);
  }

  private iface(pkg: Unresolved, name: string, from: Source, at: Ident): InterfaceId {
    const done = pkg.done.interfaces.get(name);
    if (done !== undefined) return done;
    const d = pkg.interfaces.get(name);
    if (d === undefined) {
      throw new SourceError("WIT_RESOLUTION", from, at.span, `interface \`${name}\` not found in package \`${key(pkg.name, pkg.version)}\``);
    }
    const k = `interface ${name}`;
    if (pkg.inProgress.has(k)) throw new SourceError("WIT_RESOLUTION", from, at.span, `interface \`${name}\` depends on itself`);
    pkg.inProgress.add(k);
    const conv = new TypeConverter(this.host(pkg, d.source));
    const id = conv.interface(d.decl.items, qualifiedName(pkg.name, name, pkg.version), undefined, true, false);
    pkg.inProgress.delete(k);
    pkg.done.interfaces.set(name, id);
    return id;
  }

  private world(pkg: Unresolved, name: string, from: Source, at: Ident): WorldId {
    const done = pkg.done.worlds.get(name);
    if (done !== undefined) return done;
    const d = pkg.worlds.get(name);
    if (d === undefined) {
      throw new SourceError("WIT_RESOLUTION", from, at.span, `world \`${name}\` not found in package \`${key(pkg.name, pkg.version)}\``);
    }
    const k = `world ${name}`;
    if (pkg.inProgress.has(k)) throw new SourceError("WIT_RESOLUTION", from, at.span, `world \`${name}\` includes itself`);
    pkg.inProgress.add(k);
    const conv = new TypeConverter(this.host(pkg, d.source));
    const id = conv.world(d.decl.items, qualifiedName(pkg.name, name, pkg.version), undefined, true, false);
    pkg.inProgress.delete(k);
    pkg.done.worlds.set(name, id);
    return id;
  }
}

function safeIsDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A WIT package as a graph package: type-only (no bytes, cannot be instantiated); its
 * interfaces and worlds are its definitions.
 */
export function witPackageToGraphPackage(types: Types, wit: WitPackageTypes): Package {
  const definitions = new Map<string, ItemKind>();
  for (const [n, id] of wit.interfaces) definitions.set(n, { kind: "type", type: { kind: "interface", id } });
  for (const [n, id] of wit.worlds) definitions.set(n, { kind: "type", type: { kind: "world", id } });
  const pkg: Package = {
    name: wit.name,
    ty: types.addWorld({ uses: new Map(), imports: new Map(), exports: new Map() }),
    instanceType: types.addInterface({ uses: new Map(), exports: new Map() }),
    definitions,
  };
  if (wit.version !== undefined) pkg.version = wit.version;
  return pkg;
}
