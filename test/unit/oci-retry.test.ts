import { describe, expect, it } from "vitest";
import { isRetryableError, isRetryableStatus, parseRetryAfter, retryDelay, type RetryPolicy } from "../../tools/src/oci/retry-policy.ts";

const policy: RetryPolicy = { maxAttempts: 4, maxElapsedMs: 60_000, baseDelayMs: 250, maxDelayMs: 10_000 };

describe("retry decisions", () => {
  it("retries 408, 429 and 5xx, not other 4xx or 501", () => {
    for (const s of [408, 429, 500, 502, 503, 504]) expect(isRetryableStatus(s), String(s)).toBe(true);
    for (const s of [200, 201, 400, 401, 403, 404, 416, 501]) expect(isRetryableStatus(s), String(s)).toBe(false);
  });

  it("retries connection errors found anywhere in the cause chain", () => {
    expect(isRetryableError(Object.assign(new Error("reset"), { code: "ECONNRESET" }))).toBe(true);
    expect(isRetryableError(new Error("fetch failed", { cause: Object.assign(new Error("x"), { code: "UND_ERR_SOCKET" }) }))).toBe(true);
    expect(isRetryableError(new Error("plain"))).toBe(false);
    expect(isRetryableError(Object.assign(new Error("no"), { code: "ENOENT" }))).toBe(false);
  });

  it("backs off exponentially with jitter between half and the full step", () => {
    const low = [1, 2, 3].map((a) => retryDelay(policy, a, 0, undefined, () => 0));
    const high = [1, 2, 3].map((a) => retryDelay(policy, a, 0, undefined, () => 1));
    expect(low).toEqual([125, 250, 500]);
    expect(high).toEqual([250, 500, 1000]);
  });

  it("caps the step at maxDelayMs", () => {
    const p = { ...policy, maxAttempts: 30, maxElapsedMs: 1e9 };
    expect(retryDelay(p, 20, 0, undefined, () => 1)).toBe(10_000);
  });

  it("stops after maxAttempts", () => {
    expect(retryDelay(policy, 4, 0, undefined, () => 0)).toBeUndefined();
    expect(retryDelay(policy, 3, 0, undefined, () => 0)).toBeDefined();
  });

  it("honours Retry-After, and gives up when it would cross the time budget", () => {
    expect(retryDelay(policy, 1, 0, 2000)).toBe(2000);
    expect(retryDelay(policy, 1, 59_000, 2000)).toBeUndefined();
    expect(retryDelay(policy, 1, 59_990, undefined, () => 1)).toBeUndefined();
  });

  it("parses Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Tue, 31 Dec 2024 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
