/**
 * Shared benchmark helpers: timing a command as a whole process, medians, and the table every
 * `pnpm bench:*` script prints (median per case for ours and the reference tool, and the ratio).
 *
 *   const t = await timeCommand("skopeo", ["copy", ...]);   // { ms, code, stderr }
 *   median([3, 1, 2]) === 2
 *   printTable([{ name: "push 1 MiB", ours: [..ms], reference: [..ms], referenceName: "skopeo" }]);
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

export interface Timed {
  ms: number;
  /** CPU time (user + system) of the process, when measured (`cpu: true` and /usr/bin/time present). */
  cpuMs?: number;
  code: number;
  stdout: string;
  stderr: string;
}

const TIME_BIN = "/usr/bin/time";
const CPU_MARK = "__bench_cpu__";

/**
 * Runs a command to completion (never through a shell) and measures its wall time; with `cpu`,
 * also its CPU time through GNU time (which a loaded machine does not inflate the way it does
 * wall time).
 */
export async function timeCommand(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cpu?: boolean } = {},
): Promise<Timed> {
  const cpu = opts.cpu === true && existsSync(TIME_BIN);
  const [cmd, argv] = cpu ? [TIME_BIN, ["-f", `${CPU_MARK} %U %S`, command, ...args]] : [command, args];
  const t0 = performance.now();
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  child.stderr.on("data", (b: Buffer) => err.push(b));
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 300_000);
  const code = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (c) => resolve(c ?? 1));
  });
  clearTimeout(timer);
  const ms = performance.now() - t0;
  let stderr = Buffer.concat(err).toString("utf8");
  let cpuMs: number | undefined;
  if (cpu) {
    const m = new RegExp(`${CPU_MARK} ([0-9.]+) ([0-9.]+)\\s*$`).exec(stderr);
    if (m) {
      cpuMs = (Number(m[1]) + Number(m[2])) * 1000;
      stderr = stderr.slice(0, m.index);
    }
    // GNU time reports a failing command on its own line; the exit code says the same.
    stderr = stderr.replace(/^Command exited with non-zero status \d+\n/m, "");
  }
  return { ms, ...(cpuMs !== undefined ? { cpuMs } : {}), code, stdout: Buffer.concat(out).toString("utf8"), stderr };
}

/** Throws with the command's stderr when it failed: a benchmark of a failing command means nothing. */
export function mustSucceed(what: string, t: Timed): Timed {
  if (t.code !== 0) throw new Error(`${what} failed (exit ${t.code}): ${t.stderr.trim().slice(-2000)}`);
  return t;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface Row {
  name: string;
  ours: number[];
  reference: number[];
  referenceName: string;
  /** Bytes moved per run, to print throughput. */
  bytes?: number;
}

function fmtMs(ms: number): string {
  return Number.isNaN(ms) ? "-" : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function fmtRate(bytes: number | undefined, ms: number): string {
  if (bytes === undefined || Number.isNaN(ms) || ms <= 0) return "";
  return `${(bytes / (1024 * 1024) / (ms / 1000)).toFixed(0)} MiB/s`;
}

/** Prints medians, throughput and ours/reference ratios as a Markdown table (pasteable into docs). */
export function printTable(rows: Row[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`), opts: { rates?: boolean } = {}): void {
  out("| case | runs | ours (median) | reference (median) | ours / reference |");
  out("| --- | --- | --- | --- | --- |");
  for (const r of rows) {
    const o = median(r.ours);
    const ref = median(r.reference);
    const ratio = Number.isNaN(o) || Number.isNaN(ref) ? "-" : (o / ref).toFixed(2);
    const rate = (ms: number): string => {
      if (opts.rates === false) return "";
      const s = fmtRate(r.bytes, ms);
      return s === "" ? "" : `, ${s}`;
    };
    out(`| ${r.name} | ${r.ours.length}/${r.reference.length} | ${fmtMs(o)}${rate(o)} | ${r.referenceName} ${fmtMs(ref)}${rate(ref)} | ${ratio} |`);
  }
}
