import type { Command } from "commander";
import { printJson, printResult } from "../output.ts";
import { loadRegistryConfig, registryConfigJsonSchema, type RegistryConfig } from "../../config/registry-config.ts";
import { wkgConfigToml } from "../../config/wkg.ts";
import { describeAuthSource, resolveCredential } from "../../oci/credentials.ts";
import { normalizeRegistryHost } from "../../oci/reference.ts";
import { writeFileAtomic } from "../../util/atomic-write.ts";

function summary(path: string, config: RegistryConfig) {
  return {
    valid: true,
    file: path,
    default_registry: config.default_registry ?? null,
    registries: config.registries.map((e) => ({
      name: e.name,
      type: e.type,
      host: e.host,
      auth: e.auth === undefined ? null : { type: e.auth.type, source: describeAuthSource(e.auth) },
      insecure: e.insecure,
      mirrors: e.mirrors,
      namespace_prefix: e.namespace_prefix ?? null,
      namespaces: e.namespaces ?? [],
    })),
    timeout_seconds: config.timeout_seconds,
    request_deadline_seconds: config.request_deadline_seconds,
    retry: config.retry,
    enable_mirror_fallback: config.enable_mirror_fallback,
    cache_dir: config.cache_dir ?? null,
  };
}

export function register(program: Command): void {
  const config = program
    .command("config")
    .description("registry config: validate it, print its JSON Schema, write a wkg config.toml, show credential sources");

  config
    .command("validate")
    .description("check a registry config JSON file and print a summary (errors name the field)")
    .argument("<file>", "registry config JSON")
    .option("--json", "print the summary as one JSON document")
    .action(async (file: string, o: { json?: boolean }) => {
      const cfg = await loadRegistryConfig(file);
      const s = summary(file, cfg);
      printResult(o.json, s, () => [
        `${file}: valid, ${cfg.registries.length} ${cfg.registries.length === 1 ? "registry" : "registries"}` +
          (cfg.default_registry !== undefined ? `, default "${cfg.default_registry}"` : ""),
        ...s.registries.map(
          (r) =>
            `  ${r.name}: ${r.type} ${r.host}${r.insecure ? " (insecure)" : ""}; auth: ${r.auth?.source ?? "discovery (WKG env, Docker config)"}` +
            (r.mirrors.length > 0 ? `; mirrors: ${r.mirrors.join(", ")}` : ""),
        ),
        `  timeout ${cfg.timeout_seconds}s idle, ${cfg.request_deadline_seconds}s per request, retry ${cfg.retry.max_attempts} attempts within ${cfg.retry.max_elapsed_seconds}s, mirror fallback ${cfg.enable_mirror_fallback ? "on" : "off"}` +
          (cfg.cache_dir !== undefined ? `, cache ${cfg.cache_dir}` : ""),
      ]);
    });

  config
    .command("schema")
    .description("print the registry config JSON Schema")
    .action(() => {
      printJson(registryConfigJsonSchema());
    });

  config
    .command("wkg")
    .description("write a wkg (wasm-pkg-tools) config.toml for the registries of a registry config; no secrets are written")
    .requiredOption("--registry-config <file>", "registry config JSON")
    .option("-o, --output <file>", "where to write config.toml (atomically); default: stdout")
    .option("--json", "print {output, registries} as one JSON document")
    .action(async (o: { registryConfig: string; output?: string; json?: boolean }) => {
      const cfg = await loadRegistryConfig(o.registryConfig);
      const toml = wkgConfigToml(cfg, { source: o.registryConfig });
      const hosts = cfg.registries.filter((e) => e.type === "oci").map((e) => e.host);
      if (o.output === undefined || o.output === "-") {
        process.stdout.write(toml);
        return;
      }
      await writeFileAtomic(o.output, toml);
      printResult(o.json, { output: o.output, registries: hosts }, () => o.output ?? "");
    });

  config
    .command("credentials")
    .description("show which credential source would be used for a registry host, and what was tried (never the secret)")
    .argument("<host>", "registry host[:port] (docker.io for Docker Hub)")
    .option("--registry-config <file>", "registry config JSON")
    .option("--json", "print {host, source, kind, tried} as one JSON document")
    .action(async (host: string, o: { registryConfig?: string; json?: boolean }) => {
      const cfg = o.registryConfig !== undefined ? await loadRegistryConfig(o.registryConfig) : undefined;
      const registry = normalizeRegistryHost(host);
      const r = await resolveCredential(registry, cfg);
      const result = { host: registry, source: r.source ?? null, kind: r.credential?.kind ?? null, tried: r.tried };
      printResult(o.json, result, () => [
        `${registry}: ${r.credential === undefined ? "anonymous" : `${r.credential.kind} credential from ${r.source ?? "?"}`}`,
        ...r.tried.map((t) => `  tried: ${t}`),
      ]);
    });

  for (const sub of config.commands) sub.exitOverride().showHelpAfterError();
}
