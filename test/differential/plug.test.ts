/**
 * `wasm-oci plug` vs `wac plug`: sockets and plugs from gen-components.ts (a resource crossing
 * into the socket, two plugs, a plug with imports of its own that stay imports), the semver
 * case of the plug unit test (a 0.2.3 export plugs a 0.2.0 import), and plugs that match
 * nothing, which both must refuse.
 */
import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt } from "../helpers/cli.ts";
import { oraclesMissing } from "../helpers/oracles.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { watToWasm } from "../helpers/wasm-fixtures.ts";
import { differential, Tally, type Call } from "./lib/compare.ts";
import { writeGenComponents } from "./lib/gen-components.ts";

const SEMVER_SOCKET = `(component
  (import "a:b/c@0.2.0" (instance $c (export "f" (func (result u32)))))
  (alias export $c "f" (func $f))
  (export "run" (func $f)))`;

const semverPlug = (version: string): string => `(component
  (core module $m (func (export "f") (result i32) i32.const 7))
  (core instance $i (instantiate $m))
  (func $f (result u32) (canon lift (core func $i "f")))
  (instance $x (export "f" (func $f)))
  (export "a:b/c@${version}" (instance $x)))`;

const NUM: Call[] = [{ invoke: "gen:t/num#get()", expect: 0 }];
const num = (n: number): Call[] => NUM.map((c) => ({ ...c, expect: n }));

/** [name, socket, plugs, calls (empty: the result keeps imports), both must refuse]. */
const CASES: Array<[string, string, string[], Call[], boolean]> = [
  ["resource-into-socket", "gen/tally", ["ex/counter", "gen/n5"], num(15), false],
  ["two-plugs", "gen/adder", ["gen/n2", "gen/off7"], num(9), false],
  ["plug-keeps-its-imports", "gen/scale", ["gen/adder"], [], false],
  ["partial", "gen/adder", ["gen/off3"], [], false],
  ["semver-compatible", "semver-socket", ["semver-plug-0.2.3"], [{ invoke: "run()", expect: 7 }], false],
  ["semver-incompatible", "semver-socket", ["semver-plug-0.3.0"], [], true],
  ["nothing-matches", "ex/counter", ["gen/n1"], [], true],
];

describe.skipIf(!cliBuilt() || oraclesMissing(["wac", "wasm-tools", "wasmtime"]))("differential: plug", () => {
  const tally = new Tally("plug");
  let tmp: Tmp;

  beforeAll(async () => {
    tmp = await makeTmp("diff-plug");
    await writeGenComponents(tmp.path("deps"));
    await writeFile(tmp.path("deps", "semver-socket.wasm"), await watToWasm(SEMVER_SOCKET));
    for (const v of ["0.2.3", "0.3.0"]) await writeFile(tmp.path("deps", `semver-plug-${v}.wasm`), await watToWasm(semverPlug(v)));
  });

  afterAll(async () => {
    tally.print();
    await tmp?.cleanup();
  });

  it.for(CASES)("%s", { timeout: 240_000 }, async ([name, socket, plugs, calls, refused]) => {
    const args = [tmp.path("deps", `${socket}.wasm`), ...plugs.flatMap((p) => ["--plug", tmp.path("deps", `${p}.wasm`)])];
    const r = await differential({ name, compose: { command: "plug", args }, calls }, tmp.dir, tally);
    expect(r.problems).toEqual([]);
    if (refused) expect(r.verdict).toBe("both-rejected");
    else expect(r.verdict).not.toBe("both-rejected");
  });
});
