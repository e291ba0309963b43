/**
 * `wasm-oci compose` vs `wac compose` on the reference implementation's own fixtures
 * (../shared/conformance/wac): every resolution and encoding case that must succeed, composed
 * with `--deps-dir <case dir> -i` by both tools with default flags (so both validate), and every
 * case that must fail, which both must reject. The encoding fixtures' bytes are wac's: ours must
 * be identical once `producers` is dropped. Also the README example (`examples/script.wac`),
 * with its components defined inline, whose greeting both outputs must give in wasmtime and jco.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, REPO_ROOT } from "../helpers/cli.ts";
import { oraclesMissing } from "../helpers/oracles.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { differential, Tally, type CaseSpec } from "./lib/compare.ts";

const WAC = join(REPO_ROOT, "..", "shared", "conformance", "wac");
const PARSER_TESTS = join(WAC, "crates", "wac-parser", "tests");
const present = existsSync(PARSER_TESTS);

function cases(kind: "resolution" | "encoding", fail: boolean): CaseSpec[] {
  const dir = fail ? join(PARSER_TESTS, kind, "fail") : join(PARSER_TESTS, kind);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".wac"))
    .sort()
    .map((f) => {
      const name = f.slice(0, -4);
      const deps = join(dir, name);
      // A case without its own folder has no dependencies: an empty --deps-dir.
      const args = [join(dir, f), ...(existsSync(deps) ? ["--deps-dir", deps] : ["--deps-dir", join(dir, "__none__")]), "-i"];
      return { name: `${kind}${fail ? "-fail" : ""}-${name}`, compose: { command: "compose" as const, args }, bytesReference: kind === "encoding" };
    });
}

const OK = [...cases("resolution", false), ...cases("encoding", false)];
const FAIL = [...cases("resolution", true), ...cases("encoding", true)];

describe.skipIf(!present || !cliBuilt() || oraclesMissing(["wac", "wasm-tools", "wasmtime"]))("differential: wac's fixtures", () => {
  const tally = new Tally("compose, wac fixtures");
  let tmp: Tmp;
  beforeAll(async () => {
    tmp = await makeTmp("diff-fixtures");
  });
  afterAll(async () => {
    tally.print();
    await tmp?.cleanup();
  });

  it.each(OK.map((c) => [c.name, c] as const))("%s: both compose, same WIT, valid", async (_name, spec) => {
    const r = await differential(spec, tmp.dir, tally);
    expect(r.problems).toEqual([]);
    expect(r.verdict).not.toBe("both-rejected");
  }, 120_000);

  // Over a hundred small independent cases, mostly process start-up: four at a time.
  it.concurrent.each(FAIL.map((c) => [c.name, c] as const))("%s: both reject", async (_name, spec) => {
    const r = await differential(spec, tmp.dir, tally);
    expect(r.problems).toEqual([]);
    expect(r.verdict).toBe("both-rejected");
  }, 120_000);

  it("the README example (a string crosses components): the same greeting from both outputs in wasmtime and jco", async () => {
    const examples = join(WAC, "examples");
    const spec: CaseSpec = {
      name: "readme-script",
      compose: { command: "compose", args: [join(examples, "script.wac"), "--deps-dir", join(examples, "deps")] },
      calls: [{ invoke: "greet()", expect: "Hello, World!" }],
    };
    const r = await differential(spec, tmp.dir, tally);
    expect(r.problems).toEqual([]);
  }, 240_000);
});
