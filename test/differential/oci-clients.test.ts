/**
 * wasm-oci against the reference OCI clients (oras, crane, regctl, skopeo) on two real
 * registries, the same inputs through both:
 *  - Debian's docker-registry (distribution 2.8: no referrers API, the `sha256-<hex>` tag fallback);
 *  - CUE's `cue mod registry` (cuelabs ociregistry: serves GET /v2/<name>/referrers/<digest>).
 * On each: what wasm-oci pushes, every client pulls byte for byte (same manifest digest); what
 * every client pushes, wasm-oci pulls byte for byte; the detached signatures wasm-oci publishes
 * are listed by `oras discover` and `regctl artifact list`; a signature `oras attach` adds is
 * found by `wasm-oci pull` (and verifies). Across the two: `oras cp -r` and `regctl image copy
 * --referrers` carry our signature from one registry kind to the other, where wasm-oci finds it;
 * `oras cp -r` to and from OCI layouts keeps it too, and wasm-oci reads oras's layouts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { bytesId } from "../helpers/bytes.ts";
import { freshCacheArgs, hermeticEnv, runCli } from "../helpers/cli.ts";
import { listTags, sha256 } from "../helpers/oci-http.ts";
import { oracle, oraclesMissing } from "../helpers/oracles.ts";
import { runCommand } from "../helpers/processes.ts";
import { startReferrersRegistry, type ReferrersRegistry } from "../helpers/referrers-registry.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { interfaceComponent, writeFixture } from "../helpers/wasm-fixtures.ts";
import { cliOk, withOverrides } from "./lib/processes.ts";

const SIG_TYPE = "application/vnd.wasm.signature.v1+wasmsig";
const WASM_CONFIG = "application/vnd.wasm.config.v0+json";
const haveSkopeo = existsSync("/usr/bin/skopeo");
const missing = !registryAvailable() || !haveSkopeo || oraclesMissing(["oras", "crane", "regctl", "cue"]);

interface Target {
  kind: "docker-registry" | "referrers-api";
  host: string;
  url: string;
}

/** Interop outcomes, printed at the end: every case is a client, a direction and a registry. */
const tally = { cases: 0, identical: 0 };

