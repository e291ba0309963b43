/**
 * A content-addressed cache of blobs and manifests (`<dir>/blobs/sha256/<hex>`), shared by every
 * pull. Entries are only added after their digest was verified, and are verified again when read,
 * so a damaged entry is dropped instead of trusted. Cache failures never fail a pull.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { copyFile, link, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Writable } from "node:stream";
import { tempBeside } from "../util/atomic-write.ts";
import type { Digest } from "../util/digest.ts";
import { errorMessage, WasmOciError } from "../util/errors.ts";
import { openRegularFile, READ_LIMITS, readRegularFile } from "../util/bounded-read.ts";
import { log } from "../util/log.ts";

/** `$XDG_CACHE_HOME/wasm-oci`, else `~/.cache/wasm-oci` (a temp dir when there is no home, as in some sandboxes). */
/** How far a copy may run ahead of the disk before waiting (the stream default of 16 KiB stalls). */
const MAX_WRITE_BACKLOG = 16 << 20;

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env["XDG_CACHE_HOME"];
  if (xdg !== undefined && xdg !== "") return join(xdg, "wasm-oci");
  let home = env["HOME"];
  if (home === undefined || home === "") {
    try {
      home = homedir();
    } catch {
      home = "";
    }
  }
  return home ? join(home, ".cache", "wasm-oci") : join(tmpdir(), "wasm-oci-cache");
}

export class BlobCache {
  constructor(readonly dir: string) {}

  path(digest: Digest): string {
    return join(this.dir, "blobs", "sha256", digest.slice("sha256:".length));
  }

  /** Small entries (manifests, configs): the bytes if present, a regular file of at most 4 MiB, and intact. */
  async readBytes(digest: Digest): Promise<Buffer | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(this.path(digest), READ_LIMITS.manifest, () => new WasmOciError("CACHE_ENTRY_TOO_LARGE", "too large"));
    } catch (e) {
      if (e instanceof WasmOciError) {
        log.warn(`cache entry ${this.path(digest)} is unusable (${e.message}); fetching ${digest} again`);
        await this.drop(digest);
      }
      return undefined;
    }
    if (`sha256:${createHash("sha256").update(bytes).digest("hex")}` !== digest) {
      await this.drop(digest);
      return undefined;
    }
    return bytes;
  }

  /**
   * Streams an entry of `size` bytes into `dest` while hashing it. Returns false when it is
   * missing, of another size, not a regular file or damaged (the last two are dropped); the
   * caller then fetches it and must discard what was written. Never reads more than `size` bytes.
   */
  async copyTo(digest: Digest, size: number, dest: Writable, onBytes?: (n: number) => void): Promise<boolean> {
    const hash = createHash("sha256");
    let opened: Awaited<ReturnType<typeof openRegularFile>>;
    try {
      opened = await openRegularFile(this.path(digest));
    } catch (e) {
      if (e instanceof WasmOciError) {
        log.warn(`cache entry ${this.path(digest)} is unusable (${e.message}); fetching ${digest} again`);
        await this.drop(digest);
      }
      return false;
    }
    if (opened.size !== size) {
      // Either the entry or the descriptor is wrong: not read; the fetch decides (and a lying
      // descriptor fails there with SIZE_MISMATCH), and a bad entry is replaced by it.
      await opened.handle.close();
      log.debug(`cache entry ${this.path(digest)} is ${opened.size} bytes, the descriptor says ${size}; fetching ${digest}`);
      return false;
    }
    if (size === 0) await opened.handle.close();
    try {
      // Closes the handle when it ends or fails.
      const body = size === 0 ? [] : opened.handle.createReadStream({ start: 0, end: size - 1, highWaterMark: 1 << 20 });
      for await (const chunk of body) {
        const b = chunk as Buffer;
        hash.update(b);
        onBytes?.(b.length);
        dest.write(b);
        if (dest.writableLength > MAX_WRITE_BACKLOG) await once(dest, "drain");
      }
    } catch {
      return false;
    }
    if (`sha256:${hash.digest("hex")}` !== digest) {
      log.warn(`cache entry ${this.path(digest)} is damaged; fetching ${digest} again`);
      await this.drop(digest);
      return false;
    }
    return true;
  }

  async putBytes(digest: Digest, bytes: Uint8Array): Promise<void> {
    await this.store(digest, async (tmp) => {
      await writeFile(tmp, bytes);
    });
  }

  /**
   * Adds an already verified file. A hard link saves copying large layers; should the linked
   * output be modified later, the entry fails its hash check on read and is dropped.
   */
  async putFile(digest: Digest, src: string): Promise<void> {
    await this.store(digest, async (tmp) => {
      try {
        await link(src, tmp);
      } catch {
        await copyFile(src, tmp);
      }
    });
  }

  private async store(digest: Digest, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.path(digest);
    let tmp: string | undefined;
    try {
      tmp = await tempBeside(target);
      await write(tmp);
      await rename(tmp, target);
    } catch (e) {
      if (tmp !== undefined) await rm(tmp, { force: true }).catch(() => undefined);
      log.warn(`could not store ${digest} in the cache ${this.dir}: ${errorMessage(e)}`);
    }
  }

  private async drop(digest: Digest): Promise<void> {
    await rm(this.path(digest), { force: true }).catch(() => undefined);
  }
}
