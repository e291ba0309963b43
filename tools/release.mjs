#!/usr/bin/env node
// `pnpm release`: the archive a Bazel module version is published from (the URL in
// .bcr/source.template.json), rules_wasm_oci-<version>.tar.gz with everything under
// rules_wasm_oci-<version>/: the files of the repository (tracked or new, not ignored) plus the
// prebuilt CLI in tools/dist (run `pnpm build` first; `pnpm release` does). Reproducible: the
// same files give the same bytes (sorted entries, fixed times, owners and modes, gzip without a
// timestamp). Prints the path, its sha256 and the `integrity` value of a BCR source.json.
//
//   node tools/release.mjs [--out DIR]
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function fail(message) {
  process.stderr.write(`release: ${message}\n`);
  process.exit(1);
}

/** The version of package.json, which MODULE.bazel must declare too. */
function releaseVersion() {
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  const module = readFileSync(join(root, "MODULE.bazel"), "utf8");
  const declared = /module\(\s*[^)]*?version\s*=\s*"([^"]+)"/s.exec(module)?.[1];
  if (declared !== version) fail(`MODULE.bazel declares version ${declared ?? "(none)"} but package.json ${version}; make them equal`);
  return version;
}

/** Repository files: tracked or new, not ignored, still present. */
function sourceFiles() {
  const out = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, maxBuffer: 64 << 20 });
  return out
    .toString("utf8")
    .split("\0")
    .filter((p) => p !== "" && existsSync(join(root, p)) && !lstatSync(join(root, p)).isDirectory());
}

function walk(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...walk(p));
    else if (entry.isFile()) files.push(relative(root, p).split(sep).join("/"));
  }
  return files;
}

function distFiles() {
  const dist = join(root, "tools", "dist");
  if (!existsSync(join(dist, "wasm-oci.mjs"))) fail("tools/dist/wasm-oci.mjs is missing: run `pnpm build` (or `pnpm release`, which builds first)");
  return walk(dist).filter((p) => !/\.tmp-\d+/.test(p));
}

/** Archive bytes of `files` (repository-relative, /-separated) under `prefix/`. */
export async function packArchive(files, prefix) {
  const pack = tar.pack();
  const chunks = [];
  pack.on("data", (c) => chunks.push(c));
  const done = new Promise((resolve, reject) => {
    pack.on("end", resolve);
    pack.on("error", reject);
  });
  // A fixed time (SOURCE_DATE_EPOCH when set): the archive does not depend on checkout times.
  const mtime = new Date(Number(process.env["SOURCE_DATE_EPOCH"] ?? 946684800) * 1000);
  for (const path of [...new Set(files)].sort()) {
    const abs = join(root, path);
    const st = lstatSync(abs);
    const common = { name: `${prefix}/${path}`, mtime, uid: 0, gid: 0, uname: "", gname: "" };
    if (st.isSymbolicLink()) fail(`${path} is a symbolic link; the archive holds regular files only`);
    const data = readFileSync(abs);
    await new Promise((resolve, reject) => {
      pack.entry({ ...common, type: "file", size: data.length, mode: st.mode & 0o111 ? 0o755 : 0o644 }, data, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  // Node's gzip header has no file name and a zero timestamp: the same tar gives the same bytes.
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

async function main() {
  const { values } = parseArgs({ options: { out: { type: "string", default: join(root, "dist-release") }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    process.stdout.write("usage: node tools/release.mjs [--out DIR]   (pnpm release builds tools/dist first)\n");
    return;
  }
  const version = releaseVersion();
  const files = [...sourceFiles().filter((p) => !p.startsWith("tools/dist/")), ...distFiles()];
  const name = `rules_wasm_oci-${version}`;
  const bytes = await packArchive(files, name);
  await mkdir(values.out, { recursive: true });
  const target = join(values.out, `${name}.tar.gz`);
  const tmp = `${target}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, target);
  const sha256 = createHash("sha256").update(bytes).digest();
  process.stdout.write(
    JSON.stringify({ archive: target, files: new Set(files).size, bytes: bytes.length, sha256: sha256.toString("hex"), integrity: `sha256-${sha256.toString("base64")}`, strip_prefix: name }, null, 2) + "\n",
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
