/**
 * Packages a Wasm module or component as an OCI artifact in the CNCF TAG Runtime "Wasm OCI
 * Artifact layout": config application/vnd.wasm.config.v0+json, one application/wasm layer.
 * The output depends only on the inputs (and SOURCE_DATE_EPOCH), so digests are reproducible.
 */
import { basename } from "node:path";
import { readWasmNames } from "../component/names.ts";
import { UsageError } from "../util/errors.ts";
import { sha256Digest, type Digest } from "../util/digest.ts";
import type { Descriptor, ImageManifest } from "./manifest.ts";
import { ANNOTATION_CREATED, ANNOTATION_TITLE, OCI_MANIFEST, WASM_CONFIG, WASM_LAYER } from "./media-types.ts";

export interface BlobContent {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

/** A manifest with the content of every blob it names, ready for a layout or a push. */
export interface ImageArtifacts {
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  manifestDigest: Digest;
  mediaType: string;
  config: BlobContent;
  layers: BlobContent[];
}

export interface WasmImageOptions {
  /** Layer title (org.opencontainers.image.title); the input file's base name. */
  fileName: string;
  annotations?: Record<string, string>;
  /** RFC 3339; defaults to createdTimestamp(). */
  created?: string;
  /** The layer digest when the caller hashed the bytes while reading them (readFileWithDigest). */
  layerDigest?: Digest;
  /** Layers after the wasm layer (the policy layer of `--policy-layer`), in this order. */
  extraLayers?: BlobContent[];
}

export const FIXED_EPOCH = "1970-01-01T00:00:00Z";

/** SOURCE_DATE_EPOCH (reproducible-builds.org) if set, else the Unix epoch: never the wall clock. */
export function createdTimestamp(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env["SOURCE_DATE_EPOCH"];
  if (raw === undefined || raw.trim() === "") return FIXED_EPOCH;
  if (!/^\d+$/.test(raw.trim())) {
    throw new UsageError(`SOURCE_DATE_EPOCH="${raw}" is not a whole number of seconds since 1970-01-01`, "BAD_SOURCE_DATE_EPOCH");
  }
  const d = new Date(Number(raw.trim()) * 1000);
  if (Number.isNaN(d.getTime())) throw new UsageError(`SOURCE_DATE_EPOCH="${raw}" is out of range`, "BAD_SOURCE_DATE_EPOCH");
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Parses repeated --annotation K=V flags; a later key overrides an earlier one. */
export function parseAnnotations(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid --annotation "${v}": expected KEY=VALUE with a non-empty key`, "BAD_ANNOTATION");
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function jsonBytes(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), "utf8");
}

export function buildWasmImage(wasm: Uint8Array, options: WasmImageOptions): ImageArtifacts {
  const names = readWasmNames(wasm, options.fileName);
  const created = options.created ?? createdTimestamp();
  const userAnnotations = options.annotations ?? {};
  const layerDigest = options.layerDigest ?? sha256Digest(wasm);
  const layer: Descriptor = {
    mediaType: WASM_LAYER,
    digest: layerDigest,
    size: wasm.length,
    annotations: { [ANNOTATION_TITLE]: basename(options.fileName) },
  };

  const config: Record<string, unknown> = { created };
  const author = userAnnotations["org.opencontainers.image.authors"];
  if (author !== undefined) config["author"] = author;
  config["architecture"] = "wasm";
  config["os"] = names.kind === "component" ? "wasip2" : "wasip1";
  const extra = options.extraLayers ?? [];
  config["layerDigests"] = [layerDigest, ...extra.map((l) => l.descriptor.digest)];
  if (names.kind === "component") config["component"] = { exports: names.exports, imports: names.imports };
  const configBytes = jsonBytes(config);
  const configDesc: Descriptor = { mediaType: WASM_CONFIG, digest: sha256Digest(configBytes), size: configBytes.length };

  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDesc,
    layers: [layer, ...extra.map((l) => l.descriptor)],
    annotations: sortedRecord({ [ANNOTATION_CREATED]: created, ...userAnnotations }),
  };
  return imageArtifacts(manifest, { descriptor: configDesc, bytes: configBytes }, [{ descriptor: layer, bytes: wasm }, ...extra]);
}

/** An image manifest serialised and digested, with the config and layer blobs it names. */
export function imageArtifacts(manifest: ImageManifest, config: BlobContent, layers: BlobContent[]): ImageArtifacts {
  const manifestBytes = jsonBytes(manifest);
  return { manifest, manifestBytes, manifestDigest: sha256Digest(manifestBytes), mediaType: OCI_MANIFEST, config, layers };
}
