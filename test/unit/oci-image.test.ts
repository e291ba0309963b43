import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { readWasmNames } from "../../tools/src/component/names.ts";
import { buildWasmImage, createdTimestamp, parseAnnotations } from "../../tools/src/oci/wasm-image.ts";
import { readLayoutIndex, selectLayoutEntry, writeImageLayout } from "../../tools/src/oci/layout.ts";
import { writeLayoutTar } from "../../tools/src/oci/layout-tar.ts";

const COMPONENT_WAT = `(component
  (import "wasi:cli/environment@0.2.0" (instance))
  (import "log" (func (param "msg" string)))
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (func $f (canon lift (core func $i "f")))
  (export "run" (func $f))
  (instance $exported)
  (export "wasi:cli/run@0.2.0" (instance $exported)))`;

let component: Uint8Array;
let module: Uint8Array;
let dir: string;

beforeAll(async () => {
  component = await parse(COMPONENT_WAT);
  module = await parse(`(module (func (export "f")))`);
  dir = await mkdtemp(join(tmpdir(), "oci-image-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function json(bytes: Uint8Array): Record<string, unknown> {
  return JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown>;
}

describe("component names", () => {
  it("reads top-level imports and exports in binary order", () => {
    expect(readWasmNames(component)).toEqual({
      kind: "component",
      imports: ["wasi:cli/environment@0.2.0", "log"],
      exports: ["run", "wasi:cli/run@0.2.0"],
    });
  });

  it("reports a core module as such and rejects non-wasm", () => {
    expect(readWasmNames(module).kind).toBe("module");
    expect(() => readWasmNames(Buffer.from("not wasm at all"), "x.wasm")).toThrow(/x\.wasm is not a WebAssembly binary/);
  });
});

describe("image config (CNCF Wasm OCI artifact layout)", () => {
  it("describes a component: wasip2, layerDigests, component exports/imports", () => {
    const img = buildWasmImage(component, { fileName: "app.wasm", created: "1970-01-01T00:00:00Z" });
    const config = json(img.config.bytes);
    expect(config).toEqual({
      created: "1970-01-01T00:00:00Z",
      architecture: "wasm",
      os: "wasip2",
      layerDigests: [img.layers[0]?.descriptor.digest],
      component: { exports: ["run", "wasi:cli/run@0.2.0"], imports: ["wasi:cli/environment@0.2.0", "log"] },
    });
    expect(img.config.descriptor.mediaType).toBe("application/vnd.wasm.config.v0+json");
    expect(img.manifest.layers).toHaveLength(1);
    expect(img.manifest.layers[0]).toMatchObject({
      mediaType: "application/wasm",
      size: component.length,
      annotations: { "org.opencontainers.image.title": "app.wasm" },
    });
    expect(img.layers[0]?.descriptor.digest).toBe(`sha256:${createHash("sha256").update(component).digest("hex")}`);
    expect(img.manifestDigest).toBe(`sha256:${createHash("sha256").update(img.manifestBytes).digest("hex")}`);
    expect(json(img.manifestBytes)["artifactType"]).toBeUndefined();
  });

  it("describes a core module as wasip1 without a component field", () => {
    const config = json(buildWasmImage(module, { fileName: "m.wasm" }).config.bytes);
    expect(config["os"]).toBe("wasip1");
    expect(config["component"]).toBeUndefined();
  });

  it("takes created from SOURCE_DATE_EPOCH, else the fixed epoch, never the clock", () => {
    expect(createdTimestamp({})).toBe("1970-01-01T00:00:00Z");
    expect(createdTimestamp({ SOURCE_DATE_EPOCH: "1700000000" })).toBe("2023-11-14T22:13:20Z");
    expect(() => createdTimestamp({ SOURCE_DATE_EPOCH: "yesterday" })).toThrow(/SOURCE_DATE_EPOCH/);
  });

  it("puts annotations on the manifest, sorted, with created and authors mapped to the config", () => {
    const img = buildWasmImage(component, {
      fileName: "app.wasm",
      created: "2023-11-14T22:13:20Z",
      annotations: parseAnnotations(["org.opencontainers.image.source=https://example.com/x", "org.opencontainers.image.authors=Ada"]),
    });
    expect(Object.keys(img.manifest.annotations ?? {})).toEqual([
      "org.opencontainers.image.authors",
      "org.opencontainers.image.created",
      "org.opencontainers.image.source",
    ]);
    expect(json(img.config.bytes)["author"]).toBe("Ada");
    expect(() => parseAnnotations(["novalue"])).toThrow(/KEY=VALUE/);
    expect(parseAnnotations(["k=a=b"])).toEqual({ k: "a=b" });
  });
});

async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = (await readFile(join(d, e.name))).toString("hex");
    }
  };
  await walk(root, "");
  return out;
}

describe("OCI layout writing", () => {
  it("is byte-for-byte reproducible, tarball included", async () => {
    const created = "2023-11-14T22:13:20Z";
    const a = buildWasmImage(component, { fileName: "app.wasm", created, annotations: { x: "1" } });
    const b = buildWasmImage(Buffer.from(component), { fileName: "app.wasm", created, annotations: { x: "1" } });
    expect(b.manifestDigest).toBe(a.manifestDigest);
    await writeImageLayout(join(dir, "a"), a, ["v1", "latest"]);
    await writeImageLayout(join(dir, "b"), b, ["latest", "v1"]);
    expect(await snapshot(join(dir, "b"))).toEqual(await snapshot(join(dir, "a")));
    await writeLayoutTar(join(dir, "a"), join(dir, "a.tar"), new Date(created));
    await writeLayoutTar(join(dir, "b"), join(dir, "b.tar"), new Date(created));
    expect((await readFile(join(dir, "b.tar"))).equals(await readFile(join(dir, "a.tar")))).toBe(true);
  });

  it("changes digests when the timestamp changes", () => {
    const a = buildWasmImage(component, { fileName: "app.wasm", created: "1970-01-01T00:00:00Z" });
    const b = buildWasmImage(component, { fileName: "app.wasm", created: "2023-11-14T22:13:20Z" });
    expect(b.manifestDigest).not.toBe(a.manifestDigest);
  });

  it("writes oci-layout, index.json with ref.name tags, and every blob", async () => {
    const img = buildWasmImage(component, { fileName: "app.wasm" });
    const d = join(dir, "c");
    await writeImageLayout(d, img, ["v2"]);
    expect(JSON.parse(await readFile(join(d, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    const index = await readLayoutIndex(d);
    expect(index.manifests).toHaveLength(1);
    expect(selectLayoutEntry(index, d, { tag: "v2" }).digest).toBe(img.manifestDigest);
    expect(() => selectLayoutEntry(index, d, { tag: "nope" })).toThrow(/tag "nope" is not in .*index\.json \(tags: v2\)/);
    for (const digest of [img.manifestDigest, img.config.descriptor.digest, img.layers[0]?.descriptor.digest]) {
      const bytes = await readFile(join(d, "blobs", "sha256", String(digest).slice(7)));
      expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(digest);
    }
  });
});
