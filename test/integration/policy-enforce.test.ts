/**
 * `pull --policy`, `push --policy` and `compose --policy` against the real registry, through the
 * built CLI: a component the security policy denies is never written, published or composed;
 * `push --policy --secret-key` signs before publishing when the policy requires it.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, freshCacheArgs, hermeticEnv, runCli, type CliResult } from "../helpers/cli.ts";
import { getManifest } from "../helpers/oci-http.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { listFiles, makeTmp, writeJson, type Tmp } from "../helpers/tmp.ts";
import { simpleComponent, writeFixture } from "../helpers/wasm-fixtures.ts";

interface Decision {
  allow: boolean;
  rule: string;
  signing: string;
  verifiedKey?: string;
  reasons: string[];
}
interface Record_ {
  policy: string;
  component: string;
  registry: string;
  decision: Decision;
}

describe.skipIf(!cliBuilt() || !registryAvailable())("security policy enforced by pull, push and compose (real registry)", () => {
  let reg: Registry;
  let tmp: Tmp;
  let env: Record<string, string | undefined>;
  const p = (...parts: string[]): string => tmp.path(...parts);
  const cli = (args: string[]): Promise<CliResult> => runCli(args, { env, timeoutMs: 60_000 });
  let unsigned: Uint8Array;
  let release: Uint8Array;

  /** Only "local" (the registry config's name for the test registry) requires a release signature. */
  const REQUIRED = (): string => p("policies", "required.json");
  const OPTIONAL = (): string => p("policies", "optional.json");
  const DETACHED = (): string => p("policies", "detached.json");
  const CONFIG = (): string => p("registries.json");

  async function ok(args: string[]): Promise<CliResult> {
    const r = await cli(args);
    expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(0);
    return r;
  }

  /** Does the registry hold anything under `repo` (a tag list or the given manifest)? */
  async function manifestStatus(repo: string, ref: string): Promise<number> {
    return (await getManifest(reg, repo, ref)).status;
  }

  /**
   * Whether the registry's storage has anything for `repo`: a blob upload or a mount creates the
   * repository directory, so its absence shows that no write request reached the registry.
   */
  function repositoryStored(repo: string): boolean {
    return existsSync(join(reg.dataDir, "storage", "docker", "registry", "v2", "repositories", ...repo.split("/")));
  }

  beforeAll(async () => {
    tmp = await makeTmp("policy-enforce");
    env = hermeticEnv(tmp.dir);
    reg = await startRegistry();
    await mkdir(p("keys"), { recursive: true });
    for (const k of ["release", "dev"]) await ok(["keygen", "-k", p("keys", `${k}.sk`), "-K", p("keys", `${k}.pub`)]);
    unsigned = await simpleComponent();
    await writeFixture(tmp.dir, "unsigned.wasm", unsigned);
    await ok(["sign", "-i", p("unsigned.wasm"), "-o", p("release.wasm"), "-k", p("keys", "release.sk"), "-K", p("keys", "release.pub")]);
    await ok(["sign", "-i", p("unsigned.wasm"), "-o", p("dev.wasm"), "-k", p("keys", "dev.sk"), "-K", p("keys", "dev.pub")]);
    await ok(["sign", "-i", p("unsigned.wasm"), "-o", p("detached-out.wasm"), "-k", p("keys", "release.sk"), "-K", p("keys", "release.pub"), "-S", p("release.sig")]);
    release = await readFile(p("release.wasm"));
    const keys = { release: { public_key: "../keys/release.pub" }, dev: { public_key: "../keys/dev.pub" } };
    await writeJson(REQUIRED(), {
      default_signing_required: false,
      keys,
      registry_policies: [{ registry: "local", signing: "required", allowed_keys: ["release"] }],
      component_policies: [{ component: "test:*", signing: "required", allowed_keys: ["release"] }],
    });
    await writeJson(OPTIONAL(), { default_signing_required: false, keys });
    await writeJson(DETACHED(), { default_signing_required: true, signature_type: "detached", keys });
    await writeJson(CONFIG(), { registries: [{ name: "local", host: reg.host }] });
    // Seed the registry without a policy: these are what the policy-gated pulls meet.
    for (const n of ["unsigned", "release", "dev"]) await ok(["push", p(`${n}.wasm`), `${reg.host}/seed/${n}:1`]);
  }, 120_000);

  afterAll(async () => {
    await reg?.stop();
    await tmp?.cleanup();
  });

  const pullArgs = (name: string, outDir: string, policy: string, extra: string[] = []): string[] => [
    "pull",
    `${reg.host}/seed/${name}:1`,
    "-o",
    p(outDir, "out.wasm"),
    "--metadata",
    p(outDir, "meta.json"),
    "--registry-config",
    CONFIG(),
    "--policy",
    policy,
    ...freshCacheArgs(p("caches")),
    ...extra,
  ];

  describe("pull --policy", () => {
    it("unsigned under a required rule: exit 1, names component, rule and reasons, writes nothing", async () => {
      await mkdir(p("pull-unsigned"));
      const r = await cli(pullArgs("unsigned", "pull-unsigned", REQUIRED()));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/POLICY_DENIED/);
      expect(r.stderr).toMatch(/component "unsigned" from registry "local"/);
      expect(r.stderr).toContain("registry_policies[0] (local)");
      expect(r.stderr).toMatch(/not signed/i);
      expect(await listFiles(p("pull-unsigned"))).toEqual([]);
    });

    it("signed by an allowed key: written, decision in --metadata and --json", async () => {
      await mkdir(p("pull-release"));
      const r = await ok([...pullArgs("release", "pull-release", REQUIRED()), "--json"]);
      expect(Buffer.compare(await readFile(p("pull-release", "out.wasm")), Buffer.from(release))).toBe(0);
      const meta = JSON.parse(await readFile(p("pull-release", "meta.json"), "utf8")) as { policy: Record_ };
      expect(meta.policy).toMatchObject({ component: "release", registry: "local", decision: { allow: true, rule: "registry_policies[0] (local)", verifiedKey: "release" } });
      expect((JSON.parse(r.stdout) as { policy: Record_ }).policy.decision.allow).toBe(true);
    });

    it("signed by a key the rule does not allow: denied, nothing written", async () => {
      await mkdir(p("pull-dev"));
      const r = await cli(pullArgs("dev", "pull-dev", REQUIRED()));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/key id of key "dev"/);
      expect(await listFiles(p("pull-dev"))).toEqual([]);
    });

    it("a denial from the cache writes nothing either (the layer is already cached)", async () => {
      const cache = ["--cache-dir", p("shared-cache")];
      await mkdir(p("pull-cache"));
      await ok(["pull", `${reg.host}/seed/unsigned:1`, "-o", p("pull-cache", "first.wasm"), ...cache]);
      const r = await cli(["pull", `${reg.host}/seed/unsigned:1`, "-o", p("pull-cache", "second.wasm"), "--registry-config", CONFIG(), "--policy", REQUIRED(), ...cache]);
      expect(r.code, r.stderr).toBe(1);
      expect(await listFiles(p("pull-cache"))).toEqual(["first.wasm"]);
    });

    it("optional policy: unsigned is allowed, with the reason", async () => {
      await mkdir(p("pull-optional"));
      const r = await ok([...pullArgs("unsigned", "pull-optional", OPTIONAL()), "--json"]);
      const d = (JSON.parse(r.stdout) as { policy: Record_ }).policy.decision;
      expect(d).toMatchObject({ allow: true, rule: "default", signing: "optional" });
      expect(d.reasons.join("\n")).toMatch(/optional/);
      expect(Buffer.compare(await readFile(p("pull-optional", "out.wasm")), Buffer.from(unsigned))).toBe(0);
    });

    it("--component-name and --registry-name override the names the policy matches", async () => {
      await mkdir(p("pull-names"));
      // Registry "elsewhere" matches nothing, the default is optional: allowed.
      let r = await ok([...pullArgs("unsigned", "pull-names", REQUIRED(), ["--registry-name", "elsewhere"]), "--json"]);
      expect((JSON.parse(r.stdout) as { policy: Record_ }).policy).toMatchObject({ registry: "elsewhere", decision: { rule: "default" } });
      // A component name under test:* is required whatever the registry.
      r = await cli(pullArgs("unsigned", "pull-names", REQUIRED(), ["--registry-name", "elsewhere", "--component-name", "test:adder", "-o", p("pull-names", "x.wasm")]));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain("component_policies[0] (test:*)");
    });

    it("detached policy: denied without --signature, allowed with it", async () => {
      await mkdir(p("pull-detached"));
      const r = await cli(pullArgs("unsigned", "pull-detached", DETACHED()));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/detached/);
      expect(await listFiles(p("pull-detached"))).toEqual([]);
      const a = await ok([...pullArgs("unsigned", "pull-detached", DETACHED(), ["--signature", p("release.sig")]), "--json"]);
      expect((JSON.parse(a.stdout) as { policy: Record_ }).policy.decision).toMatchObject({ allow: true, verifiedKey: "release" });
    });

    it("flags that need --policy are usage errors without it", async () => {
      const r = await cli(["pull", `${reg.host}/seed/unsigned:1`, "-o", p("never.wasm"), "--component-name", "x"]);
      expect(r.code).toBe(2);
    });
  });

  describe("push --policy", () => {
    const pushArgs = (file: string, repo: string, policy: string, extra: string[] = []): string[] => [
      "push",
      file,
      `${reg.host}/${repo}:1`,
      "--registry-config",
      CONFIG(),
      "--policy",
      policy,
      ...extra,
    ];

    it("unsigned under a required rule: exit 1 and the registry holds no manifest (no request sent)", async () => {
      const r = await cli(pushArgs(p("unsigned.wasm"), "app/denied", REQUIRED()));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/POLICY_DENIED/);
      expect(r.stderr).toMatch(/nothing was published/);
      expect(await manifestStatus("app/denied", "1")).toBe(404);
      const tags = await fetch(`${reg.url}/v2/app/denied/tags/list`);
      await tags.arrayBuffer();
      expect(tags.status).toBe(404);
      expect(repositoryStored("app/denied")).toBe(false);
      // The same check sees a real push.
      expect(repositoryStored("seed/unsigned")).toBe(true);
    });

    it("--dry-run is gated too", async () => {
      const r = await cli(pushArgs(p("unsigned.wasm"), "app/denied-dry", REQUIRED(), ["--dry-run"]));
      expect(r.code, r.stderr).toBe(1);
      expect(repositoryStored("app/denied-dry")).toBe(false);
    });

    it("signed by an allowed key: published, decision in --json", async () => {
      const r = await ok(pushArgs(p("release.wasm"), "app/release", REQUIRED(), ["--json"]));
      const out = JSON.parse(r.stdout) as { digest: string; policy: Record_ & { signing: { signed: boolean } } };
      expect(out.policy).toMatchObject({ component: "release", registry: "local", decision: { allow: true, verifiedKey: "release" }, signing: { signed: false } });
      const m = await getManifest(reg, "app/release", "1");
      expect(m.status).toBe(200);
      expect(m.digest).toBe(out.digest);
    });

    it("with --secret-key: signs before publishing, and the pulled bytes verify with the key", async () => {
      const r = await ok(pushArgs(p("unsigned.wasm"), "app/signed-on-push", REQUIRED(), ["-k", p("keys", "release.sk"), "-K", p("keys", "release.pub"), "--json"]));
      const out = JSON.parse(r.stdout) as { policy: Record_ & { signing: { signed: boolean; reason: string } } };
      expect(out.policy.signing.signed).toBe(true);
      expect(out.policy.decision).toMatchObject({ allow: true, verifiedKey: "release" });
      // The input file is not modified.
      expect(Buffer.compare(await readFile(p("unsigned.wasm")), Buffer.from(unsigned))).toBe(0);
      await mkdir(p("pull-signed-on-push"));
      const out2 = p("pull-signed-on-push", "c.wasm");
      await ok(["pull", `${reg.host}/app/signed-on-push:1`, "-o", out2, "--registry-config", CONFIG(), "--policy", REQUIRED(), "--component-name", "test:adder", ...freshCacheArgs(p("caches"))]);
      await ok(["verify", "-i", out2, "-K", p("keys", "release.pub")]);
    });

    it("an already-signed component is not signed again", async () => {
      const r = await ok(pushArgs(p("release.wasm"), "app/release-again", REQUIRED(), ["-k", p("keys", "release.sk"), "--json"]));
      const out = JSON.parse(r.stdout) as { policy: { signing: { signed: boolean; reason: string } } };
      expect(out.policy.signing.signed).toBe(false);
      const m = await getManifest(reg, "app/release-again", "1");
      const layer = (m.json?.["layers"] as Array<{ digest: string }>)[0]!.digest;
      const blob = await fetch(`${reg.url}/v2/app/release-again/blobs/${layer}`);
      expect(Buffer.compare(Buffer.from(await blob.arrayBuffer()), Buffer.from(release))).toBe(0);
    });

    it("signing with a key the rule does not allow: denied, nothing published", async () => {
      const r = await cli(pushArgs(p("unsigned.wasm"), "app/dev-signed", REQUIRED(), ["-k", p("keys", "dev.sk"), "-K", p("keys", "dev.pub")]));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/not allowed/);
      expect(await manifestStatus("app/dev-signed", "1")).toBe(404);
      expect(repositoryStored("app/dev-signed")).toBe(false);
    });

    it("optional policy: unsigned is published, with the reason", async () => {
      const r = await ok(pushArgs(p("unsigned.wasm"), "app/optional", OPTIONAL(), ["--json"]));
      const d = (JSON.parse(r.stdout) as { policy: Record_ }).policy.decision;
      expect(d).toMatchObject({ allow: true, signing: "optional" });
      expect(d.reasons.join("\n")).toMatch(/optional/);
      expect(await manifestStatus("app/optional", "1")).toBe(200);
    });

    it("detached policy with --secret-key: the signature is written with --signature-output and verifies", async () => {
      let r = await cli(pushArgs(p("unsigned.wasm"), "app/detached", DETACHED(), ["-k", p("keys", "release.sk"), "-K", p("keys", "release.pub")]));
      expect(r.code, r.stderr).toBe(2);
      expect(await manifestStatus("app/detached", "1")).toBe(404);
      r = await ok(pushArgs(p("unsigned.wasm"), "app/detached", DETACHED(), ["-k", p("keys", "release.sk"), "-K", p("keys", "release.pub"), "--signature-output", p("pushed.sig")]));
      await ok(["verify", "-i", p("unsigned.wasm"), "-K", p("keys", "release.pub"), "-S", p("pushed.sig")]);
      expect(await manifestStatus("app/detached", "1")).toBe(200);
    });

    it("detached policy with an existing -S signature: published", async () => {
      const r = await ok(pushArgs(p("unsigned.wasm"), "app/detached-given", DETACHED(), ["-S", p("release.sig"), "--json"]));
      expect((JSON.parse(r.stdout) as { policy: Record_ }).policy.decision).toMatchObject({ allow: true, verifiedKey: "release" });
      expect(await manifestStatus("app/detached-given", "1")).toBe(200);
    });

    it("an OCI layout source is decided on its wasm layer; it cannot be re-signed", async () => {
      await ok(["image", p("unsigned.wasm"), "-o", p("layout-unsigned"), "--tag", "1"]);
      let r = await cli(pushArgs(`oci-layout:${p("layout-unsigned")}:1`, "app/layout", REQUIRED()));
      expect(r.code, r.stderr).toBe(1);
      r = await cli(pushArgs(`oci-layout:${p("layout-unsigned")}:1`, "app/layout", REQUIRED(), ["-k", p("keys", "release.sk")]));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/POLICY_SIGN_LAYOUT|sign the \.wasm/);
      expect(await manifestStatus("app/layout", "1")).toBe(404);
      expect(repositoryStored("app/layout")).toBe(false);
      await ok(["image", p("release.wasm"), "-o", p("layout-release"), "--tag", "1"]);
      await ok(pushArgs(`oci-layout:${p("layout-release")}:1`, "app/layout", REQUIRED()));
      expect(await manifestStatus("app/layout", "1")).toBe(200);
    });
  });

  describe("compose --policy", () => {
    beforeAll(async () => {
      await writeFile(p("app.wac"), "package test:app;\n\nlet a = new test:adder {};\n\nexport a.add;\n");
    });

    it("an unsigned dependency under a required rule: exit 1, no output", async () => {
      await mkdir(p("compose-denied"));
      const r = await cli(["compose", p("app.wac"), "--dep", `test:adder=${p("unsigned.wasm")}`, "--policy", REQUIRED(), "-o", p("compose-denied", "app.wasm")]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/POLICY_DENIED/);
      expect(r.stderr).toContain("component_policies[0] (test:*)");
      expect(await listFiles(p("compose-denied"))).toEqual([]);
    });

    it("a dependency signed by a key the rule does not allow: exit 1, no output", async () => {
      await mkdir(p("compose-dev"));
      const r = await cli(["compose", p("app.wac"), "--dep", `test:adder=${p("dev.wasm")}`, "--policy", REQUIRED(), "-o", p("compose-dev", "app.wasm")]);
      expect(r.code, r.stderr).toBe(1);
      expect(await listFiles(p("compose-dev"))).toEqual([]);
    });

    it("signed by an allowed key (--dep and --deps-dir): composed, decisions in --json", async () => {
      await mkdir(p("compose-ok"));
      const r = await ok(["compose", p("app.wac"), "--dep", `test:adder=${p("release.wasm")}`, "--policy", REQUIRED(), "-o", p("compose-ok", "app.wasm"), "--json"]);
      const out = JSON.parse(r.stdout) as { policy: Record_[]; size: number };
      expect(out.policy).toHaveLength(1);
      expect(out.policy[0]).toMatchObject({ component: "test:adder", registry: "", decision: { allow: true, verifiedKey: "release" } });
      expect((await readFile(p("compose-ok", "app.wasm"))).length).toBe(out.size);
      await writeFixture(p("deps"), "test/adder.wasm", release);
      await ok(["compose", p("app.wac"), "--deps-dir", p("deps"), "--policy", REQUIRED(), "-o", p("compose-ok", "app2.wasm")]);
    });

    it("detached policy: PATH.sig next to the dependency is used; without it the dependency is denied", async () => {
      await mkdir(p("compose-detached", "deps"), { recursive: true });
      const dep = await writeFixture(p("compose-detached", "deps"), "adder.wasm", unsigned);
      let r = await cli(["compose", p("app.wac"), "--dep", `test:adder=${dep}`, "--policy", DETACHED(), "-o", p("compose-detached", "app.wasm")]);
      expect(r.code, r.stderr).toBe(1);
      expect(existsSync(p("compose-detached", "app.wasm"))).toBe(false);
      await writeFile(`${dep}.sig`, await readFile(p("release.sig")));
      r = await ok(["compose", p("app.wac"), "--dep", `test:adder=${dep}`, "--policy", DETACHED(), "-o", p("compose-detached", "app.wasm"), "--json"]);
      expect((JSON.parse(r.stdout) as { policy: Record_[] }).policy[0]?.decision).toMatchObject({ allow: true, verifiedKey: "release" });
    });

    it("optional policy: an unsigned dependency is composed", async () => {
      await mkdir(p("compose-optional"));
      await ok(["compose", p("app.wac"), "--dep", `test:adder=${p("unsigned.wasm")}`, "--policy", OPTIONAL(), "-o", p("compose-optional", "app.wasm")]);
      expect(await listFiles(p("compose-optional"))).toEqual(["app.wasm"]);
    });
  });
});
