#!/usr/bin/env node
// Setup step of the examples: builds the service components of examples/services.json from
// their WAT + WIT sources with `wasm-oci component new`, signs the ones marked `signed` with the
// example key, and pushes them to the example registry (default localhost:5000).
//
//   pnpm build
//   node examples/setup.mjs                              # registry at localhost:5000
//   node examples/setup.mjs --registry 127.0.0.1:5123    # another port (tests, pnpm demo)
//   node examples/setup.mjs --registry-config regs.json  # credentials for the registry
//
// Prints one line per service (reference and manifest digest), or with --json one document
// {registry, services: [{name, reference, digest, signed}]}.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const examples = dirname(fileURLToPath(import.meta.url));
const cli = resolve(examples, "..", "tools", "dist", "wasm-oci.mjs");

const { values } = parseArgs({
  options: {
    registry: { type: "string", default: "localhost:5000" },
    "registry-config": { type: "string" },
    "keep-dir": { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stderr.write("usage: node examples/setup.mjs [--registry HOST:PORT] [--registry-config FILE] [--keep-dir DIR] [--json]\n");
  process.exit(0);
}

// app_production pins the services by digest, so their images must not depend on the caller's
// environment: the image `created` time comes from SOURCE_DATE_EPOCH when it is set.
const env = { ...process.env };
delete env.SOURCE_DATE_EPOCH;

function wasmOci(args) {
  try {
    return execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    process.stderr.write(`setup: wasm-oci ${args.join(" ")} failed:\n${e.stderr ?? e.message}\n`);
    process.exit(1);
  }
}

const spec = JSON.parse(readFileSync(join(examples, "services.json"), "utf8"));
const work = values["keep-dir"] ?? mkdtempSync(join(tmpdir(), "wasm-oci-examples-"));
const configArgs = values["registry-config"] ? ["--registry-config", values["registry-config"]] : [];
const results = [];
try {
  for (const svc of spec.services) {
    const out = join(work, `${svc.name}.wasm`);
    wasmOci(["component", "new", "--wat", join(examples, svc.wat), "--wit", join(examples, spec.wit), "--world", svc.world, "-o", out]);
    if (svc.signed) {
      wasmOci(["sign", "-i", out, "-o", out, "-k", join(examples, spec.key.secret), "-K", join(examples, spec.key.public)]);
    }
    const reference = `${values.registry}/${spec.namespace}/${svc.name}:${spec.tag}`;
    const pushed = JSON.parse(wasmOci(["push", out, reference, "--json", ...configArgs]));
    results.push({ name: svc.name, reference, digest: pushed.digest, signed: svc.signed });
    if (!values.json) process.stdout.write(`${reference} ${pushed.digest}${svc.signed ? " (signed)" : ""}\n`);
  }
} finally {
  if (values["keep-dir"] === undefined) rmSync(work, { recursive: true, force: true });
}
if (values.json) process.stdout.write(`${JSON.stringify({ registry: values.registry, services: results }, null, 2)}\n`);
