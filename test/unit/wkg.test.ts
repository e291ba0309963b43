import { describe, expect, it } from "vitest";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import fc from "fast-check";
import { parseRegistryConfig } from "../../tools/src/config/registry-config.ts";
import { tomlString, wkgConfigToml } from "../../tools/src/config/wkg.ts";
import { main } from "../../tools/src/cli/main.ts";

/**
 * What wkg (wasm-pkg-common's TomlConfig, deny_unknown_fields) accepts, as far as we emit it:
 * a registry is an http Authority (host[:port]); [registry."host"] has `default`/`type` and
 * per-backend tables, of which we only write `oci` with `protocol`.
 */
const authority = z.string().regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/);
const label = z.string().regex(/^[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*$/);
const mapping = z.union([
  authority,
  z.strictObject({
    registry: authority,
    metadata: z.strictObject({
      preferredProtocol: z.literal("oci"),
      oci: z.strictObject({ registry: authority, namespacePrefix: z.string().optional() }),
    }),
  }),
]);
const wkgToml = z.strictObject({
  default_registry: authority.optional(),
  namespace_registries: z.record(label, mapping).optional(),
  package_registry_overrides: z.record(z.string().regex(/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/), mapping).optional(),
  registry: z
    .record(
      authority,
      z.strictObject({
        default: z.literal("oci").optional(),
        type: z.literal("oci").optional(),
        // wkg's oci backend fields; we must never write auth.
        oci: z.strictObject({ protocol: z.enum(["http", "https"]).optional() }).optional(),
      }),
    )
    .optional(),
});

const config = parseRegistryConfig({
  default_registry: "ghcr",
  registries: [
    { name: "ghcr", host: "ghcr.io", auth: { type: "env", token_env: "GITHUB_TOKEN" }, namespaces: ["acme", "acme-tools"], namespace_prefix: "acme" },
    { name: "local", host: "localhost:5000", auth: { type: "basic_env", username_env: "U", password_env: "P" }, namespaces: ["dev"] },
    { name: "loop", host: "127.0.0.1:5001", auth: { type: "token_file", path: "/var/run/secrets/token\n[evil]" } },
    { name: "corp", host: "registry.corp.example:8443", insecure: true, auth: { type: "oauth2_env", client_id_env: "CID", client_secret_env: "CSECRET" }, mirrors: ["mirror.corp.example"] },
    { name: "hub", host: "index.docker.io", auth: { type: "docker" } },
    { name: "ecr", host: "1.dkr.ecr.eu-west-1.amazonaws.com", auth: { type: "credential_helper", helper: "ecr-login" } },
    { name: "v6", host: "[::1]:5002", auth: { type: "none" } },
    { name: "vendored", host: "third_party/app", type: "oci-layout" },
  ],
});

describe("wkg config.toml", () => {
  const text = wkgConfigToml(config, { source: "registries.json" });
  const parsed = parseToml(text);

  it("parses as TOML and has only keys wkg accepts", () => {
    const result = wkgToml.safeParse(parsed);
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
  });

  it("maps default registry, namespaces, protocols", () => {
    expect(parsed).toEqual({
      default_registry: "ghcr.io",
      namespace_registries: {
        acme: { registry: "ghcr.io", metadata: { preferredProtocol: "oci", oci: { registry: "ghcr.io", namespacePrefix: "acme/" } } },
        "acme-tools": { registry: "ghcr.io", metadata: { preferredProtocol: "oci", oci: { registry: "ghcr.io", namespacePrefix: "acme/" } } },
        dev: "localhost:5000",
      },
      registry: {
        "ghcr.io": { default: "oci", oci: { protocol: "https" } },
        "localhost:5000": { default: "oci", oci: { protocol: "http" } },
        "127.0.0.1:5001": { default: "oci", oci: { protocol: "http" } },
        "registry.corp.example:8443": { default: "oci", oci: { protocol: "http" } },
        "docker.io": { default: "oci", oci: { protocol: "https" } },
        "1.dkr.ecr.eu-west-1.amazonaws.com": { default: "oci", oci: { protocol: "https" } },
        "[::1]:5002": { default: "oci", oci: { protocol: "http" } },
      },
    });
  });

  it("documents credentials in comments only, naming wkg's env var", () => {
    expect(text).toContain('#   export WKG_REGISTRY_GHCR_IO_AUTH_BEARER="$GITHUB_TOKEN"');
    expect(text).toContain("docker login localhost:5000");
    expect(text).toContain("WKG_REGISTRY_REGISTRY_CORP_EXAMPLE_8443_AUTH_BEARER");
    expect(text).toContain('"credHelpers": { "1.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" }');
    expect(text).toContain("not a wkg registry");
    // The newline in the token file path stays inside the comment.
    expect(text).toContain("token\\n[evil]");
    expect(JSON.stringify(parsed)).not.toContain("evil");
    expect(text).not.toMatch(/^\s*auth\s*=/m);
  });

  it("never contains a secret from the environment", () => {
    const secret = "ghp_shouldNeverAppear1234";
    const before = process.env["GITHUB_TOKEN"];
    process.env["GITHUB_TOKEN"] = secret;
    try {
      expect(wkgConfigToml(config)).not.toContain(secret);
    } finally {
      if (before === undefined) delete process.env["GITHUB_TOKEN"];
      else process.env["GITHUB_TOKEN"] = before;
    }
  });

  it("an empty config is an empty wkg config", () => {
    const t = wkgConfigToml(parseRegistryConfig({ registries: [] }));
    expect(parseToml(t)).toEqual({});
  });

  it("a layout as default registry is not written as default_registry", () => {
    const t = wkgConfigToml(parseRegistryConfig({ default_registry: "l", registries: [{ name: "l", host: "dir", type: "oci-layout" }] }));
    expect(parseToml(t)).toEqual({});
    expect(t).toContain("wkg cannot use");
  });
});

describe("tomlString", () => {
  it("round-trips any string through a TOML parser", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        // Lone surrogates cannot be written as UTF-8 at all.
        fc.pre(!/\p{Cs}/u.test(s));
        expect(parseToml(`k = ${tomlString(s)}`)).toEqual({ k: s });
      }),
      { numRuns: 500 },
    );
  });
});

