/**
 * `wasm-oci wac generate` through the built CLI: the generated document is composed with
 * `wasm-oci compose` and the result is run with `wasm-oci run`, so the wiring is checked by what
 * the composition computes, not only by its text. Components are component WAT parsed with jco.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { readWasmNames } from "../../tools/src/component/names.ts";
import { cliBuilt, runCli } from "../helpers/cli.ts";

/** A component exporting interface `iface` with one function `fn(x: u32) -> u32` computed by `body`. */
function service(iface: string, fn: string, body: string, imports: readonly [string, string][] = []): string {
  // imports: [interface, function] pairs, each `fn(x: u32) -> u32`, callable in body as $imp0, $imp1...
  const decl = imports.map(([i, f], k) => `(import "${i}" (instance $i${k} (export "${f}" (func (param "x" u32) (result u32)))))
  (alias export $i${k} "${f}" (func $f${k}))
  (core func $l${k} (canon lower (func $f${k})))`);
  const coreImports = imports.map((_, k) => `(import "imp" "f${k}" (func $imp${k} (param i32) (result i32)))`);
  const inst = imports.length === 0 ? "(core instance $i (instantiate $m))" : `(core instance $imp ${imports.map((_, k) => `(export "f${k}" (func $l${k}))`).join(" ")})
  (core instance $i (instantiate $m (with "imp" (instance $imp))))`;
  return `(component
  ${decl.join("\n  ")}
  (core module $m ${coreImports.join(" ")} (func (export "f") (param i32) (result i32) ${body}))
  ${inst}
  (func $f (param "x" u32) (result u32) (canon lift (core func $i "f")))
  ${iface.includes("/") ? `(instance $e (export "${fn}" (func $f)))\n  (export "${iface}" (instance $e))` : `(export "${fn}" (func $f))`}
)`;
}

const ready = cliBuilt();

