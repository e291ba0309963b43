/**
 * Edge cases of the WAC generator (tools/src/wac/generate.ts) that the integration test does not
 * reach. Generated documents are parsed with our WAC parser, so text that does not parse fails.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { generateComposition, type GenComponent } from "../../tools/src/wac/generate.ts";
import { parseDocument } from "../../tools/src/wac/parser.ts";

const c = (pkg: string, imports: string[], exports: string[]): GenComponent => ({ pkg, imports, exports });

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe("generateComposition", () => {
  it("escapes keywords and disambiguates variables that share a name", () => {
    const g = generateComposition([c("a:type", [], ["x"]), c("a:svc", [], ["y"]), c("b:svc", ["x", "y"], ["run"])], { packageName: "ex:app" });
    expect(g.text).toContain("let %type = new a:type {};");
    expect(g.text).toContain("let a-svc = new a:svc {};");
    expect(g.text).toContain('let b-svc = new b:svc {\n  "x": %type["x"],\n  "y": a-svc["y"]\n};');
    expect(g.order.map((o) => o.var)).toEqual(["type", "a-svc", "b-svc"]);
    expect(() => parseDocument({ path: "gen.wac", text: g.text })).not.toThrow();
  });

  it("names a three-component cycle in instantiation direction", () => {
    let msg = "";
    try {
      generateComposition([c("e:a", ["i:b"], ["i:a"]), c("e:b", ["i:c"], ["i:b"]), c("e:c", ["i:a"], ["i:c"])], { packageName: "ex:app" });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain("e:a -(i:a)-> e:c -(i:c)-> e:b -(i:b)-> e:a");
  });

  it("a component does not satisfy its own import, and nothing to export is an error", () => {
    const g = generateComposition([c("e:a", ["x"], ["x"])], { packageName: "ex:app" });
    expect(g.imported).toEqual([{ consumer: "e:a", import: "x" }]);
    expect(g.text).toContain("let a = new e:a { ... };");
    expect(() => parseDocument({ path: "gen.wac", text: g.text })).not.toThrow();
    expect(code(() => generateComposition([c("e:a", [], ["x"]), c("e:b", ["x"], [])], { packageName: "ex:app" }))).toBe("WAC_GENERATE_NOTHING_TO_EXPORT");
    expect(code(() => generateComposition([c("e:a", [], ["x"])], { packageName: "ex:app", socket: "e:z" }))).toBe("WAC_GENERATE_UNKNOWN_SOCKET");
    expect(code(() => generateComposition([c("e:a", [], ["x"])], { packageName: "ex:app", providers: new Map([["y", "e:a"]]) }))).toBe("WAC_GENERATE_UNKNOWN_PROVIDER");
  });

  it("any acyclic wiring gives a document that parses, places providers first, and is stable", () => {
    // Random DAGs: component k may import the export of any component j < k (given shuffled).
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
            fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
          ),
        ),
        ([n, edges, perm]) => {
          const comps = [...Array(n).keys()].map((k) => c(`e:c${k}`, [...Array(k).keys()].filter((j) => edges[k]![j]).map((j) => `i:x/e${j}`), [`i:x/e${k}`]));
          const input = perm.map((k) => comps[k]!);
          const g = generateComposition(input, { packageName: "ex:app", socket: `e:c${n - 1}` });
          const pos = new Map(g.order.map((o, i) => [o.pkg, i]));
          for (const w of g.wiring) expect(pos.get(w.provider)!).toBeLessThan(pos.get(w.consumer)!);
          expect(() => parseDocument({ path: "gen.wac", text: g.text })).not.toThrow();
          expect(generateComposition(input, { packageName: "ex:app", socket: `e:c${n - 1}` }).text).toBe(g.text);
        },
      ),
      { numRuns: 100 },
    );
  });
});
