import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { readFileWithDigest } from "../../tools/src/util/digest.ts";

describe("readFileWithDigest", () => {
  let tmp: Tmp;
  beforeAll(async () => {
    tmp = await makeTmp("read-with-digest");
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  // Sizes around the 8 MiB read piece: empty, tiny, exactly one piece, several pieces and a tail.
  for (const size of [0, 1, 8 << 20, (8 << 20) * 2 + 12345]) {
    it(`returns the bytes and their SHA-256 for ${size} bytes`, async () => {
      const data = randomBytes(size);
      const path = join(tmp.dir, `f-${size}`);
      await writeFile(path, data);
      const r = await readFileWithDigest(path);
      expect(r.bytes.equals(data)).toBe(true);
      expect(r.digest).toBe(`sha256:${createHash("sha256").update(data).digest("hex")}`);
    });
  }

  it("fails for a missing file with the path in the message", async () => {
    await expect(readFileWithDigest(join(tmp.dir, "missing.wasm"))).rejects.toThrow(/missing\.wasm/);
  });
});
