/**
 * `fetch -f components.yaml -o DIR`: provisions every component of a wassette-shaped manifest
 * into DIR as `<name>.wasm`, `<name>.policy.yaml` (when the image has a policy layer) and
 * `<name>.metadata.json`, concurrently (bounded), and records what each resolved to in a lock file.
 *
 * Each component is fetched into a staging directory inside DIR and checked there (digests,
 * the manifest's digest pin, its signature when the manifest or the security policy asks); only
 * then are its files renamed into place. A component that fails leaves nothing of itself in DIR
 * (older files of the same name are removed too, so DIR never holds a component the manifest's
 * checks did not pass), and the command fails naming it. A component whose lock entry, checks
 * and files still match is left alone: an `oci://` tag costs one manifest request, a pinned
 * reference none, and no blob is requested.
 */
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { READ_LIMITS, readTextFile } from "../util/bounded-read.ts";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { DigestMismatchError, WasmOciError, errorMessage } from "../util/errors.ts";
import { sha256Digest, sha256File, type Digest } from "../util/digest.ts";
import { log } from "../util/log.ts";
import { loadComponentsManifest, type ResolvedComponent } from "./manifest.ts";
import { readLock, writeLock, type LockEntry } from "./lock.ts";

export interface FetchOptions {
  manifest: string;
  outDir: string;
  /** Default: DIR/wasm-oci.lock.json. */
  lock?: string;
  registryConfig?: string;
  cacheDir?: string;
  /** Security policy JSON every component must pass (signatures it requires are verified). */
  policy?: string;
  concurrency?: number;
}

export interface FetchedComponent {
  name: string;
  uri: string;
  status: "fetched" | "unchanged";
  digest: Digest;
  manifestDigest?: Digest;
  policyLayer: boolean;
  signatureVerified: boolean;
}

export interface FetchResult {
  lock: string;
  components: FetchedComponent[];
}

export const DEFAULT_FETCH_CONCURRENCY = 4;
export const MAX_FETCH_CONCURRENCY = 16;

/** What DIR/<name>.metadata.json holds. */
interface ComponentMetadata {
  name: string;
  uri: string;
  digest: Digest;
  size: number;
  manifestDigest?: Digest;
  resolved?: string;
  policy?: { file: string; digest: Digest; mediaType: string };
  signature?: { type: "embedded" | "detached"; publicKey: string; keyIds: string[] };
  securityPolicy?: unknown;
  /** The manifest entry's permissions, verbatim (null when it gives none). */
  permissions: unknown;
}

const files = (dir: string, name: string) => ({
  wasm: join(dir, `${name}.wasm`),
  policy: join(dir, `${name}.policy.yaml`),
  metadata: join(dir, `${name}.metadata.json`),
  signature: join(dir, `${name}.sig`),
});

async function fileDigest(path: string): Promise<Digest | undefined> {
  try {
    return (await sha256File(path)).digest;
  } catch {
    return undefined;
  }
}

/** Digest of everything a component's checks depend on besides the bytes themselves. */
async function checksFingerprint(c: ResolvedComponent, policyDigest: Digest | undefined): Promise<string> {
  const keyDigest = c.signature !== undefined ? await fileDigest(c.signature.publicKey) : undefined;
  return sha256Digest(JSON.stringify({ uri: c.uri, digest: c.digest ?? null, signature: c.signature ? { type: c.signature.type, key: keyDigest ?? null } : null, policy: policyDigest ?? null }));
}

