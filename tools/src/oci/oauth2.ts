/**
 * OAuth2 client credentials grant (RFC 6749 section 4.4): trades a client id and secret for an
 * access token at a token endpoint, which is then presented to the registry.
 */
import * as z from "zod";
import { WasmOciError, errorMessage } from "../util/errors.ts";
import { log, registerSecret } from "../util/log.ts";
import { proxyAwareDispatcher } from "./http.ts";
import { dispatchRequest } from "./undici-core.ts";
import { formatBytes, READ_LIMITS, readBodyBounded } from "../util/bounded-read.ts";

export interface ClientCredentialsRequest {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  /** Idle timeout. */
  timeoutMs?: number;
  /** Total deadline of the request, answer included. */
  deadlineMs?: number;
}

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().optional(),
});

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function fail(tokenUrl: string, message: string, cause?: unknown): never {
  throw new WasmOciError("OAUTH2_FAILED", `OAuth2 token endpoint ${tokenUrl}: ${message}`, cause === undefined ? {} : { cause });
}

async function post(req: ClientCredentialsRequest, secretInBody: boolean): Promise<{ status: number; body: string }> {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (req.scope !== undefined) form.set("scope", req.scope);
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
  };
  if (secretInBody) {
    form.set("client_id", req.clientId);
    form.set("client_secret", req.clientSecret);
  } else {
    // RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
    const basic = Buffer.from(`${encodeURIComponent(req.clientId)}:${encodeURIComponent(req.clientSecret)}`).toString("base64");
    registerSecret(basic);
    headers["authorization"] = `Basic ${basic}`;
  }
  const timeout = req.timeoutMs ?? 60_000;
  const started = Date.now();
  try {
    const url = new URL(req.tokenUrl);
    // The shared agent: token endpoints honour HTTP(S)_PROXY and NO_PROXY like registries do.
    const res = await dispatchRequest(proxyAwareDispatcher(timeout), {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: "POST",
      headers,
      body: form.toString(),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(req.deadlineMs ?? 3_600_000),
    });
    const length = res.headers["content-length"];
    const body = (
      await readBodyBounded(
        res.body,
        READ_LIMITS.tokenResponse,
        (size) => new WasmOciError("OAUTH2_FAILED", `OAuth2 token endpoint ${req.tokenUrl}: answered ${size} bytes or more; at most ${formatBytes(READ_LIMITS.tokenResponse)} is read`),
        typeof length === "string" ? length : undefined,
      )
    ).toString("utf8");
    log.debug(`POST ${req.tokenUrl} ${res.statusCode} ${Date.now() - started}ms (client_credentials, secret in ${secretInBody ? "body" : "header"})`);
    return { status: res.statusCode, body };
  } catch (e) {
    if (e instanceof WasmOciError) throw e;
    fail(req.tokenUrl, `request failed: ${errorMessage(e)}`, e);
  }
}

/** Returns the access token (registered as a secret). */
export async function clientCredentialsGrant(req: ClientCredentialsRequest): Promise<string> {
  registerSecret(req.clientSecret);
  let url: URL;
  try {
    url = new URL(req.tokenUrl);
  } catch {
    fail(req.tokenUrl, "not a URL");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
    fail(req.tokenUrl, "a client secret is only sent over https (plain http is allowed for loopback hosts only)");
  }
  let res = await post(req, false);
  // Some servers accept client credentials only in the body (client_secret_post).
  if (res.status === 400 || res.status === 401) res = await post(req, true);
  if (res.status < 200 || res.status >= 300) {
    let oauthError = "";
    try {
      const e = JSON.parse(res.body) as { error?: unknown };
      if (typeof e.error === "string" && /^[\x20-\x7e]{1,64}$/.test(e.error)) oauthError = ` (${e.error})`;
    } catch {
      // Not JSON: the body is not shown, it might echo what we sent.
    }
    fail(req.tokenUrl, `answered HTTP ${res.status}${oauthError}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    fail(req.tokenUrl, "answered with something that is not JSON");
  }
  const parsed = tokenResponseSchema.safeParse(json);
  if (!parsed.success) fail(req.tokenUrl, "the response has no access_token");
  registerSecret(parsed.data.access_token);
  return parsed.data.access_token;
}
