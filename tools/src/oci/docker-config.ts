/**
 * Docker (and podman) auth files: where they are and what they say about one registry host.
 * Discovery order: $DOCKER_CONFIG/config.json, ~/.docker/config.json, $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json. Within a file: credHelpers[host], then auths[host],
 * then credsStore. This module only reads and decodes; running helpers is credential-helper.ts.
 */
import { READ_LIMITS, readTextFile } from "../util/bounded-read.ts";
import { homedir } from "node:os";
import { join } from "node:path";
import * as z from "zod";
import { errorMessage } from "../util/errors.ts";
import { jsonDepthExceeded, jsonErrorOffset, lineColumn, MAX_JSON_DEPTH } from "../config/json-position.ts";
import { registerSecret } from "../util/log.ts";
import { DOCKER_HUB_REGISTRY, normalizeRegistryHost } from "./reference.ts";
import type { Credential } from "./types.ts";

/** The server address Docker itself uses for Docker Hub in auths keys and helper requests. */
export const DOCKER_HUB_SERVER_URL = "https://index.docker.io/v1/";

const authEntrySchema = z.looseObject({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
  registrytoken: z.string().optional(),
});

/** Only the fields we use; Docker configs carry many others (proxies, plugins, aliases). */
export const dockerConfigSchema = z.looseObject({
  auths: z.record(z.string(), authEntrySchema).optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});

export type DockerConfig = z.infer<typeof dockerConfigSchema>;
export type DockerAuthEntry = z.infer<typeof authEntrySchema>;

/** Candidate auth files in discovery order, without duplicates. */
export function dockerConfigPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env["HOME"] ?? homedir();
  const paths: string[] = [];
  const dockerConfig = env["DOCKER_CONFIG"];
  if (dockerConfig) paths.push(join(dockerConfig, "config.json"));
  if (home) paths.push(join(home, ".docker", "config.json"));
  const authFile = env["REGISTRY_AUTH_FILE"];
  if (authFile) paths.push(authFile);
  const xdg = env["XDG_RUNTIME_DIR"];
  if (xdg) paths.push(join(xdg, "containers", "auth.json"));
  return [...new Set(paths)];
}

export type DockerConfigRead =
  | { status: "absent"; path: string }
  | { status: "invalid"; path: string; error: string }
  | { status: "ok"; path: string; config: DockerConfig };

export async function readDockerConfig(path: string): Promise<DockerConfigRead> {
  let text: string;
  try {
    text = await readTextFile(path, READ_LIMITS.configFile, "CREDENTIAL_UNAVAILABLE", "auth file");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { status: "absent", path };
    return { status: "invalid", path, error: `cannot read: ${errorMessage(e)}` };
  }
  const deep = jsonDepthExceeded(text, MAX_JSON_DEPTH);
  if (deep !== undefined) {
    return { status: "invalid", path, error: `nested deeper than ${MAX_JSON_DEPTH} levels at line:column ${lineColumn(text, deep)}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // The parser's message may quote the file, which holds secrets.
    const offset = jsonErrorOffset(text);
    return { status: "invalid", path, error: `not valid JSON${offset !== undefined ? ` at line:column ${lineColumn(text, offset)}` : ""}` };
  }
  const parsed = dockerConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join(".") || "(top level)").join(", ");
    return { status: "invalid", path, error: `unexpected shape at ${where}` };
  }
  return { status: "ok", path, config: parsed.data };
}

/**
 * The registry host a config key denotes: keys are written as "host", "https://host",
 * "http://host", "host/v1/" or Docker Hub's "https://index.docker.io/v1/".
 */
export function hostOfConfigKey(key: string): string {
  let k = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = k.indexOf("/");
  if (slash >= 0) k = k.slice(0, slash);
  return normalizeRegistryHost(k);
}

/**
 * Keys of `record` that denote `host`: the exact spelling first, then URL forms ("https://host",
 * "host/v1/"), then podman's repository-scoped keys ("host/org"), each group in file order.
 */
export function matchingKeys(record: Record<string, unknown> | undefined, host: string): string[] {
  if (record === undefined) return [];
  const wanted = normalizeRegistryHost(host);
  const rank = (k: string): number => {
    if (k === host) return 0;
    const path = k.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/^[^/]*/, "");
    return path === "" || /^\/v[12]\/?$/.test(path) ? 1 : 2;
  };
  const keys = Object.keys(record).filter((k) => hostOfConfigKey(k) === wanted);
  return keys.map((k, i) => ({ k, i, r: rank(k) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.k);
}

/** What to send a helper on stdin for `host`: Docker's own convention. */
export function helperServerUrl(host: string): string {
  return normalizeRegistryHost(host) === DOCKER_HUB_REGISTRY ? DOCKER_HUB_SERVER_URL : host;
}

export type AuthEntryDecode =
  | { kind: "credential"; credential: Credential; detail: string }
  /** An empty entry: Docker stores the secret in credsStore and keeps only the key here. */
  | { kind: "store" }
  | { kind: "invalid"; error: string };

/** Decodes an auths entry; registers every secret it reads. */
export function decodeAuthEntry(entry: DockerAuthEntry): AuthEntryDecode {
  if (entry.identitytoken) {
    registerSecret(entry.identitytoken);
    const credential: Credential = { kind: "refresh", refreshToken: entry.identitytoken };
    if (entry.username && entry.username !== "<token>") credential.username = entry.username;
    return { kind: "credential", credential, detail: "identitytoken" };
  }
  if (entry.registrytoken) {
    registerSecret(entry.registrytoken);
    return { kind: "credential", credential: { kind: "token", token: entry.registrytoken }, detail: "registrytoken" };
  }
  if (entry.auth) {
    registerSecret(entry.auth);
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) return { kind: "invalid", error: 'auth is not base64 of "username:password"' };
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    registerSecret(password);
    registerSecret(decoded);
    if (password === "") return { kind: "invalid", error: "auth has an empty password" };
    return { kind: "credential", credential: { kind: "basic", username, password }, detail: "auth" };
  }
  if (entry.username !== undefined && entry.password !== undefined) {
    registerSecret(entry.password);
    return { kind: "credential", credential: { kind: "basic", username: entry.username, password: entry.password }, detail: "username/password" };
  }
  return { kind: "store" };
}
