/**
 * Runs the BUILT CLI as a user would: `node tools/dist/wasm-oci.mjs ...` (build it first with
 * `pnpm build`; `pnpm test` does). Bounded by a timeout; never through a shell. `$WASM_OCI_CLI`
 * replaces the bundle, `$WASM_OCI_NODE` the node that runs it.
 *
 *   const r = await runCli(["pull", ref, "-o", out], { env: hermeticEnv(tmp) });
 *   expect(r.code, r.stderr).toBe(0);
 *
 * `env` is merged over process.env; a key set to undefined is removed. `hermeticEnv(dir)` gives
 * an environment that cannot see the developer's own credentials or proxies (HOME, DOCKER_CONFIG,
 * XDG_RUNTIME_DIR under `dir`; REGISTRY_AUTH_FILE, HTTP(S)_PROXY, WASM_OCI_LOG removed).
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "./processes.ts";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI_PATH = process.env["WASM_OCI_CLI"] ?? join(REPO_ROOT, "tools", "dist", "wasm-oci.mjs");
/** The node that runs the CLI: `$WASM_OCI_NODE` (e.g. the Node 22 or 24 of .ci/tools, see `pnpm test:node-lts`), else the test's own. */
export const CLI_NODE = process.env["WASM_OCI_NODE"] || process.execPath;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the whole process, ms. */
  ms: number;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string | Uint8Array;
  /** Default 60 s; the process group is killed after it. */
  timeoutMs?: number;
  cwd?: string;
}

export function cliBuilt(): boolean {
  return existsSync(CLI_PATH);
}

function mergeEnv(extra: Record<string, string | undefined> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  if (!cliBuilt()) throw new Error(`${CLI_PATH} is missing: run pnpm build first`);
  const t0 = performance.now();
  const r = await runCommand(CLI_NODE, [CLI_PATH, ...args], {
    env: mergeEnv(opts.env),
    timeoutMs: opts.timeoutMs ?? 60_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
  });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

/** An environment with no access to the caller's credentials, Docker config or proxies. */
export function hermeticEnv(dir: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const home = join(dir, "home");
  const runtime = join(dir, "xdg-runtime");
  mkdirSync(home, { recursive: true });
  mkdirSync(runtime, { recursive: true });
  return {
    HOME: home,
    DOCKER_CONFIG: join(home, ".docker"),
    XDG_RUNTIME_DIR: runtime,
    XDG_CACHE_HOME: join(home, ".cache"),
    REGISTRY_AUTH_FILE: undefined,
    HTTP_PROXY: undefined,
    HTTPS_PROXY: undefined,
    http_proxy: undefined,
    https_proxy: undefined,
    ALL_PROXY: undefined,
    all_proxy: undefined,
    NO_PROXY: undefined,
    no_proxy: undefined,
    WASM_OCI_LOG: undefined,
    ...extra,
  };
}

let cacheCounter = 0;
/**
 * `--cache-dir <fresh dir under base>`: wasm-oci keeps a content-addressed cache (default
 * $XDG_CACHE_HOME/wasm-oci), so a second pull of the same digest never reaches the registry. Tests
 * that mean to exercise the network (auth, faults) pass a fresh cache to every pull.
 */
export function freshCacheArgs(base: string): string[] {
  return ["--cache-dir", join(base, `cache-${process.pid}-${++cacheCounter}`)];
}
