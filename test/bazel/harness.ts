/**
 * The Bazel suite's harness: a test workspace copied from test/bazel/ws into a temp dir, a real
 * registry with the components it pulls, and `bazel` (Debian's 4.2.3 at /usr/bin/bazel, never the
 * bazelisk in node_modules/.bin) with its own output user root, shut down at the end.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { FRONTEND_WAT, MATH_WAT } from "../helpers/wasm-fixtures.ts";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT, runCli } from "../helpers/cli.ts";
import { startRegistry, type Registry } from "../helpers/registry.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { runCommand } from "../helpers/processes.ts";

export const BAZEL = process.env["WASM_OCI_TEST_BAZEL"] ?? "/usr/bin/bazel";
export const WS_TEMPLATE = join(REPO_ROOT, "test", "bazel", "ws");
export const RULES_CC_STANDIN = join(REPO_ROOT, "test", "bazel", "rules_cc");
export const COVERAGE_STANDIN = join(REPO_ROOT, "test", "bazel", "remote_coverage_tools");

export function bazelAvailable(): boolean {
  return existsSync(BAZEL) && existsSync("/usr/share/bazel/rules/java") && existsSync("/usr/share/bazel/platforms");
}

export interface BazelResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Bazel {
  workspace: string;
  /** Everything every bazel command printed so far (console logs, for the secret scan). */
  transcript: string[];
  outputUserRoot: string;
  /** Runs `bazel <command> --config=bazel4 <args>`; bounded by timeoutMs. */
  run(command: string, args: string[], opts?: { outputBase?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<BazelResult>;
  info(key: string, outputBase?: string): Promise<string>;
  shutdown(outputBase?: string): Promise<void>;
}

/** `.bazelrc` of the test workspace: the bazel4 config with absolute paths (4.2.3 needs them). */
export function workspaceBazelrc(actionEnv: string[]): string {
  return [
    `common:bazel4 --override_repository=rules_java=/usr/share/bazel/rules/java`,
    `common:bazel4 --override_repository=platforms=/usr/share/bazel/platforms`,
    `common:bazel4 --override_repository=rules_cc=${RULES_CC_STANDIN}`,
    `common:bazel4 --override_repository=remote_coverage_tools=${COVERAGE_STANDIN}`,
    `build --incompatible_strict_action_env`,
    // Hermetic actions run in the CLI's JSON persistent worker; Bazel 4.x and 5.0 need this flag.
    `build:bazel4 --experimental_worker_allow_json_protocol`,
    // Names only: the values come from the environment of each bazel command.
    ...actionEnv.map((v) => `build --action_env=${v}`),
    `build --show_result=50`,
    `test --test_output=errors`,
    "",
  ].join("\n");
}

export async function makeWorkspace(dir: string, files: Record<string, string | Uint8Array>, actionEnv: string[]): Promise<string> {
  const ws = join(dir, "ws");
  await cp(WS_TEMPLATE, ws, { recursive: true });
  await writeFile(
    join(ws, "WORKSPACE"),
    [
      `workspace(name = "wasm_oci_bazel_test")`,
      ``,
      `local_repository(name = "rules_wasm_oci", path = ${JSON.stringify(REPO_ROOT)})`,
      ``,
      `load("@rules_wasm_oci//wasm:repositories.bzl", "wasm_oci_register_toolchains")`,
      ``,
      `wasm_oci_register_toolchains()`,
      ``,
    ].join("\n"),
  );
  await writeFile(join(ws, ".bazelrc"), workspaceBazelrc(actionEnv));
  for (const [name, data] of Object.entries(files)) {
    const p = join(ws, name);
    await mkdir(join(p, ".."), { recursive: true });
    await writeFile(p, data);
  }
  return ws;
}

export function makeBazel(workspace: string, outputUserRoot: string, baseEnv: Record<string, string>): Bazel {
  const startup = (outputBase?: string): string[] => [
    `--output_user_root=${outputUserRoot}`,
    ...(outputBase ? [`--output_base=${outputBase}`] : []),
    // A crashed test run must not leave a server behind for long.
    "--max_idle_secs=900",
  ];
  const env = (extra?: Record<string, string>): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, ...baseEnv, ...(extra ?? {}) };
    // node_modules/.bin holds bazelisk named `bazel`; the toolchain must find the real node.
    e["PATH"] = (e["PATH"] ?? "").split(":").filter((p) => !p.includes("node_modules")).join(":");
    return e;
  };
  const transcript: string[] = [];
  const bazel: Bazel = {
    transcript,
    workspace,
    outputUserRoot,
    async run(command, args, opts = {}) {
      const needsConfig = !["info", "shutdown", "version"].includes(command);
      const r = await runCommand(BAZEL, [...startup(opts.outputBase), command, ...(needsConfig ? ["--config=bazel4"] : []), ...args], {
        cwd: workspace,
        env: env(opts.env),
        timeoutMs: opts.timeoutMs ?? 240_000,
      });
      transcript.push(r.stdout, r.stderr);
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    },
    async info(key, outputBase) {
      const r = await bazel.run("info", ["--config=bazel4", key], outputBase ? { outputBase, timeoutMs: 60_000 } : { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`bazel info ${key} failed: ${r.stderr}`);
      return r.stdout.trim();
    },
    async shutdown(outputBase) {
      await runCommand(BAZEL, [...startup(outputBase), "shutdown"], { cwd: workspace, env: env(), timeoutMs: 60_000 }).catch(() => undefined);
    },
  };
  return bazel;
}

