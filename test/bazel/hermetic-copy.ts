/**
 * A copy of this repository as users get it: the release archive (`node tools/release.mjs`: the
 * repository's files plus the prebuilt tools/dist) extracted into a temp dir, with no node_modules
 * in it or above it. The Bazel suites that build the examples and the e2e module run there, so an
 * action that read anything from the checkout's node_modules (outside its declared inputs) fails.
 */
import { existsSync, readdirSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "../helpers/cli.ts";
import { runCommand } from "../helpers/processes.ts";

export interface ReleaseInfo {
  archive: string;
  files: number;
  bytes: number;
  sha256: string;
  integrity: string;
  strip_prefix: string;
}

/** Runs tools/release.mjs into `outDir`; returns what it printed. */
export async function makeReleaseArchive(outDir: string): Promise<ReleaseInfo> {
  const r = await runCommand(process.execPath, [join(REPO_ROOT, "tools", "release.mjs"), "--out", outDir], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`tools/release.mjs failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ReleaseInfo;
}

/** Every directory named node_modules under `dir` (relative paths). */
export function nodeModulesUnder(dir: string, rel = ""): string[] {
  const found: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = rel === "" ? e.name : `${rel}/${e.name}`;
    if (e.name === "node_modules") found.push(p);
    else found.push(...nodeModulesUnder(dir, p));
  }
  return found;
}

/** The release archive extracted under `dir`; returns the repository root of the copy. */
export async function makeHermeticCopy(dir: string): Promise<string> {
  const info = await makeReleaseArchive(join(dir, "release"));
  const into = join(dir, "copy");
  await mkdir(into, { recursive: true });
  const x = await runCommand("tar", ["-xzf", info.archive, "-C", into], { timeoutMs: 60_000 });
  if (x.code !== 0) throw new Error(`tar -xzf ${info.archive} failed: ${x.stderr}`);
  const root = join(into, info.strip_prefix);
  const inside = nodeModulesUnder(root);
  if (inside.length > 0) throw new Error(`the copy holds node_modules: ${inside.join(", ")}`);
  // Node would also resolve packages from a node_modules in any parent folder.
  for (let d = root; d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, "node_modules"))) throw new Error(`${d}/node_modules is visible from the copy: use a temp dir outside any node project`);
  }
  return root;
}
