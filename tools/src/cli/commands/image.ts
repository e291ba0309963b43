import type { Command } from "commander";
import { basename } from "node:path";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printResult } from "../output.ts";
import { UsageError, WasmOciError } from "../../util/errors.ts";
import { readFileWithDigest } from "../../util/digest.ts";
import { tagProblem } from "../../oci/reference.ts";

const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface ImageFlags {
  output?: string;
  tag: string[];
  annotation: string[];
  signature?: string;
  tar?: string;
  registryConfig?: string;
  json?: boolean;
  format: string;
  name?: string;
  policyLayer?: string;
}

export function register(program: Command): void {
  program
    .command("image")
    .description("package a Wasm module or component as a reproducible OCI image layout (CNCF Wasm OCI artifact layout)")
    .argument("<in.wasm>", "core module or component")
    .option("-o, --output <dir>", "OCI image layout directory to write (replaced as a whole)")
    .option("-t, --tag <tag>", "tag in index.json (org.opencontainers.image.ref.name; repeatable)", collect, [])
    .option("-a, --annotation <key=value>", "manifest annotation (repeatable)", collect, [])
    .option("-S, --signature <file>", "detached signature of the input (sign -S): also write a signature artifact whose subject is the image")
    .option("--tar <file>", "also write the layout as a reproducible tarball")
    .option("--format <format>", "cncf (CNCF Wasm OCI artifact, default) or runwasi (containerd/runwasi image: one tar that is an OCI layout and a Docker archive)", "cncf")
    .option("--name <name:tag>", "with --format runwasi: the image name containerd imports it as (io.containerd.image.name, RepoTags)")
    .option("--policy-layer <file.yaml>", "add this YAML policy file as a layer after the wasm layer (application/vnd.wasm.policy.v1+yaml, as wassette reads it)")
    .option("--registry-config <file>", "accepted for symmetry with the other commands; validated, not otherwise used")
    .option("--json", "print {digest, size, config, layer, ...} as one JSON document")
    .action(
      async (input: string, o: ImageFlags) => {
        // Loaded on use: other commands need not pay for packaging code at startup.
        const { buildWasmImage, createdTimestamp, parseAnnotations } = await import("../../oci/wasm-image.ts");
        const { writeImageLayout } = await import("../../oci/layout.ts");
        const { writeLayoutTar } = await import("../../oci/layout-tar.ts");
        const { loadRegistryConfig } = await import("../../config/registry-config.ts");
        if (o.output === undefined && o.tar === undefined) throw new UsageError("image: give -o LAYOUT_DIR, --tar OUT.tar, or both", "MISSING_OUTPUT");
        if (o.format !== "cncf" && o.format !== "runwasi") throw new UsageError(`--format ${o.format}: expected cncf or runwasi`, "BAD_FORMAT");
        if (o.format === "runwasi") return runwasiImage(input, o);
        if (o.name !== undefined) throw new UsageError("--name applies to --format runwasi (use --tag for the CNCF layout)", "BAD_FLAGS");
        for (const t of o.tag) {
          const problem = tagProblem(t);
          if (problem !== undefined) throw new UsageError(`invalid --tag "${t}": ${problem}`, "INVALID_TAG");
        }
        if (o.registryConfig !== undefined) await loadRegistryConfig(o.registryConfig);
        const annotations = parseAnnotations(o.annotation);
        let read: Awaited<ReturnType<typeof readFileWithDigest>>;
        try {
          read = await readFileWithDigest(input);
        } catch (e) {
          if (e instanceof WasmOciError) throw e;
          throw new UsageError(`cannot read ${input}: ${(e as Error).message}`, "INPUT_UNREADABLE");
        }
        const wasm = read.bytes;
        const created = createdTimestamp();
        const extraLayers = o.policyLayer !== undefined ? [await (await import("../../oci/policy-layer.ts")).readPolicyLayerFile(o.policyLayer)] : [];
        const image = buildWasmImage(wasm, { fileName: basename(input), annotations, created, layerDigest: read.digest, extraLayers });
        const signatures = [];
        if (o.signature !== undefined) {
          const { buildSignatureArtifact, checkSignatureBytes } = await import("../../oci/signature-artifact.ts");
          const { readSignatureFile } = await import("../../sign/index.ts");
          const sig = await readSignatureFile(o.signature);
          checkSignatureBytes(sig, `--signature ${o.signature}`);
          signatures.push(buildSignatureArtifact(sig, { mediaType: image.mediaType, digest: image.manifestDigest, size: image.manifestBytes.length }, created));
        }
        let scratch: string | undefined;
        const layoutDir = o.output ?? (scratch = await mkdtemp(join(tmpdir(), "wasm-oci-image-")));
        try {
          await writeImageLayout(scratch !== undefined ? join(scratch, "layout") : layoutDir, image, o.tag, signatures);
          if (o.tar !== undefined) await writeLayoutTar(scratch !== undefined ? join(scratch, "layout") : layoutDir, o.tar, new Date(created));
        } finally {
          if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
        }
        const result = {
          digest: image.manifestDigest,
          size: image.manifestBytes.length,
          mediaType: image.mediaType,
          tags: o.tag,
          config: image.config.descriptor,
          layer: image.layers[0]?.descriptor,
          ...(image.layers[1] !== undefined ? { policyLayer: image.layers[1].descriptor } : {}),
          ...(signatures[0] !== undefined
            ? { signature: { digest: signatures[0].manifestDigest, size: signatures[0].manifestBytes.length, artifactType: signatures[0].manifest.artifactType, layer: signatures[0].layers[0]?.descriptor } }
            : {}),
          ...(o.output !== undefined ? { layout: o.output } : {}),
          ...(o.tar !== undefined ? { tar: o.tar } : {}),
        };
        printResult(o.json, result, () => image.manifestDigest);
      },
    );
}