/** "INFO: 12 processes: 3 disk cache hit, 4 internal, 5 linux-sandbox." -> counts by kind. */
export function processCounts(stderr: string): Record<string, number> {
  const lines = stderr.split("\n").filter((l) => /INFO: \d+ process(es)?[:.]/.test(l));
  const last = lines.at(-1);
  const counts: Record<string, number> = {};
  if (last === undefined) return counts;
  const m = /INFO: (\d+) process(?:es)?(?:: (.*))?\./.exec(last);
  if (!m) return counts;
  counts["total"] = Number(m[1]);
  for (const part of (m[2] ?? "").split(",")) {
    const p = /(\d+) (.+)/.exec(part.trim());
    if (p) counts[p[2]!] = Number(p[1]);
  }
  return counts;
}

export async function readText(path: string): Promise<string> {
  return readFile(path, "utf8");
}

export const GITHUB_TOKEN = `ghp_${createHash("sha256").update(String(Math.random())).digest("hex").slice(0, 36)}`;
// Bazel's own server log (java.log) records the client environment of every command and hides
// only values whose names contain PASS, AUTH or COOKIE: credential variables are named so. They
// are in the client's environment only; no action of these rules takes them (docs/security.md).
export const CLIENT_ENV = ["REG_USER", "REG_PASS", "GITHUB_AUTH_TOKEN", "CORP_AUTH_TOKEN"];


/** The wassette permissions file the Bazel suite publishes as a policy layer. */
export const WASSETTE_POLICY_YAML = "permissions:\n  network:\n    allow:\n      - host: api.example.com\n";

export interface Suite {
  tmp: Tmp;
  reg: Registry;
  /** A second registry (no auth) for publishing to several registries. */
  reg2: Registry;
  bazel: Bazel;
  /** Credentials the bazel commands get in their environment. */
  env: Record<string, string>;
  configFile: string;
  cliEnv: Record<string, string>;
  math: Uint8Array;
  mathDigest: string;
  haveSign: boolean;
  /** Why the compose package is left out, or undefined when `wasm-oci compose` works. */
  composeProblem: string | undefined;
  /** Target patterns for "everything": `//...`, minus `//compose/...` when compose cannot run. */
  all: string[];
}