describe("wasm-oci config (CLI)", () => {
  async function run(args: string[]): Promise<{ code: number; stdout: string }> {
    const chunks: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return true;
    }) as typeof process.stdout.write;
    try {
      const code = await main(["node", "wasm-oci", ...args]);
      return { code, stdout: chunks.join("") };
    } finally {
      process.stdout.write = orig;
    }
  }

  it("config wkg writes the file atomically and config validate summarises", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wkgcli-"));
    const cfgPath = join(dir, "registries.json");
    await writeFile(cfgPath, JSON.stringify({ default_registry: "local", registries: [{ name: "local", host: "localhost:5000" }] }));
    const out = join(dir, "wkg", "config.toml");
    const w = await run(["config", "wkg", "--registry-config", cfgPath, "-o", out, "--json"]);
    expect(w.code).toBe(0);
    expect(JSON.parse(w.stdout)).toEqual({ output: out, registries: ["localhost:5000"] });
    expect(wkgToml.parse(parseToml(await readFile(out, "utf8")))).toMatchObject({ default_registry: "localhost:5000" });
    expect(await readdir(join(dir, "wkg"))).toEqual(["config.toml"]);

    const v = await run(["config", "validate", cfgPath, "--json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ valid: true, default_registry: "local", registries: [{ name: "local", host: "localhost:5000", auth: null }] });
  });

  it("a bad config exits 2 and writes nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wkgcli-"));
    const cfgPath = join(dir, "registries.json");
    await writeFile(cfgPath, JSON.stringify({ registries: [{ name: "x", host: "http://x" }] }));
    const out = join(dir, "config.toml");
    expect((await run(["config", "wkg", "--registry-config", cfgPath, "-o", out])).code).toBe(2);
    expect((await run(["config", "validate", cfgPath])).code).toBe(2);
    expect(await readdir(dir)).toEqual(["registries.json"]);
  });
});
