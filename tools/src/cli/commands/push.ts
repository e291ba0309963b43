import type { Command } from "commander";
import { printResult } from "../output.ts";

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command("push")
    .description("push a Wasm file (packaged as `image` does) or an image from an OCI layout to a registry")
    .argument("<source>", "IN.wasm or oci-layout:DIR[:tag|@digest]")
    .argument("<ref>", "[oci://]host[:port]/repo[:tag] (or oci-layout:DIR[:tag] for a .wasm source)")
    .option("-t, --tag <tag>", "also tag the manifest (repeatable)", collect, [])
    .option("-a, --annotation <key=value>", "manifest annotation (repeatable)", collect, [])
    .option("--registry-config <file>", "registry config JSON (registries, auth sources, retry)")
    .option("--mount-from <repo>", "mount missing blobs from this repository of the same registry")
    .option("--dry-run", "print the manifest and digests; send no write request")
    .option("--json", "print {digest, size, tags, reference, ...} as one JSON document")
    .action(
      async (
        source: string,
        ref: string,
        o: { tag: string[]; annotation: string[]; registryConfig?: string; mountFrom?: string; dryRun?: boolean; json?: boolean },
      ) => {
        // Loaded on use: other commands need not pay for the registry client at startup.
        const { push } = await import("../../oci/push.ts");
        const { parseAnnotations } = await import("../../oci/wasm-image.ts");
        const result = await push({
          source,
          reference: ref,
          tags: o.tag,
          annotations: parseAnnotations(o.annotation),
          ...(o.registryConfig !== undefined ? { registryConfig: o.registryConfig } : {}),
          ...(o.mountFrom !== undefined ? { mountFrom: o.mountFrom } : {}),
          dryRun: o.dryRun ?? false,
        });
        printResult(o.json, result, () => {
          if (!result.dryRun) return result.digest;
          return [
            JSON.stringify(result.manifest, null, 2),
            ...result.blobs.map((b) => `${b.mediaType} ${b.digest} ${b.size}`),
            `manifest ${result.digest} ${result.size}`,
          ];
        });
      },
    );
}
