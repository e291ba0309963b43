import { describe, expect, it } from "vitest";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { CompositionGraph, CompositionError } from "../../tools/src/compose/graph.ts";
import { encodeGraphSync, toposort } from "../../tools/src/compose/encoder.ts";
import { packageFromBytes } from "../../tools/src/component/package.ts";
import { readComponent } from "../../tools/src/component/reader.ts";
import { SubtypeChecker, SubtypeError } from "../../tools/src/component/subtype.ts";
import { Types, prim } from "../../tools/src/component/types.ts";
import { stripCustomSections } from "../../tools/src/compose/validate.ts";
import { alternateLookupKey, areSemverCompatible } from "../../tools/src/compose/aggregator.ts";

const FOO = `(component
  (import "a" (instance (export "f" (func (param "x" u32)))))
  (import "n" (func (param "s" string) (result string)))
  (core module $m)
  (export "g" (func 0)))`;

async function graphWithFoo(): Promise<{ graph: CompositionGraph; pkg: ReturnType<CompositionGraph["registerPackage"]> }> {
  const graph = new CompositionGraph();
  const pkg = graph.registerPackage(packageFromBytes("test:foo", undefined, await parse(FOO), graph.types));
  return { graph, pkg };
}

describe("composition graph", () => {
  it("rejects a mistyped argument naming the argument and both types", async () => {
    const { graph, pkg } = await graphWithFoo();
    const inst = graph.instantiate(pkg);
    const fn = graph.aliasInstanceExport(inst, "g");
    const other = graph.instantiate(pkg);
    expect(() => graph.setInstantiationArgument(other, "a", fn)).toThrow("mismatched instantiation argument `a`: expected instance, found function");
  });

  it("rejects a function whose parameter type differs, naming the parameter and types", async () => {
    const { graph, pkg } = await graphWithFoo();
    const inst = graph.instantiate(pkg);
    const bad = graph.types.addFunc({ params: new Map([["s", prim("u32")]]), result: prim("string") });
    const imp = graph.import("my-n", { kind: "func", id: bad });
    expect(() => graph.setInstantiationArgument(inst, "n", imp)).toThrow(/mismatched instantiation argument `n`: mismatched type for function parameter `s`: expected string, found u32/);
  });

  it("rejects unknown arguments, duplicate exports and imports, bad names", async () => {
    const { graph, pkg } = await graphWithFoo();
    const inst = graph.instantiate(pkg);
    const g = graph.aliasInstanceExport(inst, "g");
    expect(() => graph.setInstantiationArgument(inst, "nope", g)).toThrow("argument name `nope` is not an import of package `test:foo`");
    graph.export(g, "g");
    expect(() => graph.export(g, "g")).toThrow("an export with the name `g` already exists");
    expect(() => graph.export(g, "Bad_Name")).toThrow(/export name `Bad_Name` is not valid/);
    expect(() => graph.export(g, "unlocked-dep=<a:b>")).toThrow(/cannot be a hash, url, or dependency/);
    graph.import("x", { kind: "func", id: graph.types.addFunc({ params: new Map() }) });
    expect(() => graph.import("x", { kind: "func", id: graph.types.addFunc({ params: new Map() }) })).toThrow("import name `x` already exists in the graph");
    expect(() => graph.aliasInstanceExport(inst, "zzz")).toThrow("instance does not have an export named `zzz`");
    expect(() => graph.aliasInstanceExport(g, "zzz")).toThrow("expected source node to be an instance, but the node is a function");
  });

  it("returns the same alias node for the same export", async () => {
    const { graph, pkg } = await graphWithFoo();
    const inst = graph.instantiate(pkg);
    expect(graph.aliasInstanceExport(inst, "g")).toBe(graph.aliasInstanceExport(inst, "g"));
  });

  it("detects cycles when encoding", async () => {
    const graph = new CompositionGraph();
    const bytes = await parse(`(component (import "f" (func)) (export "f" (func 0)))`);
    const id = graph.registerPackage(packageFromBytes("test:cyc", undefined, bytes, graph.types));
    const a = graph.instantiate(id);
    const b = graph.instantiate(id);
    graph.setInstantiationArgument(b, "f", graph.aliasInstanceExport(a, "f"));
    graph.setInstantiationArgument(a, "f", graph.aliasInstanceExport(b, "f"));
    expect(() => toposort(graph)).toThrow("the graph contains a cycle and cannot be encoded");
  });

  it("merges implicit imports and encodes deterministically; output re-reads", async () => {
    const { graph, pkg } = await graphWithFoo();
    const i1 = graph.instantiate(pkg);
    const i2 = graph.instantiate(pkg);
    graph.setInstantiationArgument(i2, "n", graph.aliasInstanceExport(i1, "g"));
    graph.export(graph.aliasInstanceExport(i2, "g"), "out");
    const a = encodeGraphSync(graph, {});
    const b = encodeGraphSync(graph, {});
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const read = readComponent(a);
    expect([...read.imports.keys()]).toEqual(["a", "n"]);
    expect([...read.exports.keys()]).toEqual(["out"]);
  });

  it("names imported dependencies unlocked-dep=<ns:name@{>=version}>", async () => {
    const graph = new CompositionGraph();
    const id = graph.registerPackage(packageFromBytes("test:v", "1.2.3", await parse(`(component)`), graph.types));
    graph.instantiate(id);
    const read = readComponent(encodeGraphSync(graph, { defineComponents: false }));
    expect([...read.imports.keys()]).toEqual(["unlocked-dep=<test:v@{>=1.2.3}>"]);
  });

  it("refuses to register a package twice", async () => {
    const { graph } = await graphWithFoo();
    const bytes = await parse(FOO);
    expect(() => graph.registerPackage(packageFromBytes("test:foo", undefined, bytes, graph.types))).toThrow(CompositionError);
  });
});

