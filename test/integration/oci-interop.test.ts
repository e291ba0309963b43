/**
 * Interop with a second, independent client: skopeo 1.9 (Debian) against the same real registry.
 *  - what wasm-oci pushes, skopeo reads (`inspect --raw`) and copies to an `oci:` layout, which
 *    wasm-oci then pulls as `oci-layout:DIR:tag`;
 *  - a layout written by `wasm-oci image`, skopeo copies to the registry, wasm-oci pulls it;
 *  - a layout written by hand with another tool's media types, skopeo copies to the registry,
 *    wasm-oci pulls it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesId } from "../helpers/bytes.ts";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { runCli, hermeticEnv, freshCacheArgs } from "../helpers/cli.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { runCommand } from "../helpers/processes.ts";
import { interfaceComponent, coreModule, writeFixture } from "../helpers/wasm-fixtures.ts";
import { getManifest, firstDigest, sha256 } from "../helpers/oci-http.ts";
import { layoutDigestForTag, writeRawLayout } from "../helpers/oci-layout.ts";

const haveSkopeo = existsSync("/usr/bin/skopeo");

describe.skipIf(!registryAvailable() || !haveSkopeo)("oci interop with skopeo", () => {
  let reg: Registry;
  let tmp: Tmp;
  let env: Record<string, string | undefined>;
  let comp: Buffer;
  let compPath: string;

  const skopeo = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    runCommand("skopeo", ["--insecure-policy", ...args], { env: { ...process.env, ...(env as NodeJS.ProcessEnv) }, timeoutMs: 60_000 });

  beforeAll(async () => {
    reg = await startRegistry();
    tmp = await makeTmp("oci-interop");
    env = hermeticEnv(tmp.dir, { SOURCE_DATE_EPOCH: "1700000000" });
    comp = Buffer.from(await interfaceComponent());
    compPath = await writeFixture(tmp.dir, "in/app.wasm", comp);
  });

  afterAll(async () => {
    await reg?.stop();
    await tmp?.cleanup();
  });

  it("skopeo reads what wasm-oci pushes, copies it to an oci: layout, and wasm-oci pulls that layout", async () => {
    const p = await runCli(["push", compPath, `${reg.host}/interop/app:v1`], { env });
    expect(p.code, p.stderr).toBe(0);
    const digest = firstDigest(p.stdout) as string;

    const inspect = await skopeo("inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/interop/app:v1`);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(sha256(inspect.stdout)).toBe(digest); // --raw prints the manifest bytes unchanged
    const manifest = JSON.parse(inspect.stdout) as { config: { mediaType: string }; layers: Array<{ mediaType: string; digest: string }> };
    expect(manifest.config.mediaType).toBe("application/vnd.wasm.config.v0+json");
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(["application/wasm"]);
    expect(manifest.layers[0]?.digest).toBe(sha256(comp));

    const layout = tmp.path("skopeo-layout");
    const copy = await skopeo("copy", "--src-tls-verify=false", `docker://${reg.host}/interop/app:v1`, `oci:${layout}:v1`);
    expect(copy.code, copy.stderr).toBe(0);
    expect(await layoutDigestForTag(layout, "v1")).toBe(digest);

    const out = tmp.path("out/from-skopeo-layout.wasm");
    const r = await runCli(["pull", `oci-layout:${layout}:v1`, "-o", out, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    const out2 = tmp.path("out/from-skopeo-layout-digest.wasm");
    const r2 = await runCli(["pull", `oci-layout:${layout}@${digest}`, "-o", out2, ...freshCacheArgs(tmp.dir)], { env });
    expect(r2.code, r2.stderr).toBe(0);
    expect(bytesId(await readFile(out2))).toBe(bytesId(comp));
  });

  it("a layout written by wasm-oci image: skopeo copies it to the registry, wasm-oci pulls it, digests kept", async () => {
    const layout = tmp.path("our-layout");
    const img = await runCli(["image", compPath, "-o", layout, "--tag", "v2"], { env });
    expect(img.code, img.stderr).toBe(0);
    const layoutDigest = await layoutDigestForTag(layout, "v2");
    expect(layoutDigest).toMatch(/^sha256:/);

    const copy = await skopeo("copy", "--dest-tls-verify=false", `oci:${layout}:v2`, `docker://${reg.host}/interop/fromimage:v2`);
    expect(copy.code, copy.stderr).toBe(0);
    expect((await getManifest(reg, "interop/fromimage", "v2")).digest).toBe(layoutDigest);

    const out = tmp.path("out/from-our-layout.wasm");
    const r = await runCli(["pull", `${reg.host}/interop/fromimage@${layoutDigest as string}`, "-o", out, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
  });

  it("image --tar writes an OCI archive that skopeo reads (oci-archive:), digests kept", async () => {
    const tar = tmp.path("archive/app.tar");
    const img = await runCli(["image", compPath, "-o", tmp.path("archive/layout"), "--tag", "v3", "--tar", tar], { env });
    expect(img.code, img.stderr).toBe(0);
    const layoutDigest = await layoutDigestForTag(tmp.path("archive/layout"), "v3");
    const copy = await skopeo("copy", "--dest-tls-verify=false", `oci-archive:${tar}:v3`, `docker://${reg.host}/interop/fromtar:v3`);
    expect(copy.code, copy.stderr).toBe(0);
    expect((await getManifest(reg, "interop/fromtar", "v3")).digest).toBe(layoutDigest);
    const out = tmp.path("out/from-tar.wasm");
    const r = await runCli(["pull", `${reg.host}/interop/fromtar:v3`, "-o", out, "--digest", layoutDigest as string, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
  });

  it("a layout written by another tool (wasm-to-oci media types): skopeo copies it in, wasm-oci pulls it", async () => {
    const core = Buffer.from(await coreModule());
    const layout = tmp.path("foreign-layout");
    const { manifestDigest } = await writeRawLayout(layout, "w1", core, {
      layerMediaType: "application/vnd.wasm.content.layer.v1+wasm",
      configMediaType: "application/vnd.wasm.config.v1+json",
      config: {},
    });
    const copy = await skopeo("copy", "--dest-tls-verify=false", `oci:${layout}:w1`, `docker://${reg.host}/interop/foreign:w1`);
    expect(copy.code, copy.stderr).toBe(0);
    const out = tmp.path("out/foreign.wasm");
    const r = await runCli(["pull", `${reg.host}/interop/foreign:w1`, "-o", out, "--digest", manifestDigest, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(core));
  });

  it("wasm-oci pushes a layout that skopeo wrote", async () => {
    // skopeo wrote skopeo-layout in the first test; push it to a new repository with our CLI.
    const layout = tmp.path("skopeo-layout");
    const digest = await layoutDigestForTag(layout, "v1");
    expect(digest).toBeDefined();
    const p = await runCli(["push", `oci-layout:${layout}:v1`, `${reg.host}/interop/relayed:v1`], { env });
    expect(p.code, p.stderr).toBe(0);
    expect(firstDigest(p.stdout)).toBe(digest);
    const inspect = await skopeo("inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/interop/relayed:v1`);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(sha256(inspect.stdout)).toBe(digest);
  });
});
