import { randomBytes } from "node:crypto";
import { SignFormatError } from "./errors.ts";
import { hashSections, signedHashList } from "./hashes.ts";
import type { ModulePlan } from "./output.ts";
import {
  customSection,
  DELIMITER_SECTION,
  hex,
  isDelimiter,
  isSignatureSection,
  readCustomData,
  scanWasm,
  SIGNATURE_SECTION,
  type SectionInfo,
  type WasmKind,
} from "./sections.ts";
import { parseSignatureData, type SignatureData } from "./signature-data.ts";
import type { ByteSource } from "./source.ts";

/** `detach`: section 0 must be the signature; it becomes the detached signature file. */
export async function planDetach(src: ByteSource): Promise<{ signature: Uint8Array; module: ModulePlan }> {
  const wasm = await scanWasm(src);
  const first = wasm.sections[0];
  if (first === undefined || !isSignatureSection(first)) {
    throw new SignFormatError("SIG_NONE", "the module has no embedded signature to detach (its first section is not a signature section)");
  }
  return { signature: await readCustomData(src, first), module: { preamble: wasm.preamble, items: wasm.sections.slice(1), normalize: true } };
}

/** `attach`: the signature data is inserted as section 0; a module that already has one is refused. */
export async function planAttach(src: ByteSource, signature: Uint8Array): Promise<ModulePlan> {
  parseSignatureData(signature, "detached signature");
  const wasm = await scanWasm(src);
  const existing = wasm.sections.find(isSignatureSection);
  if (existing !== undefined) {
    throw new SignFormatError("SIG_ALREADY_ATTACHED", `the module already has a signature section (section ${existing.index}); detach it first`);
  }
  return { preamble: wasm.preamble, items: [customSection(SIGNATURE_SECTION, signature), ...wasm.sections], normalize: true };
}

/**
 * `split`: inserts `signature_delimiter` sections between runs of sections that must be signed
 * (standard sections, and custom sections matching the regex) and runs that may change, and
 * one at the end, so a later `verify -s REGEX` can check the signed runs alone.
 */
export async function planSplit(src: ByteSource, rx?: RegExp): Promise<{ module: ModulePlan; delimiters: number }> {
  const wasm = await scanWasm(src);
  const out: Array<SectionInfo | Uint8Array> = [];
  let flip = false;
  let lastWasDelimiter = false;
  let added = 0;
  const delimiter = () => {
    added++;
    return customSection(DELIMITER_SECTION, new Uint8Array(randomBytes(16)));
  };
  wasm.sections.forEach((s, idx) => {
    if (isSignatureSection(s)) {
      out.push(s);
      return;
    }
    if (isDelimiter(s)) {
      out.push(s);
      lastWasDelimiter = true;
      return;
    }
    const signed = s.id !== 0 || rx === undefined || rx.test(s.name ?? "");
    if (rx !== undefined) rx.lastIndex = 0;
    if (idx === 0) flip = !signed;
    else if (signed === flip) {
      if (!lastWasDelimiter) out.push(delimiter());
      flip = !flip;
    }
    out.push(s);
    lastWasDelimiter = false;
  });
  const last = out[out.length - 1];
  // Fresh delimiters only ever precede a section, so `last` is an existing section here.
  if (last !== undefined && !(last instanceof Uint8Array) && !isDelimiter(last)) out.push(delimiter());
  return { module: { preamble: wasm.preamble, items: out, normalize: true }, delimiters: added };
}

export interface SignatureDescription {
  version: number;
  contentType: number;
  hashFunction: number;
  sets: Array<{
    hashes: string[];
    signatures: Array<{ keyId?: string; algId: number; signature: string }>;
    skippedRecords: number;
  }>;
}

export interface ModuleDescription {
  kind: WasmKind;
  size: number;
  sections: Array<{ index: number; id: number; type: string; offset: number; size: number; name?: string }>;
  signature?: SignatureDescription;
  /** The hashes a signer would sign now (hex), one per delimited part plus the remainder. */
  contentHashes: string[];
}

const SECTION_TYPES: Record<number, string> = {
  0: "custom",
  1: "type",
  2: "import",
  3: "function",
  4: "table",
  5: "memory",
  6: "global",
  7: "export",
  8: "start",
  9: "element",
  10: "code",
  11: "data",
  12: "datacount",
  13: "tag",
};

const COMPONENT_SECTION_TYPES: Record<number, string> = {
  0: "custom",
  1: "core module",
  2: "core instance",
  3: "core type",
  4: "component",
  5: "instance",
  6: "alias",
  7: "type",
  8: "canon",
  9: "start",
  10: "import",
  11: "export",
  12: "value",
};

export function describeSignature(d: SignatureData): SignatureDescription {
  return {
    version: d.version,
    contentType: d.contentType,
    hashFunction: d.hashFunction,
    sets: d.sets.map((s) => ({
      hashes: s.hashes.map(hex),
      signatures: s.signatures.map((r) => (r.keyId ? { keyId: hex(r.keyId), algId: r.algId, signature: hex(r.signature) } : { algId: r.algId, signature: hex(r.signature) })),
      skippedRecords: s.skipped,
    })),
  };
}

/** `show`: the section list, the decoded signature data and the current content hashes. */
export async function describeModule(src: ByteSource): Promise<ModuleDescription> {
  const wasm = await scanWasm(src);
  const names = wasm.kind === "component" ? COMPONENT_SECTION_TYPES : SECTION_TYPES;
  const desc: ModuleDescription = {
    kind: wasm.kind,
    size: src.size,
    sections: wasm.sections.map((s) => {
      const e: ModuleDescription["sections"][number] = { index: s.index, id: s.id, type: names[s.id] ?? `unknown(${s.id})`, offset: s.start, size: s.size };
      if (s.name !== undefined) e.name = s.name;
      return e;
    }),
    contentHashes: [],
  };
  const first = wasm.sections[0];
  const content = first !== undefined && isSignatureSection(first) ? wasm.sections.slice(1) : wasm.sections;
  if (first !== undefined && isSignatureSection(first)) {
    desc.signature = describeSignature(parseSignatureData(await readCustomData(src, first), "signature section"));
  }
  desc.contentHashes = signedHashList(await hashSections(src, content.filter((s) => !isSignatureSection(s)), true)).map(hex);
  return desc;
}