export async function fetchComponents(o: FetchOptions): Promise<FetchResult> {
  const manifest = await loadComponentsManifest(o.manifest);
  const outDir = resolve(o.outDir);
  const lockPath = o.lock ?? join(outDir, "wasm-oci.lock.json");
  const lock = await readLock(lockPath);
  const concurrency = Math.min(Math.max(1, o.concurrency ?? DEFAULT_FETCH_CONCURRENCY), MAX_FETCH_CONCURRENCY);
  const policyDigest = o.policy !== undefined ? await fileDigest(o.policy) : undefined;
  if (o.policy !== undefined) {
    // A broken policy fails before any request.
    await (await import("../policy/enforce.ts")).loadPolicyFile(o.policy);
  }
  const { loadOciSettings } = await import("../oci/registry-settings.ts");
  const settings = await loadOciSettings({ ...(o.registryConfig !== undefined ? { registryConfig: o.registryConfig } : {}), ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}) });
  await mkdir(outDir, { recursive: true });
  const stage = await mkdtemp(join(outDir, ".wasm-oci-fetch-"));
  const outcomes: Array<{ ok: true; entry: LockEntry; result: FetchedComponent } | { ok: false; c: ResolvedComponent; error: unknown }> = [];
  try {
    const { mapLimit } = await import("../oci/concurrency.ts");
    await mapLimit(manifest.components, concurrency, async (c) => {
      try {
        const checks = await checksFingerprint(c, policyDigest);
        const kept = await upToDate(c, lock.get(c.name), checks, outDir, settings);
        const done = kept ?? (await fetchOne(c, checks, outDir, stage, o));
        outcomes.push({ ok: true, ...done });
      } catch (error) {
        // Nothing of a component that failed its checks stays in DIR, not even an older version.
        const f = files(outDir, c.name);
        await Promise.all([f.wasm, f.policy, f.metadata].map((p) => rm(p, { force: true })));
        outcomes.push({ ok: false, c, error });
      }
    });
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  const entries = outcomes.flatMap((x) => (x.ok ? [x.entry] : []));
  await writeLock(lockPath, entries);
  const failed = outcomes.flatMap((x) => (x.ok ? [] : [x])).sort((a, b) => a.c.index - b.c.index);
  if (failed.length > 0) {
    const list = failed.map((f) => `${f.c.name} (${f.c.uri}): ${errorMessage(f.error)}`);
    const first = failed[0]?.error;
    throw new WasmOciError(
      first instanceof WasmOciError && failed.length === 1 ? first.code : "FETCH_FAILED",
      `${failed.length} of ${manifest.components.length} components failed, nothing of them is in ${outDir}: ${list.join("; ")}`,
      { details: { failed: failed.map((f) => f.c.name) } },
    );
  }
  const byIndex = new Map(manifest.components.map((c) => [c.name, c.index]));
  const components = outcomes.flatMap((x) => (x.ok ? [x.result] : [])).sort((a, b) => (byIndex.get(a.name) ?? 0) - (byIndex.get(b.name) ?? 0));
  return { lock: lockPath, components };
}

/**
 * The lock entry when nothing changed: same URI and checks, the files in DIR are the locked
 * bytes, and (for an `oci://` tag) the tag still resolves to the locked manifest. The metadata
 * is rewritten when only the permissions changed (no request needed for that).
 */
async function upToDate(
  c: ResolvedComponent,
  entry: LockEntry | undefined,
  checks: string,
  outDir: string,
  settings: import("../oci/registry-settings.ts").OciSettings,
): Promise<{ entry: LockEntry; result: FetchedComponent } | undefined> {
  if (entry === undefined || entry.uri !== c.uri || entry.checks !== checks) return undefined;
  const f = files(outDir, c.name);
  if ((await fileDigest(f.wasm)) !== entry.digest) return undefined;
  const policyOnDisk = await fileDigest(f.policy);
  if (policyOnDisk !== entry.policy?.digest) return undefined;
  let metadata: ComponentMetadata;
  try {
    metadata = JSON.parse(await readTextFile(f.metadata, READ_LIMITS.configFile, "BAD_METADATA", "metadata")) as ComponentMetadata;
  } catch {
    return undefined;
  }
  if (c.scheme === "oci") {
    const { parseReference } = await import("../oci/reference.ts");
    const ref = parseReference(c.uri);
    if (ref.kind !== "registry" || entry.manifestDigest === undefined) return undefined;
    if (ref.digest === undefined) {
      // The tag may have moved: one manifest request, no blob.
      const { Puller } = await import("../oci/pull.ts");
      const { RegistrySource } = await import("../oci/content-source.ts");
      const { pullEndpoints } = await import("../oci/registry-settings.ts");
      const client = pullEndpoints(settings, ref.registry)[0];
      if (client === undefined) return undefined;
      const resolved = await new Puller(settings, new RegistrySource(client, ref.repository)).resolve(ref.tag ?? "latest", undefined);
      if ((resolved.indexDigest ?? resolved.manifestDigest) !== entry.manifestDigest) return undefined;
    } else if (ref.digest !== entry.manifestDigest) {
      return undefined;
    }
  }
  if (JSON.stringify(metadata.permissions ?? null) !== JSON.stringify(c.permissions)) {
    await writeFileAtomic(f.metadata, `${JSON.stringify({ ...metadata, permissions: c.permissions }, null, 2)}\n`);
  }
  log.info(`${c.name}: unchanged (${entry.digest})`);
  return {
    entry,
    result: {
      name: c.name,
      uri: c.uri,
      status: "unchanged",
      digest: entry.digest,
      ...(entry.manifestDigest !== undefined ? { manifestDigest: entry.manifestDigest as Digest } : {}),
      policyLayer: entry.policy !== undefined,
      signatureVerified: c.signature !== undefined,
    },
  };
}

