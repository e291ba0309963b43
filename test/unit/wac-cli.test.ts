import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, REPO_ROOT, runCli } from "../helpers/cli.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { COUNTER_WAT } from "../helpers/wasm-fixtures.ts";

/**
 * `wasm-oci compose` end to end: real components (the reference's example components, which
 * pass a string across components, and WAT components sharing a resource) composed by the
 * built CLI, transpiled with jco and called from Node.
 */
const EXAMPLES = join(REPO_ROOT, "..", "shared", "conformance", "wac", "examples");

/** Imports ex:demo/counter; run() makes a counter at 40, adds 1 twice, drops it, returns 42. */
const CONSUMER_WAT = `(component
  (import "ex:demo/counter" (instance $c
    (export "counter" (type (sub resource)))
    (export "[constructor]counter" (func (param "start" u32) (result (own 0))))
    (export "[method]counter.add" (func (param "self" (borrow 0)) (param "n" u32) (result u32)))))
  (alias export $c "counter" (type $r))
  (alias export $c "[constructor]counter" (func $ctor))
  (alias export $c "[method]counter.add" (func $add))
  (core func $ctor-l (canon lower (func $ctor)))
  (core func $add-l (canon lower (func $add)))
  (core func $drop (canon resource.drop $r))
  (core module $m
    (import "c" "ctor" (func $ctor (param i32) (result i32)))
    (import "c" "add" (func $add (param i32 i32) (result i32)))
    (import "c" "drop" (func $drop (param i32)))
    (func (export "run") (result i32)
      (local $h i32) (local $r i32)
      (local.set $h (call $ctor (i32.const 40)))
      (drop (call $add (local.get $h) (i32.const 1)))
      (local.set $r (call $add (local.get $h) (i32.const 1)))
      (call $drop (local.get $h))
      (local.get $r)))
  (core instance $ci (export "ctor" (func $ctor-l)) (export "add" (func $add-l)) (export "drop" (func $drop)))
  (core instance $i (instantiate $m (with "c" (instance $ci))))
  (func (export "run") (result u32) (canon lift (core func $i "run")))
)`;

let tmp: Tmp;

beforeAll(async () => {
  if (!cliBuilt()) {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "tools", "build.mjs")], { cwd: REPO_ROOT, stdio: "inherit", timeout: 120_000 });
    if (r.status !== 0) throw new Error("pnpm build failed");
  }
  tmp = await makeTmp("wac-cli");
  await mkdir(tmp.path("deps", "ex"), { recursive: true });
  await writeFile(tmp.path("deps", "ex", "counter.wat"), COUNTER_WAT);
  await writeFile(tmp.path("deps", "ex", "consumer.wat"), CONSUMER_WAT);
});

afterAll(async () => {
  await tmp?.cleanup();
});

