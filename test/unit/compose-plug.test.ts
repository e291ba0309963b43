import { describe, expect, it } from "vitest";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { buildPlugGraph } from "../../tools/src/compose/plug.ts";
import { encodeGraphSync } from "../../tools/src/compose/encoder.ts";
import { readComponent } from "../../tools/src/component/reader.ts";
import { CompositionGraph } from "../../tools/src/compose/graph.ts";
import { packageFromBytes } from "../../tools/src/component/package.ts";

const SOCKET = `(component
  (import "a:b/c@0.2.0" (instance $c (export "f" (func (result u32)))))
  (import "other" (func))
  (alias export $c "f" (func $f))
  (export "run" (func $f)))`;

const PLUG = (version: string): string => `(component
  (core module $m (func (export "f") (result i32) i32.const 7))
  (core instance $i (instantiate $m))
  (func $f (result u32) (canon lift (core func $i "f")))
  (instance $x (export "f" (func $f)))
  (export "a:b/c@${version}" (instance $x)))`;

describe("plug", () => {
  it("wires a semver-compatible export into the import and keeps unmatched imports", async () => {
    const { graph, plugged } = buildPlugGraph({ label: "socket.wasm", bytes: await parse(SOCKET) }, [{ label: "plug.wasm", bytes: await parse(PLUG("0.2.3")) }]);
    expect(plugged).toEqual([{ label: "plug.wasm", imports: ["a:b/c@0.2.0"] }]);
    const read = readComponent(encodeGraphSync(graph, {}));
    expect([...read.imports.keys()]).toEqual(["other"]);
    expect([...read.exports.keys()]).toEqual(["run"]);
  });

  it("does not plug an incompatible version, and then reports that nothing matched", async () => {
    const socketBytes = await parse(SOCKET);
    expect(() => buildPlugGraph({ label: "socket.wasm", bytes: socketBytes }, [{ label: "plug.wasm", bytes: Uint8Array.of(0) }]))
      .toThrow(/plug\.wasm: .*expected the component preamble/);
    const plugBytes = await parse(PLUG("0.3.0"));
    expect(() => buildPlugGraph({ label: "socket.wasm", bytes: socketBytes }, [{ label: "plug.wasm", bytes: plugBytes }]))
      .toThrow("the socket component socket.wasm had no matching imports for the plugs that were provided (plug.wasm)");
  });

  it("two plugs for one import is an error naming the plug and the import", async () => {
    const socketBytes = await parse(SOCKET);
    const p = await parse(PLUG("0.2.0"));
    expect(() => buildPlugGraph({ label: "socket.wasm", bytes: socketBytes }, [{ label: "p1.wasm", bytes: p }, { label: "p2.wasm", bytes: p }]))
      .toThrow("p2.wasm: cannot plug export `a:b/c@0.2.0` into socket import `a:b/c@0.2.0`: argument `a:b/c@0.2.0` has already been passed to the instantiation");
  });
});

describe("graph editing", () => {
  it("unset, remove and unregister undo what they should", async () => {
    const graph = new CompositionGraph();
    const socket = graph.registerPackage(packageFromBytes("t:s", undefined, await parse(SOCKET), graph.types));
    const plug = graph.registerPackage(packageFromBytes("t:p", undefined, await parse(PLUG("0.2.0")), graph.types));
    const s = graph.instantiate(socket);
    const p = graph.instantiate(plug);
    const alias = graph.aliasInstanceExport(p, "a:b/c@0.2.0");
    graph.setInstantiationArgument(s, "a:b/c@0.2.0", alias);
    expect(graph.getInstantiationArguments(s)).toEqual([{ name: "a:b/c@0.2.0", source: alias }]);
    graph.unsetInstantiationArgument(s, "a:b/c@0.2.0", alias);
    expect(graph.getInstantiationArguments(s)).toEqual([]);
    graph.setInstantiationArgument(s, "a:b/c@0.2.0", alias);
    graph.removeNode(p);
    expect(() => graph.node(alias)).toThrow(RangeError);
    expect(graph.getInstantiationArguments(s)).toEqual([]);
    const run = graph.aliasInstanceExport(s, "run");
    graph.export(run, "run");
    graph.unexport(run);
    expect(graph.getExport("run")).toBeUndefined();
    graph.unregisterPackage(socket);
    expect(graph.nodes()).toEqual([]);
    expect(graph.getPackageByName("t:s")).toBeUndefined();
    expect(graph.getPackageByName("t:p")?.package.name).toBe("t:p");
  });
});
