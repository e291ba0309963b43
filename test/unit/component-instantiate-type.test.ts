import { mkdir, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentWit } from "@bytecodealliance/jco-transpile/wasm-tools";
import { packageFromBytes } from "../../tools/src/component/package.ts";
import { SubtypeChecker } from "../../tools/src/component/subtype.ts";
import { Types, type InterfaceId, type ItemKind, type ResourceId, type ValueType } from "../../tools/src/component/types.ts";
import { composeFile } from "../../tools/src/cli/commands/compose.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { COUNTER_WAT, watToWasm } from "../helpers/wasm-fixtures.ts";

/**
 * Instantiating a component known only by its type (an imported component): the instance's
 * export types must use the arguments' types and fresh resources for the ones the type
 * defines, exactly as when the same component is defined inline and interpreted.
 */

/** The nested component, as a type (imported) and as a definition (inline). */
const USES_R_TYPE = `
    (import "r" (type $r (sub resource)))
    (type $own (own $r))
    (type $f (func (param "x" $own) (result $own)))
    (export "f" (func (type $f)))`;

const USES_R_DEF = `
    (import "r" (type $r (sub resource)))
    (core module $m (func (export "f") (param i32) (result i32) local.get 0))
    (core instance $mi (instantiate $m))
    (type $own (own $r))
    (func $f (param "x" $own) (result $own) (canon lift (core func $mi "f")))
    (export "f" (func $f))`;

const IMPORTED = `(component
  (import "rr" (type $R (sub resource)))
  (import "c" (component $c ${USES_R_TYPE}))
  (instance $i (instantiate $c (with "r" (type $R))))
  (export "out" (instance $i)))`;

const INLINE = `(component
  (import "rr" (type $R (sub resource)))
  (component $c ${USES_R_DEF})
  (instance $i (instantiate $c (with "r" (type $R))))
  (export "out" (instance $i)))`;

const VIA_INSTANCE = `(component
      (import "ex:p/types" (instance $t (export "r" (type (sub resource)))))
      (alias export $t "r" (type $R))
      (type $ct (component
        (import "ex:p/types" (instance $ti (export "r" (type (sub resource)))))
        (alias export $ti "r" (type $r))
        (export "ex:p/use" (instance
          (alias outer 1 $r (type $r2))
          (export "r" (type $re (eq $r2)))
          (type $own (own $re))
          (export "take" (func (param "x" $own)))))))
      (import "unlocked-dep=<ex:dep>" (component $c (type $ct)))
      (instance $i (instantiate $c (with "ex:p/types" (instance $t))))
      (alias export $i "ex:p/use" (instance $use))
      (export "ex:p/use" (instance $use)))`;

const TWICE = `(component
      (import "c" (component $c
        (export "r" (type $r (sub resource)))
        (type $own (own $r))
        (export "make" (func (result $own)))
        (export "i" (instance
          (export "s" (type $s (sub resource)))
          (type $own-s (own $s))
          (export "make-s" (func (result $own-s)))))))
      (instance $a (instantiate $c))
      (instance $b (instantiate $c))
      (export "a" (instance $a))
      (export "b" (instance $b)))`;

function read(types: Types, bytes: Uint8Array): { imports: Map<string, ItemKind>; exports: Map<string, ItemKind> } {
  const pkg = packageFromBytes("test:pkg", undefined, bytes, types);
  const w = types.world(pkg.ty);
  return { imports: w.imports, exports: w.exports };
}

function instanceOf(kind: ItemKind | undefined): InterfaceId {
  if (kind?.kind !== "instance") throw new Error(`expected an instance, found ${kind?.kind ?? "nothing"}`);
  return kind.id;
}

function resourceOf(kind: ItemKind | undefined): ResourceId {
  if (kind?.kind !== "type" || kind.type.kind !== "resource") throw new Error("expected a resource type");
  return kind.type.id;
}

function ownedResource(v: ValueType | undefined): ResourceId {
  if (v?.kind !== "own") throw new Error(`expected own, found ${v?.kind ?? "nothing"}`);
  return v.resource;
}

function funcOf(types: Types, kind: ItemKind | undefined): { param: ResourceId; result: ResourceId } {
  if (kind?.kind !== "func") throw new Error("expected a function");
  const f = types.func(kind.id);
  return { param: ownedResource([...f.params.values()][0]), result: ownedResource(f.result) };
}

