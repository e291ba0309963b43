import type { Command } from "commander";
import { printResult } from "../output.ts";
import { parseDigest } from "../../util/digest.ts";

export function register(program: Command): void {
  program
    .command("pull")
    .description("pull a Wasm module or component from a registry or an OCI layout, verifying every digest")
    .argument("<ref>", "[oci://]host[:port]/repo[:tag][@sha256:...] or oci-layout:DIR[:tag|@digest]")
    .requiredOption("-o, --output <file>", "where to write the .wasm (written atomically)")
    .option("--digest <sha256:...>", "the manifest digest the reference must resolve to")
    .option("--registry-config <file>", "registry config JSON (registries, auth sources, mirrors, retry, cache)")
    .option("--metadata <file>", "write reference, manifest digest, layer, media types, annotations and config as JSON")
    .option("--cache-dir <dir>", "content-addressed cache (default: registry config cache_dir, else $XDG_CACHE_HOME/wasm-oci)")
    .option("--json", "print the metadata as one JSON document")
    .action(async (ref: string, o: { output: string; digest?: string; registryConfig?: string; metadata?: string; cacheDir?: string; json?: boolean }) => {
      // Loaded on use: other commands need not pay for the registry client at startup.
      const { pull } = await import("../../oci/pull.ts");
      const result = await pull({
        reference: ref,
        output: o.output,
        ...(o.digest !== undefined ? { digest: parseDigest(o.digest, "--digest") } : {}),
        ...(o.registryConfig !== undefined ? { registryConfig: o.registryConfig } : {}),
        ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
        ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
      });
      printResult(o.json, result.metadata, () => result.metadata.manifestDigest);
    });
}
