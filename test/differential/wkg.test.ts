/**
 * wasm-oci against wkg (wasm-pkg-tools), the same inputs through both, in the same run:
 *  - every `wasm-oci config wkg` output is accepted by wkg (`wkg config --config FILE` loads it
 *    with wkg's own parser, which rejects unknown keys), for registry configs using every feature;
 *  - `wkg get` resolves packages through such a config (default registry, namespace mapping with
 *    a namespacePrefix, protocol http) and gets what wasm-oci pushed, byte for byte;
 *  - `wkg oci push` then `wasm-oci pull`, and `wasm-oci push` then `wkg oci pull`, give identical
 *    bytes, on docker-registry and on the referrers-API registry;
 *  - what wkg pushes has the manifest facts.md section 2 describes, and so does what wasm-oci pushes.
 * The publishing guide's last step (wkg pulls what `bazel run
 * //examples/oci_publishing:publish_complete_workflow` published, wasmsign2 verifies it) runs in
 * test/bazel/examples.test.ts, which already runs that target, as a command of the example's README.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, writeFile } from "node:fs/promises";
import { bytesId } from "../helpers/bytes.ts";
import { freshCacheArgs, hermeticEnv, runCli } from "../helpers/cli.ts";
import { getManifest } from "../helpers/oci-http.ts";
import { oracle, oraclesMissing } from "../helpers/oracles.ts";
import { runCommand } from "../helpers/processes.ts";
import { startReferrersRegistry, type ReferrersRegistry } from "../helpers/referrers-registry.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { makeTmp, writeJson, type Tmp } from "../helpers/tmp.ts";
import { interfaceComponent, writeFixture } from "../helpers/wasm-fixtures.ts";
import { cliOk, withOverrides } from "./lib/processes.ts";

const missing = !registryAvailable() || oraclesMissing(["wkg", "cue"]);

const tally = { configs: 0, configsAccepted: 0, transfers: 0, identical: 0 };

describe.skipIf(missing)("wkg vs wasm-oci: config.toml, push and pull", () => {
  let dist: Registry;
  let refReg: ReferrersRegistry;
  let tmp: Tmp;
  let env: Record<string, string | undefined>;
  let comp: Buffer;
  let compPath: string;

  const procEnv = (): NodeJS.ProcessEnv => {
    const e = withOverrides(env);
    // wkg reads its cache and global config from the XDG dirs under the temp HOME.
    e["XDG_CONFIG_HOME"] = tmp.path("home", ".config");
    return e;
  };
  const wkg = async (args: string[]) => runCommand(oracle("wkg"), args, { env: procEnv(), timeoutMs: 60_000, cwd: tmp.dir });
  const wkgOk = async (args: string[]) => {
    const r = await wkg(args);
    expect(r.code, `wkg ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r;
  };
  const cli = (args: string[]) => cliOk(args, env);
  const sameBytes = (got: Buffer, what: string) => {
    tally.transfers++;
    expect(bytesId(got), what).toBe(bytesId(comp));
    tally.identical++;
  };

  beforeAll(async () => {
    [dist, refReg] = await Promise.all([startRegistry(), startReferrersRegistry()]);
    tmp = await makeTmp("diff-wkg");
    env = hermeticEnv(tmp.dir, { SOURCE_DATE_EPOCH: "1700000000" });
    comp = Buffer.from(await interfaceComponent());
    compPath = await writeFixture(tmp.dir, "in/app.wasm", comp);
  }, 120_000);

  afterAll(async () => {
    await dist?.stop();
    await refReg?.stop();
    await tmp?.cleanup();
    if (tally.configs + tally.transfers > 0) {
      console.log(`wkg differential: ${tally.configsAccepted}/${tally.configs} generated config.toml files accepted by wkg; ${tally.transfers} transfers, ${tally.identical} byte-identical`);
    }
  });

  it("every config.toml `wasm-oci config wkg` writes is accepted by wkg's parser, with the default registry it names", async () => {
    const configs: Array<{ name: string; config: Record<string, unknown>; defaultHost?: string }> = [
      {
        name: "every-feature",
        defaultHost: "ghcr.io",
        config: {
          version: 1,
          default_registry: "ghcr",
          registries: [
            { name: "ghcr", host: "ghcr.io", auth: { type: "env", token_env: "GITHUB_TOKEN" }, namespaces: ["acme", "acme-tools"], namespace_prefix: "acme" },
            { name: "local", host: "localhost:5000", auth: { type: "basic_env", username_env: "U", password_env: "P" }, namespaces: ["dev"] },
            { name: "loop", host: "127.0.0.1:5001", auth: { type: "token_file", path: "/var/run/secrets/token" } },
            { name: "corp", host: "registry.corp.example:8443", insecure: true, auth: { type: "oauth2_env", client_id_env: "CID", client_secret_env: "CS" }, mirrors: ["mirror.corp.example"] },
            { name: "hub", host: "index.docker.io", auth: { type: "docker" } },
            { name: "ecr", host: "1.dkr.ecr.eu-west-1.amazonaws.com", auth: { type: "credential_helper", helper: "ecr-login" } },
            { name: "v6", host: "[::1]:5002", auth: { type: "none" } },
            { name: "vendored", host: "third_party/app", type: "oci-layout" },
          ],
        },
      },
      { name: "one-local", defaultHost: "localhost:5000", config: { default_registry: "local", registries: [{ name: "local", host: "localhost:5000" }] } },
      { name: "docker-hub-default", defaultHost: "docker.io", config: { default_registry: "hub", registries: [{ name: "hub", host: "registry-1.docker.io", auth: { type: "docker" } }] } },
      { name: "layout-default", config: { default_registry: "v", registries: [{ name: "v", host: "layouts/app", type: "oci-layout" }, { name: "r", host: "r.example" }] } },
      { name: "no-default", config: { registries: [{ name: "a", host: "a.example", namespaces: ["x"] }, { name: "b", host: "b.example:444", namespaces: ["y"], namespace_prefix: "p/q/" }] } },
    ];
    for (const c of configs) {
      tally.configs++;
      const json = await writeJson(tmp.path("configs", `${c.name}.json`), c.config);
      const toml = tmp.path("configs", `${c.name}.toml`);
      await cli(["config", "wkg", "--registry-config", json, "-o", toml]);
      const r = await wkg(["config", "--config", toml]);
      expect(r.code, `wkg config --config ${c.name}.toml\n${await readFile(toml, "utf8")}\n${r.stderr}`).toBe(0);
      if (c.defaultHost !== undefined) expect(r.stderr).toContain(`Default registry: ${c.defaultHost}`);
      else expect(r.stderr).toMatch(/Default registry is not set/);
      tally.configsAccepted++;
    }
    // The check can fail: a key wkg does not know is refused by the same command.
    await writeFile(tmp.path("configs", "bad.toml"), '[registries]\nx = "y"\n');
    expect((await wkg(["config", "--config", tmp.path("configs", "bad.toml")])).code).not.toBe(0);
  });

  it("wkg get resolves packages through the generated config (default registry, namespace with namespacePrefix) and gets wasm-oci's pushes byte for byte", async () => {
    const json = await writeJson(tmp.path("get", "registries.json"), {
      default_registry: "local",
      registries: [
        { name: "local", host: dist.host },
        { name: "team", host: refReg.host, namespaces: ["acme"], namespace_prefix: "team/" },
      ],
    });
    const toml = tmp.path("get", "config.toml");
    await cli(["config", "wkg", "--registry-config", json, "-o", toml]);
    // package ns:name@version is the repository ns/name (after the prefix) at tag version.
    await cli(["push", compPath, `${dist.host}/example/hello:1.0.0`]);
    await cli(["push", compPath, `${refReg.host}/team/acme/greeter:0.2.0`]);
    const cache = ["--cache", tmp.path("get", "wkg-cache")];
    await wkgOk(["get", "--config", toml, ...cache, "example:hello@1.0.0", "-o", tmp.path("get", "hello.wasm")]);
    sameBytes(await readFile(tmp.path("get", "hello.wasm")), "wkg get example:hello@1.0.0 (default registry)");
    await wkgOk(["get", "--config", toml, ...cache, "acme:greeter@0.2.0", "-o", tmp.path("get", "greeter.wasm")]);
    sameBytes(await readFile(tmp.path("get", "greeter.wasm")), "wkg get acme:greeter@0.2.0 (namespace mapping, prefix team/)");
    // Without a version, wkg lists the repository's tags and takes the highest release.
    await cli(["push", compPath, `${dist.host}/example/hello:1.1.0`]);
    await wkgOk(["get", "--config", toml, ...cache, "example:hello", "-o", tmp.path("get", "latest.wasm")]);
    sameBytes(await readFile(tmp.path("get", "latest.wasm")), "wkg get example:hello (version from the tag list)");
  });

  it("the credential advice in the generated config.toml works: wkg gets from a token-auth registry with the env var it names, and not without", async () => {
    const secured = await startRegistry({ auth: "token", anonymous: "none" });
    try {
      const json = await writeJson(tmp.path("auth", "registries.json"), {
        default_registry: "sec",
        registries: [{ name: "sec", host: secured.host, auth: { type: "env", token_env: "SEC_TOKEN" } }],
      });
      const toml = tmp.path("auth", "config.toml");
      await cli(["config", "wkg", "--registry-config", json, "-o", toml]);
      const text = await readFile(toml, "utf8");
      expect(text).not.toContain(secured.password as string);
      // The comment says: export WKG_REGISTRY_<HOST>_AUTH_BEARER="$SEC_TOKEN".
      const envName = /export (WKG_REGISTRY_\w+_AUTH_BEARER)="\$SEC_TOKEN"/.exec(text)?.[1] as string;
      expect(envName, text).toBeDefined();

      const ts = secured.tokenServer as NonNullable<Registry["tokenServer"]>;
      const basic = `Basic ${Buffer.from(`${secured.username}:${secured.password}`).toString("base64")}`;
      const token = async (scope: string) => {
        const q = new URLSearchParams({ service: ts.service, scope });
        const r = await fetch(`${ts.realm}?${q.toString()}`, { headers: { authorization: basic } });
        return ((await r.json()) as { token: string }).token;
      };
      const pushEnv = { ...env, SEC_TOKEN: await token("repository:sec/app:pull,push") };
      const pushed = await runCli(["push", compPath, `${secured.host}/sec/app:1.0.0`, "--registry-config", json], { env: pushEnv });
      expect(pushed.code, pushed.stderr).toBe(0);

      const get = (extra: Record<string, string>) =>
        runCommand(oracle("wkg"), ["get", "--config", toml, "--cache", tmp.path("auth", `cache-${Object.keys(extra).length}`), "sec:app@1.0.0", "-o", tmp.path("auth", "app.wasm")], {
          env: { ...procEnv(), ...extra },
          timeoutMs: 60_000,
        });
      const anonymous = await get({});
      expect(anonymous.code, anonymous.stderr).not.toBe(0);
      const withToken = await get({ [envName]: await token("repository:sec/app:pull") });
      expect(withToken.code, withToken.stderr).toBe(0);
      sameBytes(await readFile(tmp.path("auth", "app.wasm")), "wkg get with the bearer env var the config comment names");
    } finally {
      await secured.stop();
    }
  });

  for (const kind of ["docker-registry", "referrers-api"] as const) {
    it(`${kind}: wkg oci push then wasm-oci pull, wasm-oci push then wkg oci pull: identical bytes, the same manifest shape and config description`, async () => {
      const host = kind === "docker-registry" ? dist.host : refReg.host;
      const url = kind === "docker-registry" ? dist.url : refReg.url;
      const insecure = ["--insecure", host];

      const pushed = await wkgOk(["oci", "push", ...insecure, `${host}/by-wkg/app:1.0.0`, compPath]);
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1] as string;
      expect(digest).toBeDefined();
      // facts.md section 2: OCI manifest, wasm config, exactly one application/wasm layer titled by the file name.
      const m = await getManifest({ url }, "by-wkg/app", digest);
      expect(m.json).toMatchObject({
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.wasm.config.v0+json" },
        layers: [{ mediaType: "application/wasm", annotations: { "org.opencontainers.image.title": "app.wasm" } }],
      });
      expect((m.json?.["layers"] as unknown[]).length).toBe(1);
      const out = tmp.path(kind, "from-wkg.wasm");
      type PullMeta = { config: { content: Record<string, unknown> } };
      const theirs = JSON.parse((await cli(["pull", `${host}/by-wkg/app:1.0.0`, "-o", out, "--digest", digest, "--json", ...freshCacheArgs(tmp.path(kind, "c1"))])).stdout) as PullMeta;
      sameBytes(await readFile(out), `${kind}: wkg oci push, wasm-oci pull`);

      const pushedOurs = JSON.parse((await cli(["push", compPath, `${host}/by-wasm-oci/app:1.0.0`, "--json"])).stdout) as { manifest: unknown };
      expect(pushedOurs.manifest).toMatchObject({
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.wasm.config.v0+json" },
        layers: [{ mediaType: "application/wasm", annotations: { "org.opencontainers.image.title": "app.wasm" } }],
      });
      await wkgOk(["oci", "pull", ...insecure, `${host}/by-wasm-oci/app:1.0.0`, "-o", tmp.path(kind, "from-wasm-oci.wasm")]);
      sameBytes(await readFile(tmp.path(kind, "from-wasm-oci.wasm")), `${kind}: wasm-oci push, wkg oci pull`);
      // Both describe the component alike in the CNCF config (facts.md section 3): os, architecture,
      // layer digests, and the component's imports and exports as wkg reads them from the binary.
      const ours = JSON.parse((await cli(["pull", `${host}/by-wasm-oci/app:1.0.0`, "-o", tmp.path(kind, "ours.wasm"), "--json", ...freshCacheArgs(tmp.path(kind, "c3"))])).stdout) as PullMeta;
      const described = (c: Record<string, unknown>) => {
        const comp = c["component"] as { exports: string[]; imports: string[] };
        return { architecture: c["architecture"], os: c["os"], layerDigests: c["layerDigests"], exports: [...comp.exports].sort(), imports: [...comp.imports].sort() };
      };
      expect(described(ours.config.content)).toEqual(described(theirs.config.content));
    });
  }
});
