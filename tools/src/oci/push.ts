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
import { sha256Digest, type Digest } from "../util/digest.ts";
import { log } from "../util/log.ts";
import { mapLimit, TRANSFER_CONCURRENCY } from "./concurrency.ts";
import { addImageToLayout, layoutBlobPath, readLayoutIndex, selectLayoutEntry } from "./layout.ts";
import { parseManifest, type Descriptor } from "./manifest.ts";
import { progressBar } from "./progress.ts";
import { retryDelay, type RetryPolicy } from "./retry-policy.ts";
import { formatReference, parseReference, tagProblem } from "./reference.ts";
import type { BlobSource, RegistryClient } from "./registry-client.ts";
import { loadOciSettings, registryClient } from "./registry-settings.ts";
import { buildWasmImage, jsonBytes } from "./wasm-image.ts";

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
}

function fileSource(path: string, size: number): BlobSource {
  if (size === 0) return { size, bytes: new Uint8Array(0) };
  return { size, open: (start, end) => createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 }) };
}

async function planFromWasm(path: string, annotations: Record<string, string>, bytes?: Uint8Array): Promise<PushPlan> {
  let wasm: Uint8Array;
  try {
    wasm = bytes ?? (await readFile(path));
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`, "INPUT_UNREADABLE");
  }
  const image = buildWasmImage(wasm, { fileName: basename(path), annotations });
  return {
    blobs: [image.config, ...image.layers].map((b) => ({ descriptor: b.descriptor, source: { size: b.bytes.length, bytes: b.bytes } })),
    children: [],
    top: { bytes: image.manifestBytes, digest: image.manifestDigest, mediaType: image.mediaType },
    image,
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

async function planFromLayout(dir: string, sel: { tag?: string; digest?: Digest }, annotations: Record<string, string>): Promise<PushPlan> {
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
  return { blobs: unique, children, top: { bytes: topBytes, digest: sha256Digest(topBytes), mediaType } };
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
  // Loaded first so a bad config is reported even for --dry-run; loading sends nothing.
  const settings = await loadOciSettings(opts.registryConfig !== undefined ? { registryConfig: opts.registryConfig } : {});
  const src = opts.source.startsWith("oci-layout:") ? parseReference(opts.source) : undefined;
  const plan =
    src !== undefined && src.kind === "layout"
      ? await planFromLayout(src.dir, { ...(src.tag !== undefined ? { tag: src.tag } : {}), ...(src.digest !== undefined ? { digest: src.digest } : {}) }, annotations)
      : await planFromWasm(opts.source, annotations, opts.wasm);

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
    if (!opts.dryRun) await addImageToLayout(dest.dir, plan.image, tags);
    return { ...baseResult, reference: `oci-layout:${dest.dir}@${plan.top.digest}`, dryRun: opts.dryRun ?? false, blobs };
  }

  const reference = formatReference({ kind: "registry", registry: dest.registry, repository: dest.repository, digest: plan.top.digest });
  if (opts.dryRun) {
    return {
      ...baseResult,
      reference,
      dryRun: true,
      blobs: plan.blobs.map((b) => ({ digest: b.descriptor.digest, size: b.descriptor.size, mediaType: b.descriptor.mediaType, status: "not-sent" })),
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
  return {
    ...baseResult,
    reference,
    dryRun: false,
    blobs: plan.blobs.map((b, i) => ({ digest: b.descriptor.digest, size: b.descriptor.size, mediaType: b.descriptor.mediaType, status: statuses[i] as BlobStatus })),
  };
}
