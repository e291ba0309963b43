/**
 * An encoded component as pieces: bytes the encoder produced, and ranges of input files that
 * are copied as they are. A composition that embeds its dependencies is mostly its inputs'
 * bytes, so those are never held in memory: they are copied from the input file to the output
 * through one reused buffer, as `cat` does.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync, type Stats } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { createHash } from "node:crypto";
import { WasmOciError } from "../util/errors.ts";

/** What a file looked like when it was parsed; a file that no longer matches is not copied. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The bytes [start, end) of a file, as it was when `identity` was taken. */
export interface FileSlice {
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly identity: FileIdentity;
}

export type Chunk = Uint8Array | FileSlice;

export function identityOf(st: Stats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** An input file changed between parsing it and copying it into the output. */
export class InputChangedError extends WasmOciError {
  readonly path: string;
  constructor(path: string, what: string) {
    super("INPUT_CHANGED", `${path} changed since it was read (${what}); nothing was written, run the command again`, { details: { path } });
    this.name = "InputChangedError";
    this.path = path;
  }
}

export function chunkLength(c: Chunk): number {
  return c instanceof Uint8Array ? c.length : c.end - c.start;
}

export function chunksLength(chunks: readonly Chunk[]): number {
  let n = 0;
  for (const c of chunks) n += chunkLength(c);
  return n;
}

// One buffer reused by every copy: large enough that syscalls do not dominate, small enough
// that a 100 MiB copy does not fault in 100 MiB of fresh pages. A copy that starts while another
// is suspended (an async consumer) gets its own.
const COPY_BUFFER_SIZE = 1 << 20;
let idleBuffer: Buffer | undefined;

function describe(a: FileIdentity, b: FileIdentity): string {
  if (a.size !== b.size) return `size ${a.size} -> ${b.size} bytes`;
  if (a.dev !== b.dev || a.ino !== b.ino) return "replaced by another file";
  return "modified";
}

function openSlice(slice: FileSlice): number {
  let fd: number;
  try {
    fd = openSync(slice.path, "r");
  } catch (e) {
    throw new InputChangedError(slice.path, `cannot open it: ${(e as Error).message}`);
  }
  try {
    const now = identityOf(fstatSync(fd));
    if (!sameIdentity(now, slice.identity)) throw new InputChangedError(slice.path, describe(slice.identity, now));
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/**
 * The output piece by piece. A piece from a file slice is a view of the shared copy buffer:
 * it is valid only until the consumer asks for the next piece.
 */
export function* pieces(chunks: readonly Chunk[]): Generator<Uint8Array, void, undefined> {
  let buf: Buffer | undefined;
  try {
    yield* piecesWith(chunks, () => {
      if (buf === undefined) {
        buf = idleBuffer ?? Buffer.allocUnsafe(COPY_BUFFER_SIZE);
        idleBuffer = undefined;
      }
      return buf;
    });
  } finally {
    if (buf !== undefined) idleBuffer = buf;
  }
}

function* piecesWith(chunks: readonly Chunk[], buffer: () => Buffer): Generator<Uint8Array, void, undefined> {
  for (const c of chunks) {
    if (c instanceof Uint8Array) {
      if (c.length > 0) yield c;
      continue;
    }
    const fd = openSlice(c);
    try {
      const copyBuffer = buffer();
      let pos = c.start;
      while (pos < c.end) {
        const n = readSync(fd, copyBuffer, 0, Math.min(copyBuffer.length, c.end - pos), pos);
        if (n === 0) throw new InputChangedError(c.path, `it ended at offset ${pos}, expected ${c.identity.size} bytes`);
        pos += n;
        yield copyBuffer.subarray(0, n);
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** The whole output in memory (for `--wat`, tests and API callers that want bytes). */
export function concatChunks(chunks: readonly Chunk[]): Uint8Array {
  // Every byte is overwritten below; skipping the zero fill matters for 100 MiB outputs.
  const out = Buffer.allocUnsafe(chunksLength(chunks));
  let at = 0;
  for (const p of pieces(chunks)) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `sha256:<hex>` of the output. */
export function digestChunks(chunks: readonly Chunk[]): string {
  const hash = createHash("sha256");
  for (const p of pieces(chunks)) hash.update(p);
  return `sha256:${hash.digest("hex")}`;
}

function writeAll(fd: number, piece: Uint8Array): void {
  let off = 0;
  while (off < piece.length) off += writeSync(fd, piece, off, piece.length - off);
}

/**
 * Writes the output to `path` atomically (temp file, then rename): a failure, including an
 * input that changed since it was parsed, leaves no file at `path`. `observe` sees every piece
 * (e.g. to hash the output while it is written instead of reading it again); `beforeCommit`
 * runs after the temp file is complete and before the rename, and throwing from it leaves no
 * output. The copy is synchronous on purpose: a thread-pool round trip per megabyte costs more
 * than it frees.
 */
export async function writeChunksAtomic(
  path: string,
  chunks: readonly Chunk[],
  observe?: (piece: Uint8Array) => void,
  beforeCommit?: () => Promise<void>,
): Promise<void> {
  const { asWriteError, tempBeside } = await import("../util/atomic-write.ts");
  const tmp = await tempBeside(path);
  let fd: number | undefined = openSync(tmp, "w");
  try {
    for (const p of pieces(chunks)) {
      writeAll(fd, p);
      observe?.(p);
    }
    closeSync(fd);
    fd = undefined;
    // E.g. validation running on another thread: the output appears only if it passes.
    if (beforeCommit !== undefined) await beforeCommit();
    // Renaming over an existing file makes ext4 (auto_da_alloc) start writeback of the whole
    // new file inside rename(): 60-120 ms for 100 MiB, more than the copy itself. Removing the
    // old output first avoids that; a failure from here on leaves no output, never a partial one.
    await rm(path, { force: true });
    await rename(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    await rm(tmp, { force: true });
    throw asWriteError(e, path);
  }
}

/** Writes the output to a stream (stdout), waiting for each piece: slice pieces share a buffer. */
export async function writeChunksTo(stream: NodeJS.WritableStream, chunks: readonly Chunk[]): Promise<void> {
  for (const p of pieces(chunks)) {
    await new Promise<void>((resolve, reject) => stream.write(p, (e) => (e ? reject(e) : resolve())));
  }
}
