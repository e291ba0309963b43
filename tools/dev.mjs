#!/usr/bin/env node
// `pnpm dev`: rebuild the examples on every change with ibazel (from @bazel/ibazel).
// Bazel 4.2.3 (Debian's bazel-bootstrap, offline) needs --config=bazel4; newer Bazel does not.
// A registry other than localhost:5000: WASM_OCI_EXAMPLES_REGISTRY=127.0.0.1:5123 pnpm dev
import { execFileSync, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let version = "";
try {
  version = execFileSync("bazel", ["--version"], { encoding: "utf8" }).trim();
} catch {
  process.stderr.write("pnpm dev: no `bazel` on PATH (install Bazel, or @bazel/bazelisk as `bazel`)\n");
  process.exit(1);
}
const args = ["build"];
if (/^bazel 4\./.test(version)) args.push("--config=bazel4");
const registry = process.env["WASM_OCI_EXAMPLES_REGISTRY"];
if (registry) args.push(`--//examples:registry=${registry}`);
args.push(...(process.argv.length > 2 ? process.argv.slice(2) : ["//examples/..."]));
process.stderr.write(`pnpm dev: ${version}; ibazel ${args.join(" ")}\n`);
const child = spawn(join(root, "node_modules", ".bin", "ibazel"), args, { cwd: root, stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(signal ? 130 : (code ?? 1)));
