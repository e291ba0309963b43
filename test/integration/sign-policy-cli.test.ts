// `wasm-oci policy check` / `policy validate` through the built bundle, with keys and
// signatures made by the same CLI.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, runCli } from "../helpers/cli.ts";
import { tempDir, Z_WASM } from "../unit/sign-fixtures.ts";

describe.skipIf(!cliBuilt() || !existsSync(Z_WASM))("wasm-oci policy check (built CLI)", () => {
  let dir: string;
  const p = (f: string) => join(dir, f);
  beforeAll(async () => {
    dir = await tempDir("policy-cli");
    await mkdir(p("keys"));
    for (const k of ["release", "dev"]) {
      const r = await runCli(["keygen", "-k", p(`keys/${k}.sk`), "-K", p(`keys/${k}.pub`)]);
      expect(r.code, r.stderr).toBe(0);
    }
    let r = await runCli(["sign", "-i", Z_WASM, "-o", p("release.wasm"), "-k", p("keys/release.sk"), "-K", p("keys/release.pub")]);
    expect(r.code, r.stderr).toBe(0);
    r = await runCli(["sign", "-i", Z_WASM, "-o", p("dev.wasm"), "-k", p("keys/dev.sk"), "-K", p("keys/dev.pub")]);
    expect(r.code, r.stderr).toBe(0);
    await writeFile(
      p("policy.json"),
      JSON.stringify({
        default_signing_required: false,
        keys: { release: { public_key: "keys/release.pub" }, dev: { public_key: "keys/dev.pub" } },
        registry_policies: [{ registry: "ghcr.io", signing: "required", allowed_keys: ["release", "dev"] }],
        component_policies: [{ component: "prod-*", signing: "required", allowed_keys: ["release"] }],
      }),
    );
  });

  it("allows a component signed by an allowed key (exit 0, --json decision)", async () => {
    const r = await runCli(["policy", "check", "--policy", p("policy.json"), "--component", "prod-api", "--registry", "ghcr.io", "-i", p("release.wasm"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ allow: true, rule: "component_policies[0] (prod-*)", signing: "required", verifiedKey: "release" });
  });

  it("denies a key that is not allowed for the component (exit 1, reasons printed)", async () => {
    const r = await runCli(["policy", "check", "--policy", p("policy.json"), "--component", "prod-api", "--registry", "ghcr.io", "-i", p("dev.wasm")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^DENY .*component_policies\[0\] \(prod-\*\)/);
    expect(r.stdout).toMatch(/key id of key "dev"/);
    expect(r.stderr).toMatch(/POLICY_DENIED/);
  });

  it("registry rule and default rule", async () => {
    let r = await runCli(["policy", "check", "--policy", p("policy.json"), "--component", "lib", "--registry", "ghcr.io", "-i", p("dev.wasm")]);
    expect(r.code, r.stderr).toBe(0);
    r = await runCli(["policy", "check", "--policy", p("policy.json"), "--component", "lib", "--registry", "ghcr.io", "-i", Z_WASM]);
    expect(r.code).toBe(1);
    r = await runCli(["policy", "check", "--policy", p("policy.json"), "--component", "lib", "-i", Z_WASM, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ allow: true, rule: "default", signing: "optional" });
  });

  it("policy validate: a good file, and errors that name the field (exit 2)", async () => {
    let r = await runCli(["policy", "validate", p("policy.json")]);
    expect(r.code, r.stderr).toBe(0);
    await writeFile(p("bad.json"), JSON.stringify({ component_policies: [{ component: "x", signing: "always", allowed_keys: ["nobody"] }] }));
    r = await runCli(["policy", "validate", p("bad.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/component_policies\[0\]\.signing/);
    // Key names are cross-checked once the entries themselves are well-formed.
    await writeFile(p("bad2.json"), JSON.stringify({ component_policies: [{ component: "x", signing: "required", allowed_keys: ["nobody"] }] }));
    r = await runCli(["policy", "validate", p("bad2.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/component_policies\[0\]\.allowed_keys\[0\]: unknown key "nobody"/);
    await writeFile(p("missing-key.json"), JSON.stringify({ keys: { k: { public_key: "keys/none.pub" } } }));
    r = await runCli(["policy", "validate", p("missing-key.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/policy key "k"/);
  });
});
