/**
 * The bundle reaches users: `tools/release.mjs` writes the archive a module version is published
 * from, reproducibly, with the prebuilt CLI inside; the bundle the rules use (tools/dist, which
 * //tools:bundle globs) is a fresh build of tools/src; the BCR files agree with the archive.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { gunzipSync } from "node:zlib";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, REPO_ROOT } from "../helpers/cli.ts";
import { runCommand } from "../helpers/processes.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { makeReleaseArchive, type ReleaseInfo } from "../bazel/hermetic-copy.ts";

interface Entry {
  name: string;
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  data: Buffer;
}

async function readArchive(path: string): Promise<Entry[]> {
  const extract = tar.extract();
  const entries: Entry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => chunks.push(c as Buffer));
      stream.on("end", () => {
        entries.push({ name: header.name, mode: header.mode ?? 0, mtime: header.mtime?.getTime() ?? -1, uid: header.uid ?? -1, gid: header.gid ?? -1, data: Buffer.concat(chunks) });
        next();
      });
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
  });
  extract.end(gunzipSync(await readFile(path)));
  await done;
  return entries;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)).split(sep).join("/"));
  }
  return out.sort();
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

describe.skipIf(!cliBuilt())("release archive and bundle", () => {
  let tmp: Tmp;
  let first: ReleaseInfo;
  let entries: Entry[];
  let prefix: string;

  beforeAll(async () => {
    tmp = await makeTmp("release");
    first = await makeReleaseArchive(tmp.path("a"));
    entries = await readArchive(first.archive);
    prefix = `${first.strip_prefix}/`;
  }, 180_000);

  afterAll(async () => {
    await tmp?.cleanup();
  });

  it("is reproducible: a second run writes the same bytes", async () => {
    const second = await makeReleaseArchive(tmp.path("b"));
    expect(second.sha256).toBe(first.sha256);
    expect(sha(await readFile(second.archive))).toBe(sha(await readFile(first.archive)));
    expect(first.integrity).toBe(`sha256-${Buffer.from(first.sha256, "hex").toString("base64")}`);
  }, 180_000);

  it("holds the module, the BCR files and the prebuilt CLI with its assets, under one prefix, with fixed metadata", () => {
    const names = entries.map((e) => e.name);
    expect(names.every((n) => n.startsWith(prefix))).toBe(true);
    expect([...names].sort()).toEqual(names);
    for (const f of ["MODULE.bazel", "LICENSE", "REPO.bazel", "wasm/defs.bzl", "tools/BUILD.bazel", "tools/dist/wasm-oci.mjs", "tools/dist/jco/wasm-tools.mjs", "tools/dist/jco/transpile.mjs", "tools/dist/jco/wasm-tools.core.wasm", "tools/dist/preview2-shim/package.json", ".bcr/presubmit.yml", ".bcr/source.template.json", ".bcr/metadata.template.json", "e2e/smoke/MODULE.bazel"]) {
      expect(names, f).toContain(prefix + f);
    }
    expect(names.filter((n) => /(^|\/)node_modules\/|\/bazel-|\/dist-release\//.test(n))).toEqual([]);
    expect(new Set(entries.map((e) => e.mtime)).size).toBe(1);
    expect(new Set(entries.map((e) => `${e.uid}:${e.gid}`))).toEqual(new Set(["0:0"]));
    expect(entries.find((e) => e.name === `${prefix}tools/dist/wasm-oci.mjs`)!.mode & 0o111).not.toBe(0);
    expect(entries.find((e) => e.name === `${prefix}MODULE.bazel`)!.mode).toBe(0o644);
  });

  it("the bundle the rules use (tools/dist) equals a fresh build of tools/src, and the archive ships exactly it", async () => {
    const fresh = tmp.path("fresh-dist");
    const r = await runCommand(process.execPath, [join(REPO_ROOT, "tools", "build.mjs"), "--outdir", fresh], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const used = join(REPO_ROOT, "tools", "dist");
    const usedFiles = filesUnder(used);
    expect(filesUnder(fresh)).toEqual(usedFiles);
    for (const f of usedFiles) expect(sha(readFileSync(join(fresh, f))), f).toBe(sha(readFileSync(join(used, f))));
    const shipped = entries.filter((e) => e.name.startsWith(`${prefix}tools/dist/`));
    expect(shipped.map((e) => e.name.slice(`${prefix}tools/dist/`.length))).toEqual(usedFiles);
    for (const e of shipped) expect(sha(e.data), e.name).toBe(sha(readFileSync(join(used, e.name.slice(`${prefix}tools/dist/`.length)))));
  }, 180_000);

  it("the BCR templates name this archive, and presubmit runs the e2e module on Bazel 8 and 9", async () => {
    const source = JSON.parse(await readFile(join(REPO_ROOT, ".bcr", "source.template.json"), "utf8")) as { url: string; strip_prefix: string };
    const version = first.strip_prefix.replace(/^rules_wasm_oci-/, "");
    expect(source.strip_prefix.replace("{VERSION}", version)).toBe(first.strip_prefix);
    expect(source.url.split("/").pop()!.replace("{VERSION}", version)).toBe(first.archive.split("/").pop());
    const presubmit = await readFile(join(REPO_ROOT, ".bcr", "presubmit.yml"), "utf8");
    expect(presubmit).toMatch(/module_path: "e2e\/smoke"/);
    expect(presubmit).toMatch(/bazel: \["8\.x", "9\.x"\]/);
    const e2e = await readFile(join(REPO_ROOT, "e2e", "smoke", "MODULE.bazel"), "utf8");
    expect(e2e).toMatch(/bazel_dep\(name = "rules_wasm_oci"/);
    expect(e2e).toMatch(/local_path_override\(\s*module_name = "rules_wasm_oci",\s*path = "\.\.\/\.\.",/);
    const module = await readFile(join(REPO_ROOT, "MODULE.bazel"), "utf8");
    expect(module).toMatch(/bazel_compatibility = \[">=7\.4\.0"\]/);
    const nodejs = /bazel_dep\(name = "rules_nodejs", version = "(\d+)\.(\d+)\.\d+"\)/.exec(module);
    expect(nodejs && Number(nodejs[1]) * 100 + Number(nodejs[2])).toBeGreaterThanOrEqual(607);
    expect(module).not.toMatch(/aspect_rules_js|aspect_rules_esbuild/);
    expect((await readFile(join(REPO_ROOT, ".bazelversion"), "utf8")).trim()).toMatch(/^9\.\d+\.\d+$/);
    expect(await readFile(join(REPO_ROOT, "LICENSE"), "utf8")).toMatch(/Apache License\s+Version 2\.0/);
    expect((JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { license: string }).license).toBe("Apache-2.0");
  });
});
