/**
 * Pushes a Wasm file (packaged as `image` would) or an image from an OCI layout: blobs the
 * registry lacks are mounted or uploaded in parallel, then the manifest goes up under every tag.
 * --dry-run computes everything and sends nothing.
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { UsageError, WasmOciError } from "../util/errors.ts";
import { readFileWithDigest, sha256Digest, type Digest } from "../util/digest.ts";
import { log } from "../util/log.ts";
import { mapLimit, TRANSFER_CONCURRENCY } from "./concurrency.ts";
import { addImageToLayout, findLayoutSignatureEntries, layoutBlobPath, readLayoutIndex, selectLayoutEntry } from "./layout.ts";
import { parseManifest, type Descriptor, type ImageIndex } from "./manifest.ts";
import { progressBar } from "./progress.ts";
import { retryDelay, type RetryPolicy } from "./retry-policy.ts";
import { formatReference, parseReference, tagProblem } from "./reference.ts";
import type { BlobSource, RegistryClient } from "./registry-client.ts";
import { loadOciSettings, registryClient } from "./registry-settings.ts";
import { buildWasmImage, createdTimestamp, jsonBytes, type BlobContent, type ImageArtifacts } from "./wasm-image.ts";
import { buildSignatureArtifact, checkSignatureBytes, signatureLayerOf, WASM_SIGNATURE_ARTIFACT } from "./signature-artifact.ts";
import { recordReferrer, type ReferrersVia } from "./referrers.ts";

export interface PushOptions {
  /** IN.wasm or oci-layout:DIR[:tag|@digest] */
  source: string;
  reference: string;
  tags?: string[];
  annotations?: Record<string, string>;
  registryConfig?: string;
  mountFrom?: string;
  dryRun?: boolean;
  /** The module to publish instead of the file `source` names (still used for the title): `push --policy` passes the signed bytes. */
  wasm?: Uint8Array;
  /**
   * A detached signature (wasmsign2 signature data) of the module: pushed as a signature artifact
   * whose subject is the pushed manifest, and recorded as its referrer.
   */
  signature?: Uint8Array;
  /** Layers after the wasm layer (`--policy-layer`); only for a .wasm source. */
  extraLayers?: BlobContent[];
}

/** A signature artifact sent (or, with --dry-run, to be sent) with the image. */
export interface PushedReferrer {
  digest: Digest;
  size: number;
  artifactType: string;
  subject: Digest;
  /** How a puller finds it: the registry's referrers API, or the `sha256-<hex>` tag (`tag`). */
  via?: ReferrersVia;
  tag?: string;
}

export type BlobStatus = "uploaded" | "exists" | "mounted" | "not-sent";

export interface PushResult {
  digest: Digest;
  size: number;
  mediaType: string;
  tags: string[];
  /** host/repo@digest */
  reference: string;
  dryRun: boolean;
  manifest: unknown;
  blobs: Array<{ digest: Digest; size: number; mediaType: string; status: BlobStatus }>;
  /** Signature artifacts whose subject is the pushed manifest. */
  referrers: PushedReferrer[];
}

interface PushBlob {
  descriptor: Descriptor;
  source: BlobSource;
}

interface PushManifest {
  bytes: Uint8Array;
  digest: Digest;
  mediaType: string;
}

/** Everything to send: blobs, manifests an index points at, and the top manifest. */
export interface PushPlan {
  blobs: PushBlob[];
  children: PushManifest[];
  top: PushManifest;
  /** For the wasm-file case, so a layout destination can be written. */
  image?: ReturnType<typeof buildWasmImage>;
  /** Signature artifacts whose subject is `top`, pushed after it. */
  referrers: ImageArtifacts[];
}

function fileSource(path: string, size: number): BlobSource {
  if (size === 0) return { size, bytes: new Uint8Array(0) };
  return { size, open: (start, end) => createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 }) };
}

function subjectOf(digest: Digest, bytes: Uint8Array, mediaType: string): Descriptor {
  return { mediaType, digest, size: bytes.length };
}

