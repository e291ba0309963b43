import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { resolveDocument } from "../../tools/src/wac/resolve.ts";
import { packageFromBytes } from "../../tools/src/component/package.ts";
import { WasmOciError } from "../../tools/src/util/errors.ts";

/**
 * The reference implementation's resolution fixtures: every case outside `fail/` resolves,
 * every case in `fail/` is rejected with a typed error. Dependencies of `X.wac` are looked up
 * under the sibling directory `X/`, as the reference harness does. The Graphviz dumps beside
 * the cases are specific to the Rust implementation and are not compared.
 */
const root = fileURLToPath(new URL("../../../shared/conformance/wac/crates/wac-parser/tests/resolution", import.meta.url));
const present = existsSync(root);
const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".wac")).sort() : []);
const counts = { passed: 0, total: 0 };

async function resolveCase(dir: string, file: string) {
  const text = readFileSync(join(dir, file), "utf8");
  return resolveDocument(
    { path: file, text },
    { depsDir: join(dir, file.slice(0, -4)), loadComponent: ({ name, version, bytes, types }) => packageFromBytes(name, version, bytes, types) },
  );
}

describe.skipIf(!present)("wac-parser conformance: resolution", () => {
  afterAll(() => {
    console.log(`resolution: ${counts.passed}/${counts.total}`);
  });
  for (const f of list(root)) {
    counts.total++;
    it(`ok: ${f}`, async () => {
      await resolveCase(root, f);
      counts.passed++;
    });
  }
  for (const f of list(join(root, "fail"))) {
    counts.total++;
    it(`fail: ${f}`, async () => {
      let err: unknown;
      try {
        await resolveCase(join(root, "fail"), f);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WasmOciError);
      counts.passed++;
    });
  }
});
