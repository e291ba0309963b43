/**
 * One registry's distribution API (OCI distribution spec v1.1): manifests, blobs, uploads,
 * mounts and tags. Authentication and retries are below it (token-flow.ts, http.ts).
 */
import type { Readable } from "node:stream";
import { WasmOciError } from "../util/errors.ts";
import { sha256Digest, type Digest } from "../util/digest.ts";
import { header, urlForLog, type HttpClient, type HttpRequest, type HttpResponse, type RequestBody } from "./http.ts";
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES } from "./media-types.ts";
import { Authenticator, repositoryScope, UnauthorizedError, type CredentialLookup } from "./token-flow.ts";
import { schemeFor } from "./transport-security.ts";
import { isRetryableStatus } from "./retry-policy.ts";
import { formatBytes, READ_LIMITS, readBodyBounded, readBodyPrefix } from "../util/bounded-read.ts";

export interface RegistryClientOptions {
  /** host[:port] as used on the wire. */
  registry: string;
  insecure: boolean;
  http: HttpClient;
  credentials: CredentialLookup;
  /** Uploads larger than this are sent in PATCH chunks. */
  chunkThreshold?: number;
  chunkSize?: number;
}

export interface FetchedManifest {
  bytes: Buffer;
  digest: Digest;
  /** Content-Type as the registry sent it, without parameters. */
  contentType: string | undefined;
}

/** Blob content to upload: in memory, or a function giving a fresh stream of bytes [start, end) each call. */
export type BlobSource = { size: number; bytes: Uint8Array } | { size: number; open(start: number, end: number): Readable };

/**
 * Up to this size a blob goes up in one request, as skopeo, containerd, crane and oras send
 * every blob: each extra PATCH costs a round trip plus the registry saving its hash state
 * (about 20 ms per 32 MiB chunk against distribution). Larger blobs are chunked so no single
 * request body is unbounded; a registry entry's chunk_threshold_mib lowers this for proxies
 * that cap request bodies.
 */
export const DEFAULT_CHUNK_THRESHOLD = 512 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 128 * 1024 * 1024;

/** Error codes of the distribution spec body: {"errors":[{"code","message"}]}; only its first 64 KiB are read. */
async function registryErrorText(res: HttpResponse): Promise<string> {
  const { text } = await readBodyPrefix(res.body, READ_LIMITS.errorText);
  try {
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors.map((e) => [e.code, e.message].filter(Boolean).join(": ")).join("; ");
    }
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 300);
}

export class RegistryClient {
  readonly registry: string;
  readonly base: string;
  private readonly auth: Authenticator;
  private readonly chunkThreshold: number;
  private readonly chunkSize: number;

