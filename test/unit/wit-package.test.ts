import { mkdir, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "../../tools/src/component/types.ts";
import { WitLoader, witPackageToGraphPackage } from "../../tools/src/wac/wit-package.ts";
import { SourceError } from "../../tools/src/wac/diagnostics.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";

let tmp: Tmp;

beforeAll(async () => {
  tmp = await makeTmp("wit-package");
  await mkdir(tmp.path("pkg", "deps", "io"), { recursive: true });
  // Two files of one package, declarations used before they are declared, a dependency in deps/.
  await writeFile(tmp.path("pkg", "a.wit"), `package ex:app@0.1.0;
    world app {
      use api.{handle};
      import api;
      import wasi:io/streams@0.2.0;
      export run: func(h: borrow<handle>) -> result<string, error>;
      variant error { closed, other(string) }
    }`);
  await writeFile(tmp.path("pkg", "b.wit"), `package ex:app@0.1.0;
    interface api {
      use wasi:io/streams@0.2.0.{input-stream};
      open: func(s: input-stream) -> handle;
      resource handle { constructor(); name: func() -> string; make: static func() -> handle; }
    }`);
  await writeFile(tmp.path("pkg", "deps", "io", "streams.wit"), `package wasi:io@0.2.0;
    interface streams { resource input-stream { read: func(len: u64) -> list<u8>; } }`);
});

afterAll(async () => {
  await tmp.cleanup();
});

describe("WIT packages", () => {
  it("loads a directory with deps/ into the type model", () => {
    const types = new Types();
    const wit = new WitLoader(types).loadPath(tmp.path("pkg"));
    expect(wit.name).toBe("ex:app");
    expect(wit.version).toBe("0.1.0");
    expect([...wit.interfaces.keys()]).toEqual(["api"]);
    expect([...wit.worlds.keys()]).toEqual(["app"]);

    const api = types.iface(wit.interfaces.get("api")!);
    expect(api.id).toBe("ex:app/api@0.1.0");
    expect([...api.exports.keys()]).toEqual([
      "input-stream", "open", "handle", "[constructor]handle", "[method]handle.name", "[static]handle.make",
    ]);
    expect(api.uses.get("input-stream")).toBeDefined();
    // The used resource is an alias of the dependency's resource: same identity.
    const used = api.exports.get("input-stream")!;
    if (used.kind !== "type" || used.type.kind !== "resource") throw new Error("not a resource");
    const streams = types.iface(api.uses.get("input-stream")!.interface);
    expect(streams.id).toBe("wasi:io/streams@0.2.0");
    const orig = streams.exports.get("input-stream")!;
    if (orig.kind !== "type" || orig.type.kind !== "resource") throw new Error("not a resource");
    expect(types.resolveResource(used.type.id)).toBe(types.resolveResource(orig.type.id));

    // The method takes `self: borrow<handle>`; the constructor returns `own<handle>`.
    const method = api.exports.get("[method]handle.name")!;
    if (method.kind !== "func") throw new Error("not a func");
    expect(types.func(method.id).params.get("self")?.kind).toBe("borrow");

    const world = types.world(wit.worlds.get("app")!);
    // `use` imports the interface before the used type.
    expect([...world.imports.keys()]).toEqual(["ex:app/api@0.1.0", "handle", "wasi:io/streams@0.2.0", "error"]);
    expect([...world.exports.keys()]).toEqual(["run"]);

    const pkg = witPackageToGraphPackage(types, wit);
    expect(pkg.bytes).toBeUndefined();
    expect([...pkg.definitions.keys()]).toEqual(["api", "app"]);
  });

  it("reports a missing dependency at the reference", () => {
    const types = new Types();
    let err: unknown;
    try {
      new WitLoader(types).loadSources([{ path: "x.wit", text: "package a:b;\ninterface i { use c:d/e.{f}; }" }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).shortMessage).toMatch(/package `c:d` not found/);
    expect((err as SourceError).line).toBe(2);
  });

  it("rejects cycles and borrows in results", () => {
    const run = (text: string) => {
      try {
        new WitLoader(new Types()).loadSources([{ path: "x.wit", text }]);
      } catch (e) {
        return e as SourceError;
      }
      throw new Error("expected failure");
    };
    expect(run("package a:b; interface x { use y.{t}; } interface y { use x.{t}; type t = u8; }").shortMessage).toMatch(/depends on itself/);
    expect(run("package a:b; interface x { resource r; f: func() -> borrow<r>; }").shortMessage).toMatch(/cannot contain a `borrow`/);
  });
});
