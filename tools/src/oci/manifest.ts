/**
 * Manifest and index documents (OCI image spec, Docker v2 schema 2) as zod schemas, plus the
 * decisions a puller makes on them: which manifest of an index is the wasm one, which layer
 * carries the module or component.
 */
import * as z from "zod";
import { WasmOciError } from "../util/errors.ts";
import type { Digest } from "../util/digest.ts";
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, INDEX_TYPES, MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST, WASM_LAYER_TYPES } from "./media-types.ts";

const digestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/, "expected sha256: followed by 64 lowercase hex digits");

export const descriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
  artifactType: z.string().optional(),
  platform: z
    .looseObject({
      architecture: z.string(),
      os: z.string(),
      variant: z.string().optional(),
    })
    .optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema> & { digest: Digest };

export const imageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageManifest = z.infer<typeof imageManifestSchema>;

export const imageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageIndex = z.infer<typeof imageIndexSchema>;

export type ParsedManifest =
  | { kind: "manifest"; mediaType: string; manifest: ImageManifest }
  | { kind: "index"; mediaType: string; index: ImageIndex };

function issues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`).join("; ");
}

/**
 * Parses manifest bytes. The media type comes from the document's own mediaType, else the
 * Content-Type the registry sent, else from its shape (an OCI manifest may omit mediaType).
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, what: string): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (e) {
    throw new WasmOciError("BAD_MANIFEST", `${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null) throw new WasmOciError("BAD_MANIFEST", `${what} is not a JSON object`);
  const obj = json as Record<string, unknown>;
  if (obj["schemaVersion"] === 1) {
    throw new WasmOciError("UNSUPPORTED_MANIFEST", `${what} is a Docker schema 1 manifest, which is not supported`);
  }
  const declared = typeof obj["mediaType"] === "string" ? obj["mediaType"] : undefined;
  const ct = contentType !== undefined && (MANIFEST_TYPES.includes(contentType) || INDEX_TYPES.includes(contentType)) ? contentType : undefined;
  const mediaType = declared ?? ct ?? (Array.isArray(obj["manifests"]) ? OCI_INDEX : OCI_MANIFEST);
  if (INDEX_TYPES.includes(mediaType)) {
    const r = imageIndexSchema.safeParse(json);
    if (!r.success) throw new WasmOciError("BAD_MANIFEST", `${what} is not a valid image index: ${issues(r.error)}`);
    return { kind: "index", mediaType, index: r.data };
  }
  if (MANIFEST_TYPES.includes(mediaType)) {
    const r = imageManifestSchema.safeParse(json);
    if (!r.success) throw new WasmOciError("BAD_MANIFEST", `${what} is not a valid image manifest: ${issues(r.error)}`);
    return { kind: "manifest", mediaType, manifest: r.data };
  }
  throw new WasmOciError(
    "UNSUPPORTED_MANIFEST",
    `${what} has media type ${mediaType}; expected one of ${[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(", ")}`,
  );
}

function looksWasm(d: Descriptor): boolean {
  return (
    d.platform?.architecture === "wasm" ||
    d.platform?.os === "wasip1" ||
    d.platform?.os === "wasip2" ||
    d.platform?.os === "wasi" ||
    (d.artifactType !== undefined && /wasm/i.test(d.artifactType))
  );
}

/** Chooses the wasm manifest of an index: platform wasm/wasip*, or wasm artifactType, or the only manifest. */
export function selectFromIndex(index: ImageIndex, what: string): Descriptor {
  const manifests = index.manifests.filter((m) => MANIFEST_TYPES.includes(m.mediaType)) as Descriptor[];
  const wasm = manifests.filter(looksWasm);
  if (wasm.length >= 1) {
    // Prefer a component (wasip2) over a module when both are offered.
    return (wasm.find((m) => m.platform?.os === "wasip2") ?? wasm[0]) as Descriptor;
  }
  if (manifests.length === 1) return manifests[0] as Descriptor;
  const found = index.manifests.map((m) => {
    const p = m.platform !== undefined ? ` ${m.platform.os}/${m.platform.architecture}` : "";
    return `${m.mediaType}${p}${m.artifactType ? ` (${m.artifactType})` : ""}`;
  });
  throw new WasmOciError(
    "NO_WASM_MANIFEST",
    `${what} is an image index without a wasm manifest (platform wasm or wasip1/wasip2); it lists: ${found.length ? found.join(", ") : "nothing"}`,
  );
}

/** The layer that carries the module or component; exactly one of the known wasm layer types. */
export function selectWasmLayer(manifest: ImageManifest, what: string): Descriptor {
  const wasm = manifest.layers.filter((l) => WASM_LAYER_TYPES.includes(l.mediaType)) as Descriptor[];
  if (wasm.length === 1) return wasm[0] as Descriptor;
  const found = manifest.layers.map((l) => l.mediaType);
  if (wasm.length === 0) {
    throw new WasmOciError(
      "NO_WASM_LAYER",
      `${what} has no wasm layer: found ${found.length ? found.join(", ") : "no layers"}; expected one of ${WASM_LAYER_TYPES.join(", ")}`,
      { details: { found } },
    );
  }
  throw new WasmOciError("MULTIPLE_WASM_LAYERS", `${what} has ${wasm.length} wasm layers (${found.join(", ")}); expected exactly one`, {
    details: { found },
  });
}
