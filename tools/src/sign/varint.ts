import { SignFormatError } from "./errors.ts";

/**
 * Unsigned LEB128 as WebAssembly uses it: at most 5 bytes for a u32, non-minimal encodings
 * accepted when reading (the spec allows them), always minimal when writing.
 */
export interface VarU32 {
  value: number;
  /** Offset just past the varint. */
  next: number;
  /** Encoded length in bytes. */
  length: number;
}

/** Reads a varuint32 at `pos`; `what` names the field in error messages. */
export function readVarU32(buf: Uint8Array, pos: number, what: string, limit = buf.length): VarU32 {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const at = pos + i;
    if (at >= limit) {
      throw new SignFormatError("WASM_TRUNCATED", `truncated varint for ${what} at offset ${pos}`, { offset: pos });
    }
    const byte = buf[at] as number;
    if (i === 4 && (byte & 0xf0) !== 0) {
      throw new SignFormatError("WASM_VARINT_OVERLONG", `varint for ${what} at offset ${pos} does not fit in 32 bits`, { offset: pos });
    }
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, next: at + 1, length: i + 1 };
  }
  throw new SignFormatError("WASM_VARINT_OVERLONG", `varint for ${what} at offset ${pos} is longer than 5 bytes`, { offset: pos });
}

export function varU32Length(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

export function encodeVarU32(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`varuint32 out of range: ${value}`);
  }
  const out = new Uint8Array(varU32Length(value));
  let v = value;
  for (let i = 0; i < out.length; i++) {
    const low = v & 0x7f;
    v = Math.floor(v / 128);
    out[i] = v > 0 ? low | 0x80 : low;
  }
  return out;
}

/** Concatenates byte arrays (small buffers only: signature data, headers). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