describe("instantiating an imported component type", () => {
  it("the fixtures are valid components (wasm-tools)", async () => {
    for (const [name, wat] of Object.entries({ IMPORTED, INLINE, VIA_INSTANCE, TWICE })) {
      // componentWit validates, then prints WIT; WIT cannot express an instance nested in an
      // instance (TWICE), which fails only the second step.
      const outcome = await componentWit(await watToWasm(wat)).then(() => "valid", (e: unknown) =>
        /failed to decode WIT from export/.test(String(e)) ? "valid" : String(e));
      expect(outcome, name).toBe("valid");
    }
  });

  it("substitutes the argument's resource for the type's imported resource", async () => {
    const types = new Types();
    const { imports, exports } = read(types, await watToWasm(IMPORTED));
    const rr = types.resolveResource(resourceOf(imports.get("rr")));
    const f = funcOf(types, types.iface(instanceOf(exports.get("out"))).exports.get("f"));
    expect(types.resolveResource(f.param)).toBe(rr);
    expect(types.resolveResource(f.result)).toBe(rr);
  });

  it("gives the same export types as the component defined inline", async () => {
    const types = new Types();
    const imported = read(types, await watToWasm(IMPORTED));
    const inline = read(types, await watToWasm(INLINE));
    const a = imported.exports.get("out")!;
    const b = inline.exports.get("out")!;
    new SubtypeChecker().isSubtype(a, b, types);
    new SubtypeChecker().isSubtype(b, a, types);
    // Both instances' functions are over their own package's `rr` import, not over `r`.
    const fa = funcOf(types, types.iface(instanceOf(a)).exports.get("f"));
    const fb = funcOf(types, types.iface(instanceOf(b)).exports.get("f"));
    expect(types.resource(types.resolveResource(fa.param)).name).toBe("rr");
    expect(types.resource(types.resolveResource(fb.param)).name).toBe("rr");
  });

  it("the same holds across arenas, where resources compare by name", async () => {
    const ta = new Types();
    const tb = new Types();
    const a = read(ta, await watToWasm(IMPORTED)).exports.get("out")!;
    const b = read(tb, await watToWasm(INLINE)).exports.get("out")!;
    new SubtypeChecker().isSubtype(a, b, ta, tb);
    new SubtypeChecker().isSubtype(b, a, tb, ta);
  });

  it("substitutes through imported instances, as a composition with -i imports them", async () => {
    const bytes = await watToWasm(VIA_INSTANCE);
    const types = new Types();
    const { imports, exports } = read(types, bytes);
    const r = types.resolveResource(resourceOf(types.iface(instanceOf(imports.get("ex:p/types"))).exports.get("r")));
    const use = types.iface(instanceOf(exports.get("ex:p/use")));
    expect(types.resolveResource(resourceOf(use.exports.get("r")))).toBe(r);
    const take = use.exports.get("take");
    if (take?.kind !== "func") throw new Error("expected a function");
    expect(types.resolveResource(ownedResource(types.func(take.id).params.get("x")))).toBe(r);
  });

  it("gives each instantiation fresh resources for the resources the type exports", async () => {
    const bytes = await watToWasm(TWICE);
    const types = new Types();
    const { exports } = read(types, bytes);
    const side = (name: string): { r: ResourceId; make: ResourceId; s: ResourceId; makeS: ResourceId } => {
      const inst = types.iface(instanceOf(exports.get(name)));
      const make = inst.exports.get("make");
      if (make?.kind !== "func") throw new Error("expected a function");
      const i = types.iface(instanceOf(inst.exports.get("i")));
      const makeS = i.exports.get("make-s");
      if (makeS?.kind !== "func") throw new Error("expected a function");
      return {
        r: types.resolveResource(resourceOf(inst.exports.get("r"))),
        make: types.resolveResource(ownedResource(types.func(make.id).result)),
        s: types.resolveResource(resourceOf(i.exports.get("s"))),
        makeS: types.resolveResource(ownedResource(types.func(makeS.id).result)),
      };
    };
    const a = side("a");
    const b = side("b");
    expect(a.make).toBe(a.r);
    expect(b.make).toBe(b.r);
    expect(a.makeS).toBe(a.s);
    expect(b.makeS).toBe(b.s);
    expect(a.r).not.toBe(b.r);
    expect(a.s).not.toBe(b.s);
  });
});

