// esbuild options for the bzlmod build of the CLI (tools/BUILD.bazel), matching tools/build.mjs:
// bundled CommonJS dependencies call require(), which an ESM bundle must define.
export default {
  banner: {
    js: "import { createRequire as __wasmOciCreateRequire } from 'node:module';\nconst require = __wasmOciCreateRequire(import.meta.url);",
  },
  legalComments: "none",
};
