/**
 * OCI image layouts on disk (image-spec image-layout.md): `oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`, tags as `org.opencontainers.image.ref.name` annotations. Written
 * deterministically so the same image gives the same bytes.
 */
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { READ_LIMITS, readRegularFile, readTextFile } from "../util/bounded-read.ts";
import { join } from "node:path";
import { DigestMismatchError, UsageError, WasmOciError } from "../util/errors.ts";
import { replaceDirAtomic, writeFileAtomic } from "../util/atomic-write.ts";
import { sha256Digest, type Digest } from "../util/digest.ts";
import { imageIndexSchema, parseManifest, type Descriptor, type ImageIndex } from "./manifest.ts";
import { ANNOTATION_REF_NAME, MAX_MANIFEST_BYTES, OCI_INDEX } from "./media-types.ts";
import type { ImageArtifacts } from "./wasm-image.ts";
import { ANNOTATION_SIGNATURE_KIND, ANNOTATION_SIGNATURE_OF, WASM_SIGNATURE_ARTIFACT } from "./signature-artifact.ts";

export const OCI_LAYOUT_CONTENT = '{"imageLayoutVersion":"1.0.0"}';

export function layoutBlobPath(dir: string, digest: Digest): string {
  const [alg, hex] = digest.split(":") as [string, string];
  return join(dir, "blobs", alg, hex);
}

