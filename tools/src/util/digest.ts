import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
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