/** Transpiles a component with jco into its own ESM folder and imports it. */
async function instantiate(bytes: Uint8Array, name: string): Promise<Record<string, unknown>> {
  const { transpileBytes } = await import("@bytecodealliance/jco-transpile");
  const { files } = await transpileBytes(bytes, { name: "composed" });
  const dir = tmp.path(`js-${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "package.json"), '{"type":"module"}\n');
  for (const [file, data] of Object.entries(files)) {
    await mkdir(join(dir, file, ".."), { recursive: true });
    await writeFile(join(dir, file), data);
  }
  return (await import(pathToFileURL(join(dir, "composed.js")).href)) as Record<string, unknown>;
}

describe("wasm-oci compose", () => {
  it("composes the reference example (a string crosses components) and the result runs", async () => {
    const out = tmp.path("greeter.wasm");
    const r = await runCli(["compose", join(EXAMPLES, "script.wac"), "--deps-dir", join(EXAMPLES, "deps"), "-o", out, "--json"], { timeoutMs: 45_000 });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { output: string; size: number; digest: string };
    expect(summary.output).toBe(out);
    const bytes = new Uint8Array(await readFile(out));
    expect(summary.size).toBe(bytes.length);
    const mod = await instantiate(bytes, "greeter");
    const greet = mod["greet"] as () => string;
    // greeter formats "{hello()}, World!": run `hello` alone to know its half of the string.
    const hello = await instantiate(new Uint8Array(await readFile(join(EXAMPLES, "deps", "example", "hello.wasm"))), "hello");
    const h = (hello["hello"] as () => string)();
    expect(h.length).toBeGreaterThan(0);
    expect(greet()).toBe(`${h}, World!`);
  });

  it("composes a resource provider with its consumer and the result runs", async () => {
    const wac = tmp.path("counter.wac");
    await writeFile(wac, "package ex:app;\n\nlet counter = new ex:counter {};\nlet app = new ex:consumer { ...counter };\n\nexport app.run;\n");
    const out = tmp.path("counter.wasm");
    const r = await runCli(["compose", wac, "--deps-dir", tmp.path("deps"), "-o", out], { timeoutMs: 45_000 });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const mod = await instantiate(new Uint8Array(await readFile(out)), "counter");
    expect((mod["run"] as () => number)()).toBe(42);
  });

  it("imports dependencies with -i and prints text with -t", async () => {
    const r = await runCli(["compose", join(EXAMPLES, "script.wac"), "-d", `example:hello=${join(EXAMPLES, "deps", "example", "hello.wasm")}`, "--deps-dir", join(EXAMPLES, "deps"), "-i", "-t"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(import "unlocked-dep=<example:hello>" (component');
    expect(r.stdout).toContain('(import "unlocked-dep=<example:greeter>" (component');
  });

  it("reports a syntax error with file, line, column and caret, and writes nothing", async () => {
    const wac = tmp.path("bad.wac");
    await writeFile(wac, "package ex:app;\nlet x = new ex:counter { 1 };\n");
    const out = tmp.path("bad-out", "x.wasm");
    const r = await runCli(["compose", wac, "--deps-dir", tmp.path("deps"), "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${wac}:2:26: expected either identifier, string, \`...\`, or \`}\`, found integer`);
    expect(r.stderr).toContain("2 | let x = new ex:counter { 1 };");
    expect(r.stderr).toContain("  |                          ^");
    expect(r.stderr).toContain("[WAC_SYNTAX]");
    expect(existsSync(tmp.path("bad-out")) ? await readdir(tmp.path("bad-out")) : []).toEqual([]);
  });

  it("validates while writing: an invalid composition fails VALIDATION_FAILED, the earlier output stays and no temp file is left", async () => {
    // A component whose embedded core module is garbage: our reader does not decode module
    // bodies, wasm-tools does, on its worker thread while the output is being written.
    const module = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x7f, 0x01, 0x00);
    const bad = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x01, module.length, ...module);
    await mkdir(tmp.path("bad-deps", "ex"), { recursive: true });
    await writeFile(tmp.path("bad-deps", "ex", "bad.wasm"), bad);
    const wac = tmp.path("invalid.wac");
    await writeFile(wac, "package ex:app;\nlet b = new ex:bad {};\n");
    await mkdir(tmp.path("invalid-out"), { recursive: true });
    const out = tmp.path("invalid-out", "app.wasm");
    await writeFile(out, "earlier output");
    const r = await runCli(["compose", wac, "--deps-dir", tmp.path("bad-deps"), "-o", out]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("[VALIDATION_FAILED]");
    expect(await readFile(out, "utf8")).toBe("earlier output");
    expect(await readdir(tmp.path("invalid-out"))).toEqual(["app.wasm"]);
    // Unvalidated, the same composition is written.
    const r2 = await runCli(["compose", wac, "--deps-dir", tmp.path("bad-deps"), "-o", out, "--no-validate"]);
    expect(r2.code, r2.stderr).toBe(0);
    expect((await readFile(out)).subarray(0, 8)).toEqual(Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]));
  });

  it("reports unknown packages and missing arguments", async () => {
    const wac = tmp.path("unknown.wac");
    await writeFile(wac, "package ex:app;\nlet x = new ex:nothing {};\n");
    const r = await runCli(["compose", wac, "--deps-dir", tmp.path("deps"), "-o", tmp.path("u.wasm")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown package `ex:nothing`");
    expect(r.stderr).toContain("[WAC_UNKNOWN_PACKAGE]");

    const wac2 = tmp.path("missing.wac");
    await writeFile(wac2, "package ex:app;\nlet app = new ex:consumer {};\n");
    const r2 = await runCli(["compose", wac2, "--deps-dir", tmp.path("deps"), "-o", tmp.path("m.wasm")]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(`${wac2}:2:15: missing instantiation argument \`ex:demo/counter\` for package \`ex:consumer\``);
    expect(existsSync(tmp.path("m.wasm"))).toBe(false);
  });

  it("rejects bad flags with exit code 2", async () => {
    const wac = join(EXAMPLES, "script.wac");
    expect((await runCli(["compose", wac, "--dep", "example:hello@1.0.0=x.wasm", "-o", tmp.path("f.wasm")])).code).toBe(2);
    expect((await runCli(["compose", wac, "--dep", "nonsense", "-o", tmp.path("f.wasm")])).code).toBe(2);
    expect((await runCli(["compose", wac, "--json"])).code).toBe(2);
    expect((await runCli(["compose", tmp.path("does-not-exist.wac"), "-o", tmp.path("f.wasm")])).code).toBe(2);
  });
});
