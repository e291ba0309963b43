/**
 * A small, really full file system for "disk full" tests: a tmpfs mounted on a temp directory
 * (needs root, or CAP_SYS_ADMIN). Writes there fail with ENOSPC from the kernel, exactly as on a
 * full disk; nothing is simulated.
 *
 *   const fs = await mountTmpfs(64);          // 64 KiB; fs.dir, await fs.fill(), await fs.unmount()
 *   describe.skipIf(!tmpfsMountable())(...)   // under CI=true an unmountable tmpfs throws instead
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

let probed: boolean | undefined;

/** Whether this process may mount a tmpfs (probed once by mounting one). */
export function tmpfsMountable(): boolean {
  if (probed === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "wasm-oci-tmpfs-probe-"));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", dir], { stdio: "ignore" });
      execFileSync("umount", [dir], { stdio: "ignore" });
      probed = true;
    } catch {
      probed = false;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (!probed && process.env["CI"] === "true") throw new Error("CI=true: cannot mount a tmpfs for the disk-full tests (run as root)");
  }
  return probed;
}

export interface SmallFs {
  dir: string;
  /** Fills the file system to the last byte (a file named `filler`), so every further write fails. */
  fill(): Promise<void>;
  /** Removes everything on it (for the next case). */
  clear(): Promise<void>;
  unmount(): Promise<void>;
}

export async function mountTmpfs(sizeKiB: number): Promise<SmallFs> {
  const dir = await mkdtemp(join(tmpdir(), "wasm-oci-tmpfs-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k`, "tmpfs", dir]);
  return {
    dir,
    async fill() {
      const fh = await open(join(dir, "filler"), "w");
      const block = Buffer.alloc(4096);
      try {
        for (let i = 0; i < sizeKiB; i++) await fh.write(block);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
      } finally {
        await fh.close();
      }
    },
    async clear() {
      execFileSync("find", [dir, "-mindepth", "1", "-delete"]);
    },
    async unmount() {
      execFileSync("umount", [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
