import { describe, expect, it } from "vitest";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  defaultRegistryEntry,
  findRegistryEntry,
  loadRegistryConfig,
  parseRegistryConfig,
  registryConfigSchema,
} from "../../tools/src/config/registry-config.ts";
import { registryConfigSchemaText, schemaPath } from "../../tools/src/config/gen-registry-config-schema.ts";
import { UsageError } from "../../tools/src/util/errors.ts";
import { jsonErrorOffset } from "../../tools/src/config/json-position.ts";
import fc from "fast-check";

async function writeConfig(value: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "regcfg-"));
  const path = join(dir, "registries.json");
  await writeFile(path, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  return path;
}

async function loadError(value: unknown): Promise<{ err: UsageError; path: string }> {
  const path = await writeConfig(value);
  try {
    await loadRegistryConfig(path);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const err = e as UsageError;
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(path);
    return { err, path };
  }
  throw new Error("expected the config to be rejected");
}

const full = {
  version: 1,
  default_registry: "ghcr",
  registries: [
    { name: "ghcr", host: "ghcr.io", type: "oci", auth: { type: "env", token_env: "GITHUB_TOKEN" }, namespace_prefix: "acme/", namespaces: ["acme"] },
    { name: "local", host: "localhost:5000", type: "oci", insecure: true, mirrors: ["127.0.0.1:5001", "mirror.example.com"] },
    { name: "hub", host: "docker.io", auth: { type: "docker" } },
    { name: "harbor", host: "harbor.example.com:8443", auth: { type: "basic_env", username_env: "HARBOR_USER", password_env: "HARBOR_PASS" } },
    { name: "k8s", host: "reg.internal", auth: { type: "token_file", path: "/var/run/secrets/token" } },
    { name: "acr", host: "x.azurecr.io", auth: { type: "oauth2_env", client_id_env: "ID", client_secret_env: "SECRET", token_url: "https://login.example.com/token", scope: "registry" } },
    { name: "ecr", host: "1.dkr.ecr.us-east-1.amazonaws.com", auth: { type: "credential_helper", helper: "ecr-login" } },
    { name: "anon", host: "public.example.com", auth: { type: "none" } },
    { name: "vendored", host: "third_party/layouts/app", type: "oci-layout" },
  ],
  timeout_seconds: 30,
  retry: { max_attempts: 2, max_elapsed_seconds: 10 },
  enable_mirror_fallback: false,
  cache_dir: "/tmp/cache",
};

