import { describe, expect, it } from "vitest";
import { parseManifest, selectFromIndex, selectWasmLayer, type ImageIndex, type ImageManifest } from "../../tools/src/oci/manifest.ts";

const d = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

function index(manifests: ImageIndex["manifests"]): ImageIndex {
  return { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests };
}

describe("manifest selection from an index", () => {
  it("chooses the wasm platform entry among container images", () => {
    const idx = index([
      { mediaType: OCI_MANIFEST, digest: d(1), size: 10, platform: { architecture: "amd64", os: "linux" } },
      { mediaType: OCI_MANIFEST, digest: d(2), size: 10, platform: { architecture: "wasm", os: "wasip2" } },
      { mediaType: OCI_MANIFEST, digest: d(3), size: 10, platform: { architecture: "arm64", os: "linux" } },
    ]);
    expect(selectFromIndex(idx, "idx").digest).toBe(d(2));
  });

  it("prefers a wasip2 component over a wasip1 module", () => {
    const idx = index([
      { mediaType: OCI_MANIFEST, digest: d(1), size: 10, platform: { architecture: "wasm", os: "wasip1" } },
      { mediaType: OCI_MANIFEST, digest: d(2), size: 10, platform: { architecture: "wasm", os: "wasip2" } },
    ]);
    expect(selectFromIndex(idx, "idx").digest).toBe(d(2));
  });

  it("accepts a wasm artifactType or the only manifest", () => {
    expect(
      selectFromIndex(index([
        { mediaType: OCI_MANIFEST, digest: d(1), size: 1, platform: { architecture: "amd64", os: "linux" } },
        { mediaType: OCI_MANIFEST, digest: d(4), size: 1, artifactType: "application/vnd.wasm.config.v0+json" },
      ]), "i").digest,
    ).toBe(d(4));
    expect(selectFromIndex(index([{ mediaType: OCI_MANIFEST, digest: d(5), size: 1 }]), "i").digest).toBe(d(5));
  });

  it("lists what it found when nothing is wasm", () => {
    const idx = index([
      { mediaType: OCI_MANIFEST, digest: d(1), size: 1, platform: { architecture: "amd64", os: "linux" } },
      { mediaType: OCI_MANIFEST, digest: d(3), size: 1, platform: { architecture: "arm64", os: "linux" } },
    ]);
    expect(() => selectFromIndex(idx, "index x")).toThrow(/index x .*without a wasm manifest.*linux\/amd64.*linux\/arm64/);
  });
});

describe("wasm layer selection", () => {
  const manifest = (types: string[]): ImageManifest => ({
    schemaVersion: 2,
    config: { mediaType: "application/vnd.wasm.config.v0+json", digest: d(9), size: 2 },
    layers: types.map((mediaType, i) => ({ mediaType, digest: d(i + 1), size: 1 })),
  });

  it("accepts each of the four layer media types in the wild", () => {
    for (const t of [
      "application/wasm",
      "application/vnd.wasm.content.layer.v1+wasm",
      "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
      "application/vnd.wasm.component.v1",
    ]) {
      expect(selectWasmLayer(manifest([t]), "m").mediaType).toBe(t);
    }
  });

  it("ignores extra non-wasm layers such as a policy", () => {
    expect(selectWasmLayer(manifest(["application/vnd.wasm.policy.v1+yaml", "application/wasm"]), "m").digest).toBe(d(2));
  });

  it("refuses an image without a wasm layer, listing what it found", () => {
    expect(() => selectWasmLayer(manifest(["application/vnd.oci.image.layer.v1.tar+gzip"]), "m")).toThrow(
      /m has no wasm layer: found application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip; expected one of application\/wasm/,
    );
    expect(() => selectWasmLayer(manifest([]), "m")).toThrow(/found no layers/);
  });

  it("refuses two wasm layers", () => {
    expect(() => selectWasmLayer(manifest(["application/wasm", "application/wasm"]), "m")).toThrow(/2 wasm layers/);
  });
});

describe("manifest parsing", () => {
  const bytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

  it("recognises Docker v2 manifests by their mediaType", () => {
    const p = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: d(1), size: 1 },
        layers: [{ mediaType: "application/wasm", digest: d(2), size: 1 }],
      }),
      undefined,
      "m",
    );
    expect(p.kind).toBe("manifest");
  });

  it("falls back to the Content-Type, then the shape, when mediaType is absent", () => {
    expect(parseManifest(bytes({ schemaVersion: 2, manifests: [] }), undefined, "m").kind).toBe("index");
    expect(parseManifest(bytes({ schemaVersion: 2, manifests: [] }), "application/vnd.oci.image.index.v1+json", "m").kind).toBe("index");
  });

  it("names the field that is wrong", () => {
    expect(() =>
      parseManifest(bytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: "x", digest: "sha256:zz", size: 1 }, layers: [] }), undefined, "manifest m"),
    ).toThrow(/manifest m is not a valid image manifest: config\.digest/);
    expect(() => parseManifest(bytes({ schemaVersion: 1 }), undefined, "m")).toThrow(/schema 1/);
    expect(() => parseManifest(bytes({ schemaVersion: 2, mediaType: "text/plain" }), undefined, "m")).toThrow(/media type text\/plain/);
    expect(() => parseManifest(Buffer.from("{"), undefined, "m")).toThrow(/not valid JSON/);
  });
});
