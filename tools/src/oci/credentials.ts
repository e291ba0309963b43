/**
 * Finds the credential for one registry host at execution time.
 *
 * With a registry config entry for the host that has `auth`, exactly that source is used and a
 * failure is an error (the user asked for it). Otherwise, in order: env
 * WKG_REGISTRY_<HOST>_AUTH_BEARER (wkg's convention), the Docker/podman auth files, anonymous;
 * a source that is missing or broken there is noted in `tried` and skipped.
 * Every secret read is registered for redaction; `tried`, `source` and errors name places, never values.
 */
import { WasmOciError, errorMessage } from "../util/errors.ts";
import { log, registerSecret } from "../util/log.ts";
import { findRegistryEntry, type AuthSource, type RegistryConfig } from "../config/registry-config.ts";
import { DEFAULT_HELPER_TIMEOUT_MS, runCredentialHelper, type HelperCredential } from "./credential-helper.ts";
import { decodeAuthEntry, dockerConfigPaths, helperServerUrl, matchingKeys, readDockerConfig, DOCKER_HUB_SERVER_URL } from "./docker-config.ts";
import { clientCredentialsGrant } from "./oauth2.ts";
import { DOCKER_HUB_ALIASES, DOCKER_HUB_REGISTRY, normalizeRegistryHost } from "./reference.ts";
import { readTokenFile } from "./token-file.ts";
import type { Credential, CredentialResult } from "./types.ts";

export interface ResolveOptions {
  /** Environment to read variables, HOME, DOCKER_CONFIG... and the helpers' PATH from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per credential-helper run. */
  helperTimeoutMs?: number;
  /** For the OAuth2 token request; defaults to the config's timeout_seconds. */
  timeoutMs?: number;
}

/** wkg's variable for a registry: WKG_REGISTRY_<HOST>_AUTH_BEARER, non-alphanumerics as "_", upper case. */
export function wkgEnvVarName(host: string): string {
  return `WKG_REGISTRY_${host.replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}_AUTH_BEARER`;
}

/** One line naming where a configured credential comes from, for summaries and messages. */
export function describeAuthSource(auth: AuthSource): string {
  switch (auth.type) {
    case "none":
      return "none (anonymous)";
    case "env":
      return `env ${auth.token_env}`;
    case "basic_env":
      return `env ${auth.username_env} / ${auth.password_env}`;
    case "token_file":
      return `token file ${auth.path}`;
    case "oauth2_env":
      return `OAuth2 client credentials from env ${auth.client_id_env} / ${auth.client_secret_env}${auth.token_url !== undefined ? ` via ${auth.token_url}` : ""}`;
    case "docker":
      return "Docker config";
    case "credential_helper":
      return `docker-credential-${auth.helper}`;
  }
}

function fromHelper(c: HelperCredential): Credential {
  // The helper protocol's way of returning an identity (refresh) token.
  if (c.username === "<token>") return { kind: "refresh", refreshToken: c.secret };
  return { kind: "basic", username: c.username, password: c.secret };
}

interface Found {
  credential: Credential;
  source: string;
}

interface Ctx {
  host: string;
  env: NodeJS.ProcessEnv;
  helperTimeoutMs: number;
  tried: string[];
  /** Explicitly configured: failures throw instead of being noted. */
  strict: boolean;
  /** Prefix for errors in strict mode. */
  what: string;
}