/** Imports ex:demo/counter; exports ex:demo/user, whose `take` is over the imported counter (WIT `use`). */
const USER_WAT = `(component
  (import "ex:demo/counter" (instance $c
    (export "counter" (type (sub resource)))
    (export "[constructor]counter" (func (param "start" u32) (result (own 0))))
    (export "[method]counter.add" (func (param "self" (borrow 0)) (param "n" u32) (result u32)))))
  (alias export $c "counter" (type $r))
  (core module $m (func (export "take") (param i32) (result i32) local.get 0))
  (core instance $i (instantiate $m))
  (type $own (own $r))
  (func $take (param "x" $own) (result u32) (canon lift (core func $i "take")))
  (component $shim
    (import "r" (type $r (sub resource)))
    (import "take" (func $take (param "x" (own $r)) (result u32)))
    (export $rx "counter" (type $r))
    (export "take" (func $take) (func (param "x" (own $rx)) (result u32))))
  (instance $u (instantiate $shim (with "r" (type $r)) (with "take" (func $take))))
  (export "ex:demo/user" (instance $u)))`;

/** Imports both interfaces, with ex:demo/user's counter being ex:demo/counter's. */
const K_WAT = `(component
  (import "ex:demo/counter" (instance $c
    (export "counter" (type (sub resource)))
    (export "[constructor]counter" (func (param "start" u32) (result (own 0))))
    (export "[method]counter.add" (func (param "self" (borrow 0)) (param "n" u32) (result u32)))))
  (alias export $c "counter" (type $r))
  (import "ex:demo/user" (instance $u
    (alias outer 1 $r (type $r0))
    (export "counter" (type (eq $r0)))
    (export "take" (func (param "x" (own 1)) (result u32)))))
  (core module $m (func (export "run") (result i32) i32.const 7))
  (core instance $i (instantiate $m))
  (func (export "run") (result u32) (canon lift (core func $i "run"))))`;

describe("a composition with imported dependencies (-i), read back as a dependency", () => {
  let tmp: Tmp;
  beforeAll(async () => {
    tmp = await makeTmp("instantiate-type");
    await mkdir(tmp.path("deps", "ex"), { recursive: true });
    await writeFile(tmp.path("deps", "ex", "counter.wat"), COUNTER_WAT);
    await writeFile(tmp.path("deps", "ex", "user.wat"), USER_WAT);
    await writeFile(tmp.path("deps", "ex", "k.wat"), K_WAT);
    await writeFile(tmp.path("one.wac"), [
      "package ex:mid;",
      "let c = new ex:counter {};",
      "let u = new ex:user { ...c };",
      'export c["ex:demo/counter"];',
      'export u["ex:demo/user"];',
      "",
    ].join("\n"));
    await writeFile(tmp.path("two.wac"), [
      "package ex:top;",
      "let o = new ex:out { ... };",
      'let k = new ex:k { "ex:demo/counter": o["ex:demo/counter"], "ex:demo/user": o["ex:demo/user"] };',
      "export k.run;",
      "",
    ].join("\n"));
  });
  afterAll(async () => {
    await tmp?.cleanup();
  });

  it("types the user instance over the counter instance's resource, and composes again with -i", async () => {
    const out = await composeFile({ file: tmp.path("one.wac"), depsDir: tmp.path("deps"), importDependencies: true });
    // The output only imports `unlocked-dep=<...>` component types and instantiates them:
    // its exports' types come from instantiating those types.
    const types = new Types();
    const { imports, exports } = read(types, out);
    expect([...imports.keys()]).toEqual(["unlocked-dep=<ex:counter>", "unlocked-dep=<ex:user>"]);
    const counterIface = instanceOf(exports.get("ex:demo/counter"));
    const user = types.iface(instanceOf(exports.get("ex:demo/user")));
    const counter = types.resolveResource(resourceOf(types.iface(counterIface).exports.get("counter")));
    expect(types.resolveResource(resourceOf(user.exports.get("counter")))).toBe(counter);
    const take = user.exports.get("take");
    if (take?.kind !== "func") throw new Error("expected a function");
    expect(types.resolveResource(ownedResource(types.func(take.id).params.get("x")))).toBe(counter);
    // The user interface's `counter` is used from the exported counter interface, not from
    // the interface the user component's type imports.
    expect(user.uses.get("counter")).toEqual({ interface: counterIface });

    // Composed again with -i, the output's type for ex:out declares ex:demo/user over the
    // ex:demo/counter it exports: an import of ex:demo/counter inside that type would be
    // one nothing supplies, and the output would fail validation (on by default).
    await writeFile(tmp.path("deps", "ex", "out.wasm"), out);
    const top = await composeFile({ file: tmp.path("two.wac"), depsDir: tmp.path("deps"), importDependencies: true });
    const again = new Types();
    const second = read(again, top);
    const outType = second.imports.get("unlocked-dep=<ex:out>");
    if (outType?.kind !== "component") throw new Error("expected ex:out imported as a component type");
    expect([...again.world(outType.id).imports.keys()]).toEqual(["unlocked-dep=<ex:counter>", "unlocked-dep=<ex:user>"]);
    expect([...second.exports.keys()]).toEqual(["run"]);
    // ex:demo/counter is imported only inside the ex:user component type, which declares it
    // there; the output itself needs no host instance of it.
    expect([...second.imports.keys()]).toEqual([
      "unlocked-dep=<ex:counter>", "unlocked-dep=<ex:user>", "unlocked-dep=<ex:out>", "unlocked-dep=<ex:k>",
    ]);
  });
});

