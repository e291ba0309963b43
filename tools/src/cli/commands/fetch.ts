import type { Command } from "commander";
import { printResult } from "../output.ts";

interface FetchFlags {
  file: string;
  output: string;
  lock?: string;
  registryConfig?: string;
  cacheDir?: string;
  policy?: string;
  concurrency?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("fetch")
    .description("provision the components of a wassette-shaped manifest (components: [{uri, name, digest, permissions}]) into a directory, verified and locked")
    .requiredOption("-f, --file <components.yaml>", "the manifest (YAML or JSON): version: 1, components: [{uri: oci://|file://|https://..., name, digest: sha256:..., permissions, signature: {public_key, type}}]")
    .requiredOption("-o, --output <dir>", "writes <name>.wasm, <name>.policy.yaml (when the image has a policy layer) and <name>.metadata.json here")
    .option("--lock <file>", "lock file of resolved digests (default: <dir>/wasm-oci.lock.json)")
    .option("--registry-config <file>", "registry config JSON (registries, auth sources, mirrors, retry, cache)")
    .option("--cache-dir <dir>", "content-addressed cache (default: registry config cache_dir, else $XDG_CACHE_HOME/wasm-oci)")
    .option("--policy <file>", "security policy JSON every component must pass (its registries, names and signature requirements)")
    .option("--concurrency <n>", "components fetched at the same time (1-16, default 4)")
    .option("--json", "print {lock, components: [{name, uri, status, digest, ...}]} as one JSON document")
    .action(async (o: FetchFlags) => {
      const { UsageError } = await import("../../util/errors.ts");
      let concurrency: number | undefined;
      if (o.concurrency !== undefined) {
        concurrency = Number(o.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) throw new UsageError(`--concurrency ${o.concurrency}: expected a whole number from 1 to 16`, "BAD_FLAGS");
      }
      const { fetchComponents } = await import("../../fetch/fetch.ts");
      const result = await fetchComponents({
        manifest: o.file,
        outDir: o.output,
        ...(o.lock !== undefined ? { lock: o.lock } : {}),
        ...(o.registryConfig !== undefined ? { registryConfig: o.registryConfig } : {}),
        ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
        ...(o.policy !== undefined ? { policy: o.policy } : {}),
        ...(concurrency !== undefined ? { concurrency } : {}),
      });
      printResult(o.json, result, () => result.components.map((c) => `${c.status.padEnd(9)} ${c.name} ${c.digest}${c.policyLayer ? " +policy" : ""}${c.signatureVerified ? " signature-verified" : ""}`));
    });
}
