/**
 * The components manifest `fetch -f` reads: wassette's provisioning manifest shape
 * (`version: 1`, `components: [{uri, name, digest, permissions}]`), plus one optional field of
 * ours per component, `signature: {public_key, type}`, that asks for signature verification
 * (what wassette users ask for in microsoft/wassette#25). `permissions` are not interpreted: they
 * go verbatim into the component's metadata for the runtime that enforces them.
 *
 * `digest` is the SHA-256 of the component bytes (wassette's meaning), for every URI scheme; it
 * is required for file:// and https:// (they have no manifest to pin). An `oci://` URI may also
 * pin its manifest with `@sha256:...`.
 */
import { READ_LIMITS, readTextFile } from "../util/bounded-read.ts";
import { dirname, resolve } from "node:path";
import * as z from "zod";
import { UsageError } from "../util/errors.ts";
import type { Digest } from "../util/digest.ts";

const digestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/, "expected sha256: followed by 64 lowercase hex digits");
/** Becomes DIR/<name>.wasm, .policy.yaml and .metadata.json: no path separators, no leading dot. */
const nameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "expected letters, digits, '.', '_' and '-' (at most 128, not starting with '.' or '-')");

export const componentEntrySchema = z.strictObject({
  uri: z.string().regex(/^(oci|file|https):\/\/./, "expected oci://host/repo[:tag][@sha256:...], file:///abs/path.wasm or https://host/path.wasm"),
  name: nameSchema.optional(),
  digest: digestSchema.optional(),
  /** Kept verbatim (wassette: network, storage, environment, resources). */
  permissions: z.unknown().optional(),
  /** Accepted for compatibility with wassette manifests; retries follow the registry config. */
  retry_policy: z.unknown().optional(),
  signature: z
    .strictObject({
      public_key: z.string().min(1, "expected the path of a public key file (relative to the manifest)"),
      type: z.enum(["embedded", "detached"]).default("embedded"),
    })
    .optional(),
});

export const componentsManifestSchema = z.strictObject({
  version: z.literal(1, "only version 1 is supported").optional(),
  components: z.array(componentEntrySchema).min(1, "declare at least one component"),
});

export type ComponentEntry = z.infer<typeof componentEntrySchema>;

/** A manifest entry with its name decided and paths made absolute. */
export interface ResolvedComponent {
  index: number;
  name: string;
  uri: string;
  scheme: "oci" | "file" | "https";
  digest?: Digest;
  permissions: unknown;
  signature?: { publicKey: string; type: "embedded" | "detached" };
}

export interface ComponentsManifest {
  path: string;
  components: ResolvedComponent[];
}

/** The name a URI gives when the entry has none: the repository's or the file's last part. */
export function defaultName(uri: string): string {
  const noDigest = uri.replace(/@sha256:[a-f0-9]*$/, "");
  if (uri.startsWith("oci://")) return (noDigest.split("/").pop() ?? "").replace(/:[^:]*$/, "");
  let last = "";
  try {
    last = decodeURIComponent(new URL(noDigest).pathname.split("/").pop() ?? "");
  } catch {
    return "";
  }
  return last.replace(/\.wasm$/, "");
}

export async function loadComponentsManifest(path: string): Promise<ComponentsManifest> {
  const { LineCounter, parseDocument } = await import("yaml");
  let text: string;
  try {
    text = await readTextFile(path, READ_LIMITS.configFile, "INPUT_UNREADABLE", "components manifest");
  } catch (e) {
    throw new UsageError(`cannot read components manifest ${path}: ${(e as Error).message}`, "INPUT_UNREADABLE");
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const at = lines.linePos(yamlError.pos[0]);
    throw new UsageError(`${path}:${at.line}:${at.col}: not valid YAML: ${yamlError.message.split("\n")[0]}`, "BAD_MANIFEST_FILE");
  }
  const parsed = componentsManifestSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    // The line of the deepest node the path reaches, so the message points at the bad value.
    let node: unknown;
    for (let n = issue.path.length; n >= 0 && node === undefined; n--) node = doc.getIn(issue.path.slice(0, n) as Array<string | number>, true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    const pos = range !== undefined ? lines.linePos(range[0]) : undefined;
    const field = issue.path.length ? issue.path.join(".") : "(root)";
    throw new UsageError(`${path}${pos !== undefined ? `:${pos.line}:${pos.col}` : ""}: ${field}: ${issue.message}`, "BAD_MANIFEST_FILE");
  }
  const base = dirname(resolve(path));
  const names = new Map<string, number>();
  const uris = new Map<string, number>();
  const components = parsed.data.components.map((c, index): ResolvedComponent => {
    const where = `${path}: components.${index}`;
    const scheme = c.uri.slice(0, c.uri.indexOf(":")) as ResolvedComponent["scheme"];
    const name = c.name ?? defaultName(c.uri);
    if (c.name === undefined && !nameSchema.safeParse(name).success) {
      throw new UsageError(`${where}: cannot derive a file name from uri ${c.uri} ("${name}"); give name:`, "BAD_MANIFEST_FILE");
    }
    const seenName = names.get(name);
    if (seenName !== undefined) throw new UsageError(`${where}: name "${name}" is also used by components.${seenName}; names must be unique (they name the files in the output directory)`, "BAD_MANIFEST_FILE");
    names.set(name, index);
    const seenUri = uris.get(c.uri);
    if (seenUri !== undefined) throw new UsageError(`${where}: uri ${c.uri} is also declared by components.${seenUri}`, "BAD_MANIFEST_FILE");
    uris.set(c.uri, index);
    if (scheme !== "oci" && c.digest === undefined && !/@sha256:[a-f0-9]{64}$/.test(c.uri)) {
      throw new UsageError(`${where}: a ${scheme}:// component needs digest: sha256:<hex> of its bytes (it has no manifest to pin)`, "BAD_MANIFEST_FILE");
    }
    if (scheme !== "oci" && c.signature?.type === "detached") {
      throw new UsageError(`${where}: signature type detached needs an oci:// component (the signature is the artifact that refers to its image)`, "BAD_MANIFEST_FILE");
    }
    return {
      index,
      name,
      uri: c.uri,
      scheme,
      ...(c.digest !== undefined ? { digest: c.digest as Digest } : {}),
      permissions: c.permissions ?? null,
      ...(c.signature !== undefined ? { signature: { publicKey: resolve(base, c.signature.public_key), type: c.signature.type } } : {}),
    };
  });
  return { path, components };
}