describe("loadRegistryConfig", () => {
  it("accepts every auth source and keeps the values", async () => {
    const config = await loadRegistryConfig(await writeConfig(full));
    expect(config.registries).toHaveLength(9);
    expect(config.timeout_seconds).toBe(30);
    expect(config.retry).toEqual({ max_attempts: 2, max_elapsed_seconds: 10 });
    expect(config.enable_mirror_fallback).toBe(false);
    expect(config.registries[1]?.mirrors).toEqual(["127.0.0.1:5001", "mirror.example.com"]);
    expect(config.registries[5]?.auth).toEqual(full.registries[5]?.auth);
    expect(defaultRegistryEntry(config)?.host).toBe("ghcr.io");
  });

  it("fills defaults", async () => {
    const config = await loadRegistryConfig(await writeConfig({ registries: [{ name: "r", host: "r.example.com" }] }));
    expect(config).toEqual({
      registries: [{ name: "r", host: "r.example.com", type: "oci", insecure: false, mirrors: [] }],
      timeout_seconds: 60,
      request_deadline_seconds: 3600,
      retry: { max_attempts: 4, max_elapsed_seconds: 60 },
      enable_mirror_fallback: true,
    });
    const partialRetry = parseRegistryConfig({ registries: [], retry: { max_attempts: 9 } });
    expect(partialRetry.retry).toEqual({ max_attempts: 9, max_elapsed_seconds: 60 });
  });

  it.each<[string, unknown, RegExp[]]>([
    ["unknown top-level field", { registries: [], network: {} }, [/network: unknown field/]],
    ["unknown entry field", { registries: [{ name: "a", host: "a.io", url: "x" }] }, [/registries\[0\]\.url: unknown field/]],
    ["unknown auth field", { registries: [{ name: "a", host: "a.io", auth: { type: "docker", file: "x" } }] }, [/registries\[0\]\.auth\.file: unknown field/]],
    ["missing registries", {}, [/registries: required field is missing \(expected array\)/]],
    ["missing token_env", { registries: [{ name: "a", host: "a.io" }, { name: "b", host: "b.io", auth: { type: "env" } }] }, [/registries\[1\]\.auth\.token_env: required field is missing/]],
    ["bad env var name", { registries: [{ name: "a", host: "a.io", auth: { type: "env", token_env: "ghp-abc def" } }] }, [/registries\[0\]\.auth\.token_env: expected the NAME of an environment variable/]],
    ["unknown auth type", { registries: [{ name: "a", host: "a.io", auth: { type: "vault" } }] }, [/registries\[0\]\.auth\.type: expected one of "none", "env"/]],
    ["bad type", { registries: [{ name: "a", host: "a.io", type: "docker" }] }, [/registries\[0\]\.type: /]],
    ["host with scheme", { registries: [{ name: "a", host: "https://a.io" }] }, [/registries\[0\]\.host: "https:\/\/a.io" is not a registry host\[:port\]: a registry host has no scheme/]],
    ["host with path", { registries: [{ name: "a", host: "a.io/x" }] }, [/registries\[0\]\.host: .*has no path/]],
    ["bad port", { registries: [{ name: "a", host: "a.io:70000" }] }, [/registries\[0\]\.host: .*port 70000 is out of range/]],
    ["bad mirror", { registries: [{ name: "a", host: "a.io", mirrors: ["ok.io", "http://m.io"] }] }, [/registries\[0\]\.mirrors\[1\]: .*no scheme/]],
    ["duplicate names", { registries: [{ name: "a", host: "a.io" }, { name: "a", host: "b.io" }] }, [/registries\[1\]\.name: duplicate name "a" \(also registries\[0\]\)/]],
    ["duplicate hosts", { registries: [{ name: "a", host: "docker.io" }, { name: "b", host: "index.docker.io" }] }, [/registries\[1\]\.host: duplicate host/]],
    ["default names nothing", { default_registry: "nope", registries: [{ name: "a", host: "a.io" }] }, [/default_registry: "nope" names no entry of registries \(known: "a"\)/]],
    ["bad retry", { registries: [], retry: { max_attempts: 0, max_elapsed_seconds: 1.5 } }, [/retry\.max_attempts: Too small/, /retry\.max_elapsed_seconds: expected a whole number/]],
    ["negative timeout", { registries: [], timeout_seconds: -1 }, [/timeout_seconds: Too small/]],
    ["zero deadline", { registries: [], request_deadline_seconds: 0 }, [/request_deadline_seconds: Too small/]],
    ["bad version", { version: 2, registries: [] }, [/version: /]],
    ["bad token_url", { registries: [{ name: "a", host: "a.io", auth: { type: "oauth2_env", client_id_env: "I", client_secret_env: "S", token_url: "file:///etc/passwd" } }] }, [/registries\[0\]\.auth\.token_url: expected an http\(s\) URL/]],
    ["helper with a path", { registries: [{ name: "a", host: "a.io", auth: { type: "credential_helper", helper: "../../bin/sh" } }] }, [/registries\[0\]\.auth\.helper: expected a helper name/]],
    ["bad namespace prefix", { registries: [{ name: "a", host: "a.io", namespace_prefix: "Acme/" }] }, [/registries\[0\]\.namespace_prefix: expected a repository path prefix/]],
    ["not an object", [], [/\(top level\): /]],
    ["namespace served twice", { registries: [{ name: "a", host: "a.io", namespaces: ["acme"] }, { name: "b", host: "b.io", namespaces: ["x", "acme"] }] }, [/registries\[1\]\.namespaces\[1\]: namespace "acme" is already served by registries\[0\]/]],
    ["bad namespace label", { registries: [{ name: "a", host: "a.io", namespaces: ["Acme"] }] }, [/registries\[0\]\.namespaces\[0\]: expected a WIT namespace label/]],
  ])("rejects %s naming the field", async (_name, value, messages) => {
    const { err } = await loadError(value);
    expect(err.code).toBe("CONFIG_INVALID");
    for (const m of messages) expect(err.message).toMatch(m);
  });

  it("rejects inline secrets without echoing them", async () => {
    const secret = "ghp_INLINESECRETVALUE1234";
    for (const [value, field, advice] of [
      [{ registries: [{ name: "a", host: "a.io", auth: { type: "env", token_env: "X", token: secret } }] }, "registries[0].auth.token", /token_env/],
      [{ registries: [{ name: "a", host: "a.io", auth: { type: "basic_env", username_env: "U", password_env: "P", password: secret } }] }, "registries[0].auth.password", /password_env/],
      [{ registries: [{ name: "a", host: "a.io", auth: secret }] }, "registries[0].auth", /auth source object/],
      [{ registries: [{ name: "a", host: "a.io", client_secret: secret }] }, "registries[0].client_secret", /client_secret_env/],
      [{ registries: [], identitytoken: secret }, "identitytoken", /token_env/],
    ] as const) {
      const { err } = await loadError(value);
      expect(err.code).toBe("CONFIG_INLINE_SECRET");
      expect(err.message).toContain(`${field}: inline credentials are not accepted`);
      expect(err.message).toMatch(advice);
      expect(err.message).not.toContain(secret);
      expect(JSON.stringify(err.details)).not.toContain(secret);
    }
  });

  it("reports JSON syntax errors by position without quoting the file", async () => {
    const secret = "hunter2-very-secret";
    const { err } = await loadError(`{\n  "registries": [\n    { "name": "a", "password": ${secret} }\n  ]\n}`);
    expect(err.code).toBe("CONFIG_INVALID_JSON");
    expect(err.message).toMatch(/not valid JSON at line:column 3:32$/);
    expect(err.message).not.toContain(secret);
  });

  it("locates syntax errors exactly like JSON.parse accepts and rejects", () => {
    const cases: Array<[string, number | undefined]> = [
      ['{"a": [1, 2, {"b": null}], "c": "x\\u00e9"}', undefined],
      ["", 0],
      ["{", 1],
      ['{"a" 1}', 5],
      ['{"a": 1,}', 8],
      ["[1 2]", 3],
      ['{"a": tru}', 9],
      ["[01]", 2],
      ['"a\tb"', 2],
      ["{} x", 3],
    ];
    for (const [text, offset] of cases) {
      expect(jsonErrorOffset(text), text).toBe(offset);
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      expect(parses, text).toBe(offset === undefined);
    }
    fc.assert(
      fc.property(fc.json(), fc.nat(), (json, cut) => {
        expect(jsonErrorOffset(json)).toBeUndefined();
        const truncated = json.slice(0, cut % (json.length + 1));
        let parses = true;
        try {
          JSON.parse(truncated);
        } catch {
          parses = false;
        }
        expect(jsonErrorOffset(truncated) === undefined).toBe(parses);
      }),
      { numRuns: 300 },
    );
  });

  it("reports a missing file", async () => {
    await expect(loadRegistryConfig("/nonexistent/registries.json")).rejects.toThrow(/cannot read registry config \/nonexistent\/registries.json/);
  });
});