  constructor(private readonly options: RegistryClientOptions) {
    this.registry = options.registry;
    const scheme = schemeFor(options.registry, options.insecure);
    this.base = `${scheme}://${options.registry}`;
    this.auth = new Authenticator(options.registry, options.http, options.credentials, options.insecure);
    this.chunkThreshold = options.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD;
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  private readonly pushRepositories = new Set<string>();

  /**
   * Asks for pull,push tokens for every request to `repository`, so a push does not fetch one
   * token for its HEADs and another for its uploads.
   */
  willPush(repository: string): void {
    this.pushRepositories.add(repository);
  }

  private pullScope(repository: string): string {
    return repositoryScope(repository, this.pushRepositories.has(repository) ? "push" : "pull");
  }

  private url(repository: string, rest: string): URL {
    return new URL(`${this.base}/v2/${repository}/${rest}`);
  }

  private send(req: HttpRequest, scopes: string[]): Promise<HttpResponse> {
    return this.auth.send(req, scopes);
  }

  private async fail(res: HttpResponse, what: string, code?: string, retried = true): Promise<never> {
    if (res.status === 401 || res.status === 403) {
      await res.body.dump().catch(() => undefined);
      throw new UnauthorizedError(this.registry, res.status, await this.auth.knownCredential());
    }
    const detail = await registryErrorText(res);
    const gaveUp = retried && isRetryableStatus(res.status) ? " (still failing after retries)" : "";
    const c = code ?? (res.status === 404 ? "NOT_FOUND" : "REGISTRY_ERROR");
    throw new WasmOciError(c, `${what}: the registry answered HTTP ${res.status}${detail ? ` (${detail})` : ""}${gaveUp}`, {
      details: { status: res.status, registry: this.registry },
    });
  }

  /** GET a manifest by tag or digest; refuses bodies over 4 MiB before and while reading. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const url = this.url(repository, `manifests/${reference}`);
    const res = await this.send({ method: "GET", url, headers: { accept: MANIFEST_ACCEPT } }, [this.pullScope(repository)]);
    const sep = reference.startsWith("sha256:") ? "@" : ":";
    if (res.status !== 200) await this.fail(res, `manifest ${this.registry}/${repository}${sep}${reference}`, res.status === 404 ? "MANIFEST_NOT_FOUND" : undefined);
    const bytes = await readManifestBody(res, `${this.registry}/${repository}:${reference}`);
    const contentType = header(res, "content-type")?.split(";")[0]?.trim();
    return { bytes, digest: sha256Digest(bytes), contentType };
  }

  /** HEAD a manifest: its digest, or undefined if it does not exist. */
  async headManifest(repository: string, reference: string): Promise<{ digest?: Digest; size?: number; mediaType?: string } | undefined> {
    const res = await this.send(
      { method: "HEAD", url: this.url(repository, `manifests/${reference}`), headers: { accept: MANIFEST_ACCEPT } },
      [this.pullScope(repository)],
    );
    await res.body.dump().catch(() => undefined);
    if (res.status === 404) return undefined;
    if (res.status !== 200) await this.fail(res, `HEAD manifest ${this.registry}/${repository}:${reference}`);
    const d = header(res, "docker-content-digest");
    const len = header(res, "content-length");
    const mt = header(res, "content-type");
    return {
      ...(d !== undefined && /^sha256:[a-f0-9]{64}$/.test(d) ? { digest: d as Digest } : {}),
      ...(len !== undefined ? { size: Number(len) } : {}),
      ...(mt !== undefined ? { mediaType: mt } : {}),
    };
  }

  async putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<Digest> {
    return (await this.putManifestDetailed(repository, reference, bytes, mediaType)).digest;
  }

  /**
   * PUT a manifest; `ociSubject` is the OCI-Subject header a registry with the referrers API
   * answers for a manifest with a subject (distribution spec 1.1): then it keeps the referrers
   * list itself and the tag fallback is not needed.
   */
  async putManifestDetailed(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<{ digest: Digest; ociSubject?: string }> {
    const res = await this.send(
      { method: "PUT", url: this.url(repository, `manifests/${reference}`), headers: { "content-type": mediaType }, body: bytes },
      [repositoryScope(repository, "push")],
    );
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) await this.fail(res, `PUT manifest ${this.registry}/${repository}:${reference}`);
    await res.body.dump().catch(() => undefined);
    const digest = sha256Digest(bytes);
    const answered = header(res, "docker-content-digest");
    if (answered !== undefined && /^sha256:/.test(answered) && answered !== digest) {
      throw new WasmOciError("DIGEST_MISMATCH", `registry ${this.registry} stored manifest ${repository}:${reference} as ${answered}, expected ${digest}`);
    }
    const ociSubject = header(res, "oci-subject");
    return { digest, ...(ociSubject !== undefined ? { ociSubject } : {}) };
  }

  /**
   * GET /v2/<name>/referrers/<digest> (distribution spec 1.1): the referrers image index, or
   * undefined when the registry has no referrers API (404, as distribution 2.8 answers) so the
   * caller falls back to the `sha256-<hex>` tag. The body is read with the manifest size limit.
   */
  async getReferrers(repository: string, subject: Digest): Promise<Buffer | undefined> {
    const url = this.url(repository, `referrers/${subject}`);
    const res = await this.send({ method: "GET", url, headers: { accept: "application/vnd.oci.image.index.v1+json" } }, [this.pullScope(repository)]);
    if (res.status === 404 || res.status === 405) {
      await res.body.dump().catch(() => undefined);
      return undefined;
    }
    if (res.status !== 200) await this.fail(res, `referrers of ${this.registry}/${repository}@${subject}`);
    return readManifestBody(res, `referrers of ${this.registry}/${repository}@${subject}`);
  }

  async blobExists(repository: string, digest: Digest): Promise<boolean> {
    const res = await this.send({ method: "HEAD", url: this.url(repository, `blobs/${digest}`) }, [this.pullScope(repository)]);
    await res.body.dump().catch(() => undefined);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.fail(res, `HEAD blob ${this.registry}/${repository}@${digest}`);
  }

  /** GET a blob; redirects to storage are followed without our Authorization. The caller verifies the digest. */
  async getBlob(repository: string, digest: Digest): Promise<{ body: Readable; size: number | undefined }> {
    const res = await this.send({ method: "GET", url: this.url(repository, `blobs/${digest}`) }, [this.pullScope(repository)]);
    if (res.status !== 200) await this.fail(res, `blob ${this.registry}/${repository}@${digest}`, res.status === 404 ? "BLOB_NOT_FOUND" : undefined);
    const len = header(res, "content-length");
    return { body: res.body, size: len !== undefined ? Number(len) : undefined };
  }

  /** Cross-repository mount; false when the registry started an upload instead (the blob is then pushed normally). */
  async mountBlob(repository: string, digest: Digest, from: string): Promise<boolean> {
    const url = this.url(repository, "blobs/uploads/");
    url.searchParams.set("mount", digest);
    url.searchParams.set("from", from);
    const res = await this.send({ method: "POST", url, headers: { "content-length": "0" } }, [
      repositoryScope(repository, "push"),
      this.pullScope(from),
    ]);
    await res.body.dump().catch(() => undefined);
    if (res.status === 201) return true;
    if (res.status === 202) {
      // An upload session was opened instead; it is abandoned and expires on the registry.
      return false;
    }
    return this.fail(res, `mount ${digest} from ${from} into ${this.registry}/${repository}`);
  }

  /** Uploads a blob: POST then one PUT, or PATCH chunks then PUT above the threshold. */
  async uploadBlob(repository: string, digest: Digest, source: BlobSource, onProgress?: (bytes: number) => void): Promise<void> {
    const scopes = [repositoryScope(repository, "push")];
    const start = await this.send({ method: "POST", url: this.url(repository, "blobs/uploads/"), headers: { "content-length": "0" } }, scopes);
    if (start.status !== 202) await this.fail(start, `start upload of ${digest} to ${repository}`);
    await start.body.dump().catch(() => undefined);
    let location = this.location(start, `start upload of ${digest}`);
    const minChunk = Number(header(start, "oci-chunk-min-length") ?? "0");

    if (source.size <= this.chunkThreshold) {
      const url = withDigest(location, digest);
      const res = await this.send(
        {
          method: "PUT",
          url,
          headers: { "content-type": "application/octet-stream", "content-length": String(source.size) },
          body: bodyOf(source, 0, source.size),
        },
        scopes,
      );
      if (res.status !== 201) await this.fail(res, `upload of ${digest} to ${this.registry}/${repository}`, digestCode(res));
      await res.body.dump().catch(() => undefined);
      onProgress?.(source.size);
      return;
    }

    const chunk = Math.max(this.chunkSize, Number.isFinite(minChunk) ? minChunk : 0);
    for (let offset = 0; offset < source.size; offset += chunk) {
      const end = Math.min(source.size, offset + chunk);
      const res = await this.send(
        {
          method: "PATCH",
          url: new URL(location),
          headers: {
            "content-type": "application/octet-stream",
            "content-length": String(end - offset),
            "content-range": `${offset}-${end - 1}`,
          },
          body: bodyOf(source, offset, end),
          retry: false,
        },
        scopes,
      );
      if (res.status !== 202) await this.fail(res, `upload chunk ${offset}-${end - 1} of ${digest} to ${this.registry}/${repository}`, undefined, false);
      await res.body.dump().catch(() => undefined);
      location = this.location(res, `upload chunk of ${digest}`);
      onProgress?.(end - offset);
    }
    const url = withDigest(location, digest);
    const res = await this.send({ method: "PUT", url, headers: { "content-length": "0" } }, scopes);
    if (res.status !== 201) await this.fail(res, `finish upload of ${digest} to ${this.registry}/${repository}`, digestCode(res));
    await res.body.dump().catch(() => undefined);
  }

  async listTags(repository: string): Promise<string[]> {
    const tags: string[] = [];
    let url: URL | undefined = this.url(repository, "tags/list");
    for (let page = 0; url !== undefined && page < 1000; page++) {
      const res: HttpResponse = await this.send({ method: "GET", url }, [this.pullScope(repository)]);
      if (res.status !== 200) await this.fail(res, `tags of ${this.registry}/${repository}`);
      const bytes = await readBodyBounded(
        res.body,
        READ_LIMITS.tagList,
        (size) => new WasmOciError("TAG_LIST_TOO_LARGE", `tags of ${this.registry}/${repository}: a page of ${size} bytes or more; at most ${formatBytes(READ_LIMITS.tagList)} is read`),
        header(res, "content-length"),
      );
      let body: { tags?: string[] | null };
      try {
        body = JSON.parse(bytes.toString("utf8")) as { tags?: string[] | null };
      } catch {
        throw new WasmOciError("REGISTRY_ERROR", `tags of ${this.registry}/${repository}: the registry answered with invalid JSON`);
      }
      tags.push(...(body.tags ?? []));
      const link = header(res, "link");
      const m = link !== undefined ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
      url = m?.[1] !== undefined ? new URL(m[1], url) : undefined;
    }
    return tags;
  }

  private location(res: HttpResponse, what: string): string {
    const loc = header(res, "location");
    if (loc === undefined) throw new WasmOciError("REGISTRY_ERROR", `${what}: ${this.registry} sent no Location header`);
    return new URL(loc, res.url).toString();
  }

  toString(): string {
    return urlForLog(new URL(this.base));
  }
}

/** Appends digest= without re-encoding the registry's own opaque query (upload state tokens). */
function withDigest(location: string, digest: Digest): URL {
  const url = new URL(location);
  url.search = `${url.search}${url.search.length > 1 ? "&" : "?"}digest=${encodeURIComponent(digest)}`;
  return url;
}

function digestCode(res: HttpResponse): string | undefined {
  return res.status === 400 ? "UPLOAD_REJECTED" : undefined;
}

function bodyOf(source: BlobSource, start: number, end: number): RequestBody {
  if ("bytes" in source) return source.bytes.subarray(start, end);
  return () => source.open(start, end);
}

/** Reads a manifest-like body, refusing over 4 MiB from Content-Length and again while reading. */
function readManifestBody(res: HttpResponse, what: string): Promise<Buffer> {
  return readBodyBounded(res.body, MAX_MANIFEST_BYTES, (size) => tooLarge(what, size), header(res, "content-length"));
}

function tooLarge(what: string, size: number): WasmOciError {
  return new WasmOciError("MANIFEST_TOO_LARGE", `manifest ${what} is ${size} bytes; manifests over ${MAX_MANIFEST_BYTES} bytes (4 MiB) are refused`);
}
