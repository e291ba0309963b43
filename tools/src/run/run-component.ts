import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { UsageError, WasmOciError, errorMessage } from "../util/errors.ts";
import { preview2ShimDir } from "../util/jco-assets.ts";
import { jsName, type InvokeExpr } from "./invoke-expr.ts";
import { toJsonValue } from "./json-value.ts";

// The transpiled code imports the WASI shim by package name: the folder it is written to gets a
// node_modules link to the shim (util/jco-assets.ts finds it).
const SHIM = "@bytecodealliance/preview2-shim";

function tempRoot(): string {
  // Under `bazel test` only TEST_TMPDIR is guaranteed writable.
  return process.env["TEST_TMPDIR"] ?? tmpdir();
}

type Callable = (...args: unknown[]) => unknown;

function lookup(mod: Record<string, unknown>, expr: InvokeExpr): Callable {
  const available = Object.keys(mod).filter((k) => k !== "default");
  let holder: Record<string, unknown> = mod;
  let where = "the component's exports";
  if (expr.instance !== undefined) {
    const unversioned = expr.instance.replace(/@[^/#]*$/, "");
    const iface = unversioned.split("/").pop() ?? unversioned;
    const candidates = [expr.instance, unversioned, jsName(iface), iface];
    const key = candidates.find((c) => typeof mod[c] === "object" && mod[c] !== null);
    if (key === undefined) {
      throw new UsageError(`--invoke: the component has no instance export "${expr.instance}" (exports: ${available.join(", ") || "none"})`, "NO_SUCH_EXPORT");
    }
    holder = mod[key] as Record<string, unknown>;
    where = `instance "${expr.instance}"`;
  }
  const fn = holder[jsName(expr.func)] ?? holder[expr.func];
  if (typeof fn !== "function") {
    const names = Object.keys(holder).filter((k) => typeof holder[k] === "function");
    throw new UsageError(`--invoke: ${where} has no function "${expr.func}" (functions: ${names.join(", ") || "none"})`, "NO_SUCH_EXPORT");
  }
  return fn as Callable;
}

/** Transpiles the component with jco, imports it, and calls one export. Returns the result as JSON. */
export async function runComponent(componentPath: string, expr: InvokeExpr): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(componentPath);
  } catch (e) {
    throw new UsageError(`cannot read component ${componentPath}: ${errorMessage(e)}`, "NOT_FOUND");
  }
  const { transpileBytes } = await import("@bytecodealliance/jco-transpile");
  let files: Record<string, Uint8Array>;
  try {
    ({ files } = await transpileBytes(bytes, { name: "component", nodejsCompat: true }));
  } catch (e) {
    throw new WasmOciError("TRANSPILE_FAILED", `${componentPath}: jco could not transpile the component: ${errorMessage(e)}`);
  }
  const dir = await mkdtemp(join(tempRoot(), "wasm-oci-run-"));
  try {
    for (const [name, data] of Object.entries(files)) {
      const target = join(dir, name);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, data);
    }
    // The generated code uses top-level await: it must load as an ES module.
    await writeFile(join(dir, "package.json"), '{"type":"module"}\n');
    await mkdir(join(dir, "node_modules", "@bytecodealliance"), { recursive: true });
    await symlink(await preview2ShimDir(), join(dir, "node_modules", SHIM), "dir");
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(join(dir, "component.js")).href)) as Record<string, unknown>;
    } catch (e) {
      throw new WasmOciError(
        "INSTANTIATE_FAILED",
        `${componentPath}: cannot instantiate the component (imports other than WASI need a host; compose them first): ${errorMessage(e)}`,
      );
    }
    const fn = lookup(mod, expr);
    let result: unknown;
    try {
      result = await fn(...expr.args);
    } catch (e) {
      const payload = (e as { payload?: unknown }).payload;
      throw new WasmOciError("INVOKE_FAILED", `${componentPath}: the call trapped or returned an error: ${errorMessage(e)}${payload === undefined ? "" : ` (payload ${JSON.stringify(toJsonValue(payload))})`}`);
    }
    return toJsonValue(result);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