function digestFrom(text: string): string {
  const m = /sha256:[0-9a-f]{64}/.exec(text);
  if (!m) throw new Error(`no digest in: ${text}`);
  return m[0];
}

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Registry (htpasswd), pushed fixtures (plain, signed, tampered, unsigned), test workspace, Bazel. */
export async function setupSuite(): Promise<Suite> {
  const tmp = await makeTmp("bazel");
  const reg = await startRegistry({ auth: "htpasswd" });
  const reg2 = await startRegistry();
  const env = { REG_USER: reg.username!, REG_PASS: reg.password!, GITHUB_AUTH_TOKEN: GITHUB_TOKEN, CORP_AUTH_TOKEN: "unused-corp-token-value" };
  const cliEnv = { ...env, HOME: tmp.path("home"), XDG_CACHE_HOME: tmp.path("cache") };
  const configFile = tmp.path("registries.json");
  await writeFile(
    configFile,
    JSON.stringify({
      registries: [{ name: "local", host: reg.host, type: "oci", auth: { type: "basic_env", username_env: "REG_USER", password_env: "REG_PASS" } }],
    }),
  );
  const push = async (file: string, ref: string, extra: string[] = []): Promise<string> => {
    const r = await runCli(["push", file, `${reg.host}/${ref}`, "--registry-config", configFile, "--json", ...extra], { env: cliEnv });
    if (r.code !== 0) throw new Error(`push ${ref} failed: ${r.stderr}`);
    return digestFrom(r.stdout);
  };
  const math = await parse(MATH_WAT);
  const frontend = await parse(FRONTEND_WAT);
  await writeFile(tmp.path("math.wasm"), math);
  const mathDigest = await push(tmp.path("math.wasm"), "wasm-examples/math:v1");
  // wassette: an image with a policy layer, and the permissions file a runwasi image carries.
  await writeFile(tmp.path("permissions.yaml"), WASSETTE_POLICY_YAML);
  await push(tmp.path("math.wasm"), "wasm-examples/math-policy:v1", ["--policy-layer", tmp.path("permissions.yaml")]);

  // Signed, tampered and unsigned variants for the policy tests.
  const files: Record<string, string | Uint8Array> = { "frontend.wasm": frontend, "permissions.yaml": WASSETTE_POLICY_YAML };
  const keygen = await runCli(["keygen", "-k", tmp.path("trusted.sk"), "-K", tmp.path("trusted.pk")]);
  const haveSign = keygen.code === 0;
  if (haveSign) {
    const s = await runCli(["sign", "-i", tmp.path("math.wasm"), "-o", tmp.path("signed.wasm"), "-k", tmp.path("trusted.sk"), "-K", tmp.path("trusted.pk")]);
    if (s.code !== 0) throw new Error(`sign failed: ${s.stderr}`);
    const signed = await readFile(tmp.path("signed.wasm"));
    await push(tmp.path("signed.wasm"), "wasm-examples/signed-math:v1");
    const tampered = Buffer.from(signed);
    // The i32.add opcode (0x6a) of the core function: flipping it keeps the module valid.
    const at = tampered.lastIndexOf(0x6a);
    tampered[at] = 0x6b;
    await writeFile(tmp.path("tampered.wasm"), tampered);
    await push(tmp.path("tampered.wasm"), "wasm-examples/signed-tampered:v1");
    await push(tmp.path("math.wasm"), "wasm-examples/signed-unsigned:v1");
    files["keys/trusted.pk"] = await readFile(tmp.path("trusted.pk"));
  }
  // The compose package needs a working `wasm-oci compose`: probe it once, bounded.
  await writeFile(tmp.path("probe.wac"), "package probe:app;\n\nlet math = new oci:math { ... };\nlet frontend = new local:frontend { ...math, ... };\n\nexport frontend...;\n");
  await writeFile(tmp.path("frontend.wasm"), frontend);
  const probe = await runCli(
    ["compose", tmp.path("probe.wac"), "--dep", `oci:math=${tmp.path("math.wasm")}`, "--dep", `local:frontend=${tmp.path("frontend.wasm")}`, "-o", tmp.path("probe.wasm")],
    { timeoutMs: 90_000 },
  );
  const composeProblem = probe.code === 0 ? undefined : `wasm-oci compose cannot compose two small components yet (exit ${probe.code}): ${probe.stderr.trim().split("\n").slice(-2).join(" ")}`;
  const all = composeProblem === undefined ? ["//..."] : ["--", "//...", "-//compose/..."];
  files["registry.bzl"] = `REGISTRY = ${JSON.stringify(reg.host)}\nREGISTRY2 = ${JSON.stringify(reg2.host)}\nMATH_DIGEST = ${JSON.stringify(mathDigest)}\nMATH_FILE_URL = ${JSON.stringify(pathToFileURL(tmp.path("math.wasm")).href)}\nMATH_SHA256 = ${JSON.stringify(sha256(math))}\n`;
  // Build-time pulls read the Docker config at execution time; DOCKER_CONFIG is a location.
  const dockerDir = tmp.path("home", ".docker");
  await mkdir(dockerDir, { recursive: true });
  await writeFile(join(dockerDir, "config.json"), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.username}:${reg.password}`).toString("base64") } } }));
  const ws = await makeWorkspace(tmp.dir, files, [`DOCKER_CONFIG=${dockerDir}`]);
  const bazel = makeBazel(ws, tmp.path("bazel-root"), { ...env, HOME: tmp.path("home") });
  return { tmp, reg, reg2, bazel, env, configFile, cliEnv, math, mathDigest, haveSign, composeProblem, all };
}

/** Every regular file under `roots` (below 64 MiB) that contains one of `secrets`; `scanned` counts files read. */
export async function scanForSecrets(roots: string[], secrets: string[]): Promise<{ scanned: number; hits: string[] }> {
  const { readdir, stat } = await import("node:fs/promises");
  const needles = secrets.map((s) => Buffer.from(s));
  const hits: string[] = [];
  let scanned = 0;
  const scan = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await scan(p);
      else if (e.isFile() && (await stat(p)).size < 64 << 20) {
        const data = await readFile(p);
        scanned++;
        if (needles.some((n) => data.includes(n))) hits.push(p);
      }
    }
  };
  for (const r of roots) {
    if ((await stat(r).catch(() => undefined))?.isFile()) {
      scanned++;
      if (needles.some((n) => readFileSyncSafe(r).includes(n))) hits.push(r);
    } else await scan(r);
  }
  return { scanned, hits };
}

function readFileSyncSafe(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}

/** A secret and the encodings a Docker config or an Authorization header would carry it in. */
export function secretForms(secret: string, user?: string): string[] {
  const forms = [secret, Buffer.from(secret).toString("base64")];
  if (user !== undefined) forms.push(Buffer.from(`${user}:${secret}`).toString("base64"));
  return forms;
}

export interface SpawnEntry {
  mnemonic: string;
  runner?: string;
  remoteCacheHit?: boolean;
  environmentVariables?: Array<{ name: string; value: string }>;
  commandArgs?: string[];
}

/** The spawns of an --execution_log_json_file: concatenated JSON objects (Bazel writes no separator). */
export function parseExecutionLog(text: string): SpawnEntry[] {
  const out: SpawnEntry[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") {
      if (depth++ === 0) start = i;
    } else if (c === "}" && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as SpawnEntry);
  }
  return out;
}
