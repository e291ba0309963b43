/**
 * wasm_component_oci_image with detached signatures, through real Bazel 4.2.3 and a real registry
 * (no referrers API): the layout carries the signature artifact, `bazel run` of the publish target
 * pushes it and the `sha256-<hex>` referrers tag, and the CLI pulls the signature back and
 * verifies it with the key Bazel made. Also a component from wasm_sign(detached = True).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, hermeticEnv, runCli } from "../helpers/cli.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { runCommand } from "../helpers/processes.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { simpleComponent } from "../helpers/wasm-fixtures.ts";
import { bazelAvailable, makeBazel, makeWorkspace, sha256, type Bazel } from "./harness.ts";

const ready = bazelAvailable() && registryAvailable() && cliBuilt() && existsSync("/usr/bin/skopeo");
const SIG_TYPE = "application/vnd.wasm.signature.v1+wasmsig";

interface Index {
  manifests: Array<{ digest: string; artifactType?: string; annotations?: Record<string, string> }>;
}

const BUILD = (host: string) => `load(
    "@rules_wasm_oci//wasm:defs.bzl",
    "wasm_component_from_oci",
    "wasm_component_oci_image",
    "wasm_component_publish",
    "wasm_keygen",
    "wasm_sign",
)

wasm_keygen(name = "keys")

wasm_component_oci_image(
    name = "detached_image",
    package_name = "detached-app",
    component = "app.wasm",
    namespace = "bazel",
    registry = "${host}",
    sign_component = True,
    signature_type = "detached",
    signing_keys = ":keys",
    version = "1.0.0",
)

wasm_component_publish(
    name = "publish_detached",
    oci_image = ":detached_image",
)

wasm_sign(
    name = "signed_apart",
    component = "app.wasm",
    detached = True,
    keys = ":keys",
)

wasm_component_oci_image(
    name = "from_wasm_sign",
    package_name = "from-wasm-sign",
    component = ":signed_apart",
    version = "1.0.0",
)

# Pulled back after publish_detached ran (manual: the image does not exist before).
wasm_component_from_oci(
    name = "pulled_detached",
    image_ref = "${host}/bazel/detached-app:1.0.0",
    public_key = ":keys",
    signature_type = "detached",
    verify_signature = True,
    tags = ["manual"],
)

wasm_keygen(name = "other_keys")

wasm_component_from_oci(
    name = "pulled_detached_wrong_key",
    image_ref = "${host}/bazel/detached-app:1.0.0",
    public_key = ":other_keys",
    signature_type = "detached",
    verify_signature = True,
    tags = ["manual"],
)

# The test pushes this image with the CLI, without a signature.
wasm_component_from_oci(
    name = "pulled_no_signature",
    image_ref = "${host}/bazel/plain-app:1.0.0",
    public_key = ":keys",
    signature_type = "detached",
    verify_signature = True,
    tags = ["manual"],
)
`;

describe.skipIf(!ready)("wasm_component_oci_image with detached signatures (Bazel 4.2.3, real registry)", () => {
  let tmp: Tmp;
  let reg: Registry;
  let bazel: Bazel;
  let bin: string;
  let app: Uint8Array;

  beforeAll(async () => {
    tmp = await makeTmp("bazel-detached");
    reg = await startRegistry();
    app = await simpleComponent();
    const ws = await makeWorkspace(tmp.dir, { "detached/BUILD.bazel": BUILD(reg.host), "detached/app.wasm": app }, []);
    bazel = makeBazel(ws, tmp.path("bazel-root"), { HOME: tmp.path("home") });
  }, 120_000);

  afterAll(async () => {
    await bazel?.shutdown();
    await reg?.stop();
    await tmp?.cleanup();
  }, 120_000);

  it("builds a layout holding the unchanged component and a signature artifact whose subject is the image", async () => {
    const r = await bazel.run("build", ["//detached:detached_image", "//detached:from_wasm_sign"], { timeoutMs: 600_000 });
    expect(r.code, r.stderr.slice(-6000)).toBe(0);
    bin = await bazel.info("bazel-bin");
    for (const name of ["detached_image", "from_wasm_sign"]) {
      const layout = join(bin, "detached", `${name}_layout`);
      const digest = (await readFile(join(bin, "detached", `${name}.digest`), "utf8")).trim();
      const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as Index;
      expect(index.manifests[0]?.digest).toBe(digest);
      const sig = index.manifests.find((m) => m.artifactType === SIG_TYPE);
      expect(sig?.annotations?.["com.wasmsign2.signature.subject"], name).toBe(digest);
      const image = JSON.parse(await readFile(join(layout, "blobs/sha256", digest.slice(7)), "utf8")) as {
        layers: Array<{ digest: string }>;
        annotations: Record<string, string>;
      };
      // Detached: the packed component is the input, byte for byte.
      expect(image.layers[0]?.digest).toBe(sha256(app));
      expect(image.annotations["com.wasmsign2.signature.type"]).toBe("detached");
      expect(image.annotations["com.wasm.component.security"]).toBe("signed");
    }
    expect(existsSync(join(bin, "detached", "_signed", "detached_image.sig"))).toBe(true);
  }, 620_000);

  it("bazel run of the publish target pushes the signature and the referrers tag; the CLI pulls it back and it verifies", async () => {
    const r = await bazel.run("run", ["//detached:publish_detached"], { timeoutMs: 300_000 });
    expect(r.code, r.stderr.slice(-6000)).toBe(0);
    const digest = (await readFile(join(bin, "detached", "detached_image.digest"), "utf8")).trim();
    const raw = await runCommand("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/bazel/detached-app:${digest.replace(":", "-")}`], { timeoutMs: 30_000 });
    expect(raw.code, raw.stderr).toBe(0);
    const index = JSON.parse(raw.stdout) as Index;
    expect(index.manifests.map((m) => m.artifactType)).toEqual([SIG_TYPE]);

    const out = tmp.path("out/app.wasm");
    const sig = tmp.path("out/app.sig");
    const env = hermeticEnv(tmp.path("cli"));
    const pull = await runCli(["pull", `${reg.host}/bazel/detached-app:1.0.0`, "-o", out, "--signature-output", sig, "--cache-dir", tmp.path("cache")], { env });
    expect(pull.code, pull.stderr).toBe(0);
    expect(await readFile(sig)).toEqual(await readFile(join(bin, "detached", "_signed", "detached_image.sig")));
    const verify = await runCli(["verify", "-i", out, "-S", sig, "-K", join(bin, "detached", "keys.pk")], { env });
    expect(verify.code, verify.stderr).toBe(0);
  }, 320_000);

  it("wasm_component_from_oci(signature_type = detached) pulls the signature artifact with the image and verifies it; a wrong key or no artifact fails the build", async () => {
    const ok = await bazel.run("build", ["//detached:pulled_detached"], { timeoutMs: 300_000 });
    expect(ok.code, ok.stderr.slice(-6000)).toBe(0);
    expect(await readFile(join(bin, "detached", "pulled_detached.wasm"))).toEqual(Buffer.from(app));
    expect(await readFile(join(bin, "detached", "pulled_detached.sig"))).toEqual(await readFile(join(bin, "detached", "_signed", "detached_image.sig")));

    const wrong = await bazel.run("build", ["//detached:pulled_detached_wrong_key"], { timeoutMs: 300_000 });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("SIGNATURE_INVALID");
    expect(existsSync(join(bin, "detached", "pulled_detached_wrong_key.wasm"))).toBe(false);

    const env = hermeticEnv(tmp.path("cli-plain"));
    const pushed = await runCli(["push", join(tmp.dir, "ws", "detached", "app.wasm"), `${reg.host}/bazel/plain-app:1.0.0`], { env });
    expect(pushed.code, pushed.stderr).toBe(0);
    const none = await bazel.run("build", ["//detached:pulled_no_signature"], { timeoutMs: 300_000 });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain("NO_SIGNATURE");
    expect(existsSync(join(bin, "detached", "pulled_no_signature.wasm"))).toBe(false);
  }, 920_000);
});
