/**
 * Reading large component files without holding them in memory. A component padded with
 * large custom sections or core modules is read as a "skeleton": the top-level sections the
 * reader needs are copied exactly, and each section it does not need is replaced by a tiny
 * stand-in of the same id. The composition encoder then copies the real file into the output
 * (compose/chunks.ts) instead of the skeleton, so the large bytes are read once, through a
 * small buffer, like `cat` does.
 *
 * Skipped: custom sections always (the reader ignores them); core module sections only when
 * asked (validation reads them). The reader looks inside a core module only to type it as an
 * item (`moduleTypeOf`); for a stand-in it throws StandInModuleError and `packageFromFile`
 * (package.ts) reads the whole file instead, so the result never depends on which way the file was read.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { COMPONENT_PREAMBLE, ComponentBinaryError, Reader, isComponent } from "./binary.ts";
import { markSkeleton } from "./reader.ts";
import { identityOf, type FileIdentity } from "../compose/chunks.ts";

/** The file a skeleton stands for; the encoder copies it from here. */
export interface ComponentFileSource {
  readonly path: string;
  /** At the time the skeleton was read; its `size` is the component's size. */
  readonly identity: FileIdentity;
  /** Core modules were replaced by stand-ins, so the skeleton cannot be validated. */
  readonly modulesElided: boolean;
}

export interface ComponentFile {
  readonly path: string;
  /** The whole file, or its skeleton when `source` is set. */
  readonly bytes: Uint8Array;
  readonly source?: ComponentFileSource;
}

export interface SkeletonOptions {
  /** Files of at least this many bytes are read as skeletons (default 1 MiB; `Infinity`: never). */
  readonly threshold?: number;
  /** Replace core modules by stand-ins too: only when the output is not validated. */
  readonly elideModules?: boolean;
}

export const DEFAULT_SKELETON_THRESHOLD = 1 << 20;

/** A custom section with an empty name and no payload. */
const CUSTOM_STAND_IN = Uint8Array.of(0x00, 0x01, 0x00);
/** A core module section holding the empty module. */
const MODULE_STAND_IN = Uint8Array.of(0x01, 0x08, 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);

function readExact(fd: number, into: Uint8Array, pos: number): boolean {
  let off = 0;
  while (off < into.length) {
    const n = readSync(fd, into, off, into.length - off, pos + off);
    if (n === 0) return false;
    off += n;
  }
  return true;
}

type Piece = { readonly file: [number, number] } | { readonly standIn: Uint8Array };

/**
 * The skeleton of the open file, or `undefined` when the top-level sections cannot be walked
 * (not a component, truncated, malformed): the caller then reads the whole file, so the reader
 * reports the problem exactly as it always has.
 */
function skeletonOf(fd: number, size: number, elideModules: boolean): { bytes: Uint8Array; standIns: Set<number> } | undefined {
  const head = new Uint8Array(16);
  if (size < 8 || !readExact(fd, head.subarray(0, 8), 0) || !isComponent(head.subarray(0, 8))) return undefined;
  const plan: Piece[] = [{ standIn: COMPONENT_PREAMBLE }];
  let pos = 8;
  try {
    while (pos < size) {
      const n = readSync(fd, head, 0, Math.min(head.length, size - pos), pos);
      const r = new Reader(head, 0, n);
      const id = r.u8();
      const len = r.u32();
      const end = pos + r.pos + len;
      if (end > size) return undefined;
      if (id === 0) plan.push({ standIn: CUSTOM_STAND_IN });
      else if (id === 1 && elideModules) plan.push({ standIn: MODULE_STAND_IN });
      else plan.push({ file: [pos, end] });
      pos = end;
    }
  } catch (e) {
    if (e instanceof ComponentBinaryError) return undefined;
    throw e;
  }
  let total = 0;
  for (const p of plan) total += "standIn" in p ? p.standIn.length : p.file[1] - p.file[0];
  const bytes = new Uint8Array(total);
  const standIns = new Set<number>();
  let at = 0;
  for (const p of plan) {
    if ("standIn" in p) {
      bytes.set(p.standIn, at);
      if (p.standIn === MODULE_STAND_IN) standIns.add(at + 2);
      at += p.standIn.length;
    } else {
      const len = p.file[1] - p.file[0];
      if (!readExact(fd, bytes.subarray(at, at + len), p.file[0])) return undefined;
      at += len;
    }
  }
  return { bytes, standIns };
}

function wholeFile(fd: number): Uint8Array {
  // A view, not a copy: dependencies can be tens of MiB and are only read.
  const buf = readFileSync(fd);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads a component file whole, or as a skeleton when it is at least `threshold` bytes. */
export function readComponentFile(path: string, options: SkeletonOptions = {}): ComponentFile {
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    if (st.size < (options.threshold ?? DEFAULT_SKELETON_THRESHOLD)) return { path, bytes: wholeFile(fd) };
    const sk = skeletonOf(fd, st.size, options.elideModules === true);
    if (sk === undefined) return { path, bytes: wholeFile(fd) };
    markSkeleton(sk.bytes, { fileSize: st.size, standInModules: sk.standIns });
    return { path, bytes: sk.bytes, source: { path, identity: identityOf(st), modulesElided: sk.standIns.size > 0 } };
  } finally {
    closeSync(fd);
  }
}
