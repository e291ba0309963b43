import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  describeFile,
  parseOpenSshPrivateKey,
  parseOpenSshPublicKeys,
  parsePublicKeys,
  parseSecretKey,
  parseSignatureData,
  secretKeyFromSeed,
  SignFormatError,
  signBytes,
  signFile,
  splitBytes,
  verifyBytes,
} from "../../tools/src/sign/index.ts";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { COMPONENT, CORE, custom, section, tempDir } from "./sign-fixtures.ts";

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const customName = fc.string({ maxLength: 12 }).filter((n) => n !== "signature" && n !== "signature_delimiter");
const sectionArb = fc.oneof(
  fc.record({ id: fc.integer({ min: 1, max: 12 }), payload: bytes(64) }).map(({ id, payload }) => section(id, [...payload])),
  fc.record({ name: customName, data: bytes(64) }).map(({ name, data }) => custom(name, [...data])),
);
const moduleArb = fc
  .record({ component: fc.boolean(), sections: fc.array(sectionArb, { maxLength: 8 }) })
  .map(({ component, sections }) => Uint8Array.from([...(component ? COMPONENT : CORE), ...sections.flat()]));
const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });

function isTyped(e: unknown): boolean {
  return e instanceof SignFormatError;
}

describe("sign/verify properties", () => {
  it("sign then verify round-trips random modules and components, embedded and detached", async () => {
    await fc.assert(
      fc.asyncProperty(moduleArb, seedArb, fc.boolean(), async (module, seed, withKeyId) => {
        const sk = secretKeyFromSeed(seed);
        const opts = withKeyId ? { secretKey: sk, publicKey: sk.publicKey } : { secretKey: sk };
        const embedded = await signBytes(module, opts);
        expect((await verifyBytes(embedded.module, [sk.publicKey])).ok).toBe(true);
        const detached = await signBytes(module, { ...opts, detached: true });
        expect([...detached.module]).toEqual([...module]);
        expect((await verifyBytes(module, [sk.publicKey], { detachedSignature: detached.signature })).ok).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("signFile (one pass, or two when the signature section size was mispredicted) writes exactly what signBytes returns", async () => {
    const dir = await tempDir("sign-prop");
    let n = 0;
    await fc.assert(
      fc.asyncProperty(moduleArb, seedArb, seedArb, fc.boolean(), fc.boolean(), async (module, seed1, seed2, preSign, detached) => {
        const sk = secretKeyFromSeed(seed2);
        const input = preSign ? (await signBytes(module, { secretKey: secretKeyFromSeed(seed1) })).module : module;
        const inPath = join(dir, `in-${n}.wasm`);
        const outPath = join(dir, `out-${n++}.wasm`);
        await writeFile(inPath, input);
        const sigPath = `${outPath}.sig`;
        const fileOpts = detached ? { secretKey: sk, publicKey: sk.publicKey, signatureFile: sigPath } : { secretKey: sk, publicKey: sk.publicKey };
        let expected: { module: Uint8Array; signature: Uint8Array };
        try {
          expected = await signBytes(input, { secretKey: sk, publicKey: sk.publicKey, detached });
        } catch (e) {
          // Same seed twice: a duplicate signature, and no output written.
          expect((e as SignFormatError).code).toBe("SIG_DUPLICATE");
          await expect(signFile(inPath, outPath, fileOpts)).rejects.toMatchObject({ code: "SIG_DUPLICATE" });
          expect(existsSync(outPath)).toBe(false);
          return;
        }
        await signFile(inPath, outPath, fileOpts);
        expect(Buffer.from(await readFile(outPath)).equals(Buffer.from(expected.module))).toBe(true);
        if (detached) expect(Buffer.from(await readFile(sigPath)).equals(Buffer.from(expected.signature))).toBe(true);
      }),
      { numRuns: 40 },
    );
    expect((await readdir(dir)).filter((f) => f.includes(".wasm-oci-tmp-"))).toEqual([]);
  });

  it("split modules verify fully and partially after signing", async () => {
    await fc.assert(
      fc.asyncProperty(moduleArb, seedArb, async (module, seed) => {
        const sk = secretKeyFromSeed(seed);
        const split = await splitBytes(module, /^a/);
        const signed = await signBytes(split.module, { secretKey: sk });
        expect((await verifyBytes(signed.module, [sk.publicKey])).ok).toBe(true);
        const hasSelected = split.delimiters > 0;
        if (hasSelected) {
          const partial = await verifyBytes(signed.module, [sk.publicKey], { sections: /^a/ });
          // Only fails when the regex selects nothing at all.
          if (!partial.ok) expect(partial.keys[0]?.reason).toMatch(/no section selected/);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("flipping any byte outside the signature section makes verification fail", async () => {
    const sk = secretKeyFromSeed(new Uint8Array(32).fill(5));
    await fc.assert(
      fc.asyncProperty(moduleArb, fc.nat(), fc.integer({ min: 1, max: 255 }), async (module, at, xor) => {
        const signed = (await signBytes(module, { secretKey: sk })).module;
        const sigEnd = 8 + sectionLength(signed, 8);
        const outside = [...Array(signed.length).keys()].filter((i) => i < 8 || i >= sigEnd);
        const pos = outside[at % outside.length] as number;
        const tampered = new Uint8Array(signed);
        tampered[pos] = (tampered[pos] as number) ^ xor;
        try {
          const v = await verifyBytes(tampered, [sk.publicKey]);
          expect(v.ok).toBe(false);
        } catch (e) {
          expect(isTyped(e)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("random bytes give typed errors or results from every parser, never crashes", async () => {
    const sk = secretKeyFromSeed(new Uint8Array(32).fill(6));
    const input = fc.oneof(
      bytes(200),
      bytes(200).map((b) => Uint8Array.from([...CORE, ...b])),
      bytes(200).map((b) => Uint8Array.from([...COMPONENT, 0x00, ...b])),
    );
    await fc.assert(
      fc.asyncProperty(input, async (b) => {
        for (const run of [
          () => verifyBytes(b, [sk.publicKey]),
          () => verifyBytes(Uint8Array.from(CORE), [sk.publicKey], { detachedSignature: b }),
          () => describeFile(b),
          () => signBytes(b, { secretKey: sk }),
          async () => parseSignatureData(b),
          async () => parsePublicKeys(b, "auto", "pk"),
          async () => parseSecretKey(b, "auto", "sk"),
          async () => parseOpenSshPublicKeys(Buffer.from(b).toString("latin1")),
          async () => parseOpenSshPrivateKey(`-----BEGIN OPENSSH PRIVATE KEY-----\n${Buffer.from(b).toString("base64")}\n-----END OPENSSH PRIVATE KEY-----\n`),
        ]) {
          try {
            await run();
          } catch (e) {
            if (!isTyped(e)) throw e;
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("truncations of a signed module give typed errors (truncated varint, size past end)", async () => {
    const sk = secretKeyFromSeed(new Uint8Array(32).fill(8));
    const signed = (await signBytes(Uint8Array.from([...CORE, ...section(1, [1, 0x60, 0, 0]), ...custom("x", [1, 2, 3])]), { secretKey: sk })).module;
    const codes = new Set<string>();
    for (let n = 0; n < signed.length; n++) {
      try {
        await verifyBytes(signed.subarray(0, n), [sk.publicKey]);
      } catch (e) {
        expect(isTyped(e)).toBe(true);
        codes.add((e as SignFormatError).code);
      }
    }
    expect([...codes].sort()).toEqual(["WASM_BAD_PREAMBLE", "WASM_SECTION_PAST_END", "WASM_TRUNCATED"]);
    await expect(verifyBytes(Uint8Array.from([...CORE, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), [sk.publicKey])).rejects.toMatchObject({
      code: "WASM_VARINT_OVERLONG",
    });
  });
});

function sectionLength(b: Uint8Array, at: number): number {
  let size = 0;
  let shift = 0;
  let i = at + 1;
  for (;;) {
    const byte = b[i++] as number;
    size += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) break;
  }
  return i - at + size;
}
