/**
 * Runs Docker credential helpers (`docker-credential-<name> get`, server URL on stdin, JSON
 * `{ServerURL, Username, Secret}` on stdout). Helpers are arbitrary programs: bounded by a
 * timeout; neither their stdout (it holds the secret) nor their stderr (a failing helper may
 * print its token there, which redaction cannot know) is ever echoed: an error names the helper
 * and its exit status only.
 */
import { spawn } from "node:child_process";
import * as z from "zod";
import { WasmOciError } from "../util/errors.ts";
import { registerSecret } from "../util/log.ts";

export const DEFAULT_HELPER_TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 1 << 20;

export interface HelperCredential {
  username: string;
  secret: string;
}

export interface HelperOptions {
  /** Environment for the helper; its PATH is used to find the executable. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

const helperOutputSchema = z.looseObject({
  Username: z.string(),
  Secret: z.string(),
  ServerURL: z.string().optional(),
});

export class CredentialHelperError extends WasmOciError {
  constructor(helper: string, message: string) {
    super("CREDENTIAL_HELPER_FAILED", `docker-credential-${helper}: ${message}`, { details: { helper } });
    this.name = "CredentialHelperError";
  }
}

export function helperExecutable(helper: string): string {
  // Helper names come from config files; a path separator would let them run anything.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) {
    throw new CredentialHelperError(helper, "invalid helper name (letters, digits, '.', '_' and '-' only)");
  }
  return `docker-credential-${helper}`;
}

/** The protocol's "no credentials for this server" answer (exit 1 with this text). */
function isNotFound(output: string): boolean {
  return /credentials not found/i.test(output);
}

/** What a failure says about the helper's stderr: its size, never its text. */
function stderrNote(helper: string, stderr: string, total: number): string {
  if (stderr.trim() === "") return "";
  return `; its stderr (${total} bytes) is not shown because it may hold a credential: run \`docker-credential-${helper} get\` by hand to read it`;
}

/**
 * Returns the helper's credential for `serverUrl`, or undefined when the helper answers that it
 * has none. Throws CredentialHelperError when the helper is missing, times out, fails or prints
 * something that is not the protocol's JSON.
 */
export async function runCredentialHelper(helper: string, serverUrl: string, options: HelperOptions = {}): Promise<HelperCredential | undefined> {
  const exe = helperExecutable(helper);
  const timeoutMs = options.timeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS;
  const { code, signal, stdout, stderr, stderrBytes, spawnError, timedOut } = await new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    stderrBytes: number;
    spawnError?: NodeJS.ErrnoException;
    timedOut: boolean;
  }>((resolve) => {
    // Own process group, so a timeout also kills what a shell-script helper started.
    const child = spawn(exe, ["get"], { env: options.env ?? process.env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
      // A grandchild holding the pipes open must not keep us waiting.
      child.stdout.destroy();
      child.stderr.destroy();
      finish({ code: null, signal: "SIGKILL" });
    }, timeoutMs);
    const finish = (r: { code: number | null; signal: NodeJS.Signals | null; spawnError?: NodeJS.ErrnoException }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), stderrBytes: errLen, timedOut });
    };
    child.stdout.on("data", (d: Buffer) => {
      if (outLen < MAX_OUTPUT) out.push(d);
      outLen += d.length;
    });
    child.stderr.on("data", (d: Buffer) => {
      if (errLen < MAX_OUTPUT) err.push(d);
      errLen += d.length;
    });
    child.on("error", (e: NodeJS.ErrnoException) => finish({ code: null, signal: null, spawnError: e }));
    child.on("close", (c, s) => finish({ code: c, signal: s }));
    // A helper that exits without reading stdin makes this write fail with EPIPE; the exit status tells the story.
    child.stdin.on("error", () => {});
    child.stdin.end(serverUrl);
  });

  if (spawnError !== undefined) {
    if (spawnError.code === "ENOENT") throw new CredentialHelperError(helper, `${exe} was not found on PATH`);
    throw new CredentialHelperError(helper, `could not be started: ${spawnError.message}`);
  }
  if (timedOut) throw new CredentialHelperError(helper, `did not answer within ${timeoutMs} ms`);
  if (code !== 0) {
    if (isNotFound(stdout) || isNotFound(stderr)) return undefined;
    const why = signal !== null ? `killed by ${signal}` : `exit code ${code}`;
    throw new CredentialHelperError(helper, `failed (${why})${stderrNote(helper, stderr, stderrBytes)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new CredentialHelperError(helper, "printed something that is not JSON (expected {\"Username\": ..., \"Secret\": ...})");
  }
  const result = helperOutputSchema.safeParse(parsed);
  if (!result.success) {
    throw new CredentialHelperError(helper, "printed JSON without string fields Username and Secret");
  }
  registerSecret(result.data.Secret);
  if (result.data.Secret === "") return undefined;
  return { username: result.data.Username, secret: result.data.Secret };
}
