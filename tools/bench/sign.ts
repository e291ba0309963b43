/**
 * `pnpm bench:sign`: sign and verify a 100 MiB component with wasm-oci and, in the same run,
 * hash the same file with `sha256sum` (hashing every byte is the floor for both operations).
 * Both are timed as whole processes (wall time, and CPU time via /usr/bin/time), alternating
 * order; the in-process API (signFile/verifyFile, no Node start-up) is timed too. Prints medians
 * and ours / sha256sum ratios. Goal: <= 1.3.
 *
 * Env: BENCH_RUNS (default 5), BENCH_SIZE_MIB (default 100).
 */
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cpus, loadavg } from "node:os";
import { CLI_PATH } from "../../test/helpers/cli.ts";
import { makeTmp } from "../../test/helpers/tmp.ts";
import { paddedComponent } from "../../test/helpers/wasm-fixtures.ts";
import { loadPublicKey, loadSecretKey, signFile, verifyFile } from "../src/sign/index.ts";
import { mustSucceed, printTable, timeCommand, type Row } from "./lib/stats.ts";
import { ORACLE_BIN } from "../../test/helpers/oracles.ts";

const runs = Number(process.env["BENCH_RUNS"] ?? 5);
const mib = Number(process.env["BENCH_SIZE_MIB"] ?? 100);
const SHA256SUM = "/usr/bin/sha256sum";

const TIME = "/usr/bin/time";
const haveTime = existsSync(TIME);

/**
 * Wall time and CPU time (user + system, from /usr/bin/time) of a whole process. On a loaded
 * machine wall time mostly measures the scheduler; CPU time is the work each tool really does.
 */
async function timeProcess(what: string, command: string, args: string[]): Promise<{ wall: number; cpu: number }> {
  if (!haveTime) return { wall: mustSucceed(what, await timeCommand(command, args)).ms, cpu: Number.NaN };
  const t = mustSucceed(what, await timeCommand(TIME, ["-f", "__cpu__ %U %S", command, ...args]));
  const m = /__cpu__ ([\d.]+) ([\d.]+)\s*$/.exec(t.stderr);
  return { wall: t.ms, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : Number.NaN };
}

