/**
 * `image --format runwasi`: one tar that is both an OCI image layout and a Docker archive, read
 * by independent clients: skopeo (oci-archive: into a real registry, docker-archive: into a
 * dir: copy), regctl (image import into a real registry), and containerd's ctr (image import
 * into a private containerd on a unix socket in a temp dir). Our pull reads every result.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { bytesId } from "../helpers/bytes.ts";
import { freshCacheArgs, hermeticEnv, runCli } from "../helpers/cli.ts";
import { containerdAvailable, startContainerd } from "../helpers/containerd.ts";
import { firstDigest, getManifest, sha256 } from "../helpers/oci-http.ts";
import { oracle, oraclesMissing } from "../helpers/oracles.ts";
import { runCommand } from "../helpers/processes.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { coreModule, interfaceComponent, writeFixture } from "../helpers/wasm-fixtures.ts";

const RUNWASI_LAYER = "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";
const haveSkopeo = existsSync("/usr/bin/skopeo");

interface TarEntry {
  name: string;
  data: Buffer;
}

/** Reads a tar with `tar` (a second reader), returning names in archive order and contents. */
async function readTar(tarFile: string, dir: string): Promise<{ names: string[]; file: (n: string) => Promise<Buffer> }> {
  await mkdir(dir, { recursive: true });
  const list = await runCommand("tar", ["-tf", tarFile]);
  expect(list.code, list.stderr).toBe(0);
  const x = await runCommand("tar", ["-xf", tarFile, "-C", dir]);
  expect(x.code, x.stderr).toBe(0);
  return { names: list.stdout.trim().split("\n"), file: (n) => readFile(join(dir, n)) };
}

