import { verify as edVerify } from "node:crypto";
import { SignFormatError } from "./errors.ts";
import { hashSections, type HashWalk } from "./hashes.ts";
import type { PublicKey } from "./keys.ts";
import { equalBytes, hex, isDelimiter, isSignatureSection, readCustomData, scanWasm, type SectionInfo, type WasmKind } from "./sections.ts";
import { HASH_SHA256, parseSignatureData, SIGNATURE_LEN, signedMessage, type SignatureData } from "./signature-data.ts";
import type { ByteSource } from "./source.ts";

export interface VerifyOptions {
  /** Detached signature data; without it the module's first section must be the signature. */
  detachedSignature?: Uint8Array;
  /**
   * Partial verification (`verify -s REGEX`): standard sections and custom sections whose name
   * matches must be signed; other custom sections may change. Unlike the reference, the part
   * after the last delimiter is checked too.
   */
  sections?: RegExp;
}

export interface KeyVerification {
  /** Position of the key in the list given to verify. */
  index: number;
  key: PublicKey;
  keyId: string;
  ok: boolean;
  reason: string;
}

export interface VerifyResult {
  kind: WasmKind;
  /** A signature (embedded or detached) was present. */
  signed: boolean;
  /** At least one key verified. */
  ok: boolean;
  keys: KeyVerification[];
  /** Key ids carried by the signature records (hex), to explain key id mismatches. */
  signatureKeyIds: string[];
  /** Hash of the signed content as a whole (hex). */
  contentHash?: string;
  reason: string;
}

/** Hashes that `key` has a valid signature for, and why none when empty. */
function validHashesFor(key: PublicKey, data: SignatureData): { hashes: Uint8Array[]; why: string } {
  const hashes: Uint8Array[] = [];
  let idMismatch = 0;
  let badSig = 0;
  let candidates = 0;
  for (const set of data.sets) {
    const msg = signedMessage(set.hashes);
    for (const rec of set.signatures) {
      if (rec.keyId !== undefined && !equalBytes(rec.keyId, key.keyId)) {
        idMismatch++;
        continue;
      }
      candidates++;
      if (rec.signature.length !== SIGNATURE_LEN || !edVerify(null, msg, key.keyObject, rec.signature)) {
        badSig++;
        continue;
      }
      hashes.push(...set.hashes);
      break;
    }
  }
  let why = "";
  if (hashes.length === 0) {
    if (candidates === 0 && idMismatch > 0) why = `no signature carries key id ${hex(key.keyId)} (key id mismatch)`;
    else if (candidates === 0) why = "the signature holds no signatures";
    else why = `${badSig} signature(s) checked against this key, none valid (signed by another key or corrupted)`;
  }
  return { hashes, why };
}

function contains(list: readonly Uint8Array[], h: Uint8Array): boolean {
  return list.some((x) => equalBytes(x, h));
}

/** Partial verification over the content sections, with the trailing part checked. */
function checkPartial(content: readonly SectionInfo[], walk: HashWalk, valid: readonly Uint8Array[], rx: RegExp): { ok: boolean; reason: string } {
  const atDelim = new Map(walk.atDelimiters.map((d) => [d.index, d.hash]));
  let mustSign: boolean | undefined;
  let checked = 0;
  for (const s of content) {
    if (isDelimiter(s)) {
      if (mustSign === false) {
        mustSign = undefined;
        continue;
      }
      const h = atDelim.get(s.index) as Uint8Array;
      if (!contains(valid, h)) return { ok: false, reason: `the sections up to delimiter section ${s.index} do not match any signed hash` };
      checked++;
      mustSign = undefined;
      continue;
    }
    const must = s.id !== 0 || rx.test(s.name ?? "");
    rx.lastIndex = 0;
    if (mustSign === undefined) mustSign = must;
    else if (mustSign !== must) {
      const sel = (b: boolean) => (b ? "selected" : "not selected");
      return {
        ok: false,
        reason: `section ${s.index} is ${sel(must)} by the regex but shares a part with sections that are ${sel(!must)} (split the module with the same regex before signing)`,
      };
    }
  }
  if (mustSign === true) {
    // The reference stops here; the sections after the last delimiter would go unchecked.
    if (!contains(valid, walk.final)) return { ok: false, reason: "the sections after the last delimiter (the whole module when it has none) do not match any signed hash" };
    checked++;
  }
  if (checked === 0) return { ok: false, reason: "no section selected by the regex is covered by a signature" };
  return { ok: true, reason: `partial verification passed (${checked} signed part(s) checked)` };
}

