/**
 * `plug`: wires the exports of plug components into the matching imports of a socket
 * component (by exact name, or by a semver-compatible interface name) and exports
 * everything the socket exports, as `wac plug` does.
 */
import { packageFromFile } from "../component/package.ts";
import type { ComponentFileSource } from "../component/skeleton.ts";
import { concatChunks, type Chunk } from "./chunks.ts";
import { SubtypeChecker, SubtypeError } from "../component/subtype.ts";
import { areSemverCompatible } from "./aggregator.ts";
import { CompositionError, CompositionGraph, type EncodeOptions } from "./graph.ts";

export interface PlugInput {
  /** Shown in errors (usually the file path). */
  label: string;
  /** The component, or its skeleton when `source` is set (`readComponentFile`). */
  bytes: Uint8Array;
  source?: ComponentFileSource;
}

export interface PlugResult {
  /** The composed component as pieces (write with `writeChunksAtomic` from chunks.ts). */
  chunks: Chunk[];
  /** The composed component (joined on first access, reading file slices). */
  readonly bytes: Uint8Array;
  /** For each plug (in order): the socket imports it satisfied. */
  plugged: Array<{ label: string; imports: string[] }>;
}

/** Builds the plug graph (exposed for tests that want to inspect it before encoding). */
export function buildPlugGraph(socket: PlugInput, plugs: PlugInput[]): { graph: CompositionGraph; plugged: PlugResult["plugged"] } {
  const graph = new CompositionGraph();
  const load = (input: PlugInput, name: string): ReturnType<typeof packageFromFile> => {
    try {
      return packageFromFile(name, undefined, input, graph.types);
    } catch (e) {
      throw new CompositionError((e as { code?: string }).code ?? "INVALID_COMPONENT", `${input.label}: ${(e as Error).message}`, { cause: e });
    }
  };
  const socketPkg = load(socket, "root:socket");
  const socketId = graph.registerPackage(socketPkg);
  const plugIds = plugs.map((p, i) => graph.registerPackage(load(p, `plug:plug${i}`)));
  const socketInst = graph.instantiate(socketId);
  const socketImports = graph.types.world(socketPkg.ty).imports;
  const plugged: PlugResult["plugged"] = [];
  const checker = new SubtypeChecker();

  plugs.forEach((plug, i) => {
    const pkg = graph.pkg(plugIds[i]!);
    const matches: Array<{ exportName: string; importName: string }> = [];
    for (const [name, plugKind] of graph.types.world(pkg.ty).exports) {
      let importName: string | undefined = socketImports.has(name) ? name : undefined;
      if (importName === undefined) {
        for (const n of socketImports.keys()) if (areSemverCompatible(name, n)) { importName = n; break; }
      }
      if (importName === undefined) continue;
      try {
        checker.isSubtype(plugKind, socketImports.get(importName)!, graph.types, graph.types, "covariant");
      } catch (e) {
        if (e instanceof SubtypeError) continue;
        throw e;
      }
      matches.push({ exportName: name, importName });
    }
    let inst: ReturnType<CompositionGraph["instantiate"]> | undefined;
    for (const m of matches) {
      inst ??= graph.instantiate(plugIds[i]!);
      const alias = graph.aliasInstanceExport(inst, m.exportName);
      try {
        graph.setInstantiationArgument(socketInst, m.importName, alias);
      } catch (e) {
        throw new CompositionError((e as { code?: string }).code ?? "PLUG_FAILED", `${plug.label}: cannot plug export \`${m.exportName}\` into socket import \`${m.importName}\`: ${(e as Error).message}`, { cause: e });
      }
    }
    plugged.push({ label: plug.label, imports: matches.map((m) => m.importName) });
  });

  if (graph.getInstantiationArguments(socketInst).length === 0) {
    throw new CompositionError("NO_PLUG_HAPPENED", `the socket component ${socket.label} had no matching imports for the plugs that were provided (${plugs.map((p) => p.label).join(", ")})`);
  }
  for (const name of graph.types.world(socketPkg.ty).exports.keys()) {
    graph.export(graph.aliasInstanceExport(socketInst, name), name);
  }
  return { graph, plugged };
}

/** Plugs and encodes (components defined inline; validated unless `validate: false`). */
export async function plug(socket: PlugInput, plugs: PlugInput[], options: Pick<EncodeOptions, "validate" | "processor"> = {}): Promise<PlugResult> {
  const { graph, plugged } = buildPlugGraph(socket, plugs);
  const chunks = await graph.encodeChunks({ ...options, defineComponents: true });
  let joined: Uint8Array | undefined;
  return {
    chunks,
    get bytes(): Uint8Array {
      joined ??= concatChunks(chunks);
      return joined;
    },
    plugged,
  };
}
