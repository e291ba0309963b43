import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { CLI_NODE, cliBuilt, runCli } from "../helpers/cli.ts";
import { runCommand } from "../helpers/processes.ts";
import { ORACLE_BIN, oraclesMissing } from "../helpers/oracles.ts";
import { COUNTER_WAT } from "../helpers/wasm-fixtures.ts";
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


// Writes "hello from the component\n" to WASI stdout, then returns 7.
const PRINT_WAT = `(component
  (import "wasi:io/streams@0.2.3" (instance $streams
    (export "output-stream" (type $os (sub resource)))
    (export "[method]output-stream.blocking-write-and-flush" (func (param "self" (borrow $os)) (param "contents" (list u8))))))
  (alias export $streams "output-stream" (type $os))
  (import "wasi:cli/stdout@0.2.3" (instance $stdout
    (alias outer 1 $os (type $os2))
    (export "get-stdout" (func (result (own $os2))))))
  (core module $mem (memory (export "memory") 1) (data (i32.const 0) "hello from the component\\n"))
  (core instance $memi (instantiate $mem))
  (alias core export $memi "memory" (core memory $memory))
  (core func $get (canon lower (func $stdout "get-stdout")))
  (core func $write (canon lower (func $streams "[method]output-stream.blocking-write-and-flush") (memory $memory)))
  (core module $m
    (import "h" "get" (func $get (result i32)))
    (import "h" "write" (func $write (param i32 i32 i32)))
    (func (export "greet") (result i32) (call $write (call $get) (i32.const 0) (i32.const 25)) (i32.const 7)))
  (core instance $hi (export "get" (func $get)) (export "write" (func $write)))
  (core instance $i (instantiate $m (with "h" (instance $hi))))
  (func $greet (result u32) (canon lift (core func $i "greet")))
  (export "greet" (func $greet)))`;

/** A typed COMPILE_FAILED (exit 1) naming the feature: no stack trace, nothing on stdout. */
function expectCompileFailed(r: { code: number; stdout: string; stderr: string }, feature: RegExp): void {
  expect(r.stderr).toContain("cannot compile a core module of the component: ");
  expect(r.stderr).toMatch(feature);
  expect(r.stderr).toContain("[COMPILE_FAILED]");
  expect(r.stderr).not.toMatch(/Unhandled|triggerUncaughtException|\n\s+at /);
  expect(r.stdout).toBe("");
  expect(r.code).toBe(1);
}

// count() returns how many variables wasi:cli/environment gives the component.
const ENV_COUNT_WAT = `(component
  (import "wasi:cli/environment@0.2.3" (instance $env
    (export "get-environment" (func (result (list (tuple string string)))))))
  (core module $mem
    (memory (export "memory") 4)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
      (global.set $next (i32.add (local.get $p) (local.get 3)))
      (local.get $p)))
  (core instance $memi (instantiate $mem))
  (alias core export $memi "memory" (core memory $memory))
  (alias core export $memi "realloc" (core func $realloc))
  (core func $getenv (canon lower (func $env "get-environment") (memory $memory) (realloc $realloc)))
  (core module $m
    (import "h" "getenv" (func $getenv (param i32)))
    (import "h" "memory" (memory 1))
    (func (export "count") (result i32) (call $getenv (i32.const 8)) (i32.load (i32.const 12))))
  (core instance $hi (export "getenv" (func $getenv)) (export "memory" (memory $memory)))
  (core instance $i (instantiate $m (with "h" (instance $hi))))
  (func $count (result u32) (canon lift (core func $i "count")))
  (export "count" (func $count)))`;

// A global initialised with i32.add: the extended-const proposal (componentize-qjs output uses it).
const EXTENDED_CONST_CORE = `(module
    (global $g i32 (i32.add (i32.const 40) (i32.const 2)))
    (func (export "answer") (result i32) global.get $g))`;
const EXTENDED_CONST_WAT = `(component
  (core module $m ${EXTENDED_CONST_CORE.slice("(module".length, -1)})
  (core instance $i (instantiate $m))
  (func $answer (result u32) (canon lift (core func $i "answer")))
  (export "answer" (func $answer)))`;
