/**
 * Fetch-time pulls (wasm_component_oci_repository) and build-time pulls that keep credentials out
 * of every cache, on real Bazel 4.2.3 with a real registry (htpasswd auth):
 * - a tag without digest fails, printing the digest and the line to paste;
 * - pinned repositories fetch with the Docker config and with env credentials of the client, and
 *   their `:component` composes, verifies (a tampered one fails) and runs;
 * - `bazel fetch`, then the registry goes away, then `--nofetch` builds from what was fetched;
 * - build-time pulls with a token in the environment (--action_env) and a Docker config, built with
 *   --disk_cache, an HTTP remote cache (nginx WebDAV) and --execution_log_json_file: none of them,
 *   nor the output base nor the console, holds the token, the password or their base64;
 * - an `env|VAR` registry entry is refused at analysis for a build-time pull.
 * One Bazel server and output base; tests run in order and share state.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, runCli } from "../helpers/cli.ts";
import { httpCacheAvailable, startHttpCache, type HttpCache } from "../helpers/http-cache.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import {
  bazelAvailable,
  GITHUB_TOKEN,
  makeBazel,
  makeWorkspace,
  parseExecutionLog,
  processCounts,
  scanForSecrets,
  secretForms,
  type Bazel,
} from "./harness.ts";
import { FRONTEND_WAT, MATH_WAT } from "../helpers/wasm-fixtures.ts";

const ready = bazelAvailable() && registryAvailable() && cliBuilt() && httpCacheAvailable();
if (process.env["CI"] === "true" && !ready) throw new Error("fetch.test.ts: bazel, docker-registry, nginx and the built CLI are required under CI=true");

const POLICY_YAML = `version: "1.0"
description: "math component"
permissions:
  network:
    allow:
      - host: "api.example.com"
`;

function digestFrom(text: string): string {
  const m = /sha256:[0-9a-f]{64}/.exec(text);
  if (!m) throw new Error(`no digest in: ${text}`);
  return m[0];
}

describe.skipIf(!ready)("fetch-time pulls and credential-free build-time pulls (Bazel 4.2.3, real registry)", () => {
  let tmp: Tmp;
  let reg: Registry;
  let cache: HttpCache;
  let bazel: Bazel;
  let mathDigest: string;
  let tamperedDigest: string;
  let policyDigest: string;
  let secrets: string[];
  const env: Record<string, string> = {};

  beforeAll(async () => {
    tmp = await makeTmp("bazel-fetch");
    [reg, cache] = await Promise.all([startRegistry({ auth: "htpasswd" }), startHttpCache()]);
    const home = tmp.path("home");
    await mkdir(join(home, ".docker"), { recursive: true });
    // The Docker config the CLI reads at fetch and at execution time: the password only in here.
    await writeFile(
      join(home, ".docker", "config.json"),
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.username}:${reg.password}`).toString("base64") } } }),
    );
    Object.assign(env, { HOME: home, XDG_CACHE_HOME: tmp.path("cli-cache"), REG_USER: reg.username!, REG_PASS: reg.password!, GITHUB_AUTH_TOKEN: GITHUB_TOKEN });
    secrets = [...secretForms(reg.password!, reg.username!), ...secretForms(GITHUB_TOKEN)];

    const push = async (file: string, ref: string, extra: string[] = []): Promise<string> => {
      const r = await runCli(["push", file, `${reg.host}/${ref}`, "--json", ...extra], { env: { ...process.env, HOME: home, XDG_CACHE_HOME: tmp.path("push-cache") } });
      if (r.code !== 0) throw new Error(`push ${ref} failed: ${r.stderr}`);
      return digestFrom(r.stdout);
    };
    const math = await parse(MATH_WAT);
    await writeFile(tmp.path("math.wasm"), math);
    await runCli(["keygen", "-k", tmp.path("k.sk"), "-K", tmp.path("k.pk")]);
    const s = await runCli(["sign", "-i", tmp.path("math.wasm"), "-o", tmp.path("signed.wasm"), "-k", tmp.path("k.sk"), "-K", tmp.path("k.pk")]);
    if (s.code !== 0) throw new Error(`sign failed: ${s.stderr}`);
    mathDigest = await push(tmp.path("signed.wasm"), "wasm-examples/math:v1");
    const tampered = Buffer.from(await readFile(tmp.path("signed.wasm")));
    // The i32.add opcode of the core function: the module stays valid, the signature does not.
    tampered[tampered.lastIndexOf(0x6a)] = 0x6b;
    await writeFile(tmp.path("tampered.wasm"), tampered);
    tamperedDigest = await push(tmp.path("tampered.wasm"), "wasm-examples/tampered:v1");
    // An image with a wassette policy layer: the fetch brings it along as @math_policy//:policy.
    await writeFile(tmp.path("policy.yaml"), POLICY_YAML);
    policyDigest = await push(tmp.path("math.wasm"), "wasm-examples/math-policy:v1", ["--policy-layer", tmp.path("policy.yaml")]);

    const R = reg.host;
    const ws = await makeWorkspace(
      tmp.dir,
      {
        "fetch/frontend.wasm": await parse(FRONTEND_WAT),
        "fetch/trusted.pk": await readFile(tmp.path("k.pk")),
        // Fetch-time registry config: env credentials are fine here, they are read at fetch time.
        "fetch/env-registries.json": JSON.stringify({
          registries: [{ name: "local", host: R, type: "oci", auth: { type: "basic_env", username_env: "REG_USER", password_env: "REG_PASS" } }],
        }),
        "fetch/BUILD.bazel": `load("@rules_wasm_oci//wasm:defs.bzl", "wac_compose_with_oci", "wasm_component_test", "wasm_verify")

exports_files(["env-registries.json"])

wac_compose_with_oci(
    name = "app",
    local_components = {"frontend": "frontend.wasm"},
    oci_components = {"math": "@math//:component"},
    public_key = "trusted.pk",
    verify_signatures = True,
)

wasm_component_test(name = "app_test", component = ":app", invoke = "compute(5)", expect = "15")

wasm_component_test(name = "math_env_test", component = "@math_env//:component", invoke = "test:math/ops#add(3, 4)", expect = "7")

wac_compose_with_oci(
    name = "tampered_app",
    local_components = {"frontend": "frontend.wasm"},
    oci_components = {"math": "@tampered//:component"},
    public_key = "trusted.pk",
    verify_signatures = True,
    tags = ["manual"],
)

filegroup(name = "by_tag", srcs = ["@math_by_tag//:component"], tags = ["manual"])
`,
        "build_time/BUILD.bazel": `load("@rules_wasm_oci//wasm:defs.bzl", "wasm_component_from_oci", "wasm_component_test", "wkg_registry_config")

wkg_registry_config(
    name = "docker_registries",
    registries = ["local|${R}|oci|docker", "github|ghcr.io|oci|env|GITHUB_AUTH_TOKEN"],
)

wasm_component_from_oci(name = "math", image_ref = "${R}/wasm-examples/math@${mathDigest}", registry_config = ":docker_registries")

wasm_component_test(name = "math_test", component = ":math", invoke = "test:math/ops#add(3, 4)", expect = "7")

wkg_registry_config(name = "env_registries", registries = ["local|${R}|oci|basic|REG_USER|REG_PASS"])

wasm_component_from_oci(name = "math_env", image_ref = "${R}/wasm-examples/math@${mathDigest}", registry_config = ":env_registries", tags = ["manual"])
`,
      },
      // DOCKER_CONFIG (a location, given with its value) lets build-time pulls find the Docker
      // config. The token is in the client's environment only (see the secrets test).
      [`DOCKER_CONFIG=${join(home, ".docker")}`],
    );
    await writeFile(
      join(ws, "WORKSPACE"),
      (await readFile(join(ws, "WORKSPACE"), "utf8")) +
        `
load("@rules_wasm_oci//wasm:repositories.bzl", "wasm_component_oci_repository")

wasm_component_oci_repository(name = "math", image = "${R}/wasm-examples/math", digest = "${mathDigest}")

wasm_component_oci_repository(name = "math_env", image = "${R}/wasm-examples/math:v1@${mathDigest}", registry_config = "//fetch:env-registries.json")

wasm_component_oci_repository(name = "tampered", image = "${R}/wasm-examples/tampered", digest = "${tamperedDigest}")

wasm_component_oci_repository(name = "math_by_tag", image = "${R}/wasm-examples/math:v1")

wasm_component_oci_repository(name = "math_policy", image = "${R}/wasm-examples/math-policy", digest = "${policyDigest}")
`,
    );
    bazel = makeBazel(ws, tmp.path("bazel-root"), env);
  }, 180_000);

  afterAll(async () => {
    await bazel?.shutdown();
    await reg?.stop();
    await cache?.stop();
    await tmp?.cleanup();
  }, 120_000);

  it("a tag without digest fails at fetch time, printing the digest it resolved and the line to paste", async () => {
    const r = await bazel.run("build", ["//fetch:by_tag"]);
    expect(r.code).not.toBe(0);
    const text = r.stderr.replace(/\n/g, " ");
    expect(text).toContain("wasm_component_oci_repository math_by_tag");
    expect(text).toContain(`has no digest; the tag resolves to ${mathDigest}`);
    expect(text).toContain(`digest = "${mathDigest}",`);
    expect(text).toContain("allow_tag_without_digest = True");
  }, 260_000);

  it("bazel fetch pulls with the client's Docker config and environment; the components compose, verify and run", async () => {
    const f = await bazel.run("fetch", ["//fetch:app_test", "//fetch:math_env_test", "@tampered//:component"]);
    expect(f.code, f.stderr.slice(-4000)).toBe(0);
    const r = await bazel.run("test", ["//fetch:app_test", "//fetch:math_env_test"]);
    expect(r.code, (r.stdout + r.stderr).slice(-6000)).toBe(0);
    const counts = processCounts(r.stderr);
    console.log(`[fetch] build+test of fetched components: ${JSON.stringify(counts)}`);
    const base = await bazel.info("output_base");
    const generated = await readFile(join(base, "external", "math", "BUILD.bazel"), "utf8");
    expect(generated).toContain(`digest = "${mathDigest}"`);
    // The fetched files are what was pushed (digest-checked by the CLI at fetch time).
    expect(await readFile(join(base, "external", "math", "component.wasm"))).toEqual(await readFile(tmp.path("signed.wasm")));
    const meta = JSON.parse(await readFile(join(base, "external", "math", "metadata.json"), "utf8")) as { manifestDigest: string };
    expect(meta.manifestDigest).toBe(mathDigest);
  }, 400_000);

  it("the image's policy layer comes along as :policy; an image without one has an empty :policy", async () => {
    const r = await bazel.run("build", ["@math_policy//:policy", "@math//:policy"]);
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    const base = await bazel.info("output_base");
    expect(await readFile(join(base, "external", "math_policy", "policy.yaml"), "utf8")).toBe(POLICY_YAML);
    expect(existsSync(join(base, "external", "math", "policy.yaml"))).toBe(false);
  }, 260_000);

  it("a fetched component whose signature does not verify fails the build (verification is a build action)", async () => {
    const r = await bazel.run("build", ["//fetch:tampered_app"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Verifying the embedded signature of component tampered/);
  }, 260_000);

  it("an env|VAR registry entry is refused for a build-time pull, naming the safe choices", async () => {
    const r = await bazel.run("build", ["//build_time:math_env"]);
    expect(r.code).not.toBe(0);
    const text = r.stderr.replace(/\n/g, " ");
    expect(text).toContain("wasm_component_from_oci //build_time:math_env");
    expect(text).toContain("env REG_USER / REG_PASS");
    for (const choice of ["wasm_component_oci_repository", "wasm_oci.pull", "`docker`", "`helper|NAME`", "`file|/path/to/token`"]) expect(text).toContain(choice);
  }, 120_000);

  it("build-time pulls with --disk_cache, an HTTP remote cache and an execution log: no secret in any of them", async () => {
    const disk = tmp.path("disk-cache");
    const caches = [`--disk_cache=${disk}`, `--remote_cache=${cache.url}`];
    // The token and the password are in the client's environment, the password in the Docker config.
    const log = tmp.path("exec.json");
    const r = await bazel.run("test", [...caches, `--execution_log_json_file=${log}`, "//build_time:math_test", "//fetch:app_test"]);
    expect(r.code, (r.stdout + r.stderr).slice(-6000)).toBe(0);
    // Given to actions the way users did before: no action of these rules takes it (Bazel's own
    // test actions would, which is why docs/security.md says never to pass secrets so).
    const log2 = tmp.path("exec-action-env.json");
    // After a clean every action is looked up again (and listed in the log); a changed
    // --action_env does not change the key of any action of these rules.
    expect((await bazel.run("clean", [])).code).toBe(0);
    const r2 = await bazel.run("build", [...caches, `--execution_log_json_file=${log2}`, "--action_env=GITHUB_AUTH_TOKEN", "//build_time:math", "//fetch:app"]);
    expect(r2.code, r2.stderr.slice(-6000)).toBe(0);
    const spawns = parseExecutionLog(await readFile(log2, "utf8"));
    const pull = spawns.find((x) => x.mnemonic === "WasmOciPull");
    expect(pull, "the execution log lists the pull").toBeDefined();
    // The pull ran with only the location variables: DOCKER_CONFIG yes, GITHUB_AUTH_TOKEN no.
    const names = (pull?.environmentVariables ?? []).map((v) => v.name);
    expect(names).toContain("DOCKER_CONFIG");
    expect(names).not.toContain("GITHUB_AUTH_TOKEN");
    const counts = processCounts(r2.stderr);
    console.log(`[fetch] rebuild after clean with --action_env=GITHUB_AUTH_TOKEN: ${JSON.stringify(counts)}`);
    const base = await bazel.info("output_base");
    const scan = await scanForSecrets([disk, cache.dir, cache.logDir, log, log2, base], secrets);
    console.log(
      `[fetch] ${spawns.length} spawns; scanned ${scan.scanned} files (disk cache, HTTP cache, execution logs, output base incl. java.log) for ${secrets.length} secret forms: ${scan.hits.length} hits`,
    );
    expect(scan.scanned).toBeGreaterThan(50);
    expect(scan.hits).toEqual([]);
    // The HTTP cache did receive the build's entries, and the scan finds a secret where one is.
    expect((await scanForSecrets([cache.dir], [])).scanned).toBeGreaterThan(5);
    expect((await scanForSecrets([join(env["HOME"]!, ".docker")], secrets)).hits).toHaveLength(1);
    const transcript = bazel.transcript.join("\n");
    for (const s of secrets) expect(transcript.includes(s)).toBe(false);
  }, 400_000);

  it("with the registry gone, --nofetch builds from what bazel fetch stored", async () => {
    await reg.stop();
    expect((await bazel.run("clean", [])).code).toBe(0);
    const r = await bazel.run("test", ["--nofetch", "//fetch:app_test", "//fetch:math_env_test"]);
    expect(r.code, (r.stdout + r.stderr).slice(-6000)).toBe(0);
  }, 400_000);
});
