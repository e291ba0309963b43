/**
 * Runs one command line the way an action does (cli/action.ts: `@FILE` arguments, action
 * options), either as a persistent-worker request (all output captured for the WorkResponse) or
 * as this process's only command (output to the real streams).
 */
import { actionSucceeded, completeAction, expandFlagfiles, parseActionOptions, type ActionOptions } from "../cli/action.ts";
import { main, reportFailure } from "../cli/main.ts";
import { installRequestScopes, runInScope } from "../cli/request-scope.ts";
import { getLogLevel } from "../util/log.ts";

export interface RequestResult {
  readonly exitCode: number;
  /** Everything the command wrote to stderr, and to stdout unless --stdout-file took it. */
  readonly output: string;
}

async function runAction(args: readonly string[], onOptions: (o: ActionOptions) => void, stdoutOf: () => Buffer[]): Promise<number> {
  let opts: ActionOptions;
  try {
    opts = parseActionOptions(await expandFlagfiles(args));
  } catch (e) {
    return reportFailure(e);
  }
  onOptions(opts);
  const code = await main(["node", "wasm-oci", ...opts.args]);
  if (!actionSucceeded(opts, code)) return code;
  try {
    await completeAction(opts, stdoutOf(), code);
    return 0;
  } catch (e) {
    return reportFailure(e);
  }
}

/** One work request: its own output, log level and secrets (cli/request-scope.ts). */
export async function runRequest(args: readonly string[]): Promise<RequestResult> {
  installRequestScopes(true);
  const output: Buffer[] = [];
  const stdout: Buffer[] = [];
  let toFile = false;
  const exitCode = await runInScope(
    { stdout: (b) => (toFile ? stdout : output).push(b), stderr: (b) => output.push(b), level: processLogLevel },
    () => runAction(args, (o) => (toFile = o.stdoutFile !== undefined), () => stdout),
  );
  return { exitCode, output: Buffer.concat(output).toString("utf8") };
}

/** The level every request starts from: the process's (WASM_OCI_LOG), read before any scope. */
const processLogLevel = getLogLevel();

/** This process's only command, with action options: stderr as usual, stdout maybe to a file. */
export async function runOneShotAction(args: readonly string[]): Promise<number> {
  const real = installRequestScopes(false);
  const stdout: Buffer[] = [];
  let toFile = false;
  return runInScope(
    { stdout: (b) => (toFile ? stdout.push(b) : real.stdout(b)), stderr: (b) => real.stderr(b), level: processLogLevel },
    () => runAction(args, (o) => (toFile = o.stdoutFile !== undefined), () => stdout),
  );
}
