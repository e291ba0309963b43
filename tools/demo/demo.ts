/**
 * `pnpm demo`: the main job. The whole example workflow on this machine, with nothing started
 * beforehand: a registry it starts itself, the signed example services published to it, the
 * example compositions built with Bazel, the signatures verified, the composed apps run and the
 * featured one published. It prints what it does as it goes, then a summary (components, digests,
 * time taken) whose last line is the composed app's answer. Everything it starts (registry, Bazel
 * server, temp dirs) is stopped at the end, on errors and on Ctrl-C.
 *
 * Where docker-registry is missing it publishes to an OCI image layout directory (and Bazel builds
 * only app_development); where Bazel 4.2.3 is missing it says so and composes with the CLI. To see
 * those paths here: WASM_OCI_TEST_REGISTRY_BIN=/nonexistent or WASM_OCI_TEST_BAZEL=/nonexistent.
 *
 * Steps live in tools/demo/steps/*.ts (see tools/demo/context.ts); add new ones to `steps` below.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, CLI_PATH, cliBuilt, hermeticEnv, REPO_ROOT } from "../../test/helpers/cli.ts";
import { runCommand } from "../../test/helpers/processes.ts";
import { shellLine, type DemoContext, type DemoStep, type RunOptions } from "./context.ts";
import { appSteps } from "./steps/app.ts";
import { bazelSteps } from "./steps/bazel.ts";
import { publishServicesSteps, verifySteps } from "./steps/examples.ts";
import { registrySteps } from "./steps/registry.ts";

const steps: DemoStep[] = [...registrySteps, ...publishServicesSteps, ...bazelSteps, ...verifySteps, ...appSteps];

/** Throws when the exit code is not the one the step asked for. */
function checkExit(what: string, r: { code: number; stderr: string }, opts: RunOptions): void {
  if (opts.expectFailure === true) {
    if (r.code === 0) throw new Error(`${what} succeeded, and the demo shows it must not`);
  } else if (r.code !== 0) {
    throw new Error(`${what} exited ${r.code}:\n${r.stderr.trim()}`);
  }
}

async function main(): Promise<number> {
  const started = performance.now();
  if (!cliBuilt()) {
    process.stderr.write(`${CLI_PATH} is missing: run pnpm build (pnpm demo does it for you)\n`);
    return 1;
  }
  const workDir = await mkdtemp(join(tmpdir(), "wasm-oci-demo-"));
  const cleanups: Array<() => Promise<void>> = [];
  const summaryLines: string[] = [];
  // Longest first, so bazel-bin wins over the work dir that contains it.
  const aliases: Array<[string, string]> = [[`${REPO_ROOT}/`, ""]];
  const shown = (args: string[]): string[] => args.map((a) => aliases.reduce((acc, [path, name]) => acc.replaceAll(path, name), a));
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    if (cleanups.length > 0) process.stdout.write(`\nStopping what the demo started\n`);
    for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => process.stderr.write(`cleanup: ${String(e)}\n`));
    await rm(workDir, { recursive: true, force: true });
  };
  let interruptedAt: number | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interruptedAt !== undefined) {
      // pnpm and tsx relay the terminal's SIGINT, so one Ctrl-C can arrive twice at once: only a
      // second Ctrl-C a moment later means "exit now, without cleaning up".
      if (performance.now() - interruptedAt > 1_000) process.exit(130);
      return;
    }
    interruptedAt = performance.now();
    process.stderr.write(`\n${sig}: stopping what the demo started...\n`);
    void cleanup().finally(() => process.exit(130));
  };
  // `on`, not `once`: the registry helper's own signal hook leaves the exit to a remaining listener.
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  // The demo's own credentials and cache: nothing of the user's is read or written.
  // No SOURCE_DATE_EPOCH: the services' digests must be the ones app_production pins, which
  // are those of the default (fixed) image timestamp.
  const env = hermeticEnv(workDir, { SOURCE_DATE_EPOCH: undefined });
  const ctx: DemoContext = {
    workDir,
    repoRoot: REPO_ROOT,
    env,
    services: [],
    apps: [],
    say: (m) => process.stdout.write(`   ${m}\n`),
    async cli(args, opts = {}) {
      process.stdout.write(`   $ ${shellLine("wasm-oci", shown(args))}\n`);
      const r = await runCli(args, { env: { ...env, ...(opts.env ?? {}) }, timeoutMs: opts.timeoutMs ?? 120_000 });
      checkExit(`wasm-oci ${args[0] ?? ""}`, r, opts);
      return r;
    },
    async exec(command, args, opts = {}) {
      process.stdout.write(`   $ ${shellLine(command === process.execPath ? "node" : command, shown(args))}\n`);
      const merged: NodeJS.ProcessEnv = { ...process.env };
      for (const [k, v] of Object.entries({ ...env, ...(opts.env ?? {}) })) {
        if (v === undefined) delete merged[k];
        else merged[k] = v;
      }
      const r = await runCommand(command, args, { env: merged, cwd: opts.cwd ?? REPO_ROOT, timeoutMs: opts.timeoutMs ?? 120_000 });
      checkExit(command, r, opts);
      return r;
    },
    onCleanup: (fn) => cleanups.push(fn),
    alias(path, name) {
      aliases.push([path, name]);
      aliases.sort((a, b) => b[0].length - a[0].length);
    },
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
    // Stop everything before the summary, so the summary is the end of the output.
    await cleanup();
    process.stdout.write(`\nSummary\n`);
    for (const line of summaryLines) process.stdout.write(`   ${line}\n`);
    process.stdout.write(`   time: ${steps.length} steps in ${((performance.now() - started) / 1000).toFixed(1)} s; everything the demo started is stopped\n`);
    if (ctx.answer === undefined) throw new Error("no composed app answered");
    process.stdout.write(`   answer of ${ctx.answer}\n`);
    return 0;
  } catch (e) {
    // After Ctrl-C the step fails because its process was stopped: that is no news.
    if (interruptedAt === undefined) process.stderr.write(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}\n`);
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
