/**
 * Diagnostics go to stderr so stdout stays machine-readable. Debug logging is enabled by
 * --verbose or WASM_OCI_LOG=debug. Everything passes through redact() first: a credential
 * must never reach a log line, even when a caller forgets.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function levelFromEnv(): LogLevel {
  const v = (process.env["WASM_OCI_LOG"] ?? "").toLowerCase();
  return v === "debug" || v === "info" || v === "warn" || v === "error" || v === "silent" ? v : "info";
}

let current: LogLevel = levelFromEnv();

/**
 * A persistent worker runs many commands in one process, some at the same time: each gets its own
 * log level and secrets through a scope (cli/request-scope.ts), so `--verbose` or a token of one
 * request never reaches another.
 */
export interface LogScope {
  level: LogLevel;
  readonly secrets: Set<string>;
}
let scopeOf: () => LogScope | undefined = () => undefined;

export function setLogScopeProvider(provider: () => LogScope | undefined): void {
  scopeOf = provider;
}

let sink: (line: string) => void = (line) => {
  process.stderr.write(line.endsWith("\n") ? line : `${line}\n`);
};

/** Values registered here (tokens, passwords) are replaced in every log line. */
const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= 4) (scopeOf()?.secrets ?? secrets).add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("***");
  for (const s of scopeOf()?.secrets ?? []) out = out.split(s).join("***");
  // Credentials embedded in URLs (https://user:pass@host) and auth headers.
  out = out.replace(/\/\/([^/\s:@]+):([^/\s@]+)@/g, "//$1:***@");
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, "$1 ***");
  out = out.replace(/([?&](?:access_token|token|password|client_secret|refresh_token)=)[^&\s]+/gi, "$1***");
  return out;
}

export function setLogLevel(level: LogLevel): void {
  const scope = scopeOf();
  if (scope !== undefined) scope.level = level;
  else current = level;
}

export function getLogLevel(): LogLevel {
  return scopeOf()?.level ?? current;
}

/** Tests capture log output through this. */
export function setLogSink(fn: (line: string) => void): () => void {
  const prev = sink;
  sink = fn;
  return () => {
    sink = prev;
  };
}

function emit(level: LogLevel, msg: string): void {
  if (order[level] < order[getLogLevel()]) return;
  const prefix = level === "info" ? "" : `${level}: `;
  sink(redact(prefix + msg));
}

export const log = {
  debug: (msg: string) => emit("debug", msg),
  info: (msg: string) => emit("info", msg),
  warn: (msg: string) => emit("warn", msg),
  error: (msg: string) => emit("error", msg),
  enabled: (level: LogLevel) => order[level] >= order[getLogLevel()],
};