// The same with a second core module: jco compiles both at once, and the failing one's rejection
// was unobserved (an unhandled CompileError that left the temp folder).
const EXTENDED_CONST_TWO_WAT = `(component
  (core module $a (func (export "one") (result i32) i32.const 1))
  (core module $m ${EXTENDED_CONST_CORE.slice("(module".length, -1)})
  (core instance $ai (instantiate $a))
  (core instance $i (instantiate $m))
  (func $one (result u32) (canon lift (core func $ai "one")))
  (func $answer (result u32) (canon lift (core func $i "answer")))
  (export "one" (func $one))
  (export "answer" (func $answer)))`;

// rep-of(n): resource.new with rep n, resource.rep of the handle, resource.drop; returns the rep.
const REP_WAT = `(component
  (type $r (resource (rep i32)))
  (core func $new (canon resource.new $r))
  (core func $rep (canon resource.rep $r))
  (core func $drop (canon resource.drop $r))
  (core instance $ri (export "new" (func $new)) (export "rep" (func $rep)) (export "drop" (func $drop)))
  (core module $m
    (import "r" "new" (func $new (param i32) (result i32)))
    (import "r" "rep" (func $rep (param i32) (result i32)))
    (import "r" "drop" (func $drop (param i32)))
    (func (export "rep-of") (param $rep i32) (result i32)
      (local $h i32) (local $out i32)
      (local.set $h (call $new (local.get $rep)))
      (local.set $out (call $rep (local.get $h)))
      (call $drop (local.get $h))
      (local.get $out)))
  (core instance $i (instantiate $m (with "r" (instance $ri))))
  (func $repof (param "rep" u32) (result u32) (canon lift (core func $i "rep-of")))
  (export "rep-of" (func $repof)))`;

// COUNTER_WAT's interface plus a free function returning the resource: make(start) -> own<counter>.
const MAKE_COUNTER_WAT = COUNTER_WAT.replace(
  '(export "[method]counter.add" (func $add) (func (param "self" (borrow $rx)) (param "n" u32) (result u32))))',
  '(export "[method]counter.add" (func $add) (func (param "self" (borrow $rx)) (param "n" u32) (result u32)))\n    (export "make" (func $ctor) (func (param "start" u32) (result (own $rx)))))',
);

// Whether the node that runs the CLI (CLI_NODE: $WASM_OCI_NODE or ours) enables extended-const:
// Node 20 does not, 22 and 24 do.
const nodeHasExtendedConst = (async () => {
  const hex = Buffer.from(await parse(EXTENDED_CONST_CORE)).toString("hex");
  const r = await runCommand(CLI_NODE, ["-e", `process.exit(WebAssembly.validate(Buffer.from("${hex}", "hex")) ? 0 : 3)`], { timeoutMs: 30_000 });
  return r.code === 0;
})();