describe("docs/cli.md", () => {
  it("its example registry config is valid", async () => {
    const md = await readFile(new URL("../../docs/cli.md", import.meta.url), "utf8");
    // The registry config example is the JSON block that declares "registries"; other blocks show outputs.
    const block = [...md.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b?.includes('"registries"'));
    expect(block).toBeDefined();
    const config = parseRegistryConfig(JSON.parse(block ?? ""), "docs/cli.md");
    expect(config.registries.map((r) => r.name)).toEqual(["ghcr", "local", "vendored"]);
  });
});

describe("findRegistryEntry", () => {
  const config = parseRegistryConfig(full);
  it("matches by name, then by host with Docker Hub aliases and case normalised", () => {
    expect(findRegistryEntry(config, "local")?.host).toBe("localhost:5000");
    expect(findRegistryEntry(config, "localhost:5000")?.name).toBe("local");
    expect(findRegistryEntry(config, "GHCR.io")?.name).toBe("ghcr");
    expect(findRegistryEntry(config, "registry-1.docker.io")?.name).toBe("hub");
    expect(findRegistryEntry(config, "index.docker.io")?.name).toBe("hub");
    expect(findRegistryEntry(config, "unknown.io")).toBeUndefined();
    // A mirror is not the registry it mirrors.
    expect(findRegistryEntry(config, "127.0.0.1:5001")).toBeUndefined();
    // Layout entries are found by name only.
    expect(findRegistryEntry(config, "vendored")?.type).toBe("oci-layout");
    expect(findRegistryEntry(config, "third_party/layouts/app")).toBeUndefined();
  });
});

describe("JSON Schema", () => {
  it("registry-config.schema.json is current (regenerate: pnpm exec tsx tools/src/config/gen-registry-config-schema.ts)", async () => {
    expect(await readFile(schemaPath, "utf8")).toBe(registryConfigSchemaText());
  });

  it("describes the auth sources and marks defaulted fields optional", () => {
    const text = registryConfigSchemaText();
    const schema = JSON.parse(text) as { required?: string[]; additionalProperties?: boolean };
    expect(schema.required).toEqual(["registries"]);
    expect(schema.additionalProperties).toBe(false);
    for (const t of ["none", "env", "basic_env", "token_file", "oauth2_env", "docker", "credential_helper"]) expect(text).toContain(`"const": "${t}"`);
    expect(registryConfigSchema).toBeDefined();
  });
});
