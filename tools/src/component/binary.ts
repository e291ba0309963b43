/**
 * Low-level byte reading and writing for the component model binary format: LEB128, names,
 * sections. Reading errors carry the byte offset and what was expected so a bad input file
 * is reported as "file: at offset 0x1f: expected a section id, found 0x2a".
 */
import { WasmOciError } from "../util/errors.ts";

export class ComponentBinaryError extends WasmOciError {
  readonly offset: number;
  constructor(offset: number, message: string) {
    super("INVALID_COMPONENT", `at offset 0x${offset.toString(16)}: ${message}`, { details: { offset } });
    this.name = "ComponentBinaryError";
    this.offset = offset;
  }
}

export const COMPONENT_PREAMBLE = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00);
export const MODULE_PREAMBLE = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);

export function isComponent(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && COMPONENT_PREAMBLE.every((b, i) => bytes[i] === b);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Enc = new TextEncoder();

/** A cursor over a byte range; all reads are bounds-checked against `end`. */
export class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(message: string, at = this.pos): never {
    throw new ComponentBinaryError(at, message);
  }

  u8(what = "a byte"): number {
    if (this.pos >= this.end) this.fail(`unexpected end of data, expected ${what}`);
    return this.bytes[this.pos++]!;
  }

  peek(): number {
    if (this.pos >= this.end) this.fail("unexpected end of data");
    return this.bytes[this.pos]!;
  }

  /** Unsigned LEB128 up to 32 bits. */
  u32(what = "a u32"): number {
    const start = this.pos;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.u8(what);
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) this.fail(`${what} out of range`, start);
        return result;
      }
      shift += 7;
    }
    return this.fail(`invalid LEB128 for ${what}: too long`, start);
  }

  /** Unsigned LEB128 up to 64 bits. */
  u64(what = "a u64"): bigint {
    const start = this.pos;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.u8(what);
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    return this.fail(`invalid LEB128 for ${what}: too long`, start);
  }

  /** Signed LEB128 up to 33 bits (core heap types / block types). */
  s33(what = "an s33"): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.u8(what);
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while ((b & 0x80) !== 0 && shift < 35);
    if (shift < 35 && (b & 0x40) !== 0) result -= 2 ** shift;
    return result;
  }

  bytesN(n: number, what = "bytes"): Uint8Array {
    if (this.pos + n > this.end) this.fail(`unexpected end of data, expected ${n} ${what}`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  name(what = "a name"): string {
    const start = this.pos;
    const len = this.u32(`${what} length`);
    const b = this.bytesN(len, what);
    try {
      return utf8.decode(b);
    } catch {
      return this.fail(`${what} is not valid UTF-8`, start);
    }
  }

  vec<T>(item: (i: number) => T, what = "a vector"): T[] {
    const n = this.u32(`${what} count`);
    if (n > this.end - this.pos) this.fail(`${what} count ${n} exceeds the remaining data`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(i));
    return out;
  }
}

/** Growable byte buffer with the encodings the writer needs. */
export class Writer {
  private buf: Uint8Array;
  length = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 64);
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): this {
    this.ensure(1);
    this.buf[this.length++] = b;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  u32(v: number): this {
    let n = v >>> 0;
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n !== 0) b |= 0x80;
      this.byte(b);
    } while (n !== 0);
    return this;
  }

  /** Signed LEB128 of a non-negative index (component value types encode type indexes this way). */
  s33(v: number): this {
    let n = v;
    for (;;) {
      const b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n === 0 && (b & 0x40) === 0) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  u64(v: bigint): this {
    let n = v;
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n !== 0n) b |= 0x80;
      this.byte(b);
    } while (n !== 0n);
    return this;
  }

  str(s: string): this {
    const b = utf8Enc.encode(s);
    return this.u32(b.length).raw(b);
  }

  /** Component import/export name: the 0x00 discriminant then the string. */
  externName(s: string): this {
    return this.byte(0x00).str(s);
  }

  /** Appends a length-prefixed nested writer. */
  sized(inner: Writer): this {
    return this.u32(inner.length).raw(inner.bytes());
  }

  section(id: number, body: Writer): this {
    return this.byte(id).sized(body);
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export function encodeUtf8(s: string): Uint8Array {
  return utf8Enc.encode(s);
}
