// Bundles the CLI into one ESM file so Bazel and users run it with plain `node`.
import { build } from "esbuild";
import { builtinModules } from "node:module";
import { chmod, mkdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * ESM import declarations are hoisted: bundled as-is, every Node built-in any command uses
 * (worker_threads, child_process, http2, readline...) would load at start-up, ~20 ms for a pull
 * that needs few of them. Served as tiny CommonJS modules instead, each is required where the
 * module that imports it is first initialised, which for command modules (imported on demand by
 * cli/commands/index.ts) is only when that command runs.
 */
const builtinNames = new Set(builtinModules);
const lazyBuiltins = {
  name: "lazy-node-builtins",
  setup(b) {
    b.onResolve({ filter: /^[a-z_/:0-9]+$/ }, (args) => {
      const bare = args.path.startsWith("node:") ? args.path.slice(5) : args.path;
      if (!builtinNames.has(bare)) return undefined;
      // The shim's own require is the real built-in.
      if (args.namespace === "lazy-node-builtin") return { path: `node:${bare}`, external: true };
      return { path: bare, namespace: "lazy-node-builtin" };
    });
    b.onLoad({ filter: /.*/, namespace: "lazy-node-builtin" }, (args) => ({
      contents: `module.exports = require("node:${args.path}");`,
      loader: "js",
    }));
  },
};

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
  plugins: [lazyBuiltins],
  logLevel: "warning",
});
await chmod(tmp, 0o755);
await rename(tmp, outfile);
