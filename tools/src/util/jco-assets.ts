/**
 * Where jco-transpile and the WASI shim are at run time. From sources (tests, tsx) they are the
 * npm packages in node_modules; in the bundle (tools/build.mjs defines __WASM_OCI_BUNDLE__) they
 * are files beside tools/dist/wasm-oci.mjs, so the bundle runs with no node_modules anywhere
 * (Bazel declares that folder as the toolchain's files, and the release archive ships it).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { realpath } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { WasmOciError } from "./errors.ts";

declare const __WASM_OCI_BUNDLE__: boolean | undefined;

const bundled = typeof __WASM_OCI_BUNDLE__ !== "undefined" && __WASM_OCI_BUNDLE__;

const SHIM = "@bytecodealliance/preview2-shim";

/** URL of jco-transpile's wasm-tools module (for a worker to import()). */
export function wasmToolsUrl(): string {
  if (bundled) return new URL("./jco/wasm-tools.mjs", import.meta.url).href;
  // createRequire works under test transforms too (import.meta.resolve does not everywhere).
  return pathToFileURL(createRequire(import.meta.url).resolve("@bytecodealliance/jco-transpile/wasm-tools")).href;
}

/**
 * The folder of the WASI shim package that transpiled components import by package name
 * (`@bytecodealliance/preview2-shim/cli`...): linked into the folder they are written to.
 */
export async function preview2ShimDir(): Promise<string> {
  let dir: string;
  if (bundled) {
    dir = fileURLToPath(new URL("./preview2-shim/", import.meta.url));
  } else {
    // It is a dependency of jco-transpile, resolved next to it (pnpm does not hoist it).
    const jcoEntry = createRequire(import.meta.url).resolve("@bytecodealliance/jco-transpile");
    const req = createRequire(await realpath(jcoEntry));
    dir = dirname(req.resolve(SHIM));
    for (let i = 0; i < 10 && !existsSync(join(dir, "package.json")); i++) dir = dirname(dir);
  }
  if (!existsSync(join(dir, "package.json"))) {
    throw new WasmOciError("SHIM_NOT_FOUND", bundled ? `${dir} is missing: the CLI bundle is incomplete (rebuild it with pnpm build)` : `cannot find ${SHIM} next to @bytecodealliance/jco-transpile`);
  }
  return dir;
}
