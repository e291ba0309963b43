import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { printResult } from "../output.ts";
import { UsageError, WasmOciError } from "../../util/errors.ts";
import { writeFileAtomic } from "../../util/atomic-write.ts";
import { createHash } from "node:crypto";
import type { Chunk } from "../../compose/chunks.ts";
import { log } from "../../util/log.ts";
import { resolveDocument, type ComponentLoader } from "../../wac/resolve.ts";
import type { LoadedPolicy, PolicyRecord } from "../../policy/enforce.ts";

/**
 * `wasm-oci compose`: the `wac compose` command (same flags), implemented by our WAC front
 * end (tools/src/wac/) and composition encoder (tools/src/compose/).
 */

const PACKAGE_NAME = /^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*(:[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*)+$/;

/** Parses one `--dep ns:name=PATH` value. */
export function parseDepFlag(value: string, previous: Map<string, string> = new Map()): Map<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0 || eq === value.length - 1) throw new UsageError(`--dep ${JSON.stringify(value)}: expected PKG=PATH, e.g. --dep example:greeter=greeter.wasm`, "BAD_DEP");
  const name = value.slice(0, eq);
  const path = value.slice(eq + 1);
  if (name.includes("@")) throw new UsageError(`--dep ${JSON.stringify(value)}: --dep applies only to unversioned package names; put versioned packages under --deps-dir`, "BAD_DEP");
  if (!PACKAGE_NAME.test(name)) throw new UsageError(`--dep ${JSON.stringify(value)}: \`${name}\` is not a package name (expected ns:name in kebab case)`, "BAD_DEP");
  if (previous.has(name)) throw new UsageError(`--dep ${JSON.stringify(value)}: package \`${name}\` was given more than once`, "BAD_DEP");
  const out = new Map(previous);
  out.set(name, path);
  return out;
}

const loadComponent: ComponentLoader = async ({ bytes, source, types, name, version }) => {
  const { packageFromFile } = await import("../../component/package.ts");
  return packageFromFile(name, version, source === undefined ? { bytes } : { bytes, source }, types);
};

export interface ComposeOptions {
  readonly file: string;
  readonly deps?: ReadonlyMap<string, string>;
  readonly depsDir?: string;
  readonly importDependencies?: boolean;
  readonly validate?: boolean;
  /**
   * `compose --policy`: every dependency component is decided (component name `ns:name`, no
   * registry) before it is used; a deny stops the compose. Decisions are appended here.
   */
  readonly policy?: { readonly loaded: LoadedPolicy; readonly decisions: PolicyRecord[] };
  /**
   * Dependency files of at least this many bytes are read as skeletons and copied into the
   * output from the file (component/skeleton.ts); default 1 MiB, `Infinity` reads every file whole.
   */
  readonly skeletonThreshold?: number;
}

/** Wraps the loader so the policy sees each dependency component's bytes before they are composed. */
function policyLoader(policy: NonNullable<ComposeOptions["policy"]>): ComponentLoader {
  return async (args) => {
    const enforce = await import("../../policy/enforce.ts");
    const signature = policy.loaded.policy.signature_type === "detached" ? await enforce.siblingSignature(args.path) : undefined;
    const record = await enforce.enforcePolicy(policy.loaded, {
      component: args.name,
      registry: "",
      wasm: args.bytes,
      detachedSignature: signature,
      action: `dependency ${args.path} was not composed and no output was written`,
    });
    policy.decisions.push(record);
    return loadComponent(args);
  };
}

/**
 * Reads, resolves and encodes a WAC document; the component as chunks in file order (not
 * concatenated; large dependencies are file slices, see compose/chunks.ts).
 */
export async function composeChunks(opts: ComposeOptions): Promise<Chunk[]> {
  const { chunks, validation } = await composeValidating(opts);
  await validation;
  return chunks;
}

