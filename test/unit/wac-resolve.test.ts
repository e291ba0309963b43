import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveDocument, type ResolveOptions } from "../../tools/src/wac/resolve.ts";
import { SourceError } from "../../tools/src/wac/diagnostics.ts";
import { packageFromBytes } from "../../tools/src/component/package.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";

/**
 * Resolution of WAC documents against real dependencies on disk: components written as WAT
 * (compiled with jco's wasm-tools `parse` by the resolver) and WIT packages.
 */
let tmp: Tmp;
let opts: ResolveOptions;

const GREETER = `(component
  (import "example:app/logger" (instance $l (export "log" (func (param "msg" string)))))
  (export "greet" (func (param "name" string) (result string)) (canon lift (core func $f) (memory $m)))
)`;

async function put(rel: string, text: string): Promise<void> {
  const p = tmp.path("deps", rel);
  await mkdir(join(p, ".."), { recursive: true });
  await writeFile(p, text);
}

beforeAll(async () => {
  tmp = await makeTmp("wac-resolve");
  // A component importing an interface and exporting a function, with type-only bodies.
  await put("ex/greeter.wat", `(component
    (type $logger (instance (export "log" (func (param "msg" string)))))
    (import "ex:io/logger" (instance (type $logger)))
    (type $g (func (param "name" string) (result string)))
    (import "greet-impl" (func (type $g)))
    (export "greet" (func 0))
  )`);
  await put("ex/logger.wat", `(component
    (type $f (func (param "msg" string)))
    (import "sink" (func (type $f)))
    (instance $i (export "log" (func 0)))
    (export "ex:io/logger" (instance $i))
  )`);
  await put("ex/wrong.wat", `(component
    (type $f (func (param "msg" u32)))
    (import "sink" (func (type $f)))
    (instance $i (export "log" (func 0)))
    (export "ex:io/logger" (instance $i))
  )`);
  await put("ex/v/1.2.3.wat", `(component (type $f (func)) (import "x" (func (type $f))) (export "run" (func 0)))`);
  await put("ex/io/package.wit", `package ex:io;
    interface logger { log: func(msg: string); }
    interface types { resource stream { read: func() -> list<u8>; } }
    interface user { use types.{stream as s}; take: func(x: s) -> s; }
    world host { import logger; export run: func(); }`);
  opts = {
    depsDir: tmp.path("deps"),
    loadComponent: ({ name, version, bytes, types }) => packageFromBytes(name, version, bytes, types),
  };
});

afterAll(async () => {
  await tmp.cleanup();
});

async function resolve(text: string, o: Partial<ResolveOptions> = {}) {
  return resolveDocument({ path: "app.wac", text }, { ...opts, ...o });
}

async function failure(text: string, o: Partial<ResolveOptions> = {}): Promise<SourceError> {
  try {
    await resolve(text, o);
  } catch (e) {
    if (e instanceof SourceError) return e;
    throw e;
  }
  throw new Error("expected resolution to fail");
}

