#!/usr/bin/env node
// `pnpm dev`: rebuild the examples on every change with ibazel (from @bazel/ibazel).
// Bazel: $WASM_OCI_BAZEL, else the first `bazel` on PATH outside node_modules (Debian's 4.2.3
// here), else @bazel/bazelisk, which downloads the Bazel of .bazelversion (needs network).
// Bazel 4.x needs --config=bazel4 (offline repository overrides); newer Bazel does not.
// A registry other than localhost:5000: WASM_OCI_EXAMPLES_REGISTRY=127.0.0.1:5123 pnpm dev
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function findBazel() {
  if (process.env["WASM_OCI_BAZEL"]) return process.env["WASM_OCI_BAZEL"];
  // pnpm puts node_modules/.bin first on PATH, where `bazel` is the npm bazelisk wrapper.
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "" || dir.split(sep).includes("node_modules")) continue;
    try {
      accessSync(join(dir, "bazel"), constants.X_OK);
      return join(dir, "bazel");
    } catch {
      // not here
    }
  }
  return join(root, "node_modules", ".bin", "bazelisk");
}

const bazel = findBazel();
let version = "";
try {
  version = execFileSync(bazel, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
} catch {
  process.stderr.write(`pnpm dev: ${bazel} --version failed: install Bazel, or set WASM_OCI_BAZEL\n`);
  process.exit(1);
}
const args = [`-bazel_path=${bazel}`, "build"];
// Debian's bootstrap build (4.2.3) reports "bazel no_version": anything not 5+ gets the config.
const major = Number(/^bazel (\d+)\./.exec(version)?.[1] ?? 4);
if (major < 5) args.push("--config=bazel4");
const registry = process.env["WASM_OCI_EXAMPLES_REGISTRY"];
if (registry) args.push(`--//examples:registry=${registry}`);
args.push(...(process.argv.length > 2 ? process.argv.slice(2) : ["//examples/..."]));
process.stderr.write(`pnpm dev: ${version} (${bazel}); ibazel ${args.join(" ")}\n`);
const child = spawn(join(root, "node_modules", ".bin", "ibazel"), args, { cwd: root, stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(signal ? 130 : (code ?? 1)));