describe.skipIf(missing)("OCI clients vs wasm-oci (oras, crane, regctl, skopeo) on docker-registry and a referrers-API registry", () => {
  let dist: Registry;
  let refReg: ReferrersRegistry;
  let tmp: Tmp;
  let env: Record<string, string | undefined>;
  let comp: Buffer;
  let compPath: string;
  let sigPath: string;
  let pkPath: string;
  const targets: Target[] = [];

  const procEnv = (): NodeJS.ProcessEnv => withOverrides(env);
  const tool = async (name: "oras" | "crane" | "regctl" | "skopeo", args: string[]) => {
    const bin = name === "skopeo" ? "skopeo" : oracle(name);
    const full = name === "skopeo" ? ["--insecure-policy", ...args] : args;
    const r = await runCommand(bin, full, { env: procEnv(), timeoutMs: 60_000, cwd: tmp.dir });
    expect(r.code, `${name} ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r;
  };
  const cli = (args: string[]) => cliOk(args, env);
  /** One interop case: `got` must be the component's bytes exactly. */
  const sameBytes = (got: Buffer, what: string) => {
    tally.cases++;
    expect(bytesId(got), what).toEqual(bytesId(comp));
    tally.identical++;
  };

  beforeAll(async () => {
    [dist, refReg] = await Promise.all([startRegistry(), startReferrersRegistry()]);
    targets.push({ kind: "docker-registry", host: dist.host, url: dist.url }, { kind: "referrers-api", host: refReg.host, url: refReg.url });
    tmp = await makeTmp("diff-oci-clients");
    env = hermeticEnv(tmp.dir, { SOURCE_DATE_EPOCH: "1700000000" });
    comp = Buffer.from(await interfaceComponent());
    compPath = await writeFixture(tmp.dir, "in/app.wasm", comp);
    await writeFile(tmp.path("in/config.json"), JSON.stringify({ architecture: "wasm", os: "wasip2", component: { exports: ["version"], imports: [] } }));
    pkPath = tmp.path("keys/pk");
    await cli(["keygen", "-k", tmp.path("keys/sk"), "-K", pkPath]);
    sigPath = tmp.path("in/app.sig");
    await cli(["sign", "-i", compPath, "-o", tmp.path("in/unchanged.wasm"), "-k", tmp.path("keys/sk"), "-K", pkPath, "-S", sigPath]);
    // regctl keeps per-registry TLS settings in $HOME/.regctl/config.json (HOME is the temp dir).
    for (const t of targets) await tool("regctl", ["registry", "set", "--tls", "disabled", t.host]);
  }, 120_000);

  afterAll(async () => {
    await dist?.stop();
    await refReg?.stop();
    await tmp?.cleanup();
    if (tally.cases > 0) console.log(`OCI client interop: ${tally.cases} cases, ${tally.identical} byte-identical, ${tally.cases - tally.identical} different`);
  });

  it("the second registry really serves the referrers API and docker-registry really does not", async () => {
    const probe = async (url: string, host: string) => {
      await cli(["push", compPath, `${host}/probe/app:v1`]);
      const r = await fetch(`${url}/v2/probe/app/referrers/${sha256("nothing")}`, { headers: { accept: "application/vnd.oci.image.index.v1+json" } });
      return { status: r.status, body: await r.text() };
    };
    const api = await probe(refReg.url, refReg.host);
    expect(api.status).toBe(200);
    // An empty list comes as `"manifests": null` (a Go nil slice); wasm-oci read that as a broken index before.
    expect(JSON.parse(api.body)).toMatchObject({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json" });
    expect(JSON.parse(api.body).manifests ?? []).toEqual([]);
    expect((await probe(dist.url, dist.host)).status).toBe(404);
  });

  for (const kind of ["docker-registry", "referrers-api"] as const) {
    describe(kind, () => {
      const target = (): Target => targets.find((t) => t.kind === kind) as Target;

      it("what wasm-oci pushes, oras, crane, regctl and skopeo pull byte for byte, at the same manifest digest", async () => {
        const { host } = target();
        const ref = `${host}/from-wasm-oci/app:v1`;
        const digest = JSON.parse((await cli(["push", compPath, ref, "--json"])).stdout).digest as string;

        await tool("oras", ["pull", "--plain-http", "-o", tmp.path(`${kind}/oras-out`), ref]);
        sameBytes(await readFile(tmp.path(`${kind}/oras-out/app.wasm`)), "oras pull");

        // Into a directory (files named by their title annotation): stdout would be decoded as text.
        await mkdir(tmp.path(`${kind}/regctl-out`), { recursive: true });
        await tool("regctl", ["artifact", "get", "--output", tmp.path(`${kind}/regctl-out`), ref]);
        sameBytes(await readFile(tmp.path(`${kind}/regctl-out/app.wasm`)), "regctl artifact get");

        await tool("crane", ["pull", "--insecure", "--format", "oci", ref, tmp.path(`${kind}/crane-layout`)]);
        await cli(["pull", `oci-layout:${tmp.path(`${kind}/crane-layout`)}@${digest}`, "-o", tmp.path(`${kind}/crane.wasm`)]);
        sameBytes(await readFile(tmp.path(`${kind}/crane.wasm`)), "crane pull --format oci");
        const craneDigest = (await tool("crane", ["digest", "--insecure", ref])).stdout.trim();
        expect(craneDigest).toBe(digest);

        await tool("skopeo", ["copy", "--src-tls-verify=false", `docker://${ref}`, `oci:${tmp.path(`${kind}/skopeo-layout`)}:v1`]);
        await cli(["pull", `oci-layout:${tmp.path(`${kind}/skopeo-layout`)}:v1`, "-o", tmp.path(`${kind}/skopeo.wasm`), "--digest", digest]);
        sameBytes(await readFile(tmp.path(`${kind}/skopeo.wasm`)), "skopeo copy to oci:");
      });

      it("what oras, regctl, crane and skopeo push, wasm-oci pulls byte for byte", async () => {
        const { host } = target();
        const pull = async (ref: string, name: string) => {
          const out = tmp.path(`${kind}/pulled-${name}.wasm`);
          await cli(["pull", ref, "-o", out, ...freshCacheArgs(tmp.path(`${kind}/cache-${name}`))]);
          sameBytes(await readFile(out), `${name} push, wasm-oci pull`);
        };
        await tool("oras", ["push", "--plain-http", `${host}/by-oras/app:v1`, "--config", `in/config.json:${WASM_CONFIG}`, "in/app.wasm:application/wasm"]);
        await pull(`${host}/by-oras/app:v1`, "oras");

        await tool("regctl", [
          "artifact", "put", "--config-type", WASM_CONFIG, "--config-file", "in/config.json",
          "--file", "in/app.wasm", "--file-media-type", "application/wasm", `${host}/by-regctl/app:v1`,
        ]);
        await pull(`${host}/by-regctl/app:v1`, "regctl");

        // crane and skopeo push an OCI layout (here one wasm-oci wrote); the digest must survive.
        const layout = tmp.path(`${kind}/layout`);
        const image = JSON.parse((await cli(["image", compPath, "-o", layout, "-t", "v1", "--json"])).stdout).digest as string;
        await tool("crane", ["push", "--insecure", layout, `${host}/by-crane/app:v1`]);
        await pull(`${host}/by-crane/app@${image}`, "crane");
        await tool("skopeo", ["copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${host}/by-skopeo/app:v1`]);
        await pull(`${host}/by-skopeo/app@${image}`, "skopeo");
      });

      it("an image nothing refers to: pull --signature-output reports no signature (an empty referrers list is not a broken index)", async () => {
        const { host } = target();
        const ref = `${host}/unsigned/app:v1`;
        await cli(["push", compPath, ref]);
        const r = await runCli(["pull", ref, "-o", tmp.path(`${kind}/unsigned.wasm`), "--signature-output", tmp.path(`${kind}/unsigned.sig`)], { env });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("[NO_SIGNATURE]");
        expect(existsSync(tmp.path(`${kind}/unsigned.wasm`))).toBe(false);
      });

      it("oras discover and regctl artifact list show the detached signature wasm-oci pushes with the image", async () => {
        const { host, url } = target();
        const ref = `${host}/signed/app:v1`;
        const pushed = JSON.parse((await cli(["push", compPath, ref, "-S", sigPath, "--json"])).stdout) as {
          digest: string;
          referrers: Array<{ digest: string; artifactType: string; via: string }>;
        };
        expect(pushed.referrers).toHaveLength(1);
        const sig = pushed.referrers[0] as { digest: string; artifactType: string; via: string };
        expect(sig.via).toBe(kind === "referrers-api" ? "referrers-api" : "tag-fallback");
        const fallbackTag = pushed.digest.replace(":", "-");
        // The API registry keeps the list itself: no fallback tag is written there.
        expect((await listTags({ url }, "signed/app")).includes(fallbackTag)).toBe(kind === "docker-registry");

        const discovered = JSON.parse((await tool("oras", ["discover", "--plain-http", "--format", "json", ref])).stdout) as {
          referrers: Array<{ digest: string; artifactType: string }>;
        };
        expect(discovered.referrers.map((r) => [r.digest, r.artifactType])).toEqual([[sig.digest, SIG_TYPE]]);
        const listed = JSON.parse((await tool("regctl", ["artifact", "list", ref, "--format", "{{json .}}"])).stdout) as {
          descriptors: Array<{ digest: string; artifactType: string }>;
        };
        expect(listed.descriptors.map((d) => [d.digest, d.artifactType])).toEqual([[sig.digest, SIG_TYPE]]);
        // oras fetches the signature layer back: the exact bytes `sign -S` wrote.
        await tool("oras", ["blob", "fetch", "--plain-http", "--output", tmp.path(`${kind}/sig.bin`), `${host}/signed/app@${sha256(await readFile(sigPath))}`]);
        expect(bytesId(await readFile(tmp.path(`${kind}/sig.bin`)))).toEqual(bytesId(await readFile(sigPath)));
      });

      it("a signature `oras attach` (beside an SBOM) or `regctl artifact put --subject` adds is found by wasm-oci pull and verifies", async () => {
        const { host } = target();
        const ref = `${host}/attached/app:v1`;
        const digest = JSON.parse((await cli(["push", compPath, ref, "--json"])).stdout).digest as string;
        await writeFile(tmp.path(`${kind}-sbom.json`), '{"spdxVersion":"SPDX-2.3"}');
        await tool("oras", ["attach", "--plain-http", "--artifact-type", "application/spdx+json", ref, `${kind}-sbom.json:application/spdx+json`]);
        const attached = await tool("oras", ["attach", "--plain-http", "--artifact-type", SIG_TYPE, "--format", "json", ref, `in/app.sig:${SIG_TYPE}`]);
        const sigManifest = (JSON.parse(attached.stdout) as { digest: string }).digest;

        const out = tmp.path(`${kind}/attached.wasm`);
        const sigOut = tmp.path(`${kind}/attached.sig`);
        const pulled = await cli(["pull", ref, "-o", out, "--signature-output", sigOut, "--digest", digest, ...freshCacheArgs(tmp.path(`${kind}/cache-attached`))]);
        expect(pulled.stderr).toContain(sigManifest);
        expect(pulled.stderr).toContain(kind === "referrers-api" ? "referrers-api" : "tag-fallback");
        expect(bytesId(await readFile(sigOut))).toEqual(bytesId(await readFile(sigPath)));
        sameBytes(await readFile(out), "oras attach, wasm-oci pull");
        await cli(["verify", "-i", out, "-K", pkPath, "-S", sigOut]);

        // A detached-signature policy finds it without -S.
        await writeFile(
          tmp.path(`${kind}-policy.json`),
          JSON.stringify({ default_signing_required: true, signature_type: "detached", keys: { release: { public_key: pkPath } } }),
        );
        await cli(["pull", ref, "-o", tmp.path(`${kind}/policy.wasm`), "--policy", tmp.path(`${kind}-policy.json`), ...freshCacheArgs(tmp.path(`${kind}/cache-policy`))]);

        // regctl's way of attaching (artifact put --subject) is found the same way.
        const viaRegctl = `${host}/attached-by-regctl/app:v1`;
        await cli(["push", compPath, viaRegctl]);
        await tool("regctl", ["artifact", "put", "--subject", viaRegctl, "--artifact-type", SIG_TYPE, "--file", "in/app.sig", "--file-media-type", SIG_TYPE]);
        await cli(["pull", viaRegctl, "-o", tmp.path(`${kind}/regctl-attached.wasm`), "--signature-output", tmp.path(`${kind}/regctl-attached.sig`), ...freshCacheArgs(tmp.path(`${kind}/cache-regctl-attached`))]);
        expect(bytesId(await readFile(tmp.path(`${kind}/regctl-attached.sig`)))).toEqual(bytesId(await readFile(sigPath)));

        // wasm-oci then adds its own signature (another key): oras's entries stay listed beside it.
        await cli(["keygen", "-k", tmp.path(`${kind}-k2.sk`), "-K", tmp.path(`${kind}-k2.pk`)]);
        await cli(["sign", "-i", compPath, "-o", tmp.path(`${kind}-k2.wasm`), "-k", tmp.path(`${kind}-k2.sk`), "-S", tmp.path(`${kind}-k2.sig`)]);
        const ours = JSON.parse((await cli(["push", compPath, ref, "-S", tmp.path(`${kind}-k2.sig`), "--json"])).stdout) as { referrers: Array<{ digest: string }> };
        const listed = JSON.parse((await tool("oras", ["discover", "--plain-http", "--format", "json", ref])).stdout) as { referrers: Array<{ digest: string; artifactType: string }> };
        expect(listed.referrers.map((r) => r.artifactType).sort()).toEqual(["application/spdx+json", SIG_TYPE, SIG_TYPE]);
        expect(listed.referrers.map((r) => r.digest)).toEqual(expect.arrayContaining([sigManifest, (ours.referrers[0] as { digest: string }).digest]));
      });
    });
  }

  it("OCI layouts with signatures: oras cp -r copies wasm-oci's layout to a registry, and a registry image with its signature into a layout that wasm-oci pulls and pushes", async () => {
    // wasm-oci's layout (the signature entry carries our subject annotation) -> registry, by oras.
    const ours = tmp.path("layouts/ours");
    await cli(["image", compPath, "-o", ours, "-t", "v1", "-S", sigPath]);
    await tool("oras", ["cp", "-r", "--from-oci-layout", `${ours}:v1`, "--to-plain-http", `${refReg.host}/from-layout/app:v1`]);
    await cli(["pull", `${refReg.host}/from-layout/app:v1`, "-o", tmp.path("layouts/a.wasm"), "--signature-output", tmp.path("layouts/a.sig"), ...freshCacheArgs(tmp.path("layouts/ca"))]);
    expect(bytesId(await readFile(tmp.path("layouts/a.sig")))).toEqual(bytesId(await readFile(sigPath)));
    // registry -> oras's layout: its index.json lists the signature with its artifactType only
    // (no subject annotation); wasm-oci found nothing there before.
    await cli(["push", compPath, `${dist.host}/to-layout/app:v1`, "-S", sigPath]);
    const theirs = tmp.path("layouts/theirs");
    await tool("oras", ["cp", "-r", "--from-plain-http", `${dist.host}/to-layout/app:v1`, "--to-oci-layout", `${theirs}:v1`]);
    await cli(["pull", `oci-layout:${theirs}:v1`, "-o", tmp.path("layouts/b.wasm"), "--signature-output", tmp.path("layouts/b.sig")]);
    sameBytes(await readFile(tmp.path("layouts/b.wasm")), "oras layout, wasm-oci pull");
    expect(bytesId(await readFile(tmp.path("layouts/b.sig")))).toEqual(bytesId(await readFile(sigPath)));
    // ... and pushed from that layout, the signature goes along as the image's referrer.
    const pushed = JSON.parse((await cli(["push", `oci-layout:${theirs}:v1`, `${refReg.host}/relayed/app:v1`, "--json"])).stdout) as { referrers: Array<{ artifactType: string }> };
    expect(pushed.referrers.map((r) => r.artifactType)).toEqual([SIG_TYPE]);
    const discovered = JSON.parse((await tool("oras", ["discover", "--plain-http", "--format", "json", `${refReg.host}/relayed/app:v1`])).stdout) as { referrers: unknown[] };
    expect(discovered.referrers).toHaveLength(1);
  });

  it("oras cp -r and regctl image copy --referrers carry the signature between the two registry kinds", async () => {
    const [fromDist, fromApi] = [`${dist.host}/carry/app:v1`, `${refReg.host}/carry/app:v1`];
    await cli(["push", compPath, fromDist, "-S", sigPath]);
    await cli(["push", compPath, fromApi, "-S", sigPath]);
    // tag fallback -> referrers API, and back.
    await tool("oras", ["cp", "-r", "--from-plain-http", "--to-plain-http", fromDist, `${refReg.host}/carried-by-oras/app:v1`]);
    await tool("regctl", ["image", "copy", "--referrers", fromApi, `${dist.host}/carried-by-regctl/app:v1`]);
    for (const ref of [`${refReg.host}/carried-by-oras/app:v1`, `${dist.host}/carried-by-regctl/app:v1`]) {
      const name = ref.split("/")[1] as string;
      const out = tmp.path(`carry/${name}.wasm`);
      const sigOut = tmp.path(`carry/${name}.sig`);
      await cli(["pull", ref, "-o", out, "--signature-output", sigOut, ...freshCacheArgs(tmp.path(`carry/cache-${name}`))]);
      sameBytes(await readFile(out), `${name}, wasm-oci pull`);
      expect(bytesId(await readFile(sigOut))).toEqual(bytesId(await readFile(sigPath)));
    }
  });
});