describe("WAC resolution", () => {
  it("wires a let-bound instance by inferred interface name and exports an access", async () => {
    const { graph } = await resolve(`package ex:app;
      let logger = new ex:logger { ... };
      let g = new ex:greeter { logger: logger["ex:io/logger"], ... };
      export g.greet;`);
    expect(graph.exportNames()).toEqual(["greet"]);
    const inst = graph.nodes().find((n) => n.name === "g");
    expect(inst).toBeDefined();
    expect(graph.getInstantiationArguments(inst!.id).map((a) => a.name)).toEqual(["ex:io/logger"]);
    // the unsatisfied `greet-impl` and `sink` become implicit imports
    expect(graph.imports().map((i) => i.name).sort()).toEqual(["greet-impl", "sink"]);
  });

  it("infers argument and export names from an imported interface's id", async () => {
    const { graph } = await resolve(`package ex:app;
      import sink: ex:io/logger;
      let g = new ex:greeter { sink, ... };
      export sink;
      export g.greet;`);
    const inst = graph.nodes().find((n) => n.name === "g")!;
    expect(graph.getInstantiationArguments(inst.id).map((a) => a.name)).toEqual(["ex:io/logger"]);
    expect(graph.exportNames()).toEqual(["ex:io/logger", "greet"]);
  });

  it("rejects a spread that satisfies nothing and an export spread with no effect", async () => {
    const e = await failure(`package ex:app;
      let l = new ex:logger { ... };
      let v = new ex:v@1.2.3 { ...l, ... };`);
    expect(e.shortMessage).toMatch(/has no matching exports for the remaining unsatisfied arguments/);
    const e2 = await failure(`package ex:app;
      let l = new ex:logger { ... };
      export l...;
      export l...;`);
    expect(e2.shortMessage).toMatch(/instance has no exports or all exports/);
  });

  it("spreads an instance's exports into matching arguments", async () => {
    const { graph } = await resolve(`package ex:app;
      let logger = new ex:logger { ... };
      let g = new ex:greeter { ...logger, ... };
      export g...;`);
    const inst = graph.nodes().find((n) => n.name === "g")!;
    expect(graph.getInstantiationArguments(inst.id).map((a) => a.name)).toEqual(["ex:io/logger"]);
    expect(graph.exportNames()).toEqual(["greet"]);
  });

  it("names the missing argument and the package, at the package reference", async () => {
    const e = await failure(`package ex:app;\nlet g = new ex:greeter { };`);
    expect(e.shortMessage).toBe("missing instantiation argument `ex:io/logger` for package `ex:greeter`");
    expect([e.line, e.column]).toEqual([2, 13]);
    expect(e.message).toContain("app.wac:2:13");
    expect(e.message).toContain("            ^^^^^^^^^^");
  });

  it("names the mistyped argument and both types", async () => {
    const e = await failure(`package ex:app;
let w = new ex:wrong { ... };
let g = new ex:greeter { logger: w["ex:io/logger"], ... };`);
    expect(e.code).toBe("ARGUMENT_TYPE_MISMATCH");
    expect(e.shortMessage).toMatch(/mismatched instantiation argument `ex:io\/logger`/);
    expect(e.shortMessage).toMatch(/expected string, found u32/);
    expect(e.line).toBe(3);
  });

  it("reports an unknown package with where it looked", async () => {
    const e = await failure(`package ex:app;\nlet x = new nope:pkg { ... };`);
    expect(e.code).toBe("WAC_UNKNOWN_PACKAGE");
    expect(e.shortMessage).toMatch(/unknown package `nope:pkg`/);
    expect(e.shortMessage).toContain(join(tmp.path("deps"), "nope", "pkg"));
  });

  it("rejects duplicate exports and unknown names with positions", async () => {
    const dup = await failure(`package ex:app;
      let a = new ex:logger { ... };
      let b = new ex:logger { ... };
      export a["ex:io/logger"];
      export b["ex:io/logger"];`);
    expect(dup.shortMessage).toBe("duplicate export `ex:io/logger`");
    expect(dup.line).toBe(5);
    const undef = await failure(`package ex:app;\nexport nothing;`);
    expect(undef.shortMessage).toBe("undefined name `nothing`");
  });

  it("resolves versioned packages under <deps>/ns/name/VERSION and --dep for unversioned ones", async () => {
    const { graph } = await resolve(`package ex:app;\nlet v = new ex:v@1.2.3 { ... };\nexport v.run;`);
    expect(graph.getPackageByName("ex:v", "1.2.3")).toBeDefined();
    const viaDep = await resolve(`package ex:app;\nlet l = new my:log { ... };\nexport l...;`, {
      deps: new Map([["my:log", tmp.path("deps", "ex", "logger.wat")]]),
    });
    expect(viaDep.graph.exportNames()).toEqual(["ex:io/logger"]);
  });

  it("rejects imports the target world does not have", async () => {
    const e = await failure(`package ex:app targets ex:io/host;
      import logger: ex:io/logger;
      let x = new ex:v@1.2.3 { ... };
      export x.run;`);
    expect(e.shortMessage).toBe("target world `ex:io/host` does not have an import named `x`");
  });

  it("accepts a composition that matches its target world", async () => {
    const { graph } = await resolve(`package ex:app targets ex:app/host;
      world host { import x: func(); export run: func(); }
      let v = new ex:v@1.2.3 { ... };
      export v.run;`);
    expect(graph.exportNames()).toEqual(["host", "run"]);
  });

  it("defines WAC types, interfaces and worlds as exported type definitions", async () => {
    const { graph } = await resolve(`package ex:app@1.0.0;
      type id = u32;
      record point { x: s32, y: s32 }
      interface shapes { resource shape { constructor(p: point); area: func() -> f64; } use ex:io/types.{stream}; }
      world w { import shapes; export run: func(); }
      export id as "identifier";`);
    expect(graph.exportNames().sort()).toEqual(["identifier", "point", "shapes", "w"].sort());
    const shapes = graph.nodes().find((n) => n.exportName === "shapes")!;
    if (shapes.itemKind.kind !== "type" || shapes.itemKind.type.kind !== "interface") throw new Error("shape");
    const iface = graph.types.iface(shapes.itemKind.type.id);
    expect(iface.id).toBe("ex:app/shapes@1.0.0");
    expect([...iface.exports.keys()]).toEqual(["shape", "[constructor]shape", "[method]shape.area", "stream"]);
  });
});
