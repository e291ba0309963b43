/**
 * Every failure the CLI reports is a WasmOciError with a stable `code`, so tests and
 * callers branch on codes instead of message text. Exit codes follow the CLI contract:
 * 1 for failures, 2 for usage errors.
 */
export class WasmOciError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: { cause?: unknown; exitCode?: number; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WasmOciError";
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
    if (options.details !== undefined) this.details = options.details;
  }
}

/** Bad flags, bad arguments, bad input files the user wrote: exit code 2. */
export class UsageError extends WasmOciError {
  constructor(message: string, code = "USAGE", details?: Record<string, unknown>) {
    super(code, message, details === undefined ? { exitCode: 2 } : { exitCode: 2, details });
    this.name = "UsageError";
  }
}

/** A digest that does not match is always fatal; a distinct class makes that easy to assert. */
export class DigestMismatchError extends WasmOciError {
  constructor(what: string, expected: string, actual: string) {
    super("DIGEST_MISMATCH", `digest mismatch for ${what}: expected ${expected}, got ${actual}`, {
      details: { expected, actual },
    });
    this.name = "DigestMismatchError";
  }
}

export function isWasmOciError(e: unknown): e is WasmOciError {
  return e instanceof WasmOciError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
