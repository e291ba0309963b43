/**
 * The registry config: which registries exist, how to reach them, and WHERE their credentials
 * come from. It never holds a credential: the file ends up in Bazel's output tree and in action
 * keys, so an inline secret is rejected with a message pointing at the env-var form.
 *
 * The zod schema is the single source of truth; registry-config.schema.json is generated from it
 * (see gen-registry-config-schema.ts) for the Starlark side and for editors.
 */
import { READ_LIMITS, readTextFile } from "../util/bounded-read.ts";
import * as z from "zod";
import { UsageError, errorMessage } from "../util/errors.ts";
import { isValidRegistryHost, normalizeRegistryHost, registryHostProblem } from "../oci/reference.ts";
import { jsonDepthExceeded, jsonErrorOffset, lineColumn, MAX_JSON_DEPTH } from "./json-position.ts";

const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected the NAME of an environment variable (letters, digits, '_'), not its value");

const registryHost = z.string().superRefine((host, ctx) => {
  const problem = registryHostProblem(host);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `"${host}" is not a registry host[:port]: ${problem}` });
});

const nonEmpty = z.string().min(1, "expected a non-empty string");

export const authSourceSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }).describe("Anonymous access."),
  z
    .strictObject({
      type: z.literal("env"),
      token_env: envVarName.describe("Environment variable holding a token (e.g. GITHUB_TOKEN)."),
      username: nonEmpty.optional().describe('User name presented with the token; defaults to "token".'),
    })
    .describe("A token read from an environment variable."),
  z
    .strictObject({
      type: z.literal("basic_env"),
      username_env: envVarName.describe("Environment variable holding the user name."),
      password_env: envVarName.describe("Environment variable holding the password."),
    })
    .describe("User name and password read from environment variables."),
  z
    .strictObject({
      type: z.literal("token_file"),
      path: nonEmpty.describe("File holding a token, e.g. a Kubernetes service-account token."),
      username: nonEmpty.optional(),
    })
    .describe("A token read from a file at execution time."),
  z
    .strictObject({
      type: z.literal("oauth2_env"),
      client_id_env: envVarName,
      client_secret_env: envVarName,
      token_url: z
        .url({ protocol: /^https?$/, error: "expected an http(s) URL" })
        .optional()
        .describe("OAuth2 token endpoint: the client_credentials grant is done there and its access token used."),
      scope: nonEmpty.optional(),
    })
    .describe("OAuth2 client credentials from environment variables."),
  z.strictObject({ type: z.literal("docker") }).describe("Docker config discovery (credHelpers, auths, credsStore)."),
  z
    .strictObject({
      type: z.literal("credential_helper"),
      helper: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a helper name such as "ecr-login" (runs docker-credential-<helper>)'),
    })
    .describe("Runs docker-credential-<helper> get."),
]);

export const registryEntrySchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "expected a name of letters, digits, '.', '_' and '-'")
      .describe("Name used by rules and by default_registry."),
    host: nonEmpty.describe("host[:port] for type oci; a directory for type oci-layout."),
    type: z.enum(["oci", "oci-layout"]).default("oci"),
    auth: authSourceSchema.optional(),
    insecure: z.boolean().default(false).describe("Plain HTTP and no TLS verification for this host."),
    mirrors: z.array(registryHost).default([]).describe("host[:port] of mirrors, tried in order when the primary fails."),
    chunk_threshold_mib: z
      .number()
      .int({ error: "expected a whole number of MiB" })
      .positive()
      .optional()
      .describe("Blobs larger than this many MiB are uploaded in PATCH chunks (default 512); lower it for proxies that limit request bodies."),
    chunk_size_mib: z
      .number()
      .int({ error: "expected a whole number of MiB" })
      .positive()
      .optional()
      .describe("Size of each PATCH chunk in MiB (default 128); a registry's OCI-Chunk-Min-Length raises it."),
    namespace_prefix: z
      .string()
      .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*\/?$/, "expected a repository path prefix such as \"acme/\"")
      .optional()
      .describe("Prefix of repository paths for packages of this registry (wkg's namespacePrefix)."),
    namespaces: z
      .array(z.string().regex(/^[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*$/, "expected a WIT namespace label such as \"acme\""))
      .optional()
      .describe("WIT package namespaces served by this registry (wkg's namespace_registries)."),
  })
  .superRefine((entry, ctx) => {
    if (entry.type === "oci") {
      const problem = registryHostProblem(entry.host);
      if (problem !== undefined) {
        ctx.addIssue({ code: "custom", path: ["host"], message: `"${entry.host}" is not a registry host[:port]: ${problem}` });
      }
    }
  });

