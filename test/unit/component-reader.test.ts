import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { ComponentBinaryError, Reader, Writer } from "../../tools/src/component/binary.ts";
import { packageFromBytes } from "../../tools/src/component/package.ts";
import { readComponent } from "../../tools/src/component/reader.ts";
import { Types } from "../../tools/src/component/types.ts";
import { validateExternName, ExternNameError } from "../../tools/src/component/extern-name.ts";

describe("LEB128 and names", () => {
  it("round-trips u32 values through Writer and Reader", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      const w = new Writer().u32(n);
      const r = new Reader(w.bytes());
      expect(r.u32()).toBe(n);
      expect(r.done).toBe(true);
    }));
  });

  it("writes minimal LEB128 (127 is one byte, 128 two)", () => {
    expect([...new Writer().u32(127).bytes()]).toEqual([0x7f]);
    expect([...new Writer().u32(128).bytes()]).toEqual([0x80, 0x01]);
    expect([...new Writer().u32(624485).bytes()]).toEqual([0xe5, 0x8e, 0x26]);
  });

  it("encodes extern names with the 0x00 discriminant", () => {
    expect([...new Writer().externName("a:b/c").bytes()]).toEqual([0x00, 5, 0x61, 0x3a, 0x62, 0x2f, 0x63]);
  });

  it("reports truncated LEB128 with the offset", () => {
    const r = new Reader(Uint8Array.of(0x80, 0x80));
    expect(() => r.u32("a section size")).toThrow(/at offset 0x2: unexpected end of data, expected a section size/);
  });
});

describe("extern names", () => {
  it.each([
    ["foo", "label"], ["foo-bar2", "label"], ["ABC-def", "label"], ["[constructor]r", "constructor"],
    ["[method]r.do-it", "method"], ["[static]r.make", "static"], ["wasi:http/types@0.2.0", "interface"],
    ["unlocked-dep=<test:foo>", "dependency"], ["unlocked-dep=<test:foo@{>=1.2.3}>", "dependency"],
  ])("accepts %s as %s", (name, kind) => {
    expect(validateExternName(name)).toBe(kind);
  });

  it.each(["NOT_VALID", "!", "foo--bar", "-foo", "9abc", "a:b", "a:b/c@1.x", "[method]r"])("rejects %s", (name) => {
    expect(() => validateExternName(name)).toThrow(ExternNameError);
  });

  it("names the offending label like the reference", () => {
    expect(() => validateExternName("NOT_VALID")).toThrow("`NOT_VALID` is not in kebab case");
  });
});

