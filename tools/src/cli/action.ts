/**
 * What Bazel actions add around a command, the same in a one-shot process and in a persistent
 * worker request:
 *   - `@FILE` arguments: FILE holds more arguments, one per line (Bazel's "multiline" param files;
 *     a worker action must put its arguments in one);
 *   - action options, before the command name or after all its arguments (Bazel rules append
 *     them to the rule's own arguments):
 *       --stdout-file FILE      the command's stdout goes to FILE (written atomically, only when it
 *                               succeeds) instead of to stdout / the worker response;
 *       --copy-on-success SRC DST   after the command succeeded, copy SRC to DST (atomically), so
 *                               that DST exists only when the check the command performs passed;
 *       --exit-code-file FILE   for a command whose exit code 1 is a verdict (`policy check`: deny):
 *                               exit codes 0 and 1 are written to FILE and the action succeeds
 *                               (--stdout-file is written for both); any other code fails it.
 */
import { readFile } from "node:fs/promises";
import { copyFile, chmod, rename, rm, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { UsageError } from "../util/errors.ts";
import { tempPathFor, writeFileAtomic } from "../util/atomic-write.ts";

export interface ActionOptions {
  readonly stdoutFile?: string;
  readonly copy?: { readonly src: string; readonly dst: string };
  readonly exitCodeFile?: string;
  /** The command line after the action options (the command and its arguments). */
  readonly args: readonly string[];
}

/** Replaces each `@FILE` argument by FILE's lines (a last empty line is not an argument). */
export async function expandFlagfiles(args: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    if (a.length < 2 || !a.startsWith("@")) {
      out.push(a);
      continue;
    }
    const file = a.slice(1);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new UsageError(`cannot read the argument file ${file} (named by ${a}): ${(e as Error).message}`, "FLAGFILE_UNREADABLE");
    }
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    out.push(...lines);
  }
  return out;
}

/** Takes the action options off the start and the end of a command line. */
export function parseActionOptions(args: readonly string[]): ActionOptions {
  let stdoutFile: string | undefined;
  let copy: { src: string; dst: string } | undefined;
  let exitCodeFile: string | undefined;
  const setExitCode = (v: string | undefined): void => {
    if (v === undefined || v === "" || v.startsWith("-")) throw new UsageError("--exit-code-file needs a FILE", "BAD_FLAGS");
    if (exitCodeFile !== undefined) throw new UsageError("--exit-code-file was given twice", "BAD_FLAGS");
    exitCodeFile = v;
  };
  const setStdout = (v: string | undefined): void => {
    if (v === undefined || v === "" || v.startsWith("-")) throw new UsageError("--stdout-file needs a FILE", "BAD_FLAGS");
    if (stdoutFile !== undefined) throw new UsageError("--stdout-file was given twice", "BAD_FLAGS");
    stdoutFile = v;
  };
  const setCopy = (src: string | undefined, dst: string | undefined): void => {
    if (src === undefined || dst === undefined || src === "" || dst === "" || src.startsWith("-") || dst.startsWith("-")) throw new UsageError("--copy-on-success needs SRC and DST", "BAD_FLAGS");
    if (copy !== undefined) throw new UsageError("--copy-on-success was given twice", "BAD_FLAGS");
    copy = { src, dst };
  };
  let start = 0;
  for (;;) {
    if (args[start] === "--stdout-file") {
      setStdout(args[start + 1]);
      start += 2;
    } else if (args[start] === "--copy-on-success") {
      setCopy(args[start + 1], args[start + 2]);
      start += 3;
    } else if (args[start] === "--exit-code-file") {
      setExitCode(args[start + 1]);
      start += 2;
    } else break;
  }
  let end = args.length;
  for (;;) {
    if (end - 2 > start && args[end - 2] === "--stdout-file") {
      setStdout(args[end - 1]);
      end -= 2;
    } else if (end - 3 > start && args[end - 3] === "--copy-on-success") {
      setCopy(args[end - 2], args[end - 1]);
      end -= 3;
    } else if (end - 2 > start && args[end - 2] === "--exit-code-file") {
      setExitCode(args[end - 1]);
      end -= 2;
    } else break;
  }
  return {
    ...(stdoutFile !== undefined ? { stdoutFile } : {}),
    ...(copy !== undefined ? { copy } : {}),
    ...(exitCodeFile !== undefined ? { exitCodeFile } : {}),
    args: args.slice(start, end),
  };
}

/**
 * The action's exit code for the command's: with --exit-code-file, 0 and 1 are verdicts (the
 * action succeeds), else only 0 is success. Undefined: the action fails with the command's code.
 */
export function actionSucceeded(opts: ActionOptions, code: number): boolean {
  return code === 0 || (opts.exitCodeFile !== undefined && code === 1);
}

/** After a successful action: the exit code and the captured stdout into their files, then the copy. */
export async function completeAction(opts: ActionOptions, stdout: readonly Buffer[], code = 0): Promise<void> {
  if (opts.exitCodeFile !== undefined) await writeFileAtomic(opts.exitCodeFile, `${code}\n`);
  if (opts.stdoutFile !== undefined) await writeFileAtomic(opts.stdoutFile, Buffer.concat(stdout));
  if (opts.copy !== undefined) {
    await mkdir(dirname(opts.copy.dst), { recursive: true });
    const tmp = tempPathFor(opts.copy.dst);
    try {
      await copyFile(opts.copy.src, tmp);
      // Bazel hands out inputs read-only; the copy is an output and must be writable by its owner.
      await chmod(tmp, 0o644);
      await rename(tmp, opts.copy.dst);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}
