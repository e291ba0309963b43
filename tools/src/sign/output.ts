import { open, rename, rm, mkdir, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { asWriteError, tempBeside } from "../util/atomic-write.ts";
import { customSection, PieceStreamer, sectionPieces, type Piece, type SectionInfo } from "./sections.ts";
import type { ByteSource } from "./source.ts";

/**
 * A module to write: the preamble, then items in order, each an existing section (copied, with
 * its header re-encoded minimally when `normalize`) or freshly serialized section bytes.
 */
export interface ModulePlan {
  preamble: Uint8Array;
  items: Array<SectionInfo | Uint8Array>;
  normalize: boolean;
}

export interface PositionalFile {
  writeAt(pos: number, buf: Uint8Array): Promise<void>;
  truncate(): Promise<void>;
}

export type Sink = (chunk: Uint8Array) => Promise<void> | void;

async function writeAll(fh: FileHandle, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

export async function emitModule(src: ByteSource, plan: ModulePlan, sink: Sink): Promise<void> {
  const streamer = new PieceStreamer(src, sink);
  const add = (p: Piece) => streamer.add(p);
  await add({ bytes: plan.preamble });
  for (const item of plan.items) {
    if (item instanceof Uint8Array) await add({ bytes: item });
    else for (const p of sectionPieces(item, plan.normalize)) await add(p);
  }
  await streamer.flush();
}

export async function moduleBytes(src: ByteSource, plan: ModulePlan): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  // Chunks from a file source are reused buffers: copy each one.
  await emitModule(src, plan, (c) => {
    parts.push(new Uint8Array(c));
  });
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * Output files are written to temp files and renamed only when every one of them is complete,
 * so a failure never leaves a half-written module or signature behind.
 */
export class PendingOutputs {
  private readonly temps: Array<{ tmp: string; target: string }> = [];
  private readonly handles: FileHandle[] = [];

  private async closeHandles(): Promise<void> {
    for (const fh of this.handles.splice(0)) await fh.close();
  }

  async module(target: string, src: ByteSource, plan: ModulePlan): Promise<void> {
    const tmp = await this.reserve(target);
    const fh = await open(tmp, "w");
    try {
      // Small pieces are batched so headers do not cost one syscall each.
      let batch: Uint8Array[] = [];
      let batched = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        const buf = batch.length === 1 ? (batch[0] as Uint8Array) : Buffer.concat(batch);
        batch = [];
        batched = 0;
        await writeAll(fh, buf);
      };
      await emitModule(src, plan, async (c) => {
        if (c.length >= 1 << 16) {
          await flush();
          await writeAll(fh, c);
          return;
        }
        batch.push(new Uint8Array(c));
        batched += c.length;
        if (batched >= 1 << 16) await flush();
      });
      await flush();
    } finally {
      await fh.close();
    }
  }

  /** A temp file written at explicit offsets (closed before commit). */
  async positional(target: string): Promise<PositionalFile> {
    const tmp = await this.reserve(target);
    const fh = await open(tmp, "w");
    this.handles.push(fh);
    return {
      writeAt: async (pos, buf) => {
        let off = 0;
        while (off < buf.length) {
          const { bytesWritten } = await fh.write(buf, off, buf.length - off, pos + off);
          off += bytesWritten;
        }
      },
      truncate: () => fh.truncate(0),
    };
  }

  async bytes(target: string, data: Uint8Array): Promise<void> {
    const tmp = await this.reserve(target);
    const fh = await open(tmp, "w");
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
  }

  private async reserve(target: string): Promise<string> {
    const tmp = await tempBeside(target);
    this.temps.push({ tmp, target });
    return tmp;
  }

  async commit(): Promise<void> {
    await this.closeHandles();
    for (const t of this.temps) await rename(t.tmp, t.target);
    this.temps.length = 0;
  }

  async abort(): Promise<void> {
    await this.closeHandles().catch(() => undefined);
    for (const t of this.temps) await rm(t.tmp, { force: true });
    this.temps.length = 0;
  }

  /** Runs `fn` and commits, or removes every temp file on failure. */
  static async run<T>(fn: (out: PendingOutputs) => Promise<T>): Promise<T> {
    const out = new PendingOutputs();
    try {
      const r = await fn(out);
      await out.commit();
      return r;
    } catch (e) {
      const targets = out.temps.map((t) => t.target).join(", ");
      await out.abort();
      throw targets === "" ? e : asWriteError(e, targets);
    }
  }
}

export { customSection };
