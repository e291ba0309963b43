/**
 * Child processes started by test helpers (registries, token servers' tools, the CLI).
 *
 * Long-running children are spawned in their own process group (`detached: true`) and tracked
 * here, so `killGroup()` can stop the whole group and an `exit` hook stops anything a crashed
 * or interrupted test process left running. Nothing here kills by name: only the ids we started.
 *
 *   import { spawnTracked, killGroup, freePort } from "./processes.ts";
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createServer } from "node:net";

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = (): void => {
    for (const child of live) signalGroup(child, "SIGKILL");
  };
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      killAll();
      // Another handler (the demo's cleanup) owns the exit when there is one.
      if (process.listenerCount(sig) === 0) process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

/** Spawns a long-running child in its own process group and tracks it until it exits. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  hookExit();
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options, detached: true });
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves once it has exited. */
export async function killGroup(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  signalGroup(child, "SIGTERM");
  const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  live.delete(child);
}

/** A loopback port that was free a moment ago. Callers retry on EADDRINUSE (another process may take it). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes (then throws `what`). */
export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Runs a short-lived command to completion (bounded), returning its output. Never through a shell. */
export async function runCommand(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string | Uint8Array; timeoutMs?: number; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  const child = spawnTracked(command, args, {
    stdio: ["pipe", "pipe", "pipe"],
    env: opts.env ?? process.env,
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (b: Buffer) => out.push(b));
  child.stderr?.on("data", (b: Buffer) => err.push(b));
  child.stdin?.on("error", () => undefined);
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  else child.stdin?.end();
  let timedOut = false;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const timer = setTimeout(() => {
    timedOut = true;
    void killGroup(child, 1_000);
  }, timeoutMs);
  const code = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (c, signal) => resolve(c ?? (signal !== null ? 128 : 1)));
  });
  clearTimeout(timer);
  const stderr = Buffer.concat(err).toString("utf8");
  return {
    code,
    stdout: Buffer.concat(out).toString("utf8"),
    stderr: timedOut ? `${stderr}\n[killed after ${timeoutMs} ms timeout]` : stderr,
    timedOut,
  };
}
