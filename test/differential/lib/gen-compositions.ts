/**
 * Random well-typed WAC documents over the components of gen-components.ts, from a seed: the
 * same seed gives the same documents. Each one varies how arguments are given (named by
 * interface string, by short name, spread from an instance, an inline nested `new`, left to a
 * trailing `...` as an implicit import), their order, how the result is exported (by access,
 * by short name, `as`, or spreading the instance), whether dependencies are imported (`-i`)
 * and whether a resource crosses between instances. The value each export returns follows
 * from the wiring, so a runnable document carries its expected answer.
 */

/** mulberry32: small, seedable, good enough to pick shapes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratedCase {
  name: string;
  wac: string;
  /** Pass `-i` (dependencies imported, so nothing to run). */
  importDeps: boolean;
  /** Calls with their answers; empty when the composition still has imports. */
  calls: Array<{ invoke: string; expect: number }>;
  /** What the document exercises, for the report. */
  features: string[];
}

interface NumVar { name: string; value: number }

const NUMS: Record<string, number> = { "gen:n1": 1, "gen:n2": 2, "gen:n5": 5 };
const OFFSETS: Record<string, number> = { "gen:off3": 3, "gen:off7": 7 };

export function generateCase(seed: number, index: number): GeneratedCase {
  const rand = rng(seed * 1000 + index);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const lines = ["package gen:composition;", ""];
  const features = new Set<string>();
  let implicit = false;
  let leftImports = false;
  let counter = 0;
  const nums: NumVar[] = [];
  const fresh = (prefix: string) => `${prefix}${counter++}`;

  const newNum = (): NumVar => {
    const pkg = pick(Object.keys(NUMS));
    const v = { name: fresh("n"), value: NUMS[pkg]! };
    lines.push(`let ${v.name} = new ${pkg} {};`);
    nums.push(v);
    return v;
  };

  /** An argument satisfying a gen:t/num import, in one of several spellings. */
  const numArg = (): { arg: string; value: number } | undefined => {
    const style = pick(["string", "short", "spread", "nested", "implicit"] as const);
    if (style === "implicit") {
      features.add("implicit import (...)");
      implicit = true;
      return undefined;
    }
    if (style === "nested") {
      const pkg = pick(Object.keys(NUMS));
      features.add("nested new");
      return { arg: `"gen:t/num": (new ${pkg} {})["gen:t/num"]`, value: NUMS[pkg]! };
    }
    const v = nums.length > 0 && rand() < 0.7 ? pick(nums) : newNum();
    features.add(`argument ${style}`);
    if (style === "string") return { arg: `"gen:t/num": ${v.name}["gen:t/num"]`, value: v.value };
    if (style === "short") return { arg: `num: ${v.name}.num`, value: v.value };
    return { arg: `...${v.name}`, value: v.value };
  };

  const instantiate = (pkg: string, args: string[]): string => {
    const name = fresh("x");
    // Argument order is free in WAC; spreads apply after named arguments whatever their place.
    for (let i = args.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [args[i], args[j]] = [args[j]!, args[i]!];
    }
    if (args.length > 1) features.add("argument order");
    const fill = implicit ? (args.length > 0 ? ", ..." : "...") : "";
    if (implicit) leftImports = true;
    lines.push(`let ${name} = new ${pkg} { ${args.join(", ")}${fill} };`);
    return name;
  };

  // One to three steps, each consuming the previous result.
  let current = newNum();
  const steps = 1 + Math.floor(rand() * 3);
  for (let s = 0; s < steps; s++) {
    const kind = pick(["adder", "scale", "twice", "tally"] as const);
    implicit = false;
    const fed = numArg();
    const feed = fed ?? { value: NaN };
    let value: number;
    let name: string;
    if (kind === "adder") {
      const pkg = pick(Object.keys(OFFSETS));
      const offsetStyle = pick(["let", "nested", "implicit"] as const);
      const args = fed === undefined ? [] : [fed.arg];
      let offset = OFFSETS[pkg]!;
      if (offsetStyle === "let") {
        const o = fresh("o");
        lines.push(`let ${o} = new ${pkg} {};`);
        args.push(pick([`offset: ${o}.offset`, `"gen:t/offset": ${o}["gen:t/offset"]`, `...${o}`]));
      } else if (offsetStyle === "nested") {
        args.push(`offset: (new ${pkg} {}).offset`);
        features.add("nested new");
      } else {
        implicit = true;
        offset = NaN;
        features.add("implicit import (...)");
      }
      name = instantiate("gen:adder", args);
      value = feed.value + offset;
    } else if (kind === "scale") {
      name = instantiate("gen:scale", fed === undefined ? [] : [fed.arg]);
      value = feed.value * 3;
    } else if (kind === "tally") {
      features.add("resource across instances");
      const args = fed === undefined ? [] : [fed.arg];
      if (rand() < 0.8) {
        const c = fresh("c");
        lines.push(`let ${c} = new ex:counter {};`);
        args.push(pick([`...${c}`, `"ex:demo/counter": ${c}["ex:demo/counter"]`, `counter: ${c}.counter`]));
      } else {
        implicit = true;
        features.add("implicit resource import (...)");
      }
      name = instantiate("gen:tally", args);
      value = feed.value + 10;
    } else {
      // twice takes a plain function: the value() of a bridge over the current number.
      const bridgeArgs = fed === undefined ? [] : [fed.arg];
      const b = instantiate("gen:bridge", bridgeArgs);
      const bridgeImplicit = implicit;
      implicit = false;
      name = instantiate("gen:twice", [pick([`input: ${b}.value`, `"input": ${b}["value"]`])]);
      implicit = bridgeImplicit;
      value = feed.value * 2;
    }
    const produced = { name, value: implicit || fed === undefined ? NaN : value };
    nums.push(produced);
    current = produced;
    if (implicit) break;
  }

  const importDeps = rand() < 0.25;
  if (importDeps) features.add("-i");
  const exportStyle = pick(["access", "short", "as", "spread"] as const);
  features.add(`export ${exportStyle}`);
  if (exportStyle === "access") lines.push(`export ${current.name}["gen:t/num"];`);
  else if (exportStyle === "short") lines.push(`export ${current.name}.num;`);
  else if (exportStyle === "as") lines.push(`export ${current.name}["gen:t/num"] as "gen:t/num";`);
  else lines.push(`export ${current.name}...;`);

  const runnable = !importDeps && !leftImports;
  const calls = runnable ? [{ invoke: "gen:t/num#get()", expect: current.value }] : [];
  return { name: `gen-${seed}-${index}`, wac: `${lines.join("\n")}\n`, importDeps, calls, features: [...features].sort() };
}