describe("reader", () => {
  it("rejects a core module with a clear message", async () => {
    const module = await parse("(module)");
    expect(() => readComponent(module)).toThrow(/expected a component .* found a core module/);
  });

  it("rejects garbage and truncated sections with offsets", () => {
    expect(() => readComponent(Uint8Array.of(1, 2, 3))).toThrow(ComponentBinaryError);
    const truncated = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x07, 0x10, 0x01);
    expect(() => readComponent(truncated)).toThrow(/at offset 0x8: section 7 of size 16 extends past the end/);
  });

  it("rejects an unknown section id", () => {
    const bad = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x2a, 0x00);
    expect(() => readComponent(bad)).toThrow(/unknown component section id 42/);
  });

  it("random bytes after the preamble give typed errors only, never a crash or hang", () => {
    const preamble = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
      try {
        readComponent(Uint8Array.from([...preamble, ...tail]));
      } catch (e) {
        expect(e).toBeInstanceOf(ComponentBinaryError);
      }
    }), { numRuns: 500 });
  });

  it("reads imports and exports with full types: instances, resources, records, functions", async () => {
    const bytes = await parse(`(component
      (type (instance
        (export "r" (type (sub resource)))
        (type (record (field "x" u32) (field "s" string)))
        (export "rec" (type (eq 1)))
        (type (own 0))
        (type (func (param "a" 2) (param "b" 3) (result 2)))
        (export "f" (func (type 4)))))
      (import "a:b/c@1.0.0" (instance $i (type 0)))
      (alias export $i "f" (func $f))
      (export "g" (func $f)))`);
    const types = new Types();
    const pkg = packageFromBytes("a:pkg", "1.0.0", bytes, types);
    const world = types.world(pkg.ty);
    const imp = world.imports.get("a:b/c@1.0.0");
    expect(imp?.kind).toBe("instance");
    if (imp?.kind !== "instance") return;
    const iface = types.iface(imp.id);
    expect(iface.id).toBe("a:b/c@1.0.0");
    expect([...iface.exports.keys()]).toEqual(["r", "rec", "f"]);
    const f = iface.exports.get("f");
    const g = world.exports.get("g");
    expect(f).toEqual(g);
    if (f?.kind !== "func") return;
    const ft = types.func(f.id);
    expect([...ft.params.keys()]).toEqual(["a", "b"]);
    const b = ft.params.get("b")!;
    expect(b.kind).toBe("own");
    const r = iface.exports.get("r");
    if (b.kind === "own" && r?.kind === "type" && r.type.kind === "resource") expect(types.resolveResource(b.resource)).toBe(types.resolveResource(r.type.id));
    const a = ft.params.get("a")!;
    expect(types.describeValue(a)).toBe("record");
  });

  it("instantiates nested components with their arguments to type the resulting instance", async () => {
    const bytes = await parse(`(component
      (import "f" (func $f (param "x" u32)))
      (component $inner
        (import "g" (func $g (param "x" u32)))
        (export "h" (func $g)))
      (instance $i (instantiate $inner (with "g" (func $f))))
      (export "out" (instance $i)))`);
    const types = new Types();
    const pkg = packageFromBytes("a:pkg", undefined, bytes, types);
    const out = types.world(pkg.ty).exports.get("out");
    expect(out?.kind).toBe("instance");
    if (out?.kind !== "instance") return;
    const h = types.iface(out.id).exports.get("h");
    const f = types.world(pkg.ty).imports.get("f");
    expect(h).toEqual(f);
  });
});

describe("value type indexes", () => {
  it("are written as signed LEB128 (64 needs two bytes)", () => {
    expect([...new Writer().s33(63).bytes()]).toEqual([0x3f]);
    expect([...new Writer().s33(64).bytes()]).toEqual([0xc0, 0x00]);
    expect([...new Writer().s33(69).bytes()]).toEqual([0xc5, 0x00]);
    expect([...new Writer().s33(200).bytes()]).toEqual([0xc8, 0x01]);
  });
});

