import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/**
 * Outputs are written to a temp file beside the target and renamed into place, so a
 * failure at any point leaves no half-written file at the target path.
 */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    await writeFile(tmp, data);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export interface AtomicFile {
  readonly tempPath: string;
  readonly stream: WriteStream;
  /** Flushes and renames into place. */
  commit(): Promise<void>;
  /** Removes the temp file; safe to call after commit or twice. */
  abort(): Promise<void>;
}

export async function openAtomic(target: string): Promise<AtomicFile> {
  await mkdir(dirname(target), { recursive: true });
  const tempPath = tempPathFor(target);
  const stream = createWriteStream(tempPath);
  let done = false;
  return {
    tempPath,
    stream,
    async commit() {
      await new Promise<void>((resolve, reject) => {
        stream.once("error", reject);
        stream.end(() => resolve());
      });
      await rename(tempPath, target);
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
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    await mkdir(tmp, { recursive: true });
    await build(tmp);
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
