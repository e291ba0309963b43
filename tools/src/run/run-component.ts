import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import type { Writable } from "node:stream";
import { Worker } from "node:worker_threads";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { UsageError, WasmOciError, errorMessage } from "../util/errors.ts";
import { preview2ShimDir } from "../util/jco-assets.ts";
import { jsName, type InvokeExpr } from "./invoke-expr.ts";
import { toJsonValue } from "./json-value.ts";
import { asWriteError } from "../util/atomic-write.ts";
import { featureOf, isCompileError } from "./compile-error.ts";
import { RUN_WORKER_SOURCE, type WorkerReply } from "./run-worker.ts";

// The transpiled code imports the WASI shim by package name: the folder it is written to gets a
// node_modules link to the shim (util/jco-assets.ts finds it).
const SHIM = "@bytecodealliance/preview2-shim";

function tempRoot(): string {
  // Under `bazel test` only TEST_TMPDIR is guaranteed writable.
  return process.env["TEST_TMPDIR"] ?? tmpdir();
}

/** The names jco may have given the instance and the function (WIT name, lowerCamelCase, unversioned). */
function candidates(expr: InvokeExpr): { instanceCandidates: string[] | null; funcCandidates: string[] } {
  let instanceCandidates: string[] | null = null;
  if (expr.instance !== undefined) {
    const unversioned = expr.instance.replace(/@[^/#]*$/, "");
    const iface = unversioned.split("/").pop() ?? unversioned;
    instanceCandidates = [expr.instance, unversioned, jsName(iface), iface];
  }
  return { instanceCandidates, funcCandidates: [jsName(expr.func), expr.func] };
}

export interface RunOptions {
  /** Where the component's stdout and stderr go: a file (appended), else our stderr. */
  componentOutput?: string;
  /**
   * The component's whole WASI environment. Nothing of ours is inherited (as wasmtime does): our
   * environment may hold registry credentials, which a component under test must not read.
   */
  env?: Record<string, string>;
}

/**
 * Transpiles the component with jco, imports it in a worker thread (run-worker.ts), and calls one
 * export. Returns the result as JSON. The component's own output never reaches stdout.
 */
export async function runComponent(componentPath: string, expr: InvokeExpr, options: RunOptions = {}): Promise<unknown> {
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
    const reply = await callInWorker(pathToFileURL(join(dir, "component.js")).href, expr, options);
    return interpret(componentPath, expr, reply);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How long a worker that has answered may take to end by itself before it is stopped. */
const EXIT_GRACE_MS = 2_000;

async function callInWorker(url: string, expr: InvokeExpr, options: RunOptions): Promise<WorkerReply> {
  const worker = new Worker(RUN_WORKER_SOURCE, {
    eval: true,
    workerData: { url, ...candidates(expr), args: expr.args },
    stdout: true,
    stderr: true,
    // preview2-shim answers wasi:cli/environment from the worker's process.env.
    env: { ...(options.env ?? {}) },
  });
  const sink: Writable = options.componentOutput !== undefined ? createWriteStream(options.componentOutput, { flags: "a" }) : process.stderr;
  const drained = [worker.stdout, worker.stderr].map(
    (s) =>
      new Promise<void>((resolve) => {
        s.on("data", (d: Buffer) => sink.write(d));
        s.once("end", resolve);
        s.once("error", () => resolve());
      }),
  );
  let reply: WorkerReply | undefined;
  let crash: { name: string; message: string } | undefined;
  worker.once("message", (m: WorkerReply) => {
    reply = m;
  });
  worker.once("error", (e: Error) => {
    crash = { name: e.name, message: e.message };
  });
  const exitCode = await new Promise<number>((resolve) => {
    worker.once("exit", resolve);
    // Once it has answered, the worker ends by itself, flushing what the component wrote; a
    // component that leaves something running (a timer, a socket) is stopped after a grace period.
    worker.once("message", () => {
      setTimeout(() => void worker.terminate(), EXIT_GRACE_MS).unref();
    });
  });
  await Promise.all(drained);
  if (sink !== process.stderr) {
    await new Promise<void>((resolve, reject) => (sink as WriteStream).end((e?: Error | null) => (e ? reject(asWriteError(e, options.componentOutput ?? "")) : resolve())));
  }
  if (reply !== undefined) return reply;
  if (crash !== undefined) return { stage: "instantiate", error: crash };
  return { stage: "instantiate", error: { name: "Exit", message: `the component ended the run (exit status ${exitCode}) before returning` } };
}

function interpret(componentPath: string, expr: InvokeExpr, reply: WorkerReply): unknown {
  switch (reply.stage) {
    case "done":
      return toJsonValue(reply.result);
    case "no-instance":
      throw new UsageError(`--invoke: the component has no instance export "${expr.instance ?? ""}" (exports: ${reply.available.join(", ") || "none"})`, "NO_SUCH_EXPORT");
    case "no-function": {
      const where = expr.instance === undefined ? "the component's exports" : `instance "${expr.instance}"`;
      throw new UsageError(`--invoke: ${where} has no function "${expr.func}" (functions: ${reply.available.join(", ") || "none"})`, "NO_SUCH_EXPORT");
    }
    case "call":
      throw new WasmOciError(
        "INVOKE_FAILED",
        `${componentPath}: the call trapped or returned an error: ${reply.error.message}${reply.payload === undefined ? "" : ` (payload ${JSON.stringify(toJsonValue(reply.payload))})`}`,
      );
    case "instantiate": {
      const { error } = reply;
      if (isCompileError(error)) {
        const f = featureOf(error.message);
        const what = f === undefined ? "a WebAssembly feature this Node does not enable" : `the WebAssembly feature ${f.feature}; ${f.hint}`;
        throw new WasmOciError("COMPILE_FAILED", `${componentPath}: Node ${process.version} cannot compile a core module of the component: it uses ${what}. V8 says: ${error.message}`, {
          details: { feature: f?.feature ?? null },
        });
      }
      throw new WasmOciError(
        "INSTANTIATE_FAILED",
        `${componentPath}: cannot instantiate the component (imports other than WASI need a host; compose them first): ${error.message}`,
      );
    }
  }
}
