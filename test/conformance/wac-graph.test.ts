/**
 * Conformance: the reference composer's graph fixtures (crates/wac-graph/tests/graphs).
 * Each case's graph.json is loaded into our CompositionGraph by a small test-only loader;
 * cases with encoded.wat must encode (imported dependencies, validated) to exactly that WAT
 * after printing; cases with error.txt must fail, with our message naming the same thing.
 */
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { componentEmbed, componentNew, parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { CompositionGraph, type NodeId, type PackageId } from "../../tools/src/compose/graph.ts";
import { packageFromBytes } from "../../tools/src/component/package.ts";
import { promote } from "../../tools/src/component/types.ts";
import { encodeGraphSync } from "../../tools/src/compose/encoder.ts";
import { runIsolated, validateComponent } from "../../tools/src/compose/validate.ts";

// ../shared beside the repository root, as in CI's fresh clone.
const ROOT = fileURLToPath(new URL("../../../shared/conformance/wac/crates/wac-graph/tests/graphs", import.meta.url));

interface GraphFile {
  packages?: Array<{ name: string; version?: string; path: string }>;
  nodes?: Array<
    | { type: "import"; name: string; package: number; export: string }
    | { type: "instantiation"; package: number }
    | { type: "alias"; source: number; export: string }
  >;
  arguments?: Array<{ source: number; target: number; name: string }>;
  names?: Array<{ node: number; name: string }>;
  exports?: Array<{ node: number; name: string }>;
}

/** A WIT package (file, or directory with deps/) as one WIT source: deps become nested package blocks. */
function witSource(path: string): string {
  if (statSync(path).isFile()) return readFileSync(path, "utf8");
  const main = readdirSync(path).filter((f) => f.endsWith(".wit")).map((f) => readFileSync(join(path, f), "utf8")).join("\n");
  const deps = join(path, "deps");
  let nested = "";
  if (existsSync(deps)) {
    for (const f of readdirSync(deps).sort()) {
      const p = join(deps, f);
      const files = statSync(p).isDirectory() ? readdirSync(p).filter((x) => x.endsWith(".wit")).map((x) => readFileSync(join(p, x), "utf8")) : [readFileSync(p, "utf8")];
      for (const text of files) {
        const m = /^\s*package\s+([^;]+);/m.exec(text);
        if (m === null) continue;
        nested += `\npackage ${m[1]!.trim()} {\n${text.replace(m[0], "")}\n}\n`;
      }
    }
  }
  return main + nested;
}

async function loadPackageBytes(path: string): Promise<Uint8Array> {
  if (path.endsWith(".wat")) return parse(readFileSync(path, "utf8"));
  const module = await componentEmbed({ dummy: true, witSource: witSource(path) });
  return componentNew(module);
}

/** Builds the graph described by graph.json; errors carry the step, like the reference harness. */
async function buildGraph(dir: string, g: GraphFile): Promise<CompositionGraph> {
  const graph = new CompositionGraph();
  const packages: PackageId[] = [];
  for (const p of g.packages ?? []) {
    const bytes = await loadPackageBytes(join(dir, p.path));
    const pkg = packageFromBytes(p.name, p.version, bytes, graph.types);
    try {
      packages.push(graph.registerPackage(pkg));
    } catch (e) {
      throw new Error(`failed to register package \`${p.path}\`: ${(e as Error).message}`, { cause: e });
    }
  }
  const nodes: NodeId[] = [];
  (g.nodes ?? []).forEach((n, i) => {
    try {
      if (n.type === "import") {
        const pkg = graph.pkg(packages[n.package]!);
        const kind = graph.types.world(pkg.ty).exports.get(n.export);
        if (kind === undefined) throw new Error(`invalid package export \`${n.export}\``);
        nodes.push(graph.import(n.name, promote(kind)));
      } else if (n.type === "instantiation") nodes.push(graph.instantiate(packages[n.package]!));
      else nodes.push(graph.aliasInstanceExport(nodes[n.source]!, n.export));
    } catch (e) {
      throw new Error(`failed to add node ${i}: ${(e as Error).message}`, { cause: e });
    }
  });
  (g.arguments ?? []).forEach((a, i) => {
    try {
      graph.setInstantiationArgument(nodes[a.target]!, a.name, nodes[a.source]!);
    } catch (e) {
      throw new Error(`failed to add argument ${i}: ${(e as Error).message}`, { cause: e });
    }
  });
  (g.exports ?? []).forEach((x, i) => {
    try {
      graph.export(nodes[x.node]!, x.name);
    } catch (e) {
      throw new Error(`failed to export node ${x.node} in export ${i}: ${(e as Error).message}`, { cause: e });
    }
  });
  for (const n of g.names ?? []) graph.setNodeName(nodes[n.node]!, n.name);
  return graph;
}

function normalize(wat: string): string {
  return wat.replace(/\r\n/g, "\n").split("\n").filter((l) => !/\(processed-by "wac-parser"/.test(l)).join("\n").trim();
}

/** The distinctive words of the reference's last error line that our message must contain too. */
function expectedPhrase(errorTxt: string): string {
  const last = errorTxt.trim().split("\n").map((l) => l.trim()).filter(Boolean).pop() ?? "";
  return last.replace(/^\d+:\s*/, "");
}

const cases = readdirSync(ROOT).filter((d) => statSync(join(ROOT, d)).isDirectory()).sort();
let passed = 0;

describe("wac-graph fixtures", () => {
  afterAll(() => {
    process.stdout.write(`wac-graph: ${passed}/${cases.length}\n`);
  });

  for (const name of cases) {
    const dir = join(ROOT, name);
    const errorPath = join(dir, "error.txt");
    it(name, async () => {
      const g = JSON.parse(readFileSync(join(dir, "graph.json"), "utf8")) as GraphFile;
      if (existsSync(errorPath)) {
        const phrase = expectedPhrase(readFileSync(errorPath, "utf8"));
        let message: string | undefined;
        try {
          const graph = await buildGraph(dir, g);
          const bytes = encodeGraphSync(graph, { defineComponents: false });
          await validateComponent(bytes);
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message, "expected the case to fail").toBeDefined();
        expect(message).toContain(phrase);
      } else {
        const graph = await buildGraph(dir, g);
        const bytes = encodeGraphSync(graph, { defineComponents: false });
        await validateComponent(bytes);
        const printed = await runIsolated("print", bytes);
        expect(normalize(printed)).toBe(normalize(readFileSync(join(dir, "encoded.wat"), "utf8")));
      }
      passed++;
    });
  }
});