describe.skipIf(!registryAvailable() || !haveSkopeo || oraclesMissing(["regctl"]))("runwasi images (image --format runwasi)", () => {
  let reg: Registry;
  let tmp: Tmp;
  let env: Record<string, string | undefined>;
  let comp: Buffer;
  let mod: Buffer;
  let compPath: string;
  let modPath: string;
  let compTar: string;
  let compDigest: string;

  const skopeo = (...args: string[]) => runCommand("skopeo", ["--insecure-policy", ...args], { env: { ...process.env, ...(env as NodeJS.ProcessEnv) }, timeoutMs: 60_000 });

  beforeAll(async () => {
    reg = await startRegistry();
    tmp = await makeTmp("runwasi");
    env = hermeticEnv(tmp.dir, { SOURCE_DATE_EPOCH: "1700000000" });
    comp = Buffer.from(await interfaceComponent());
    mod = Buffer.from(await coreModule());
    compPath = await writeFixture(tmp.dir, "in/app.wasm", comp);
    modPath = await writeFixture(tmp.dir, "in/mod.wasm", mod);
    compTar = tmp.path("out/app.tar");
    const r = await runCli(["image", compPath, "--format", "runwasi", "--name", "localhost:5000/demo/app:v1", "--tar", compTar, "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    compDigest = (JSON.parse(r.stdout) as { digest: string }).digest;
  });

  afterAll(async () => {
    await reg?.stop();
    await tmp?.cleanup();
  });

  it("writes one reproducible tar that is an OCI layout and a Docker archive; os wasip2 for a component", async () => {
    const t = await readTar(compTar, tmp.path("x/app"));
    for (const n of ["oci-layout", "index.json", "manifest.json"]) expect(t.names).toContain(n);
    expect(JSON.parse((await t.file("oci-layout")).toString())).toEqual({ imageLayoutVersion: "1.0.0" });
    const index = JSON.parse((await t.file("index.json")).toString()) as { manifests: Array<{ digest: string; platform: unknown; annotations: Record<string, string> }> };
    expect(index.manifests).toHaveLength(1);
    const entry = index.manifests[0]!;
    expect(entry.digest).toBe(compDigest);
    expect(entry.platform).toEqual({ architecture: "wasm", os: "wasip2" });
    expect(entry.annotations).toEqual({ "io.containerd.image.name": "localhost:5000/demo/app:v1", "org.opencontainers.image.ref.name": "v1" });
    const manifestBytes = await t.file(`blobs/sha256/${compDigest.slice(7)}`);
    expect(sha256(manifestBytes)).toBe(compDigest);
    const manifest = JSON.parse(manifestBytes.toString()) as { config: { mediaType: string; digest: string }; layers: Array<{ mediaType: string; digest: string }> };
    expect(manifest.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([RUNWASI_LAYER]);
    expect(manifest.layers[0]!.digest).toBe(sha256(comp));
    const config = JSON.parse((await t.file(`blobs/sha256/${manifest.config.digest.slice(7)}`)).toString()) as Record<string, unknown>;
    expect(config).toMatchObject({ architecture: "wasm", os: "wasip2", rootfs: { type: "layers", diff_ids: [sha256(comp)] }, config: { Entrypoint: ["app.wasm"] } });
    const docker = JSON.parse((await t.file("manifest.json")).toString()) as unknown;
    expect(docker).toEqual([{ Config: `blobs/sha256/${manifest.config.digest.slice(7)}`, RepoTags: ["localhost:5000/demo/app:v1"], Layers: [`blobs/sha256/${sha256(comp).slice(7)}`] }]);
    expect(bytesId(await t.file(`blobs/sha256/${sha256(comp).slice(7)}`))).toBe(bytesId(comp));

    const again = tmp.path("out/app-again.tar");
    const r = await runCli(["image", compPath, "--format", "runwasi", "--name", "localhost:5000/demo/app:v1", "--tar", again], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(sha256(await readFile(again))).toBe(sha256(await readFile(compTar)));
  });

  it("a core module gets os wasip1", async () => {
    const tar = tmp.path("out/mod.tar");
    const r = await runCli(["image", modPath, "--format", "runwasi", "--name", "example.com/mod:1.0", "--tar", tar, "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ platform: { architecture: "wasm", os: "wasip1" }, tag: "1.0", layer: { mediaType: RUNWASI_LAYER } });
    const t = await readTar(tar, tmp.path("x/mod"));
    const index = JSON.parse((await t.file("index.json")).toString()) as { manifests: Array<{ platform: unknown }> };
    expect(index.manifests[0]!.platform).toEqual({ architecture: "wasm", os: "wasip1" });
  });

  it("refuses a name without a tag, and no name at all", async () => {
    const a = await runCli(["image", compPath, "--format", "runwasi", "--name", "localhost:5000/app", "--tar", tmp.path("out/bad.tar")], { env });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--name "localhost:5000\/app": the tag is missing/);
    const b = await runCli(["image", compPath, "--format", "runwasi", "--tar", tmp.path("out/bad.tar")], { env });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/needs --name NAME:TAG/);
    expect(existsSync(tmp.path("out/bad.tar"))).toBe(false);
  });

  it("skopeo copies oci-archive: into the registry with the same digests, and our pull reads it", async () => {
    const c = await skopeo("copy", "--dest-tls-verify=false", `oci-archive:${compTar}`, `docker://${reg.host}/runwasi/skopeo:v1`);
    expect(c.code, c.stderr).toBe(0);
    const m = await getManifest(reg, "runwasi/skopeo", "v1");
    expect(m.digest).toBe(compDigest);
    const out = tmp.path("pulled/skopeo.wasm");
    const p = await runCli(["pull", `${reg.host}/runwasi/skopeo:v1`, "-o", out, "--digest", compDigest, "--json", ...freshCacheArgs(tmp.dir)], { env });
    expect(p.code, p.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    expect(JSON.parse(p.stdout)).toMatchObject({ layer: { mediaType: RUNWASI_LAYER }, config: { content: { os: "wasip2", architecture: "wasm" } } });
  });

  it("skopeo reads it as docker-archive: (the layer it copies out is the component)", async () => {
    const dir = tmp.path("skopeo-dir");
    const c = await skopeo("copy", `docker-archive:${compTar}`, `dir:${dir}`);
    expect(c.code, c.stderr).toBe(0);
    expect(bytesId(await readFile(join(dir, sha256(comp).slice(7))))).toBe(bytesId(comp));
    const inspect = await skopeo("inspect", "--config", `docker-archive:${compTar}`);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ os: "wasip2", architecture: "wasm" });
  });

  it("regctl image import puts it in the registry unchanged, and our pull reads it", async () => {
    const home = tmp.path("regctl-home");
    await mkdir(home, { recursive: true });
    const r = await runCommand(oracle("regctl"), ["--host", `reg=${reg.host},tls=disabled`, "image", "import", `${reg.host}/runwasi/regctl:v1`, compTar], {
      env: { PATH: process.env["PATH"] ?? "", HOME: home },
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect((await getManifest(reg, "runwasi/regctl", "v1")).digest).toBe(compDigest);
    const out = tmp.path("pulled/regctl.wasm");
    const p = await runCli(["pull", `${reg.host}/runwasi/regctl:v1`, "-o", out, ...freshCacheArgs(tmp.dir)], { env });
    expect(p.code, p.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
  });

  it("-o writes the same files as a directory: our pull reads it as a layout, our push publishes it and pull reads that", async () => {
    const dir = tmp.path("out/app-layout");
    const r = await runCli(["image", compPath, "--format", "runwasi", "--name", "localhost:5000/demo/app:v1", "-o", dir], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(firstDigest(r.stdout)).toBe(compDigest);
    const out = tmp.path("pulled/layout.wasm");
    const p = await runCli(["pull", `oci-layout:${dir}:v1`, "-o", out], { env });
    expect(p.code, p.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    const push = await runCli(["push", `oci-layout:${dir}:v1`, `${reg.host}/runwasi/ours:v1`], { env });
    expect(push.code, push.stderr).toBe(0);
    expect(firstDigest(push.stdout)).toBe(compDigest);
    const out2 = tmp.path("pulled/ours.wasm");
    const p2 = await runCli(["pull", `${reg.host}/runwasi/ours:v1`, "-o", out2, ...freshCacheArgs(tmp.dir)], { env });
    expect(p2.code, p2.stderr).toBe(0);
    expect(bytesId(await readFile(out2))).toBe(bytesId(comp));
  });

  describe.skipIf(!containerdAvailable())("containerd", () => {
    it("ctr image import (into a private containerd on a temp unix socket) names it, keeps the platform and the layer bytes", async () => {
      const c = await startContainerd();
      try {
        // The layer is not a filesystem tar, so it is stored, not unpacked (runwasi reads it from the content store).
        const imp = await c.ctr("images", "import", "--no-unpack", "--all-platforms", compTar);
        expect(imp.code, imp.stderr).toBe(0);
        const ls = await c.ctr("images", "ls");
        expect(ls.code, ls.stderr).toBe(0);
        const row = ls.stdout.split("\n").find((l) => l.startsWith("localhost:5000/demo/app:v1 "));
        expect(row, ls.stdout).toBeDefined();
        expect(row).toContain(compDigest);
        expect(row).toContain("wasip2/wasm");
        const content = await c.ctr("content", "ls", "-q");
        expect(content.code, content.stderr).toBe(0);
        expect(content.stdout.trim().split("\n")).toEqual(expect.arrayContaining([compDigest, sha256(comp)]));
        const blob = await readFile(join(c.dir, "root", "io.containerd.content.v1.content", "blobs", "sha256", sha256(comp).slice(7)));
        expect(bytesId(blob)).toBe(bytesId(comp));
      } finally {
        await c.stop();
      }
    });
  });
});