function unavailable(ctx: Ctx, message: string, cause?: unknown): never {
  throw new WasmOciError("CREDENTIAL_UNAVAILABLE", `credentials for ${ctx.host} (${ctx.what}): ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { registry: ctx.host, tried: [...ctx.tried] },
  });
}

function readEnv(ctx: Ctx, name: string): string | undefined {
  const v = ctx.env[name];
  if (v === undefined || v === "") return undefined;
  registerSecret(v);
  return v;
}

function requireEnv(ctx: Ctx, name: string): string {
  const v = readEnv(ctx, name);
  if (v === undefined) unavailable(ctx, `environment variable ${name} is not set`);
  return v;
}

async function runHelper(ctx: Ctx, helper: string, serverUrl: string): Promise<HelperCredential | undefined> {
  return runCredentialHelper(helper, serverUrl, { env: ctx.env, timeoutMs: ctx.helperTimeoutMs });
}

/** Docker/podman auth file discovery. Returns undefined when no file has a credential for the host. */
async function fromDockerConfig(ctx: Ctx): Promise<Found | undefined> {
  const { host } = ctx;
  for (const path of dockerConfigPaths(ctx.env)) {
    const read = await readDockerConfig(path);
    if (read.status === "absent") {
      ctx.tried.push(`docker config ${path}: absent`);
      continue;
    }
    if (read.status === "invalid") {
      ctx.tried.push(`docker config ${path}: ${read.error}`);
      if (ctx.strict) unavailable(ctx, `docker config ${path}: ${read.error}`);
      continue;
    }
    const cfg = read.config;

    for (const key of matchingKeys(cfg.credHelpers, host)) {
      const helper = cfg.credHelpers?.[key] ?? "";
      const desc = `docker-credential-${helper} (credHelpers[${JSON.stringify(key)}] in ${path})`;
      try {
        const c = await runHelper(ctx, helper, helperServerUrl(host));
        if (c !== undefined) {
          ctx.tried.push(desc);
          return { credential: fromHelper(c), source: desc };
        }
        ctx.tried.push(`${desc}: no credentials`);
      } catch (e) {
        ctx.tried.push(`${desc}: ${errorMessage(e)}`);
        if (ctx.strict) unavailable(ctx, `${desc}: ${errorMessage(e)}`, e);
      }
    }

    const storeKeys: string[] = [];
    for (const key of matchingKeys(cfg.auths, host)) {
      const entry = cfg.auths?.[key];
      if (entry === undefined) continue;
      const desc = `docker config ${path} auths[${JSON.stringify(key)}]`;
      const decoded = decodeAuthEntry(entry);
      if (decoded.kind === "credential") {
        ctx.tried.push(`${desc} (${decoded.detail})`);
        return { credential: decoded.credential, source: `${desc} (${decoded.detail})` };
      }
      if (decoded.kind === "store") {
        storeKeys.push(key);
        ctx.tried.push(`${desc}: empty (kept in credsStore)`);
      } else {
        ctx.tried.push(`${desc}: ${decoded.error}`);
        if (ctx.strict) unavailable(ctx, `${desc}: ${decoded.error}`);
      }
    }

    if (cfg.credsStore !== undefined && cfg.credsStore !== "") {
      const desc = `docker-credential-${cfg.credsStore} (credsStore in ${path})`;
      // Docker stores credentials under the address given at login: the bare host or an URL.
      const isHub = normalizeRegistryHost(host) === DOCKER_HUB_REGISTRY;
      const urls = [...new Set([...storeKeys, helperServerUrl(host), ...(isHub ? [DOCKER_HUB_SERVER_URL] : [`https://${host}`])])];
      try {
        for (const url of urls) {
          const c = await runHelper(ctx, cfg.credsStore, url);
          if (c !== undefined) {
            ctx.tried.push(desc);
            return { credential: fromHelper(c), source: desc };
          }
        }
        ctx.tried.push(`${desc}: no credentials for ${urls.join(", ")}`);
      } catch (e) {
        ctx.tried.push(`${desc}: ${errorMessage(e)}`);
        if (ctx.strict) unavailable(ctx, `${desc}: ${errorMessage(e)}`, e);
      }
    }
  }
  return undefined;
}

