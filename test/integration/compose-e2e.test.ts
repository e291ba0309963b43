/**
 * End to end: two components built here from core WAT + WIT (canonical ABI by hand: strings
 * through cabi_realloc, a resource created with [resource-new]), composed with `plug` and
 * with a `.wac` file, transpiled with jco and called from Node. Checks a string that crosses
 * the component boundary both ways and a resource owned by the other component.
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { transpileBytes } from "@bytecodealliance/jco-transpile";
import { buildComponent } from "../../tools/src/build/component-from-wat.ts";
import { plug } from "../../tools/src/compose/plug.ts";
import { packageFromBytes } from "../../tools/src/component/package.ts";
import { Types } from "../../tools/src/component/types.ts";
import { cliBuilt, runCli } from "../helpers/cli.ts";
import { readFile } from "node:fs/promises";

const WIT = `package test:e2e;

interface greet {
  greet: func(name: string) -> string;
}

interface counter {
  resource counter {
    constructor(start: u32);
    increment: func() -> u32;
  }
}

world greeter {
  export greet;
  export counter;
}

world app {
  import greet;
  import counter;
  export run: func(name: string) -> string;
  export count: func(n: u32) -> u32;
}
`;

// Shared pieces: a bump allocator and cabi_realloc (the canonical ABI copies strings in with it).
const ALLOC = `
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (param $size i32) (param $align i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))))
    (local.get $p))
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
    (local $p i32)
    (local.set $p (call $alloc (local.get $new_size) (local.get $align)))
    (if (local.get $old)
      (then (memory.copy (local.get $p) (local.get $old)
        (select (local.get $old_size) (local.get $new_size) (i32.lt_u (local.get $old_size) (local.get $new_size))))))
    (local.get $p))
`;

const GREETER_WAT = `(module
  (import "[export]test:e2e/counter" "[resource-new]counter" (func $new (param i32) (result i32)))
  ${ALLOC}
  (data (i32.const 16) "Hello, ")
  (func (export "test:e2e/greet#greet") (param $s i32) (param $len i32) (result i32)
    (local $out i32) (local $area i32)
    (local.set $out (call $alloc (i32.add (local.get $len) (i32.const 7)) (i32.const 1)))
    (memory.copy (local.get $out) (i32.const 16) (i32.const 7))
    (memory.copy (i32.add (local.get $out) (i32.const 7)) (local.get $s) (local.get $len))
    (local.set $area (call $alloc (i32.const 8) (i32.const 4)))
    (i32.store (local.get $area) (local.get $out))
    (i32.store offset=4 (local.get $area) (i32.add (local.get $len) (i32.const 7)))
    (local.get $area))
  (func (export "test:e2e/counter#[constructor]counter") (param $start i32) (result i32)
    (local $rep i32)
    (local.set $rep (call $alloc (i32.const 4) (i32.const 4)))
    (i32.store (local.get $rep) (local.get $start))
    (call $new (local.get $rep)))
  (func (export "test:e2e/counter#[method]counter.increment") (param $rep i32) (result i32)
    (i32.store (local.get $rep) (i32.add (i32.load (local.get $rep)) (i32.const 1)))
    (i32.load (local.get $rep)))
  (func (export "test:e2e/counter#[dtor]counter") (param i32))
)`;

const APP_WAT = `(module
  (import "test:e2e/greet" "greet" (func $greet (param i32 i32 i32)))
  (import "test:e2e/counter" "[constructor]counter" (func $ctor (param i32) (result i32)))
  (import "test:e2e/counter" "[method]counter.increment" (func $inc (param i32) (result i32)))
  (import "test:e2e/counter" "[resource-drop]counter" (func $drop (param i32)))
  ${ALLOC}
  (func (export "run") (param $s i32) (param $len i32) (result i32)
    (local $area i32)
    (local.set $area (call $alloc (i32.const 8) (i32.const 4)))
    (call $greet (local.get $s) (local.get $len) (local.get $area))
    (local.get $area))
  (func (export "count") (param $n i32) (result i32)
    (local $h i32) (local $v i32) (local $i i32)
    (local.set $h (call $ctor (i32.const 10)))
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v (call $inc (local.get $h)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (call $drop (local.get $h))
    (local.get $v))
)`;

type Composed = { run(name: string): string; count(n: number): number };

let dir: string;
let greeter: Uint8Array;
let app: Uint8Array;

/** Transpiles a component with jco into `dir/name`, imports it and returns its exports. */
async function load(bytes: Uint8Array, name: string): Promise<Composed> {
  const out = join(dir, name);
  const { files } = await transpileBytes(bytes, { name: "composed" });
  for (const [file, data] of Object.entries(files)) {
    await mkdir(join(out, file, ".."), { recursive: true });
    await writeFile(join(out, file), data);
  }
  await writeFile(join(out, "package.json"), JSON.stringify({ type: "module" }));
  return (await import(pathToFileURL(join(out, "composed.js")).href)) as Composed;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "wasm-oci-compose-e2e-"));
  greeter = (await buildComponent({ core: GREETER_WAT, coreName: "greeter.wat", witSource: WIT, witName: "e2e.wit", world: "greeter" })).bytes;
  app = (await buildComponent({ core: APP_WAT, coreName: "app.wat", witSource: WIT, witName: "e2e.wit", world: "app" })).bytes;
}, 120_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("compose end to end", () => {
  it("reads the built components' types (resource in an interface, string functions)", () => {
    const types = new Types();
    const pkg = packageFromBytes("test:greeter", undefined, greeter, types);
    const exports = types.world(pkg.ty).exports;
    expect([...exports.keys()]).toEqual(["test:e2e/greet", "test:e2e/counter"]);
    const counter = exports.get("test:e2e/counter")!;
    expect(counter.kind).toBe("instance");
    if (counter.kind !== "instance") return;
    expect([...types.iface(counter.id).exports.keys()]).toEqual(["counter", "[constructor]counter", "[method]counter.increment"]);
    const appPkg = packageFromBytes("test:app", undefined, app, types);
    expect([...types.world(appPkg.ty).imports.keys()]).toEqual(["test:e2e/greet", "test:e2e/counter"]);
  });

  it("plug: the app calls the greeter across components (string and resource)", async () => {
    const result = await plug({ label: "app.wasm", bytes: app }, [{ label: "greeter.wasm", bytes: greeter }]);
    expect(result.plugged).toEqual([{ label: "greeter.wasm", imports: ["test:e2e/greet", "test:e2e/counter"] }]);
    const m = await load(result.bytes, "plugged");
    expect(m.run("World")).toBe("Hello, World");
    expect(m.run("Ünïcødé ✓")).toBe("Hello, Ünïcødé ✓");
    expect(m.count(3)).toBe(13);
    expect(m.count(0)).toBe(0);
  });

  it("plug: output is deterministic", async () => {
    const a = await plug({ label: "app.wasm", bytes: app }, [{ label: "greeter.wasm", bytes: greeter }], { validate: false });
    const b = await plug({ label: "app.wasm", bytes: app }, [{ label: "greeter.wasm", bytes: greeter }], { validate: false });
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
  });

  it("plug: a plug that matches nothing is an error naming the socket", async () => {
    await expect(plug({ label: "greeter.wasm", bytes: greeter }, [{ label: "app.wasm", bytes: app }], { validate: false }))
      .rejects.toThrow(/greeter\.wasm had no matching imports/);
  });

  it("compose: a .wac file wiring the same components", async () => {
    let composeFile: ((o: { file: string; depsDir?: string; validate?: boolean }) => Promise<Uint8Array>) | undefined;
    try {
      ({ composeFile } = await import("../../tools/src/cli/commands/compose.ts"));
    } catch {
      composeFile = undefined;
    }
    if (composeFile === undefined) return expect.fail("wasm-oci compose (tools/src/cli/commands/compose.ts) is not available");
    const deps = join(dir, "deps");
    await mkdir(join(deps, "test"), { recursive: true });
    await writeFile(join(deps, "test", "greeter.wasm"), greeter);
    await writeFile(join(deps, "test", "app.wasm"), app);
    const wac = join(dir, "composed.wac");
    await writeFile(wac, `package test:composed;

let g = new test:greeter {};
let a = new test:app { "test:e2e/greet": g["test:e2e/greet"], "test:e2e/counter": g["test:e2e/counter"] };

export a.run;
export a.count;
`);
    const bytes = await composeFile({ file: wac, depsDir: deps });
    const m = await load(bytes, "wac");
    expect(m.run("WAC")).toBe("Hello, WAC");
    expect(m.count(5)).toBe(15);
  });

  it.skipIf(!cliBuilt())("wasm-oci plug (built CLI): writes the composition and a JSON summary; bad input exits 1 naming the file", async () => {
    const appPath = join(dir, "cli-app.wasm");
    const greeterPath = join(dir, "cli-greeter.wasm");
    const out = join(dir, "cli-out.wasm");
    await writeFile(appPath, app);
    await writeFile(greeterPath, greeter);
    const r = await runCli(["plug", appPath, "--plug", greeterPath, "-o", out, "--json"], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { output: string; size: number; digest: string; plugged: Array<{ imports: string[] }> };
    expect(summary.output).toBe(out);
    expect(summary.plugged[0]!.imports).toEqual(["test:e2e/greet", "test:e2e/counter"]);
    const bytes = new Uint8Array(await readFile(out));
    expect(bytes.length).toBe(summary.size);
    const m = await load(bytes, "cli");
    expect(m.run("CLI")).toBe("Hello, CLI");

    const junk = join(dir, "junk.wasm");
    await writeFile(junk, Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x07, 0x05, 0x01));
    const bad = await runCli(["plug", appPath, "--plug", junk, "-o", join(dir, "never.wasm")], { timeoutMs: 60_000 });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("junk.wasm");
    expect(bad.stderr).toMatch(/offset 0x8/);
    const missing = await runCli(["plug", appPath], { timeoutMs: 60_000 });
    expect(missing.code).toBe(2);
  });
});
