/**
 * The HTTP layer every registry request goes through: undici with the environment's proxy
 * settings, bounded retries with backoff, manual redirects that never carry Authorization to
 * another host, timeouts, and one debug log line per request with secrets redacted.
 */
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { EnvHttpProxyAgent, dispatchRequest } from "./undici-core.ts";
import { WasmOciError, errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";
import { DEFAULT_RETRY_POLICY, isRetryableError, isRetryableStatus, parseRetryAfter, retryDelay, type RetryPolicy } from "./retry-policy.ts";
import { isLoopbackHost } from "./transport-security.ts";

export type RequestBody = Uint8Array | string | (() => Readable);

export interface HttpRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: URL;
  headers?: Record<string, string>;
  /** A function body is called once per attempt, so retries and re-sends after a 401 work. */
  body?: RequestBody;
  /** false for requests that must not be repeated blindly (PATCH of an upload chunk). */
  retry?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  /** The URL that answered, after redirects. */
  url: URL;
}

export interface HttpOptions {
  /** Idle timeout: connecting, waiting for headers, each pause in a body. */
  timeoutMs: number;
  /**
   * Total deadline of one exchange, from sending the request to the last byte of its body (each
   * retry and redirect hop gets its own); a trickling body never trips the idle timeout.
   */
  deadlineMs?: number;
  retry: RetryPolicy;
  dispatcher?: Dispatcher;
  /** Injected in unit tests to avoid real waits. */
  sleep?: (ms: number) => Promise<void>;
}

const MAX_REDIRECTS = 10;
export const DEFAULT_DEADLINE_MS = 3_600_000;
const BODY_HIGH_WATER_MARK = 4 * 1024 * 1024;
const USER_AGENT = "wasm-oci/0.1.0";

