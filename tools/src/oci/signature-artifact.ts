/**
 * Detached wasmsign2 signatures as OCI artifacts that refer to the image they sign (OCI image
 * spec 1.1 "artifacts" + `subject`; distribution spec 1.1 referrers).
 *
 * Media type choice: there is no registered type for wasmsign2 signature data. We use
 * `application/vnd.wasm.signature.v1+wasmsig` both as the manifest's `artifactType` and as the
 * layer type: `vnd.wasm.` follows the CNCF Wasm OCI artifact names (facts.md section 3), `v1`
 * is the wasmsign2 signature-data version byte, and the `+wasmsig` suffix names the format (the
 * wasmsign2 domain string), so a referrers listing can be filtered on it without fetching
 * anything. The layer holds exactly the bytes `sign -S` writes (facts.md section 1).
 */
import { UsageError, WasmOciError } from "../util/errors.ts";
import { sha256Digest, type Digest } from "../util/digest.ts";
import { parseSignatureData } from "../sign/signature-data.ts";
import type { Descriptor, ImageIndex, ImageManifest } from "./manifest.ts";
import { ANNOTATION_CREATED, OCI_INDEX, OCI_MANIFEST } from "./media-types.ts";
import type { ImageArtifacts } from "./wasm-image.ts";
import { imageArtifacts } from "./wasm-image.ts";

export const WASM_SIGNATURE_ARTIFACT = "application/vnd.wasm.signature.v1+wasmsig";
export const WASM_SIGNATURE_LAYER = WASM_SIGNATURE_ARTIFACT;
export const OCI_EMPTY_CONFIG = "application/vnd.oci.empty.v1+json";
export const OCI_EMPTY_JSON = Buffer.from("{}", "utf8");
/** index.json annotation on the signature entry of a layout (it has no ref.name tag). */
export const ANNOTATION_SIGNATURE_OF = "com.wasmsign2.signature.subject";
export const ANNOTATION_SIGNATURE_KIND = "com.wasmsign2.signature.type";

/** Refuses bytes that are not wasmsign2 signature data before they are published or packaged. */
export function checkSignatureBytes(bytes: Uint8Array, what: string): void {
  try {
    parseSignatureData(bytes, what);
  } catch (e) {
    throw new UsageError(`${what} is not wasmsign2 signature data (as \`sign -S\` writes): ${(e as Error).message}`, "BAD_SIGNATURE_FILE");
  }
}

/** The manifest of a signature artifact whose subject is `subject`; reproducible (fixed created). */
export function buildSignatureArtifact(signature: Uint8Array, subject: Descriptor, created: string): ImageArtifacts {
  const configDesc: Descriptor = { mediaType: OCI_EMPTY_CONFIG, digest: sha256Digest(OCI_EMPTY_JSON), size: OCI_EMPTY_JSON.length };
  const layer: Descriptor = { mediaType: WASM_SIGNATURE_LAYER, digest: sha256Digest(signature), size: signature.length };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: WASM_SIGNATURE_ARTIFACT,
    config: configDesc,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { [ANNOTATION_CREATED]: created, [ANNOTATION_SIGNATURE_KIND]: "detached" },
  };
  return imageArtifacts(manifest, { descriptor: configDesc, bytes: OCI_EMPTY_JSON }, [{ descriptor: layer, bytes: signature }]);
}

/** The descriptor of a signature artifact as it appears in a referrers index (artifactType, annotations). */
export function referrerDescriptor(artifact: ImageArtifacts): Descriptor {
  return {
    mediaType: artifact.mediaType,
    digest: artifact.manifestDigest,
    size: artifact.manifestBytes.length,
    artifactType: WASM_SIGNATURE_ARTIFACT,
    ...(artifact.manifest.annotations !== undefined ? { annotations: artifact.manifest.annotations } : {}),
  };
}

/** OCI 1.1 referrers tag schema: `sha256-<hex>` for subject `sha256:<hex>`. */
export function referrersTag(subject: Digest): string {
  return subject.replace(":", "-");
}

/** The referrers-tag index with `add` in it (replacing an entry of the same digest); unchanged entries keep their order. */
export function mergeReferrersIndex(existing: ImageIndex | undefined, add: Descriptor): { index: ImageIndex; changed: boolean } {
  const manifests = (existing?.manifests ?? []) as Descriptor[];
  if (manifests.some((m) => m.digest === add.digest)) return { index: existing as ImageIndex, changed: false };
  return { index: { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...manifests, add] }, changed: true };
}

/** The signature artifacts among referrers, most recently added last. */
export function signatureReferrers(index: ImageIndex): Descriptor[] {
  return (index.manifests as Descriptor[]).filter((m) => m.artifactType === WASM_SIGNATURE_ARTIFACT);
}

/** Checks a fetched signature manifest: our artifactType, the subject we asked about, one signature layer. */
export function signatureLayerOf(manifest: ImageManifest, subject: Digest, what: string): Descriptor {
  if (manifest.artifactType !== WASM_SIGNATURE_ARTIFACT) {
    throw new WasmOciError("BAD_SIGNATURE_ARTIFACT", `${what}: artifactType is ${manifest.artifactType ?? "missing"}, expected ${WASM_SIGNATURE_ARTIFACT}`);
  }
  if (manifest.subject?.digest !== subject) {
    throw new WasmOciError("BAD_SIGNATURE_ARTIFACT", `${what}: subject is ${manifest.subject?.digest ?? "missing"}, expected ${subject}`);
  }
  const layers = manifest.layers.filter((l) => l.mediaType === WASM_SIGNATURE_LAYER) as Descriptor[];
  if (layers.length !== 1) {
    throw new WasmOciError("BAD_SIGNATURE_ARTIFACT", `${what}: expected exactly one ${WASM_SIGNATURE_LAYER} layer, found ${layers.length}`);
  }
  return layers[0] as Descriptor;
}
