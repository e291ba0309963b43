import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { readWasmNames } from "../../tools/src/component/names.ts";
import { WasmOciError } from "../../tools/src/util/errors.ts";
import { sha256Digest } from "../../tools/src/util/digest.ts";
import { BlobCache, defaultCacheDir } from "../../tools/src/oci/blob-cache.ts";

let dir: string;
let component: Uint8Array;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "oci-cache-test-"));
  component = await parse(`(component (import "a:b/c" (instance)) (core module $m) (export "x" (core module $m)))`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("component name scanner on damaged input", () => {
  it("reads the names of an intact component", () => {
    expect(readWasmNames(component)).toMatchObject({ imports: ["a:b/c"], exports: ["x"] });
  });

  it("either reads a truncated component or fails with BAD_WASM, never anything else", () => {
    for (let n = 0; n < component.length; n++) {
      try {
        readWasmNames(component.subarray(0, n), "t.wasm");
      } catch (e) {
        expect(e).toBeInstanceOf(WasmOciError);
        expect((e as WasmOciError).code).toBe("BAD_WASM");
      }
    }
  });

  it("random section bytes after a component preamble never escape as a non-WasmOciError", () => {
    const preamble = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
        const bytes = new Uint8Array(preamble.length + tail.length);
        bytes.set(preamble);
        bytes.set(tail, preamble.length);
        try {
          const r = readWasmNames(bytes);
          return r.kind === "component";
        } catch (e) {
          return e instanceof WasmOciError && e.code === "BAD_WASM";
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("blob cache", () => {
  it("returns what was stored under its digest", async () => {
    const cache = new BlobCache(join(dir, "c1"));
    const bytes = Buffer.from("hello cache");
    const d = sha256Digest(bytes);
    expect(await cache.readBytes(d)).toBeUndefined();
    await cache.putBytes(d, bytes);
    expect((await cache.readBytes(d))?.equals(bytes)).toBe(true);
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on("data", (c: Buffer) => chunks.push(c));
    expect(await cache.copyTo(d, bytes.length, sink)).toBe(true);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it("drops a damaged entry instead of serving it", async () => {
    const cache = new BlobCache(join(dir, "c2"));
    const bytes = Buffer.from("original");
    const d = sha256Digest(bytes);
    await cache.putBytes(d, bytes);
    await writeFile(cache.path(d), "tampered");
    expect(await cache.readBytes(d)).toBeUndefined();
    await expect(readFile(cache.path(d))).rejects.toThrow();
    await cache.putBytes(d, bytes);
    await writeFile(cache.path(d), "0riginal");
    expect(await cache.copyTo(d, bytes.length, new PassThrough().resume())).toBe(false);
    await expect(readFile(cache.path(d))).rejects.toThrow();
    // Another size than the descriptor's: not served, not read.
    await cache.putBytes(d, bytes);
    await writeFile(cache.path(d), "tampered again");
    expect(await cache.copyTo(d, bytes.length, new PassThrough().resume())).toBe(false);
  });

  it("adds a verified file by link or copy, leaving the source in place", async () => {
    const cache = new BlobCache(join(dir, "c3"));
    const src = join(dir, "layer.bin");
    await writeFile(src, "layer bytes");
    const d = sha256Digest("layer bytes");
    await cache.putFile(d, src);
    expect((await cache.readBytes(d))?.toString()).toBe("layer bytes");
    expect(await readFile(src, "utf8")).toBe("layer bytes");
  });

  it("defaults to $XDG_CACHE_HOME/wasm-oci, then ~/.cache/wasm-oci", () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/wasm-oci");
    expect(defaultCacheDir({ HOME: "/home/u" })).toBe("/home/u/.cache/wasm-oci");
  });
});
