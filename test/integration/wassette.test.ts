/**
 * wassette artifacts and provisioning against real registries:
 *  - `image`/`push --policy-layer` add the policy layer (CNCF type) after the wasm layer;
 *    `pull --policy-output` reads every policy media type wassette accepts, digest-checked and
 *    bounded in size;
 *  - `file://` and `https://` references with their required sha256 pin (https served on
 *    loopback with a self-signed certificate the CLI trusts through NODE_EXTRA_CA_CERTS);
 *  - `fetch -f components.yaml -o DIR`: three components from two registries (one signed and
 *    verified, one with a policy layer), a lock file, no blob request on a second run (the fault
 *    proxies' request logs), and a failing component leaving nothing of itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { bytesId } from "../helpers/bytes.ts";
import { freshCacheArgs, hermeticEnv, runCli } from "../helpers/cli.ts";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { startHttpsServer, type HttpsServer } from "../helpers/https-server.ts";
import { getManifest, pushRawArtifact, sha256 } from "../helpers/oci-http.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { coreModule, interfaceComponent, simpleComponent, writeFixture } from "../helpers/wasm-fixtures.ts";

const POLICY_TYPES = ["application/vnd.wasm.policy.v1+yaml", "application/vnd.wassette.policy+yaml", "application/x-yaml", "text/yaml"];
const POLICY_YAML = `version: "1.0"
description: "weather component"
permissions:
  network:
    allow:
      - host: "api.open-meteo.com"
`;

describe.skipIf(!registryAvailable())("wassette artifacts, URL references and fetch", () => {
  let regA: Registry;
  let regB: Registry;
  let proxyA: FaultProxy;
  let proxyB: FaultProxy;
  let https: HttpsServer;
  let tmp: Tmp;
  let env: Record<string, string | undefined>;
  let comp: Buffer;
  let simple: Buffer;
  let mod: Buffer;
  let compPath: string;
  let policyPath: string;

  const ok = async (args: string[]) => {
    const r = await runCli(args, { env });
    expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(0);
    return r;
  };

  beforeAll(async () => {
    [regA, regB] = await Promise.all([startRegistry(), startRegistry()]);
    [proxyA, proxyB] = await Promise.all([startFaultProxy(regA.host), startFaultProxy(regB.host)]);
    tmp = await makeTmp("wassette");
    https = await startHttpsServer(tmp.dir);
    env = hermeticEnv(tmp.dir, { SOURCE_DATE_EPOCH: "1700000000", NODE_EXTRA_CA_CERTS: https.certPath });
    comp = Buffer.from(await interfaceComponent());
    simple = Buffer.from(await simpleComponent());
    mod = Buffer.from(await coreModule());
    compPath = await writeFixture(tmp.dir, "in/weather.wasm", comp);
    policyPath = await writeFixture(tmp.dir, "in/policy.yaml", Buffer.from(POLICY_YAML));
  });

  afterAll(async () => {
    await Promise.all([proxyA?.stop(), proxyB?.stop(), https?.stop()]);
    await Promise.all([regA?.stop(), regB?.stop()]);
    await tmp?.cleanup();
  });

  it("image --policy-layer puts the policy after the wasm layer; the config lists both digests", async () => {
    const layout = tmp.path("layout-policy");
    const r = await ok(["image", compPath, "-o", layout, "--tag", "v1", "--policy-layer", policyPath, "--json"]);
    const out = JSON.parse(r.stdout) as { digest: string; layer: { digest: string }; policyLayer: { mediaType: string; digest: string } };
    expect(out.policyLayer).toMatchObject({ mediaType: "application/vnd.wasm.policy.v1+yaml", digest: sha256(POLICY_YAML) });
    const manifest = JSON.parse((await readFile(`${layout}/blobs/sha256/${out.digest.slice(7)}`)).toString()) as { config: { digest: string }; layers: Array<{ mediaType: string; digest: string }> };
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(["application/wasm", "application/vnd.wasm.policy.v1+yaml"]);
    const config = JSON.parse((await readFile(`${layout}/blobs/sha256/${manifest.config.digest.slice(7)}`)).toString()) as { layerDigests: string[] };
    expect(config.layerDigests).toEqual([sha256(comp), sha256(POLICY_YAML)]);
    const bad = await writeFixture(tmp.dir, "in/bad.yaml", Buffer.from("permissions:\n  network: [unclosed\n"));
    const b = await runCli(["image", compPath, "-o", tmp.path("layout-bad"), "--policy-layer", bad], { env });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/policy file .*bad\.yaml:\d+:\d+: not valid YAML/);
    expect(existsSync(tmp.path("layout-bad"))).toBe(false);
  });

  it("push --policy-layer, then pull --policy-output writes the policy, digest-checked, and records it", async () => {
    await ok(["push", compPath, `${regA.host}/wassette/weather:v1`, "--policy-layer", policyPath]);
    const m = await getManifest(regA, "wassette/weather", "v1");
    const layers = (m.json as { layers: Array<{ mediaType: string }> }).layers.map((l) => l.mediaType);
    expect(layers).toEqual(["application/wasm", "application/vnd.wasm.policy.v1+yaml"]);
    const out = tmp.path("pulled/weather.wasm");
    const pol = tmp.path("pulled/weather.policy.yaml");
    const r = await ok(["pull", `${regA.host}/wassette/weather:v1`, "-o", out, "--policy-output", pol, "--json", ...freshCacheArgs(tmp.dir)]);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    expect((await readFile(pol)).toString()).toBe(POLICY_YAML);
    expect(JSON.parse(r.stdout)).toMatchObject({ policyLayer: { digest: sha256(POLICY_YAML), mediaType: "application/vnd.wasm.policy.v1+yaml", output: pol } });
  });

  it("pull --policy-output accepts every policy media type wassette reads", async () => {
    for (const [i, type] of POLICY_TYPES.entries()) {
      const policy = Buffer.from(`# ${type}\n${POLICY_YAML}`);
      await pushRawArtifact(regB, "wassette/types", `t${i}`, comp, { extraLayers: [{ mediaType: type, bytes: policy }] });
      const pol = tmp.path(`pulled/types-${i}.yaml`);
      const r = await ok(["pull", `${regB.host}/wassette/types:t${i}`, "-o", tmp.path(`pulled/types-${i}.wasm`), "--policy-output", pol, "--json", ...freshCacheArgs(tmp.dir)]);
      expect(bytesId(await readFile(pol))).toBe(bytesId(policy));
      expect(JSON.parse(r.stdout)).toMatchObject({ policyLayer: { mediaType: type } });
    }
  });

  it("pull --policy-output refuses: no policy layer, a corrupted one, one larger than 1 MiB; nothing is written", async () => {
    await ok(["push", compPath, `${regB.host}/wassette/plain:v1`]);
    const out = tmp.path("refused/a.wasm");
    const pol = tmp.path("refused/a.yaml");
    const none = await runCli(["pull", `${regB.host}/wassette/plain:v1`, "-o", out, "--policy-output", pol], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/has no policy layer/);
    expect(existsSync(out) || existsSync(pol)).toBe(false);
    const optional = await runCli(["pull", `${regB.host}/wassette/plain:v1`, "-o", out, "--policy-output", pol, "--policy-layer-optional", "--json"], { env });
    expect(optional.code, optional.stderr).toBe(0);
    expect(existsSync(out) && !existsSync(pol)).toBe(true);
    expect(JSON.parse(optional.stdout)).not.toHaveProperty("policyLayer");
    await rm(out);

    await ok(["push", compPath, `${regA.host}/wassette/corrupt:v1`, "--policy-layer", policyPath]);
    proxyA.setRules([{ method: "GET", path: new RegExp(`/blobs/${sha256(POLICY_YAML)}`), nth: "all", action: { kind: "corrupt" } }]);
    try {
      const bad = await runCli(["pull", `${proxyA.host}/wassette/corrupt:v1`, "-o", out, "--policy-output", pol, ...freshCacheArgs(tmp.dir)], { env });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/digest/i);
    } finally {
      proxyA.clear();
    }

    const big = Buffer.alloc(1024 * 1024 + 1, 0x23);
    await pushRawArtifact(regB, "wassette/big", "v1", comp, { extraLayers: [{ mediaType: POLICY_TYPES[0] as string, bytes: big }] });
    const large = await runCli(["pull", `${regB.host}/wassette/big:v1`, "-o", out, "--policy-output", pol, ...freshCacheArgs(tmp.dir)], { env });
    expect(large.code).toBe(1);
    expect(large.stderr).toMatch(/1048577 bytes; at most 1048576/);
    expect(existsSync(out) || existsSync(pol)).toBe(false);
  });

  it("file:// and https:// references need a sha256 pin, verify it, and refuse plain http", async () => {
    const fileUrl = pathToFileURL(compPath).href;
    const out = tmp.path("url/file.wasm");
    const r = await ok(["pull", `${fileUrl}@${sha256(comp)}`, "-o", out, "--json"]);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    expect(JSON.parse(r.stdout)).toMatchObject({ source: "file", digest: sha256(comp), size: comp.length });

    const noPin = await runCli(["pull", fileUrl, "-o", tmp.path("url/nopin.wasm")], { env });
    expect(noPin.code).toBe(2);
    expect(noPin.stderr).toMatch(/needs the sha256 digest of the component/);
    const wrong = await runCli(["pull", fileUrl, "--digest", sha256(simple), "-o", tmp.path("url/wrong.wasm")], { env });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/digest/i);
    expect(existsSync(tmp.path("url/wrong.wasm"))).toBe(false);

    https.put("/c/simple.wasm", simple);
    const hout = tmp.path("url/https.wasm");
    const h = await ok(["pull", `${https.url("/c/simple.wasm")}@${sha256(simple)}`, "-o", hout, "--json"]);
    expect(bytesId(await readFile(hout))).toBe(bytesId(simple));
    expect(JSON.parse(h.stdout)).toMatchObject({ source: "https", digest: sha256(simple) });
    const untrusted = await runCli(["pull", `${https.url("/c/simple.wasm")}@${sha256(simple)}`, "-o", tmp.path("url/untrusted.wasm")], { env: { ...env, NODE_EXTRA_CA_CERTS: undefined } });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/certificate/i);
    const plain = await runCli(["pull", `http://127.0.0.1:1/x.wasm@${sha256(simple)}`, "-o", tmp.path("url/plain.wasm")], { env });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/plain http:\/\/ is not accepted/);
    https.redirect("/c/downgrade.wasm", "http://127.0.0.1:1/x.wasm");
    const down = await runCli(["pull", `${https.url("/c/downgrade.wasm")}@${sha256(simple)}`, "-o", tmp.path("url/down.wasm")], { env });
    expect(down.code).toBe(1);
    expect(existsSync(tmp.path("url/down.wasm"))).toBe(false);
  });

  describe("fetch -f components.yaml", () => {
    let signedDigest: string;
    let manifestPath: string;
    const dir = () => tmp.path("provisioned");

    beforeAll(async () => {
      // weather: registry A with a policy layer; calc: registry B, signed (embedded); mod: registry B, a core module.
      await ok(["push", compPath, `${regA.host}/wassette/weather:v2`, "--policy-layer", policyPath]);
      await ok(["keygen", "-k", tmp.path("keys/sk"), "-K", tmp.path("keys/pk")]);
      await ok(["keygen", "-k", tmp.path("keys/other-sk"), "-K", tmp.path("keys/other-pk")]);
      const simplePath = await writeFixture(tmp.dir, "in/calc.wasm", simple);
      await ok(["sign", "-i", simplePath, "-o", tmp.path("in/calc-signed.wasm"), "-k", tmp.path("keys/sk"), "-K", tmp.path("keys/pk")]);
      signedDigest = sha256(await readFile(tmp.path("in/calc-signed.wasm")));
      await ok(["push", tmp.path("in/calc-signed.wasm"), `${regB.host}/tools/calc:1.0`]);
      await ok(["push", await writeFixture(tmp.dir, "in/mod.wasm", mod), `${regB.host}/tools/mod:1.0`]);
      manifestPath = await writeFixture(
        tmp.dir,
        "components.yaml",
        Buffer.from(`version: 1
components:
  - uri: oci://${proxyA.host}/wassette/weather:v2
    name: weather
    digest: ${sha256(comp)}
    permissions:
      network:
        allow:
          - host: api.open-meteo.com
      environment:
        allow:
          - key: API_KEY
  - uri: oci://${proxyB.host}/tools/calc:1.0
    name: calc
    signature:
      public_key: keys/pk
    permissions: {}
  - uri: oci://${proxyB.host}/tools/mod:1.0
    permissions:
      storage:
        allow:
          - uri: fs:///tmp/work
            access: [read, write]
`),
      );
    });

    it("provisions three components from two registries, verifies the signed one, writes files and a lock", async () => {
      proxyA.clear();
      proxyB.clear();
      const r = await ok(["fetch", "-f", manifestPath, "-o", dir(), "--json", ...freshCacheArgs(tmp.dir)]);
      const out = JSON.parse(r.stdout) as { lock: string; components: Array<{ name: string; status: string; digest: string; policyLayer: boolean; signatureVerified: boolean }> };
      expect(out.components.map((c) => [c.name, c.status, c.policyLayer, c.signatureVerified])).toEqual([
        ["weather", "fetched", true, false],
        ["calc", "fetched", false, true],
        ["mod", "fetched", false, false],
      ]);
      expect((await readdir(dir())).sort()).toEqual([
        "calc.metadata.json",
        "calc.wasm",
        "mod.metadata.json",
        "mod.wasm",
        "wasm-oci.lock.json",
        "weather.metadata.json",
        "weather.policy.yaml",
        "weather.wasm",
      ]);
      expect(bytesId(await readFile(tmp.path("provisioned/weather.wasm")))).toBe(bytesId(comp));
      expect((await readFile(tmp.path("provisioned/weather.policy.yaml"))).toString()).toBe(POLICY_YAML);
      expect(sha256(await readFile(tmp.path("provisioned/calc.wasm")))).toBe(signedDigest);
      expect(bytesId(await readFile(tmp.path("provisioned/mod.wasm")))).toBe(bytesId(mod));
      const meta = JSON.parse((await readFile(tmp.path("provisioned/weather.metadata.json"))).toString()) as Record<string, unknown>;
      expect(meta).toMatchObject({ name: "weather", digest: sha256(comp), policy: { file: "weather.policy.yaml", digest: sha256(POLICY_YAML) } });
      expect(meta["permissions"]).toEqual({ network: { allow: [{ host: "api.open-meteo.com" }] }, environment: { allow: [{ key: "API_KEY" }] } });
      const calcMeta = JSON.parse((await readFile(tmp.path("provisioned/calc.metadata.json"))).toString()) as Record<string, unknown>;
      expect(calcMeta).toMatchObject({ signature: { type: "embedded" }, permissions: {} });
      const modMeta = JSON.parse((await readFile(tmp.path("provisioned/mod.metadata.json"))).toString()) as Record<string, unknown>;
      expect(modMeta["permissions"]).toEqual({ storage: { allow: [{ uri: "fs:///tmp/work", access: ["read", "write"] }] } });
      const lock = JSON.parse((await readFile(out.lock)).toString()) as { components: Array<{ name: string; digest: string; manifestDigest: string; resolved: string }> };
      expect(lock.components.map((c) => c.name)).toEqual(["calc", "mod", "weather"]);
      const weatherLock = lock.components.find((c) => c.name === "weather");
      expect(weatherLock?.manifestDigest).toBe((await getManifest(regA, "wassette/weather", "v2")).digest);
      expect(weatherLock?.resolved).toBe(`${proxyA.host}/wassette/weather@${weatherLock?.manifestDigest}`);
      // Both registries served blobs, in parallel fetches.
      expect(proxyA.matching("GET", /\/blobs\//).length).toBeGreaterThan(0);
      expect(proxyB.matching("GET", /\/blobs\//).length).toBeGreaterThan(0);
    });

    it("a second run with nothing changed requests no blob (fault proxy logs), even with an empty cache", async () => {
      proxyA.clear();
      proxyB.clear();
      const r = await ok(["fetch", "-f", manifestPath, "-o", dir(), "--json", ...freshCacheArgs(tmp.dir)]);
      const out = JSON.parse(r.stdout) as { components: Array<{ status: string }> };
      expect(out.components.map((c) => c.status)).toEqual(["unchanged", "unchanged", "unchanged"]);
      expect([...proxyA.requests, ...proxyB.requests].filter((q) => /\/blobs\//.test(q.path))).toEqual([]);
      // Tags are re-resolved (they may move): manifest requests only.
      expect(proxyA.matching("GET", /\/manifests\/v2$/).length).toBe(1);
    });

    it("a component whose check fails leaves nothing of itself and the command names it; the others stay", async () => {
      const failing = await writeFixture(
        tmp.dir,
        "components-bad.yaml",
        Buffer.from(`version: 1
components:
  - uri: oci://${proxyA.host}/wassette/weather:v2
    name: weather
    digest: ${sha256(comp)}
    permissions: {}
  - uri: oci://${proxyB.host}/tools/calc:1.0
    name: calc
    signature:
      public_key: keys/other-pk
    permissions: {}
  - uri: oci://${proxyB.host}/tools/mod:1.0
    name: mod
    digest: ${sha256(simple)}
    permissions: {}
`),
      );
      const r = await runCli(["fetch", "-f", failing, "-o", dir(), ...freshCacheArgs(tmp.dir)], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/2 of 3 components failed/);
      expect(r.stderr).toMatch(/calc \(oci:\/\/.*\): the embedded signature does not verify/);
      expect(r.stderr).toMatch(/mod \(oci:\/\/.*\).*digest/);
      expect((await readdir(dir())).sort()).toEqual(["wasm-oci.lock.json", "weather.metadata.json", "weather.policy.yaml", "weather.wasm"]);
      const lock = JSON.parse((await readFile(tmp.path("provisioned/wasm-oci.lock.json"))).toString()) as { components: Array<{ name: string }> };
      expect(lock.components.map((c) => c.name)).toEqual(["weather"]);
    });

    it("file:// and https:// entries with their digests; a bad manifest names its line", async () => {
      https.put("/c/remote.wasm", simple);
      const m = await writeFixture(
        tmp.dir,
        "components-urls.yaml",
        Buffer.from(`components:
  - uri: ${pathToFileURL(compPath).href}
    digest: ${sha256(comp)}
    permissions: {}
  - uri: ${https.url("/c/remote.wasm")}
    digest: ${sha256(simple)}
    signature: { public_key: keys/pk }
`),
      );
      const r = await runCli(["fetch", "-f", m, "-o", tmp.path("urls"), "--json"], { env });
      // remote.wasm is unsigned: the manifest asked for a signature, so it fails; weather.wasm is fetched.
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/remote \(https:\/\/127\.0\.0\.1:\d+\/c\/remote\.wasm\)/);
      expect((await readdir(tmp.path("urls"))).sort()).toEqual(["wasm-oci.lock.json", "weather.metadata.json", "weather.wasm"]);
      https.put("/c/remote.wasm", await readFile(tmp.path("in/calc-signed.wasm")));
      await writeFile(m, (await readFile(m, "utf8")).replace(sha256(simple), signedDigest));
      await ok(["fetch", "-f", m, "-o", tmp.path("urls")]);
      expect(sha256(await readFile(tmp.path("urls/remote.wasm")))).toBe(signedDigest);

      const bad = await writeFixture(tmp.dir, "components-typo.yaml", Buffer.from(`components:\n  - uri: oci://${regA.host}/a:1\n    permisions: {}\n`));
      const b = await runCli(["fetch", "-f", bad, "-o", tmp.path("typo")], { env });
      expect(b.code).toBe(2);
      expect(b.stderr).toMatch(/components-typo\.yaml:2:\d+: components\.0: Unrecognized key: "permisions"/);
      expect(existsSync(tmp.path("typo"))).toBe(false);
    });
  });
});
