import { sign as edSign } from "node:crypto";
import { log } from "../util/log.ts";
import { SignFormatError } from "./errors.ts";
import { hashSections, signedHashList } from "./hashes.ts";
import type { PublicKey, SecretKey } from "./keys.ts";
import type { ModulePlan } from "./output.ts";
import { customSection, equalBytes, hex, isDelimiter, isSignatureSection, readCustomData, scanWasm, SIGNATURE_SECTION, type WasmKind } from "./sections.ts";
import {
  ALG_ED25519,
  CONTENT_TYPE,
  HASH_SHA256,
  parseSignatureData,
  serializeSignatureData,
  SIGNATURE_VERSION,
  signedMessage,
  type SignatureData,
  type SignatureRecord,
} from "./signature-data.ts";
import type { ByteSource } from "./source.ts";

export interface SignOptions {
  secretKey: SecretKey;
  /** When given, the signature carries this key's id (wasmsign2 `sign -K`); it must match the secret key. */
  publicKey?: PublicKey;
  /** Leave the module's sections as they are and return the signature data separately (`sign -S`). */
  detached?: boolean;
}

export interface SignPlan {
  kind: WasmKind;
  /** The new signature data: the `signature` section payload, or the detached signature file. */
  signature: Uint8Array;
  data: SignatureData;
  /** The hashes this signature signs (one per delimiter-ended part, plus the remainder). */
  hashes: Uint8Array[];
  keyId?: Uint8Array;
  /** Index of the signature set the new signature went into. */
  setIndex: number;
  /** The output module (the input re-serialized when detached). */
  module: ModulePlan;
}

/**
 * Signs as wasmsign2 does: every section except the signature section is hashed as it
 * re-serializes it, the old signature data (if any, as section 0) is kept and the new signature
 * appended to the set with the same hashes, or to a new set.
 */
/**
 * Lets signFile write the signed module while hashing (one read of the input instead of two):
 * the content goes right after the space the signature section is predicted to take.
 */
export interface SinglePassWriter {
  /** Called once, before hashing, with the predicted length of the new signature section (0 when detached). */
  begin(predictedSectionLength: number): Promise<(chunk: Uint8Array) => Promise<void>>;
}

/** A signature section with every variable-size field as it will be, hashes and signature zeroed. */
function predictSectionLength(previous: SignatureData | undefined, hashCount: number, keyId: Uint8Array | undefined): number {
  const sets = previous?.sets.map((s) => ({ ...s })) ?? [];
  const placeholder: SignatureRecord = keyId === undefined ? { algId: ALG_ED25519, signature: new Uint8Array(64) } : { keyId, algId: ALG_ED25519, signature: new Uint8Array(64) };
  sets.push({ hashes: Array.from({ length: hashCount }, () => new Uint8Array(32)), signatures: [placeholder], skipped: 0 });
  const data = serializeSignatureData({ version: SIGNATURE_VERSION, contentType: CONTENT_TYPE, hashFunction: HASH_SHA256, sets });
  return customSection(SIGNATURE_SECTION, data).length;
}

export async function planSign(src: ByteSource, opts: SignOptions, writer?: SinglePassWriter): Promise<SignPlan & { singlePass: boolean }> {
  const { secretKey, publicKey } = opts;
  if (publicKey !== undefined && !equalBytes(publicKey.raw, secretKey.publicKey.raw)) {
    throw new SignFormatError("KEY_MISMATCH", "the public key given with the secret key (-K) is not its public key");
  }
  const wasm = await scanWasm(src);
  let previous: SignatureData | undefined;
  const content = [];
  for (const s of wasm.sections) {
    if (isSignatureSection(s)) {
      if (s.index === 0) {
        previous = parseSignatureData(await readCustomData(src, s), "existing signature section");
      } else {
        log.warn(`section ${s.index} is a signature section but not the first section: dropped, as wasmsign2 does`);
      }
      continue;
    }
    content.push(s);
  }
  let predicted: number | undefined;
  let tee: ((chunk: Uint8Array) => Promise<void>) | undefined;
  if (writer !== undefined && opts.detached && content.length === wasm.sections.length) {
    // Detached and nothing to drop: the output is exactly the hashed stream.
    predicted = 0;
    tee = await writer.begin(0);
  } else if (writer !== undefined && !opts.detached) {
    const delimiters = content.filter(isDelimiter).length;
    const last = content[content.length - 1];
    const hashCount = delimiters + (last !== undefined && isDelimiter(last) ? 0 : 1);
    // Predicts a new set; re-signing unchanged content (which joins an existing set) falls back to a second pass.
    predicted = predictSectionLength(previous, hashCount, publicKey?.keyId);
    tee = await writer.begin(predicted);
  }
  const walk = await hashSections(src, content, true, tee);
  const hashes = signedHashList(walk);
  const signature = new Uint8Array(edSign(null, signedMessage(hashes), secretKey.keyObject));
  const record: SignatureRecord = publicKey === undefined ? { algId: ALG_ED25519, signature } : { keyId: publicKey.keyId, algId: ALG_ED25519, signature };

  if (previous !== undefined && previous.hashFunction !== HASH_SHA256) {
    throw new SignFormatError(
      "SIG_UNSUPPORTED",
      `the module's existing signature uses hash function 0x${previous.hashFunction.toString(16)}; only SHA-256 (0x01) can be extended`,
    );
  }
  const sets = previous?.sets.map((s) => ({ hashes: s.hashes, signatures: [...s.signatures], skipped: 0 })) ?? [];
  let setIndex = sets.findIndex((s) => s.hashes.length === hashes.length && s.hashes.every((h, i) => equalBytes(h, hashes[i] as Uint8Array)));
  if (setIndex >= 0) {
    const set = sets[setIndex] as (typeof sets)[number];
    const dup = set.signatures.some(
      (r) => equalBytes(r.keyId ?? new Uint8Array(0), record.keyId ?? new Uint8Array(0)) && equalBytes(r.signature, signature),
    );
    if (dup) {
      throw new SignFormatError(
        "SIG_DUPLICATE",
        `duplicate signature: this module is already signed with this key${record.keyId ? ` (key id ${hex(record.keyId)})` : ""}`,
      );
    }
    set.signatures.push(record);
  } else {
    sets.push({ hashes, signatures: [record], skipped: 0 });
    setIndex = sets.length - 1;
  }
  const data: SignatureData = { version: SIGNATURE_VERSION, contentType: CONTENT_TYPE, hashFunction: HASH_SHA256, sets };
  const sigBytes = serializeSignatureData(data);
  const module: ModulePlan = opts.detached
    ? { preamble: wasm.preamble, items: wasm.sections, normalize: true }
    : { preamble: wasm.preamble, items: [customSection(SIGNATURE_SECTION, sigBytes), ...content], normalize: true };
  const singlePass = predicted !== undefined && (opts.detached ? predicted === 0 : predicted === (module.items[0] as Uint8Array).length);
  const plan: SignPlan & { singlePass: boolean } = { kind: wasm.kind, signature: sigBytes, data, hashes, setIndex, module, singlePass };
  if (record.keyId !== undefined) plan.keyId = record.keyId;
  return plan;
}
