/**
 * Detached signatures travel with OCI images, against the real registry (distribution 2.8, no
 * referrers API) and skopeo as a second client:
 *  - `image -S SIG` writes a signature artifact (artifactType application/vnd.wasm.signature.v1+wasmsig,
 *    empty config, subject = the image) beside the image, reproducibly;
 *  - `push oci-layout:DIR:tag` sends it and maintains the OCI 1.1 tag fallback index at
 *    `sha256-<hex>` (what skopeo shows); `push IN.wasm REF -S SIG` does the same;
 *  - `pull --signature-output` writes the exact signature bytes, which `verify` accepts;
 *  - `pull --policy` with a detached, required policy uses it without -S; an image without one is
 *    denied; a tampered signature blob is a digest error.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { runCli, hermeticEnv, freshCacheArgs } from "../helpers/cli.ts";
import { makeTmp, writeJson, type Tmp } from "../helpers/tmp.ts";
import { runCommand } from "../helpers/processes.ts";
import { interfaceComponent, writeFixture } from "../helpers/wasm-fixtures.ts";
import { getManifest, sha256 } from "../helpers/oci-http.ts";

const haveSkopeo = existsSync("/usr/bin/skopeo");
const SIG_TYPE = "application/vnd.wasm.signature.v1+wasmsig";

interface Index {
  mediaType?: string;
  manifests: Array<{ mediaType: string; digest: string; size: number; artifactType?: string; annotations?: Record<string, string> }>;
}

describe.skipIf(!registryAvailable() || !haveSkopeo)("detached signatures with OCI images", () => {
  let reg: Registry;
  let tmp: Tmp;
  let env: Record<string, string | undefined>;
  let compPath: string;
  let sigPath: string;
  let pkPath: string;
  let policyPath: string;

  const cli = async (args: string[]) => runCli(args, { env });
  const ok = async (args: string[]) => {
    const r = await cli(args);
    expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(0);
    return r;
  };
  const skopeoRaw = async (ref: string) =>
    runCommand("skopeo", ["--insecure-policy", "inspect", "--raw", "--tls-verify=false", `docker://${ref}`], { env: { ...process.env, ...(env as NodeJS.ProcessEnv) }, timeoutMs: 60_000 });

  beforeAll(async () => {
    reg = await startRegistry();
    tmp = await makeTmp("oci-detached");
    env = hermeticEnv(tmp.dir, { SOURCE_DATE_EPOCH: "1700000000" });
    compPath = await writeFixture(tmp.dir, "in/app.wasm", Buffer.from(await interfaceComponent()));
    pkPath = tmp.path("keys/pk");
    await ok(["keygen", "-k", tmp.path("keys/sk"), "-K", pkPath]);
    sigPath = tmp.path("in/app.sig");
    await ok(["sign", "-i", compPath, "-o", tmp.path("in/unchanged.wasm"), "-k", tmp.path("keys/sk"), "-K", pkPath, "-S", sigPath]);
    policyPath = await writeJson(tmp.path("policy/detached.json"), {
      default_signing_required: true,
      signature_type: "detached",
      keys: { release: { public_key: pkPath } },
    });
  }, 60_000);

  afterAll(async () => {
    await reg?.stop();
    await tmp?.cleanup();
  });

  it("image -S writes a reproducible signature artifact whose subject is the image", async () => {
    const a = JSON.parse((await ok(["image", compPath, "-o", tmp.path("lay-a"), "-t", "v1", "-S", sigPath, "--json"])).stdout) as {
      digest: string;
      signature: { digest: string; artifactType: string; layer: { digest: string; size: number } };
    };
    await ok(["image", compPath, "-o", tmp.path("lay-b"), "-t", "v1", "-S", sigPath]);
    expect(await readFile(tmp.path("lay-b/index.json"), "utf8")).toBe(await readFile(tmp.path("lay-a/index.json"), "utf8"));

    const index = JSON.parse(await readFile(tmp.path("lay-a/index.json"), "utf8")) as Index;
    expect(index.manifests.map((m) => m.digest)).toEqual([a.digest, a.signature.digest]);
    const sigEntry = index.manifests[1];
    expect(sigEntry?.artifactType).toBe(SIG_TYPE);
    expect(sigEntry?.annotations?.["org.opencontainers.image.ref.name"]).toBeUndefined();
    expect(sigEntry?.annotations?.["com.wasmsign2.signature.subject"]).toBe(a.digest);

    const sigManifestBytes = await readFile(tmp.path("lay-a/blobs/sha256", a.signature.digest.slice(7)));
    expect(sha256(sigManifestBytes)).toBe(a.signature.digest);
    const m = JSON.parse(sigManifestBytes.toString("utf8")) as {
      artifactType: string;
      config: { mediaType: string; digest: string; size: number };
      layers: Array<{ mediaType: string; digest: string; size: number }>;
      subject: { digest: string; mediaType: string };
    };
    expect(m.artifactType).toBe(SIG_TYPE);
    expect(m.config).toEqual({ mediaType: "application/vnd.oci.empty.v1+json", digest: sha256("{}"), size: 2 });
    expect(await readFile(tmp.path("lay-a/blobs/sha256", m.config.digest.slice(7)), "utf8")).toBe("{}");
    expect(m.layers).toEqual([{ mediaType: SIG_TYPE, digest: sha256(await readFile(sigPath)), size: (await readFile(sigPath)).length }]);
    expect(m.subject).toMatchObject({ digest: a.digest, mediaType: "application/vnd.oci.image.manifest.v1+json" });

    // The layout's default entry is still the image, not its signature.
    const out = tmp.path("out/from-layout.wasm");
    await ok(["pull", `oci-layout:${tmp.path("lay-a")}`, "-o", out]);
    expect(await readFile(out)).toEqual(await readFile(compPath));
  });

  it("image -S refuses a file that is not signature data", async () => {
    const r = await cli(["image", compPath, "-o", tmp.path("lay-bad"), "-S", compPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is not wasmsign2 signature data");
    expect(existsSync(tmp.path("lay-bad"))).toBe(false);
  });

  it("push from the layout maintains the sha256-<hex> referrers tag; pull --signature-output gives the exact bytes, which verify", async () => {
    await ok(["image", compPath, "-o", tmp.path("lay-push"), "-t", "v1", "-S", sigPath]);
    const pushed = JSON.parse((await ok(["push", `oci-layout:${tmp.path("lay-push")}:v1`, `${reg.host}/sig/app:v1`, "--json"])).stdout) as {
      digest: string;
      referrers: Array<{ digest: string; via: string; tag: string; subject: string }>;
    };
    expect(pushed.referrers).toHaveLength(1);
    expect(pushed.referrers[0]).toMatchObject({ via: "tag-fallback", subject: pushed.digest, tag: pushed.digest.replace(":", "-") });

    // The registry really has no referrers API here: the tag is what a client finds.
    const api = await fetch(`${reg.url}/v2/sig/app/referrers/${pushed.digest}`);
    expect(api.status).toBe(404);
    const tag = pushed.digest.replace(":", "-");
    const raw = await skopeoRaw(`${reg.host}/sig/app:${tag}`);
    expect(raw.code, raw.stderr).toBe(0);
    const index = JSON.parse(raw.stdout) as Index;
    expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]).toMatchObject({ digest: pushed.referrers[0]?.digest, artifactType: SIG_TYPE, mediaType: "application/vnd.oci.image.manifest.v1+json" });

    // Pushing again does not duplicate the entry.
    await ok(["push", `oci-layout:${tmp.path("lay-push")}:v1`, `${reg.host}/sig/app:v1`]);
    expect((JSON.parse((await skopeoRaw(`${reg.host}/sig/app:${tag}`)).stdout) as Index).manifests).toHaveLength(1);

    const out = tmp.path("out/pulled.wasm");
    const sigOut = tmp.path("out/pulled.sig");
    const pulled = JSON.parse((await ok(["pull", `${reg.host}/sig/app:v1`, "-o", out, "--signature-output", sigOut, "--json", ...freshCacheArgs(tmp.dir)])).stdout) as {
      signature: { manifestDigest: string; via: string };
    };
    expect(pulled.signature).toMatchObject({ manifestDigest: pushed.referrers[0]?.digest, via: "tag-fallback" });
    expect(await readFile(sigOut)).toEqual(await readFile(sigPath));
    await ok(["verify", "-i", out, "-S", sigOut, "-K", pkPath]);

    const allowed = tmp.path("out/policy-allowed.wasm");
    const p = await ok(["pull", `${reg.host}/sig/app:v1`, "-o", allowed, "--policy", policyPath, ...freshCacheArgs(tmp.dir)]);
    expect(p.stderr).toContain('allow component "app"');
    expect(await readFile(allowed)).toEqual(await readFile(compPath));
  });

  it("push IN.wasm REF -S SIG publishes the signature too; a second signature is added to the same index", async () => {
    const first = JSON.parse((await ok(["push", compPath, `${reg.host}/sig/direct:v1`, "-S", sigPath, "--json"])).stdout) as {
      digest: string;
      referrers: Array<{ digest: string }>;
    };
    await ok(["keygen", "-k", tmp.path("keys/sk2"), "-K", tmp.path("keys/pk2")]);
    const sig2 = tmp.path("in/app2.sig");
    await ok(["sign", "-i", compPath, "-o", tmp.path("in/unchanged2.wasm"), "-k", tmp.path("keys/sk2"), "-S", sig2]);
    const second = JSON.parse((await ok(["push", compPath, `${reg.host}/sig/direct:v1`, "-S", sig2, "--json"])).stdout) as {
      digest: string;
      referrers: Array<{ digest: string }>;
    };
    expect(second.digest).toBe(first.digest);
    const index = (await getManifest(reg, "sig/direct", first.digest.replace(":", "-"))).json as unknown as Index;
    expect(index.manifests.map((m) => m.digest)).toEqual([first.referrers[0]?.digest, second.referrers[0]?.digest]);
  });

  it("push --policy (detached) of a layout decides on the signature the layout carries, and publishes it once", async () => {
    await ok(["image", compPath, "-o", tmp.path("lay-policy"), "-t", "v1", "-S", sigPath]);
    const r = JSON.parse((await ok(["push", `oci-layout:${tmp.path("lay-policy")}:v1`, `${reg.host}/sig/gated:v1`, "--policy", policyPath, "--json"])).stdout) as {
      digest: string;
      referrers: Array<{ digest: string }>;
      policy: { decision: { allow: boolean; verifiedKey?: string } };
    };
    expect(r.policy.decision).toMatchObject({ allow: true, verifiedKey: "release" });
    expect(r.referrers).toHaveLength(1);
    const index = (await getManifest(reg, "sig/gated", r.digest.replace(":", "-"))).json as unknown as Index;
    expect(index.manifests.map((m) => m.digest)).toEqual([r.referrers[0]?.digest]);

    await ok(["image", compPath, "-o", tmp.path("lay-nosig"), "-t", "v1"]);
    const denied = await cli(["push", `oci-layout:${tmp.path("lay-nosig")}:v1`, `${reg.host}/sig/gated-unsigned:v1`, "--policy", policyPath]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("POLICY_DENIED");
    expect((await getManifest(reg, "sig/gated-unsigned", "v1")).status).toBe(404);
  });

  it("push -S --dry-run lists the referrer and sends nothing; push -S into an oci-layout: adds the artifact to its index.json", async () => {
    const dry = await ok(["push", compPath, `${reg.host}/sig/dry:v1`, "-S", sigPath, "--dry-run"]);
    expect(dry.stdout).toMatch(new RegExp(`^referrer ${SIG_TYPE.replace(/[.+]/g, "\\$&")} sha256:[0-9a-f]{64} \\d+ \\(subject sha256:[0-9a-f]{64}\\)$`, "m"));
    expect((await getManifest(reg, "sig/dry", "v1")).status).toBe(404);
    // The same signature given again with a layout that carries it: one artifact, not two.
    await ok(["image", compPath, "-o", tmp.path("lay-dup"), "-t", "v1", "-S", sigPath]);
    // (without SOURCE_DATE_EPOCH the -S artifact's created differs from the layout's, so only its
    // signature bytes tell them apart)
    const dup = await runCli(["push", `oci-layout:${tmp.path("lay-dup")}:v1`, `${reg.host}/sig/dry:v1`, "-S", sigPath, "--dry-run"], { env: { ...env, SOURCE_DATE_EPOCH: undefined } });
    expect(dup.code, dup.stderr).toBe(0);
    expect(dup.stdout.split("\n").filter((l) => l.startsWith("referrer "))).toHaveLength(1);

    const dir = tmp.path("dest-layout");
    const pushed = JSON.parse((await ok(["push", compPath, `oci-layout:${dir}:v1`, "-S", sigPath, "--json"])).stdout) as { digest: string; referrers: Array<{ digest: string; via: string }> };
    expect(pushed.referrers).toEqual([expect.objectContaining({ via: "oci-layout" })]);
    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as Index;
    expect(index.manifests.find((m) => m.artifactType === SIG_TYPE)?.annotations?.["com.wasmsign2.signature.subject"]).toBe(pushed.digest);
    const sigOut = tmp.path("out/dest-layout.sig");
    await ok(["pull", `oci-layout:${dir}:v1`, "-o", tmp.path("out/dest-layout.wasm"), "--signature-output", sigOut]);
    expect(await readFile(sigOut)).toEqual(await readFile(sigPath));
  });

  it("a tampered signature blob in the registry is a digest error and nothing is written", async () => {
    await ok(["keygen", "-k", tmp.path("keys/sk3"), "-K", tmp.path("keys/pk3")]);
    const sig3 = tmp.path("in/app3.sig");
    await ok(["sign", "-i", compPath, "-o", tmp.path("in/unchanged3.wasm"), "-k", tmp.path("keys/sk3"), "-S", sig3]);
    const sigBytes = await readFile(sig3);
    await ok(["push", compPath, `${reg.host}/sig/tampered:v1`, "-S", sig3]);
    const hex = sha256(sigBytes).slice(7);
    const stored = join(reg.dataDir, "storage", "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
    const bad = Buffer.from(sigBytes);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    await writeFile(stored, bad);

    const out = tmp.path("out/tampered.wasm");
    const sigOut = tmp.path("out/tampered.sig");
    const r = await cli(["pull", `${reg.host}/sig/tampered:v1`, "-o", out, "--signature-output", sigOut, ...freshCacheArgs(tmp.dir)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/digest/i);
    expect(r.stderr).toContain(sha256(sigBytes));
    expect(existsSync(out)).toBe(false);
    expect(existsSync(sigOut)).toBe(false);
  });

  it("an image without a signature pulled under a detached, required policy is denied", async () => {
    await ok(["push", compPath, `${reg.host}/sig/unsigned:v1`]);
    const out = tmp.path("out/unsigned.wasm");
    const r = await cli(["pull", `${reg.host}/sig/unsigned:v1`, "-o", out, "--policy", policyPath, ...freshCacheArgs(tmp.dir)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("POLICY_DENIED");
    expect(r.stderr).toContain("no detached signature artifact refers to the image");
    expect(existsSync(out)).toBe(false);

    const s = await cli(["pull", `${reg.host}/sig/unsigned:v1`, "-o", out, "--signature-output", tmp.path("out/unsigned.sig"), ...freshCacheArgs(tmp.dir)]);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain("NO_SIGNATURE");
    expect(existsSync(out)).toBe(false);
  });

  it("under the policy, any referring signature by an allowed key decides; only other keys' signatures are denied", async () => {
    // sig/direct: signed by the allowed key, then by keys/sk2 (listed last, not in the policy).
    const out = tmp.path("out/two-sigs.wasm");
    const both = await cli(["pull", `${reg.host}/sig/direct:v1`, "-o", out, "--policy", policyPath, ...freshCacheArgs(tmp.dir)]);
    expect(both.code, both.stderr).toBe(0);
    expect(both.stderr).toContain('verified by key "release"');

    await ok(["push", compPath, `${reg.host}/sig/wrongkey:v1`, "-S", tmp.path("in/app2.sig")]);
    const wrong = tmp.path("out/wrong-key.wasm");
    const r = await cli(["pull", `${reg.host}/sig/wrongkey:v1`, "-o", wrong, "--policy", policyPath, ...freshCacheArgs(tmp.dir)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("POLICY_DENIED");
    expect(r.stderr).toContain("checked the detached signature artifacts that refer to the image");
    expect(existsSync(wrong)).toBe(false);
  });
});