/**
 * One component exports interface ex:demo/a (resource `r`) and ex:demo/b, whose `take` is
 * over a's `r` (WIT: `world w { export a; export b; }` with `use a.{r}` in b).
 */
const EXPORTS_BOTH_WAT = `(component
  (type $r (resource (rep i32)))
  (core module $m (func (export "take") (param i32)))
  (core instance $i (instantiate $m))
  (type $own (own $r))
  (func $take (param "x" $own) (canon lift (core func $i "take")))
  (component $a-shim
    (import "r" (type $r (sub resource)))
    (export "r" (type $r)))
  (instance $a (instantiate $a-shim (with "r" (type $r))))
  (export $ax "ex:demo/a" (instance $a))
  (alias export $ax "r" (type $ar))
  (component $b-shim
    (import "r" (type $r (sub resource)))
    (import "take" (func $take (param "x" (own $r))))
    (export $rx "r" (type $r))
    (export "take" (func $take) (func (param "x" (own $rx)))))
  (instance $b (instantiate $b-shim (with "r" (type $ar)) (with "take" (func $take))))
  (export "ex:demo/b" (instance $b)))`;

describe("a dependency exporting an interface whose types another of its exports uses (-i)", () => {
  let tmp: Tmp;
  beforeAll(async () => {
    tmp = await makeTmp("exports-use-exports");
    await mkdir(tmp.path("deps", "ex"), { recursive: true });
    await writeFile(tmp.path("deps", "ex", "dep.wat"), EXPORTS_BOTH_WAT);
    await writeFile(tmp.path("top.wac"), [
      "package ex:top;",
      "let d = new ex:dep {};",
      'export d["ex:demo/a"];',
      'export d["ex:demo/b"];',
      "",
    ].join("\n"));
  });
  afterAll(async () => {
    await tmp?.cleanup();
  });

  it("declares b over the a it exports, so the output validates and reads back with b over a's resource", async () => {
    // composeFile validates with wasm-tools: an import of ex:demo/a inside the dependency's
    // type is one the instantiation does not supply.
    const out = await composeFile({ file: tmp.path("top.wac"), depsDir: tmp.path("deps"), importDependencies: true });
    const types = new Types();
    const { imports, exports } = read(types, out);
    expect([...imports.keys()]).toEqual(["unlocked-dep=<ex:dep>"]);
    const dep = imports.get("unlocked-dep=<ex:dep>");
    if (dep?.kind !== "component") throw new Error("expected the dependency imported as a component type");
    expect([...types.world(dep.id).imports.keys()]).toEqual([]);
    expect([...types.world(dep.id).exports.keys()]).toEqual(["ex:demo/a", "ex:demo/b"]);

    const aIface = instanceOf(exports.get("ex:demo/a"));
    const b = types.iface(instanceOf(exports.get("ex:demo/b")));
    const r = types.resolveResource(resourceOf(types.iface(aIface).exports.get("r")));
    expect(types.resolveResource(resourceOf(b.exports.get("r")))).toBe(r);
    const take = b.exports.get("take");
    if (take?.kind !== "func") throw new Error("expected a function");
    expect(types.resolveResource(ownedResource(types.func(take.id).params.get("x")))).toBe(r);
    expect(b.uses.get("r")).toEqual({ interface: aIface });
  });
});