async function fetchOne(c: ResolvedComponent, checks: string, outDir: string, stageRoot: string, o: FetchOptions): Promise<{ entry: LockEntry; result: FetchedComponent }> {
  const stage = files(stageRoot, c.name);
  const dest = files(outDir, c.name);
  let manifestDigest: Digest | undefined;
  let resolvedRef: string | undefined;
  let policyLayer: { digest: Digest; mediaType: string } | undefined;
  let securityPolicy: unknown;
  if (c.scheme === "oci") {
    const { pull } = await import("../oci/pull.ts");
    const { parseReference, formatReference } = await import("../oci/reference.ts");
    const ref = parseReference(c.uri);
    let gate: import("../oci/pull.ts").PullOptions["gate"];
    let fetchSignature = false;
    if (o.policy !== undefined) {
      const { pullGate } = await import("../policy/pull-gate.ts");
      ({ gate, fetchSignature } = await pullGate({ policy: o.policy, reference: ref, output: `${c.name}.wasm`, componentName: c.name, registryConfig: o.registryConfig }));
    }
    const wantSignature = c.signature?.type === "detached";
    const { metadata } = await pull({
      reference: c.uri,
      output: stage.wasm,
      policyOutput: stage.policy,
      policyOptional: true,
      ...(o.registryConfig !== undefined ? { registryConfig: o.registryConfig } : {}),
      ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
      ...(gate !== undefined ? { gate } : {}),
      ...(fetchSignature ? { fetchSignature } : {}),
      ...(wantSignature ? { signatureOutput: stage.signature } : {}),
    });
    if (c.digest !== undefined && metadata.layer.digest !== c.digest) {
      throw new DigestMismatchError(`component ${c.name} (${c.uri})`, c.digest, metadata.layer.digest);
    }
    manifestDigest = metadata.indexDigest ?? metadata.manifestDigest;
    if (ref.kind === "registry") resolvedRef = formatReference({ kind: "registry", registry: ref.registry, repository: ref.repository, digest: manifestDigest });
    if (metadata.policyLayer?.output !== undefined) policyLayer = { digest: metadata.policyLayer.digest, mediaType: metadata.policyLayer.mediaType };
    securityPolicy = metadata.policy;
  } else {
    const { parseUrlReference, pullUrl } = await import("../oci/url-source.ts");
    const url = parseUrlReference(c.uri, c.digest);
    let gate: ((path: string) => Promise<unknown>) | undefined;
    if (o.policy !== undefined) {
      const enforce = await import("../policy/enforce.ts");
      const policy = await enforce.loadPolicyFile(o.policy);
      const registry = url.kind === "https" ? new URL(url.url).host : "";
      gate = (path) => enforce.enforcePolicy(policy, { component: c.name, registry, wasm: path, action: `${c.name} was not provisioned` });
    }
    const m = await pullUrl(url, stage.wasm, gate !== undefined ? { gate } : {});
    securityPolicy = m.policy;
  }

  let signature: ComponentMetadata["signature"];
  if (c.signature !== undefined) {
    const { loadPublicKeys, verifyFile } = await import("../sign/index.ts");
    const keys = await loadPublicKeys(c.signature.publicKey, "auto", `public key of component ${c.name}`);
    const v = await verifyFile(stage.wasm, keys, c.signature.type === "detached" ? { signatureFile: stage.signature } : {});
    if (!v.ok) {
      throw new WasmOciError("SIGNATURE_INVALID", `component ${c.name} (${c.uri}): the ${c.signature.type} signature does not verify with ${c.signature.publicKey}: ${v.reason}`);
    }
    signature = { type: c.signature.type, publicKey: c.signature.publicKey, keyIds: v.keys.filter((k) => k.ok).map((k) => k.keyId) };
    log.info(`${c.name}: ${c.signature.type} signature verified (${signature.keyIds.join(", ")})`);
  }

  const { digest, size } = await sha256File(stage.wasm);
  const metadata: ComponentMetadata = {
    name: c.name,
    uri: c.uri,
    digest,
    size,
    ...(manifestDigest !== undefined ? { manifestDigest } : {}),
    ...(resolvedRef !== undefined ? { resolved: resolvedRef } : {}),
    ...(policyLayer !== undefined ? { policy: { file: `${c.name}.policy.yaml`, ...policyLayer } } : {}),
    ...(signature !== undefined ? { signature } : {}),
    ...(securityPolicy !== undefined ? { securityPolicy } : {}),
    permissions: c.permissions,
  };
  await writeFileAtomic(stage.metadata, `${JSON.stringify(metadata, null, 2)}\n`);

  // Every check passed: move the files into place (each rename is atomic).
  await rename(stage.wasm, dest.wasm);
  if (policyLayer !== undefined) await rename(stage.policy, dest.policy);
  else await rm(dest.policy, { force: true });
  await rename(stage.metadata, dest.metadata);
  await rm(stage.signature, { force: true });
  log.info(`${c.name}: ${digest} -> ${dest.wasm}`);
  return {
    entry: {
      name: c.name,
      uri: c.uri,
      digest,
      size,
      ...(manifestDigest !== undefined ? { manifestDigest } : {}),
      ...(resolvedRef !== undefined ? { resolved: resolvedRef } : {}),
      ...(policyLayer !== undefined ? { policy: policyLayer } : {}),
      checks,
    },
    result: { name: c.name, uri: c.uri, status: "fetched", digest, ...(manifestDigest !== undefined ? { manifestDigest } : {}), policyLayer: policyLayer !== undefined, signatureVerified: signature !== undefined },
  };
}
