// Bundles the CLI into one ESM file so Bazel and users run it with plain `node`.
import { build } from "esbuild";
import { chmod, mkdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const outfile = join(root, "dist", "wasm-oci.mjs");
const tmp = `${outfile}.tmp-${process.pid}`;
await mkdir(dirname(outfile), { recursive: true });
await build({
  entryPoints: [join(root, "src", "cli", "main.ts")],
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  outfile: tmp,
  // jco-transpile ships wasm files it loads relative to its own modules; keep it external.
  external: ["@bytecodealliance/jco-transpile", "@bytecodealliance/preview2-shim"],
  banner: {
    // Bundled CommonJS dependencies call require(); give ESM output one.
    js: "#!/usr/bin/env node\nimport { createRequire as __wasmOciCreateRequire } from 'node:module';\nconst require = __wasmOciCreateRequire(import.meta.url);",
  },
  sourcemap: false,
  // Startup dominates small transfers: a minified bundle compiles in about half the time.
  minify: true,
  keepNames: true,
  legalComments: "none",
  logLevel: "warning",
});
await chmod(tmp, 0o755);
await rename(tmp, outfile);
