import { SignFormatError } from "./errors.ts";
import { concatBytes, encodeVarU32, readVarU32 } from "./varint.ts";

/**
 * The wasmsign2 signature data (facts.md section 1): the payload of the `signature` custom
 * section and, byte for byte, the content of a detached signature file.
 */
export const SIGNATURE_VERSION = 0x01;
export const CONTENT_TYPE = 0x01;
export const HASH_SHA256 = 0x01;
export const ALG_ED25519 = 0x01;
export const MAX_SETS = 64;
export const MAX_HASHES = 64;
export const MAX_SIGNATURES = 256;
export const HASH_LEN = 32;
export const SIGNATURE_LEN = 64;

export interface SignatureRecord {
  /** Absent when the signer did not give its public key. */
  keyId?: Uint8Array;
  algId: number;
  signature: Uint8Array;
}

export interface SignedHashes {
  hashes: Uint8Array[];
  signatures: SignatureRecord[];
  /** Records that were skipped while parsing (unknown algorithm or malformed), as the reference does. */
  skipped: number;
}

export interface SignatureData {
  version: number;
  contentType: number;
  hashFunction: number;
  sets: SignedHashes[];
}

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {}

  varU32(field: string): number {
    try {
      const v = readVarU32(this.buf, this.pos, `${this.what} ${field}`);
      this.pos = v.next;
      return v.value;
    } catch (e) {
      throw asSigError(e);
    }
  }

  /** One-byte varint (the three header fields). */
  varU7(field: string): number {
    const b = this.buf[this.pos];
    if (b === undefined) throw new SignFormatError("SIG_MALFORMED", `${this.what}: truncated before ${field}`);
    if (b & 0x80) throw new SignFormatError("SIG_MALFORMED", `${this.what}: ${field} must be a one-byte varint, got 0x${b.toString(16)}`);
    this.pos++;
    return b;
  }

  bytes(n: number, field: string): Uint8Array {
    if (this.pos + n > this.buf.length) {
      throw new SignFormatError("SIG_MALFORMED", `${this.what}: ${field} needs ${n} bytes at offset ${this.pos}, only ${this.buf.length - this.pos} left`);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  slice(field: string): Uint8Array {
    return this.bytes(this.varU32(`${field} length`), field);
  }
}

function asSigError(e: unknown): unknown {
  if (e instanceof SignFormatError && e.code.startsWith("WASM_")) {
    return new SignFormatError("SIG_MALFORMED", e.message);
  }
  return e;
}

function parseRecord(bin: Uint8Array): SignatureRecord | undefined {
  try {
    const r = new Reader(bin, "signature record");
    const keyId = r.slice("key id");
    const algId = r.bytes(1, "algorithm id")[0] as number;
    if (algId !== ALG_ED25519) return undefined;
    const signature = r.slice("signature");
    return keyId.length === 0 ? { algId, signature: copy(signature) } : { keyId: copy(keyId), algId, signature: copy(signature) };
  } catch (e) {
    if (e instanceof SignFormatError) return undefined;
    throw e;
  }
}

function parseSignedHashes(bin: Uint8Array, setIndex: number): SignedHashes {
  const r = new Reader(bin, `signature set ${setIndex}`);
  const nHashes = r.varU32("hash count");
  if (nHashes > MAX_HASHES) throw new SignFormatError("SIG_LIMIT", `signature set ${setIndex} has ${nHashes} hashes, at most ${MAX_HASHES} allowed`);
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < nHashes; i++) hashes.push(copy(r.bytes(HASH_LEN, `hash ${i}`)));
  const nSigs = r.varU32("signature count");
  if (nSigs > MAX_SIGNATURES) {
    throw new SignFormatError("SIG_LIMIT", `signature set ${setIndex} has ${nSigs} signatures, at most ${MAX_SIGNATURES} allowed`);
  }
  const signatures: SignatureRecord[] = [];
  let skipped = 0;
  for (let i = 0; i < nSigs; i++) {
    const rec = parseRecord(r.slice(`signature ${i}`));
    if (rec === undefined) skipped++;
    else signatures.push(rec);
  }
  return { hashes, signatures, skipped };
}

/** Parses signature data; trailing bytes are ignored, as the reference implementation does. */
export function parseSignatureData(bin: Uint8Array, what = "signature data"): SignatureData {
  const r = new Reader(bin, what);
  const version = r.varU7("version");
  if (version !== SIGNATURE_VERSION) {
    throw new SignFormatError("SIG_UNSUPPORTED", `${what}: unsupported specification version 0x${version.toString(16)}, expected 0x01`);
  }
  const contentType = r.varU7("content type");
  if (contentType !== CONTENT_TYPE) {
    throw new SignFormatError("SIG_UNSUPPORTED", `${what}: unsupported content type 0x${contentType.toString(16)}, expected 0x01`);
  }
  const hashFunction = r.varU7("hash function");
  const nSets = r.varU32("set count");
  if (nSets > MAX_SETS) throw new SignFormatError("SIG_LIMIT", `${what} has ${nSets} signature sets, at most ${MAX_SETS} allowed`);
  const sets: SignedHashes[] = [];
  for (let i = 0; i < nSets; i++) sets.push(parseSignedHashes(r.slice(`signature set ${i}`), i));
  return { version, contentType, hashFunction, sets };
}

function withLength(b: Uint8Array): Uint8Array {
  return concatBytes([encodeVarU32(b.length), b]);
}

export function serializeRecord(rec: SignatureRecord): Uint8Array {
  return concatBytes([withLength(rec.keyId ?? new Uint8Array(0)), Uint8Array.of(rec.algId), withLength(rec.signature)]);
}

export function serializeSignatureData(d: SignatureData): Uint8Array {
  const parts: Uint8Array[] = [encodeVarU32(d.version), encodeVarU32(d.contentType), encodeVarU32(d.hashFunction), encodeVarU32(d.sets.length)];
  for (const set of d.sets) {
    const inner: Uint8Array[] = [encodeVarU32(set.hashes.length), ...set.hashes, encodeVarU32(set.signatures.length)];
    for (const rec of set.signatures) inner.push(withLength(serializeRecord(rec)));
    parts.push(withLength(concatBytes(inner)));
  }
  return concatBytes(parts);
}

/** The message every signature in a set signs: domain, version, content type, hash function, hashes. */
export function signedMessage(hashes: readonly Uint8Array[]): Uint8Array {
  return concatBytes([new TextEncoder().encode("wasmsig"), Uint8Array.of(SIGNATURE_VERSION, CONTENT_TYPE, HASH_SHA256), ...hashes]);
}

function copy(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
