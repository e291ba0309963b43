import { describe, expect, it } from "vitest";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { redact, registerSecret } from "../../tools/src/util/log.ts";
import { openAtomic, writeFileAtomic } from "../../tools/src/util/atomic-write.ts";
import { DigestVerifier, parseDigest, sha256Digest } from "../../tools/src/util/digest.ts";
import { DigestMismatchError, UsageError } from "../../tools/src/util/errors.ts";

describe("redact", () => {
  it("hides registered secrets, URL passwords and auth headers", () => {
    registerSecret("s3cr3t-token-value");
    const out = redact("token s3cr3t-token-value at https://bob:hunter22@r.example/v2 Authorization: Bearer abc.def.ghi");
    expect(out).not.toContain("s3cr3t-token-value");
    expect(out).not.toContain("hunter22");
    expect(out).not.toContain("abc.def.ghi");
    expect(out).toContain("bob:***@");
  });
});

describe("atomic writes", () => {
  it("writes the whole file or nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "atomic-"));
    const target = join(dir, "out.bin");
    await writeFileAtomic(target, "hello");
    expect(await readFile(target, "utf8")).toBe("hello");
    const f = await openAtomic(join(dir, "aborted.bin"));
    f.stream.write("partial");
    await f.abort();
    expect((await readdir(dir)).sort()).toEqual(["out.bin"]);
  });
});

describe("digests", () => {
  it("rejects malformed digests and detects mismatches", () => {
    expect(() => parseDigest("sha256:abc")).toThrow(UsageError);
    const good = sha256Digest("x");
    const v = new DigestVerifier(good, "blob");
    v.update(new TextEncoder().encode("y"));
    expect(() => v.check()).toThrow(DigestMismatchError);
  });
});
