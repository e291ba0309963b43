/**
 * Hand-written OCI image layouts (image-spec "image-layout.md") for tests: content that did not
 * come from wasm-oci, e.g. the wasm-to-oci or containerd media types, to check that the CLI and
 * skopeo read layouts written by others.
 *
 *   const { manifestDigest } = await writeRawLayout(dir, "v1", wasmBytes,
 *     { layerMediaType: "application/vnd.wasm.content.layer.v1+wasm", configMediaType: "application/vnd.wasm.config.v1+json" });
 *   const index = await readLayoutIndex(dir);
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256, OCI_MANIFEST, WASM_CONFIG, WASM_LAYER } from "./oci-http.ts";

async function writeBlob(dir: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(join(dir, "blobs", "sha256", digest.slice(7)), bytes);
  return digest;
}

export async function writeRawLayout(
  dir: string,
  tag: string,
  wasm: Uint8Array,
  opts: { layerMediaType?: string; configMediaType?: string; config?: Record<string, unknown>; title?: string } = {},
): Promise<{ manifestDigest: string; layerDigest: string; manifest: Record<string, unknown> }> {
  await mkdir(dir, { recursive: true });
  const config = Buffer.from(JSON.stringify(opts.config ?? { architecture: "wasm", os: "wasip2" }));
  const configDigest = await writeBlob(dir, config);
  const layerDigest = await writeBlob(dir, wasm);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: opts.configMediaType ?? WASM_CONFIG, digest: configDigest, size: config.length },
    layers: [
      {
        mediaType: opts.layerMediaType ?? WASM_LAYER,
        digest: layerDigest,
        size: wasm.length,
        annotations: { "org.opencontainers.image.title": opts.title ?? "module.wasm" },
      },
    ],
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = await writeBlob(dir, manifestBytes);
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{ mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifestBytes.length, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
  return { manifestDigest, layerDigest, manifest };
}

export interface LayoutIndex {
  manifests: Array<{ mediaType?: string; digest: string; size: number; annotations?: Record<string, string> }>;
}

export async function readLayoutIndex(dir: string): Promise<LayoutIndex> {
  return JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as LayoutIndex;
}

/** The digest of the manifest tagged `tag` in a layout (org.opencontainers.image.ref.name). */
export async function layoutDigestForTag(dir: string, tag: string): Promise<string | undefined> {
  const index = await readLayoutIndex(dir);
  return index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag)?.digest;
}