describe.skipIf(!ready)("wasm-oci wac generate (built CLI)", () => {
  let dir: string;
  const p = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "wac-generate-"));
    const parts: Record<string, string> = {
      // Two independent services and a frontend importing both: run(x) = 2x + (x + 100).
      "auth.wasm": service("test:svc/auth", "check", "local.get 0 i32.const 2 i32.mul"),
      "auth2.wasm": service("test:svc/auth", "check", "local.get 0 i32.const 1000 i32.add"),
      "data.wasm": service("test:svc/data", "get", "local.get 0 i32.const 100 i32.add"),
      "frontend.wasm": service("run", "run", "local.get 0 call $imp0 local.get 0 call $imp1 i32.add", [
        ["test:svc/auth", "check"],
        ["test:svc/data", "get"],
      ]),
      // A chain: c(x) = b(x) + 3, b(x) = a(x) * 10, a(x) = x + 1.
      "a.wasm": service("test:chain/a", "f", "local.get 0 i32.const 1 i32.add"),
      "b.wasm": service("test:chain/b", "g", "local.get 0 call $imp0 i32.const 10 i32.mul", [["test:chain/a", "f"]]),
      "c.wasm": service("run", "run", "local.get 0 call $imp0 i32.const 3 i32.add", [["test:chain/b", "g"]]),
      // A cycle: x needs y, y needs x.
      "x.wasm": service("test:cyc/x", "f", "local.get 0 call $imp0", [["test:cyc/y", "f"]]),
      "y.wasm": service("test:cyc/y", "f", "local.get 0 call $imp0", [["test:cyc/x", "f"]]),
      // Semver-compatible names: a consumer of api@0.2.0 and a provider of api@0.2.3.
      "api023.wasm": service("test:ver/api@0.2.3", "f", "local.get 0 i32.const 7 i32.add"),
      "api-user.wasm": service("run", "run", "local.get 0 call $imp0", [["test:ver/api@0.2.0", "f"]]),
      // Another top-level `run`, for export conflicts between two unconsumed components.
      "other.wasm": service("run", "run", "local.get 0"),
    };
    for (const [name, wat] of Object.entries(parts)) await writeFile(p(name), await parse(wat));
  }, 60_000);

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const deps = (pairs: [string, string][]) => pairs.flatMap(([pkg, file]) => ["--dep", `${pkg}=${p(file)}`]);

  /** generate -> compose -> run; returns the document and the JSON result. */
  async function roundTrip(name: string, pairs: [string, string][], invoke: string, extra: string[] = []) {
    const gen = await runCli(["wac", "generate", "--package", "example:app", ...deps(pairs), ...extra, "-o", p(`${name}.wac`), "--json"]);
    expect(gen.code, gen.stderr).toBe(0);
    const summary = JSON.parse(gen.stdout) as { order: { var: string; pkg: string }[]; wiring: unknown[]; imported: { consumer: string; import: string }[]; sockets: string[] };
    const text = await readFile(p(`${name}.wac`), "utf8");
    const comp = await runCli(["compose", p(`${name}.wac`), ...deps(pairs), "-o", p(`${name}.wasm`)]);
    expect(comp.code, `${text}\n${comp.stderr}`).toBe(0);
    const run = await runCli(["run", p(`${name}.wasm`), "--invoke", invoke, "--json"]);
    return { text, summary, run };
  }

  it("two independent services and a frontend that imports both: named arguments, services first, the answer is right", async () => {
    const { text, summary, run } = await roundTrip(
      "two",
      [
        ["local:frontend", "frontend.wasm"],
        ["oci:auth-service", "auth.wasm"],
        ["oci:data-service", "data.wasm"],
      ],
      "run(5)",
    );
    expect(text).toBe(
      [
        "package example:app;",
        "",
        "let auth-service = new oci:auth-service {};",
        "let data-service = new oci:data-service {};",
        "let frontend = new local:frontend {",
        '  "test:svc/auth": auth-service["test:svc/auth"],',
        '  "test:svc/data": data-service["test:svc/data"]',
        "};",
        "",
        "export frontend...;",
        "",
      ].join("\n"),
    );
    expect(summary.sockets).toEqual(["local:frontend"]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).result).toBe(2 * 5 + (5 + 100));
  }, 60_000);

  it("a chain a -> b -> c given in reverse order is instantiated providers first", async () => {
    const { text, summary, run } = await roundTrip(
      "chain",
      [
        ["ex:c", "c.wasm"],
        ["ex:b", "b.wasm"],
        ["ex:a", "a.wasm"],
      ],
      "run(1)",
    );
    expect(summary.order.map((o) => o.pkg)).toEqual(["ex:a", "ex:b", "ex:c"]);
    expect(text).toContain('let b = new ex:b { "test:chain/a": a["test:chain/a"] };');
    expect(text).toContain("export c...;");
    expect(text).not.toContain("...a");
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).result).toBe((1 + 1) * 10 + 3);
  }, 60_000);

  it("an import nothing satisfies stays an import of the composition (trailing ...)", async () => {
    const pairs: [string, string][] = [
      ["local:frontend", "frontend.wasm"],
      ["oci:auth-service", "auth.wasm"],
    ];
    const gen = await runCli(["wac", "generate", "--package", "example:app", ...deps(pairs), "-o", p("partial.wac"), "--json"]);
    expect(gen.code, gen.stderr).toBe(0);
    expect(JSON.parse(gen.stdout).imported).toEqual([{ consumer: "local:frontend", import: "test:svc/data" }]);
    const text = await readFile(p("partial.wac"), "utf8");
    expect(text).toContain('let frontend = new local:frontend {\n  "test:svc/auth": auth-service["test:svc/auth"],\n  ...\n};');
    const comp = await runCli(["compose", p("partial.wac"), ...deps(pairs), "-o", p("partial.wasm")]);
    expect(comp.code, comp.stderr).toBe(0);
    const names = readWasmNames(new Uint8Array(await readFile(p("partial.wasm"))));
    expect(names.imports).toEqual(["test:svc/data"]);
    expect(names.exports).toEqual(["run"]);
  }, 60_000);

  it("a cycle is an error naming the components and the imports", async () => {
    const r = await runCli(["wac", "generate", "--package", "example:app", ...deps([["ex:x", "x.wasm"], ["ex:y", "y.wasm"]]), "-o", p("cycle.wac")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cycle");
    expect(r.stderr).toMatch(/ex:x -\(test:cyc\/x\)-> ex:y -\(test:cyc\/y\)-> ex:x/);
    await expect(readFile(p("cycle.wac"))).rejects.toThrow();
  }, 30_000);

  it("two providers of one import: an error naming all three, resolved by --provider", async () => {
    const pairs: [string, string][] = [
      ["ex:auth", "auth.wasm"],
      ["ex:auth2", "auth2.wasm"],
      ["ex:data", "data.wasm"],
      ["local:frontend", "frontend.wasm"],
    ];
    const r = await runCli(["wac", "generate", "--package", "example:app", ...deps(pairs)]);
    expect(r.code).toBe(1);
    for (const n of ["local:frontend", "test:svc/auth", "ex:auth ", "ex:auth2", "--provider"]) expect(r.stderr).toContain(n);
    const { run, summary } = await roundTrip("chosen", pairs, "run(5)", ["--provider", "test:svc/auth=ex:auth2"]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).result).toBe(5 + 1000 + (5 + 100));
    // auth (unconsumed, exports test:svc/auth) is exported next to the frontend's run.
    expect(summary.sockets).toEqual(["ex:auth", "local:frontend"]);
  }, 60_000);

  it("two unconsumed components exporting the same name need --socket", async () => {
    const pairs: [string, string][] = [
      ["ex:other", "other.wasm"],
      ["ex:a", "a.wasm"],
      ["ex:b", "b.wasm"],
      ["ex:c", "c.wasm"],
    ];
    const r = await runCli(["wac", "generate", "--package", "example:app", ...deps(pairs)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ex:other and ex:c are both left unconsumed and both export run");
    const { text, run } = await roundTrip("socket", pairs, "run(1)", ["--socket", "ex:c"]);
    expect(text).toMatch(/\nexport c\.\.\.;\n$/);
    expect(JSON.parse(run.stdout).result).toBe(23);
  }, 60_000);

  it("an import is wired to a semver-compatible export when no exact name exists", async () => {
    const { text, run } = await roundTrip(
      "semver",
      [
        ["ex:user", "api-user.wasm"],
        ["ex:api", "api023.wasm"],
      ],
      "run(1)",
    );
    expect(text).toContain('let user = new ex:user { "test:ver/api@0.2.0": api["test:ver/api@0.2.3"] };');
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).result).toBe(8);
  }, 60_000);

  it("is deterministic and reports bad input with the flag that named it", async () => {
    const args = ["wac", "generate", "--package", "example:app", ...deps([["local:frontend", "frontend.wasm"], ["oci:auth-service", "auth.wasm"], ["oci:data-service", "data.wasm"]])];
    const [one, two] = await Promise.all([runCli(args), runCli(args)]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe(two.stdout);
    const missing = await runCli(["wac", "generate", "--package", "example:app", "--dep", `ex:nope=${p("nope.wasm")}`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--dep ex:nope=${p("nope.wasm")}`);
    const badPkg = await runCli(["wac", "generate", "--package", "App", "--dep", `ex:a=${p("a.wasm")}`]);
    expect(badPkg.code).toBe(2);
    expect(badPkg.stderr).toContain("--package");
  }, 60_000);
});
