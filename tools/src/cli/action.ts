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
 *                               that DST exists only when the check the command performs passed.
 */
import { readFile } from "node:fs/promises";
import { copyFile, chmod, rename, rm, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { UsageError } from "../util/errors.ts";
import { tempPathFor, writeFileAtomic } from "../util/atomic-write.ts";

export interface ActionOptions {
  readonly stdoutFile?: string;
  readonly copy?: { readonly src: string; readonly dst: string };
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
    } else break;
  }
  return { ...(stdoutFile !== undefined ? { stdoutFile } : {}), ...(copy !== undefined ? { copy } : {}), args: args.slice(start, end) };
}

/** After a successful command: the captured stdout into its file, then the copy. */
export async function completeAction(opts: ActionOptions, stdout: readonly Buffer[]): Promise<void> {
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
