/**
 * Pulls one Wasm module or component: resolves the manifest (through an index if needed),
 * verifies every digest, and writes the layer atomically. Manifests, configs and layers go
 * through the content-addressed cache, so a second pull of the same digest sends no blob request.
 */
import { once } from "node:events";
import { rename, rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { asWriteError, openAtomic, writeFileAtomic, type AtomicFile } from "../util/atomic-write.ts";
import { DigestMismatchError, UsageError, WasmOciError, errorMessage } from "../util/errors.ts";
import { DigestVerifier, type Digest } from "../util/digest.ts";
import { log } from "../util/log.ts";
import { BlobCache } from "./blob-cache.ts";
import { LayoutSource, RegistrySource, type ContentSource } from "./content-source.ts";
import { describeNetworkError } from "./http.ts";
import { parseManifest, selectFromIndex, selectWasmLayer, type Descriptor, type ImageManifest } from "./manifest.ts";
import { MAX_MANIFEST_BYTES } from "./media-types.ts";
import { progressBar } from "./progress.ts";
import { formatReference, parseReference } from "./reference.ts";
import { isRetryableError, retryDelay } from "./retry-policy.ts";
import { loadOciSettings, pullEndpoints, type OciSettings } from "./registry-settings.ts";
import type { Reference } from "./types.ts";
import type { PolicyRecord } from "../policy/enforce.ts";
import { findSignatureReferrers, type ReferrersVia } from "./referrers.ts";
import { POLICY_LAYER_TYPES, selectPolicyLayer } from "./policy-layer.ts";
import { checkSignatureBytes, referrersTag, signatureLayerOf, WASM_SIGNATURE_ARTIFACT } from "./signature-artifact.ts";

export interface PullOptions {
  reference: string;
  output: string;
  digest?: Digest;
  registryConfig?: string;
  metadata?: string;
  cacheDir?: string;
  /**
   * Runs on the verified layer (the temp file) before it is renamed to `output`; throwing
   * leaves no output. `pull --policy` decides here; the record goes into the metadata.
   */
  gate?: (verifiedPath: string, found: FoundSignatures) => Promise<PolicyRecord>;
  /**
   * Look up the detached signature artifact that refers to the pulled manifest (referrers API,
   * else the `sha256-<hex>` tag; index.json for a layout), verify its digests and hand it to the
   * gate. With `signatureOutput` it is written there (atomically) and a missing one is an error.
   */
  fetchSignature?: boolean;
  signatureOutput?: string;
  /**
   * Write the policy layer (any of POLICY_LAYER_TYPES) here, digest-checked and atomically; an
   * image without one is an error and leaves no output.
   */
  policyOutput?: string;
  /** With policyOutput: an image without a policy layer is fine (nothing is written there). */
  policyOptional?: boolean;
}

/** Detached signatures found for a pull, most recently listed first (each digest-checked). */
export interface FoundSignatures {
  candidates: Array<{ detachedSignature: Uint8Array; signature: PulledSignature }>;
}

/** At most this many signature artifacts of one image are fetched (newest first). */
export const MAX_SIGNATURE_CANDIDATES = 16;

/** The detached signature found for a pull. */
export interface PulledSignature {
  manifestDigest: Digest;
  layerDigest: Digest;
  size: number;
  subject: Digest;
  via: ReferrersVia;
}

/** What `--metadata` records (and `pull --json` prints). */
export interface PullMetadata {
  reference: string;
  registry?: string;
  repository?: string;
  tag?: string;
  /** The host that served the pull when it was a mirror. */
  mirror?: string;
  manifestDigest: Digest;
  manifestMediaType: string;
  /** Set when the reference named an image index. */
  indexDigest?: Digest;
  artifactType?: string;
  layer: { digest: Digest; size: number; mediaType: string; annotations: Record<string, string> };
  config: { digest: Digest; size: number; mediaType: string; content: unknown };
  annotations: Record<string, string>;
  /** The security policy decision, with --policy. */
  policy?: PolicyRecord;
  /** The detached signature artifact used or written (with --signature-output or a detached policy). */
  signature?: PulledSignature & { output?: string };
  /** The image's policy layer (wassette), when it has one; `output` with --policy-output. */
  policyLayer?: { digest: Digest; size: number; mediaType: string; output?: string };
}

export interface PullResult {
  metadata: PullMetadata;
  output: string;
}

const WRITE_BATCH_BYTES = 1 << 20;
const MAX_WRITE_BACKLOG = 16 << 20;

interface Resolved {
  manifest: ImageManifest;
  manifestDigest: Digest;
  mediaType: string;
  indexDigest?: Digest;
}

/** Errors that say the content itself is wrong: another mirror must not be tried, and no retry helps. */
function isContentError(e: unknown): boolean {
  if (e instanceof DigestMismatchError || e instanceof UsageError) return true;
  if (!(e instanceof WasmOciError)) return false;
  return [
    "DIGEST_MISMATCH",
    "SIZE_MISMATCH",
    "BAD_MANIFEST",
    "UNSUPPORTED_MANIFEST",
    "NO_WASM_LAYER",
    "MULTIPLE_WASM_LAYERS",
    "NO_WASM_MANIFEST",
    "MANIFEST_TOO_LARGE",
    "IO_ERROR",
    "DISK_FULL",
    "WRITE_FAILED",
    "POLICY_DENIED",
    "NO_SIGNATURE",
    "BAD_SIGNATURE_ARTIFACT",
    "BAD_SIGNATURE_FILE",
    "BAD_REFERRERS_TAG",
    "NO_POLICY_LAYER",
    "MULTIPLE_POLICY_LAYERS",
    "POLICY_TOO_LARGE",
  ].includes(e.code);
}

export class Puller {
  private readonly cache: BlobCache | NoCache;

  constructor(
    private readonly settings: OciSettings,
    private readonly source: ContentSource,
  ) {
    // A local layout is already content-addressed storage: copying it into the cache gains nothing.
    this.cache = source instanceof LayoutSource ? new NoCache() : new BlobCache(settings.cacheDir);
  }

  private async manifestBytes(reference: string, expected: Digest | undefined, what: string): Promise<{ bytes: Buffer; digest: Digest; contentType?: string }> {
    if (expected !== undefined) {
      const cached = await this.cache.readBytes(expected);
      if (cached !== undefined) {
        log.debug(`manifest ${expected} from cache`);
        return { bytes: cached, digest: expected };
      }
    }
    const fetched = await this.source.fetchManifest(reference);
    if (expected !== undefined && fetched.digest !== expected) throw new DigestMismatchError(what, expected, fetched.digest);
    await this.cache.putBytes(fetched.digest, fetched.bytes);
    return { bytes: fetched.bytes, digest: fetched.digest, ...(fetched.contentType !== undefined ? { contentType: fetched.contentType } : {}) };
  }

  async resolve(reference: string, expected: Digest | undefined): Promise<Resolved> {
    const what = `manifest of ${this.source.name}${reference.startsWith("sha256:") ? "@" : ":"}${reference}`;
    const top = await this.manifestBytes(reference, expected, what);
    const parsed = parseManifest(top.bytes, top.contentType, what);
    if (parsed.kind === "manifest") return { manifest: parsed.manifest, manifestDigest: top.digest, mediaType: parsed.mediaType };
    const child = selectFromIndex(parsed.index, `image index ${this.source.name}@${top.digest}`);
    const childWhat = `manifest ${this.source.name}@${child.digest}`;
    const c = await this.manifestBytes(child.digest, child.digest, childWhat);
    const cp = parseManifest(c.bytes, c.contentType ?? child.mediaType, childWhat);
    if (cp.kind !== "manifest") throw new WasmOciError("UNSUPPORTED_MANIFEST", `${childWhat} is an index nested in an index; expected an image manifest`);
    return { manifest: cp.manifest, manifestDigest: c.digest, mediaType: cp.mediaType, indexDigest: top.digest };
  }

  /**
   * The detached signatures that refer to `subjects[0]` (else a later subject, e.g. the index the
   * reference named), most recently listed first, each manifest and blob digest-checked: a
   * tampered one fails the pull rather than being skipped.
   */
  async detachedSignatures(subjects: Digest[]): Promise<Array<{ bytes: Buffer; info: PulledSignature }>> {
    for (const subject of subjects) {
      const { descriptors, via } = await findSignatureReferrers(this.source, subject);
      if (descriptors.length === 0) continue;
      const newest = descriptors.slice(-MAX_SIGNATURE_CANDIDATES).reverse();
      if (descriptors.length > newest.length) log.warn(`${descriptors.length} signature artifacts refer to ${subject}; checking the ${newest.length} listed last`);
      const out: Array<{ bytes: Buffer; info: PulledSignature }> = [];
      for (const desc of newest) {
        const what = `signature artifact ${this.source.name}@${desc.digest}`;
        const m = await this.manifestBytes(desc.digest, desc.digest, what);
        const parsed = parseManifest(m.bytes, m.contentType ?? desc.mediaType, what);
        if (parsed.kind !== "manifest") throw new WasmOciError("BAD_SIGNATURE_ARTIFACT", `${what} is an image index; expected an image manifest`);
        const layer = signatureLayerOf(parsed.manifest, subject, what);
        const bytes = await this.smallBlob(layer);
        checkSignatureBytes(bytes, `signature blob ${layer.digest} of ${this.source.name}`);
        out.push({ bytes, info: { manifestDigest: desc.digest, layerDigest: layer.digest, size: layer.size, subject, via } });
      }
      return out;
    }
    return [];
  }

  /** A small blob (the config), verified and cached. */
  async smallBlob(desc: Descriptor): Promise<Buffer> {
    const cached = await this.cache.readBytes(desc.digest);
    if (cached !== undefined) {
      // The digest matched, but a descriptor whose size lies is refused as it is from the network.
      if (cached.length !== desc.size) throw sizeMismatch(desc, this.source.name, cached.length);
      return cached;
    }
    if (desc.size > MAX_MANIFEST_BYTES) {
      throw new WasmOciError("CONFIG_TOO_LARGE", `config ${desc.digest} of ${this.source.name} is ${desc.size} bytes; at most 4 MiB is read`);
    }
    return this.withBlobRetry(desc, async () => {
      const { body } = await this.source.openBlob(desc.digest);
      const verifier = new DigestVerifier(desc.digest, `blob ${desc.digest} of ${this.source.name}`);
      const chunks: Buffer[] = [];
      for await (const chunk of body) {
        const b = chunk as Buffer;
        verifier.update(b);
        if (verifier.size > desc.size) {
          body.destroy();
          throw sizeMismatch(desc, this.source.name, verifier.size);
        }
        chunks.push(b);
      }
      if (verifier.size !== desc.size) {
        verifier.check();
        throw sizeMismatch(desc, this.source.name, verifier.size);
      }
      verifier.check();
      const bytes = Buffer.concat(chunks);
      await this.cache.putBytes(desc.digest, bytes);
      return bytes;
    });
  }

  /** Writes a layer to `output` atomically: from the cache if it holds it, else streamed and verified. */
  async layerToFile(desc: Descriptor, output: string, beforeRename?: (tempPath: string) => Promise<void>): Promise<void> {
    const fromCache = await openOutput(output, beforeRename);
    try {
      let copied = 0;
      if (await this.cache.copyTo(desc.digest, desc.size, fromCache.stream, (n) => (copied += n))) {
        // An entry with the right digest but another size than the descriptor's: the descriptor
        // lies, exactly as when the registry sends those bytes (and metadata must not record it).
        if (copied !== desc.size) throw sizeMismatch(desc, this.source.name, copied);
        await fromCache.commit();
        log.debug(`layer ${desc.digest} from cache`);
        return;
      }
    } catch (e) {
      await fromCache.abort();
      throw e;
    }
    await fromCache.abort();

    await this.withBlobRetry(desc, async () => {
      const file = await openOutput(output, beforeRename);
      try {
        const { body } = await this.source.openBlob(desc.digest);
        await this.streamVerified(desc, body, file);
        await file.commit();
      } catch (e) {
        await file.abort();
        throw e;
      }
    });
    await this.cache.putFile(desc.digest, output);
  }

  private async streamVerified(desc: Descriptor, body: Readable, file: AtomicFile): Promise<void> {
    const verifier = new DigestVerifier(desc.digest, `layer ${desc.digest} of ${this.source.name}`);
    const progress = progressBar(`pull ${desc.digest.slice(7, 19)}`, desc.size);
    // Socket chunks are small (~64 KiB); writing them in ~1 MiB batches saves most write calls.
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = async (): Promise<void> => {
      if (batched === 0) return;
      const chunks = batch;
      batch = [];
      batched = 0;
      // Corked, the batch goes to the file in one writev: joining it first cost a copy of every
      // byte (~90 ms of CPU per 100 MiB in a --cpu-prof of pull).
      file.stream.cork();
      for (const c of chunks) file.stream.write(c);
      file.stream.uncork();
      // The stream's own high-water mark (16 KiB) would stall the download on every write; let the
      // disk lag the network by a bounded amount instead.
      if (file.stream.writableLength > MAX_WRITE_BACKLOG) await once(file.stream, "drain");
    };
    try {
      for await (const chunk of body) {
        const b = chunk as Buffer;
        verifier.update(b);
        if (verifier.size > desc.size) {
          body.destroy();
          throw sizeMismatch(desc, this.source.name, verifier.size);
        }
        progress.add(b.length);
        batch.push(b);
        batched += b.length;
        if (batched >= WRITE_BATCH_BYTES) await flush();
      }
      await flush();
    } finally {
      progress.done();
    }
    if (verifier.size !== desc.size) {
      // Shorter than the descriptor says: a digest check names the real problem best.
      verifier.check();
      throw sizeMismatch(desc, this.source.name, verifier.size);
    }
    verifier.check();
  }

  /** A blob body can die half way (connection reset, truncation): start it again, within the retry budget. */
  private async withBlobRetry<T>(desc: Descriptor, attempt: () => Promise<T>): Promise<T> {
    const policy = this.settings.http.options.retry;
    const started = Date.now();
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        if (e instanceof WasmOciError) throw e;
        if (!isRetryableError(e)) {
          // File-system errors (syscall set) are reported by pull() as I/O errors, not network ones.
          if ((e as { syscall?: unknown }).syscall !== undefined) throw e;
          throw new WasmOciError("NETWORK", `reading blob ${desc.digest} from ${this.source.name} failed: ${describeNetworkError(e)}`, { cause: e });
        }
        const delay = retryDelay(policy, n, Date.now() - started, undefined);
        if (delay === undefined) {
          throw new WasmOciError("NETWORK", `reading blob ${desc.digest} from ${this.source.name} failed after ${n} attempts: ${describeNetworkError(e)}`, {
            cause: e,
          });
        }
        log.debug(`blob ${desc.digest} interrupted (${describeNetworkError(e)}); retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  }
}

/**
 * openAtomic, but an unwritable location fails here instead of as an unhandled stream error, and
 * commit() waits for every queued write and refuses to rename a file a write failed on (writes
 * are queued without waiting for each one, see MAX_WRITE_BACKLOG). abort() still removes the
 * temp file.
 */
async function openOutput(path: string, beforeRename?: (tempPath: string) => Promise<void>): Promise<AtomicFile> {
  const file = await openAtomic(path);
  let failure: unknown;
  file.stream.on("error", (e) => {
    failure ??= e;
  });
  try {
    await once(file.stream, "open");
  } catch (e) {
    await file.abort().catch(() => undefined);
    throw e;
  }
  return {
    tempPath: file.tempPath,
    stream: file.stream,
    get failure() {
      return failure;
    },
    async commit() {
      if (failure === undefined) {
        // end()'s callback runs once every queued write has landed (or with the write's error).
        await new Promise<void>((resolve) =>
          (file.stream.end as (cb: (err?: Error | null) => void) => void).call(file.stream, (err) => {
            if (err) failure ??= err;
            resolve();
          }),
        );
      }
      if (failure !== undefined) throw failure;
      if (beforeRename !== undefined) await beforeRename(file.tempPath);
      await rename(file.tempPath, path);
    },
    abort: () => file.abort(),
  };
}

class NoCache {
  async readBytes(_digest: Digest): Promise<Buffer | undefined> {
    return undefined;
  }
  async copyTo(_digest: Digest, _size: number, _dest: unknown): Promise<boolean> {
    return false;
  }
  async putBytes(_digest: Digest, _bytes: Uint8Array): Promise<void> {}
  async putFile(_digest: Digest, _src: string): Promise<void> {}
}

function sizeMismatch(desc: Descriptor, source: string, got: number): WasmOciError {
  return new WasmOciError("SIZE_MISMATCH", `blob ${desc.digest} of ${source}: the descriptor says ${desc.size} bytes, got ${got}`);
}

function sourcesFor(settings: OciSettings, ref: Reference): ContentSource[] {
  if (ref.kind === "layout") return [new LayoutSource(ref.dir)];
  return pullEndpoints(settings, ref.registry).map((c) => new RegistrySource(c, ref.repository));
}

/** File-system failures (a full disk, an unwritable output, a directory in the way) become one typed error. */
function asIoError(e: unknown, output: string): unknown {
  return asWriteError(e, output);
}

export async function pull(opts: PullOptions): Promise<PullResult> {
  try {
    return await pullAny(opts);
  } catch (e) {
    throw asIoError(e, opts.output);
  }
}

async function pullAny(opts: PullOptions): Promise<PullResult> {
  const ref = parseReference(opts.reference);
  if (opts.digest !== undefined && ref.digest !== undefined && opts.digest !== ref.digest) {
    throw new UsageError(`--digest ${opts.digest} contradicts the digest in the reference ${opts.reference}`, "DIGEST_CONFLICT");
  }
  const expected = opts.digest ?? ref.digest;
  const settings = await loadOciSettings({
    ...(opts.registryConfig !== undefined ? { registryConfig: opts.registryConfig } : {}),
    ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
  });
  const sources = sourcesFor(settings, ref);
  const failures: string[] = [];
  let firstError: unknown;
  for (const [i, source] of sources.entries()) {
    try {
      const mirror = i > 0 && source instanceof RegistrySource ? source.client.registry : undefined;
      const metadata = await pullFrom(settings, source, ref, opts, expected, mirror);
      return { metadata, output: opts.output };
    } catch (caught) {
      await rm(opts.output, { force: true }).catch(() => undefined);
      if (opts.signatureOutput !== undefined) await rm(opts.signatureOutput, { force: true }).catch(() => undefined);
      if (opts.policyOutput !== undefined) await rm(opts.policyOutput, { force: true }).catch(() => undefined);
      // A local write failure would fail on every mirror too.
      const e = asIoError(caught, opts.output);
      if (isContentError(e) || i === sources.length - 1) {
        if (i === 0 || isContentError(e)) throw e;
        const primary = firstError instanceof WasmOciError ? firstError : undefined;
        throw new WasmOciError(primary?.code ?? "PULL_FAILED", `${errorMessage(firstError)}; mirrors also failed: ${[...failures.slice(1), `${source.name}: ${errorMessage(e)}`].join("; ")}`, {
          cause: e,
        });
      }
      if (i === 0) firstError = e;
      failures.push(`${source.name}: ${errorMessage(e)}`);
      log.warn(`pull from ${source.name} failed (${errorMessage(e)}); trying mirror ${sources[i + 1]?.name}`);
    }
  }
  throw new WasmOciError("PULL_FAILED", "no source to pull from");
}

async function pullFrom(
  settings: OciSettings,
  source: ContentSource,
  ref: Reference,
  opts: PullOptions,
  expected: Digest | undefined,
  mirror: string | undefined,
): Promise<PullMetadata> {
  const puller = new Puller(settings, source);
  const reference = expected ?? ref.tag ?? (source instanceof LayoutSource ? await source.defaultReference() : "latest");
  const resolved = await puller.resolve(reference, expected);
  const what = `manifest ${source.name}@${resolved.manifestDigest}`;
  const layer = selectWasmLayer(resolved.manifest, what);
  const configDesc = resolved.manifest.config as Descriptor;
  const policyLayer = selectPolicyLayer(resolved.manifest, what);
  // Fetched (and digest-checked) before the layer, so a missing or corrupt one leaves no output.
  let policyBytes: Buffer | undefined;
  if (opts.policyOutput !== undefined && !(policyLayer === undefined && opts.policyOptional === true)) {
    if (policyLayer === undefined) {
      throw new WasmOciError(
        "NO_POLICY_LAYER",
        `${what} has no policy layer (${POLICY_LAYER_TYPES.join(", ")}); found ${resolved.manifest.layers.map((l) => l.mediaType).join(", ") || "no layers"}; nothing was written`,
      );
    }
    policyBytes = await puller.smallBlob(policyLayer);
  }
  let policy: PolicyRecord | undefined;
  // The signature is fetched before the layer, so a missing or corrupt one leaves no output.
  let signatures: Array<{ bytes: Buffer; info: PulledSignature }> = [];
  if (opts.fetchSignature === true || opts.signatureOutput !== undefined) {
    const subjects = [resolved.manifestDigest, ...(resolved.indexDigest !== undefined ? [resolved.indexDigest] : [])];
    signatures = await puller.detachedSignatures(subjects);
    if (signatures.length === 0 && opts.signatureOutput !== undefined) {
      throw new WasmOciError(
        "NO_SIGNATURE",
        `no detached signature artifact (${WASM_SIGNATURE_ARTIFACT}) refers to ${source.name}@${resolved.manifestDigest}: looked ${source instanceof LayoutSource ? "in index.json" : `in the referrers API and at tag ${referrersTag(resolved.manifestDigest)}`}; nothing was written`,
      );
    }
    for (const s of signatures) log.info(`detached signature ${s.info.manifestDigest} refers to ${s.info.subject} (via ${s.info.via})`);
  }
  // --signature-output writes the most recently listed one.
  const signature = signatures[0];
  const gate = opts.gate;
  const found: FoundSignatures = { candidates: signatures.map((s) => ({ detachedSignature: new Uint8Array(s.bytes), signature: s.info })) };
  const beforeRename =
    gate === undefined
      ? undefined
      : async (tempPath: string): Promise<void> => {
          policy = await gate(tempPath, found);
        };
  // Config and layer are independent: fetch them together.
  // Both settle before any failure is reported, so a failed pull never races a late output write.
  const [configResult, layerResult] = await Promise.allSettled([puller.smallBlob(configDesc), puller.layerToFile(layer, opts.output, beforeRename)]);
  if (layerResult.status === "rejected") throw layerResult.reason;
  if (configResult.status === "rejected") throw configResult.reason;
  const configBytes = configResult.value;
  let configContent: unknown = null;
  try {
    configContent = JSON.parse(configBytes.toString("utf8"));
  } catch {
    configContent = null;
  }

  if (signature !== undefined && opts.signatureOutput !== undefined) {
    try {
      await writeFileAtomic(opts.signatureOutput, signature.bytes);
    } catch (e) {
      await rm(opts.output, { force: true }).catch(() => undefined);
      throw new WasmOciError("WRITE_FAILED", `cannot write signature ${opts.signatureOutput}: ${errorMessage(e)}`, { cause: e });
    }
  }
  if (policyBytes !== undefined && opts.policyOutput !== undefined) {
    try {
      await writeFileAtomic(opts.policyOutput, policyBytes);
    } catch (e) {
      await rm(opts.output, { force: true }).catch(() => undefined);
      throw new WasmOciError("WRITE_FAILED", `cannot write policy ${opts.policyOutput}: ${errorMessage(e)}`, { cause: e });
    }
  }
  const metadata: PullMetadata = {
    reference: formatReference(ref),
    ...(ref.kind === "registry" ? { registry: ref.registry, repository: ref.repository } : {}),
    ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
    ...(mirror !== undefined ? { mirror } : {}),
    manifestDigest: resolved.manifestDigest,
    manifestMediaType: resolved.mediaType,
    ...(resolved.indexDigest !== undefined ? { indexDigest: resolved.indexDigest } : {}),
    ...(resolved.manifest.artifactType !== undefined ? { artifactType: resolved.manifest.artifactType } : {}),
    layer: { digest: layer.digest, size: layer.size, mediaType: layer.mediaType, annotations: layer.annotations ?? {} },
    config: { digest: configDesc.digest, size: configDesc.size, mediaType: configDesc.mediaType, content: configContent },
    annotations: resolved.manifest.annotations ?? {},
    ...(policy !== undefined ? { policy } : {}),
    ...(signature !== undefined ? { signature: { ...signature.info, ...(opts.signatureOutput !== undefined ? { output: opts.signatureOutput } : {}) } } : {}),
    ...(policyLayer !== undefined
      ? { policyLayer: { digest: policyLayer.digest, size: policyLayer.size, mediaType: policyLayer.mediaType, ...(policyBytes !== undefined && opts.policyOutput !== undefined ? { output: opts.policyOutput } : {}) } }
      : {}),
  };
  if (opts.metadata !== undefined) {
    try {
      await writeFileAtomic(opts.metadata, `${JSON.stringify(metadata, null, 2)}\n`);
    } catch (e) {
      await rm(opts.output, { force: true }).catch(() => undefined);
      throw new WasmOciError("WRITE_FAILED", `cannot write metadata ${opts.metadata}: ${errorMessage(e)}`, { cause: e });
    }
  }
  return metadata;
}
