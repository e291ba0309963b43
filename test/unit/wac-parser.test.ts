import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDocument, parseWitFile } from "../../tools/src/wac/parser.ts";
import { SourceError } from "../../tools/src/wac/diagnostics.ts";

function parseError(text: string, wit = false): SourceError {
  try {
    if (wit) parseWitFile({ path: "t.wit", text });
    else parseDocument({ path: "t.wac", text });
  } catch (e) {
    if (e instanceof SourceError) return e;
    throw e;
  }
  throw new Error("expected a syntax error");
}

describe("WAC parser", () => {
  it("parses every statement form", () => {
    const doc = parseDocument({
      path: "t.wac",
      text: `package ex:app@1.0.0 targets wasi:http/proxy@0.2.0;
        import a as "b": func(x: string) -> list<u8>;
        import c: wasi:io/streams@0.2.0;
        import d: interface { f: func() -> result<_, string>; };
        interface i { resource r { constructor(x: u32); m: func(); s: static func() -> r; } use wasi:io/x.{y as z}; }
        world w { import a: func(); export i; include other with { a as b }; }
        let x = new ex:comp@2.0.0 { a, "n": c, b: (d), ...x, ... };
        let y = x.foo["bar:baz/qux"];
        export y as name;
        export x...;
        export new a:b {} as "z";`,
    });
    expect(doc.package.name.name).toBe("ex:app");
    expect(doc.package.name.version).toBe("1.0.0");
    expect(doc.package.targets?.segments).toEqual(["proxy"]);
    expect(doc.statements.map((s) => s.kind)).toEqual(["import", "import", "import", "interface", "world", "let", "let", "export", "export", "export"]);
    const let1 = doc.statements[5];
    if (let1?.kind !== "let" || let1.expr.primary.kind !== "new") throw new Error("shape");
    expect(let1.expr.primary.args.map((a) => a.kind)).toEqual(["inferred", "named", "named", "spread"]);
    expect(let1.expr.primary.fill).toBeDefined();
  });

  it("reports file, line, column and a caret under the offending token", () => {
    const e = parseError("package a:b;\n\nlet x = new a:c { 3 };\n");
    expect(e.code).toBe("WAC_SYNTAX");
    expect(e.line).toBe(3);
    expect(e.column).toBe(19);
    expect(e.message).toBe(
      "t.wac:3:19: expected either identifier, string, `...`, or `}`, found integer\n  |\n3 | let x = new a:c { 3 };\n  |                   ^",
    );
  });

  it("rejects a bad version and unterminated comments", () => {
    expect(parseError("package a:b@1.2;").shortMessage).toMatch(/semantic version/);
    expect(parseError("package a:b; /* /* */").shortMessage).toMatch(/unterminated block comment/);
  });

  it("rejects deep nesting with an error instead of a stack overflow", () => {
    const text = `package a:b; type t = ${"list<".repeat(5000)}u8${">".repeat(5000)};`;
    expect(parseError(text).shortMessage).toMatch(/nesting is too deep/);
  });

  it("random text gives only typed errors, no crash, no hang", () => {
    const tokens = [
      "package", "a:b", "import", "let", "export", "new", "{", "}", "(", ")", "[", "]", "<", ">", ",", ";", ":",
      ".", "...", "=", "->", "@1.0.0", "@", "/", "\"s\"", "func", "interface", "world", "x", "y-z", "%type",
      "u32", "list", "result", "_", "as", "use", "include", "with", "resource", "static", "constructor",
      "record", "enum", "flags", "variant", "type", "// c\n", "/* c */", "\n", " ", "é", "0", "🙂",
    ];
    const arb = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(fc.constantFrom(...tokens), { maxLength: 60 }).map((a) => a.join(" ")),
      fc.array(fc.constantFrom(...tokens), { maxLength: 60 }).map((a) => `package a:b;\n${a.join(" ")}`),
    );
    fc.assert(
      fc.property(arb, fc.boolean(), (text, wit) => {
        try {
          if (wit) parseWitFile({ path: "r", text });
          else parseDocument({ path: "r", text });
        } catch (e) {
          expect(e).toBeInstanceOf(SourceError);
          expect((e as SourceError).line).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("WIT parser", () => {
  it("parses a package with gates, resources, async, own/stream and nested worlds", () => {
    const f = parseWitFile({
      path: "p.wit",
      text: `package wasi:io@0.2.0;
        @since(version = 0.2.0)
        interface streams {
          use poll.{pollable};
          resource input-stream {
            read: func(len: u64) -> result<list<u8>, stream-error>;
            @unstable(feature = x)
            constructor(a: own<pollable>);
            make: static func() -> input-stream;
          }
          variant stream-error { closed, other(string) }
          f: async func(s: stream<u8>, f: future) -> error-context;
        }
        world w { import streams; export run: func(); include x:y/z with { a as b }; }`,
    });
    expect(f.package?.name).toBe("wasi:io");
    expect(f.items.map((i) => i.kind)).toEqual(["interface", "world"]);
  });

  it("rejects function type aliases, which only WAC has", () => {
    expect(parseError("package a:b; interface i { type f = func(); }", true).code).toBe("WIT_SYNTAX");
  });
});
