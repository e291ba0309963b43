/**
 * Generates a WAC document that wires components by matching import and export names, as
 * `wac plug` does, for compositions nobody wrote by hand (`wac_compose_with_oci` without
 * `composition`).
 *
 * Rules (docs/cli.md `wasm-oci wac generate`):
 * - an import of component C is satisfied by the export of the same name of another component,
 *   else by a semver-compatible interface name (`a:b/c@0.2.1` for `a:b/c@0.2.0`, as `wac plug`);
 *   several candidates are an error unless `providers` names the one to use;
 * - providers are instantiated before their consumers; ties keep the input order; a cycle is an
 *   error naming it;
 * - arguments are named (`"name": p["name"]`), never spread: WAC rejects a spread that satisfies
 *   nothing, and naming makes the wiring readable;
 * - a trailing `...` only where an import stays unsatisfied (it becomes an import of the result);
 * - the socket's exports are exported: `socket` if given, else every component no other one
 *   consumes (their export names must not collide).
 */
import { KEYWORDS } from "./lexer.ts";
import { WasmOciError } from "../util/errors.ts";
import { areSemverCompatible } from "../compose/aggregator.ts";

export interface GenComponent {
  /** WAC package name `ns:name` (the `--dep` name). */
  readonly pkg: string;
  readonly imports: readonly string[];
  readonly exports: readonly string[];
}

export interface GenerateOptions {
  /** Package line of the document (`ns:name`). */
  readonly packageName: string;
  /** Export only this component's exports (a `pkg` of the input). */
  readonly socket?: string;
  /** import name -> pkg of the component that satisfies it, where several export it. */
  readonly providers?: ReadonlyMap<string, string>;
}

export interface Wire {
  readonly consumer: string;
  readonly import: string;
  readonly provider: string;
  /** The provider's export: the import name, or a semver-compatible one. */
  readonly export: string;
}

export interface Generated {
  readonly text: string;
  /** Instantiation order: WAC variable and package. */
  readonly order: readonly { readonly var: string; readonly pkg: string }[];
  readonly wiring: readonly Wire[];
  /** Imports nothing satisfies: they become imports of the composition. */
  readonly imported: readonly { readonly consumer: string; readonly import: string }[];
  /** Packages whose exports are exported. */
  readonly sockets: readonly string[];
}

function fail(code: string, message: string): never {
  throw new WasmOciError(code, message);
}

/** A WAC identifier for a package: its name part, or `ns-name` when two share it; `%` escapes keywords. */
function variables(pkgs: readonly string[]): Map<string, string> {
  const short = (p: string) => p.slice(p.lastIndexOf(":") + 1);
  const count = new Map<string, number>();
  for (const p of pkgs) count.set(short(p), (count.get(short(p)) ?? 0) + 1);
  const out = new Map<string, string>();
  for (const p of pkgs) {
    const id = (count.get(short(p)) ?? 0) > 1 ? p.replaceAll(":", "-") : short(p);
    out.set(p, KEYWORDS.has(id) ? `%${id}` : id);
  }
  return out;
}

function quote(s: string): string {
  // WAC strings have no escapes; component-model names never contain `"`.
  if (s.includes('"')) fail("WAC_GENERATE_BAD_NAME", `cannot write the name ${JSON.stringify(s)} as a WAC string`);
  return `"${s}"`;
}