/** An explicitly configured source; throws when it cannot deliver. */
async function fromConfiguredSource(ctx: Ctx, auth: AuthSource, timeoutMs: number, deadlineMs: number): Promise<Found | undefined> {
  switch (auth.type) {
    case "none":
      return undefined;
    case "env": {
      const token = requireEnv(ctx, auth.token_env);
      const credential: Credential = { kind: "token", token };
      if (auth.username !== undefined) credential.username = auth.username;
      return { credential, source: `env ${auth.token_env}` };
    }
    case "basic_env": {
      const username = requireEnv(ctx, auth.username_env);
      const password = requireEnv(ctx, auth.password_env);
      return { credential: { kind: "basic", username, password }, source: `env ${auth.username_env} / ${auth.password_env}` };
    }
    case "token_file": {
      let token: string;
      try {
        token = await readTokenFile(auth.path);
      } catch (e) {
        unavailable(ctx, errorMessage(e), e);
      }
      const credential: Credential = { kind: "token", token };
      if (auth.username !== undefined) credential.username = auth.username;
      return { credential, source: `token file ${auth.path}` };
    }
    case "oauth2_env": {
      const clientId = requireEnv(ctx, auth.client_id_env);
      const clientSecret = requireEnv(ctx, auth.client_secret_env);
      const from = `env ${auth.client_id_env} / ${auth.client_secret_env}`;
      if (auth.token_url === undefined) {
        // Presented as Basic to the registry's token realm, which does the client-credentials check.
        return { credential: { kind: "basic", username: clientId, password: clientSecret }, source: `OAuth2 client credentials from ${from}` };
      }
      let token: string;
      try {
        token = await clientCredentialsGrant({
          tokenUrl: auth.token_url,
          clientId,
          clientSecret,
          ...(auth.scope !== undefined ? { scope: auth.scope } : {}),
          timeoutMs,
          deadlineMs,
        });
      } catch (e) {
        unavailable(ctx, errorMessage(e), e);
      }
      return { credential: { kind: "token", token }, source: `OAuth2 access token from ${auth.token_url} (client credentials from ${from})` };
    }
    case "docker": {
      const found = await fromDockerConfig(ctx);
      return found;
    }
    case "credential_helper": {
      const desc = `docker-credential-${auth.helper}`;
      let c: HelperCredential | undefined;
      try {
        c = await runHelper(ctx, auth.helper, helperServerUrl(ctx.host));
      } catch (e) {
        unavailable(ctx, errorMessage(e), e);
      }
      if (c === undefined) unavailable(ctx, `${desc} has no credentials for ${helperServerUrl(ctx.host)}`);
      return { credential: fromHelper(c), source: desc };
    }
  }
}

/**
 * Resolves the credential for `host` (host[:port] as used for HTTP). `credential` undefined means
 * anonymous. Throws WasmOciError CREDENTIAL_UNAVAILABLE only for an explicitly configured source
 * that cannot deliver.
 */
export async function resolveCredential(host: string, config?: RegistryConfig, options: ResolveOptions = {}): Promise<CredentialResult> {
  const tried: string[] = [];
  const base = {
    host,
    env: options.env ?? process.env,
    helperTimeoutMs: options.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS,
    tried,
  };
  const entry = config === undefined ? undefined : findRegistryEntry(config, host);

  if (entry?.auth !== undefined) {
    const ctx: Ctx = { ...base, strict: true, what: `registry config entry "${entry.name}", auth ${describeAuthSource(entry.auth)}` };
    const timeoutMs = options.timeoutMs ?? (config?.timeout_seconds ?? 60) * 1000;
    const found = await fromConfiguredSource(ctx, entry.auth, timeoutMs, (config?.request_deadline_seconds ?? 3600) * 1000);
    if (found === undefined) {
      const source = `registry config entry "${entry.name}": ${entry.auth.type === "none" ? "anonymous" : "Docker config has no credentials for this host"}`;
      if (entry.auth.type === "none") tried.push(source);
      log.debug(`credentials for ${host}: anonymous (${source})`);
      return { credential: undefined, source: entry.auth.type === "none" ? source : undefined, tried };
    }
    if (entry.auth.type !== "docker") tried.push(found.source);
    log.debug(`credentials for ${host}: ${found.source}`);
    return { credential: found.credential, source: found.source, tried };
  }

  const ctx: Ctx = { ...base, strict: false, what: "discovery" };
  const normal = normalizeRegistryHost(host);
  const envHosts = [...new Set([host, ...(normal === DOCKER_HUB_REGISTRY ? DOCKER_HUB_ALIASES : [])])];
  for (const h of envHosts) {
    const name = wkgEnvVarName(h);
    const token = readEnv(ctx, name);
    if (token !== undefined) {
      tried.push(`env ${name}`);
      log.debug(`credentials for ${host}: env ${name}`);
      return { credential: { kind: "token", token }, source: `env ${name}`, tried };
    }
    tried.push(`env ${name}: not set`);
  }

  const found = await fromDockerConfig(ctx);
  if (found !== undefined) {
    log.debug(`credentials for ${host}: ${found.source}`);
    return { credential: found.credential, source: found.source, tried };
  }
  log.debug(`credentials for ${host}: anonymous (tried: ${tried.join("; ")})`);
  return { credential: undefined, source: undefined, tried };
}
