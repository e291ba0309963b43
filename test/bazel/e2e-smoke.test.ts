/**
 * The e2e consumer module (e2e/smoke: what BCR presubmit builds on Bazel 8 and 9 through
 * MODULE.bazel) built and tested on Bazel 4.2.3 through its WORKSPACE twin: the same BUILD file,
 * in the release archive extracted to a temp dir (no node_modules anywhere), HOME an empty dir.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, runCli } from "../helpers/cli.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { bazelAvailable, makeBazel, processCounts, workspaceBazelrc, type Bazel } from "./harness.ts";
import { makeHermeticCopy } from "./hermetic-copy.ts";

const ready = bazelAvailable() && cliBuilt();

describe.skipIf(!ready)("e2e/smoke consumer module (Bazel 4.2.3, WORKSPACE twin, hermetic copy)", () => {
  let tmp: Tmp;
  let ws: string;
  let bazel: Bazel;
  let bin: string;

  beforeAll(async () => {
    tmp = await makeTmp("bazel-e2e");
    const root = await makeHermeticCopy(tmp.path("hermetic"));
    ws = join(root, "e2e", "smoke");
    // The offline stand-ins 4.2.3 needs (see .bazelrc); BCR's Bazel 8/9 need none of them.
    await writeFile(join(ws, ".bazelrc"), workspaceBazelrc([]));
    await mkdir(tmp.path("home"), { recursive: true });
    bazel = makeBazel(ws, tmp.path("bazel-root"), { HOME: tmp.path("home") });
  }, 180_000);

  afterAll(async () => {
    await bazel?.shutdown();
    await tmp?.cleanup();
  }, 120_000);

  it("bazel build //... builds, composes, signs, verifies and packs an image", async () => {
    const r = await bazel.run("build", ["--symlink_prefix=/", "//..."], { timeoutMs: 400_000 });
    expect(r.code, r.stderr.slice(-6000)).toBe(0);
    console.log(`[e2e] bazel build //...: ${JSON.stringify(processCounts(r.stderr))}`);
    bin = await bazel.info("bazel-bin");
    const index = JSON.parse(await readFile(join(bin, "app_image_layout", "index.json"), "utf8")) as { manifests: Array<{ digest: string }> };
    expect(index.manifests[0]?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await readFile(join(bin, "app_image.digest"), "utf8")).trim()).toBe(index.manifests[0]?.digest);
    // The signed composition verifies with the generated key, outside Bazel too.
    const v = await runCli(["verify", "-i", join(bin, "app_signed.wasm"), "-K", join(bin, "keys.pk")]);
    expect(v.code, v.stderr).toBe(0);
  }, 420_000);

  it("bazel test //...: the component, the composition and the signed composition answer", async () => {
    const r = await bazel.run("test", ["--symlink_prefix=/", "//..."], { timeoutMs: 400_000 });
    const out = r.stdout + r.stderr;
    expect(r.code, out.slice(-6000)).toBe(0);
    for (const t of ["adder_test", "app_test", "app_signed_test"]) expect(out).toMatch(new RegExp(`//:${t}\\s+(\\(cached\\) )?PASSED`));
  }, 420_000);

  it("the image holds the signed composition", async () => {
    expect(existsSync(join(bin, "app_image_layout", "oci-layout"))).toBe(true);
    const signed = await readFile(join(bin, "app_signed.wasm"));
    const layout = await readFile(join(bin, "app_image_layout", "index.json"), "utf8");
    const manifestDigest = (JSON.parse(layout) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;
    const manifest = JSON.parse(await readFile(join(bin, "app_image_layout", "blobs", "sha256", manifestDigest.slice(7)), "utf8")) as { layers: Array<{ digest: string }> };
    const layer = await readFile(join(bin, "app_image_layout", "blobs", "sha256", manifest.layers[0]!.digest.slice(7)));
    expect(Buffer.compare(layer, signed)).toBe(0);
  });
});
