/**
 * `pnpm bench:sign`: sign and verify a 100 MiB component with wasm-oci and, in the same run,
 * hash the same file with `sha256sum` (hashing every byte is the floor for both operations).
 * Both are timed as whole processes, alternating order; the in-process API (signFile/verifyFile,
 * no Node start-up) is timed too. Prints medians and ours / sha256sum ratios. Goal: <= 1.3.
 *
 * Env: BENCH_RUNS (default 5), BENCH_SIZE_MIB (default 100).
 */
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CLI_PATH } from "../../test/helpers/cli.ts";
import { makeTmp } from "../../test/helpers/tmp.ts";
import { paddedComponent } from "../../test/helpers/wasm-fixtures.ts";
import { loadPublicKey, loadSecretKey, signFile, verifyFile } from "../src/sign/index.ts";
import { mustSucceed, printTable, timeCommand, type Row } from "./lib/stats.ts";

const runs = Number(process.env["BENCH_RUNS"] ?? 5);
const mib = Number(process.env["BENCH_SIZE_MIB"] ?? 100);
const SHA256SUM = "/usr/bin/sha256sum";

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
    for (let i = 0; i < runs; i++) {
      const out = join(tmp.dir, `out-${i}.wasm`);
      const cases: Array<[Row, () => Promise<number>, string]> = [
        [rows[0]!, async () => mustSucceed("sign", await node(["sign", "-i", comp, "-o", out, "-k", sk, "-K", pk])).ms, comp],
        [rows[1]!, async () => mustSucceed("verify", await node(["verify", "-i", signed, "-K", pk])).ms, signed],
        [rows[2]!, async () => mustSucceed("sign -S", await node(["sign", "-i", comp, "-o", out, "-k", sk, "-S", `${out}.sig`])).ms, comp],
        [rows[3]!, () => timeFn(() => signFile(comp, out, { secretKey, publicKey })), comp],
        [
          rows[4]!,
          () =>
            timeFn(async () => {
              if (!(await verifyFile(signed, [publicKey])).ok) throw new Error("verification failed");
            }),
          signed,
        ],
      ];
      for (const [row, ours, file] of cases) {
        const ref = async () => mustSucceed("sha256sum", await timeCommand(SHA256SUM, [file])).ms;
        // Alternate who goes first so neither always gets the warmer cache.
        if (i % 2 === 0) {
          row.ours.push(await ours());
          row.reference.push(await ref());
        } else {
          row.reference.push(await ref());
          row.ours.push(await ours());
        }
        await rm(out, { force: true });
      }
    }
    printTable(rows);
  } finally {
    await tmp.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:sign failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
