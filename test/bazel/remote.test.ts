/**
 * The examples on a real remote-execution service (BuildGrid + PostgreSQL + bubblewrap workers,
 * test/helpers/remote-execution.ts), on loopback, Bazel 4.2.3:
 * - `bazel test //examples/... --remote_executor`: every action but the pulls (no-remote-exec)
 *   executes remotely and passes, counted from --execution_log_json_file;
 * - a second build from a fresh output base: every cacheable action comes from the remote cache;
 *   only tag-only pulls (no-cache: the tag may move) run again;
 * - with a token in the client environment and a Docker config holding the registry password,
 *   nothing the service stored (CAS, action cache, database, worker caches and logs) nor the
 *   execution logs holds either, or their base64;
 * - the workers see no checkout: an action that reads node_modules of the checkout without
 *   declaring it builds locally and fails remotely.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, hermeticEnv, REPO_ROOT } from "../helpers/cli.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { remoteExecutionMissing, startRemoteExecution, type RemoteExecution } from "../helpers/remote-execution.ts";
import { runCommand } from "../helpers/processes.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { bazelAvailable, GITHUB_TOKEN, makeBazel, parseExecutionLog, scanForSecrets, secretForms, workspaceBazelrc, type Bazel, type SpawnEntry } from "./harness.ts";

const missing = remoteExecutionMissing();
const ready = bazelAvailable() && registryAvailable() && cliBuilt() && missing === undefined;
if (process.env["CI"] === "true" && !ready) throw new Error(`remote.test.ts: ${missing ?? "bazel, docker-registry and the built CLI are required"} under CI=true`);

/** Spawns that executed (anywhere) rather than coming from a cache. */
const executed = (spawns: SpawnEntry[]): SpawnEntry[] => spawns.filter((s) => s.remoteCacheHit !== true);