export async function verifySource(src: ByteSource, keys: readonly PublicKey[], opts: VerifyOptions = {}): Promise<VerifyResult> {
  const wasm = await scanWasm(src);
  let content: SectionInfo[];
  let sigBytes: Uint8Array;
  if (opts.detachedSignature !== undefined) {
    sigBytes = opts.detachedSignature;
    content = wasm.sections;
  } else {
    const first = wasm.sections[0];
    if (first === undefined || !isSignatureSection(first)) {
      const later = wasm.sections.find(isSignatureSection);
      return {
        kind: wasm.kind,
        signed: false,
        ok: false,
        keys: [],
        signatureKeyIds: [],
        reason:
          later !== undefined
            ? `not signed: a signature section exists but it is section ${later.index}, not the first section`
            : "not signed: the module has no embedded signature section (pass a detached signature with -S?)",
      };
    }
    sigBytes = await readCustomData(src, first);
    content = wasm.sections.slice(1);
  }
  const data = parseSignatureData(sigBytes, opts.detachedSignature !== undefined ? "detached signature" : "signature section");
  if (data.hashFunction !== HASH_SHA256) {
    throw new SignFormatError("SIG_UNSUPPORTED", `unsupported hash function 0x${data.hashFunction.toString(16)} in the signature, only SHA-256 (0x01)`);
  }
  const signatureKeyIds = [...new Set(data.sets.flatMap((s) => s.signatures.flatMap((r) => (r.keyId ? [hex(r.keyId)] : []))))];
  const perKey = keys.map((key) => ({ key, ...validHashesFor(key, data) }));
  // Hash only when some key has a valid signature: a wrong key fails without reading the file.
  // A full verification hashes the file's bytes as they are; a partial one hashes each section as
  // wasmsign2's verify_multi does, re-serialized (minimal LEB128), so a module whose sizes are
  // encoded with extra bytes verifies partially exactly when the reference says it does.
  const partial = opts.sections !== undefined;
  const walk = perKey.some((k) => k.hashes.length > 0) ? await hashSections(src, content, partial) : undefined;
  const results: KeyVerification[] = perKey.map((k, index) => {
    const base = { index, key: k.key, keyId: hex(k.key.keyId) };
    if (k.hashes.length === 0 || walk === undefined) return { ...base, ok: false, reason: k.why };
    if (opts.sections !== undefined) {
      const r = checkPartial(content, walk, k.hashes, opts.sections);
      return { ...base, ...r };
    }
    return contains(k.hashes, walk.final)
      ? { ...base, ok: true, reason: "signature valid" }
      : { ...base, ok: false, reason: "a signature by this key is valid but the module content does not match the signed hashes (modified after signing)" };
  });
  const ok = results.some((r) => r.ok);
  const result: VerifyResult = {
    kind: wasm.kind,
    signed: true,
    ok,
    keys: results,
    signatureKeyIds,
    reason: ok
      ? `verified by ${results.filter((r) => r.ok).length} of ${results.length} key(s)`
      : results.length === 0
        ? "no public key given"
        : results.map((r) => `key ${r.index} (${r.keyId}): ${r.reason}`).join("; "),
  };
  if (walk !== undefined) result.contentHash = hex(walk.final);
  return result;
}
