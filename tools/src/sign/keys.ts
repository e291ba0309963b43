import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { registerSecret } from "../util/log.ts";
import { SignFormatError } from "./errors.ts";
import { hex } from "./sections.ts";

/**
 * Ed25519 keys in wasmsign2's raw ("compact") form and as node:crypto KeyObjects. Raw keys are
 * turned into KeyObjects through fixed DER prefixes (PKCS#8 for the 32-byte seed, SPKI for the
 * 32-byte public key), which is the only raw import path node:crypto offers for Ed25519.
 */
export const PK_ID = 0x01;
export const SK_ID = 0x81;

const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export interface PublicKey {
  /** The 32-byte Ed25519 public key. */
  readonly raw: Uint8Array;
  /** wasmsign2's default key id: HMAC-SHA256(key = raw, "key_id"), first 12 bytes. */
  readonly keyId: Uint8Array;
  readonly keyObject: KeyObject;
  /** OpenSSH comment, when the key came from an OpenSSH line. */
  readonly comment?: string;
}

export interface SecretKey {
  readonly seed: Uint8Array;
  readonly publicKey: PublicKey;
  readonly keyObject: KeyObject;
}

/**
 * Encodings of points of small order (including the identity and the all-zero key): a signature
 * "verified" by one of them proves nothing, so such keys are refused at load time.
 */
const SMALL_ORDER = new Set([
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]);

export function smallOrderEncodings(): string[] {
  return [...SMALL_ORDER];
}

export function keyIdFor(raw: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", raw).update("key_id").digest().subarray(0, 12));
}

export function publicKeyFromRaw(raw: Uint8Array, what = "public key", comment?: string): PublicKey {
  if (raw.length !== 32) throw new SignFormatError("KEY_MALFORMED", `${what}: an Ed25519 public key is 32 bytes, got ${raw.length}`);
  if (SMALL_ORDER.has(hex(raw))) {
    throw new SignFormatError("KEY_MALFORMED", `${what}: refusing a small-order Ed25519 public key (${hex(raw)})`);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
  } catch (e) {
    throw new SignFormatError("KEY_MALFORMED", `${what}: not a valid Ed25519 public key (${(e as Error).message})`);
  }
  const copy = new Uint8Array(raw);
  return comment === undefined ? { raw: copy, keyId: keyIdFor(copy), keyObject } : { raw: copy, keyId: keyIdFor(copy), keyObject, comment };
}

export function secretKeyFromSeed(seed: Uint8Array, what = "secret key"): SecretKey {
  if (seed.length !== 32) throw new SignFormatError("KEY_MALFORMED", `${what}: an Ed25519 seed is 32 bytes, got ${seed.length}`);
  registerSecret(hex(seed));
  const keyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(keyObject).export({ format: "der", type: "spki" });
  const publicKey = publicKeyFromRaw(new Uint8Array(spki.subarray(spki.length - 32)), `${what} (derived public key)`);
  return { seed: new Uint8Array(seed), publicKey, keyObject };
}

export function generateSecretKey(): SecretKey {
  const { privateKey } = generateKeyPairSync("ed25519");
  const der = privateKey.export({ format: "der", type: "pkcs8" });
  return secretKeyFromSeed(new Uint8Array(der.subarray(der.length - 32)));
}

/** Compact public key file: 0x01 || pk[32]. */
export function encodeCompactPublicKey(pk: PublicKey): Uint8Array {
  const out = new Uint8Array(33);
  out[0] = PK_ID;
  out.set(pk.raw, 1);
  return out;
}

/** Compact secret key file: 0x81 || seed[32] || pk[32]. */
export function encodeCompactSecretKey(sk: SecretKey): Uint8Array {
  const out = new Uint8Array(65);
  out[0] = SK_ID;
  out.set(sk.seed, 1);
  out.set(sk.publicKey.raw, 33);
  return out;
}

export function parseCompactPublicKey(bytes: Uint8Array, what = "public key"): PublicKey {
  if (bytes.length === 0) throw new SignFormatError("KEY_MALFORMED", `${what}: empty file`);
  if (bytes[0] !== PK_ID) {
    throw new SignFormatError(
      "KEY_UNSUPPORTED",
      `${what}: not a compact wasmsign2 public key (first byte 0x${(bytes[0] as number).toString(16)}, expected 0x01)${looksLikeText(bytes) ? "; for an OpenSSH key pass --ssh" : ""}`,
    );
  }
  if (bytes.length !== 33) throw new SignFormatError("KEY_MALFORMED", `${what}: a compact public key is 33 bytes, got ${bytes.length}`);
  return publicKeyFromRaw(bytes.subarray(1), what);
}

export function parseCompactSecretKey(bytes: Uint8Array, what = "secret key"): SecretKey {
  if (bytes.length === 0) throw new SignFormatError("KEY_MALFORMED", `${what}: empty file`);
  if (bytes[0] !== SK_ID) {
    throw new SignFormatError(
      "KEY_UNSUPPORTED",
      `${what}: not a compact wasmsign2 secret key (first byte 0x${(bytes[0] as number).toString(16)}, expected 0x81)${looksLikeText(bytes) ? "; for an OpenSSH key pass --ssh" : ""}`,
    );
  }
  if (bytes.length !== 65) throw new SignFormatError("KEY_MALFORMED", `${what}: a compact secret key is 65 bytes, got ${bytes.length}`);
  const sk = secretKeyFromSeed(bytes.subarray(1, 33), what);
  if (hex(sk.publicKey.raw) !== hex(bytes.subarray(33))) {
    throw new SignFormatError("KEY_MISMATCH", `${what}: the public half stored in the file does not belong to its seed`);
  }
  return sk;
}

function looksLikeText(bytes: Uint8Array): boolean {
  return bytes.length > 4 && bytes.subarray(0, 64).every((b) => b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f));
}

export function keyIdHex(pk: PublicKey): string {
  return hex(pk.keyId);
}
