import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { WasmOciError } from "./errors.ts";

/**
 * Outputs are written to a temp file beside the target and renamed into place, so a failure at
 * any point leaves no half-written file at the target path. Temp names are recognisable
 * (`.<name>.wasm-oci-tmp-<pid>-<hex>`): a process killed with SIGKILL cannot remove its own, so
 * the next run that writes into the same directory removes those whose process is gone.
 */
const TEMP_MARK = ".wasm-oci-tmp-";
const TEMP_RE = /^\..*\.wasm-oci-tmp-(\d+)-[0-9a-f]{8}$/;
/**
 * A temp file of a process that is not ours and not alive is removed only when it has not been
 * written for this long: a writer in another PID namespace (a container, a sandbox) sharing the
 * directory looks dead from here, but it keeps its file's mtime fresh.
 */
export const STALE_TEMP_AGE_MS = 60_000;

export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString("hex")}`);
}

/** The pid in a temp name of ours, else undefined. */
export function tempOwnerPid(name: string): number | undefined {
  const m = TEMP_RE.exec(name);
  return m === null ? undefined : Number(m[1]);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const swept = new Set<string>();

/** Removes temp files and folders left in `dir` by killed wasm-oci processes (once per directory per run). */
export async function sweepStaleTemps(dir: string, now = Date.now()): Promise<string[]> {
  if (swept.has(dir)) return [];
  swept.add(dir);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = tempOwnerPid(name);
    if (pid === undefined || pid === process.pid || processAlive(pid)) continue;
    const path = join(dir, name);
    try {
      if (now - (await stat(path)).mtimeMs < STALE_TEMP_AGE_MS) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Gone already, or not ours to remove: it is only clean-up.
    }
  }
  return removed;
}

/** Creates the target's directory, clears stale temps there and returns a fresh temp path beside the target. */
export async function tempBeside(target: string): Promise<string> {
  const dir = dirname(target);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw asWriteError(e, target);
  }
  await sweepStaleTemps(dir);
  return tempPathFor(target);
}

const errnoText: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a parent is not a directory",
  EIO: "input/output error",
  EFBIG: "file too large",
  EMFILE: "too many open files",
};

/**
 * A file-system error from writing `target` as a typed error (code DISK_FULL for ENOSPC and
 * EDQUOT, else WRITE_FAILED) naming the file; anything else is returned unchanged.
 */
export function asWriteError(e: unknown, target: string): unknown {
  if (e instanceof WasmOciError) return e;
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno !== "string" || !/^E[A-Z]+$/.test(errno)) return e;
  const code = errno === "ENOSPC" || errno === "EDQUOT" ? "DISK_FULL" : "WRITE_FAILED";
  return new WasmOciError(code, `cannot write ${target}: ${errnoText[errno] ?? (e as Error).message} (${errno})`, {
    cause: e,
    details: { errno, path: target },
  });
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = await tempBeside(target);
  try {
    await writeFile(tmp, data);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw asWriteError(e, target);
  }
}

export interface AtomicFile {
  readonly tempPath: string;
  readonly stream: WriteStream;
  /** Flushes and renames into place; rejects (typed) if any write failed. */
  commit(): Promise<void>;
  /** Removes the temp file; safe to call after commit or twice. */
  abort(): Promise<void>;
  /** The first write error of the stream, if any (callers that pipe into it check this). */
  readonly failure: unknown;
}

export async function openAtomic(target: string): Promise<AtomicFile> {
  const tempPath = await tempBeside(target);
  const stream = createWriteStream(tempPath);
  let failure: unknown;
  // Without a listener a failed write (ENOSPC) would be an unhandled error that kills the process
  // before abort() can remove the temp file.
  stream.on("error", (e) => {
    failure ??= e;
  });
  let done = false;
  return {
    tempPath,
    stream,
    get failure() {
      return failure === undefined ? undefined : asWriteError(failure, target);
    },
    async commit() {
      try {
        if (failure !== undefined) throw failure;
        await new Promise<void>((resolve, reject) => {
          if (stream.closed) {
            if (failure !== undefined) reject(failure);
            else resolve();
            return;
          }
          stream.once("error", reject);
          stream.end(() => (failure !== undefined ? reject(failure) : resolve()));
        });
        await rename(tempPath, target);
      } catch (e) {
        done = true;
        stream.destroy();
        await rm(tempPath, { force: true });
        throw asWriteError(e, target);
      }
      done = true;
    },
    async abort() {
      if (done) return;
      done = true;
      stream.destroy();
      await rm(tempPath, { force: true });
    },
  };
}

/** Replaces a directory as a whole: build into a sibling temp dir, then swap. */
export async function replaceDirAtomic(target: string, build: (tmpDir: string) => Promise<void>): Promise<void> {
  const tmp = await tempBeside(target);
  try {
    await mkdir(tmp, { recursive: true });
    await build(tmp);
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw asWriteError(e, target);
  }
}
