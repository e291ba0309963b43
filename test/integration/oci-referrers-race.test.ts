/**
 * The OCI 1.1 referrers tag fallback under concurrent pushers, against the real registry (which
 * has no referrers API and no conditional PUT): every signature pushed at the same moment must
 * end up listed in the `sha256-<hex>` index.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { interfaceComponent } from "../helpers/wasm-fixtures.ts";
import { getManifest } from "../helpers/oci-http.ts";
import { loadOciSettings, registryClient } from "../../tools/src/oci/registry-settings.ts";
import { buildWasmImage } from "../../tools/src/oci/wasm-image.ts";
import { buildSignatureArtifact, referrersTag } from "../../tools/src/oci/signature-artifact.ts";
import { recordReferrer } from "../../tools/src/oci/referrers.ts";
import type { ImageArtifacts } from "../../tools/src/oci/wasm-image.ts";
import type { RegistryClient } from "../../tools/src/oci/registry-client.ts";

const CREATED = "1970-01-01T00:00:00Z";

/** Signature data shaped as wasmsign2 writes it (one set, one hash, one signature), varied by `n`. */
function signatureData(n: number): Uint8Array {
  return Buffer.concat([Buffer.from([1, 1, 1, 1, 0x66, 1]), Buffer.alloc(32, n), Buffer.from([1, 0x43, 0, 1, 0x40]), Buffer.alloc(64, n + 1)]);
}

async function pushArtifact(client: RegistryClient, repo: string, a: ImageArtifacts): Promise<void> {
  for (const b of [a.config, ...a.layers]) {
    if (!(await client.blobExists(repo, b.descriptor.digest))) await client.uploadBlob(repo, b.descriptor.digest, { size: b.bytes.length, bytes: b.bytes });
  }
  await client.putManifest(repo, a.manifestDigest, a.manifestBytes, a.mediaType);
}

describe.skipIf(!registryAvailable())("referrers tag fallback under concurrent pushers (real docker-registry)", () => {
  let reg: Registry;

  beforeAll(async () => {
    reg = await startRegistry();
  }, 60_000);

  afterAll(async () => {
    await reg?.stop();
  });

  it("five signatures recorded at the same moment are all listed", async () => {
    const settings = await loadOciSettings({});
    const client = registryClient(settings, reg.host);
    const repo = "race/app";
    client.willPush(repo);
    const image = buildWasmImage(await interfaceComponent(), { fileName: "app.wasm", created: CREATED });
    await pushArtifact(client, repo, image);
    const subject = { mediaType: image.mediaType, digest: image.manifestDigest, size: image.manifestBytes.length };
    const signatures = [0, 1, 2, 3, 4].map((n) => buildSignatureArtifact(signatureData(n * 2), subject, CREATED));
    for (const s of signatures) await pushArtifact(client, repo, s);

    // All five read the (missing) tag before any of them writes: without the check after the
    // write, the last writer's one-entry index would be all that is left.
    const results = await Promise.all(signatures.map((s) => recordReferrer(client, repo, s, undefined)));
    expect(results.every((r) => r.via === "tag-fallback")).toBe(true);

    const tag = await getManifest(reg, repo, referrersTag(image.manifestDigest));
    expect(tag.status).toBe(200);
    const listed = (tag.json as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest).sort();
    expect(listed).toEqual(signatures.map((s) => s.manifestDigest).sort());
  }, 60_000);
});
