import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { cliBuilt, runCli } from "../helpers/cli.ts";
import { parseInvoke } from "../../tools/src/run/invoke-expr.ts";

// A component exporting a top-level function, a u64 function, and an interface instance.
const MATH_WAT = `(component
  (core module $m
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "big") (result i64) i64.const 9007199254740993)
    (func (export "boom") (result i32) unreachable))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (func $big (result u64) (canon lift (core func $i "big")))
  (func $boom (result u32) (canon lift (core func $i "boom")))
  (instance $ops (export "add" (func $add)))
  (export "test:math/ops@0.1.0" (instance $ops))
  (export "add-numbers" (func $add))
  (export "big" (func $big))
  (export "boom" (func $boom))
)`;

// Imports an interface nobody provides: running it alone must fail with a clear message.
const NEEDS_HOST_WAT = `(component
  (import "test:host/log" (instance $h (export "ping" (func (result u32)))))
  (alias export $h "ping" (func $ping))
  (core func $p (canon lower (func $ping)))
  (core module $m (import "h" "ping" (func $ping (result i32))) (func (export "go") (result i32) call $ping))
  (core instance $hi (export "ping" (func $p)))
  (core instance $i (instantiate $m (with "h" (instance $hi))))
  (func $go (result u32) (canon lift (core func $i "go")))
  (export "go" (func $go))
)`;

// Imports a WASI interface: served by @bytecodealliance/preview2-shim, linked into the temp folder.
const WASI_WAT = `(component
  (import "wasi:random/random@0.2.3" (instance $r (export "get-random-u64" (func (result u64)))))
  (alias export $r "get-random-u64" (func $g))
  (core func $gl (canon lower (func $g)))
  (core module $m (import "r" "g" (func $g (result i64)))
    (func (export "roll") (result i32) call $g i64.const 6 i64.rem_u i32.wrap_i64 i32.const 1 i32.add))
  (core instance $ri (export "g" (func $gl)))
  (core instance $i (instantiate $m (with "r" (instance $ri))))
  (func $roll (result u32) (canon lift (core func $i "roll")))
  (export "roll" (func $roll))
)`;

describe.skipIf(!cliBuilt())("wasm-oci run", () => {
  let dir: string;
  let math: string;
  let needsHost: string;
  let wasi: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "run-test-"));
    math = join(dir, "math.wasm");
    needsHost = join(dir, "needs-host.wasm");
    await writeFile(math, await parse(MATH_WAT));
    await writeFile(needsHost, await parse(NEEDS_HOST_WAT));
    wasi = join(dir, "wasi.wasm");
    await writeFile(wasi, await parse(WASI_WAT));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("calls a top-level function export by its WIT name", async () => {
    const r = await runCli(["run", math, "--invoke", "add-numbers(2, 40)"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBe(42);
  });

  it("calls a function of an instance export, by full name and by iface.fn", async () => {
    const full = await runCli(["run", math, "--invoke", "test:math/ops@0.1.0#add(1, 2)", "--json"]);
    expect(full.code, full.stderr).toBe(0);
    expect(JSON.parse(full.stdout)).toEqual({ invoke: "test:math/ops@0.1.0#add(1, 2)", result: 3, ok: true });
    const short = await runCli(["run", math, "--invoke", "ops.add(5, 6)", "--expect", "11"]);
    expect(short.code, short.stderr).toBe(0);
  });

  it("prints 64-bit integers beyond 2^53 exactly (as strings)", async () => {
    const r = await runCli(["run", math, "--invoke", "big()", "--expect", '"9007199254740993"']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBe("9007199254740993");
  });

  it("serves WASI imports from preview2-shim and leaves no temp folder behind", async () => {
    const tmpRoot = join(dir, "tmp-root");
    await mkdir(tmpRoot);
    const r = await runCli(["run", wasi, "--invoke", "roll()"], { env: { TEST_TMPDIR: tmpRoot } });
    expect(r.code, r.stderr).toBe(0);
    const n = JSON.parse(r.stdout) as number;
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(6);
    expect(await readdir(tmpRoot)).toEqual([]);
  });

  it("exits 1 with both values when --expect differs", async () => {
    const r = await runCli(["run", math, "--invoke", "add-numbers(1, 1)", "--expect", "3"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("expected: 3");
    expect(r.stderr).toContain("actual:   2");
  });

  it("exits 1 when the call traps", async () => {
    const r = await runCli(["run", math, "--invoke", "boom()"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/trapped|unreachable/i);
  });

  it("exits 2 naming the missing export and the ones that exist", async () => {
    const r = await runCli(["run", math, "--invoke", "nope()"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no function "nope"');
    expect(r.stderr).toContain("addNumbers");
  });

  it("exits 1 with a clear message when the component imports something without a host", async () => {
    const r = await runCli(["run", needsHost, "--invoke", "go()"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot instantiate");
  });

  it("rejects malformed --invoke and --expect as usage errors", async () => {
    expect((await runCli(["run", math, "--invoke", "add(1,"])).code).toBe(2);
    expect((await runCli(["run", math, "--invoke", "add-numbers(1, 2)", "--expect", "{bad"])).code).toBe(2);
    expect((await runCli(["run", join(dir, "missing.wasm"), "--invoke", "f()"])).code).toBe(2);
  });
});

describe("parseInvoke", () => {
  it("splits instance, function and JSON arguments", () => {
    expect(parseInvoke('greet("a, b", [1, 2])')).toEqual({ func: "greet", args: ["a, b", [1, 2]] });
    expect(parseInvoke("ops.add(1)")).toEqual({ instance: "ops", func: "add", args: [1] });
    expect(parseInvoke("a:b/c@1.2.3#f()")).toEqual({ instance: "a:b/c@1.2.3", func: "f", args: [] });
    expect(() => parseInvoke("a:b/c@1.2.3(1)")).toThrow(/#function/);
    expect(() => parseInvoke("f(x)")).toThrow(/JSON/);
  });
});
