/**
 * Registry authentication: answers 401 challenges with Basic credentials or the Bearer token
 * flow (distribution token spec: GET realm with Basic or anonymous, POST with grant_type for
 * refresh tokens), caching tokens per scope for the life of the process.
 */
import { WasmOciError } from "../util/errors.ts";
import { log, registerSecret } from "../util/log.ts";
import { formatBytes, READ_LIMITS, readBodyBounded, readBodyPrefix } from "../util/bounded-read.ts";
import { headerAll, urlForLog, type HttpClient, type HttpRequest, type HttpResponse } from "./http.ts";
import { assertTransportAllowed, isLoopbackHost, schemeFor } from "./transport-security.ts";
import type { Credential, CredentialResult } from "./types.ts";
import { parseWwwAuthenticate, pickChallenge, type Challenge } from "./www-authenticate.ts";

export type CredentialLookup = () => Promise<CredentialResult>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Refresh a little before the server's expiry so a token does not die mid-upload. */
const EXPIRY_SLACK_MS = 10_000;
const DEFAULT_TOKEN_LIFETIME_S = 60;

export function repositoryScope(repository: string, actions: "pull" | "push"): string {
  return `repository:${repository}:${actions === "push" ? "pull,push" : "pull"}`;
}

/** Merges scopes by resource, so "repository:a:pull" and "repository:a:push" become "repository:a:pull,push". */
export function mergeScopes(scopes: string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const s of scopes) {
    const last = s.lastIndexOf(":");
    if (last <= 0) continue;
    const resource = s.slice(0, last);
    const set = byResource.get(resource) ?? new Set<string>();
    for (const a of s.slice(last + 1).split(",")) if (a) set.add(a);
    byResource.set(resource, set);
  }
  return [...byResource.entries()].map(([r, a]) => `${r}:${[...a].sort().join(",")}`).sort();
}

export class UnauthorizedError extends WasmOciError {
  constructor(registry: string, status: number, result: CredentialResult | undefined, detail?: string) {
    const tried = result?.tried.length ? result.tried.join(", ") : "none";
    const used = result?.source !== undefined ? `; used ${result.source}` : "; no credential was found";
    const what = status === 403 ? "access denied by" : "authentication failed for";
    super(
      status === 403 ? "DENIED" : "UNAUTHORIZED",
      `${what} registry ${registry} (HTTP ${status})${detail ? `: ${detail}` : ""}. Credential sources tried: ${tried}${used}`,
      { details: { registry, tried: result?.tried ?? [] } },
    );
    this.name = "UnauthorizedError";
  }
}

function basicHeader(username: string, password: string): string {
  const value = Buffer.from(`${username}:${password}`).toString("base64");
  registerSecret(value);
  return `Basic ${value}`;
}

function credentialBasic(c: Credential): string | undefined {
  if (c.kind === "basic") return basicHeader(c.username, c.password);
  if (c.kind === "token") return basicHeader(c.username ?? "token", c.token);
  return undefined;
}

export class Authenticator {
  private credentialResult: Promise<CredentialResult> | undefined;
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string | undefined>>();
  /** Set when a realm refused our token credential and the registry accepts it as a Bearer directly. */
  private directBearer = false;
  /** scheme://host:port of the registry: the only origin our Authorization is sent to. */
  readonly origin: string;

  constructor(
    readonly registry: string,
    private readonly http: HttpClient,
    private readonly lookup: CredentialLookup,
    /** The registry is marked insecure: plain HTTP to it, and to URLs and realms it names, is allowed. */
    private readonly insecure: boolean,
  ) {
    this.origin = new URL(`${schemeFor(registry, insecure)}://${registry}`).origin;
  }

  /** Looked up once, on the first challenge; parallel requests share the one lookup. */
  private credential(): Promise<CredentialResult> {
    this.credentialResult ??= this.lookup().then((r) => {
      const c = r.credential;
      if (c?.kind === "basic") registerSecret(c.password);
      if (c?.kind === "token") registerSecret(c.token);
      if (c?.kind === "refresh") registerSecret(c.refreshToken);
      return r;
    });
    return this.credentialResult;
  }

