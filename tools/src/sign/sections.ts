import { SignFormatError } from "./errors.ts";
import type { ByteSource } from "./source.ts";
import { encodeVarU32, readVarU32, varU32Length, concatBytes } from "./varint.ts";

/**
 * Section-level view of a core module or component: preamble, then `id size payload` records,
 * custom sections (id 0) starting with a name. Nothing inside payloads is interpreted, which
 * is all signing needs and keeps it independent of the component model version.
 */
export const CORE_PREAMBLE = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
export const COMPONENT_PREAMBLE = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00);
export const PREAMBLE_SIZE = 8;

export const SIGNATURE_SECTION = "signature";
export const DELIMITER_SECTION = "signature_delimiter";

export type WasmKind = "module" | "component";

export interface SectionInfo {
  index: number;
  id: number;
  /** Offset of the id byte. */
  start: number;
  /** Offset of the payload (just past the size varint). */
  payloadStart: number;
  /** Offset just past the payload. */
  end: number;
  size: number;
  /** Custom sections only. */
  name?: string;
  /** Custom sections only: offset of the data after the name. */
  dataStart?: number;
  /** True when the size (and custom name length) varints are minimally encoded. */
  minimal: boolean;
}

const MAX_NAME = 1 << 20;

export async function readPreamble(src: ByteSource): Promise<{ kind: WasmKind; preamble: Uint8Array }> {
  const head = await src.read(0, PREAMBLE_SIZE);
  if (head.length < PREAMBLE_SIZE) {
    throw new SignFormatError("WASM_BAD_PREAMBLE", `not a WebAssembly file: ${head.length} bytes, the preamble alone is 8`);
  }
  if (equalBytes(head, CORE_PREAMBLE)) return { kind: "module", preamble: CORE_PREAMBLE };
  if (equalBytes(head, COMPONENT_PREAMBLE)) return { kind: "component", preamble: COMPONENT_PREAMBLE };
  throw new SignFormatError(
    "WASM_BAD_PREAMBLE",
    `not a WebAssembly core module or component: preamble is ${hex(head)}, expected ${hex(CORE_PREAMBLE)} or ${hex(COMPONENT_PREAMBLE)}`,
  );
}

/** Reads the section header at `pos`. */
export async function readSectionAt(src: ByteSource, pos: number, index: number): Promise<SectionInfo> {
  const head = await src.read(pos, 6);
  const id = head[0] as number;
  if (id >= 0x80) {
    throw new SignFormatError("WASM_VARINT_OVERLONG", `section ${index} at offset ${pos}: section id 0x${id.toString(16)} is not a one-byte id`);
  }
  const sz = readVarU32(head, 1, `section ${index} size`);
  const payloadStart = pos + sz.next;
  const end = payloadStart + sz.value;
  if (end > src.size) {
    throw new SignFormatError(
      "WASM_SECTION_PAST_END",
      `section ${index} at offset ${pos} claims ${sz.value} bytes but only ${src.size - payloadStart} remain`,
      { offset: pos },
    );
  }
  let minimal = sz.length === varU32Length(sz.value);
  const info: SectionInfo = { index, id, start: pos, payloadStart, end, size: sz.value, minimal };
  if (id === 0) {
    const lenBytes = await src.read(payloadStart, Math.min(5, sz.value));
    const nl = readVarU32(lenBytes, 0, `section ${index} custom name length`);
    const nameStart = payloadStart + nl.next;
    if (nl.value > MAX_NAME) {
      throw new SignFormatError("WASM_BAD_SECTION_NAME", `section ${index}: custom section name of ${nl.value} bytes is too long`);
    }
    if (nameStart + nl.value > end) {
      throw new SignFormatError(
        "WASM_SECTION_PAST_END",
        `section ${index} at offset ${pos}: custom section name (${nl.value} bytes) runs past the section's end`,
        { offset: pos },
      );
    }
    const nameBytes = await src.read(nameStart, nl.value);
    let name: string;
    try {
      name = new TextDecoder("utf-8", { fatal: true }).decode(nameBytes);
    } catch {
      throw new SignFormatError("WASM_BAD_SECTION_NAME", `section ${index} at offset ${pos}: custom section name is not valid UTF-8`);
    }
    info.name = name;
    info.dataStart = nameStart + nl.value;
    minimal = minimal && nl.length === varU32Length(nl.value);
    info.minimal = minimal;
  }
  return info;
}

