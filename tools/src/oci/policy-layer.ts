/**
 * The optional policy layer beside the wasm layer (wassette's multi-layer artifacts): a YAML
 * file of the component's runtime permissions. Written as the CNCF type; read as any of the
 * types wassette accepts. The YAML is not interpreted here (its schema is the runtime's), only
 * checked to be YAML, so a typo fails at packaging time instead of at load time.
 */
import { basename } from "node:path";
import { readRegularFile } from "../util/bounded-read.ts";
import { UsageError, WasmOciError } from "../util/errors.ts";
import { sha256Digest } from "../util/digest.ts";
import type { Descriptor, ImageManifest } from "./manifest.ts";
import { ANNOTATION_TITLE } from "./media-types.ts";
import type { BlobContent } from "./wasm-image.ts";

export const POLICY_LAYER = "application/vnd.wasm.policy.v1+yaml";
/** What wassette reads as a policy layer: the CNCF type, its own legacy type, and generic YAML. */
export const POLICY_LAYER_TYPES: readonly string[] = [POLICY_LAYER, "application/vnd.wassette.policy+yaml", "application/x-yaml", "text/yaml"];
/** A permissions file is a few KiB; anything near this is a mistake or an attack. */
export const MAX_POLICY_BYTES = 1024 * 1024;

/** Checks that `bytes` are one YAML document; the error names the file, line and column. */
export async function checkPolicyYaml(bytes: Uint8Array, what: string): Promise<void> {
  const { LineCounter, parseDocument } = await import("yaml");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${what} is not UTF-8 text; expected a YAML policy file`, "BAD_POLICY_LAYER");
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const err = doc.errors[0];
  if (err !== undefined) {
    const at = lines.linePos(err.pos[0]);
    throw new UsageError(`${what}:${at.line}:${at.col}: not valid YAML: ${err.message.split("\n")[0]}`, "BAD_POLICY_LAYER");
  }
}

/** Reads `--policy-layer FILE` into the layer it becomes. */
export async function readPolicyLayerFile(path: string): Promise<BlobContent> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(
      path,
      MAX_POLICY_BYTES,
      (size) => new UsageError(`policy file ${path} is ${size} bytes or more; at most ${MAX_POLICY_BYTES} (1 MiB) are accepted`, "POLICY_TOO_LARGE"),
    );
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read policy file ${path}: ${(e as Error).message}`, "INPUT_UNREADABLE");
  }
  await checkPolicyYaml(bytes, `policy file ${path}`);
  return { descriptor: { mediaType: POLICY_LAYER, digest: sha256Digest(bytes), size: bytes.length, annotations: { [ANNOTATION_TITLE]: basename(path) } }, bytes };
}

/** The policy layer of a manifest, if any; more than one is ambiguous and refused. */
export function selectPolicyLayer(manifest: ImageManifest, what: string): Descriptor | undefined {
  const found = manifest.layers.filter((l) => POLICY_LAYER_TYPES.includes(l.mediaType)) as Descriptor[];
  if (found.length > 1) {
    throw new WasmOciError("MULTIPLE_POLICY_LAYERS", `${what} has ${found.length} policy layers (${found.map((l) => l.mediaType).join(", ")}); expected at most one`);
  }
  const layer = found[0];
  if (layer !== undefined && layer.size > MAX_POLICY_BYTES) {
    throw new WasmOciError("POLICY_TOO_LARGE", `policy layer ${layer.digest} of ${what} is ${layer.size} bytes; at most ${MAX_POLICY_BYTES} (1 MiB) are read`);
  }
  return layer;
}
