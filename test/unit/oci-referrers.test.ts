/**
 * Signature artifacts and referrers, the parts the real registry here cannot exercise: a registry
 * WITH the referrers API (OCI-Subject on PUT, GET /referrers answering an index) is an undici
 * MockAgent; the tag fallback against the real registry is in
 * test/integration/oci-detached-signature.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MockAgent } from "undici";
import { HttpClient } from "../../tools/src/oci/http.ts";
import { RegistryClient } from "../../tools/src/oci/registry-client.ts";
import { RegistrySource } from "../../tools/src/oci/content-source.ts";
import { findSignatureReferrers, MAX_REFERRERS_TAG_ROUNDS, recordReferrer } from "../../tools/src/oci/referrers.ts";
import {
  buildSignatureArtifact,
  checkSignatureBytes,
  mergeReferrersIndex,
  referrerDescriptor,
  referrersTag,
  signatureLayerOf,
  WASM_SIGNATURE_ARTIFACT,
} from "../../tools/src/oci/signature-artifact.ts";
import type { CredentialResult } from "../../tools/src/oci/types.ts";
import { sha256Digest } from "../../tools/src/util/digest.ts";

/** The settle wait between writing the referrers tag and checking it, skipped in mocks. */
const noWait = async (): Promise<void> => {};

/** Signature data as facts.md section 1 shows it: one set, one hash, one signature without key id. */
const SIG = Buffer.concat([Buffer.from([1, 1, 1, 1, 0x66, 1]), Buffer.alloc(32, 7), Buffer.from([1, 0x43, 0, 1, 0x40]), Buffer.alloc(64, 9)]);
const SUBJECT = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha256Digest("image"), size: 5 };
const CREATED = "2023-11-14T22:13:20Z";
const anon = async (): Promise<CredentialResult> => ({ credential: undefined, source: undefined, tried: [] });

let agent: MockAgent;
beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});
afterEach(async () => {
  await agent.close();
});

function registry(): RegistryClient {
  const http = new HttpClient({ timeoutMs: 5000, retry: { maxAttempts: 1, maxElapsedMs: 1000, baseDelayMs: 1, maxDelayMs: 1 }, dispatcher: agent, sleep: async () => {} });
  return new RegistryClient({ registry: "registry.example", insecure: false, http, credentials: anon });
}

describe("signature artifact", () => {
  it("is an OCI 1.1 artifact: artifactType, empty config, one signature layer, subject; deterministic", () => {
    const a = buildSignatureArtifact(SIG, SUBJECT, CREATED);
    expect(a.manifest.artifactType).toBe(WASM_SIGNATURE_ARTIFACT);
    expect(a.manifest.config).toEqual({ mediaType: "application/vnd.oci.empty.v1+json", digest: sha256Digest("{}"), size: 2 });
    expect(Buffer.from(a.config.bytes).toString()).toBe("{}");
    expect(a.manifest.layers).toEqual([{ mediaType: WASM_SIGNATURE_ARTIFACT, digest: sha256Digest(SIG), size: SIG.length }]);
    expect(a.manifest.subject).toEqual(SUBJECT);
    expect(buildSignatureArtifact(SIG, SUBJECT, CREATED).manifestBytes).toEqual(a.manifestBytes);
    expect(a.manifestDigest).toBe(sha256Digest(a.manifestBytes));
    expect(signatureLayerOf(a.manifest, SUBJECT.digest, "x").digest).toBe(sha256Digest(SIG));
  });

  it("signatureLayerOf refuses another artifactType, another subject, or no signature layer", () => {
    const a = buildSignatureArtifact(SIG, SUBJECT, CREATED);
    expect(() => signatureLayerOf({ ...a.manifest, artifactType: "application/x" }, SUBJECT.digest, "m")).toThrow(/artifactType/);
    expect(() => signatureLayerOf(a.manifest, sha256Digest("other"), "m")).toThrow(/subject/);
    expect(() => signatureLayerOf({ ...a.manifest, layers: [] }, SUBJECT.digest, "m")).toThrow(/exactly one/);
  });

  it("checkSignatureBytes accepts signature data and refuses anything else", () => {
    expect(() => checkSignatureBytes(SIG, "sig")).not.toThrow();
    expect(() => checkSignatureBytes(Buffer.from("\0asm\x0d\0\x01\0"), "sig")).toThrow(/not wasmsign2 signature data/);
  });

  it("referrers tag and index merge: sha256-<hex>, appended once, order kept", () => {
    expect(referrersTag(SUBJECT.digest)).toBe(`sha256-${SUBJECT.digest.slice(7)}`);
    const d1 = referrerDescriptor(buildSignatureArtifact(SIG, SUBJECT, CREATED));
    const d2 = referrerDescriptor(buildSignatureArtifact(Buffer.from(SIG).fill(3, 6, 38), SUBJECT, CREATED));
    const first = mergeReferrersIndex(undefined, d1);
    expect(first.changed).toBe(true);
    const second = mergeReferrersIndex(first.index, d2);
    expect(second.index.manifests.map((m) => m.digest)).toEqual([d1.digest, d2.digest]);
    const again = mergeReferrersIndex(second.index, d1);
    expect(again.changed).toBe(false);
    expect(again.index.manifests).toHaveLength(2);
  });
});

