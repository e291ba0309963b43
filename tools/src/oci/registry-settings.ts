/**
 * Turns the registry config (or its absence) into ready clients: one HTTP layer with the
 * config's timeout and retry limits, one RegistryClient per host (so tokens are shared), the
 * mirror list for pulls, and the cache directory.
 */
import { findRegistryEntry, loadRegistryConfig, type RegistryConfig, type RegistryEntry } from "../config/registry-config.ts";
import { resolveCredential } from "./credentials.ts";
import { DEFAULT_DEADLINE_MS, HttpClient } from "./http.ts";
import { DEFAULT_RETRY_POLICY } from "./retry-policy.ts";
import { RegistryClient } from "./registry-client.ts";
import { defaultCacheDir } from "./blob-cache.ts";

export interface OciSettings {
  config: RegistryConfig | undefined;
  http: HttpClient;
  cacheDir: string;
  mirrorFallback: boolean;
}

export interface SettingsOptions {
  registryConfig?: string;
  cacheDir?: string;
}

export async function loadOciSettings(opts: SettingsOptions): Promise<OciSettings> {
  const config = opts.registryConfig !== undefined ? await loadRegistryConfig(opts.registryConfig) : undefined;
  const timeoutMs = (config?.timeout_seconds ?? 60) * 1000;
  const http = new HttpClient({
    timeoutMs,
    deadlineMs: (config?.request_deadline_seconds ?? DEFAULT_DEADLINE_MS / 1000) * 1000,
    retry: {
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: config?.retry.max_attempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
      maxElapsedMs: (config?.retry.max_elapsed_seconds ?? DEFAULT_RETRY_POLICY.maxElapsedMs / 1000) * 1000,
    },
  });
  return {
    config,
    http,
    cacheDir: opts.cacheDir ?? config?.cache_dir ?? defaultCacheDir(),
    mirrorFallback: config?.enable_mirror_fallback ?? true,
  };
}

const MIB = 1024 * 1024;

const clients = new WeakMap<OciSettings, Map<string, RegistryClient>>();

function entryFor(settings: OciSettings, host: string): RegistryEntry | undefined {
  return settings.config !== undefined ? findRegistryEntry(settings.config, host) : undefined;
}

/** The client for `host`; `insecureDefault` applies when the config has no entry for it (mirrors inherit their primary's). */
export function registryClient(settings: OciSettings, host: string, insecureDefault = false): RegistryClient {
  let map = clients.get(settings);
  if (map === undefined) {
    map = new Map();
    clients.set(settings, map);
  }
  const existing = map.get(host);
  if (existing !== undefined) return existing;
  const entry = entryFor(settings, host);
  const client = new RegistryClient({
    registry: host,
    insecure: entry?.insecure ?? insecureDefault,
    http: settings.http,
    credentials: () => resolveCredential(host, settings.config),
    ...(entry?.chunk_threshold_mib !== undefined ? { chunkThreshold: entry.chunk_threshold_mib * MIB } : {}),
    ...(entry?.chunk_size_mib !== undefined ? { chunkSize: entry.chunk_size_mib * MIB } : {}),
  });
  map.set(host, client);
  return client;
}

/** The primary, then its mirrors in config order when mirror fallback is enabled. */
export function pullEndpoints(settings: OciSettings, host: string): RegistryClient[] {
  const entry = entryFor(settings, host);
  const primary = registryClient(settings, host);
  if (!settings.mirrorFallback || entry === undefined) return [primary];
  return [primary, ...entry.mirrors.map((m) => registryClient(settings, m, entry.insecure))];
}