export const registryConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1).optional(),
    default_registry: nonEmpty.optional().describe("The name of a registries entry."),
    registries: z.array(registryEntrySchema),
    timeout_seconds: z
      .number()
      .int({ error: "expected a whole number" })
      .positive()
      .default(60)
      .describe("Idle timeout of a request: connecting, waiting for headers, and each pause in a body."),
    request_deadline_seconds: z
      .number()
      .int({ error: "expected a whole number" })
      .positive()
      .default(3600)
      .describe("Total deadline of one request, headers and whole body included (each retry gets its own)."),
    retry: z
      .strictObject({
        max_attempts: z.number().int({ error: "expected a whole number" }).min(1).default(4),
        max_elapsed_seconds: z.number().int({ error: "expected a whole number" }).positive().default(60),
      })
      .prefault({}),
    enable_mirror_fallback: z.boolean().default(true),
    cache_dir: nonEmpty.optional(),
  })
  .superRefine((config, ctx) => {
    const names = new Map<string, number>();
    const hosts = new Map<string, number>();
    const namespaces = new Map<string, number>();
    config.registries.forEach((entry, i) => {
      (entry.namespaces ?? []).forEach((ns, j) => {
        const prev = namespaces.get(ns);
        if (prev !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["registries", i, "namespaces", j],
            message: `namespace "${ns}" is already served by registries[${prev}]`,
          });
        } else namespaces.set(ns, i);
      });
      const prevName = names.get(entry.name);
      if (prevName !== undefined) {
        ctx.addIssue({ code: "custom", path: ["registries", i, "name"], message: `duplicate name "${entry.name}" (also registries[${prevName}])` });
      } else names.set(entry.name, i);
      if (entry.type === "oci" && isValidRegistryHost(entry.host)) {
        const key = normalizeRegistryHost(entry.host);
        const prevHost = hosts.get(key);
        if (prevHost !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["registries", i, "host"],
            message: `duplicate host "${entry.host}" (also registries[${prevHost}]); credentials are looked up by host, so each host has one entry`,
          });
        } else hosts.set(key, i);
      }
    });
    if (config.default_registry !== undefined && !names.has(config.default_registry)) {
      const known = [...names.keys()].map((n) => `"${n}"`).join(", ");
      ctx.addIssue({
        code: "custom",
        path: ["default_registry"],
        message: `"${config.default_registry}" names no entry of registries (known: ${known || "none"})`,
      });
    }
  });

export type RegistryConfig = z.infer<typeof registryConfigSchema>;
/** What a user may write: fields with defaults are optional. */
export type RegistryConfigInput = z.input<typeof registryConfigSchema>;
export type RegistryEntry = z.infer<typeof registryEntrySchema>;
export type AuthSource = z.infer<typeof authSourceSchema>;

/** The JSON Schema of what a user may write (fields with defaults are optional). */
export function registryConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(registryConfigSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
}

/** "registries[1].auth.token_env" from ["registries", 1, "auth", "token_env"]. */
export function formatFieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else {
      const key = String(p);
      const plain = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key);
      out += plain ? (out === "" ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
    }
  }
  return out === "" ? "(top level)" : out;
}

/**
 * Keys that would hold a credential itself. Names ending in _env, path and the like are the
 * legitimate "where from" fields and do not match.
 */
const secretKeyRe = /^(?:password|passwd|pass|token|access_token|refresh_token|identitytoken|identity_token|secret|client_secret|api_key|apikey|credentials|bearer|registrytoken)$/i;

interface SecretHit {
  path: Array<string | number>;
  key: string;
}

function findInlineSecrets(value: unknown, path: Array<string | number> = []): SecretHit[] {
  const hits: SecretHit[] = [];
  if (path.length > MAX_JSON_DEPTH) {
    throw new UsageError(`registry config: ${formatFieldPath(path.slice(0, 3))}...: nested deeper than ${MAX_JSON_DEPTH} levels`, "CONFIG_TOO_DEEP");
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => hits.push(...findInlineSecrets(v, [...path, i])));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      // A string `auth` is Docker's base64 "user:password".
      if (secretKeyRe.test(k) || (k === "auth" && typeof v === "string")) hits.push({ path: [...path, k], key: k });
      else hits.push(...findInlineSecrets(v, [...path, k]));
    }
  }
  return hits;
}

