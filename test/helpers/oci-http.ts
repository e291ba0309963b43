/**
 * Raw OCI distribution calls for test setup and independent checks, written straight against the
 * distribution spec with fetch (not through wasm-oci, so a test can check what the CLI did, or put
 * content in the registry the CLI would never produce: unknown media types, missing layers...).
 *
 *   const m = await getManifest(reg, "demo/app", "v1");   // { status, digest, json, bytes, mediaType }
 *   const d = await putBlob(reg, "demo/app", bytes);
 *   await putManifest(reg, "demo/app", "v1", manifestJson);
 *
 * `reg` is anything with `url` and, for auth, the Registry fields (`auth`, `username`, `password`,
 * `tokenServer`): Basic for htpasswd, a token from the token server for token mode.
 */
import { createHash } from "node:crypto";
import type { Registry } from "./registry.ts";

export type RegistryLike = Pick<Registry, "url"> & Partial<Pick<Registry, "auth" | "username" | "password" | "tokenServer">>;

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const WASM_CONFIG = "application/vnd.wasm.config.v0+json";
export const WASM_LAYER = "application/wasm";

export function sha256(bytes: Uint8Array | string): `sha256:${string}` {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

async function authHeader(reg: RegistryLike, repo: string): Promise<Record<string, string>> {
  if (reg.username === undefined || reg.password === undefined || reg.auth === undefined || reg.auth === "none") return {};
  const basic = `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString("base64")}`;
  if (reg.auth === "htpasswd") return { authorization: basic };
  const ts = reg.tokenServer;
  if (ts === undefined) return {};
  const q = new URLSearchParams({ service: ts.service, scope: `repository:${repo}:pull,push,delete` });
  const r = await fetch(`${ts.realm}?${q.toString()}`, { headers: { authorization: basic } });
  if (r.status !== 200) throw new Error(`token server answered ${r.status}`);
  const j = (await r.json()) as { token: string };
  return { authorization: `Bearer ${j.token}` };
}

export interface ManifestResult {
  status: number;
  digest: string | undefined;
  mediaType: string | undefined;
  bytes: Buffer;
  json: Record<string, unknown> | undefined;
}

export async function getManifest(reg: RegistryLike, repo: string, ref: string): Promise<ManifestResult> {
  const r = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
    headers: { accept: MANIFEST_ACCEPT, ...(await authHeader(reg, repo)) },
  });
  const bytes = Buffer.from(await r.arrayBuffer());
  let json: Record<string, unknown> | undefined;
  if (r.status === 200) json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  return {
    status: r.status,
    digest: r.status === 200 ? sha256(bytes) : undefined,
    mediaType: r.headers.get("content-type") ?? undefined,
    bytes,
    json,
  };
}

export async function getBlob(reg: RegistryLike, repo: string, digest: string): Promise<Buffer> {
  const r = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`, { headers: await authHeader(reg, repo) });
  if (r.status !== 200) throw new Error(`GET blob ${digest}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

/** POST then PUT (distribution ignores a body on the POST: facts.md section 5). */
export async function putBlob(reg: RegistryLike, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const headers = await authHeader(reg, repo);
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
  await start.arrayBuffer();
  if (start.status !== 202) throw new Error(`POST upload: ${start.status}`);
  const loc = new URL(start.headers.get("location") ?? "", reg.url);
  loc.searchParams.set("digest", digest);
  const put = await fetch(loc, {
    method: "PUT",
    headers: { ...headers, "content-type": "application/octet-stream", "content-length": String(bytes.length) },
    body: bytes,
  });
  await put.arrayBuffer();
  if (put.status !== 201) throw new Error(`PUT blob: ${put.status}`);
  return digest;
}

export async function putManifest(reg: RegistryLike, repo: string, ref: string, manifest: Record<string, unknown> | Buffer, mediaType = OCI_MANIFEST): Promise<string> {
  const bytes = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
  const r = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
    method: "PUT",
    headers: { ...(await authHeader(reg, repo)), "content-type": mediaType },
    body: bytes,
  });
  const text = await r.text();
  if (r.status !== 201) throw new Error(`PUT manifest: ${r.status} ${text}`);
  return sha256(bytes);
}

export async function deleteBlob(reg: RegistryLike, repo: string, digest: string): Promise<number> {
  const r = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`, { method: "DELETE", headers: await authHeader(reg, repo) });
  await r.arrayBuffer();
  return r.status;
}

export async function listTags(reg: RegistryLike, repo: string): Promise<string[]> {
  const r = await fetch(`${reg.url}/v2/${repo}/tags/list`, { headers: await authHeader(reg, repo) });
  if (r.status !== 200) return [];
  const j = (await r.json()) as { tags?: string[] | null };
  return j.tags ?? [];
}

/**
 * Pushes a wasm artifact by hand, in the CNCF layout unless told otherwise, for content the CLI
 * would not produce. Returns the manifest digest and what was pushed.
 */
export async function pushRawArtifact(
  reg: RegistryLike,
  repo: string,
  tag: string,
  wasm: Uint8Array,
  opts: { layerMediaType?: string; configMediaType?: string; config?: Record<string, unknown>; extraLayers?: Array<{ mediaType: string; bytes: Uint8Array }>; manifestMediaType?: string } = {},
): Promise<{ digest: string; layerDigest: string; configDigest: string; manifest: Record<string, unknown> }> {
  const config = Buffer.from(JSON.stringify(opts.config ?? { architecture: "wasm", os: "wasip2" }));
  const configDigest = await putBlob(reg, repo, config);
  const layerDigest = await putBlob(reg, repo, wasm);
  const layers: Array<Record<string, unknown>> = [
    { mediaType: opts.layerMediaType ?? WASM_LAYER, digest: layerDigest, size: wasm.length, annotations: { "org.opencontainers.image.title": "app.wasm" } },
  ];
  for (const extra of opts.extraLayers ?? []) {
    layers.push({ mediaType: extra.mediaType, digest: await putBlob(reg, repo, extra.bytes), size: extra.bytes.length });
  }
  const manifestMediaType = opts.manifestMediaType ?? OCI_MANIFEST;
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: { mediaType: opts.configMediaType ?? WASM_CONFIG, digest: configDigest, size: config.length },
    layers,
  };
  const digest = await putManifest(reg, repo, tag, manifest, manifestMediaType);
  return { digest, layerDigest, configDigest, manifest };
}

/** Every leaf value of a JSON document (for "the metadata records X somewhere" checks). */
export function jsonLeaves(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(jsonLeaves);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(jsonLeaves);
  return [value];
}

/** The first sha256 digest in a text (CLI stdout). */
export function firstDigest(text: string): string | undefined {
  return /sha256:[a-f0-9]{64}/.exec(text)?.[0];
}
