/**
 * What `wasm-oci pull` accepts and refuses, with content put in the real registry by hand
 * (test/helpers/oci-http.ts), plus bad user input:
 *  - the four layer media types seen in the wild, Docker v2 manifests, image indexes (the wasm
 *    manifest is chosen);
 *  - unknown layer media types (the error lists what was found), no layers, a missing layer blob,
 *    a manifest over 4 MiB;
 *  - malformed references, registry configs and flags (exit 2, the error names the field).
 * Every failure leaves no output file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesId } from "../helpers/bytes.ts";
import { readFile, writeFile } from "node:fs/promises";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { runCli, hermeticEnv, freshCacheArgs, type CliResult } from "../helpers/cli.ts";
import { makeTmp, listFiles, type Tmp } from "../helpers/tmp.ts";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { coreModule, interfaceComponent, writeFixture } from "../helpers/wasm-fixtures.ts";
import { deleteBlob, getManifest, pushRawArtifact, putBlob, putManifest, sha256, OCI_INDEX, OCI_MANIFEST } from "../helpers/oci-http.ts";

const LAYER_TYPES = [
  "application/wasm",
  "application/vnd.wasm.content.layer.v1+wasm",
  "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
  "application/vnd.wasm.component.v1",
];

describe.skipIf(!registryAvailable())("oci formats and bad input", () => {
  let reg: Registry;
  let proxy: FaultProxy;
  let tmp: Tmp;
  let env: Record<string, string | undefined>;
  let comp: Buffer;
  let n = 0;

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.host);
    tmp = await makeTmp("oci-formats");
    env = hermeticEnv(tmp.dir);
    comp = Buffer.from(await interfaceComponent());
  });

  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    await tmp?.cleanup();
  });

  /** Pulls into a fresh directory; `files` lists what is left in it afterwards. */
  const pull = async (ref: string, extra: string[] = []): Promise<CliResult & { out: string; files: () => Promise<string[]> }> => {
    const dir = tmp.path(`out-${++n}`);
    const out = `${dir}/app.wasm`;
    const r = await runCli(["pull", ref, "-o", out, ...extra, ...freshCacheArgs(tmp.dir)], { env });
    return { ...r, out, files: () => listFiles(dir) };
  };

  describe("accepted", () => {
    for (const mediaType of LAYER_TYPES) {
      it(`layer media type ${mediaType}`, async () => {
        const repo = `formats/${mediaType.replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")}`;
        const { digest } = await pushRawArtifact(reg, repo, "v1", comp, {
          layerMediaType: mediaType,
          configMediaType: mediaType === "application/vnd.wasm.content.layer.v1+wasm" ? "application/vnd.wasm.config.v1+json" : undefined,
        });
        const r = await pull(`${reg.host}/${repo}@${digest}`);
        expect(r.code, r.stderr).toBe(0);
        expect(bytesId(await readFile(r.out))).toBe(bytesId(comp));
      });
    }

    it("a Docker v2 schema 2 manifest", async () => {
      const { digest } = await pushRawArtifact(reg, "formats/docker", "v1", comp, {
        manifestMediaType: "application/vnd.docker.distribution.manifest.v2+json",
        configMediaType: "application/vnd.docker.container.image.v1+json",
      });
      const r = await pull(`${reg.host}/formats/docker:v1`, ["--digest", digest]);
      expect(r.code, r.stderr).toBe(0);
      expect(bytesId(await readFile(r.out))).toBe(bytesId(comp));
    });

    it("an image index: the wasm manifest is chosen over a linux/amd64 image", async () => {
      const wasm = await pushRawArtifact(reg, "formats/index", "wasm-only", comp);
      // A plausible container image next to it, whose layer is not wasm.
      const imgConfig = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
      const imgLayer = Buffer.from("not a wasm layer, a pretend tarball");
      const imgManifest = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: await putBlob(reg, "formats/index", imgConfig), size: imgConfig.length },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: await putBlob(reg, "formats/index", imgLayer), size: imgLayer.length }],
      };
      const imgBytes = Buffer.from(JSON.stringify(imgManifest));
      const imgDigest = await putManifest(reg, "formats/index", sha256(imgBytes), imgBytes);
      const wasmBytes = Buffer.from(JSON.stringify(wasm.manifest));
      const index = {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { mediaType: OCI_MANIFEST, digest: imgDigest, size: imgBytes.length, platform: { architecture: "amd64", os: "linux" } },
          { mediaType: OCI_MANIFEST, digest: wasm.digest, size: wasmBytes.length, platform: { architecture: "wasm", os: "wasip2" } },
        ],
      };
      const indexDigest = await putManifest(reg, "formats/index", "multi", index, OCI_INDEX);
      const r = await pull(`${reg.host}/formats/index:multi`, ["--digest", indexDigest]);
      expect(r.code, r.stderr).toBe(0);
      expect(bytesId(await readFile(r.out))).toBe(bytesId(comp));
    });
  });

  describe("refused", () => {
    it("an unknown layer media type: exit 1, the error lists what was found, no output", async () => {
      await pushRawArtifact(reg, "bad/unknown", "v1", comp, { layerMediaType: "application/vnd.example.unknown.v1" });
      const r = await pull(`${reg.host}/bad/unknown:v1`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("application/vnd.example.unknown.v1");
      expect(await r.files()).toEqual([]);
    });

    it("two wasm layers (the CNCF layout allows exactly one): exit 1, says so, no output", async () => {
      const core = Buffer.from(await coreModule());
      await pushRawArtifact(reg, "bad/twolayers", "v1", comp, { extraLayers: [{ mediaType: "application/wasm", bytes: core }] });
      const r = await pull(`${reg.host}/bad/twolayers:v1`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/layer/i);
      expect(await r.files()).toEqual([]);
    });

    it("a Docker manifest list without a wasm manifest lists what it found", async () => {
      const imgConfig = Buffer.from(JSON.stringify({ architecture: "arm64", os: "linux" }));
      const imgLayer = Buffer.from("pretend tarball");
      const img = {
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: await putBlob(reg, "bad/list", imgConfig), size: imgConfig.length },
        layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: await putBlob(reg, "bad/list", imgLayer), size: imgLayer.length }],
      };
      const imgBytes = Buffer.from(JSON.stringify(img));
      const imgDigest = await putManifest(reg, "bad/list", sha256(imgBytes), imgBytes, "application/vnd.docker.distribution.manifest.v2+json");
      const list = {
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
        // Two entries, so "take the only manifest" does not apply.
        manifests: [
          { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: imgDigest, size: imgBytes.length, platform: { architecture: "arm64", os: "linux" } },
          { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: imgDigest, size: imgBytes.length, platform: { architecture: "amd64", os: "linux" } },
        ],
      };
      await putManifest(reg, "bad/list", "v1", list, "application/vnd.docker.distribution.manifest.list.v2+json");
      const r = await pull(`${reg.host}/bad/list:v1`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("linux/arm64");
      expect(r.stderr).toContain("linux/amd64");
      expect(await r.files()).toEqual([]);
    });

    it("a manifest with no layers: exit 1, says so, no output", async () => {
      const config = Buffer.from("{}");
      const configDigest = await putBlob(reg, "bad/empty", config);
      await putManifest(reg, "bad/empty", "v1", {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: "application/vnd.wasm.config.v0+json", digest: configDigest, size: config.length },
        layers: [],
      });
      const r = await pull(`${reg.host}/bad/empty:v1`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/layer/i);
      expect(await r.files()).toEqual([]);
    });

    it("a layer blob missing from the registry: exit 1, names the blob, no output", async () => {
      const core = Buffer.from(await coreModule());
      const { layerDigest } = await pushRawArtifact(reg, "bad/missing", "v1", core);
      expect(await deleteBlob(reg, "bad/missing", layerDigest)).toBe(202);
      const r = await pull(`${reg.host}/bad/missing:v1`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(layerDigest);
      expect(await r.files()).toEqual([]);
    });

    it("a manifest over 4 MiB is refused, no output", async () => {
      const big = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, annotations: { pad: "x".repeat(5 * 1024 * 1024) } }));
      proxy.setRules([
        { method: "GET", path: /\/v2\/bad\/huge\/manifests\//, nth: "all", action: { kind: "status", status: 200, headers: { "content-type": OCI_MANIFEST, "docker-content-digest": sha256(big) }, body: big } },
      ]);
      try {
        const r = await pull(`${proxy.host}/bad/huge:v1`);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/4 ?MiB|too (large|big)|size|limit/i);
        expect(await r.files()).toEqual([]);
      } finally {
        proxy.clear();
      }
    });
  });

  describe("bad user input (exit 2, names the field)", () => {
    const cases: Array<[string, string, RegExp]> = [
      ["upper-case repository", "127.0.0.1:5000/Has/Upper:v1", /repositor/i],
      ["short digest", "127.0.0.1:5000/repo@sha256:1234", /digest/i],
      ["bad tag", "127.0.0.1:5000/repo:bad!tag", /tag/i],
      ["empty reference", "", /reference/i],
      ["layout without a directory", "oci-layout:", /layout|director/i],
    ];
    for (const [what, ref, field] of cases) {
      it(`malformed reference: ${what}`, async () => {
        const r = await pull(ref);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(field);
        expect(await r.files()).toEqual([]);
      });
    }

    const configs: Array<[string, string, RegExp[]]> = [
      ["not JSON", "{ registries: [", [/registries-notjson\.json/, /JSON/i]],
      ["a registry without host", JSON.stringify({ registries: [{ name: "x", type: "oci" }] }), [/registries/, /host/]],
      ["an unknown auth type", JSON.stringify({ registries: [{ name: "x", host: "127.0.0.1:5000", auth: { type: "password" } }] }), [/auth/, /type|password/]],
      ["timeout_seconds as text", JSON.stringify({ registries: [], timeout_seconds: "ten" }), [/timeout_seconds/]],
      [
        "an inline secret",
        JSON.stringify({ registries: [{ name: "x", host: "127.0.0.1:5000", auth: { type: "basic_env", username_env: "U", password_env: "P", password: "hunter22" } }] }),
        [/password/],
      ],
      ["a mirror that is not host:port", JSON.stringify({ registries: [{ name: "x", host: "127.0.0.1:5000", mirrors: ["http://mirror/x y"] }] }), [/mirrors/]],
    ];
    for (const [what, text, fields] of configs) {
      it(`malformed registry config: ${what}`, async () => {
        const file = tmp.path(what === "not JSON" ? "registries-notjson.json" : `registries-${++n}.json`);
        await writeFile(file, text);
        const r = await pull(`${reg.host}/formats/docker:v1`, ["--registry-config", file]);
        expect(r.code, r.stderr).toBe(2);
        for (const f of fields) expect(r.stderr).toMatch(f);
        expect(r.stderr).not.toContain("hunter22");
        expect(await r.files()).toEqual([]);
      });
    }

    it("an invalid --digest value", async () => {
      const r = await pull(`${reg.host}/formats/docker:v1`, ["--digest", "md5:abc"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/digest/i);
    });

    it("a reference digest and a different --digest", async () => {
      const a = `sha256:${"a".repeat(64)}`;
      const b = `sha256:${"b".repeat(64)}`;
      const r = await pull(`${reg.host}/formats/docker@${a}`, ["--digest", b]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(a);
      expect(r.stderr).toContain(b);
      expect(await r.files()).toEqual([]);
    });

    it("pull without -o, push without a reference, an unknown flag", async () => {
      expect((await runCli(["pull", `${reg.host}/x:v1`], { env })).code).toBe(2);
      expect((await runCli(["push", tmp.path("nothing.wasm")], { env })).code).toBe(2);
      expect((await runCli(["pull", `${reg.host}/x:v1`, "-o", tmp.path("x.wasm"), "--no-such-flag"], { env })).code).toBe(2);
    });

    it("image of a file that is not wasm names the file, leaves no layout", async () => {
      const notWasm = await writeFixture(tmp.dir, "in/readme.wasm", Buffer.from("hello, not wasm"));
      const r = await runCli(["image", notWasm, "-o", tmp.path("layout-bad")], { env });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("readme.wasm");
      expect(await listFiles(tmp.path("layout-bad"))).toEqual([]);
    });

    it("an invalid --tag on push is a usage error naming it; nothing is pushed", async () => {
      const input = await writeFixture(tmp.dir, "in/app.wasm", comp);
      const r = await runCli(["push", input, `${reg.host}/bad/tagged:v1`, "--tag", "bad tag!"], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/tag/i);
      expect(r.stderr).toContain("bad tag!");
      expect((await getManifest(reg, "bad/tagged", "v1")).status).toBe(404);
    });

    it("pushing to a reference whose digest is not the manifest's is refused, naming both", async () => {
      const input = await writeFixture(tmp.dir, "in/app.wasm", comp);
      const wrong = `sha256:${"a".repeat(64)}`;
      const r = await runCli(["push", input, `${reg.host}/bad/pinned@${wrong}`], { env });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(wrong);
      expect(r.stderr).toMatch(/sha256:(?!a{64})[a-f0-9]{64}/);
    });

    it("an annotation without '=' is a usage error", async () => {
      const input = await writeFixture(tmp.dir, "in/app.wasm", comp);
      const r = await runCli(["image", input, "-o", tmp.path("layout-ann"), "--annotation", "novalue"], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/annotation/i);
    });
  });
});

