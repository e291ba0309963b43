/**
 * tools/src/build: WIT sources joined from several files, and the error texts of
 * `component new` (WAT positions, componentNew causes). Real jco, no registry.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildComponent, componentNewCauses, describeWatError } from "../../tools/src/build/component-from-wat.ts";
import { loadWitSources } from "../../tools/src/build/wit-source.ts";
import { isWasmOciError } from "../../tools/src/util/errors.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";

const CORE = `(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 64)
  (func (export "t:p/nums#twice") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))`;

describe("WIT sources", () => {
  let tmp: Tmp;
  beforeAll(async () => {
    tmp = await makeTmp("wit");
    await mkdir(tmp.path("pkg"));
    await writeFile(tmp.path("pkg", "a.wit"), "package t:p;\n\ninterface nums {\n  twice: func(x: u32) -> u32;\n}\n");
    await writeFile(tmp.path("pkg", "b.wit"), "package t:p;\n\nworld w {\n  export nums;\n}\n");
    await writeFile(tmp.path("other.wit"), "package t:other;\n\nworld v {}\n");
    await mkdir(tmp.path("withdeps", "deps"), { recursive: true });
    await writeFile(tmp.path("withdeps", "a.wit"), "package t:p;\n");
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it("joins the files of a directory into one package, and the world builds", async () => {
    const wit = await loadWitSources([tmp.path("pkg")]);
    expect(wit.files).toEqual([tmp.path("pkg", "a.wit"), tmp.path("pkg", "b.wit")]);
    expect(wit.text.match(/^package /gm)).toHaveLength(1);
    const built = await buildComponent({ core: CORE, coreName: "core.wat", witSource: wit.text, witName: "pkg", world: "w" });
    expect(built.wit).toContain("export t:p/nums;");
    expect(Array.from(built.bytes.slice(0, 4))).toEqual([0, 0x61, 0x73, 0x6d]);
  });

  it("the same files given one by one give the same document; a file of another package is refused", async () => {
    const one = await loadWitSources([tmp.path("pkg")]);
    const each = await loadWitSources([tmp.path("pkg", "a.wit"), tmp.path("pkg", "b.wit")]);
    expect(each.text).toBe(one.text);
    await expect(loadWitSources([tmp.path("pkg"), tmp.path("other.wit")])).rejects.toThrow(/declares package t:other but .*a\.wit declares t:p/);
    await expect(loadWitSources([tmp.path("withdeps")])).rejects.toThrow(/deps\/ are not supported/);
    await expect(loadWitSources([tmp.path("missing")])).rejects.toThrow(/cannot read it/);
  });
});

describe("component new errors", () => {
  it("a WAT syntax error names file, line and column with a caret", async () => {
    const e = await buildComponent({ core: "(module\n  (func (result i32) i32.const))", coreName: "x.wat", witSource: "package t:p; world w {}", witName: "w.wit", world: "w" }).catch((x: unknown) => x);
    expect(isWasmOciError(e) && e.code).toBe("INVALID_WAT");
    expect((e as Error).message).toMatch(/x\.wat:2:\d+: expected a i32\n {2} *\(func \(result i32\) i32\.const\)\)\n {2}\s*\^/);
  });

  it("describeWatError keeps unknown texts whole", () => {
    expect(describeWatError("something else", "f.wat")).toBe("f.wat: something else");
  });

  it("componentNewCauses keeps one copy of the detail with its causes on one line", () => {
    const raw = "failed to encode a component from module\n$failed to decode world from module\n\nCaused by:\n    0: module was not valid\n    1: failed to find export of function `f` failed to encode a component from module\n$failed to decode world from module\n\nCaused by:\n    0: module was not valid\n    1: failed to find export of function `f`";
    expect(componentNewCauses(raw)).toBe("failed to decode world from module: module was not valid: failed to find export of function `f`");
  });

  it("a module that misses the world's export is refused with the reason", async () => {
    const e = await buildComponent({ core: "(module)", coreName: "m.wat", witSource: "package t:p; world w { export f: func(); }", witName: "w.wit", world: "w" }).catch((x: unknown) => x);
    expect(isWasmOciError(e) && e.code).toBe("COMPONENT_NEW_FAILED");
    expect((e as Error).message).toContain("failed to find export of function `f`");
  });
});