export function header(res: { headers: HttpResponse["headers"] }, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function headerAll(res: { headers: HttpResponse["headers"] }, name: string): string[] {
  const v = res.headers[name.toLowerCase()];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

const harmlessQuery = new Set(["digest", "mount", "from", "n", "last", "service", "scope"]);

/** Query values other than the registry's own harmless ones may be storage signatures: mask them. */
export function urlForLog(url: URL): string {
  const u = new URL(url.toString());
  u.username = "";
  u.password = "";
  for (const key of [...u.searchParams.keys()]) {
    if (!harmlessQuery.has(key)) u.searchParams.set(key, "***");
  }
  return u.toString();
}

const sharedDispatchers = new Map<number, Dispatcher>();

/** The process-wide agent for a timeout (HTTP_PROXY, HTTPS_PROXY and NO_PROXY honoured, any case). */
export function proxyAwareDispatcher(timeoutMs: number): Dispatcher {
  let d = sharedDispatchers.get(timeoutMs);
  if (d === undefined) {
    d = new EnvHttpProxyAgent({
      connect: { timeout: timeoutMs },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connections: 16,
    });
    sharedDispatchers.set(timeoutMs, d);
  }
  return d;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

export class HttpClient {
  private readonly dispatcher: Dispatcher;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(readonly options: HttpOptions = { timeoutMs: 60_000, retry: DEFAULT_RETRY_POLICY }) {
    this.dispatcher = options.dispatcher ?? proxyAwareDispatcher(options.timeoutMs);
    this.wait = options.sleep ?? ((ms) => sleep(ms));
  }

  /** Sends with retries; the caller owns the response body (read it or call body.dump()). */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.followRedirects(req);
      } catch (e) {
        if (e instanceof WasmOciError) throw e;
        const delay = req.retry !== false && isRetryableError(e) ? retryDelay(this.options.retry, attempt, Date.now() - started, undefined) : undefined;
        if (delay === undefined) {
          throw new WasmOciError("NETWORK", `${req.method} ${urlForLog(req.url)} failed: ${describeNetworkError(e)}`, { cause: e });
        }
        log.debug(`retrying ${req.method} ${urlForLog(req.url)} in ${delay} ms after ${describeNetworkError(e)} (attempt ${attempt} of ${this.options.retry.maxAttempts})`);
        await this.wait(delay);
        continue;
      }
      if (req.retry !== false && isRetryableStatus(res.status)) {
        const delay = retryDelay(this.options.retry, attempt, Date.now() - started, parseRetryAfter(header(res, "retry-after")));
        if (delay !== undefined) {
          await res.body.dump().catch(() => undefined);
          log.debug(`retrying ${req.method} ${urlForLog(req.url)} in ${delay} ms after HTTP ${res.status} (attempt ${attempt} of ${this.options.retry.maxAttempts})`);
          await this.wait(delay);
          continue;
        }
      }
      return res;
    }
  }

  private async followRedirects(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let method = req.method;
    let headers = { ...req.headers };
    let body = req.body;
    for (let hop = 0; ; hop++) {
      const res = await this.once(method, url, headers, body);
      if (!isRedirect(res.status)) return res;
      const location = header(res, "location");
      if (location === undefined) return res;
      await res.body.dump().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) {
        throw new WasmOciError("TOO_MANY_REDIRECTS", `${req.method} ${urlForLog(req.url)}: more than ${MAX_REDIRECTS} redirects`);
      }
      const next = new URL(location, url);
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new WasmOciError("BAD_REDIRECT", `${urlForLog(url)} redirected to unsupported scheme ${next.protocol}`);
      }
      if (url.protocol === "https:" && next.protocol === "http:" && !isLoopbackHost(next.host)) {
        throw new WasmOciError("BAD_REDIRECT", `${urlForLog(url)} redirected from HTTPS to plain HTTP (${urlForLog(next)}); refusing`);
      }
      if (next.origin !== url.origin) {
        // Storage back ends (S3, GCS, CDNs) get signed URLs; the registry credential must not leak to
        // them, nor to the same host on another scheme or port.
        const { authorization: _dropped, ...rest } = headers;
        headers = rest;
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
      }
      log.debug(`redirect ${res.status} -> ${urlForLog(next)}`);
      url = next;
    }
  }

  private async once(method: HttpRequest["method"], url: URL, headers: Record<string, string>, body: RequestBody | undefined): Promise<HttpResponse> {
    const t0 = performance.now();
    const payload = typeof body === "function" ? body() : body;
    const deadlineMs = this.options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    // Aborting after the headers destroys the body with this reason, so a reader of the body
    // gets it as well; the timer is dropped when the body closes.
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      deadline.abort(
        new WasmOciError(
          "DEADLINE_EXCEEDED",
          `${method} ${urlForLog(url)} did not finish within request_deadline_seconds (${deadlineMs / 1000} s); raise it in the registry config for very large blobs on slow links`,
        ),
      );
    }, deadlineMs);
    timer.unref();
    let res: Dispatcher.ResponseData;
    try {
      res = await dispatchRequest(this.dispatcher, {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers: { "user-agent": USER_AGENT, ...headers },
        ...(payload !== undefined ? { body: payload } : {}),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        signal: deadline.signal,
        // Large body buffers roughly halve the per-chunk overhead of 100 MiB blob downloads.
        highWaterMark: BODY_HIGH_WATER_MARK,
      });
    } catch (e) {
      clearTimeout(timer);
      throw e;
    }
    res.body.once("close", () => clearTimeout(timer));
    const ms = Math.round(performance.now() - t0);
    log.debug(`${method} ${urlForLog(url)} ${res.statusCode} ${ms}ms`);
    return { status: res.statusCode, headers: res.headers as HttpResponse["headers"], body: res.body, url };
  }
}

export function describeNetworkError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur !== undefined && cur !== null; depth++) {
    const code = (cur as { code?: unknown }).code;
    const msg = errorMessage(cur);
    parts.push(typeof code === "string" && !msg.includes(code) ? `${msg} (${code})` : msg);
    cur = (cur as { cause?: unknown }).cause;
  }
  return [...new Set(parts)].join(": ");
}
