/**
 * The e2e consumer module (e2e/smoke: what BCR presubmit builds on Bazel 8 and 9 through
 * MODULE.bazel) built and tested on Bazel 4.2.3 through its WORKSPACE twin: the same BUILD file,
 * in the release archive extracted to a temp dir (no node_modules anywhere), HOME an empty dir.
 */
import { existsSync } from "node:fs";
import { appendFile, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, runCli } from "../helpers/cli.ts";
import { runCommand } from "../helpers/processes.ts";
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
    // A second repository whose test target uses the rules: its launcher must find the runfiles
    // when the target is not in the main repository.
    const other = tmp.path("other");
    await mkdir(other, { recursive: true });
    await copyFile(join(ws, "src", "adder.wat"), join(other, "adder.wat"));
    await copyFile(join(ws, "src", "calc.wit"), join(other, "calc.wit"));
    await writeFile(join(other, "WORKSPACE"), 'workspace(name = "other")\n');
    await writeFile(
      join(other, "BUILD.bazel"),
      [
        'load("@rules_wasm_oci//wasm:defs.bzl", "wasm_component_from_wat", "wasm_component_test")',
        'wasm_component_from_wat(name = "adder", wat = "adder.wat", wit = ["calc.wit"])',
        'wasm_component_test(name = "adder_test", component = ":adder", expect = "9", invoke = "smoke:calc/ops#add(4, 5)")',
        "",
      ].join("\n"),
    );
    await appendFile(join(ws, "WORKSPACE.bazel"), `\nlocal_repository(name = "other", path = ${JSON.stringify(other)})\n`);
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

  it("a test target in another repository finds its runfiles: under bazel test, and started by hand", async () => {
    const r = await bazel.run("test", ["--symlink_prefix=/", "@other//:adder_test"], { timeoutMs: 300_000 });
    expect(r.code, (r.stdout + r.stderr).slice(-6000)).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/@other\/\/:adder_test\s+(\(cached\) )?PASSED/);
    // Outside Bazel: no RUNFILES_DIR or TEST_SRCDIR, the script finds <script>.runfiles itself.
    const script = join(bin, "external", "other", "adder_test.test.sh");
    const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: tmp.path("home") };
    const run = await runCommand(script, [], { cwd: tmp.path("home"), env, timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("9");
  }, 320_000);

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