describe("referrers on a registry with the referrers API", () => {
  it("OCI-Subject on the PUT: the registry keeps the list, no tag request is sent", async () => {
    // disableNetConnect: any request would fail the test.
    const a = buildSignatureArtifact(SIG, SUBJECT, CREATED);
    expect(await recordReferrer(registry(), "app", a, SUBJECT.digest)).toEqual({ via: "referrers-api" });
  });

  it("GET /referrers answering an index with our artifactType: found there, the tag is not read", async () => {
    const a = buildSignatureArtifact(SIG, SUBJECT, CREATED);
    const index = { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [referrerDescriptor(a), { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha256Digest("sbom"), size: 4, artifactType: "application/spdx+json" }] };
    agent
      .get("https://registry.example")
      .intercept({ path: `/v2/app/referrers/${SUBJECT.digest}`, method: "GET" })
      .reply(200, JSON.stringify(index), { headers: { "content-type": "application/vnd.oci.image.index.v1+json" } });
    const found = await findSignatureReferrers(new RegistrySource(registry(), "app"), SUBJECT.digest);
    expect(found.via).toBe("referrers-api");
    expect(found.descriptors.map((d) => d.digest)).toEqual([a.manifestDigest]);
  });
});

describe("referrers tag fallback", () => {
  it("without OCI-Subject: reads the tag (404 = empty) and PUTs an index listing the artifact", async () => {
    const a = buildSignatureArtifact(SIG, SUBJECT, CREATED);
    const tag = referrersTag(SUBJECT.digest);
    agent.get("https://registry.example").intercept({ path: `/v2/app/manifests/${tag}`, method: "GET" }).reply(404, "");
    let put: { manifests: Array<{ digest: string; artifactType?: string }> } | undefined;
    let contentType = "";
    agent
      .get("https://registry.example")
      .intercept({ path: `/v2/app/manifests/${tag}`, method: "PUT" })
      .reply((opts) => {
        put = JSON.parse(String(opts.body)) as typeof put;
        contentType = (opts.headers as Record<string, string>)["content-type"] ?? "";
        return { statusCode: 201, data: "" };
      });
    // The check after the write reads back what was written.
    agent
      .get("https://registry.example")
      .intercept({ path: `/v2/app/manifests/${tag}`, method: "GET" })
      .reply(() => ({ statusCode: 200, data: JSON.stringify(put), responseOptions: { headers: { "content-type": "application/vnd.oci.image.index.v1+json" } } }));
    expect(await recordReferrer(registry(), "app", a, undefined, noWait)).toEqual({ via: "tag-fallback", tag });
    expect(contentType).toBe("application/vnd.oci.image.index.v1+json");
    expect(put?.manifests).toEqual([expect.objectContaining({ digest: a.manifestDigest, artifactType: WASM_SIGNATURE_ARTIFACT })]);
  });

  it("a concurrent push that overwrote the tag without our entry: the entry is added again, keeping theirs", async () => {
    const ours = buildSignatureArtifact(SIG, SUBJECT, CREATED);
    const theirs = buildSignatureArtifact(Uint8Array.from([...SIG].reverse()), SUBJECT, CREATED);
    const tag = referrersTag(SUBJECT.digest);
    const theirIndex = { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [referrerDescriptor(theirs)] };
    const indexReply = (body: unknown) => ({ statusCode: 200, data: JSON.stringify(body), responseOptions: { headers: { "content-type": "application/vnd.oci.image.index.v1+json" } } });
    const puts: Array<{ manifests: Array<{ digest: string }> }> = [];
    const origin = agent.get("https://registry.example");
    origin.intercept({ path: `/v2/app/manifests/${tag}`, method: "GET" }).reply(404, "");
    origin.intercept({ path: `/v2/app/manifests/${tag}`, method: "PUT" }).reply((opts) => {
      puts.push(JSON.parse(String(opts.body)) as (typeof puts)[number]);
      return { statusCode: 201, data: "" };
    });
    // The other pusher's write landed after ours: the check sees only theirs.
    origin.intercept({ path: `/v2/app/manifests/${tag}`, method: "GET" }).reply(() => indexReply(theirIndex));
    // Round 2 reads theirs, writes both, and the check sees both.
    origin.intercept({ path: `/v2/app/manifests/${tag}`, method: "GET" }).reply(() => indexReply(theirIndex));
    origin.intercept({ path: `/v2/app/manifests/${tag}`, method: "PUT" }).reply((opts) => {
      puts.push(JSON.parse(String(opts.body)) as (typeof puts)[number]);
      return { statusCode: 201, data: "" };
    });
    origin.intercept({ path: `/v2/app/manifests/${tag}`, method: "GET" }).reply(() => indexReply(puts[1]));
    expect(await recordReferrer(registry(), "app", ours, undefined, noWait)).toEqual({ via: "tag-fallback", tag });
    expect(puts).toHaveLength(2);
    expect(puts[1]?.manifests.map((m) => m.digest).sort()).toEqual([ours.manifestDigest, theirs.manifestDigest].sort());
  });

  it("a tag overwritten in every round gives up with REFERRERS_TAG_CONTENDED after MAX_REFERRERS_TAG_ROUNDS", async () => {
    const ours = buildSignatureArtifact(SIG, SUBJECT, CREATED);
    const tag = referrersTag(SUBJECT.digest);
    const origin = agent.get("https://registry.example");
    let puts = 0;
    origin.intercept({ path: `/v2/app/manifests/${tag}`, method: "GET" }).reply(404, "").persist();
    origin.intercept({ path: `/v2/app/manifests/${tag}`, method: "PUT" }).reply(() => {
      puts++;
      return { statusCode: 201, data: "" };
    }).persist();
    await expect(recordReferrer(registry(), "app", ours, undefined, noWait)).rejects.toMatchObject({ code: "REFERRERS_TAG_CONTENDED" });
    expect(puts).toBe(MAX_REFERRERS_TAG_ROUNDS);
  });

  it("a tag that holds an image manifest instead of an index is an error, not overwritten", async () => {
    const a = buildSignatureArtifact(SIG, SUBJECT, CREATED);
    agent
      .get("https://registry.example")
      .intercept({ path: `/v2/app/manifests/${referrersTag(SUBJECT.digest)}`, method: "GET" })
      .reply(200, Buffer.from(a.manifestBytes), { headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
    await expect(recordReferrer(registry(), "app", a, undefined)).rejects.toMatchObject({ code: "BAD_REFERRERS_TAG" });
  });
});
