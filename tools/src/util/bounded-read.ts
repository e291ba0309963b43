/**
 * Every read of something we did not write ourselves has a bound: a hostile registry or file
 * system must not be able to make the CLI read forever, fill memory or hang. Files must be regular
 * files (a symlink to one is fine: Bazel hands inputs over as symlinks), checked on the opened
 * descriptor: `stat().size` of /dev/zero is 0 and a FIFO would block the open itself.
 *
 * The bounds are stated in docs/cli.md ("Bounds"); keep the two in step.
 */
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { WasmOciError } from "./errors.ts";

const KIB = 1024;
const MIB = 1024 * KIB;

export const READ_LIMITS = {
  /** Manifests, image indexes, referrers lists, configs and other small blobs (as registries cap them). */
  manifest: 4 * MIB,
  /** A layout's index.json: one entry per tag and signature. */
  layoutIndex: 16 * MIB,
  /** A layout's oci-layout file: `{"imageLayoutVersion":"1.0.0"}`. */
  layoutMarker: 64 * KIB,
  /** A registry's error body: only its start is quoted in messages. */
  errorText: 64 * KIB,
  /** A token service's (or OAuth2 endpoint's) answer. */
  tokenResponse: 1 * MIB,
  /** One page of a tag list. */
  tagList: 4 * MIB,
  /** Registry configs, Docker and containers auth files, policies. */
  configFile: 4 * MIB,
  /** A token file (a Kubernetes service-account token is about 1 KiB). */
  tokenFile: 64 * KIB,
  /** Detached signature data (wasmsign2 allows 64 sets of 64 hashes and 256 signatures: under 2 MiB). */
  signature: 4 * MIB,
  /** Key files (an OpenSSH key-set file may list many keys). */
  keyFile: 1 * MIB,
} as const;

export function formatBytes(n: number): string {
  if (n >= MIB && n % MIB === 0) return `${n / MIB} MiB`;
  if (n >= KIB && n % KIB === 0) return `${n / KIB} KiB`;
  return `${n} bytes`;
}

function fileKind(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

export class NotRegularFileError extends WasmOciError {
  constructor(path: string, kind: string) {
    super("NOT_REGULAR_FILE", `${path} is ${kind}, not a regular file; refusing to read it`);
    this.name = "NotRegularFileError";
  }
}

/**
 * Opens a regular file (following symlinks) for reading, without blocking on a FIFO: O_NONBLOCK
 * lets the open of a FIFO return so it can be refused; it does not change reads of regular files.
 * Errors from open itself (ENOENT...) are thrown as they are, for the caller to word.
 */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new NotRegularFileError(path, fileKind(st));
    return { handle, size: st.size };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/**
 * Reads a whole regular file of at most `limit` bytes. A file over the limit, by its size or by
 * what a read returns (it may grow), gets `tooLarge(size)`; at most limit + 1 bytes are read.
 */
export async function readRegularFile(path: string, limit: number, tooLarge: (size: number) => Error): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path);
  try {
    if (size > limit) throw tooLarge(size);
    // One byte more than the size, so the end is seen in one read; files that grow (or report
    // size 0, as /proc does) double the buffer, never past limit + 1.
    let buf = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(size + 1, 4 * KIB)));
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        const bigger = Buffer.allocUnsafe(Math.min(limit + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) return buf.subarray(0, got);
      got += bytesRead;
      if (got > limit) throw tooLarge(got);
    }
  } finally {
    await handle.close();
  }
}

/** readRegularFile as UTF-8 text, with a standard "over N" error naming the file. */
export async function readTextFile(path: string, limit: number, code: string, what = "file"): Promise<string> {
  const bytes = await readRegularFile(path, limit, (size) => new WasmOciError(code, `${what} ${path} is ${size} bytes or more; at most ${formatBytes(limit)} is read`));
  return bytes.toString("utf8");
}

type Body = AsyncIterable<unknown> & Pick<Readable, "destroy">;

/**
 * Reads a response body of at most `limit` bytes. A declared Content-Length over the limit is
 * refused before reading; otherwise the body is cut off (destroyed) as soon as it passes the limit.
 */
export async function readBodyBounded(body: Body, limit: number, tooLarge: (size: number) => Error, declaredLength?: string): Promise<Buffer> {
  const declared = declaredLength === undefined ? Number.NaN : Number(declaredLength);
  if (Number.isFinite(declared) && declared > limit) {
    body.destroy();
    throw tooLarge(declared);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      body.destroy();
      throw tooLarge(size);
    }
    chunks.push(b);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

/**
 * The first `limit` bytes of a body (for quoting an error), then the rest is dropped without
 * being read: the connection is closed rather than drained.
 */
export async function readBodyPrefix(body: Body, limit: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      const room = limit - size;
      chunks.push(b.length > room ? b.subarray(0, room) : b);
      size += Math.min(b.length, room);
      if (b.length >= room) {
        truncated = b.length > room;
        break;
      }
    }
  } catch {
    // A broken error body still leaves whatever arrived to quote.
  }
  // Leaving the loop early does not always end the stream; make sure the socket is released.
  body.destroy();
  return { text: Buffer.concat(chunks, size).toString("utf8"), truncated };
}
