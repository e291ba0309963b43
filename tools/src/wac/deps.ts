import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { WasmOciError } from "../util/errors.ts";
import { wasmTools } from "../util/wasm-tools.ts";
import type { ComponentFileSource, SkeletonOptions } from "../component/skeleton.ts";

/**
 * Where the packages a WAC document names come from, following `wac compose`:
 * `--dep ns:name=PATH` (unversioned references only), else under the deps directory
 * `ns:name` -> `<deps>/ns/name/` (a WIT package), `<deps>/ns/name.wat`, `<deps>/ns/name.wasm`;
 * `ns:name@1.2.3` -> `<deps>/ns/name/1.2.3/`, `.../1.2.3.wat`, `.../1.2.3.wasm`.
 */
export interface DependencyOptions {
  readonly depsDir: string;
  /** `ns:name` -> path, from `--dep`. */
  readonly deps?: ReadonlyMap<string, string>;
  /**
   * Read large `.wasm` files as skeletons (component/skeleton.ts). Only for a loader that
   * passes `source` on to the package (`packageFromFile`): otherwise the skeleton would be
   * embedded instead of the file. Absent: files are read whole.
   */
  readonly skeletons?: SkeletonOptions;
}

export type DependencySource =
  | { readonly kind: "wit"; readonly path: string }
  | { readonly kind: "wasm"; readonly path: string; readonly bytes: Uint8Array; readonly source?: ComponentFileSource };

async function kindOf(p: string): Promise<"dir" | "file" | undefined> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? "dir" : s.isFile() ? "file" : undefined;
  } catch {
    return undefined;
  }
}

/** Compiles WebAssembly text with wasm-tools (through jco); errors name the file. */
export async function compileWat(path: string, text: string): Promise<Uint8Array> {
  try {
    return await (await wasmTools()).parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new WasmOciError("INVALID_WAT", `${path}: failed to parse WebAssembly text: ${msg}`, { cause: e });
  }
}

async function loadFile(path: string, opts: DependencyOptions): Promise<DependencySource> {
  if (path.endsWith(".wit")) return { kind: "wit", path };
  if (opts.skeletons !== undefined && !path.endsWith(".wat")) {
    const { readComponentFile } = await import("../component/skeleton.ts");
    const file = readComponentFile(path, opts.skeletons);
    return file.source === undefined ? { kind: "wasm", path, bytes: file.bytes } : { kind: "wasm", path, bytes: file.bytes, source: file.source };
  }
  // A view, not a copy: dependencies can be tens of MiB and are only read.
  const buf = await readFile(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (path.endsWith(".wat")) return { kind: "wasm", path, bytes: await compileWat(path, new TextDecoder().decode(bytes)) };
  return { kind: "wasm", path, bytes };
}

/** Finds a package; `undefined` when nothing matches (the caller reports the reference). */
export async function locateDependency(name: string, version: string | undefined, opts: DependencyOptions): Promise<DependencySource | undefined> {
  if (version === undefined) {
    const explicit = opts.deps?.get(name);
    if (explicit !== undefined) {
      const k = await kindOf(explicit);
      if (k === undefined) throw new WasmOciError("DEPENDENCY_NOT_FOUND", `dependency \`${name}\` given with --dep does not exist: ${explicit}`);
      return k === "dir" ? { kind: "wit", path: explicit } : loadFile(explicit, opts);
    }
  }
  const base = join(opts.depsDir, ...name.split(":"));
  const stem = version === undefined ? base : join(base, version);
  if ((await kindOf(stem)) === "dir") return { kind: "wit", path: stem };
  for (const ext of [".wat", ".wasm"]) {
    const p = stem + ext;
    if ((await kindOf(p)) === "file") return loadFile(p, opts);
  }
  return undefined;
}
