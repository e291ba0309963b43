/**
 * `pnpm demo`: the main job until the Bazel examples exist. A short end-to-end run of the wasm-oci
 * CLI against a registry it starts itself, printing what it does as it goes and a summary.
 * Everything it starts is stopped at the end, on errors and on Ctrl-C.
 *
 * Steps live in tools/demo/steps/*.ts (see tools/demo/context.ts); add new ones to `steps` below.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, CLI_PATH, cliBuilt, hermeticEnv } from "../../test/helpers/cli.ts";
import type { DemoContext, DemoStep } from "./context.ts";
import { ociSteps } from "./steps/oci.ts";

const steps: DemoStep[] = [...ociSteps];

async function main(): Promise<number> {
  const started = performance.now();
  if (!cliBuilt()) {
    process.stderr.write(`${CLI_PATH} is missing: run pnpm build (pnpm demo does it for you)\n`);
    return 1;
  }
  const workDir = await mkdtemp(join(tmpdir(), "wasm-oci-demo-"));
  const cleanups: Array<() => Promise<void>> = [];
  const summaryLines: string[] = [];
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => process.stderr.write(`cleanup: ${String(e)}\n`));
    await rm(workDir, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    // A second Ctrl-C while cleaning up exits at once.
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping what the demo started...\n`);
    void cleanup().finally(() => process.exit(130));
  };
  // `on`, not `once`: the registry helper's own signal hook leaves the exit to a remaining listener.
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  // The demo's own credentials and cache: nothing of the user's is read or written.
  const env = hermeticEnv(workDir, { SOURCE_DATE_EPOCH: "1700000000" });
  const ctx: DemoContext = {
    workDir,
    components: [],
    say: (m) => process.stdout.write(`   ${m}\n`),
    async cli(args, opts = {}) {
      process.stdout.write(`   $ wasm-oci ${args.map((a) => (/[\s"'()]/.test(a) ? JSON.stringify(a) : a)).join(" ")}\n`);
      const r = await runCli(args, { env: { ...env, ...(opts.env ?? {}) }, timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`wasm-oci ${args[0] ?? ""} exited ${r.code}:\n${r.stderr.trim()}`);
      return r;
    },
    onCleanup: (fn) => cleanups.push(fn),
    summary: (line) => summaryLines.push(line),
  };

  process.stdout.write(`wasm-oci demo (work dir ${workDir})\n`);
  try {
    for (const [i, step] of steps.entries()) {
      const t0 = performance.now();
      process.stdout.write(`\n[${i + 1}/${steps.length}] ${step.title}\n`);
      await step.run(ctx);
      process.stdout.write(`   done in ${Math.round(performance.now() - t0)} ms\n`);
    }
    process.stdout.write(`\nSummary\n`);
    for (const line of summaryLines) process.stdout.write(`   ${line}\n`);
    process.stdout.write(`   ${steps.length} steps in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`demo crashed: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
