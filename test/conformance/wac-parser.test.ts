import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseDocument } from "../../tools/src/wac/parser.ts";
import { SourceError } from "../../tools/src/wac/diagnostics.ts";

/**
 * The reference implementation's parser fixtures: every `ok` case parses, every `fail/`
 * case is rejected with a positioned SourceError. The AST JSON beside them is specific to
 * the Rust implementation and is not compared.
 */
const root = fileURLToPath(new URL("../../../shared/conformance/wac/crates/wac-parser/tests/parser", import.meta.url));
const present = existsSync(root);
const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".wac")).sort() : []);

const counts = { passed: 0, total: 0 };

describe.skipIf(!present)("wac-parser conformance: parser", () => {
  afterAll(() => {
    console.log(`parser: ${counts.passed}/${counts.total}`);
  });
  for (const f of list(root)) {
    counts.total++;
    it(`ok: ${f}`, () => {
      const text = readFileSync(join(root, f), "utf8");
      parseDocument({ path: f, text });
      counts.passed++;
    });
  }
  for (const f of list(join(root, "fail"))) {
    counts.total++;
    it(`fail: ${f}`, () => {
      const text = readFileSync(join(root, "fail", f), "utf8");
      let err: unknown;
      try {
        parseDocument({ path: `fail/${f}`, text });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SourceError);
      const se = err as SourceError;
      expect(se.code).toBe("WAC_SYNTAX");
      expect(se.message).toContain(`fail/${f}:${se.line}:${se.column}`);
      counts.passed++;
    });
  }
});
