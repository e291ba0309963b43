/**
 * The CLI on each supported Node LTS line (22 and 24, pinned by `.ci/tools node`): the built
 * bundle runs a short workflow with that node, from key generation to a pull, plus a component
 * Node 20 cannot compile (extended-const). `pnpm test:node-lts` runs the CLI test files under each
 * line in full; this is the part `pnpm test` runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, writeFile } from "node:fs/promises";
import { CLI_PATH, cliBuilt } from "../helpers/cli.ts";
import { oracle, oraclesMissing } from "../helpers/oracles.ts";
import { runCommand } from "../helpers/processes.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { simpleComponent, watToWasm } from "../helpers/wasm-fixtures.ts";
import { bytesId } from "../helpers/bytes.ts";

const EXTENDED_CONST_WAT = `(component
  (core module $m
    (global $g i32 (i32.add (i32.const 40) (i32.const 2)))
    (func (export "answer") (result i32) global.get $g))
  (core instance $i (instantiate $m))
  (func $answer (result u32) (canon lift (core func $i "answer")))
  (export "answer" (func $answer)))`;

for (const line of ["node22", "node24"] as const) {
  describe.skipIf(!cliBuilt() || oraclesMissing([line]))(`the CLI on ${line}`, () => {
    let tmp: Tmp;
    let node: string;
    const cli = async (...args: string[]) => runCommand(node, [CLI_PATH, ...args], { timeoutMs: 60_000 });

    beforeAll(async () => {
      node = oracle(line);
      tmp = await makeTmp(`node-lts-${line}`);
    });
    afterAll(async () => {
      await tmp?.cleanup();
    });

    it("reports its version and the node it runs on", async () => {
      const v = await runCommand(node, ["--version"], { timeoutMs: 30_000 });
      expect(v.stdout).toMatch(line === "node22" ? /^v22\./ : /^v24\./);
      const r = await cli("--version");
      expect(r.code, r.stderr).toBe(0);
    });

    it("keygen, sign, verify, image, push to a layout, policy check and pull from it", async () => {
      const wasm = tmp.path("app.wasm");
      await writeFile(wasm, await simpleComponent());
      const steps: string[][] = [
        ["keygen", "--secret-key", tmp.path("k.sec"), "--public-key", tmp.path("k.pub")],
        ["sign", "-i", wasm, "-o", tmp.path("signed.wasm"), "-k", tmp.path("k.sec")],
        ["verify", "-i", tmp.path("signed.wasm"), "-K", tmp.path("k.pub")],
        ["image", tmp.path("signed.wasm"), "--tar", tmp.path("image.tar")],
        ["push", tmp.path("signed.wasm"), `oci-layout:${tmp.path("layout")}:v1`],
        ["pull", `oci-layout:${tmp.path("layout")}:v1`, "-o", tmp.path("pulled.wasm")],
      ];
      for (const args of steps) {
        const r = await cli(...args);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
      }
      expect(bytesId(await readFile(tmp.path("pulled.wasm")))).toEqual(bytesId(await readFile(tmp.path("signed.wasm"))));
      await writeFile(tmp.path("policy.json"), JSON.stringify({ default_signing_required: true, keys: { k: { public_key: tmp.path("k.pub"), format: "compact" } } }));
      const allow = await cli("policy", "check", "--policy", tmp.path("policy.json"), "-i", tmp.path("signed.wasm"), "--json");
      expect(allow.code, allow.stderr).toBe(0);
      expect(JSON.parse(allow.stdout)).toMatchObject({ allow: true, verifiedKey: "k" });
      const deny = await cli("policy", "check", "--policy", tmp.path("policy.json"), "-i", wasm);
      expect(deny.code).toBe(1);
    });

    it("runs a component that uses extended-const (Node 20 cannot compile it)", async () => {
      const file = tmp.path("ext.wasm");
      await writeFile(file, await watToWasm(EXTENDED_CONST_WAT));
      const r = await cli("run", file, "--invoke", "answer()", "--expect", "42");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("42\n");
    });
  });
}