describe("hostile inputs", () => {
  const PRE = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

  it("deeply nested types fail with a typed error, not a stack overflow", () => {
    const depth = 5000;
    const body = [0x01];
    for (let i = 0; i < depth; i++) body.push(0x42, 0x01, 0x01);
    body.push(0x42, 0x00);
    const section = new Writer().byte(0x07).u32(body.length).raw(Uint8Array.from(body)).bytes();
    expect(() => readComponent(Uint8Array.from([...PRE, ...section]))).toThrow(/nested more than 100 deep/);
  });

  it("nested components instantiated exponentially often fail fast with a typed error", () => {
    let comp: Uint8Array = Uint8Array.from(PRE);
    for (let level = 0; level < 40; level++) {
      const nested = new Writer().byte(0x04).u32(comp.length).raw(comp).bytes();
      const inst = new Writer().u32(2).byte(0x00).u32(0).u32(0).byte(0x00).u32(0).u32(0).bytes();
      const instSection = new Writer().byte(0x05).u32(inst.length).raw(inst).bytes();
      comp = Uint8Array.from([...PRE, ...nested, ...instSection]);
    }
    const t0 = Date.now();
    expect(() => readComponent(comp)).toThrow(/too complex/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

describe("value section (🪙)", () => {
  const PRE = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00);
  /** `value ::= t:<valtype> len:<u32> v:<val(t)>`; jco's WAT parser does not accept values, so the bytes are built here. */
  const value = (w: Writer, type: (w: Writer) => void, payload: number[]): Writer => {
    type(w);
    return w.u32(payload.length).raw(Uint8Array.from(payload));
  };
  const component = (...sections: Array<[number, Writer]>): Uint8Array => {
    const w = new Writer().raw(PRE);
    for (const [id, body] of sections) w.section(id, body);
    return w.bytes();
  };
  const exportValue = (name: string, index: number): Writer => new Writer().externName(name).byte(0x02).u32(index).byte(0x00);
  // type 0: (record (field "x" u32))
  const recordType = new Writer().u32(1).byte(0x72).u32(1).str("x").byte(0x79);

  it("adds its values to the value index space, after imported values, so exports resolve", () => {
    // (import "in" (value string)), then (import "eq" (value (eq 0))) after the section's values
    const imports = new Writer().u32(1).externName("in").byte(0x02).byte(0x01).byte(0x73);
    const eqImport = new Writer().u32(1).externName("eq").byte(0x02).byte(0x00).u32(2);
    const values = new Writer().u32(2);
    value(values, (w) => w.byte(0x79), [42]); // value 1: u32 42
    value(values, (w) => w.u32(0), [0x2a]); // value 2: the record { x: 42 }
    const exports = new Writer().u32(4).raw(exportValue("a", 0).bytes()).raw(exportValue("b", 1).bytes()).raw(exportValue("c", 2).bytes())
      .raw(exportValue("d", 3).bytes());
    const bytes = component([7, recordType], [10, imports], [12, values], [10, eqImport], [11, exports]);
    const read = readComponent(bytes);
    const a = read.exports.get("a");
    const b = read.exports.get("b");
    const c = read.exports.get("c");
    expect(a?.k === "value" && "prim" in a.t ? a.t.prim : undefined).toBe("string");
    expect(b?.k === "value" && "prim" in b.t ? b.t.prim : undefined).toBe("u32");
    expect(c?.k === "value" && !("prim" in c.t) ? c.t.def.k : undefined).toBe("record");
    const d = read.exports.get("d");
    expect(d?.k === "value" ? d.t : undefined).toBe(c?.k === "value" ? c.t : null);
    const types = new Types();
    const pkg = packageFromBytes("a:pkg", undefined, bytes, types);
    const cv = types.world(pkg.ty).exports.get("c");
    expect(cv?.kind === "value" ? types.describeValue(cv.type) : undefined).toBe("record");
  });

  it("rejects a value whose length runs past the section, an unknown type, and an unknown value index", () => {
    const long = new Writer().u32(1).byte(0x79).u32(5).byte(42);
    expect(() => readComponent(component([12, long]))).toThrow(/value of 5 bytes extends past the end of the value section \(1 left\)/);
    const badType = new Writer().u32(1).u32(3).u32(0);
    expect(() => readComponent(component([12, badType]))).toThrow(/unknown type 3/);
    const notValue = new Writer().u32(1).byte(0x40).u32(0).byte(0x01).byte(0x00); // (type (func))
    const funcTyped = new Writer().u32(1).u32(0).u32(0);
    expect(() => readComponent(component([7, notValue], [12, funcTyped]))).toThrow(/type 0 is not a value type/);
    const one = value(new Writer().u32(1), (w) => w.byte(0x7f), [1]);
    expect(() => readComponent(component([12, one], [11, new Writer().u32(1).raw(exportValue("x", 1).bytes())]))).toThrow(/unknown value 1 \(only 1 defined\)/);
    const trailing = value(new Writer().u32(1), (w) => w.byte(0x7f), [1]).byte(0x00);
    expect(() => readComponent(component([12, trailing]))).toThrow(/section 12 has 1 unexpected trailing bytes/);
    const badBound = new Writer().u32(1).externName("v").byte(0x02).byte(0x02).byte(0x73);
    expect(() => readComponent(component([10, badBound]))).toThrow(/expected a value bound \(0x00 eq or 0x01 a value type\), found 0x2/);
  });
});