/** `image --format runwasi`: the containerd/runwasi tar (and, with -o, the same files as a directory). */
async function runwasiImage(input: string, o: ImageFlags): Promise<void> {
  const { buildRunwasiImage, writeRunwasiLayout } = await import("../../oci/runwasi-image.ts");
  const { createdTimestamp, parseAnnotations } = await import("../../oci/wasm-image.ts");
  const { writeLayoutTar } = await import("../../oci/layout-tar.ts");
  const { assertReplaceable } = await import("../../oci/layout.ts");
  if (o.name === undefined) throw new UsageError("--format runwasi needs --name NAME:TAG (the name containerd imports the image as)", "BAD_FLAGS");
  if (o.tag.length > 0) throw new UsageError("--format runwasi takes its tag from --name NAME:TAG; drop --tag", "BAD_FLAGS");
  if (o.signature !== undefined) throw new UsageError("--signature is not supported with --format runwasi (containerd imports no referrers); sign the component (embedded) before packaging it", "BAD_FLAGS");
  if (o.registryConfig !== undefined) await (await import("../../config/registry-config.ts")).loadRegistryConfig(o.registryConfig);
  let read: Awaited<ReturnType<typeof readFileWithDigest>>;
  try {
    read = await readFileWithDigest(input);
  } catch (e) {
    if (e instanceof WasmOciError) throw e;
    throw new UsageError(`cannot read ${input}: ${(e as Error).message}`, "INPUT_UNREADABLE");
  }
  const created = createdTimestamp();
  const extraLayers = o.policyLayer !== undefined ? [await (await import("../../oci/policy-layer.ts")).readPolicyLayerFile(o.policyLayer)] : [];
  const image = buildRunwasiImage(read.bytes, { name: o.name, fileName: basename(input), created, annotations: parseAnnotations(o.annotation), extraLayers, layerDigest: read.digest });
  if (o.output !== undefined) await assertReplaceable(o.output);
  let scratch: string | undefined;
  const layoutDir = o.output ?? join((scratch = await mkdtemp(join(tmpdir(), "wasm-oci-image-"))), "layout");
  try {
    await writeRunwasiLayout(layoutDir, image);
    if (o.tar !== undefined) await writeLayoutTar(layoutDir, o.tar, new Date(created));
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
  const result = {
    digest: image.manifestDigest,
    size: image.manifestBytes.length,
    mediaType: image.mediaType,
    format: "runwasi",
    name: image.name,
    tag: image.tag,
    platform: image.platform,
    config: image.config.descriptor,
    layer: image.layers[0]?.descriptor,
    ...(image.layers[1] !== undefined ? { policyLayer: image.layers[1].descriptor } : {}),
    ...(o.output !== undefined ? { layout: o.output } : {}),
    ...(o.tar !== undefined ? { tar: o.tar } : {}),
  };
  printResult(o.json, result, () => image.manifestDigest);
}