describe.skipIf(!ready)("examples with --remote_executor (BuildGrid, bubblewrap workers, Bazel 4.2.3)", () => {
  let tmp: Tmp;
  let reg: Registry;
  let re: RemoteExecution;
  let bazel: Bazel;
  let secrets: string[];
  let remoteFlags: string[];
  const logs: string[] = [];

  beforeAll(async () => {
    tmp = await makeTmp("bazel-remote");
    [reg, re] = await Promise.all([startRegistry({ auth: "htpasswd" }), startRemoteExecution({ workers: 2 })]);
    const home = tmp.path("home");
    await mkdir(join(home, ".docker"), { recursive: true });
    await writeFile(join(home, ".docker", "config.json"), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.username}:${reg.password}`).toString("base64") } } }));
    secrets = [...secretForms(reg.password!, reg.username!), ...secretForms(GITHUB_TOKEN)];
    const setup = await runCommand(process.execPath, [join(REPO_ROOT, "examples", "setup.mjs"), "--registry", reg.host], {
      env: { ...process.env, ...(hermeticEnv(tmp.path("setup")) as Record<string, string>), HOME: home },
      timeoutMs: 240_000,
    });
    if (setup.code !== 0) throw new Error(`setup.mjs failed: ${setup.stderr}`);
    bazel = makeBazel(REPO_ROOT, tmp.path("bazel-root"), {
      HOME: home,
      // A token in the client environment, as a user would have it: it must reach nothing stored.
      GITHUB_AUTH_TOKEN: GITHUB_TOKEN,
      WASM_OCI_MIRRORS: `localhost:5000=${reg.host}`,
    });
    remoteFlags = [
      "--symlink_prefix=/",
      `--//examples:registry=${reg.host}`,
      `--remote_executor=${re.endpoint}`,
      `--remote_instance_name=${re.instance}`,
      // Build-time pulls (local, no-remote-exec) find the Docker config here: a location.
      `--action_env=DOCKER_CONFIG=${join(home, ".docker")}`,
      "--jobs=4",
    ];
  }, 400_000);

  afterAll(async () => {
    await bazel?.shutdown(tmp?.path("base1"));
    await bazel?.shutdown(tmp?.path("base2"));
    await re?.stop();
    await reg?.stop();
    await tmp?.cleanup();
  }, 120_000);

  it("bazel test //examples/...: every action but the pulls executes remotely, and every test passes", async () => {
    const log = tmp.path("exec1.json");
    logs.push(log);
    const r = await bazel.run("test", [...remoteFlags, `--execution_log_json_file=${log}`, "//examples/..."], { outputBase: tmp.path("base1"), timeoutMs: 900_000 });
    expect(r.code, `${(r.stdout + r.stderr).slice(-8000)}\n${re.logs().slice(-4000)}`).toBe(0);
    const spawns = parseExecutionLog(await readFile(log, "utf8"));
    const local = spawns.filter((s) => s.runner !== "remote" && s.remoteCacheHit !== true);
    const byRunner: Record<string, number> = {};
    for (const s of spawns) {
      const k = s.remoteCacheHit === true ? "remote cache hit" : (s.runner ?? "?");
      byRunner[k] = (byRunner[k] ?? 0) + 1;
    }
    console.log(`[remote] build+test //examples/...: ${spawns.length} spawns ${JSON.stringify(byRunner)}; tests: ${(r.stdout.match(/PASSED/g) ?? []).length} passed`);
    // Only pulls run locally; everything else ran on the workers.
    expect(local.map((s) => s.mnemonic).filter((m) => m !== "WasmOciPull")).toEqual([]);
    expect(spawns.filter((s) => s.runner === "remote").length).toBeGreaterThan(30);
    expect(r.stdout).toMatch(/app_production_fetched_test\s+PASSED/);
  }, 920_000);

  it("a fresh output base gets every cacheable action from the remote cache", async () => {
    const log = tmp.path("exec2.json");
    logs.push(log);
    const r = await bazel.run("test", [...remoteFlags, `--execution_log_json_file=${log}`, "//examples/..."], { outputBase: tmp.path("base2"), timeoutMs: 900_000 });
    expect(r.code, (r.stdout + r.stderr).slice(-8000)).toBe(0);
    const spawns = parseExecutionLog(await readFile(log, "utf8"));
    const ran = executed(spawns);
    const hits = spawns.length - ran.length;
    console.log(`[remote] second build (fresh output base): ${spawns.length} spawns, ${hits} remote cache hits, ${ran.length} executed (${[...new Set(ran.map((s) => s.mnemonic))].join(", ")})`);
    // What runs again: pulls by tag only, which are never cached (the tag may move).
    for (const s of ran) {
      expect(s.mnemonic).toBe("WasmOciPull");
      expect(s.commandArgs?.join(" ")).not.toMatch(/--digest/);
    }
    expect(hits).toBeGreaterThan(30);
  }, 920_000);

  it("nothing the remote service stored, nor the execution logs, holds the token or the password", async () => {
    const scan = await scanForSecrets([...re.storedDirs, ...logs], secrets);
    console.log(`[remote] scanned ${scan.scanned} files (CAS, action cache, database, worker caches and logs, execution logs): ${scan.hits.length} secret hits`);
    expect(scan.scanned).toBeGreaterThan(100);
    expect(scan.hits).toEqual([]);
    // The scan does find a secret where there is one.
    expect((await scanForSecrets([tmp.path("home", ".docker")], secrets)).hits).toHaveLength(1);
  }, 300_000);

  it("the workers see no checkout: an undeclared read of node_modules builds locally and fails remotely", async () => {
    const ws = tmp.path("undeclared");
    await mkdir(ws, { recursive: true });
    await writeFile(join(ws, "WORKSPACE"), 'workspace(name = "undeclared")\n');
    await writeFile(join(ws, ".bazelrc"), workspaceBazelrc([]));
    const nm = join(REPO_ROOT, "node_modules", ".modules.yaml");
    await writeFile(join(ws, "BUILD"), `genrule(name = "peek", outs = ["peek.txt"], cmd = "cat ${nm} > $@")\n`);
    const other = makeBazel(ws, tmp.path("bazel-root-undeclared"), {});
    try {
      const remote = await other.run("build", [`--remote_executor=${re.endpoint}`, `--remote_instance_name=${re.instance}`, "//:peek"]);
      expect(remote.code).not.toBe(0);
      expect(remote.stderr).toMatch(/No such file or directory/);
      const local = await other.run("build", ["--spawn_strategy=local", "//:peek"]);
      expect(local.code, local.stderr.slice(-3000)).toBe(0);
    } finally {
      await other.shutdown();
    }
  }, 300_000);
});
