import { createHash, createHmac, createPublicKey, verify as edVerify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { secretKeyFromSeed, signBytes, verifyBytes, parseSignatureData, serializeSignatureData } from "../../tools/src/sign/index.ts";
import { sign as edSign } from "node:crypto";
import { CORE, custom, leb, RFC8032_EMPTY_SIG, RFC8032_PK, RFC8032_SEED, smallModule } from "./sign-fixtures.ts";

const ascii = (s: string) => [...Buffer.from(s, "ascii")];

describe("Ed25519 keys from raw seeds", () => {
  it("derive the RFC 8032 test 1 public key and signature", () => {
    const sk = secretKeyFromSeed(RFC8032_SEED);
    expect(Buffer.from(sk.publicKey.raw).toString("hex")).toBe(RFC8032_PK.toString("hex"));
    expect(Buffer.from(edSign(null, new Uint8Array(0), sk.keyObject)).toString("hex")).toBe(RFC8032_EMPTY_SIG.toString("hex"));
  });
});

describe("embedded signature section layout (facts.md section 1)", () => {
  const module = smallModule();
  const sk = secretKeyFromSeed(RFC8032_SEED);
  // Independent of the code under test: the one hash of an unsplit module is SHA-256 of every byte after the preamble.
  const h = createHash("sha256").update(module.subarray(8)).digest();
  const msg = Buffer.concat([Buffer.from("wasmsig"), Buffer.from([1, 1, 1]), h]);

  it("without key id: 00 75 09 'signature' 01 01 01 01 66 | 01 <hash> 01 43 | 00 01 40 <sig>", async () => {
    const { module: signed, signature } = await signBytes(module, { secretKey: sk });
    const sig = Buffer.from(signed.subarray(8 + 3 + 9 + 5 + 1 + 32 + 2 + 3, 8 + 3 + 9 + 5 + 1 + 32 + 2 + 3 + 64));
    // The signature bytes are the deterministic Ed25519 signature of the message, checked against the RFC key.
    const pub = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), RFC8032_PK]), format: "der", type: "spki" });
    expect(edVerify(null, msg, pub, sig)).toBe(true);
    const expected = [
      ...CORE,
      0x00, 0x75, 0x09, ...ascii("signature"),
      0x01, 0x01, 0x01, // version, content type, hash function
      0x01, // one set
      0x66, // set length: 102
      0x01, ...h, // one hash
      0x01, // one signature
      0x43, // record length: 67
      0x00, // no key id
      0x01, // Ed25519
      0x40, ...sig,
      ...module.subarray(8),
    ];
    expect([...signed]).toEqual(expected);
    expect(signature.length).toBe(107);
    expect([...signature]).toEqual(expected.slice(8 + 3 + 9, 8 + 3 + 9 + 107));
    expect(Buffer.from(sig).equals(Buffer.from(edSign(null, msg, sk.keyObject)))).toBe(true);
  });

  it("with key id: 12-byte HMAC-SHA256(pk, 'key_id') prefix, lengths adjusted", async () => {
    const { module: signed, keyId } = await signBytes(module, { secretKey: sk, publicKey: sk.publicKey });
    const kid = createHmac("sha256", RFC8032_PK).update("key_id").digest().subarray(0, 12);
    expect(keyId).toBe(kid.toString("hex"));
    const sig = edSign(null, msg, sk.keyObject);
    const record = [0x0c, ...kid, 0x01, 0x40, ...sig];
    expect(record.length).toBe(79);
    const set = [0x01, ...h, 0x01, ...leb(record.length), ...record];
    const payload = [0x01, 0x01, 0x01, 0x01, ...leb(set.length), ...set];
    expect(payload.length).toBe(119);
    const body = [0x09, ...ascii("signature"), ...payload];
    expect([...signed]).toEqual([...CORE, 0x00, 0x81, 0x01, ...body, ...module.subarray(8)]);
    expect((await verifyBytes(signed, [sk.publicKey])).ok).toBe(true);
  });

  it("a second key appends to the same set; the same key again is a duplicate", async () => {
    const other = secretKeyFromSeed(new Uint8Array(32).fill(9));
    const once = await signBytes(module, { secretKey: sk });
    const twice = await signBytes(once.module, { secretKey: other, publicKey: other.publicKey });
    const data = parseSignatureData(twice.signature);
    expect(data.sets).toHaveLength(1);
    expect(data.sets[0]?.signatures).toHaveLength(2);
    expect(twice.setIndex).toBe(0);
    // Re-encoding what was parsed gives the same bytes.
    expect([...serializeSignatureData(data)]).toEqual([...twice.signature]);
    await expect(signBytes(twice.module, { secretKey: sk })).rejects.toMatchObject({ code: "SIG_DUPLICATE" });
    const v = await verifyBytes(twice.module, [sk.publicKey, other.publicKey]);
    expect(v.keys.map((k) => k.ok)).toEqual([true, true]);
  });

  it("signing after content changed adds a new set", async () => {
    const once = await signBytes(module, { secretKey: sk });
    const extended = Uint8Array.from([...once.module, ...custom("later", [9])]);
    const again = await signBytes(extended, { secretKey: sk });
    expect(parseSignatureData(again.signature).sets).toHaveLength(2);
    expect((await verifyBytes(again.module, [sk.publicKey])).ok).toBe(true);
  });

  it("re-encodes non-minimal section headers the way wasmsign2 serializes them", async () => {
    // A type section whose size is written as a padded 5-byte LEB128.
    const padded = Uint8Array.from([...CORE, 0x01, 0x84, 0x80, 0x80, 0x80, 0x00, 0x01, 0x60, 0x00, 0x00]);
    const minimal = Uint8Array.from([...CORE, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
    const a = await signBytes(padded, { secretKey: sk });
    const b = await signBytes(minimal, { secretKey: sk });
    expect([...a.module]).toEqual([...b.module]);
    // Verification hashes the exact bytes: the padded form does not verify with a detached signature.
    expect((await verifyBytes(padded, [sk.publicKey], { detachedSignature: a.signature })).ok).toBe(false);
    expect((await verifyBytes(minimal, [sk.publicKey], { detachedSignature: a.signature })).ok).toBe(true);
  });
});
