/**
 * `wasm-oci compose` vs `wac compose` on every app of examples/ (the WAC the Bazel targets use,
 * or what `wasm-oci wac generate` writes for them), with the components built from the
 * examples' WAT + WIT: both outputs valid, same WIT, and the example's answers from both in
 * wasmtime and in jco. The apps' component-model nesting (the composition the CLI-level example
 * test runs through jco) must answer the same in wasmtime.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, runCli } from "../helpers/cli.ts";
import { APPS, COMPONENTS, EX, nestComponents } from "../helpers/example-apps.ts";
import { oraclesMissing } from "../helpers/oracles.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { differential, Tally } from "./lib/compare.ts";
import { runWasmtime } from "./lib/tools.ts";

const used = [...new Set(Object.values(APPS).flatMap((a) => Object.values(a.deps)))].sort();

describe.skipIf(!cliBuilt() || oraclesMissing(["wac", "wasm-tools", "wasmtime"]))("differential: the examples' apps", () => {
  const tally = new Tally("compose, examples");
  let tmp: Tmp;
  const wasm: Record<string, string> = {};

  beforeAll(async () => {
    tmp = await makeTmp("diff-examples");
    for (let i = 0; i < used.length; i += 2) {
      await Promise.all(
        used.slice(i, i + 2).map(async (name) => {
          const src = COMPONENTS[name]!;
          const out = tmp.path(`${name}.wasm`);
          const r = await runCli(["component", "new", "--wat", join(EX, src.wat), "--wit", src.wit, "--world", src.world, "-o", out]);
          if (r.code !== 0) throw new Error(`component new ${name} failed: ${r.stderr}`);
          wasm[name] = out;
        }),
      );
    }
  }, 240_000);

  afterAll(async () => {
    tally.print();
    await tmp?.cleanup();
  });

  it.for(Object.keys(APPS))("%s: both compose it, same WIT, same answers in wasmtime and jco", { timeout: 300_000 }, async (appName) => {
    const app = APPS[appName]!;
    const file = tmp.path(`${appName}.wac`);
    const deps = Object.entries(app.deps).flatMap(([pkg, c]) => ["--dep", `${pkg}=${wasm[c]!}`]);
    if (app.wac === "generate") {
      const gen = await runCli(["wac", "generate", "--package", `rules-wasm-oci:${appName.replaceAll("_", "-")}`, ...deps, "-o", file]);
      expect(gen.code, gen.stderr).toBe(0);
    } else {
      await writeFile(file, await app.wac());
    }
    const r = await differential(
      { name: appName, compose: { command: "compose", args: [file, ...deps] }, calls: app.calls.map(([invoke, answer]) => ({ invoke, expect: answer })) },
      tmp.dir,
      tally,
    );
    expect(r.problems).toEqual([]);
    expect(r.verdict).not.toBe("both-rejected");
  });

  it.for(Object.keys(APPS))("%s: its component-model nesting answers the same in wasmtime", { timeout: 120_000 }, async (appName) => {
    const app = APPS[appName]!;
    const out = tmp.path(`${appName}.nested.wasm`);
    await writeFile(out, await nestComponents(app, wasm));
    for (const [invoke, answer] of app.calls) {
      expect(await runWasmtime(out, invoke)).toEqual({ ok: true, value: answer });
    }
  });
});
