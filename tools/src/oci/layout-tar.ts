/**
 * A tarball of an OCI image layout that is the same bytes for the same layout: entries sorted
 * by path, directories before their contents, owner 0:0 with empty names, fixed modes and one
 * fixed mtime.
 */
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { asWriteError, openAtomic } from "../util/atomic-write.ts";

interface Entry {
  path: string;
  name: string;
  dir: boolean;
  size: number;
}

async function walk(root: string, dir: string, out: Entry[]): Promise<void> {
  const names = (await readdir(dir)).sort();
  for (const n of names) {
    const full = join(dir, n);
    const st = await stat(full);
    const name = relative(root, full).split(sep).join("/");
    if (st.isDirectory()) {
      out.push({ path: full, name: `${name}/`, dir: true, size: 0 });
      await walk(root, full, out);
    } else if (st.isFile()) {
      out.push({ path: full, name, dir: false, size: st.size });
    }
  }
}

/** Tars `layoutDir` into `outFile` atomically. `mtime` is the one timestamp every entry gets. */
export async function writeLayoutTar(layoutDir: string, outFile: string, mtime: Date): Promise<void> {
  const entries: Entry[] = [];
  await walk(layoutDir, layoutDir, entries);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out = await openAtomic(outFile);
  // Observed at once: a write failure (ENOSPC) rejects the pipeline while entries are still being
  // added, and an unobserved rejection would end the process before the temp file is removed.
  let failure: unknown;
  try {
    const pack = tar.pack();
    const done = pipeline(pack, out.stream, { end: false }).catch((e: unknown) => {
      failure ??= e;
    });
    for (const e of entries) {
      const headerFields = {
        name: e.name,
        mtime,
        uid: 0,
        gid: 0,
        uname: "",
        gname: "",
      };
      if (e.dir) {
        await new Promise<void>((resolve, reject) => pack.entry({ ...headerFields, type: "directory", mode: 0o755 }, (err) => (err ? reject(err) : resolve())));
      } else {
        const entry = pack.entry({ ...headerFields, type: "file", mode: 0o644, size: e.size });
        await pipeline(createReadStream(e.path), entry);
      }
    }
    pack.finalize();
    await done;
    if (failure !== undefined) throw failure;
    await out.commit();
  } catch (err) {
    await out.abort();
    // The write failure is the cause; an entry's "premature close" is only its consequence.
    throw asWriteError(failure ?? out.failure ?? err, outFile);
  }
}
