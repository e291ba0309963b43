import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, REPO_ROOT, runCli } from "../helpers/cli.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";

/**
 * The reference's resolution and encoding fixtures that must succeed, composed as a user would:
 * the built CLI with default flags (so validated), `--deps-dir <case dir> -i`. Many of them
 * export types, interfaces or worlds: valid components without a WIT reading, which validation
 * must accept (issue 11: they were refused as VALIDATION_FAILED or with a wasm-tools panic).
 */
const TESTS = join(REPO_ROOT, "..", "shared", "conformance", "wac", "crates", "wac-parser", "tests");
const CASES = ["resolution", "encoding"].flatMap((kind) =>
  existsSync(join(TESTS, kind)) ? readdirSync(join(TESTS, kind)).filter((f) => f.endsWith(".wac")).sort().map((f) => [kind, f.slice(0, -4)] as const) : [],
);

describe.skipIf(CASES.length === 0 || !cliBuilt())("wac fixtures through the CLI, validated", () => {
  let tmp: Tmp;
  beforeAll(async () => {
    tmp = await makeTmp("wac-cli-fixtures");
  });
  afterAll(async () => {
    await tmp?.cleanup();
  });

  it.each(CASES)("%s/%s composes with default validation", async (kind, name) => {
    const deps = join(TESTS, kind, name);
    const out = tmp.path(`${kind}-${name}.wasm`);
    const r = await runCli(["compose", join(TESTS, kind, `${name}.wac`), "--deps-dir", existsSync(deps) ? deps : tmp.path("none"), "-i", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  });
});