function inlineSecretAdvice(key: string): string {
  const k = key.toLowerCase();
  if (k === "auth") return 'use an auth source object such as {"type": "basic_env", "username_env": "...", "password_env": "..."}';
  if (k.includes("secret")) return 'name an environment variable instead (e.g. "client_secret_env")';
  if (k.includes("pass")) return 'name an environment variable instead (e.g. "password_env" with type "basic_env")';
  return 'name an environment variable instead (e.g. "token_env" with type "env") or use type "token_file"';
}

/**
 * Validates an already-parsed config. `source` names the file in messages. Errors never echo
 * values (a misplaced secret must not reach a log), only field paths and what was expected.
 */
export function parseRegistryConfig(raw: unknown, source = "registry config"): RegistryConfig {
  const secrets = findInlineSecrets(raw);
  if (secrets.length > 0) {
    const lines = secrets.map(
      (h) => `  ${formatFieldPath(h.path)}: inline credentials are not accepted; ${inlineSecretAdvice(h.key)}`,
    );
    throw new UsageError(`${source}: the registry config must not contain secrets:\n${lines.join("\n")}`, "CONFIG_INLINE_SECRET", {
      fields: secrets.map((h) => formatFieldPath(h.path)),
    });
  }
  const result = registryConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines: string[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) lines.push(`  ${formatFieldPath([...issue.path, key])}: unknown field`);
    } else if (issue.code === "invalid_union" && "note" in issue && issue.note === "No matching discriminator") {
      lines.push(
        `  ${formatFieldPath(issue.path)}: expected one of "none", "env", "basic_env", "token_file", "oauth2_env", "docker", "credential_helper"`,
      );
    } else if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) {
      lines.push(`  ${formatFieldPath(issue.path)}: required field is missing (expected ${issue.expected})`);
    } else {
      lines.push(`  ${formatFieldPath(issue.path)}: ${issue.message}`);
    }
  }
  throw new UsageError(`${source}: invalid registry config:\n${lines.join("\n")}`, "CONFIG_INVALID", {
    fields: result.error.issues.map((i) => formatFieldPath(i.path)),
  });
}

export async function loadRegistryConfig(path: string): Promise<RegistryConfig> {
  let text: string;
  try {
    text = await readTextFile(path, READ_LIMITS.configFile, "CONFIG_UNREADABLE", "registry config");
  } catch (e) {
    throw new UsageError(`cannot read registry config ${path}: ${errorMessage(e)}`, "CONFIG_UNREADABLE");
  }
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const deep = jsonDepthExceeded(text, MAX_JSON_DEPTH);
  if (deep !== undefined) {
    throw new UsageError(`${path}: nested deeper than ${MAX_JSON_DEPTH} levels at line:column ${lineColumn(text, deep)}`, "CONFIG_TOO_DEEP");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // V8's message may quote part of the file, which could be a misplaced secret: report the position only.
    const offset = jsonErrorOffset(text);
    const where = offset !== undefined ? ` at line:column ${lineColumn(text, offset)}` : "";
    throw new UsageError(`${path}: not valid JSON${where}`, "CONFIG_INVALID_JSON");
  }
  return parseRegistryConfig(raw, path);
}

/**
 * The entry whose name is `hostOrName`, else the oci entry whose host is it (Docker Hub
 * aliases and letter case normalised). Mirrors do not match: a mirror may need other
 * credentials than the registry it mirrors.
 */
export function findRegistryEntry(config: RegistryConfig, hostOrName: string): RegistryEntry | undefined {
  const byName = config.registries.find((e) => e.name === hostOrName);
  if (byName !== undefined) return byName;
  const wanted = normalizeRegistryHost(hostOrName);
  return config.registries.find((e) => e.type === "oci" && normalizeRegistryHost(e.host) === wanted);
}

/** The default entry, if default_registry is set. */
export function defaultRegistryEntry(config: RegistryConfig): RegistryEntry | undefined {
  return config.default_registry === undefined ? undefined : config.registries.find((e) => e.name === config.default_registry);
}
