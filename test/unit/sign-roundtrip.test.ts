import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  attachBytes,
  attachFile,
  describeFile,
  detachBytes,
  detachFile,
  parseSignatureData,
  secretKeyFromSeed,
  serializeSignatureData,
  signBytes,
  signFile,
  splitBytes,
  verifyBytes,
  verifyFile,
} from "../../tools/src/sign/index.ts";
import { COMPONENT, custom, section, smallModule, tempDir, Z_WASM } from "./sign-fixtures.ts";

const alice = secretKeyFromSeed(new Uint8Array(32).fill(1));
const bob = secretKeyFromSeed(new Uint8Array(32).fill(2));

describe.skipIf(!existsSync(Z_WASM))("z.wasm from the wasmsign2 repository", () => {
  it("sign, verify, detach, attach, verify (files)", async () => {
    const dir = await tempDir("z");
    const signed = join(dir, "signed.wasm");
    const r = await signFile(Z_WASM, signed, { secretKey: alice, publicKey: alice.publicKey });
    const z = await readFile(Z_WASM);
    // One hash for an unsplit module: SHA-256 of everything after the preamble.
    expect(r.hashes).toEqual([createHash("sha256").update(z.subarray(8)).digest("hex")]);
    expect((await verifyFile(signed, [alice.publicKey])).ok).toBe(true);
    expect((await verifyFile(signed, [bob.publicKey])).ok).toBe(false);

    await detachFile(signed, join(dir, "bare.wasm"), join(dir, "z.sig"));
    expect((await readFile(join(dir, "bare.wasm"))).equals(z)).toBe(true);
    expect((await verifyFile(join(dir, "bare.wasm"), [alice.publicKey])).signed).toBe(false);
    expect((await verifyFile(join(dir, "bare.wasm"), [alice.publicKey], { signatureFile: join(dir, "z.sig") })).ok).toBe(true);

    await attachFile(join(dir, "bare.wasm"), join(dir, "again.wasm"), join(dir, "z.sig"));
    expect((await readFile(join(dir, "again.wasm"))).equals(await readFile(signed))).toBe(true);
    expect((await verifyFile(join(dir, "again.wasm"), [alice.publicKey])).ok).toBe(true);
    await expect(attachFile(signed, join(dir, "twice.wasm"), join(dir, "z.sig"))).rejects.toMatchObject({ code: "SIG_ALREADY_ATTACHED" });
    expect(existsSync(join(dir, "twice.wasm"))).toBe(false);
  });

  it("detached signing leaves the module as it was", async () => {
    const dir = await tempDir("z");
    await signFile(Z_WASM, join(dir, "out.wasm"), { secretKey: bob, signatureFile: join(dir, "out.sig") });
    expect((await readFile(join(dir, "out.wasm"))).equals(await readFile(Z_WASM))).toBe(true);
    const sig = await readFile(join(dir, "out.sig"));
    expect(sig.length).toBe(107);
    expect((await verifyFile(join(dir, "out.wasm"), [bob.publicKey], { signatureFile: join(dir, "out.sig") })).ok).toBe(true);
  });

  it("show lists the sets, hashes and key ids", async () => {
    const { module } = await signBytes(new Uint8Array(await readFile(Z_WASM)), { secretKey: alice, publicKey: alice.publicKey });
    const d = await describeFile(module);
    expect(d.kind).toBe("module");
    expect(d.sections[0]?.name).toBe("signature");
    expect(d.signature?.sets[0]?.signatures[0]?.keyId).toBe(Buffer.from(alice.publicKey.keyId).toString("hex"));
    expect(d.signature?.sets[0]?.hashes).toEqual(d.contentHashes);
  });
});

describe("components", () => {
  it("a component (preamble 0d 00 01 00) signs and verifies; its preamble is kept", async () => {
    const comp = Uint8Array.from([...COMPONENT, ...custom("component-name", [1, 2]), ...section(1, [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])]);
    const r = await signBytes(comp, { secretKey: alice });
    expect([...r.module.subarray(0, 8)]).toEqual(COMPONENT);
    const v = await verifyBytes(r.module, [alice.publicKey]);
    expect(v.kind).toBe("component");
    expect(v.ok).toBe(true);
  });
});

describe("verification outcomes", () => {
  it("key id mismatch is reported as such", async () => {
    const r = await signBytes(smallModule(), { secretKey: alice, publicKey: alice.publicKey });
    const v = await verifyBytes(r.module, [bob.publicKey]);
    expect(v.ok).toBe(false);
    expect(v.keys[0]?.reason).toMatch(/key id mismatch/);
    expect(v.signatureKeyIds).toEqual([Buffer.from(alice.publicKey.keyId).toString("hex")]);
  });

  it("a signature without key id is tried against every key", async () => {
    const r = await signBytes(smallModule(), { secretKey: alice });
    const v = await verifyBytes(r.module, [bob.publicKey, alice.publicKey]);
    expect(v.keys.map((k) => k.ok)).toEqual([false, true]);
  });

  it("a signature section that is not first does not count", async () => {
    const r = await signBytes(smallModule(), { secretKey: alice });
    const { module, signature } = await detachBytes(r.module);
    const late = Uint8Array.from([...module, ...custom("signature", [...signature])]);
    const v = await verifyBytes(late, [alice.publicKey]);
    expect(v.signed).toBe(false);
    expect(v.reason).toMatch(/not the first section/);
  });

  it("a non-canonical S (S + L) is rejected", async () => {
    const r = await signBytes(smallModule(), { secretKey: alice });
    const data = parseSignatureData(r.signature);
    const rec = data.sets[0]?.signatures[0];
    if (rec === undefined) throw new Error("no record");
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const s = BigInt(`0x${Buffer.from(rec.signature.subarray(32)).reverse().toString("hex")}`) + L;
    const sBytes = Buffer.from(s.toString(16).padStart(64, "0"), "hex").reverse();
    rec.signature = Uint8Array.from([...rec.signature.subarray(0, 32), ...sBytes]);
    const forged = serializeSignatureData(data);
    const bare = (await detachBytes(r.module)).module;
    expect((await verifyBytes(bare, [alice.publicKey], { detachedSignature: r.signature })).ok).toBe(true);
    expect((await verifyBytes(bare, [alice.publicKey], { detachedSignature: forged })).ok).toBe(false);
  });

  it("records with an unknown algorithm are skipped, not an error", async () => {
    const r = await signBytes(smallModule(), { secretKey: alice });
    const data = parseSignatureData(r.signature);
    const good = data.sets[0]?.signatures[0];
    if (good === undefined) throw new Error("no record");
    data.sets[0]?.signatures.unshift({ algId: 0x7f, signature: new Uint8Array(64) });
    const withUnknown = serializeSignatureData(data);
    const reparsed = parseSignatureData(withUnknown);
    expect(reparsed.sets[0]?.skipped).toBe(1);
    expect(reparsed.sets[0]?.signatures).toHaveLength(1);
    const bare = (await detachBytes(r.module)).module;
    expect((await verifyBytes(bare, [alice.publicKey], { detachedSignature: withUnknown })).ok).toBe(true);
  });
});

