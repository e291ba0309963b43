import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { DigestMismatchError, UsageError } from "./errors.ts";

export type Digest = `sha256:${string}`;

const digestRe = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): s is Digest {
  return digestRe.test(s);
}

/** Parses a user-supplied digest; only sha256 is accepted because that is all registries use. */
export function parseDigest(s: string, what = "digest"): Digest {
  if (!isDigest(s)) {
    throw new UsageError(`invalid ${what} "${s}": expected sha256: followed by 64 lowercase hex digits`, "INVALID_DIGEST");
  }
  return s;
}

export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export async function sha256File(path: string): Promise<{ digest: Digest; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    size += buf.length;
    hash.update(buf);
  }
  return { digest: `sha256:${hash.digest("hex")}`, size };
}

const READ_PIECE = 8 << 20;

/**
 * Reads a whole file and its SHA-256 in one pass: each piece is hashed while the next one is
 * being read (reads run on libuv's thread pool), so a 100 MiB component costs about the hashing
 * time instead of reading plus hashing. A file that changes size while being read is an error.
 */
export async function readFileWithDigest(path: string): Promise<{ bytes: Buffer; digest: Digest }> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const bytes = Buffer.allocUnsafe(size);
    const hash = createHash("sha256");
    const readAt = async (offset: number): Promise<number> => {
      const want = Math.min(READ_PIECE, size - offset);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(bytes, offset + got, want - got, offset + got);
        if (bytesRead === 0) throw new UsageError(`${path} shrank while it was being read (expected ${size} bytes)`, "INPUT_CHANGED");
        got += bytesRead;
      }
      return want;
    };
    let offset = 0;
    let pending = size > 0 ? readAt(0) : undefined;
    while (pending !== undefined) {
      const n = await pending;
      const next = offset + n;
      pending = next < size ? readAt(next) : undefined;
      hash.update(bytes.subarray(offset, next));
      offset = next;
    }
    const extra = await fh.read(Buffer.alloc(1), 0, 1, size);
    if (extra.bytesRead !== 0) throw new UsageError(`${path} grew while it was being read (expected ${size} bytes)`, "INPUT_CHANGED");
    return { bytes, digest: `sha256:${hash.digest("hex")}` };
  } finally {
    await fh.close();
  }
}

/** Hashes bytes as they stream past; call check() at the end to enforce the expected digest. */
export class DigestVerifier {
  private readonly hash: Hash = createHash("sha256");
  size = 0;

  constructor(
    readonly expected: Digest,
    readonly what: string,
  ) {}

  update(chunk: Uint8Array): void {
    this.size += chunk.length;
    this.hash.update(chunk);
  }

  actual(): Digest {
    return `sha256:${this.hash.digest("hex")}`;
  }

  check(): Digest {
    const got = this.actual();
    if (got !== this.expected) throw new DigestMismatchError(this.what, this.expected, got);
    return got;
  }
}