async function planFromWasm(path: string, annotations: Record<string, string>, bytes?: Uint8Array, signature?: Uint8Array, extraLayers: BlobContent[] = []): Promise<PushPlan> {
  let wasm: Uint8Array;
  let layerDigest: Digest | undefined;
  try {
    if (bytes !== undefined) wasm = bytes;
    else ({ bytes: wasm, digest: layerDigest } = await readFileWithDigest(path));
  } catch (e) {
    if (e instanceof WasmOciError) throw e;
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`, "INPUT_UNREADABLE");
  }
  const created = createdTimestamp();
  const image = buildWasmImage(wasm, { fileName: basename(path), annotations, created, extraLayers, ...(layerDigest !== undefined ? { layerDigest } : {}) });
  const referrers = signature !== undefined ? [buildSignatureArtifact(signature, subjectOf(image.manifestDigest, image.manifestBytes, image.mediaType), created)] : [];
  return {
    blobs: [image.config, ...image.layers].map((b) => ({ descriptor: b.descriptor, source: { size: b.bytes.length, bytes: b.bytes } })),
    children: [],
    top: { bytes: image.manifestBytes, digest: image.manifestDigest, mediaType: image.mediaType },
    image,
    referrers,
  };
}

async function layoutBlob(dir: string, d: Descriptor): Promise<PushBlob> {
  const path = layoutBlobPath(dir, d.digest);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new WasmOciError("BLOB_NOT_FOUND", `blob ${d.digest} (${d.mediaType}) is missing from oci-layout:${dir} (${path})`);
  }
  if (size !== d.size) {
    throw new WasmOciError("SIZE_MISMATCH", `blob ${path} is ${size} bytes but its descriptor says ${d.size}`);
  }
  return { descriptor: d, source: fileSource(path, size) };
}

async function readLayoutManifest(dir: string, digest: Digest): Promise<Buffer> {
  const path = layoutBlobPath(dir, digest);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new WasmOciError("MANIFEST_NOT_FOUND", `manifest ${digest} is missing from oci-layout:${dir} (${path})`);
  }
  const got = sha256Digest(bytes);
  if (got !== digest) throw new WasmOciError("DIGEST_MISMATCH", `${path}: content digest is ${got}, expected ${digest}`);
  return bytes;
}

/**
 * The signature artifacts a layout holds for `subject` (index.json entries written by `image
 * --signature`, or by another tool such as `oras cp -r --to-oci-layout`), digest-checked. When the pushed manifest differs from the layout's (annotations
 * added on push), the artifact is rebuilt around the same signature bytes with the new subject:
 * the signature covers the module, not the manifest.
 */
async function layoutReferrers(dir: string, index: ImageIndex, subject: Digest, top: Descriptor): Promise<ImageArtifacts[]> {
  const out: ImageArtifacts[] = [];
  for (const entry of await findLayoutSignatureEntries(dir, index, subject)) {
    const bytes = await readLayoutManifest(dir, entry.digest);
    const what = `signature artifact ${entry.digest} of oci-layout:${dir}`;
    const parsed = parseManifest(bytes, entry.mediaType, what);
    if (parsed.kind !== "manifest") throw new WasmOciError("BAD_SIGNATURE_ARTIFACT", `${what} is an image index; expected an image manifest`);
    const layerDesc = signatureLayerOf(parsed.manifest, subject, what);
    const layerBytes = await readLayoutManifest(dir, layerDesc.digest);
    checkSignatureBytes(layerBytes, `signature blob ${layerDesc.digest} of oci-layout:${dir}`);
    const configDesc = parsed.manifest.config as Descriptor;
    const configBytes = await readLayoutManifest(dir, configDesc.digest);
    if (top.digest !== subject) {
      out.push(buildSignatureArtifact(layerBytes, top, parsed.manifest.annotations?.["org.opencontainers.image.created"] ?? createdTimestamp()));
      continue;
    }
    out.push({
      manifest: parsed.manifest,
      manifestBytes: bytes,
      manifestDigest: entry.digest,
      mediaType: parsed.mediaType,
      config: { descriptor: configDesc, bytes: configBytes },
      layers: [{ descriptor: layerDesc, bytes: layerBytes }],
    });
  }
  return out;
}

async function planFromLayout(dir: string, sel: { tag?: string; digest?: Digest }, annotations: Record<string, string>, signature?: Uint8Array): Promise<PushPlan> {
  const index = await readLayoutIndex(dir);
  const entry = selectLayoutEntry(index, dir, sel);
  let topBytes: Uint8Array = await readLayoutManifest(dir, entry.digest);
  const parsed = parseManifest(topBytes, entry.mediaType || undefined, `manifest ${entry.digest} of oci-layout:${dir}`);
  const blobs: PushBlob[] = [];
  const children: PushManifest[] = [];
  let mediaType = parsed.mediaType;
  if (parsed.kind === "manifest") {
    for (const d of [parsed.manifest.config, ...parsed.manifest.layers] as Descriptor[]) blobs.push(await layoutBlob(dir, d));
    if (Object.keys(annotations).length > 0) {
      const m = { ...parsed.manifest, annotations: { ...(parsed.manifest.annotations ?? {}), ...annotations } };
      topBytes = jsonBytes(m);
      log.info(`annotations change the manifest digest from the layout's ${entry.digest}`);
    }
  } else {
    if (Object.keys(annotations).length > 0) throw new UsageError("--annotation is not supported when pushing an image index from a layout", "ANNOTATION_ON_INDEX");
    for (const child of parsed.index.manifests as Descriptor[]) {
      const bytes = await readLayoutManifest(dir, child.digest);
      const cp = parseManifest(bytes, child.mediaType, `manifest ${child.digest} of oci-layout:${dir}`);
      if (cp.kind !== "manifest") throw new WasmOciError("UNSUPPORTED_MANIFEST", `nested image index ${child.digest} in oci-layout:${dir} is not supported`);
      for (const d of [cp.manifest.config, ...cp.manifest.layers] as Descriptor[]) blobs.push(await layoutBlob(dir, d));
      children.push({ bytes, digest: child.digest, mediaType: cp.mediaType });
    }
    mediaType = parsed.mediaType;
  }
  const unique = [...new Map(blobs.map((b) => [b.descriptor.digest, b])).values()];
  const top = { bytes: topBytes, digest: sha256Digest(topBytes), mediaType };
  const topDesc = subjectOf(top.digest, top.bytes, mediaType);
  const referrers = await layoutReferrers(dir, index, entry.digest, topDesc);
  if (signature !== undefined) referrers.push(buildSignatureArtifact(signature, topDesc, createdTimestamp()));
  return { blobs: unique, children, top, referrers: dedupeArtifacts(referrers) };
}

