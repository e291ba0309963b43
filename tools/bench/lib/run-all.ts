/**
 * `pnpm bench`: runs every benchmark script that exists in tools/bench/ (each `*.ts` file there,
 * in name order), one after the other, and exits non-zero if any of them failed.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";

const benchDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const scripts = readdirSync(benchDir)
  .filter((f) => f.endsWith(".ts"))
  .sort();
let failed = 0;
for (const script of scripts) {
  process.stdout.write(`\n=== tools/bench/${script} ===\n`);
  const r = spawnSync(process.execPath, ["--import", "tsx", join(benchDir, script)], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`tools/bench/${script} failed (exit ${r.status ?? "signal"})\n`);
  }
}
process.stdout.write(`\n${scripts.length - failed} of ${scripts.length} benchmarks completed\n`);
process.exitCode = failed === 0 ? 0 : 1;
