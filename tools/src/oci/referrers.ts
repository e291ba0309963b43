/**
 * Referrers of an image (distribution spec 1.1): publishing a signature artifact so a puller can
 * find it from the image's digest, and finding it again. The referrers API
 * (`GET /v2/<name>/referrers/<digest>`) is used when the registry has it; otherwise the OCI 1.1
 * tag fallback: an image index at tag `sha256-<hex>` listing the referrers, which the pusher
 * maintains (read, add, write back, check). distribution 2.8 (the registry here) has no
 * referrers API.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { WasmOciError } from "../util/errors.ts";
import type { Digest } from "../util/digest.ts";
import { log } from "../util/log.ts";
import { LayoutSource, RegistrySource, type ContentSource } from "./content-source.ts";
import { findLayoutSignatureEntries, readLayoutIndex } from "./layout.ts";
import { parseManifest, type Descriptor, type ImageIndex } from "./manifest.ts";
import { OCI_INDEX } from "./media-types.ts";
import type { RegistryClient } from "./registry-client.ts";
import { mergeReferrersIndex, referrerDescriptor, referrersTag, signatureReferrers } from "./signature-artifact.ts";
import type { ImageArtifacts } from "./wasm-image.ts";

export type ReferrersVia = "referrers-api" | "tag-fallback" | "oci-layout";

/** The image index at the fallback tag, or undefined when the tag does not exist. */
async function fallbackIndex(client: RegistryClient, repository: string, subject: Digest): Promise<ImageIndex | undefined> {
  const tag = referrersTag(subject);
  let fetched;
  try {
    fetched = await client.getManifest(repository, tag);
  } catch (e) {
    if (e instanceof WasmOciError && e.code === "MANIFEST_NOT_FOUND") return undefined;
    throw e;
  }
  const parsed = parseManifest(fetched.bytes, fetched.contentType, `referrers tag ${client.registry}/${repository}:${tag}`);
  if (parsed.kind !== "index") {
    throw new WasmOciError(
      "BAD_REFERRERS_TAG",
      `${client.registry}/${repository}:${tag} should be the referrers index of ${subject} (OCI 1.1 tag fallback) but holds an image manifest; remove or rename that tag`,
    );
  }
  return parsed.index;
}

/** Write-then-check rounds of the fallback tag before a push gives up on it. */
export const MAX_REFERRERS_TAG_ROUNDS = 6;

/**
 * Records `artifact` (already pushed, by digest) as a referrer of its subject. A registry that
 * answered OCI-Subject on the PUT keeps the list itself; otherwise the fallback tag is updated
 * by read, add, write back. Registries offer no conditional PUT for tags, so a pusher that read
 * the list just before our write can overwrite it without our entry: after writing, we wait
 * about two of our own round trips (the window in which such a write can still arrive), read the
 * tag again and add ourselves again if we were dropped. Concurrent pushers converge (each round
 * keeps what every earlier winner wrote); the residual risk is a writer slower than that window.
 */
export async function recordReferrer(
  client: RegistryClient,
  repository: string,
  artifact: ImageArtifacts,
  ociSubject: string | undefined,
  wait: (ms: number) => Promise<void> = sleep,
): Promise<{ via: ReferrersVia; tag?: string }> {
  const subject = artifact.manifest.subject?.digest as Digest | undefined;
  if (subject === undefined) throw new WasmOciError("BAD_SIGNATURE_ARTIFACT", `artifact ${artifact.manifestDigest} has no subject`);
  if (ociSubject !== undefined && ociSubject === subject) return { via: "referrers-api" };
  const tag = referrersTag(subject);
  const entry = referrerDescriptor(artifact);
  for (let round = 1; ; round++) {
    const t0 = performance.now();
    const { index, changed } = mergeReferrersIndex(await fallbackIndex(client, repository, subject), entry);
    if (!changed) return { via: "tag-fallback", tag };
    await client.putManifest(repository, tag, Buffer.from(JSON.stringify(index), "utf8"), OCI_INDEX);
    log.debug(`referrers tag ${client.registry}/${repository}:${tag} now lists ${index.manifests.length} artifact(s)`);
    const roundTrip = performance.now() - t0;
    // Jitter desynchronises pushers that collided, so the next round has one winner.
    await wait(Math.round(Math.max(50, 2 * roundTrip) * (1 + Math.random())));
    const after = await fallbackIndex(client, repository, subject);
    if (after !== undefined && signatureReferrers(after).some((d) => d.digest === entry.digest)) return { via: "tag-fallback", tag };
    if (round >= MAX_REFERRERS_TAG_ROUNDS) {
      throw new WasmOciError(
        "REFERRERS_TAG_CONTENDED",
        `${client.registry}/${repository}:${tag} was overwritten by concurrent pushes ${round} times without listing signature ${entry.digest}; the signature is pushed but not listed: push again`,
      );
    }
    log.warn(`referrers tag ${client.registry}/${repository}:${tag} was overwritten by a concurrent push without signature ${entry.digest}; adding it again`);
  }
}

/**
 * A referrers API answer with `"manifests": null` read as the empty list it means: registries
 * written in Go (cuelabs ociregistry, which `cue mod registry` serves) encode an empty list as a
 * nil slice. Anything else malformed is left for parseManifest to report.
 */
function nullListAsEmpty(body: Buffer): Buffer {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return body;
  }
  if (typeof json !== "object" || json === null || (json as Record<string, unknown>)["manifests"] !== null) return body;
  return Buffer.from(JSON.stringify({ ...json, manifests: [] }), "utf8");
}

/**
 * Signature artifacts that refer to `subject`: from the referrers API, else the fallback tag (a
 * registry), or from index.json (a layout). The index is untrusted: every descriptor found is
 * checked again when its manifest is fetched by digest.
 */
export async function findSignatureReferrers(source: ContentSource, subject: Digest): Promise<{ descriptors: Descriptor[]; via: ReferrersVia }> {
  if (source instanceof LayoutSource) {
    return { descriptors: await findLayoutSignatureEntries(source.dir, await readLayoutIndex(source.dir), subject), via: "oci-layout" };
  }
  if (!(source instanceof RegistrySource)) return { descriptors: [], via: "tag-fallback" };
  const api = await source.client.getReferrers(source.repository, subject);
  if (api !== undefined) {
    const parsed = parseManifest(nullListAsEmpty(api), OCI_INDEX, `referrers of ${source.name}@${subject}`);
    if (parsed.kind === "index") {
      const found = signatureReferrers(parsed.index);
      if (found.length > 0) return { descriptors: found, via: "referrers-api" };
    }
  }
  const index = await fallbackIndex(source.client, source.repository, subject);
  return { descriptors: index !== undefined ? signatureReferrers(index) : [], via: "tag-fallback" };
}
