/**
 * WIT for `component new`: jco's embed takes WIT only as one source string (its path options
 * cannot read files, facts.md section 7), so a WIT directory is joined into one document here.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../util/errors.ts";

export interface WitSource {
  /** The WIT text handed to jco. */
  readonly text: string;
  /** The files it came from, for messages. */
  readonly files: readonly string[];
}

// `package ns:name[@version];` as a top-level statement (not the nested `package x { ... }` form).
const PACKAGE_LINE = /^\s*package\s+([a-z][a-z0-9-]*(?::[a-z][a-z0-9-]*)+(?:@[0-9A-Za-z.+-]+)?)\s*;\s*$/m;

function packageOf(text: string): string | undefined {
  return PACKAGE_LINE.exec(text)?.[1];
}

/**
 * Reads a `.wit` file, or a directory of `.wit` files that form one package (as `wasm-tools
 * component embed` accepts). A `deps/` folder is not supported: put dependency packages into the
 * same document with nested `package ns:name { ... }` blocks.
 */
export async function loadWitSource(path: string): Promise<WitSource> {
  return loadWitSources([path]);
}

async function witFilesOf(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    throw new UsageError(`--wit ${path}: cannot read it (${(e as Error).message})`, "WIT_UNREADABLE");
  }
  if (!info.isDirectory()) return [path];
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (entries.some((e) => e.isDirectory() && e.name === "deps")) {
    throw new UsageError(
      `--wit ${path}: WIT dependencies in deps/ are not supported; put dependency packages into one .wit file with nested \`package ns:name { ... }\` blocks`,
      "WIT_DEPS_UNSUPPORTED",
    );
  }
  const files = entries.filter((e) => e.isFile() && e.name.endsWith(".wit")).map((e) => join(path, e.name));
  if (files.length === 0) throw new UsageError(`--wit ${path}: the directory holds no .wit file`, "WIT_EMPTY");
  return files;
}

/**
 * Several `--wit` paths (files or directories) that together form one package, joined into one
 * document: the files must name the same package (or none), which is then declared once.
 */
export async function loadWitSources(paths: readonly string[]): Promise<WitSource> {
  if (paths.length === 0) throw new UsageError("--wit: give a .wit file or a directory of .wit files", "WIT_MISSING");
  const files: string[] = [];
  for (const p of paths) for (const f of await witFilesOf(p)) if (!files.includes(f)) files.push(f);
  const texts = await Promise.all(files.map((f) => readFile(f, "utf8")));
  if (texts.length === 1) return { text: texts[0]!, files };
  let pkg: { name: string; file: string } | undefined;
  texts.forEach((t, i) => {
    const name = packageOf(t);
    if (name === undefined) return;
    if (pkg !== undefined && pkg.name !== name) {
      throw new UsageError(`--wit: ${files[i]} declares package ${name} but ${pkg.file} declares ${pkg.name}; the WIT files must form one package`, "WIT_PACKAGE_MISMATCH");
    }
    pkg ??= { name, file: files[i]! };
  });
  const bodies = texts.map((t, i) => `// ${files[i]}\n${t.replace(PACKAGE_LINE, "")}`);
  const text = (pkg !== undefined ? `package ${pkg.name};\n\n` : "") + bodies.join("\n");
  return { text, files };
}