  /** The credential lookup's result if one was made (for error messages), without starting one. */
  async knownCredential(): Promise<CredentialResult | undefined> {
    return this.credentialResult === undefined ? undefined : this.credentialResult.catch(() => undefined);
  }

  /**
   * Sends a registry request, answering one 401 challenge. `scopes` are the token scopes the
   * operation needs (repository:NAME:pull[,push]); the challenge's own scope is merged in.
   */
  async send(req: HttpRequest, scopes: string[]): Promise<HttpResponse> {
    assertTransportAllowed(req.url, this.registry, this.insecure, `${req.method} ${urlForLog(req.url)}`);
    // Upload Locations and next-page links may name any host: only the registry's own origin
    // (scheme, host and port) ever sees our Authorization.
    const own = req.url.origin === this.origin;
    const pre = own ? await this.preemptiveHeader(scopes) : undefined;
    let res = await this.http.send(withAuth(req, pre));
    if (res.status !== 401) return res;
    if (!own || res.url.origin !== this.origin) {
      // A challenge from another origin (a redirect target, storage behind an upload Location)
      // would collect the registry's credential: it is not answered.
      await res.body.dump().catch(() => undefined);
      throw new UnauthorizedError(
        this.registry,
        401,
        await this.knownCredential(),
        `${urlForLog(res.url)} is not the registry (${this.origin}) and asked for credentials; the registry's credential is only sent to the registry and the token realm it names`,
      );
    }
    const challenges = headerAll(res, "www-authenticate").flatMap(parseWwwAuthenticate);
    await res.body.dump().catch(() => undefined);
    const challenge = pickChallenge(challenges);
    if (challenge === undefined) {
      throw new UnauthorizedError(this.registry, 401, await this.credential(), "the registry sent no usable WWW-Authenticate challenge");
    }
    const challengeScopes = (challenge.params["scope"] ?? "").split(" ").filter(Boolean);
    const merged = mergeScopes([...scopes, ...challengeScopes]);
    if (pre !== undefined) {
      // Our cached authorization was refused: forget it and start again from the challenge.
      this.tokens.clear();
    }
    this.challenge = challenge;
    const auth = await this.authorizationFor(challenge, merged, true);
    res = await this.http.send(withAuth(req, auth));
    if (res.status === 401 || (res.status === 403 && auth === undefined)) {
      await res.body.dump().catch(() => undefined);
      throw new UnauthorizedError(this.registry, res.status, await this.credential());
    }
    return res;
  }

  private async preemptiveHeader(scopes: string[]): Promise<string | undefined> {
    if (this.challenge === undefined) return undefined;
    return this.authorizationFor(this.challenge, mergeScopes(scopes), false);
  }

  private async authorizationFor(challenge: Challenge, scopes: string[], fresh: boolean): Promise<string | undefined> {
    const result = await this.credential();
    const cred = result.credential;
    if (challenge.scheme === "basic") {
      if (cred === undefined) {
        if (fresh) throw new UnauthorizedError(this.registry, 401, result, "the registry requires a user name and password (HTTP Basic)");
        return undefined;
      }
      const basic = credentialBasic(cred);
      if (basic === undefined) {
        throw new UnauthorizedError(this.registry, 401, result, "the registry requires a user name and password (HTTP Basic), but the credential is a refresh token");
      }
      return basic;
    }
    if (this.directBearer && cred?.kind === "token") return `Bearer ${cred.token}`;
    const key = scopes.join(" ");
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    // Parallel transfers that hit the same challenge share one token request.
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      pending = this.fetchToken(challenge, scopes, result).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const token = await pending;
    if (token === undefined) return cred?.kind === "token" ? `Bearer ${cred.token}` : undefined;
    return `Bearer ${token}`;
  }

