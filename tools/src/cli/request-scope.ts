/**
 * One command run inside a process that runs several (the persistent worker, `--stdout-file`):
 * what the command writes to process.stdout and process.stderr, its log level and its secrets
 * belong to its scope, found through AsyncLocalStorage, so concurrent requests neither mix their
 * output nor see each other's `--verbose` or tokens.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { setLogScopeProvider, type LogLevel, type LogScope } from "../util/log.ts";

export interface RequestScope extends LogScope {
  /** Receives what the command writes to stdout. */
  readonly stdout: (chunk: Buffer) => void;
  /** Receives what the command writes to stderr (and log lines). */
  readonly stderr: (chunk: Buffer) => void;
}

const storage = new AsyncLocalStorage<RequestScope>();
export interface OriginalStreams {
  /** Writes to the real stdout (the worker's responses). */
  readonly stdout: (data: string | Uint8Array) => void;
  readonly stderr: (data: string | Uint8Array) => void;
}
let installed: OriginalStreams | undefined;

type Write = NodeJS.WriteStream["write"];

function routed(pick: (s: RequestScope) => (chunk: Buffer) => void, outside: Write): Write {
  return function write(this: NodeJS.WriteStream, chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean {
    const scope = storage.getStore();
    if (scope === undefined) return (outside as (...a: unknown[]) => boolean).call(this, chunk, encodingOrCallback, callback);
    // A copy: writers reuse their buffers once the callback ran (compose/chunks.ts does).
    const data =
      typeof chunk === "string"
        ? Buffer.from(chunk, typeof encodingOrCallback === "string" ? (encodingOrCallback as BufferEncoding) : "utf8")
        : Buffer.from(chunk as Uint8Array);
    pick(scope)(data);
    const done = typeof encodingOrCallback === "function" ? encodingOrCallback : typeof callback === "function" ? callback : undefined;
    if (done !== undefined) process.nextTick(done as () => void);
    return true;
  } as Write;
}

/**
 * Routes process.stdout/stderr writes made inside a scope to that scope (once per process).
 * With `protectStdout`, stdout written outside any scope goes to stderr: stdout then carries only
 * what is written through the returned originals (the worker's responses).
 */
export function installRequestScopes(protectStdout: boolean): OriginalStreams {
  if (installed !== undefined) return installed;
  const outWrite = process.stdout.write.bind(process.stdout) as Write;
  const errWrite = process.stderr.write.bind(process.stderr) as Write;
  process.stdout.write = routed((s) => s.stdout, protectStdout ? errWrite : outWrite);
  process.stderr.write = routed((s) => s.stderr, errWrite);
  setLogScopeProvider(() => storage.getStore());
  installed = { stdout: (data) => void outWrite(data), stderr: (data) => void errWrite(data) };
  return installed;
}

/** Runs fn in a fresh scope whose output goes to the given sinks. */
export function runInScope<T>(sinks: { stdout: (chunk: Buffer) => void; stderr: (chunk: Buffer) => void; level: LogLevel }, fn: () => Promise<T>): Promise<T> {
  const scope: RequestScope = { stdout: sinks.stdout, stderr: sinks.stderr, level: sinks.level, secrets: new Set() };
  return storage.run(scope, fn);
}