describe("subtyping", () => {
  it("lets an instance with more exports satisfy one with fewer, not the reverse", () => {
    const t = new Types();
    const f = t.addFunc({ params: new Map() });
    const big = t.addInterface({ uses: new Map(), exports: new Map([["a", { kind: "func", id: f }], ["b", { kind: "func", id: f }]]) });
    const small = t.addInterface({ uses: new Map(), exports: new Map([["a", { kind: "func", id: f }]]) });
    const c = new SubtypeChecker();
    c.isSubtype({ kind: "instance", id: big }, { kind: "instance", id: small }, t);
    expect(() => c.isSubtype({ kind: "instance", id: small }, { kind: "instance", id: big }, t)).toThrow("instance is missing expected function export `b`");
    try {
      c.isSubtype({ kind: "instance", id: small }, { kind: "instance", id: big }, t);
    } catch (e) {
      expect(e).toBeInstanceOf(SubtypeError);
    }
  });

  it("compares records field by field", () => {
    const t = new Types();
    const r1 = t.definedValue({ kind: "record", fields: new Map([["x", prim("u32")]]) });
    const r2 = t.definedValue({ kind: "record", fields: new Map([["x", prim("s32")]]) });
    expect(() => new SubtypeChecker().value(r1, t, r2, t)).toThrow("mismatched type for record field `x`: expected s32, found u32");
  });
});

describe("helpers", () => {
  it("semver tracks", () => {
    expect(areSemverCompatible("a:b/c@0.2.0", "a:b/c@0.2.1")).toBe(true);
    expect(areSemverCompatible("a:b/c@0.2.0", "a:b/c@0.3.0")).toBe(false);
    expect(areSemverCompatible("a:b/c@1.0.0", "a:b/c@1.9.0")).toBe(true);
    expect(alternateLookupKey("a:b/c@0.0.1")).toBeUndefined();
  });

  it("strips custom sections recursively for validation", async () => {
    const bytes = await parse(`(component (core module (@custom "x" "payload")) (@custom "y" "more") (component (@custom "z" "nested")))`);
    const stripped = stripCustomSections(bytes);
    expect(stripped.length).toBeLessThan(bytes.length);
    expect(Buffer.from(stripped).includes(Buffer.from("payload"))).toBe(false);
    expect(Buffer.from(stripped).includes(Buffer.from("nested"))).toBe(false);
    readComponent(stripped);
  });
});

describe("validation", () => {
  it("accepts what wasm-tools validate accepts: a component exporting only a type or a world has no WIT reading but is valid", async () => {
    const { validateComponent } = await import("../../tools/src/compose/validate.ts");
    await validateComponent(await parse(`(component (type $t (record (field "a" u32))) (export "t" (type $t)))`));
    await validateComponent(await parse(`(component (type $w (component (export "a:b/w" (component (import "f" (func)))))) (export "w" (type $w)))`));
  }, 60_000);

  it("rejects an invalid component with wasm-tools' message and the offset into the component", async () => {
    const { runIsolated, validateComponent } = await import("../../tools/src/compose/validate.ts");
    const bytes = await parse(`(component (import "a:b/c" (instance)) (import "a:b/c" (instance)))`);
    const err = await validateComponent(bytes).then(() => undefined, (e: unknown) => e as { code: string; detail: string });
    expect(err?.code).toBe("VALIDATION_FAILED");
    expect(err?.detail).toMatch(/import name `a:b\/c` conflicts with previous name/);
    // The same validator on the bare component (it fails before any WIT reading) names the same offset.
    const bare = await runIsolated("componentWit", bytes).then(() => "", (e: unknown) => (e as { detail: string }).detail);
    const offset = (m: string) => /\(at offset (0x[0-9a-f]+)\)/.exec(m)?.[1];
    expect(offset(err!.detail)).toBeDefined();
    expect(offset(err!.detail)).toBe(offset(bare));
  }, 60_000);

  it("reports an invalid composition as VALIDATION_FAILED and stays usable for the next call", async () => {
    // A component whose embedded core module is garbage: our reader does not decode module
    // bodies, wasm-tools does.
    const module = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x7f, 0x01, 0x00);
    const bad = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x01, module.length, ...module);
    const graph = new CompositionGraph();
    graph.instantiate(graph.registerPackage(packageFromBytes("test:bad", undefined, bad, graph.types)));
    await expect(graph.encode()).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    await expect(graph.encode({ validate: false })).resolves.toBeInstanceOf(Uint8Array);

    const good = new CompositionGraph();
    good.instantiate(good.registerPackage(packageFromBytes("test:good", undefined, await parse(FOO), good.types)));
    await expect(good.encode()).resolves.toBeInstanceOf(Uint8Array);
  }, 60_000);
});
