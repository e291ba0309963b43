/**
 * `wasm-oci compose` vs `wac compose` on generated WAC documents (lib/gen-compositions.ts) over
 * small components (lib/gen-components.ts): both accept, both outputs pass `wasm-tools validate`
 * and read as the same WIT, and every runnable one gives the answer its wiring implies in
 * wasmtime and jco. Seeded and bounded: DIFF_SEED (default below) and DIFF_CASES (default 24);
 * the seed is printed so a failing run can be repeated.
 */
import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt } from "../helpers/cli.ts";
import { oraclesMissing } from "../helpers/oracles.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { differential, Tally } from "./lib/compare.ts";
import { writeGenComponents } from "./lib/gen-components.ts";
import { generateCase } from "./lib/gen-compositions.ts";

const SEED = Number(process.env["DIFF_SEED"] ?? 20261204);
const COUNT = Math.min(Number(process.env["DIFF_CASES"] ?? 24), 500);
const CASES = Array.from({ length: COUNT }, (_v, i) => generateCase(SEED, i));

describe.skipIf(!cliBuilt() || oraclesMissing(["wac", "wasm-tools", "wasmtime"]))(`differential: generated compositions (seed ${SEED})`, () => {
  const tally = new Tally(`compose, generated (DIFF_SEED=${SEED}, ${COUNT} cases)`);
  const features = new Map<string, number>();
  let tmp: Tmp;

  beforeAll(async () => {
    tmp = await makeTmp("diff-generated");
    await writeGenComponents(tmp.path("deps"));
  });

  afterAll(async () => {
    tally.print();
    process.stdout.write(`  features covered: ${[...features].map(([f, n]) => `${f} ${n}`).join(", ")}\n`);
    await tmp?.cleanup();
  });

  it.for(CASES.map((c) => [c.name, c] as const))("%s", { timeout: 300_000 }, async ([, c]) => {
    for (const f of c.features) features.set(f, (features.get(f) ?? 0) + 1);
    const file = tmp.path(`${c.name}.wac`);
    await writeFile(file, c.wac);
    const args = [file, "--deps-dir", tmp.path("deps"), ...(c.importDeps ? ["-i"] : [])];
    const r = await differential({ name: c.name, compose: { command: "compose", args }, calls: c.calls }, tmp.dir, tally);
    expect(r.problems, c.wac).toEqual([]);
    expect(r.verdict, c.wac).not.toBe("both-rejected");
  });
});
