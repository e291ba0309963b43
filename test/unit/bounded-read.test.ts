import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { NotRegularFileError, openRegularFile, readBodyBounded, readBodyPrefix, readRegularFile } from "../../tools/src/util/bounded-read.ts";
import { runCommand } from "../helpers/processes.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bounded-read-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tooLarge = (size: number): Error => new Error(`too large: ${size}`);

/** An endless body (bounded by `max` so a broken reader cannot loop forever), counting what was pulled. */
function endless(max: number): { body: Readable; pulled: () => number } {
  let pulled = 0;
  const piece = Buffer.alloc(16 * 1024, "x");
  const body = new Readable({
    read() {
      if (pulled >= max) return this.push(null);
      pulled += piece.length;
      this.push(piece);
    },
  });
  return { body, pulled: () => pulled };
}

describe("readRegularFile", () => {
  it("reads a regular file and a symlink to one", async () => {
    await writeFile(join(dir, "a.json"), "{}");
    await symlink(join(dir, "a.json"), join(dir, "link.json"));
    expect((await readRegularFile(join(dir, "a.json"), 10, tooLarge)).toString()).toBe("{}");
    expect((await readRegularFile(join(dir, "link.json"), 10, tooLarge)).toString()).toBe("{}");
  });

  it("refuses a file over the limit by its size", async () => {
    await writeFile(join(dir, "big"), Buffer.alloc(11));
    await expect(readRegularFile(join(dir, "big"), 10, tooLarge)).rejects.toThrow("too large: 11");
  });

  it("refuses /dev/zero (size 0, endless), a FIFO and a directory without reading or blocking", async () => {
    await symlink("/dev/zero", join(dir, "zero"));
    await expect(readRegularFile(join(dir, "zero"), 10, tooLarge)).rejects.toThrow(/character device, not a regular file/);
    const r = await runCommand("mkfifo", [join(dir, "fifo")], { timeoutMs: 5000 });
    expect(r.code).toBe(0);
    await expect(readRegularFile(join(dir, "fifo"), 10, tooLarge)).rejects.toBeInstanceOf(NotRegularFileError);
    await expect(openRegularFile(dir)).rejects.toThrow(/a directory, not a regular file/);
  });

  it("bounds a regular file that reports size 0 but has content (as /proc files do)", async () => {
    const bytes = await readRegularFile("/proc/self/status", 1 << 20, tooLarge);
    expect(bytes.toString()).toMatch(/^Name:/);
    await expect(readRegularFile("/proc/self/status", 16, tooLarge)).rejects.toThrow(/too large: \d+/);
  });

  it("passes open errors through (ENOENT) for the caller to word", async () => {
    await expect(readRegularFile(join(dir, "absent"), 10, tooLarge)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("readBodyBounded / readBodyPrefix", () => {
  it("stops an endless body just past the limit", async () => {
    const e = endless(64 << 20);
    await expect(readBodyBounded(e.body, 100_000, tooLarge)).rejects.toThrow(/too large/);
    expect(e.pulled()).toBeLessThan(1 << 20);
  });

  it("refuses a declared Content-Length over the limit before reading", async () => {
    const e = endless(64 << 20);
    await expect(readBodyBounded(e.body, 1000, tooLarge, "5000")).rejects.toThrow("too large: 5000");
    expect(e.pulled()).toBeLessThanOrEqual(16 * 1024 * 4);
  });

  it("returns a body within the limit whole", async () => {
    expect((await readBodyBounded(Readable.from([Buffer.from("ab"), Buffer.from("cd")]), 4, tooLarge)).toString()).toBe("abcd");
  });

  it("quotes only the start of an endless error body", async () => {
    const e = endless(64 << 20);
    const p = await readBodyPrefix(e.body, 1000);
    expect(p.text).toHaveLength(1000);
    expect(p.truncated).toBe(true);
    expect(e.pulled()).toBeLessThan(1 << 20);
    expect(await readBodyPrefix(Readable.from([Buffer.from("short")]), 1000)).toEqual({ text: "short", truncated: false });
  });
});
