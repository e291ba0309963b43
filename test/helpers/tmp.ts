/**
 * Temp directories and files for tests.
 *
 *   const tmp = await makeTmp("oci-roundtrip");   // tmp.dir, tmp.path("a/b"), await tmp.cleanup()
 *   await writeJson(tmp.path("registries.json"), { registries: [...] });
 *   await listFiles(dir)  // every file under dir (relative paths, sorted), for "nothing left behind"
 */
import { mkdtemp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

export interface Tmp {
  dir: string;
  path(...parts: string[]): string;
  cleanup(): Promise<void>;
}

export async function makeTmp(prefix: string): Promise<Tmp> {
  const dir = await mkdtemp(join(tmpdir(), `wasm-oci-${prefix}-`));
  return {
    dir,
    path: (...parts) => join(dir, ...parts),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function writeJson(path: string, value: unknown): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}
