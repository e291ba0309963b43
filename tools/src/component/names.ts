/**
 * Reads just enough of a Wasm binary for the OCI image config: whether it is a core module or a
 * component (the preamble's layer field), and a component's top-level import and export names.
 * Nested components and core modules are skipped by section size, never parsed.
 */
import { WasmOciError } from "../util/errors.ts";

export type WasmKind = "module" | "component";

export interface WasmNames {
  kind: WasmKind;
  imports: string[];
  exports: string[];
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const COMPONENT_IMPORT_SECTION = 10;
const COMPONENT_EXPORT_SECTION = 11;

class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  fail(msg: string): never {
    throw new WasmOciError("BAD_WASM", `${this.what}: ${msg} at byte offset ${this.pos}`);
  }

  byte(): number {
    if (this.pos >= this.bytes.length) this.fail("unexpected end of binary");
    return this.bytes[this.pos++] as number;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    return this.fail("LEB128 integer too long");
  }

  /** s33 / s64 LEB values (valtype indices): only skipped. */
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    this.fail("LEB128 integer too long");
  }

  name(): string {
    const len = this.u32();
    if (this.pos + len > this.bytes.length) this.fail("name runs past the end of the binary");
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, len).toString("utf8");
    this.pos += len;
    return s;
  }
}

/** kind of a binary from its 8-byte preamble: version 1 layer 0 is a module, layer 1 a component. */
export function wasmKind(bytes: Uint8Array, what = "wasm binary"): WasmKind {
  if (bytes.length < 8 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new WasmOciError("BAD_WASM", `${what} is not a WebAssembly binary (missing the \\0asm preamble)`);
  }
  const layer = (bytes[6] as number) | ((bytes[7] as number) << 8);
  if (layer === 0 && bytes[4] === 1 && bytes[5] === 0) return "module";
  if (layer === 1) return "component";
  throw new WasmOciError("BAD_WASM", `${what} has an unknown preamble (version ${bytes[4]}, layer ${layer})`);
}

function externName(r: Reader): string {
  const tag = r.byte();
  // 0x00: plain name; 0x01: the same with an (older) interface-name marker. Both are followed by a name.
  if (tag !== 0x00 && tag !== 0x01) r.fail(`unknown extern name encoding 0x${tag.toString(16)}`);
  return r.name();
}

function skipExternDesc(r: Reader): void {
  const tag = r.byte();
  switch (tag) {
    case 0x00: // core module: 0x11 typeidx
      r.byte();
      r.u32();
      return;
    case 0x01: // func
    case 0x04: // component
    case 0x05: // instance
      r.u32();
      return;
    case 0x02: // value: valtype (s33 index or primitive)
      r.skipLeb();
      return;
    case 0x03: {
      // type bound: 0x00 eq typeidx | 0x01 sub resource
      const b = r.byte();
      if (b === 0x00) r.u32();
      return;
    }
    default:
      r.fail(`unknown extern descriptor 0x${tag.toString(16)}`);
  }
}

function skipSortIdx(r: Reader): void {
  const sort = r.byte();
  if (sort === 0x00) r.byte(); // core sort
  r.u32();
}

/** Top-level import and export names of a component; a core module reports none. */
export function readWasmNames(bytes: Uint8Array, what = "wasm binary"): WasmNames {
  const kind = wasmKind(bytes, what);
  if (kind === "module") return { kind, imports: [], exports: [] };
  const r = new Reader(bytes, what);
  r.pos = 8;
  const imports: string[] = [];
  const exports: string[] = [];
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (end > bytes.length) r.fail(`section ${id} of ${size} bytes runs past the end of the binary`);
    if (id === COMPONENT_IMPORT_SECTION) {
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        imports.push(externName(r));
        skipExternDesc(r);
      }
    } else if (id === COMPONENT_EXPORT_SECTION) {
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        exports.push(externName(r));
        skipSortIdx(r);
        const hasType = r.byte();
        if (hasType === 0x01) skipExternDesc(r);
      }
    }
    r.pos = end;
  }
  return { kind, imports, exports };
}
