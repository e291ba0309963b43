/**
 * Components from real toolchains, composed by us and by wac: a Python provider (componentize-py)
 * exporting tc:demo/counter, whose tally resource crosses into a consumer written in JavaScript
 * (componentize-js) or in Python, which imports it and exports run(). Both keep their default
 * WASI imports, which the compositions import (`...`). Both outputs must be valid, read as the
 * same WIT and answer the same in wasmtime and jco. jco runs them under Node 22 (`node22` from
 * .ci/tools): both toolchains emit extended-const, which Node 20's V8 refuses.
 *
 * The builds take a minute each and componentize-js is not reproducible, so each component is
 * built once and kept under the tools cache, keyed by the SHA-256 of the tool, its version and the
 * sources (toolchains/); a changed source builds anew.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt } from "../helpers/cli.ts";
import { ORACLE_BIN, oracle, oraclesMissing } from "../helpers/oracles.ts";
import { runCommand } from "../helpers/processes.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { differential, Tally } from "./lib/compare.ts";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "toolchains");
const BUILDS = join(ORACLE_BIN, "..", "toolchain-builds");

interface Build {
  tool: "componentize-py" | "componentize-js";
  /** Folder under toolchains/ with the sources. */
  dir: string;
  args: (src: string, wit: string, out: string) => string[];
}

const BUILDS_BY_NAME: Record<string, Build> = {
  "py-provider": { tool: "componentize-py", dir: "py-provider", args: (src, wit, out) => ["-d", wit, "-w", "provider", "componentize", "-p", src, "app", "-o", out] },
  "py-consumer": { tool: "componentize-py", dir: "py-consumer", args: (src, wit, out) => ["-d", wit, "-w", "consumer", "componentize", "-p", src, "app", "-o", out] },
  // http and fetch-event off: `wasmtime run` links no wasi:http unless asked (-S http).
  "js-consumer": { tool: "componentize-js", dir: "js-consumer", args: (src, wit, out) => [join(src, "consumer.js"), "--wit", wit, "--world-name", "consumer", "--disable", "http", "fetch-event", "--out", out] },
};

async function sourceHash(build: Build): Promise<string> {
  const h = createHash("sha256");
  const version = await runCommand(oracle(build.tool), ["--version"], { timeoutMs: 60_000 });
  h.update(`${build.tool} ${version.stdout.trim()}\n${build.args("SRC", "WIT", "OUT").join(" ")}\n`);
  for (const dir of [join(SRC, "wit"), join(SRC, build.dir)]) {
    for (const f of (await readdir(dir)).sort()) h.update(`${f}\n`).update(await readFile(join(dir, f)));
  }
  return h.digest("hex").slice(0, 32);
}

/** The component built from toolchains/<dir>, from the cache or built now (then cached). */
async function component(name: string, tmp: Tmp): Promise<string> {
  const build = BUILDS_BY_NAME[name]!;
  const cached = join(BUILDS, `${name}-${await sourceHash(build)}.wasm`);
  if (existsSync(cached)) return cached;
  // Tools write next to their sources (bindings, caches): build from a copy.
  const src = tmp.path("src", name);
  await mkdir(src, { recursive: true });
  for (const f of await readdir(join(SRC, build.dir))) await copyFile(join(SRC, build.dir, f), join(src, f));
  const out = tmp.path(`${name}.wasm`);
  const r = await runCommand(oracle(build.tool), build.args(src, join(SRC, "wit"), out), { timeoutMs: 600_000, cwd: src });
  if (r.code !== 0) throw new Error(`${build.tool} failed for ${name}: ${r.stderr.slice(-2000)}`);
  await mkdir(BUILDS, { recursive: true });
  await copyFile(out, `${cached}.partial`);
  await rename(`${cached}.partial`, cached);
  return cached;
}

const APP = `package tc:app;

let provider = new tc:provider { ... };
let consumer = new tc:consumer { ...provider, ... };
export consumer.run;
`;

describe.skipIf(!cliBuilt() || oraclesMissing(["wac", "wasm-tools", "wasmtime", "componentize-py", "componentize-js", "node22"]))("differential: components from componentize-py and componentize-js", () => {
  const tally = new Tally("compose, toolchain components");
  let tmp: Tmp;
  const wasm: Record<string, string> = {};

  beforeAll(async () => {
    tmp = await makeTmp("diff-toolchains");
    await writeFile(tmp.path("app.wac"), APP);
    // One at a time: each build is a large single process (componentize-js ~775 MB).
    for (const name of Object.keys(BUILDS_BY_NAME)) wasm[name] = await component(name, tmp);
  }, 1_200_000);

  afterAll(async () => {
    tally.print();
    await tmp?.cleanup();
  });

  it.for([
    ["python provider, javascript consumer", "js-consumer", "py+js"],
    ["python provider, python consumer", "py-consumer", "py+py"],
  ] as const)("%s: composed by both, same WIT, same answer in wasmtime and jco", { timeout: 900_000 }, async ([, consumer, who]) => {
    const args = [tmp.path("app.wac"), "--dep", `tc:provider=${wasm["py-provider"]!}`, "--dep", `tc:consumer=${wasm[consumer]!}`];
    const r = await differential(
      { name: `toolchains-${consumer}`, compose: { command: "compose", args }, calls: [{ invoke: `run(${JSON.stringify(who)})`, expect: `${who}:42` }], jcoNode: oracle("node22") },
      tmp.dir,
      tally,
    );
    expect(r.problems).toEqual([]);
    expect(r.verdict).not.toBe("both-rejected");
  });

  // The same wiring as the first case (which runs it), so not run again: a minute per runtime here.
  it("plug: the javascript consumer as the socket, the python provider as the plug", { timeout: 900_000 }, async () => {
    const r = await differential(
      { name: "toolchains-plug", compose: { command: "plug", args: [wasm["js-consumer"]!, "--plug", wasm["py-provider"]!] } },
      tmp.dir,
      tally,
    );
    expect(r.problems).toEqual([]);
    expect(r.verdict).not.toBe("both-rejected");
  });
});