// i64.add128 (the wide-arithmetic proposal): jco accepts it, no Node release compiles it yet.
const WIDE_ARITHMETIC_TWO_WAT = `(component
  (core module $a (func (export "one") (result i32) i32.const 1))
  (core module $m
    (func (export "answer") (result i32)
      (i64.const 40) (i64.const 0) (i64.const 2) (i64.const 0) i64.add128 drop i32.wrap_i64))
  (core instance $ai (instantiate $a))
  (core instance $i (instantiate $m))
  (func $one (result u32) (canon lift (core func $ai "one")))
  (func $answer (result u32) (canon lift (core func $i "answer")))
  (export "one" (func $one))
  (export "answer" (func $answer)))`;

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

  it("the component's stdout goes to our stderr, never into the result: --json stays one JSON document", async () => {
    const print = join(dir, "print.wasm");
    await writeFile(print, await parse(PRINT_WAT));
    const r = await runCli(["run", print, "--invoke", "greet()", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ invoke: "greet()", result: 7, ok: true });
    expect(r.stderr).toContain("hello from the component");
    const plain = await runCli(["run", print, "--invoke", "greet()", "--expect", "7"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe("7\n");
  });

  it("the component sees only the variables given with --env, never ours (which may hold credentials), as in wasmtime", async () => {
    const envWasm = join(dir, "env-count.wasm");
    await writeFile(envWasm, await parse(ENV_COUNT_WAT));
    const secretEnv = { env: { WASM_OCI_TEST_REGISTRY_TOKEN: "s3cret-token" } };
    const none = await runCli(["run", envWasm, "--invoke", "count()"], secretEnv);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe("0\n");
    const two = await runCli(["run", envWasm, "--invoke", "count()", "--env", "A=1", "--env", "B=x=y", "--expect", "2"], secretEnv);
    expect(two.code, two.stderr).toBe(0);
    const bad = await runCli(["run", envWasm, "--invoke", "count()", "--env", "NOEQUALS"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("expected NAME=VALUE");
    // The reference runtime gives the same answers for the same flags.
    if (!oraclesMissing(["wasmtime"])) {
      const wasmtime = join(ORACLE_BIN, "wasmtime");
      const wt0 = await runCommand(wasmtime, ["run", "--invoke", "count()", envWasm], { env: { ...process.env, ...secretEnv.env } });
      expect(wt0.stdout.trim()).toBe("0");
      const wt2 = await runCommand(wasmtime, ["run", "--env", "A=1", "--env", "B=x=y", "--invoke", "count()", envWasm]);
      expect(wt2.stdout.trim()).toBe("2");
    }
  });

  it("--component-output appends the component's output to a file", async () => {
    const print = join(dir, "print2.wasm");
    await writeFile(print, await parse(PRINT_WAT));
    const log = join(dir, "component.log");
    const r = await runCli(["run", print, "--invoke", "greet()", "--component-output", log]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("7\n");
    expect(r.stderr).not.toContain("hello");
    expect(await readFile(log, "utf8")).toBe("hello from the component\n");
  });

  it.each([
    ["one core module", EXTENDED_CONST_WAT],
    ["two core modules", EXTENDED_CONST_TWO_WAT],
  ])("a component using extended-const (%s): runs where Node enables it, else a typed COMPILE_FAILED naming the feature, nothing left behind", async (_what, wat) => {
    const file = join(dir, `ext-${wat.length}.wasm`);
    await writeFile(file, await parse(wat));
    const tmpRoot = join(dir, `tmp-ext-${wat.length}`);
    await mkdir(tmpRoot);
    const r = await runCli(["run", file, "--invoke", "answer()"], { env: { TEST_TMPDIR: tmpRoot } });
    if (await nodeHasExtendedConst) {
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toBe(42);
    } else {
      expectCompileFailed(r, /it uses the WebAssembly feature extended-const; Node 22 and later enable it/);
    }
    expect(await readdir(tmpRoot)).toEqual([]);
  });

  it("a core module no Node compiles (wide-arithmetic, beside a second module): typed COMPILE_FAILED naming the feature, no unhandled CompileError, nothing left behind", async () => {
    const file = join(dir, "wide.wasm");
    await writeFile(file, await parse(WIDE_ARITHMETIC_TWO_WAT));
    const tmpRoot = join(dir, "tmp-wide");
    await mkdir(tmpRoot);
    const r = await runCli(["run", file, "--invoke", "answer()", "--json"], { env: { TEST_TMPDIR: tmpRoot } });
    expectCompileFailed(r, /it uses the WebAssembly feature wide-arithmetic; /);
    expect(await readdir(tmpRoot)).toEqual([]);
  });

  it("a function returning a resource prints it as a resource", async () => {
    const file = join(dir, "make-counter.wasm");
    await writeFile(file, await parse(MAKE_COUNTER_WAT));
    const r = await runCli(["run", file, "--invoke", "ex:demo/counter#make(5)", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ invoke: "ex:demo/counter#make(5)", result: { $resource: "counter" }, ok: true });
  });

  it("resource.new / resource.rep / resource.drop round-trip a non-zero rep", async () => {
    const file = join(dir, "rep.wasm");
    await writeFile(file, await parse(REP_WAT));
    const r = await runCli(["run", file, "--invoke", "rep-of(16)", "--expect", "16"]);
    expect(r.code, r.stderr).toBe(0);
  });

  // Skipped: jco-transpile 0.15 (jco 1.x) traps with "unknown handle index" on a resource whose rep
  // is 0, which the component model allows (wasmtime returns 0); componentize-qjs gives its first
  // resource rep 0. docs/troubleshooting.md says what to do. Unskip when jco fixes it.
  it.skip("resource.rep of a resource whose rep is 0 returns 0 (jco defect: traps)", async () => {
    const file = join(dir, "rep0.wasm");
    await writeFile(file, await parse(REP_WAT));
    const r = await runCli(["run", file, "--invoke", "rep-of(0)", "--expect", "0"]);
    expect(r.code, r.stderr).toBe(0);
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