/** Every section after the preamble, in order; throws a typed error on the first malformed one. */
export async function scanSections(src: ByteSource): Promise<SectionInfo[]> {
  const out: SectionInfo[] = [];
  let pos = PREAMBLE_SIZE;
  while (pos < src.size) {
    const s = await readSectionAt(src, pos, out.length);
    out.push(s);
    pos = s.end;
  }
  return out;
}

export interface ScannedWasm {
  kind: WasmKind;
  preamble: Uint8Array;
  sections: SectionInfo[];
}

export async function scanWasm(src: ByteSource): Promise<ScannedWasm> {
  const { kind, preamble } = await readPreamble(src);
  return { kind, preamble, sections: await scanSections(src) };
}

export function isSignatureSection(s: SectionInfo): boolean {
  return s.id === 0 && s.name === SIGNATURE_SECTION;
}

export function isDelimiter(s: SectionInfo): boolean {
  return s.id === 0 && s.name === DELIMITER_SECTION;
}

/** Bytes of a section as wasmsign2 serializes it: minimal varints for size and name length. */
export type Piece = { bytes: Uint8Array } | { start: number; end: number };

export function sectionPieces(s: SectionInfo, normalize: boolean): Piece[] {
  if (!normalize || s.minimal) return [{ start: s.start, end: s.end }];
  if (s.id === 0 && s.name !== undefined && s.dataStart !== undefined) {
    const nameBytes = new TextEncoder().encode(s.name);
    const body = concatBytes([encodeVarU32(nameBytes.length), nameBytes]);
    const dataLen = s.end - s.dataStart;
    const header = concatBytes([Uint8Array.of(0), encodeVarU32(body.length + dataLen), body]);
    return [{ bytes: header }, { start: s.dataStart, end: s.end }];
  }
  const header = concatBytes([Uint8Array.of(s.id), encodeVarU32(s.size)]);
  return [{ bytes: header }, { start: s.payloadStart, end: s.end }];
}

/** Serializes a new custom section. */
export function customSection(name: string, data: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const body = concatBytes([encodeVarU32(nameBytes.length), nameBytes]);
  return concatBytes([Uint8Array.of(0), encodeVarU32(body.length + data.length), body, data]);
}

/**
 * Feeds pieces to a sink, merging adjacent file ranges so a module with many small sections
 * is still read in large chunks.
 */
export class PieceStreamer {
  private pending: { start: number; end: number } | undefined;

  constructor(
    private readonly src: ByteSource,
    private readonly sink: (chunk: Uint8Array) => void | Promise<void>,
  ) {}

  async add(p: Piece): Promise<void> {
    if ("bytes" in p) {
      await this.flush();
      if (p.bytes.length > 0) await this.sink(p.bytes);
      return;
    }
    if (p.end <= p.start) return;
    if (this.pending !== undefined && this.pending.end === p.start) {
      this.pending.end = p.end;
      return;
    }
    await this.flush();
    this.pending = { start: p.start, end: p.end };
  }

  async flush(): Promise<void> {
    const r = this.pending;
    this.pending = undefined;
    if (r === undefined) return;
    for await (const chunk of this.src.chunks(r.start, r.end)) await this.sink(chunk);
  }
}

export async function readCustomData(src: ByteSource, s: SectionInfo): Promise<Uint8Array> {
  const start = s.dataStart ?? s.payloadStart;
  return new Uint8Array(await src.read(start, s.end - start));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
}
