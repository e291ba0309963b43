/**
 * When to retry a registry request and how long to wait. Pure functions so the decisions are
 * unit-testable without a network; http.ts applies them.
 */
export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  /** No new attempt starts after this much time since the first one. */
  maxElapsedMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, maxElapsedMs: 60_000, baseDelayMs: 250, maxDelayMs: 10_000 };

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

const retryableCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

/** Connection-level failures (reset, refused, timeouts, truncated bodies) are worth another try. */
export function isRetryableError(e: unknown): boolean {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur !== undefined && cur !== null; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && retryableCodes.has(code)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

/** Retry-After is either delta-seconds or an HTTP-date; returns milliseconds, or undefined. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/**
 * Delay before attempt number `attempt + 1` (attempt counts from 1), or undefined when no retry
 * should happen: out of attempts, or the wait would cross the time budget. Exponential backoff
 * with "equal jitter" (half fixed, half random) spreads clients that failed together.
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  elapsedMs: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  let delay: number;
  if (retryAfterMs !== undefined) {
    delay = retryAfterMs;
  } else {
    const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    delay = exp / 2 + random() * (exp / 2);
  }
  if (elapsedMs + delay > policy.maxElapsedMs) return undefined;
  return Math.round(delay);
}