async function timeFn(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} missing: run pnpm build first (pnpm bench:sign does)`);
  const tmp = await makeTmp("bench-sign");
  try {
    const comp = join(tmp.dir, "comp.wasm");
    await writeFile(comp, await paddedComponent(mib, `bench-sign-${mib}`));
    const sk = join(tmp.dir, "sk");
    const pk = join(tmp.dir, "pk");
    const node = (args: string[]) => timeCommand(process.execPath, [CLI_PATH, ...args]);
    mustSucceed("keygen", await node(["keygen", "-k", sk, "-K", pk]));
    const signed = join(tmp.dir, "signed.wasm");
    // Warm the page cache for everyone (first run not timed).
    mustSucceed("warm-up sign", await node(["sign", "-i", comp, "-o", signed, "-k", sk, "-K", pk]));
    mustSucceed("warm-up sha256sum", await timeCommand(SHA256SUM, [comp]));
    const secretKey = await loadSecretKey(sk, "compact");
    const publicKey = await loadPublicKey(pk, "compact");
    const bytes = mib * 1024 * 1024;
    const rows: Row[] = [
      { name: `sign ${mib} MiB component (CLI process)`, ours: [], reference: [], referenceName: "sha256sum", bytes },
      { name: `verify ${mib} MiB component (CLI process)`, ours: [], reference: [], referenceName: "sha256sum", bytes },
      { name: `sign ${mib} MiB, detached -S (CLI process)`, ours: [], reference: [], referenceName: "sha256sum", bytes },
      { name: `signFile() in-process`, ours: [], reference: [], referenceName: "sha256sum", bytes },
      { name: `verifyFile() in-process`, ours: [], reference: [], referenceName: "sha256sum", bytes },
    ];
    process.stderr.write(`bench:sign: ${runs} runs, ${mib} MiB component, wasm-oci ${CLI_PATH} vs ${SHA256SUM}\n`);
    const cpuRows: Row[] = rows.slice(0, 3).map((r) => ({ ...r, name: `${r.name}, CPU user+sys`, ours: [], reference: [], bytes: undefined }));
    // The reference CLI, when .ci/tools installed it: the same three operations on the same files.
    const wasmsign2 = existsSync(join(ORACLE_BIN, "wasmsign2")) ? join(ORACLE_BIN, "wasmsign2") : undefined;
    const refRows: Row[] = rows.slice(0, 3).map((r) => ({ ...r, ours: [], reference: [], referenceName: "wasmsign2" }));
    const refCpuRows: Row[] = rows.slice(0, 3).map((r) => ({ ...r, name: `${r.name}, CPU user+sys`, ours: [], reference: [], referenceName: "wasmsign2", bytes: undefined }));
    const refArgs = (idx: number, out: string): string[] =>
      idx === 0 ? ["sign", "-i", comp, "-o", out, "-k", sk, "-K", pk] : idx === 1 ? ["verify", "-i", signed, "-K", pk] : ["sign", "-i", comp, "-o", out, "-k", sk, "-S", `${out}.sig`];
    for (let i = 0; i < runs; i++) {
      const out = join(tmp.dir, `out-${i}.wasm`);
      type Case = [number, () => Promise<{ wall: number; cpu: number }>, string];
      const cli = (what: string, args: string[]) => () => timeProcess(what, process.execPath, [CLI_PATH, ...args]);
      const inProcess = (fn: () => Promise<unknown>) => async () => ({ wall: await timeFn(fn), cpu: Number.NaN });
      const cases: Case[] = [
        [0, cli("sign", ["sign", "-i", comp, "-o", out, "-k", sk, "-K", pk]), comp],
        [1, cli("verify", ["verify", "-i", signed, "-K", pk]), signed],
        [2, cli("sign -S", ["sign", "-i", comp, "-o", out, "-k", sk, "-S", `${out}.sig`]), comp],
        [3, inProcess(() => signFile(comp, out, { secretKey, publicKey })), comp],
        [
          4,
          inProcess(async () => {
            if (!(await verifyFile(signed, [publicKey])).ok) throw new Error("verification failed");
          }),
          signed,
        ],
      ];
      for (const [idx, ours, file] of cases) {
        const ref = () => timeProcess("sha256sum", SHA256SUM, [file]);
        // Alternate who goes first so neither always gets the warmer cache.
        let o: { wall: number; cpu: number };
        let r: { wall: number; cpu: number };
        if (i % 2 === 0) {
          o = await ours();
          r = await ref();
        } else {
          r = await ref();
          o = await ours();
        }
        rows[idx]!.ours.push(o.wall);
        rows[idx]!.reference.push(r.wall);
        const cpuRow = cpuRows[idx];
        if (cpuRow !== undefined && !Number.isNaN(o.cpu) && !Number.isNaN(r.cpu)) {
          cpuRow.ours.push(o.cpu);
          cpuRow.reference.push(r.cpu);
        }
        if (wasmsign2 !== undefined && idx <= 2) {
          const w = await timeProcess(`wasmsign2 ${idx}`, wasmsign2, refArgs(idx, out));
          refRows[idx]!.ours.push(o.wall);
          refRows[idx]!.reference.push(w.wall);
          if (!Number.isNaN(o.cpu) && !Number.isNaN(w.cpu)) {
            refCpuRows[idx]!.ours.push(o.cpu);
            refCpuRows[idx]!.reference.push(w.cpu);
          }
        }
        await rm(out, { force: true });
        await rm(`${out}.sig`, { force: true });
      }
    }
    process.stdout.write(`wall time (load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores):\n`);
    printTable(rows);
    if (haveTime) {
      process.stdout.write("\nCPU time of the whole process (user + system), which load on a shared machine does not inflate:\n");
      printTable(cpuRows);
    }
    if (wasmsign2 !== undefined) {
      process.stdout.write(`\nagainst the wasmsign2 CLI (${wasmsign2}), same files, same run:\n`);
      printTable(refRows);
      if (haveTime) printTable(refCpuRows);
    } else process.stdout.write("\nwasmsign2 not installed (pnpm tools): no reference rows\n");
  } finally {
    await tmp.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:sign failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