  /** Returns undefined when the realm refused a token credential that should be sent as a Bearer directly. */
  private async fetchToken(challenge: Challenge, scopes: string[], result: CredentialResult): Promise<string | undefined> {
    const realm = challenge.params["realm"];
    if (realm === undefined) throw new UnauthorizedError(this.registry, 401, result, "the Bearer challenge has no realm");
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new UnauthorizedError(this.registry, 401, result, `the Bearer realm "${realm}" is not a URL`);
    }
    const cred = result.credential;
    if (url.protocol === "http:" && cred !== undefined && !isLoopbackHost(url.host) && !this.insecure) {
      throw new WasmOciError(
        "INSECURE_REALM",
        `registry ${this.registry} sent a plain-HTTP token realm ${urlForLog(url)}; refusing to send credentials to it (mark the registry insecure to allow it)`,
      );
    }
    const service = challenge.params["service"];
    let res: HttpResponse;
    if (cred?.kind === "refresh") {
      const form = new URLSearchParams();
      form.set("grant_type", "refresh_token");
      form.set("refresh_token", cred.refreshToken);
      form.set("client_id", "wasm-oci");
      if (service !== undefined) form.set("service", service);
      if (scopes.length > 0) form.set("scope", scopes.join(" "));
      res = await this.http.send({
        method: "POST",
        url,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
      });
    } else {
      if (service !== undefined) url.searchParams.set("service", service);
      for (const s of scopes) url.searchParams.append("scope", s);
      const basic = cred === undefined ? undefined : credentialBasic(cred);
      res = await this.http.send({ method: "GET", url, headers: basic !== undefined ? { authorization: basic } : {} });
    }
    if (res.status === 401 || res.status === 403) {
      await res.body.dump().catch(() => undefined);
      if (cred?.kind === "token") {
        this.directBearer = true;
        return undefined;
      }
      throw new UnauthorizedError(this.registry, res.status, result, `the token service ${urlForLog(new URL(realm))} refused the credential`);
    }
    if (res.status !== 200) {
      const text = (await readBodyPrefix(res.body, READ_LIMITS.errorText)).text.slice(0, 200);
      throw new WasmOciError("TOKEN_SERVICE", `token service ${urlForLog(new URL(realm))} for ${this.registry} answered HTTP ${res.status}: ${text}`);
    }
    const bytes = await readBodyBounded(
      res.body,
      READ_LIMITS.tokenResponse,
      (size) =>
        new WasmOciError(
          "TOKEN_SERVICE",
          `token service ${urlForLog(new URL(realm))} for ${this.registry} answered ${size} bytes or more; at most ${formatBytes(READ_LIMITS.tokenResponse)} is read`,
        ),
      headerAll(res, "content-length")[0],
    );
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString("utf8"));
    } catch {
      throw new WasmOciError("TOKEN_SERVICE", `token service ${urlForLog(new URL(realm))} for ${this.registry} answered with invalid JSON`);
    }
    const obj = (body ?? {}) as Record<string, unknown>;
    const token = typeof obj["token"] === "string" ? obj["token"] : typeof obj["access_token"] === "string" ? obj["access_token"] : undefined;
    if (token === undefined || token.length === 0) {
      throw new WasmOciError("TOKEN_SERVICE", `token service ${urlForLog(new URL(realm))} for ${this.registry} returned no token`);
    }
    registerSecret(token);
    if (typeof obj["refresh_token"] === "string") registerSecret(obj["refresh_token"]);
    const lifetime = typeof obj["expires_in"] === "number" && obj["expires_in"] > 0 ? obj["expires_in"] : DEFAULT_TOKEN_LIFETIME_S;
    this.tokens.set(scopes.join(" "), { token, expiresAt: Date.now() + lifetime * 1000 - EXPIRY_SLACK_MS });
    log.debug(`token for ${this.registry} scope "${scopes.join(" ")}" from ${urlForLog(new URL(realm))} (${cred === undefined ? "anonymous" : result.source})`);
    return token;
  }
}

function withAuth(req: HttpRequest, authorization: string | undefined): HttpRequest {
  if (authorization === undefined) return req;
  return { ...req, headers: { ...req.headers, authorization } };
}

