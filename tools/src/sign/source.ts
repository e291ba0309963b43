import { open, type FileHandle } from "node:fs/promises";
import { UsageError, WasmOciError } from "../util/errors.ts";

/**
 * Random access to a module's bytes, either in memory or in a file. Large files are never
 * loaded whole: the section scanner reads headers through a small window and hashing or
 * copying streams payload ranges in chunks.
 */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `pos` (fewer only at the end of the source). */
  read(pos: number, length: number): Promise<Uint8Array>;
  /** The range [start, end) in chunks; a chunk is only valid until the next one is requested. */
  chunks(start: number, end: number): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    async read(pos, length) {
      return bytes.subarray(pos, Math.min(bytes.length, pos + length));
    },
    async *chunks(start, end) {
      if (end > start) yield bytes.subarray(start, end);
    },
    async close() {},
  };
}

const CHUNK = 4 << 20;
const WINDOW = 64 << 10;

class FileSource implements ByteSource {
  private windowStart = 0;
  private windowLen = 0;
  private readonly window = Buffer.allocUnsafe(WINDOW);
  private chunkBuf: Buffer | undefined;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly path: string,
  ) {}

  async read(pos: number, length: number): Promise<Uint8Array> {
    const end = Math.min(this.size, pos + length);
    if (end <= pos) return new Uint8Array(0);
    if (pos >= this.windowStart && end <= this.windowStart + this.windowLen) {
      return new Uint8Array(this.window.subarray(pos - this.windowStart, end - this.windowStart));
    }
    if (end - pos > WINDOW) {
      const out = Buffer.allocUnsafe(end - pos);
      await this.readFully(out, pos);
      return out;
    }
    this.windowStart = pos;
    this.windowLen = Math.min(WINDOW, this.size - pos);
    await this.readFully(this.window.subarray(0, this.windowLen), pos);
    return new Uint8Array(this.window.subarray(0, end - pos));
  }

  async *chunks(start: number, end: number): AsyncIterable<Uint8Array> {
    // One reusable buffer: consumers hash or write each chunk before asking for the next.
    this.chunkBuf ??= Buffer.allocUnsafe(CHUNK);
    let pos = start;
    while (pos < end) {
      const n = Math.min(CHUNK, end - pos);
      const view = this.chunkBuf.subarray(0, n);
      await this.readFully(view, pos);
      yield view;
      pos += n;
    }
  }

  private async readFully(into: Buffer, pos: number): Promise<void> {
    let done = 0;
    while (done < into.length) {
      const { bytesRead } = await this.fh.read(into, done, into.length - done, pos + done);
      if (bytesRead === 0) throw new WasmOciError("INPUT_CHANGED", `${this.path} shrank while being read (at offset ${pos + done})`);
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

export async function fileSource(path: string): Promise<ByteSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${path}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`, "INPUT_FILE");
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UsageError(`cannot read ${path}: not a regular file`, "INPUT_FILE");
    return new FileSource(fh, st.size, path);
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Opens a path or wraps bytes, runs `fn`, and always closes. */
export async function withSource<T>(input: string | Uint8Array, fn: (src: ByteSource) => Promise<T>): Promise<T> {
  const src = typeof input === "string" ? await fileSource(input) : bufferSource(input);
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}
