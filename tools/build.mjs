// Builds tools/dist: the CLI bundle and the files it loads at run time, so that
// `node tools/dist/wasm-oci.mjs` works with no node_modules anywhere (Bazel actions declare this
// folder as their inputs; the release archive ships it):
//   wasm-oci.mjs     the CLI (esbuild bundle of tools/src)
//   jco/             jco-transpile bundled into two ES modules (wasm-tools.mjs, transpile.mjs) and
//                    the wasm files they load relative to themselves
//   preview2-shim/   the WASI shim package, imported by jco and by components `run` transpiles
// The output depends only on the sources and the locked packages (no dates, no absolute paths):
// tools/release.mjs and test/integration/release.test.ts rely on that.
//
//   node tools/build.mjs                 # tools/dist (pnpm build)
//   node tools/build.mjs --outdir DIR    # the same files elsewhere (the bundle-equals-sources test)
import { build } from "esbuild";
import { builtinModules, createRequire } from "node:module";
import { chmod, cp, mkdir, readdir, realpath, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = dirname(fileURLToPath(import.meta.url));

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

/** The CLI imports jco by package name; in the bundle that is the jco/ folder beside it. */
const jcoBesideBundle = {
  name: "jco-beside-bundle",
  setup(b) {
    const map = {
      "@bytecodealliance/jco-transpile": "./jco/transpile.mjs",
      "@bytecodealliance/jco-transpile/wasm-tools": "./jco/wasm-tools.mjs",
    };
    b.onResolve({ filter: /^@bytecodealliance\// }, (args) => {
      const to = map[args.path];
      if (to === undefined) throw new Error(`tools/build.mjs: ${args.importer} imports ${args.path}, which the bundle does not ship`);
      return { path: to, external: true };
    });
  },
};

/**
 * jco's modules import the shim by package name: point them at the copy in ../preview2-shim, the
 * same files a transpiled component's imports resolve to. transpile.js imports oxc-minify (a
 * native addon) for its `minify` option, which the CLI never sets: a stub that says so.
 */
const jcoDeps = {
  name: "jco-deps",
  setup(b) {
    b.onResolve({ filter: /^@bytecodealliance\/preview2-shim(\/.*)?$/ }, (args) => {
      const sub = args.path.slice("@bytecodealliance/preview2-shim".length).replace(/^\//, "") || "index";
      return { path: `../preview2-shim/dist/nodejs/${sub}.js`, external: true };
    });
    b.onResolve({ filter: /^oxc-minify$/ }, () => ({ path: "oxc-minify", namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents: 'export function minify() { throw new Error("wasm-oci bundles jco-transpile without oxc-minify: transpile with minify: false"); }',
      loader: "js",
    }));
  },
};

async function packageDir(fromDir, name) {
  const req = createRequire(join(fromDir, "noop.js"));
  let dir = dirname(await realpath(req.resolve(name)));
  while (!(await readdir(dir)).includes("package.json")) dir = dirname(dir);
  return dir;
}

async function buildCli(out) {
  await build({
    entryPoints: [join(root, "src", "cli", "main.ts")],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    outfile: join(out, "wasm-oci.mjs"),
    banner: {
      // Bundled CommonJS dependencies call require(); give ESM output one.
      js: "#!/usr/bin/env node\nimport { createRequire as __wasmOciCreateRequire } from 'node:module';\nconst require = __wasmOciCreateRequire(import.meta.url);",
    },
    define: { __WASM_OCI_BUNDLE__: "true" },
    sourcemap: false,
    // Startup dominates small transfers: a minified bundle compiles in about half the time.
    minify: true,
    keepNames: true,
    legalComments: "none",
    plugins: [jcoBesideBundle, lazyBuiltins],
    logLevel: "warning",
  });
  await chmod(join(out, "wasm-oci.mjs"), 0o755);
}

async function buildJco(out, jcoDir) {
  const jcoOut = join(out, "jco");
  await build({
    entryPoints: { "wasm-tools": join(jcoDir, "dist", "wasm-tools.js"), transpile: join(jcoDir, "dist", "index.js") },
    bundle: true,
    splitting: true,
    platform: "node",
    target: "node20",
    format: "esm",
    outdir: jcoOut,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunk-[hash]",
    // The wasm files are found with new URL("./x.wasm", import.meta.url): every output file stays
    // in this one folder, beside them.
    sourcemap: false,
    minify: true,
    legalComments: "none",
    plugins: [jcoDeps],
    logLevel: "error",
  });
  const vendor = join(jcoDir, "vendor");
  for (const f of (await readdir(vendor)).filter((n) => n.endsWith(".wasm")).sort()) await cp(join(vendor, f), join(jcoOut, f));
  await cp(join(jcoDir, "LICENSE"), join(jcoOut, "LICENSE"));
}

async function copyShim(out, shimDir) {
  const shimOut = join(out, "preview2-shim");
  // Node's modules only: the browser build and the type declarations are never loaded.
  for (const sub of ["common", "io", "nodejs", "synckit"]) {
    const from = join(shimDir, "dist", sub);
    for (const f of (await readdir(from)).filter((n) => n.endsWith(".js")).sort()) {
      await mkdir(join(shimOut, "dist", sub), { recursive: true });
      await cp(join(from, f), join(shimOut, "dist", sub, f));
    }
  }
  await cp(join(shimDir, "package.json"), join(shimOut, "package.json"));
  await cp(join(shimDir, "LICENSE"), join(shimOut, "LICENSE"));
}

const { values: cli } = parseArgs({ options: { outdir: { type: "string" } } });
const dist = resolve(cli.outdir ?? join(root, "dist"));
const stage = `${dist}.tmp-${process.pid}`;
await rm(stage, { recursive: true, force: true });
await mkdir(stage, { recursive: true });
try {
  const jcoDir = await packageDir(join(root, ".."), "@bytecodealliance/jco-transpile");
  const shimDir = await packageDir(jcoDir, "@bytecodealliance/preview2-shim");
  await buildCli(stage);
  await buildJco(stage, jcoDir);
  await copyShim(stage, shimDir);
  await writeFile(
    join(stage, "README.md"),
    "Built by `pnpm build` (tools/build.mjs) from tools/src and the locked npm packages; do not edit.\n" +
      "jco/ holds @bytecodealliance/jco-transpile and preview2-shim/ @bytecodealliance/preview2-shim\n" +
      "(Apache-2.0 WITH LLVM-exception, see the LICENSE files beside them).\n",
  );
  // Swap the whole folder so that a reader never sees a bundle next to assets of another build.
  const old = `${dist}.old-${process.pid}`;
  await rename(dist, old).catch((e) => {
    if (e.code !== "ENOENT") throw e;
  });
  await rename(stage, dist);
  await rm(old, { recursive: true, force: true });
} catch (e) {
  await rm(stage, { recursive: true, force: true });
  throw e;
}
