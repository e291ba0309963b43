import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { pull } from "../../tools/src/oci/pull.ts";
import { push } from "../../tools/src/oci/push.ts";
import { writeImageLayout, layoutBlobPath } from "../../tools/src/oci/layout.ts";
import { buildWasmImage } from "../../tools/src/oci/wasm-image.ts";
import { DigestMismatchError } from "../../tools/src/util/errors.ts";

// Pull and push with an OCI layout on either side: the same code paths as with a registry
// (manifest resolution, digest checks, atomic output), without a network.
let dir: string;
let wasm: Uint8Array;
let wasmPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "oci-layout-flow-"));
  wasm = await parse(`(component (import "wasi:cli/environment@0.2.0" (instance)) (core module $m) (export "m" (core module $m)))`);
  wasmPath = join(dir, "app.wasm");
  await writeFile(wasmPath, wasm);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("pull from an OCI layout", () => {
  it("pulls by tag and by digest, byte for byte, and records metadata", async () => {
    const img = buildWasmImage(wasm, { fileName: "app.wasm" });
    const layout = join(dir, "l1");
    await writeImageLayout(layout, img, ["v1"]);
    const out = join(dir, "out", "a.wasm");
    const meta = join(dir, "out", "a.json");
    const r = await pull({ reference: `oci-layout:${layout}:v1`, output: out, metadata: meta, cacheDir: join(dir, "cache") });
    expect(r.metadata.manifestDigest).toBe(img.manifestDigest);
    expect((await readFile(out)).equals(Buffer.from(wasm))).toBe(true);
    const m = JSON.parse(await readFile(meta, "utf8")) as Record<string, unknown>;
    expect(m).toMatchObject({
      manifestDigest: img.manifestDigest,
      layer: { digest: img.layers[0]?.descriptor.digest, size: wasm.length, mediaType: "application/wasm" },
      config: { mediaType: "application/vnd.wasm.config.v0+json", content: { os: "wasip2", architecture: "wasm" } },
    });
    const byDigest = join(dir, "out", "b.wasm");
    await pull({ reference: `oci-layout:${layout}@${img.manifestDigest}`, output: byDigest, cacheDir: join(dir, "cache") });
    expect((await readFile(byDigest)).equals(Buffer.from(wasm))).toBe(true);
  });

  it("fails with a digest error and leaves no output when a layer's bytes are wrong", async () => {
    const img = buildWasmImage(wasm, { fileName: "app.wasm" });
    const layout = join(dir, "l2");
    await writeImageLayout(layout, img, ["v1"]);
    const layerPath = layoutBlobPath(layout, img.layers[0]!.descriptor.digest);
    const bytes = Buffer.from(await readFile(layerPath));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    await writeFile(layerPath, bytes);
    const out = join(dir, "out", "bad.wasm");
    await expect(pull({ reference: `oci-layout:${layout}:v1`, output: out, cacheDir: join(dir, "cache2") })).rejects.toBeInstanceOf(DigestMismatchError);
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a --digest that the manifest does not have, with no output", async () => {
    const img = buildWasmImage(wasm, { fileName: "app.wasm" });
    const layout = join(dir, "l3");
    await writeImageLayout(layout, img, ["v1"]);
    const out = join(dir, "out", "c.wasm");
    const other = `sha256:${"ab".repeat(32)}` as const;
    await expect(pull({ reference: `oci-layout:${layout}:v1`, digest: other, output: out, cacheDir: join(dir, "cache3") })).rejects.toThrow();
    await expect(pull({ reference: `oci-layout:${layout}@${img.manifestDigest}`, digest: other, output: out })).rejects.toMatchObject({ code: "DIGEST_CONFLICT" });
    expect(existsSync(out)).toBe(false);
  });
});

describe("push without a registry", () => {
  it("--dry-run computes the same manifest as image, sending nothing (the registry does not exist)", async () => {
    const img = buildWasmImage(wasm, { fileName: "app.wasm", annotations: { a: "b" } });
    const r = await push({ source: wasmPath, reference: "registry.invalid/x/y:1", annotations: { a: "b" }, dryRun: true, tags: ["t2"] });
    expect(r.digest).toBe(img.manifestDigest);
    expect(r.tags).toEqual(["1", "t2"]);
    expect(r.reference).toBe(`registry.invalid/x/y@${img.manifestDigest}`);
    expect(r.blobs.map((b) => b.status)).toEqual(["not-sent", "not-sent"]);
  });

  it("pushes a .wasm into an OCI layout, and a pull from it gives the same bytes", async () => {
    const layout = join(dir, "l4");
    const r = await push({ source: wasmPath, reference: `oci-layout:${layout}:v9` });
    const out = join(dir, "out", "d.wasm");
    const p = await pull({ reference: `oci-layout:${layout}:v9`, output: out });
    expect(p.metadata.manifestDigest).toBe(r.digest);
    expect((await readFile(out)).equals(Buffer.from(wasm))).toBe(true);
  });

  it("rejects a digest in the destination that differs from the manifest", async () => {
    await expect(push({ source: wasmPath, reference: `registry.invalid/x/y@sha256:${"0".repeat(64)}`, dryRun: true })).rejects.toMatchObject({
      code: "DIGEST_CONFLICT",
    });
  });
});