/** One artifact per signature: `-S` with the signature a layout already carries adds nothing. */
function dedupeArtifacts(list: ImageArtifacts[]): ImageArtifacts[] {
  const seen = new Set<string>();
  return list.filter((a) => {
    const key = a.layers[0]?.descriptor.digest ?? a.manifestDigest;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function referrerSummary(a: ImageArtifacts, extra: { via?: ReferrersVia; tag?: string } = {}): PushedReferrer {
  return {
    digest: a.manifestDigest,
    size: a.manifestBytes.length,
    artifactType: a.manifest.artifactType ?? WASM_SIGNATURE_ARTIFACT,
    subject: a.manifest.subject?.digest as Digest,
    ...extra,
  };
}

/** `--mount-from` may be a repository ("team/app") or a reference on the same registry. */
function mountRepository(value: string, registry: string): string {
  if (!value.includes("/") || !/[.:]/.test(value.split("/")[0] ?? "")) return value.replace(/[:@].*$/, "");
  const r = parseReference(value);
  if (r.kind !== "registry") throw new UsageError(`--mount-from ${value}: expected a repository on ${registry}`, "BAD_MOUNT_FROM");
  if (r.registry !== registry) {
    throw new UsageError(`--mount-from ${value}: mounts work only within one registry (${r.registry} is not ${registry})`, "BAD_MOUNT_FROM");
  }
  return r.repository;
}

/**
 * An upload session that broke half way (connection reset during a PATCH, a 5xx, the registry
 * forgetting the session) cannot be resumed reliably: start the blob's upload again, within the
 * same retry budget as single requests.
 */
async function withUploadRetry(policy: RetryPolicy, digest: Digest, upload: () => Promise<void>): Promise<void> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await upload();
      return;
    } catch (e) {
      const status = e instanceof WasmOciError ? (e.details?.["status"] as number | undefined) : undefined;
      const transient =
        e instanceof WasmOciError && (e.code === "NETWORK" || (status !== undefined && (status >= 500 || status === 404 || status === 408 || status === 429)));
      const delay = transient ? retryDelay(policy, attempt, Date.now() - started, undefined) : undefined;
      if (delay === undefined) throw e;
      log.warn(`upload of ${digest} failed (${(e as Error).message}); starting it again in ${delay} ms`);
      await sleep(delay);
    }
  }
}