export async function readLayoutIndex(dir: string): Promise<ImageIndex> {
  const layoutFile = join(dir, "oci-layout");
  let layoutText: string;
  try {
    layoutText = await readTextFile(layoutFile, READ_LIMITS.layoutMarker, "BAD_LAYOUT", "layout marker");
  } catch (e) {
    if (e instanceof WasmOciError) throw e;
    throw new WasmOciError("BAD_LAYOUT", `${dir} is not an OCI image layout: ${layoutFile} is missing`);
  }
  try {
    const v = (JSON.parse(layoutText) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    if (typeof v !== "string") throw new Error("no imageLayoutVersion");
  } catch {
    throw new WasmOciError("BAD_LAYOUT", `${layoutFile}: expected {"imageLayoutVersion": "1.0.0"}`);
  }
  const indexFile = join(dir, "index.json");
  let text: string;
  try {
    text = await readTextFile(indexFile, READ_LIMITS.layoutIndex, "BAD_LAYOUT", "layout index");
  } catch (e) {
    if (e instanceof WasmOciError) throw e;
    throw new WasmOciError("BAD_LAYOUT", `${dir} is not an OCI image layout: ${indexFile} is missing`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WasmOciError("BAD_LAYOUT", `${indexFile} is not valid JSON: ${(e as Error).message}`);
  }
  const r = imageIndexSchema.safeParse(json);
  if (!r.success) {
    throw new WasmOciError(
      "BAD_LAYOUT",
      `${indexFile}: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
    );
  }
  return r.data;
}

function refName(d: Descriptor): string | undefined {
  return d.annotations?.[ANNOTATION_REF_NAME];
}

/** The index entry a layout reference names: by digest, by tag, or the only entry. */
export function selectLayoutEntry(index: ImageIndex, dir: string, sel: { tag?: string; digest?: Digest }): Descriptor {
  const entries = index.manifests as Descriptor[];
  if (sel.digest !== undefined) {
    const d = entries.find((m) => m.digest === sel.digest);
    // A digest not listed in index.json may still be a blob in the layout (a child of an index).
    return d ?? ({ mediaType: "", digest: sel.digest, size: -1 } as Descriptor);
  }
  const tags = entries.map(refName).filter((t): t is string => t !== undefined);
  if (sel.tag !== undefined) {
    const d = entries.find((m) => refName(m) === sel.tag) ?? entries.find((m) => refName(m)?.endsWith(`:${sel.tag}`));
    if (d === undefined) {
      throw new WasmOciError("TAG_NOT_FOUND", `tag "${sel.tag}" is not in ${join(dir, "index.json")} (tags: ${tags.length ? tags.join(", ") : "none"})`);
    }
    return d;
  }
  // Signature artifacts ride along with the image they sign; they are never the default entry.
  const images = entries.filter((m) => m.artifactType !== WASM_SIGNATURE_ARTIFACT);
  if (images.length === 1) return images[0] as Descriptor;
  throw new WasmOciError(
    "AMBIGUOUS_LAYOUT",
    `${join(dir, "index.json")} lists ${entries.length} manifests; name one with oci-layout:${dir}:TAG or @sha256:... (tags: ${tags.length ? tags.join(", ") : "none"})`,
  );
}

export async function layoutHasBlob(dir: string, digest: Digest): Promise<boolean> {
  try {
    return (await stat(layoutBlobPath(dir, digest))).isFile();
  } catch {
    return false;
  }
}

function indexEntries(image: ImageArtifacts, tags: string[]): Descriptor[] {
  const base: Descriptor = { mediaType: image.mediaType, digest: image.manifestDigest, size: image.manifestBytes.length };
  if (tags.length === 0) return [base];
  return [...new Set(tags)].sort().map((t) => ({ ...base, annotations: { [ANNOTATION_REF_NAME]: t } }));
}

/** Index entries of signature artifacts: no tag, an annotation naming what they are and what they sign. */
function signatureEntries(signatures: ImageArtifacts[]): Descriptor[] {
  return signatures.map((s) => ({
    mediaType: s.mediaType,
    digest: s.manifestDigest,
    size: s.manifestBytes.length,
    artifactType: WASM_SIGNATURE_ARTIFACT,
    annotations: { [ANNOTATION_SIGNATURE_KIND]: "detached", [ANNOTATION_SIGNATURE_OF]: s.manifest.subject?.digest ?? "" },
  }));
}

/** Signature artifacts listed in a layout's index.json whose annotation names `subject`. */
export function layoutSignatureEntries(index: ImageIndex, subject: Digest): Descriptor[] {
  return (index.manifests as Descriptor[]).filter(
    (m) => m.artifactType === WASM_SIGNATURE_ARTIFACT && m.annotations?.[ANNOTATION_SIGNATURE_OF] === subject,
  );
}

/** Manifests read at most when looking for signature entries that lack our subject annotation. */
const MAX_UNANNOTATED_SIGNATURE_ENTRIES = 64;

/**
 * The signature entries of a layout for `subject`. Ours carry the subject as an index.json
 * annotation; layouts written by other tools (`oras cp -r --to-oci-layout`) list a referrer with
 * its artifactType only, so there the manifest's own subject decides (read digest-checked).
 */
export async function findLayoutSignatureEntries(dir: string, index: ImageIndex, subject: Digest): Promise<Descriptor[]> {
  const found = layoutSignatureEntries(index, subject);
  const unannotated = (index.manifests as Descriptor[]).filter(
    (m) => m.artifactType === WASM_SIGNATURE_ARTIFACT && m.annotations?.[ANNOTATION_SIGNATURE_OF] === undefined,
  );
  for (const m of unannotated.slice(-MAX_UNANNOTATED_SIGNATURE_ENTRIES)) {
    const path = layoutBlobPath(dir, m.digest as Digest);
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(path, MAX_MANIFEST_BYTES, (size) => new WasmOciError("MANIFEST_TOO_LARGE", `manifest ${path} is ${size} bytes or more; at most ${MAX_MANIFEST_BYTES} are read`));
    } catch (e) {
      if (e instanceof WasmOciError) throw e;
      throw new WasmOciError("MANIFEST_NOT_FOUND", `signature manifest ${m.digest} listed in oci-layout:${dir}/index.json is missing (${path})`);
    }
    const got = sha256Digest(bytes);
    if (got !== m.digest) throw new DigestMismatchError(`signature manifest ${path}`, m.digest as Digest, got);
    const parsed = parseManifest(bytes, m.mediaType, `signature manifest ${m.digest} of oci-layout:${dir}`);
    if (parsed.kind === "manifest" && parsed.manifest.subject?.digest === subject) found.push(m);
  }
  return found;
}

function indexBytes(manifests: Descriptor[]): string {
  const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
  return JSON.stringify(index);
}

async function writeBlobs(dir: string, image: ImageArtifacts): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(layoutBlobPath(dir, image.manifestDigest), image.manifestBytes);
  for (const b of [image.config, ...image.layers]) {
    await writeFile(layoutBlobPath(dir, b.descriptor.digest), b.bytes);
  }
}

/** Refuses to replace a directory that holds something other than an OCI layout: it may be the user's. */
export async function assertReplaceable(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  if (entries.length > 0 && !entries.includes("oci-layout")) {
    throw new UsageError(`${dir} exists and is not an OCI image layout (no oci-layout file); refusing to replace it`, "OUTPUT_NOT_LAYOUT");
  }
}

/**
 * Writes a fresh layout holding one image (and the signature artifacts whose subject it is),
 * replacing `dir` (empty, absent, or an old layout) as a whole. The image entries come first in
 * index.json, so its first digest is the image's.
 */
export async function writeImageLayout(dir: string, image: ImageArtifacts, tags: string[], signatures: ImageArtifacts[] = []): Promise<void> {
  await assertReplaceable(dir);
  await replaceDirAtomic(dir, async (tmp) => {
    await writeFile(join(tmp, "oci-layout"), OCI_LAYOUT_CONTENT);
    await writeBlobs(tmp, image);
    for (const s of signatures) await writeBlobs(tmp, s);
    await writeFile(join(tmp, "index.json"), indexBytes([...indexEntries(image, tags), ...signatureEntries(signatures)]));
  });
}

/**
 * Adds an image to a layout, creating it if needed: a tag already in index.json moves to the new
 * manifest, other entries stay. index.json is replaced atomically after every blob is in place.
 */
export async function addImageToLayout(dir: string, image: ImageArtifacts, tags: string[], signatures: ImageArtifacts[] = []): Promise<void> {
  let existing: Descriptor[] = [];
  try {
    await stat(join(dir, "index.json"));
    existing = (await readLayoutIndex(dir)).manifests as Descriptor[];
  } catch (e) {
    if (e instanceof WasmOciError) throw e;
    // No layout yet: build it whole beside the target, so a failure (a full disk) leaves no
    // empty or partial layout behind.
    if (await isAbsentOrEmpty(dir)) {
      await writeImageLayout(dir, image, tags, signatures);
      return;
    }
  }
  // An existing layout: new blobs first, index.json last (atomically). On failure the blobs this
  // call added are removed again, so the layout is exactly as it was.
  const added: string[] = [];
  try {
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, "oci-layout"), OCI_LAYOUT_CONTENT);
    await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
    const put = async (digest: Digest, bytes: Uint8Array): Promise<void> => {
      if (await layoutHasBlob(dir, digest)) return;
      const path = layoutBlobPath(dir, digest);
      await writeFileAtomic(path, bytes);
      added.push(path);
    };
    for (const a of [image, ...signatures]) {
      for (const b of [a.config, ...a.layers]) await put(b.descriptor.digest, b.bytes);
      await put(a.manifestDigest, a.manifestBytes);
    }
    const newEntries = indexEntries(image, tags);
    const tagSet = new Set(tags);
    const kept = existing.filter((m) => {
      const t = refName(m);
      if (t !== undefined) return !tagSet.has(t);
      return !(tags.length === 0 && m.digest === image.manifestDigest);
    });
    const sigDigests = new Set(signatures.map((a) => a.manifestDigest));
    await writeFileAtomic(join(dir, "index.json"), indexBytes([...kept.filter((m) => !sigDigests.has(m.digest)), ...newEntries, ...signatureEntries(signatures)]));
  } catch (e) {
    for (const path of added) await rm(path, { force: true }).catch(() => undefined);
    throw e;
  }
}

async function isAbsentOrEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT";
  }
}
