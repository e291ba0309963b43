/**
 * The Bazel suite: real Bazel 4.2.3, a real registry (htpasswd auth), the rules of wasm/ driven
 * through a test workspace (test/bazel/ws). One Bazel server and output base serve the whole file;
 * the reproducibility test adds a second output base. Tests run in order and share state.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, REPO_ROOT } from "../helpers/cli.ts";
import { registryAvailable, type Registry } from "../helpers/registry.ts";
import { runCommand } from "../helpers/processes.ts";
import type { Tmp } from "../helpers/tmp.ts";
import { bazelAvailable, GITHUB_TOKEN, processCounts, scanForSecrets, setupSuite, sha256, WASSETTE_POLICY_YAML, type Bazel } from "./harness.ts";

/** The ERROR lines of a Bazel run and what follows each, without progress noise. */
function errors(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => !/^(Analyzing|Loading|INFO|\s+currently loading|\[\d|\d+\.\d+: src\/main\/tools)/.test(l))
    .join("\n")
    .slice(-8000);
}

const ready = bazelAvailable() && registryAvailable() && cliBuilt();

describe.skipIf(!ready)("Bazel rules (Bazel 4.2.3, real registry)", () => {
  let tmp: Tmp;
  let reg: Registry;
  let reg2: Registry;
  let bazel: Bazel;
  let bin: string;
  let mathDigest: string;
  let math: Uint8Array;
  let haveSign = false;
  let composeProblem: string | undefined;
  let all: string[] = ["//..."];

  const inspect = async (ref: string) =>
    runCommand("skopeo", ["inspect", "--raw", "--tls-verify=false", `--creds=${reg.username}:${reg.password}`, `docker://${reg.host}/${ref}`], {
      timeoutMs: 30_000,
    });


  beforeAll(async () => {
    ({ tmp, reg, reg2, bazel, math, mathDigest, haveSign, composeProblem, all } = await setupSuite());
    if (composeProblem !== undefined) console.log(`[bazel] leaving out //compose/...: ${composeProblem}`);
  }, 180_000);

  afterAll(async () => {
    if (process.env["WASM_OCI_BAZEL_KEEP"] === "1") {
      // Debugging: leave the workspace and registry up for manual bazel runs.
      console.log(`[bazel] kept workspace ${bazel?.workspace}; registry ${reg?.host} REG_USER=${reg?.username} REG_PASS=${reg?.password}`);
      await new Promise((r) => setTimeout(r, Number(process.env["WASM_OCI_BAZEL_KEEP_MS"] ?? 3_000_000)));
    }
    await bazel?.shutdown();
    await bazel?.shutdown(tmp?.path("base2"));
    await reg?.stop();
    await reg2?.stop();
    await tmp?.cleanup();
  }, 120_000);

  it("builds //... (pulls, signatures, policy, compositions, images)", async () => {
    const r = await bazel.run("build", all, { timeoutMs: 300_000 });
    bin = await bazel.info("bazel-bin");
    expect(r.code, errors(r.stderr)).toBe(0);
    console.log(`[bazel] build //...: ${JSON.stringify(processCounts(r.stderr))}`);
  }, 320_000);

  it("pulls by digest: the bytes and the recorded manifest digest match what was pushed", async () => {
    const pulled = await readFile(join(bin, "math_pinned.wasm"));
    expect(sha256(pulled)).toBe(sha256(math));
    expect(await readFile(join(bin, "math_pinned.oci.json"), "utf8")).toContain(mathDigest);
  });

  it("wassette and runwasi: the policy layer as a file, a file:// pull pinned by digest, a runwasi tar with the platform", async () => {
    expect(await readFile(join(bin, "math_with_policy.policy.yaml"), "utf8")).toBe(WASSETTE_POLICY_YAML);
    expect(sha256(await readFile(join(bin, "math_with_policy.wasm")))).toBe(sha256(math));
    expect(sha256(await readFile(join(bin, "math_from_file.wasm")))).toBe(sha256(math));
    const tar = join(bin, "frontend_runwasi.tar");
    const list = await runCommand("tar", ["-tf", tar]);
    expect(list.stdout.split("\n")).toEqual(expect.arrayContaining(["oci-layout", "index.json", "manifest.json"]));
    const index = JSON.parse((await runCommand("tar", ["-xOf", tar, "index.json"])).stdout) as { manifests: Array<{ platform: unknown; annotations: Record<string, string> }> };
    expect(index.manifests[0]).toMatchObject({ platform: { architecture: "wasm", os: "wasip2" }, annotations: { "io.containerd.image.name": "localhost:5000/published/frontend:0.1.0" } });
    const docker = JSON.parse((await runCommand("tar", ["-xOf", tar, "manifest.json"])).stdout) as Array<{ RepoTags: string[]; Layers: string[] }>;
    expect(docker[0]?.RepoTags).toEqual(["localhost:5000/published/frontend:0.1.0"]);
    expect(docker[0]?.Layers).toHaveLength(2); // the component, then permissions.yaml
  });

  it("a tag-only pull prints the resolved digest and the buildozer command that pins it", async () => {
    // no-cache: the pull runs again after the output is gone.
    await rm(join(bin, "math_by_tag.wasm"), { force: true });
    const r = await bazel.run("build", ["//:math_by_tag"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`buildozer 'set digest ${mathDigest}' //:math_by_tag`);
    expect(sha256(await readFile(join(bin, "math_by_tag.wasm")))).toBe(sha256(math));
  }, 120_000);

  it("bazel test //...: pulled components run (wasm_component_test)", async () => {
    const r = await bazel.run("test", all, { timeoutMs: 300_000 });
    expect(r.code, r.stdout + errors(r.stderr)).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/\/\/:math_pinned_test\s+(\(cached\) )?PASSED/);
  }, 320_000);

  it("bazel test //compose/...: compositions of local and OCI components run (wasm_component_test)", async (ctx) => {
    if (composeProblem !== undefined) ctx.skip();
    const r = await bazel.run("test", ["//compose/..."], { timeoutMs: 300_000 });
    expect(r.code, r.stdout + errors(r.stderr)).toBe(0);
    for (const t of ["app_test", "app_from_file_test", "microservices_test", "two_services_test"]) expect(r.stdout + r.stderr).toMatch(new RegExp(`//compose:${t}\\s+(\\(cached\\) )?PASSED`));
  }, 320_000);

  it("a generated composition of two independent services and their consumer wires each import by name (output group generated_wac)", async (ctx) => {
    if (composeProblem !== undefined) ctx.skip();
    const r = await bazel.run("build", ["//compose:two_services", "--output_groups=generated_wac"], { timeoutMs: 300_000 });
    expect(r.code, errors(r.stderr)).toBe(0);
    expect(r.stderr).toContain("compose/two_services.generated.wac");
    const wac = await readFile(join(bin, "compose", "two_services.generated.wac"), "utf8");
    expect(wac).toBe(
      [
        "package rules-wasm-oci:two-services;",
        "",
        "let math = new oci:math {};",
        "let scaler = new local:scaler {};",
        "let calc = new local:calc {",
        '  "test:math/ops": math["test:math/ops"],',
        '  "test:math/scale": scaler["test:math/scale"]',
        "};",
        "",
        "export calc...;",
        "",
      ].join("\n"),
    );
  }, 320_000);

  it("a wasm_component_test fails when the result differs", async () => {
    await mkdir(join(bazel.workspace, "neg"), { recursive: true });
    await writeFile(
      join(bazel.workspace, "neg", "BUILD.bazel"),
      `load("@rules_wasm_oci//wasm:defs.bzl", "wasm_component_test")\nwasm_component_test(name = "wrong", component = "//:math_pinned", invoke = "test:math/ops#add(3, 4)", expect = "8")\n`,
    );
    const r = await bazel.run("test", ["//neg:wrong"]);
    await rm(join(bazel.workspace, "neg"), { recursive: true });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/expected: 8/);
  }, 120_000);

  it("wasm_verify fails the build on a bad signature; wasm_security_policy rejects unknown keys at analysis", async (ctx) => {
    if (!haveSign) ctx.skip();
    await mkdir(join(bazel.workspace, "neg"), { recursive: true });
    try {
      await writeFile(
        join(bazel.workspace, "neg", "BUILD.bazel"),
        [
          `load("@rules_wasm_oci//wasm:defs.bzl", "wasm_security_policy", "wasm_verify")`,
          // Signed with //:keys, verified with another key.
          `wasm_verify(name = "wrong_key", signed_component = "//:frontend_signed", public_key = "//:keys/trusted.pk")`,
          `wasm_security_policy(name = "bad_policy", registry_policies = ["local|required|nobody"], keys = {"trusted": "//:keys/trusted.pk"})`,
          "",
        ].join("\n"),
      );
      const v = await bazel.run("build", ["//neg:wrong_key"]);
      expect(v.code).not.toBe(0);
      expect(v.stderr).toContain("//neg:wrong_key");
      expect(v.stderr).toMatch(/Verifying the signature/);
      expect(existsSync(join(bin, "neg", "wrong_key.wasm"))).toBe(false);
      const p = await bazel.run("build", ["//neg:bad_policy"]);
      expect(p.code).not.toBe(0);
      expect(p.stderr.replace(/\n/g, " ")).toMatch(/wasm_security_policy \/\/neg:bad_policy: registry_policies\[0\] "local\|required\|nobody": key "nobody" is not in keys \(trusted\)/);
    } finally {
      await rm(join(bazel.workspace, "neg"), { recursive: true, force: true });
    }
  }, 180_000);

  it("a tampered or unsigned OCI component under a policy that requires signatures fails the build", async (ctx) => {
    if (!haveSign) ctx.skip();
    const cases: Array<[string, string]> = [
      ["//:tampered_math", "signed-tampered"],
      ["//:unsigned_math", "signed-unsigned"],
    ];
    // The policy check runs before composing, so this one needs no working compose.
    cases.push(["//compose:app_tampered", "signed-tampered"]);
    for (const [target, component] of cases) {
      const r = await bazel.run("build", [target]);
      expect(r.code, `${target} must fail`).not.toBe(0);
      expect(r.stderr).toContain(component);
      expect(r.stderr).toContain(target);
      expect(r.stderr).toMatch(/policy/i);
      // The policy rule that denied it, and nothing written.
      expect(r.stderr).toContain("component_policies[0] (signed-*)");
      expect(r.stderr).toContain("was not written");
      const out = target.startsWith("//compose:") ? join(bin, "compose", "app_tampered_oci", "math.wasm") : join(bin, `${target.slice(3)}.wasm`);
      expect(existsSync(out), out).toBe(false);
      console.log(`[bazel] ${target} denied:\n${r.stderr.split("\n").filter((l) => /ERROR|deny|policy/i.test(l)).slice(0, 6).join("\n")}`);
    }
  }, 300_000);

  it("bazel run of a publish target pushes the layout (skopeo sees it); -- --dry-run pushes nothing", async () => {
    const dry = await bazel.run("run", ["//:frontend_publish", "--", "--dry-run", "--tag", "dry-run-only"]);
    expect(dry.code, errors(dry.stderr)).toBe(0);
    expect((await inspect("published/frontend:dry-run-only")).code).not.toBe(0);

    const r = await bazel.run("run", ["//:frontend_publish"]);
    expect(r.code, errors(r.stderr)).toBe(0);
    const expected = (await readFile(join(bin, "frontend_publish_image.digest"), "utf8")).trim();
    expect(r.stdout + r.stderr).toContain(expected);
    const manifest = await inspect("published/frontend:0.1.0");
    expect(manifest.code, manifest.stderr).toBe(0);
    expect(sha256(Buffer.from(manifest.stdout))).toBe(expected);
    const m = JSON.parse(manifest.stdout) as { annotations: Record<string, string>; layers: unknown[] };
    expect(m.annotations["org.opencontainers.image.description"]).toBe("The frontend component");
    expect(m.annotations["org.opencontainers.image.version"]).toBe("0.1.0");
    expect(m.annotations["org.opencontainers.image.licenses"]).toBe("Apache-2.0");
    expect(m.annotations["com.wasm.component.type"]).toBe("component");
    expect(m.annotations["com.wasm.component.security"]).toBe("signed");
    expect(m.annotations["com.wasmsign2.signature.type"]).toBe("embedded");
    expect(m.annotations["com.wasmsign2.key.format"]).toBe("compact");
    expect(m.layers).toHaveLength(1);

    const moved = await bazel.run("run", ["//:frontend_publish", "--", "--repository", `${reg.host}/moved/frontend`, "--tag", "x1", "--tag", "x2"]);
    expect(moved.code, errors(moved.stderr)).toBe(0);
    expect((await inspect("moved/frontend:x1")).code).toBe(0);
    expect((await inspect("moved/frontend:x2")).code).toBe(0);
  }, 240_000);

  it("secure publish signs, checks the policy, pushes where allowed and audits every decision", async (ctx) => {
    if (!haveSign) ctx.skip();
    const audit = join(bazel.workspace, "wasm-oci-audit.jsonl");
    const inspect2 = async (ref: string) =>
      runCommand("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg2.host}/${ref}`], { timeoutMs: 30_000 });
    const ok = await bazel.run("run", ["//:app_secure_publish"]);
    expect(ok.code, errors(ok.stderr)).toBe(0);
    const digest = (await readFile(join(bin, "app_secure_publish_image.digest"), "utf8")).trim();
    for (const m of [await inspect("secure/app-signed:2.0.0"), await inspect2("secure/app-signed:2.0.0")]) {
      expect(m.code, m.stderr).toBe(0);
      expect(sha256(Buffer.from(m.stdout))).toBe(digest);
    }
    const denied = await bazel.run("run", ["//:app_unsigned_publish"]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("REFUSED");
    expect((await inspect("secure/app-signed:2.0.1")).code).not.toBe(0);
    expect((await inspect2("secure/app-signed:2.0.1")).code).not.toBe(0);
    const records = (await readFile(audit, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => `${String(r["registry"])}:${String(r["decision"])}`)).toEqual(["local:allow", "second:allow", "local:deny", "second:deny"]);
    for (const rec of records) {
      expect(rec["component"]).toBe("app-signed");
      expect(rec["policy_rule"]).toBe("component_policies[1] (app-signed)");
      expect(String(rec["digest"])).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(String(rec["time"])).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(records[0]!["digest"]).toBe(digest);
    expect(records[0]!["key_name"]).toBe("build_keys");
    expect(String(records[0]!["key_id"])).toMatch(/^[0-9a-f]{24}$/);
  }, 240_000);

  it("a malformed wkg_registry_config entry fails analysis naming the target, entry and field", async () => {
    const cases: Array<[string, RegExp]> = [
      [`"broken|localhost:5000"`, /registries\[0\] "broken\|localhost:5000".*at least 3 fields/],
      [`"ok|localhost:5000|oci", "bad|ghcr.io|oci|basic|USER_VAR"`, /registries\[1\].*field 6 \(password environment variable\) is missing/],
      [`"x|ghcr.io|docker-hub"`, /registries\[0\].*field 3 \(type\)/],
      [`"gh|ghcr.io|oci|token|${GITHUB_TOKEN}"`, /registries\[0\].*field 5 \(token\).*\$\{VAR\}/],
      [`"gh|ghcr.io|oci|env|${GITHUB_TOKEN}"`, /registries\[0\].*looks like a literal secret.*build-time pulls take only `docker`/],
    ];
    await mkdir(join(bazel.workspace, "bad"), { recursive: true });
    try {
      for (const [entries, pattern] of cases) {
        await writeFile(
          join(bazel.workspace, "bad", "BUILD.bazel"),
          `load("@rules_wasm_oci//wasm:defs.bzl", "wkg_registry_config")\nwkg_registry_config(name = "cfg", registries = [${entries}])\n`,
        );
        const r = await bazel.run("build", ["//bad:cfg"]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain("wkg_registry_config //bad:cfg");
        expect(r.stderr.replace(/\n/g, " ")).toMatch(pattern);
        // The error names the field but never echoes the secret.
        expect(r.stderr).not.toContain(GITHUB_TOKEN);
      }
    } finally {
      await rm(join(bazel.workspace, "bad"), { recursive: true, force: true });
    }
  }, 240_000);

  it("no secret in bazel-out, the registry config files or Bazel's logs", async () => {
    const outputBase = await bazel.info("output_base");
    const secrets = [reg.password!, GITHUB_TOKEN];
    // The whole output base: bazel-out, command.log, java.log*, action cache, sandboxes, external/.
    const { scanned, hits } = await scanForSecrets([outputBase], secrets);
    expect(existsSync(join(outputBase, "command.log"))).toBe(true);
    console.log(`[bazel] scanned ${scanned} files of the output base (bazel-out, command.log, java.log, caches) for the secrets`);
    expect(scanned).toBeGreaterThan(10);
    expect(hits).toEqual([]);
    // And the console output of every bazel command of this suite so far (builds, runs, failures).
    const console_ = bazel.transcript.join("\n");
    console.log(`[bazel] scanned ${bazel.transcript.length / 2} bazel command transcripts (${console_.length} chars)`);
    for (const s of secrets) expect(console_.includes(s)).toBe(false);
    const config = await readFile(join(bin, "registries.registry.json"), "utf8");
    expect(config).toContain('"token_env": "GITHUB_AUTH_TOKEN"');
    expect(config).not.toContain(reg.password!);
    expect(await readFile(join(bin, "registries.config.toml"), "utf8")).not.toContain(reg.password!);
  }, 120_000);

  it("reproducible: a second output base gives byte-identical layouts and compositions; --disk_cache then runs no action", async () => {
    const targets = ["//:math_pinned", "//:frontend_image", "//:registries", "//:policy"];
    if (composeProblem === undefined) targets.push("//compose:app", "//compose:app_image", "//compose:microservices", "//compose:two_services");
    else console.log(`[bazel] reproducibility of compositions not checked: ${composeProblem}`);
    const base2 = tmp.path("base2");
    const cache = tmp.path("disk-cache");
    const first = await bazel.run("build", ["--disk_cache=" + cache, ...targets], { outputBase: base2, timeoutMs: 300_000 });
    expect(first.code, first.stderr.slice(-4000)).toBe(0);
    console.log(`[bazel] fresh output base with --disk_cache: ${JSON.stringify(processCounts(first.stderr))}`);
    const bin2 = await bazel.info("bazel-bin", base2);
    const files = ["math_pinned.wasm", "frontend_image.digest", "registries.registry.json", "registries.config.toml", "policy.policy.json"];
    const layoutDirs = ["frontend_image_layout"];
    if (composeProblem === undefined) {
      files.push("compose/app.wasm", "compose/microservices.wasm", "compose/app_image.digest", "compose/app.generated.wac", "compose/two_services.wasm");
      layoutDirs.push("compose/app_image_layout");
    }
    const walk = async (root: string, rel = ""): Promise<string[]> => {
      const out: string[] = [];
      for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
        const r = join(rel, e.name);
        if (e.isDirectory()) out.push(...(await walk(root, r)));
        else out.push(r);
      }
      return out.sort();
    };
    const layouts = [];
    for (const dir of layoutDirs) layouts.push(...(await walk(join(bin, dir))).map((p) => join(dir, p)));
    for (const f of [...files, ...layouts]) {
      expect(sha256(await readFile(join(bin2, f))), f).toBe(sha256(await readFile(join(bin, f))));
    }
    // Same output base, clean, rebuild: every action must come from the disk cache.
    expect((await bazel.run("clean", [], { outputBase: base2 })).code).toBe(0);
    const second = await bazel.run("build", ["--disk_cache=" + cache, ...targets], { outputBase: base2, timeoutMs: 300_000 });
    expect(second.code, second.stderr.slice(-4000)).toBe(0);
    const counts = processCounts(second.stderr);
    console.log(`[bazel] rebuild from --disk_cache: ${JSON.stringify(counts)}`);
    const executed = Object.entries(counts)
      .filter(([k]) => k !== "total" && k !== "internal" && !k.includes("cache hit"))
      .reduce((n, [, v]) => n + v, 0);
    expect(executed).toBe(0);
    // Bazel 4.2.3 reports disk cache hits as "remote cache hit".
    expect((counts["disk cache hit"] ?? 0) + (counts["remote cache hit"] ?? 0)).toBeGreaterThan(0);
    await bazel.shutdown(base2);
  }, 600_000);

  it("buildifier --mode=check --lint=warn is clean", async () => {
    const r = await runCommand(
      join(REPO_ROOT, "node_modules", ".bin", "buildifier"),
      ["--mode=check", "--lint=warn", "-r", "wasm", "examples", "e2e", "test/bazel", "tools/BUILD.bazel", "BUILD.bazel", "MODULE.bazel", "WORKSPACE.bazel"],
      { cwd: REPO_ROOT, timeoutMs: 60_000 },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});
