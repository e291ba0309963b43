/**
 * Images for containerd/runwasi (`image --format runwasi`): the shape runwasi's oci-tar-builder
 * writes, one tar that is at the same time an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/...`) and a Docker archive (`manifest.json`), so `ctr image import`,
 * `regctl image import`, `skopeo copy oci-archive:` and `skopeo copy docker-archive:` all read it.
 *
 * Differences from the CNCF artifact (wasm-image.ts): the config is an OCI *image* config
 * (`application/vnd.oci.image.config.v1+json`) with `os`/`architecture` and a runwasi label, the
 * wasm layer is typed `application/vnd.bytecodealliance.wasm.component.layer.v0+wasm`, and the
 * index entry carries the platform and the image name annotations containerd reads on import.
 * `rootfs.diff_ids` lists the layer digests (the layers are stored uncompressed, so a diff id is
 * the layer digest): a Docker archive reader refuses a config whose diff ids do not match its
 * layers, while runwasi's own builder leaves them empty.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readWasmNames } from "../component/names.ts";
import { replaceDirAtomic } from "../util/atomic-write.ts";
import { UsageError } from "../util/errors.ts";
import { sha256Digest, type Digest } from "../util/digest.ts";
import { layoutBlobPath, OCI_LAYOUT_CONTENT } from "./layout.ts";
import type { Descriptor, ImageIndex, ImageManifest } from "./manifest.ts";
import { ANNOTATION_CREATED, ANNOTATION_REF_NAME, ANNOTATION_TITLE, OCI_INDEX, OCI_MANIFEST } from "./media-types.ts";
import { parseReference } from "./reference.ts";
import { imageArtifacts, jsonBytes, type BlobContent, type ImageArtifacts } from "./wasm-image.ts";

export const RUNWASI_WASM_LAYER = "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";
export const OCI_IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json";
export const ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name";
/** runwasi's builder sets it so two images with the same (empty) rootfs still get distinct configs. */
export const LABEL_RUNWASI_LAYERS = "containerd.runwasi.layers";

export interface RunwasiImageOptions {
  /** NAME:TAG as containerd names the image, e.g. `ghcr.io/acme/app:1.0` or `localhost:5000/app:v1`. */
  name: string;
  /** File name of the wasm input: the layer title and the config's entrypoint. */
  fileName: string;
  created: string;
  annotations?: Record<string, string>;
  /** Layers after the wasm layer (a policy file, say), in this order. */
  extraLayers?: BlobContent[];
  layerDigest?: Digest;
}

export interface RunwasiImage extends ImageArtifacts {
  name: string;
  tag: string;
  platform: { architecture: string; os: string };
}

/** Checks NAME:TAG and returns its tag: containerd needs both parts, and no digest. */
export function runwasiTag(name: string): string {
  let ref;
  try {
    ref = parseReference(name);
  } catch (e) {
    throw new UsageError(`--name "${name}": ${(e as Error).message.replace(/^invalid reference "[^"]*": /, "")} (expected NAME:TAG, e.g. localhost:5000/app:v1)`, "BAD_IMAGE_NAME");
  }
  if (ref.kind !== "registry") throw new UsageError(`--name "${name}": expected NAME:TAG, not an oci-layout: reference`, "BAD_IMAGE_NAME");
  if (ref.digest !== undefined) throw new UsageError(`--name "${name}": an image name has no digest (expected NAME:TAG)`, "BAD_IMAGE_NAME");
  if (ref.tag === undefined) throw new UsageError(`--name "${name}": the tag is missing (expected NAME:TAG, e.g. ${name}:latest)`, "BAD_IMAGE_NAME");
  return ref.tag;
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function buildRunwasiImage(wasm: Uint8Array, o: RunwasiImageOptions): RunwasiImage {
  const tag = runwasiTag(o.name);
  const kind = readWasmNames(wasm, o.fileName).kind;
  const layer: BlobContent = {
    descriptor: { mediaType: RUNWASI_WASM_LAYER, digest: o.layerDigest ?? sha256Digest(wasm), size: wasm.length, annotations: { [ANNOTATION_TITLE]: o.fileName } },
    bytes: wasm,
  };
  const layers = [layer, ...(o.extraLayers ?? [])];
  const digests = layers.map((l) => l.descriptor.digest);
  const platform = { architecture: "wasm", os: kind === "component" ? "wasip2" : "wasip1" };
  const config = {
    created: o.created,
    architecture: platform.architecture,
    os: platform.os,
    config: {
      Entrypoint: [o.fileName],
      Labels: { [LABEL_RUNWASI_LAYERS]: createHash("sha256").update(digests.map((d) => d.slice("sha256:".length)).join("")).digest("hex") },
    },
    rootfs: { type: "layers", diff_ids: digests },
  };
  const configBytes = jsonBytes(config);
  const configDesc: Descriptor = { mediaType: OCI_IMAGE_CONFIG, digest: sha256Digest(configBytes), size: configBytes.length };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDesc,
    layers: layers.map((l) => l.descriptor),
    annotations: sortedRecord({
      [ANNOTATION_CREATED]: o.created,
      ...(o.annotations ?? {}),
      [ANNOTATION_CONTAINERD_NAME]: o.name,
      [ANNOTATION_REF_NAME]: tag,
    }),
  };
  return { ...imageArtifacts(manifest, { descriptor: configDesc, bytes: configBytes }, layers), name: o.name, tag, platform };
}

/** index.json of the layout: one entry with the platform and the names containerd imports it under. */
export function runwasiIndex(image: RunwasiImage): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: image.mediaType,
        digest: image.manifestDigest,
        size: image.manifestBytes.length,
        platform: image.platform,
        annotations: { [ANNOTATION_CONTAINERD_NAME]: image.name, [ANNOTATION_REF_NAME]: image.tag },
      },
    ],
  };
}

/** The Docker archive's manifest.json: paths into the same blobs the OCI layout holds. */
export function dockerArchiveManifest(image: RunwasiImage): Array<{ Config: string; RepoTags: string[]; Layers: string[] }> {
  const path = (d: Digest) => `blobs/sha256/${d.slice("sha256:".length)}`;
  return [{ Config: path(image.config.descriptor.digest), RepoTags: [image.name], Layers: image.layers.map((l) => path(l.descriptor.digest)) }];
}

/** Writes the layout (plus manifest.json) into `dir`, replacing it as a whole. */
export async function writeRunwasiLayout(dir: string, image: RunwasiImage): Promise<void> {
  await replaceDirAtomic(dir, async (tmp) => {
    await writeFile(join(tmp, "oci-layout"), OCI_LAYOUT_CONTENT);
    await mkdir(join(tmp, "blobs", "sha256"), { recursive: true });
    await writeFile(layoutBlobPath(tmp, image.manifestDigest), image.manifestBytes);
    for (const b of [image.config, ...image.layers]) await writeFile(layoutBlobPath(tmp, b.descriptor.digest), b.bytes);
    await writeFile(join(tmp, "index.json"), JSON.stringify(runwasiIndex(image)));
    await writeFile(join(tmp, "manifest.json"), JSON.stringify(dockerArchiveManifest(image)));
  });
}
