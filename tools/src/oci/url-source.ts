/**
 * Component references that are not in a registry, as wassette accepts them: `file:///abs/x.wasm`
 * and `https://host/x.wasm`. Neither has a manifest to pin, so the reference must carry the
 * SHA-256 of the component bytes (`...x.wasm@sha256:<hex>` or `--digest`): the bytes are
 * verified while they are written, and a mismatch leaves no output. Plain `http://` is refused:
 * without a registry's content addressing, the pin is the only integrity check, and TLS keeps a
 * network attacker from even serving a substitute.
 */
import { openRegularFile } from "../util/bounded-read.ts";
import { once } from "node:events";
import { rename } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import type { Readable } from "node:stream";
import { openAtomic } from "../util/atomic-write.ts";
import { DigestVerifier, isDigest, type Digest } from "../util/digest.ts";
import { UsageError, WasmOciError, errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";

/** A component a URL serves is a file, not an upload target: anything past this is refused. */
export const MAX_URL_COMPONENT_BYTES = 1024 * 1024 * 1024;

export interface UrlReference {
  kind: "file" | "https";
  /** The URL without the digest suffix. */
  url: string;
  /** For file: the absolute path. */
  path?: string;
  digest: Digest;
}

/** What `pull --metadata` records for a URL reference. */
export interface UrlPullMetadata {
  reference: string;
  source: "file" | "https";
  url: string;
  digest: Digest;
  size: number;
  /** Set when the policy gate decided (pull --policy). */
  policy?: unknown;
}

export function isUrlReference(ref: string): boolean {
  return /^(file|https?):\/\//i.test(ref);
}

/** Parses `file:///abs/x.wasm[@sha256:...]` or `https://host/x.wasm[@sha256:...]`; the pin may also come from `digest`. */
export function parseUrlReference(ref: string, digest?: Digest): UrlReference {
  const fail = (why: string): never => {
    throw new UsageError(`invalid reference "${ref}": ${why}`, "INVALID_REFERENCE", { reference: ref });
  };
  let url = ref;
  let pinned: Digest | undefined;
  const m = /@(sha256:[^/@]*)$/.exec(ref);
  if (m !== null) {
    const d = m[1] as string;
    if (!isDigest(d)) fail(`the digest must be sha256: followed by 64 lowercase hex digits`);
    pinned = d as Digest;
    url = ref.slice(0, m.index);
  }
  if (pinned !== undefined && digest !== undefined && pinned !== digest) {
    throw new UsageError(`--digest ${digest} contradicts the digest in the reference ${ref}`, "DIGEST_CONFLICT");
  }
  const pin = pinned ?? digest;
  if (/^http:\/\//i.test(url)) fail("plain http:// is not accepted; serve the component over https:// (and pin its sha256 digest)");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail("not a valid URL");
  }
  if (pin === undefined) {
    fail(`a ${parsed.protocol}// reference needs the sha256 digest of the component: append @sha256:<hex> or give --digest (a URL has no manifest to pin)`);
  }
  if (parsed.protocol === "file:") {
    if (parsed.host !== "" && parsed.host !== "localhost") fail(`a file: URL names a local file (file:///abs/path.wasm), not host "${parsed.host}"`);
    const path = fileURLToPath(parsed);
    if (!isAbsolute(path)) fail("a file: URL needs an absolute path (file:///abs/path.wasm)");
    return { kind: "file", url, path, digest: pin as Digest };
  }
  if (parsed.username !== "" || parsed.password !== "") fail("credentials in a URL are not accepted (they would end up in logs and lock files)");
  return { kind: "https", url, digest: pin as Digest };
}

async function openSource(ref: UrlReference, timeoutMs: number): Promise<{ body: Readable; size?: number }> {
  if (ref.kind === "file") {
    try {
      // A regular file only: a FIFO would block the open, /dev/zero would run to the size limit.
      const { handle, size } = await openRegularFile(ref.path as string);
      return { body: handle.createReadStream({ highWaterMark: 1 << 20 }), size };
    } catch (e) {
      throw new WasmOciError("NOT_FOUND", `cannot read ${ref.url}: ${errorMessage(e)}`, { cause: e });
    }
  }
  const { HttpClient, header } = await import("./http.ts");
  const { DEFAULT_RETRY_POLICY } = await import("./retry-policy.ts");
  const client = new HttpClient({ timeoutMs, retry: DEFAULT_RETRY_POLICY });
  const res = await client.send({ method: "GET", url: new URL(ref.url), headers: { accept: "application/wasm, */*" } });
  if (res.url.protocol !== "https:") {
    await res.body.dump().catch(() => undefined);
    throw new WasmOciError("BAD_REDIRECT", `${ref.url} redirected to ${res.url.origin}, which is not https; refusing`);
  }
  if (res.status !== 200) {
    await res.body.dump().catch(() => undefined);
    throw new WasmOciError(res.status === 404 ? "NOT_FOUND" : "HTTP_ERROR", `GET ${ref.url} answered HTTP ${res.status}`, { details: { status: res.status } });
  }
  const length = header(res, "content-length");
  const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
  if (size !== undefined && size > MAX_URL_COMPONENT_BYTES) {
    await res.body.dump().catch(() => undefined);
    throw new WasmOciError("TOO_LARGE", `${ref.url} is ${size} bytes; at most ${MAX_URL_COMPONENT_BYTES} (1 GiB) are fetched`);
  }
  return { body: res.body as unknown as Readable, ...(size !== undefined ? { size } : {}) };
}

/**
 * Copies the component a URL reference names to `output` (atomically), verifying the pinned
 * digest; `gate` runs on the verified temp file before the rename (pull --policy).
 */
export async function pullUrl(
  ref: UrlReference,
  output: string,
  opts: { gate?: (verifiedPath: string) => Promise<unknown>; timeoutMs?: number } = {},
): Promise<UrlPullMetadata> {
  const { body } = await openSource(ref, opts.timeoutMs ?? 60_000);
  const file = await openAtomic(output);
  const verifier = new DigestVerifier(ref.digest, ref.url);
  let decision: unknown;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      verifier.update(b);
      if (verifier.size > MAX_URL_COMPONENT_BYTES) {
        body.destroy();
        throw new WasmOciError("TOO_LARGE", `${ref.url} is larger than ${MAX_URL_COMPONENT_BYTES} bytes (1 GiB); refusing`);
      }
      if (!file.stream.write(b)) await once(file.stream, "drain");
    }
    verifier.check();
    await new Promise<void>((resolve, reject) => file.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (opts.gate !== undefined) decision = await opts.gate(file.tempPath);
    await rename(file.tempPath, output);
  } catch (e) {
    body.destroy();
    await file.abort();
    throw e;
  }
  log.info(`${ref.url}: ${verifier.size} bytes, ${ref.digest} verified`);
  return {
    reference: `${ref.url}@${ref.digest}`,
    source: ref.kind,
    url: ref.url,
    digest: ref.digest,
    size: verifier.size,
    ...(decision !== undefined ? { policy: decision } : {}),
  };
}
