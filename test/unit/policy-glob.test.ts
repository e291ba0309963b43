/**
 * Globs match without backtracking (issue 12, finding 7): a glob compiled to a regular expression
 * took over 30 s with 15 stars, and a 40k-character glob crashed `policy check`. The hang cases
 * cases run the built CLI, so a regression is killed at the runner's timeout instead of blocking
 * the test worker in a synchronous regex.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { writeFile } from "node:fs/promises";
import { globMatches } from "../../tools/src/policy/glob.ts";
import { makeTmp } from "../helpers/tmp.ts";
import { cliBuilt, runCli } from "../helpers/cli.ts";

/** Independent oracle: the textbook dynamic programme over (pattern prefix, name prefix). */
function dpMatch(pattern: string, name: string): boolean {
  const p = [...pattern];
  const s = [...name];
  let row = new Array<boolean>(s.length + 1).fill(false);
  row[0] = true;
  for (const c of p) {
    const next = new Array<boolean>(s.length + 1).fill(false);
    if (c === "*") {
      next[0] = row[0]!;
      for (let j = 1; j <= s.length; j++) next[j] = row[j]! || next[j - 1]!;
    } else {
      for (let j = 1; j <= s.length; j++) next[j] = row[j - 1]! && (c === "?" || c === s[j - 1]);
    }
    row = next;
  }
  return row[s.length]!;
}

describe("glob matching", () => {
  it("a 40,000-character glob matches without a crash", () => {
    const pattern = `${"x?*".repeat(13_333)}y`;
    expect(globMatches(pattern, "x".repeat(100))).toBe(false);
    expect(globMatches("*".repeat(40_000), "ghcr.io/org/x:1")).toBe(true);
  });

  it("agrees with the dynamic-programming oracle on random globs (fast-check, 2,000 cases)", () => {
    const alphabet = fc.constantFrom("a", "b", "/", ".", "*", "?", "é", "😀");
    const text = fc.constantFrom("a", "b", "/", ".", "é", "😀");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 12 }), fc.array(text, { maxLength: 14 }), (p, s) => {
        const pattern = p.join("");
        const name = s.join("");
        expect(globMatches(pattern, name)).toBe(dpMatch(pattern, name));
      }),
      { numRuns: 2_000, seed: 12 },
    );
  });

  it.skipIf(!cliBuilt())("policy check with 15 stars against a long name decides at once (a backtracking regex took > 30 s)", async () => {
    const tmp = await makeTmp("glob-stars");
    try {
      const policy = tmp.path("policy.json");
      await writeFile(policy, JSON.stringify({ component_policies: [{ component: `${"a*".repeat(15)}b`, signing: "required" }] }));
      const wasm = tmp.path("x.wasm");
      await writeFile(wasm, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
      const r = await runCli(["policy", "check", "--policy", policy, "--component", "a".repeat(60), "-i", wasm], { timeoutMs: 15_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/default/);
    } finally {
      await tmp.cleanup();
    }
  });

  it.skipIf(!cliBuilt())("policy check with a 40k-character glob decides (exit 0) instead of crashing", async () => {
    const tmp = await makeTmp("glob-cli");
    try {
      const policy = tmp.path("policy.json");
      await writeFile(
        policy,
        JSON.stringify({ component_policies: [{ component: `${"a*".repeat(20_000)}b`, signing: "required" }] }),
      );
      const v = await runCli(["policy", "validate", policy], { timeoutMs: 20_000 });
      expect(v.code, v.stderr).toBe(0);
      const wasm = tmp.path("x.wasm");
      await writeFile(wasm, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
      const r = await runCli(["policy", "check", "--policy", policy, "--component", "a".repeat(50), "-i", wasm], { timeoutMs: 20_000 });
      expect(r.stderr).not.toMatch(/RangeError|SyntaxError|at .*\.mjs/);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/default/);
    } finally {
      await tmp.cleanup();
    }
  });
});
