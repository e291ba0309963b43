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
    .option("--registry-config <file>", "accepted for symmetry with the other commands; validated, not otherwise used")
    .option("--json", "print {digest, size, config, layer, ...} as one JSON document")
    .action(
      async (input: string, o: { output?: string; tag: string[]; annotation: string[]; signature?: string; tar?: string; registryConfig?: string; json?: boolean }) => {
        // Loaded on use: other commands need not pay for packaging code at startup.
        const { buildWasmImage, createdTimestamp, parseAnnotations } = await import("../../oci/wasm-image.ts");
        const { writeImageLayout } = await import("../../oci/layout.ts");
        const { writeLayoutTar } = await import("../../oci/layout-tar.ts");
        const { loadRegistryConfig } = await import("../../config/registry-config.ts");
        if (o.output === undefined && o.tar === undefined) throw new UsageError("image: give -o LAYOUT_DIR, --tar OUT.tar, or both", "MISSING_OUTPUT");
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
        const image = buildWasmImage(wasm, { fileName: basename(input), annotations, created, layerDigest: read.digest });
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