describe("split modules and partial verification", () => {
  const base = smallModule([...custom("debug-info", [7, 7, 7])]);

  it("split inserts delimiters between signed and unsigned runs and one at the end", async () => {
    const { module, delimiters } = await splitBytes(base, /^hello$/);
    const d = await describeFile(module);
    expect(d.sections.map((s) => s.name ?? s.type)).toEqual(["type", "function", "export", "code", "hello", "signature_delimiter", "debug-info", "signature_delimiter"]);
    expect(delimiters).toBe(2);
    expect(d.contentHashes).toHaveLength(2);
  });

  it("full verification of a split module; partial verification tolerates changes to unselected sections", async () => {
    const split = (await splitBytes(base, /^hello$/)).module;
    const signed = (await signBytes(split, { secretKey: alice })).module;
    expect((await verifyBytes(signed, [alice.publicKey])).ok).toBe(true);
    expect((await verifyBytes(signed, [alice.publicKey], { sections: /^hello$/ })).ok).toBe(true);
    // Change a byte inside debug-info (not selected): full verification fails, partial passes.
    const idx = Buffer.from(signed).lastIndexOf(Buffer.from([7, 7, 7]));
    const changed = new Uint8Array(signed);
    changed[idx] = 8;
    expect((await verifyBytes(changed, [alice.publicKey])).ok).toBe(false);
    expect((await verifyBytes(changed, [alice.publicKey], { sections: /^hello$/ })).ok).toBe(true);
    // Selecting debug-info too makes the change fatal.
    expect((await verifyBytes(changed, [alice.publicKey], { sections: /^(hello|debug-info)$/ })).ok).toBe(false);
  });

  it("checks the sections after the last delimiter (the reference's defect is not copied)", async () => {
    // No delimiter at all: the reference's partial verification passes without hashing anything.
    const signed = (await signBytes(smallModule(), { secretKey: alice })).module;
    const tampered = new Uint8Array(signed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0xff; // inside the "hello" custom section
    expect((await verifyBytes(tampered, [alice.publicKey], { sections: /.*/ })).ok).toBe(false);
    // Code section changed: standard sections are always selected.
    const codeAt = Buffer.from(signed).indexOf(Buffer.from([0x02, 0x00, 0x0b]));
    const badCode = new Uint8Array(signed);
    badCode[codeAt + 2] = 0x01;
    const v = await verifyBytes(badCode, [alice.publicKey], { sections: /^hello$/ });
    expect(v.ok).toBe(false);
    expect(v.keys[0]?.reason).toMatch(/after the last delimiter/);
    // Sections appended after the last delimiter of a split module are caught.
    const split = (await signBytes((await splitBytes(base, /^hello$/)).module, { secretKey: alice })).module;
    const appended = Uint8Array.from([...split, ...section(11, [0x00])]);
    expect((await verifyBytes(appended, [alice.publicKey], { sections: /^hello$/ })).ok).toBe(false);
    expect((await verifyBytes(signed, [alice.publicKey], { sections: /.*/ })).ok).toBe(true);
  });
});

describe("input files", () => {
  it("a missing file or a directory is a usage error naming the path", async () => {
    await expect(verifyFile("/nonexistent/x.wasm", [alice.publicKey])).rejects.toMatchObject({ code: "INPUT_FILE", exitCode: 2, message: expect.stringContaining("/nonexistent/x.wasm") });
    const dir = await tempDir("input");
    await expect(signFile(dir, join(dir, "out.wasm"), { secretKey: alice })).rejects.toMatchObject({ code: "INPUT_FILE" });
    expect(existsSync(join(dir, "out.wasm"))).toBe(false);
  });
});

describe("attach and detach in memory", () => {
  it("round-trips and refuses garbage signature data", async () => {
    const r = await signBytes(smallModule(), { secretKey: alice });
    const { module, signature } = await detachBytes(r.module);
    expect([...module]).toEqual([...smallModule()]);
    expect([...(await attachBytes(module, signature))]).toEqual([...r.module]);
    await expect(attachBytes(module, Uint8Array.from([9, 9, 9]))).rejects.toMatchObject({ code: "SIG_UNSUPPORTED" });
    await expect(detachBytes(module)).rejects.toMatchObject({ code: "SIG_NONE" });
  });
});