/** composeChunks, with validation still running: await `validation` before the output is visible. */
export async function composeValidating(opts: ComposeOptions): Promise<{ chunks: Chunk[]; validation: Promise<void> }> {
  let text: string;
  try {
    text = await readFile(opts.file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read WAC file ${opts.file}: ${(e as Error).message}`, "WAC_FILE_UNREADABLE");
  }
  const validate = opts.validate ?? true;
  const defineComponents = opts.importDependencies !== true;
  const { graph } = await resolveDocument(
    { path: opts.file, text },
    {
      depsDir: opts.depsDir ?? "deps",
      deps: opts.deps ?? new Map(),
      loadComponent: opts.policy !== undefined ? policyLoader(opts.policy) : loadComponent,
      // The policy decides on (and verifies signatures over) the whole file's bytes.
      ...(opts.policy === undefined
        ? { skeletons: { elideModules: !validate || !defineComponents, ...(opts.skeletonThreshold !== undefined ? { threshold: opts.skeletonThreshold } : {}) } }
        : {}),
    },
  );
  const { encodeGraphValidating } = await import("../../compose/encoder.ts");
  return encodeGraphValidating(graph, { defineComponents, validate });
}

/** Reads, resolves and encodes a WAC document; the component bytes. */
export async function composeFile(opts: ComposeOptions): Promise<Uint8Array> {
  const { concatChunks } = await import("../../compose/chunks.ts");
  return concatChunks(await composeChunks(opts));
}

async function printWat(bytes: Uint8Array): Promise<string> {
  const tools = await (await import("../../util/wasm-tools.ts")).wasmTools();
  try {
    return await tools.print(bytes);
  } catch (e) {
    throw new WasmOciError("WAT_PRINT_FAILED", `failed to print the composed component as WAT: ${(e as Error).message}`, { cause: e });
  }
}

export function register(program: Command): void {
  program
    .command("compose")
    .description("compose WebAssembly components with a WAC document (compatible with `wac compose`)")
    .argument("<file>", "the WAC document (.wac)")
    .option("-d, --dep <PKG=PATH>", "use PATH (.wasm, .wat, a WIT directory or .wit file) for the unversioned package PKG; repeatable", (v: string, prev: Map<string, string> | undefined) => parseDepFlag(v, prev ?? new Map()))
    .option("--deps-dir <DIR>", "directory holding dependencies as ns/name(.wasm|.wat|/) and ns/name/VERSION(.wasm|.wat|/)", "deps")
    .option("-i, --import-dependencies", "import dependencies (`unlocked-dep=<ns:name>`) instead of defining them in the output")
    .option("--no-validate", "do not validate the composed component with wasm-tools")
    .option("-t, --wat", "write the WebAssembly text format instead of the binary")
    .option("-o, --output <OUT>", "output file (written atomically); default stdout")
    .option("--policy <file>", "security policy JSON: every dependency component (by package name ns:name) must be allowed, else nothing is composed")
    .option("--json", "print a JSON summary (output, size, digest, policy decisions) on stdout; requires -o")
    .action(async (file: string, o: { dep?: Map<string, string>; depsDir: string; importDependencies?: boolean; validate: boolean; wat?: boolean; output?: string; json?: boolean; policy?: string }) => {
      if (o.json && o.output === undefined) throw new UsageError("--json needs -o/--output: stdout cannot carry both the component and the summary", "BAD_FLAGS");
      if (o.output === undefined && !o.wat && process.stdout.isTTY) {
        throw new UsageError("refusing to write a binary component to a terminal: use -o OUT or -t/--wat", "BAD_FLAGS");
      }
      // wasm-tools loads on another thread while this one reads and encodes.
      if (o.validate) (await import("../../compose/validate.ts")).prestartValidator();
      const policy = o.policy !== undefined ? { loaded: await (await import("../../policy/enforce.ts")).loadPolicyFile(o.policy), decisions: [] as PolicyRecord[] } : undefined;
      const { chunks, validation } = await composeValidating({
        file,
        deps: o.dep ?? new Map(),
        depsDir: o.depsDir,
        importDependencies: o.importDependencies === true,
        validate: o.validate,
        ...(policy !== undefined ? { policy } : {}),
      });
      for (const r of policy?.decisions ?? []) {
        log.info(`policy ${r.policy}: allow dependency "${r.component}" (rule ${r.decision.rule}${r.decision.verifiedKey !== undefined ? `, verified by key "${r.decision.verifiedKey}"` : ""})`);
      }
      // Dependencies are defined inline, so the output is about as large as all inputs together:
      // write the encoder's chunks as they are (large inputs copied from their files).
      const out = await import("../../compose/chunks.ts");
      // A file output is written while validation runs and renamed into place only if it
      // passes; anything else is produced only after validation.
      const toFile = o.output !== undefined && !o.wat;
      if (!toFile) await validation;
      const data: string | Chunk[] = o.wat ? await printWat(out.concatChunks(chunks)) : chunks;
      if (o.output === undefined) {
        if (typeof data === "string") await out.writeChunksTo(process.stdout, [Buffer.from(data)]);
        else await out.writeChunksTo(process.stdout, data);
        return;
      }
      // Hash only when the digest is asked for, and while writing: the inputs are read once.
      const hash = o.json ? createHash("sha256") : undefined;
      if (typeof data === "string") {
        await writeFileAtomic(o.output, data);
        hash?.update(data);
      } else await out.writeChunksAtomic(o.output, data, hash === undefined ? undefined : (p) => hash.update(p), () => validation);
      const size = typeof data === "string" ? Buffer.byteLength(data) : out.chunksLength(data);
      log.info(`composed ${file} -> ${o.output} (${size} bytes)`);
      if (hash !== undefined) {
        printResult(true, { output: o.output, size, digest: `sha256:${hash.digest("hex")}`, ...(policy !== undefined ? { policy: policy.decisions } : {}) }, () => []);
      }
    });
}