export function generateComposition(components: readonly GenComponent[], opts: GenerateOptions): Generated {
  if (components.length === 0) fail("WAC_GENERATE_NO_COMPONENTS", "no components to compose: give at least one --dep");
  const byPkg = new Map<string, GenComponent>();
  for (const c of components) {
    if (byPkg.has(c.pkg)) fail("WAC_GENERATE_DUPLICATE", `package ${c.pkg} is given twice`);
    byPkg.set(c.pkg, c);
  }
  for (const [name, pkg] of opts.providers ?? []) {
    const p = byPkg.get(pkg);
    if (p === undefined) fail("WAC_GENERATE_UNKNOWN_PROVIDER", `--provider ${name}=${pkg}: ${pkg} is not one of the components (${[...byPkg.keys()].join(", ")})`);
    if (!p.exports.some((e) => areSemverCompatible(e, name))) fail("WAC_GENERATE_UNKNOWN_PROVIDER", `--provider ${name}=${pkg}: ${pkg} does not export ${name} (it exports: ${p.exports.join(", ") || "nothing"})`);
  }
  if (opts.socket !== undefined && !byPkg.has(opts.socket)) {
    fail("WAC_GENERATE_UNKNOWN_SOCKET", `--socket ${opts.socket} is not one of the components (${[...byPkg.keys()].join(", ")})`);
  }

  /** Exporters of `name` other than `self`: exact names first; only without one, compatible versions. */
  const exportersOf = (name: string, self: string): { pkg: string; name: string }[] => {
    const others = components.filter((c) => c.pkg !== self);
    const exact = others.filter((c) => c.exports.includes(name)).map((c) => ({ pkg: c.pkg, name }));
    if (exact.length > 0) return exact;
    return others.flatMap((c) => c.exports.filter((e) => areSemverCompatible(e, name)).map((e) => ({ pkg: c.pkg, name: e })));
  };

  // Resolve every import to at most one provider.
  const wiring: Wire[] = [];
  const imported: { consumer: string; import: string }[] = [];
  const providersOf = new Map<string, Set<string>>(components.map((c) => [c.pkg, new Set<string>()]));
  for (const c of components) {
    for (const name of c.imports) {
      const candidates = exportersOf(name, c.pkg);
      let provider: { pkg: string; name: string } | undefined;
      if (candidates.length === 1) provider = candidates[0];
      else if (candidates.length > 1) {
        const chosen = opts.providers?.get(name);
        provider = candidates.find((x) => x.pkg === chosen);
        if (provider === undefined) {
          fail(
            "WAC_GENERATE_AMBIGUOUS",
            `${c.pkg} imports ${name}, which ${candidates.map((x) => (x.name === name ? x.pkg : `${x.pkg} (as ${x.name})`)).join(" and ")} all export: choose one with --provider ${name}=PKG (or write the composition by hand)`,
          );
        }
      }
      if (provider === undefined) imported.push({ consumer: c.pkg, import: name });
      else {
        wiring.push({ consumer: c.pkg, import: name, provider: provider.pkg, export: provider.name });
        providersOf.get(c.pkg)!.add(provider.pkg);
      }
    }
  }

  // Providers before consumers; among the ready ones the input order wins (deterministic).
  const placed: string[] = [];
  const done = new Set<string>();
  while (placed.length < components.length) {
    const next = components.find((c) => !done.has(c.pkg) && [...providersOf.get(c.pkg)!].every((p) => done.has(p)));
    if (next === undefined) {
      const rest = components.filter((c) => !done.has(c.pkg)).map((c) => c.pkg);
      fail("WAC_GENERATE_CYCLE", `the components depend on each other in a cycle: ${describeCycle(rest, wiring, done)}`);
    }
    placed.push(next.pkg);
    done.add(next.pkg);
  }

  // The socket(s): what the composition exports.
  const consumed = new Set(wiring.map((w) => w.provider));
  let sockets: string[];
  if (opts.socket !== undefined) {
    sockets = [opts.socket];
    if (byPkg.get(opts.socket)!.exports.length === 0) fail("WAC_GENERATE_NOTHING_TO_EXPORT", `--socket ${opts.socket} exports nothing`);
  } else {
    sockets = placed.filter((p) => !consumed.has(p) && byPkg.get(p)!.exports.length > 0);
    if (sockets.length === 0) fail("WAC_GENERATE_NOTHING_TO_EXPORT", `no component is left to export: every component with exports is consumed by another (${placed.join(", ")}); choose one with --socket PKG`);
    const owner = new Map<string, string>();
    for (const s of sockets) {
      for (const e of byPkg.get(s)!.exports) {
        const other = owner.get(e);
        if (other !== undefined) fail("WAC_GENERATE_EXPORT_CONFLICT", `${other} and ${s} are both left unconsumed and both export ${e}: choose the one to export with --socket PKG`);
        owner.set(e, s);
      }
    }
  }

  const vars = variables(placed);
  const lines = [`package ${opts.packageName};`, ""];
  for (const pkg of placed) {
    const c = byPkg.get(pkg)!;
    const args = wiring.filter((w) => w.consumer === pkg).map((w) => `${quote(w.import)}: ${vars.get(w.provider)}[${quote(w.export)}]`);
    if (imported.some((i) => i.consumer === pkg)) args.push("...");
    const head = `let ${vars.get(pkg)} = new ${c.pkg}`;
    if (args.length === 0) lines.push(`${head} {};`);
    else if (args.length === 1) lines.push(`${head} { ${args[0]} };`);
    else lines.push(`${head} {`, ...args.map((a, i) => `  ${a}${i < args.length - 1 ? "," : ""}`), "};");
  }
  lines.push("");
  for (const s of sockets) lines.push(`export ${vars.get(s)}...;`);

  return {
    text: `${lines.join("\n")}\n`,
    order: placed.map((pkg) => ({ var: vars.get(pkg)!.replace(/^%/, ""), pkg })),
    wiring,
    imported,
    sockets,
  };
}

/** One cycle among the components not yet placed, as `a -(name)-> b -(name)-> a`. */
function describeCycle(rest: readonly string[], wiring: readonly Wire[], done: ReadonlySet<string>): string {
  // Walk consumer -> an unplaced provider until a component repeats; every unplaced component
  // has one, so the walk is bounded by rest.length steps.
  const path: string[] = [rest[0]!];
  const via: string[] = [];
  for (let i = 0; i <= rest.length; i++) {
    const cur = path[path.length - 1]!;
    const w = wiring.find((x) => x.consumer === cur && !done.has(x.provider))!;
    const at = path.indexOf(w.provider);
    via.push(w.import);
    if (at >= 0) {
      const cyc = path.slice(at);
      const names = via.slice(at);
      // Printed in provider -> consumer direction, the order in which they would be instantiated.
      const out: string[] = [];
      const ring = [...cyc, cyc[0]!].reverse();
      const rnames = [...names].reverse();
      for (let k = 0; k < ring.length - 1; k++) out.push(`${ring[k]} -(${rnames[k]})-> `);
      return `${out.join("")}${ring[ring.length - 1]} (each exports what the next imports)`;
    }
    path.push(w.provider);
  }
  return rest.join(", ");
}