/** A mount the registry or token service refuses is not fatal: the blob is uploaded instead. */
async function tryMount(client: RegistryClient, repo: string, digest: Digest, from: string): Promise<boolean> {
  try {
    return await client.mountBlob(repo, digest, from);
  } catch (e) {
    if (e instanceof WasmOciError && (e.code === "UNAUTHORIZED" || e.code === "DENIED" || e.code === "NOT_FOUND")) {
      log.warn(`cannot mount ${digest} from ${from} (${e.message}); uploading it`);
      return false;
    }
    throw e;
  }
}

export async function push(opts: PushOptions): Promise<PushResult> {
  const annotations = opts.annotations ?? {};
  if (opts.signature !== undefined) checkSignatureBytes(opts.signature, "--signature");
  // Loaded first so a bad config is reported even for --dry-run; loading sends nothing.
  const settings = await loadOciSettings(opts.registryConfig !== undefined ? { registryConfig: opts.registryConfig } : {});
  const src = opts.source.startsWith("oci-layout:") ? parseReference(opts.source) : undefined;
  const plan =
    src !== undefined && src.kind === "layout"
      ? await planFromLayout(src.dir, { ...(src.tag !== undefined ? { tag: src.tag } : {}), ...(src.digest !== undefined ? { digest: src.digest } : {}) }, annotations, opts.signature)
      : await planFromWasm(opts.source, annotations, opts.wasm, opts.signature, opts.extraLayers);
  if (src !== undefined && (opts.extraLayers ?? []).length > 0) {
    throw new UsageError("--policy-layer applies when pushing a .wasm file; an image from a layout is pushed as it is (add the layer with `image --policy-layer`)", "BAD_FLAGS");
  }

  const dest = parseReference(opts.reference);
  const tags = [...new Set([...(dest.tag !== undefined ? [dest.tag] : []), ...(opts.tags ?? [])])];
  for (const t of opts.tags ?? []) {
    const problem = tagProblem(t);
    if (problem !== undefined) throw new UsageError(`invalid --tag "${t}": ${problem}`, "INVALID_TAG");
  }
  if (dest.digest !== undefined && dest.digest !== plan.top.digest) {
    throw new UsageError(`${opts.reference} names digest ${dest.digest}, but the manifest to push is ${plan.top.digest}`, "DIGEST_CONFLICT");
  }
  const manifestJson: unknown = JSON.parse(Buffer.from(plan.top.bytes).toString("utf8"));
  const baseResult = {
    digest: plan.top.digest,
    size: plan.top.bytes.length,
    mediaType: plan.top.mediaType,
    tags,
    manifest: manifestJson,
  };

  if (dest.kind === "layout") {
    if (plan.image === undefined) throw new UsageError("pushing from an OCI layout into another OCI layout is not supported; copy the directory", "LAYOUT_TO_LAYOUT");
    const blobs = plan.blobs.map((b) => ({ digest: b.descriptor.digest, size: b.descriptor.size, mediaType: b.descriptor.mediaType, status: (opts.dryRun ? "not-sent" : "uploaded") as BlobStatus }));
    if (!opts.dryRun) await addImageToLayout(dest.dir, plan.image, tags, plan.referrers);
    const via = opts.dryRun ? {} : { via: "oci-layout" as const };
    return { ...baseResult, reference: `oci-layout:${dest.dir}@${plan.top.digest}`, dryRun: opts.dryRun ?? false, blobs, referrers: plan.referrers.map((a) => referrerSummary(a, via)) };
  }

  const reference = formatReference({ kind: "registry", registry: dest.registry, repository: dest.repository, digest: plan.top.digest });
  if (opts.dryRun) {
    return {
      ...baseResult,
      reference,
      dryRun: true,
      blobs: plan.blobs.map((b) => ({ digest: b.descriptor.digest, size: b.descriptor.size, mediaType: b.descriptor.mediaType, status: "not-sent" })),
      referrers: plan.referrers.map((a) => referrerSummary(a)),
    };
  }

  const client = registryClient(settings, dest.registry);
  const repo = dest.repository;
  client.willPush(repo);
  const mountFrom = opts.mountFrom !== undefined ? mountRepository(opts.mountFrom, dest.registry) : undefined;

  const statuses = await mapLimit(plan.blobs, TRANSFER_CONCURRENCY, async (b): Promise<BlobStatus> => {
    const d = b.descriptor;
    if (await client.blobExists(repo, d.digest)) {
      log.debug(`blob ${d.digest} already in ${dest.registry}/${repo}`);
      return "exists";
    }
    if (mountFrom !== undefined && mountFrom !== repo && (await tryMount(client, repo, d.digest, mountFrom))) {
      log.debug(`blob ${d.digest} mounted from ${mountFrom}`);
      return "mounted";
    }
    await withUploadRetry(settings.http.options.retry, d.digest, async () => {
      const progress = progressBar(`push ${d.digest.slice(7, 19)}`, d.size);
      try {
        await client.uploadBlob(repo, d.digest, b.source, (n) => progress.add(n));
      } finally {
        progress.done();
      }
    });
    return "uploaded";
  });

  for (const child of plan.children) await client.putManifest(repo, child.digest, child.bytes, child.mediaType);
  if (tags.length === 0) {
    await client.putManifest(repo, plan.top.digest, plan.top.bytes, plan.top.mediaType);
  } else {
    for (const t of tags) await client.putManifest(repo, t, plan.top.bytes, plan.top.mediaType);
  }
  // Referrers go up after their subject: a registry may refuse a subject it does not hold yet.
  const referrers: PushedReferrer[] = [];
  for (const a of plan.referrers) {
    for (const b of [a.config, ...a.layers]) {
      if (!(await client.blobExists(repo, b.descriptor.digest))) await client.uploadBlob(repo, b.descriptor.digest, { size: b.bytes.length, bytes: b.bytes });
    }
    const put = await client.putManifestDetailed(repo, a.manifestDigest, a.manifestBytes, a.mediaType);
    const recorded = await recordReferrer(client, repo, a, put.ociSubject);
    log.info(`signature ${a.manifestDigest} refers to ${plan.top.digest} (${recorded.via === "tag-fallback" ? `referrers tag ${recorded.tag}` : "referrers API"})`);
    referrers.push(referrerSummary(a, recorded));
  }
  return {
    ...baseResult,
    reference,
    dryRun: false,
    blobs: plan.blobs.map((b, i) => ({ digest: b.descriptor.digest, size: b.descriptor.size, mediaType: b.descriptor.mediaType, status: statuses[i] as BlobStatus })),
    referrers,
  };
}
