import { UsageError } from "../util/errors.ts";

/**
 * A call such as `greet("world")`, `math.add(1, 2)` or `test:math/ops@0.1.0#add(1, 2)`.
 * Arguments are JSON values: the same notation `--expect` uses, so one syntax covers both.
 */
export interface InvokeExpr {
  /** Instance export (`math`, `test:math/ops@0.1.0`), or undefined for a top-level function. */
  instance?: string;
  func: string;
  args: unknown[];
}

const nameRe = /^[A-Za-z0-9%_:@./#-]+$/;

export function parseInvoke(text: string): InvokeExpr {
  const src = text.trim();
  const open = src.indexOf("(");
  if (open <= 0 || !src.endsWith(")")) {
    throw new UsageError(`--invoke "${text}": expected name(arg, ...), e.g. add(1, 2) or ns:pkg/iface#fn("x")`, "INVALID_INVOKE");
  }
  const target = src.slice(0, open).trim();
  const argText = src.slice(open + 1, -1).trim();
  if (!nameRe.test(target)) {
    throw new UsageError(`--invoke "${text}": "${target}" is not an export name`, "INVALID_INVOKE");
  }
  let args: unknown[];
  try {
    args = argText === "" ? [] : (JSON.parse(`[${argText}]`) as unknown[]);
  } catch (e) {
    throw new UsageError(`--invoke "${text}": arguments must be JSON values separated by commas (${(e as Error).message})`, "INVALID_INVOKE");
  }
  const hash = target.lastIndexOf("#");
  if (hash >= 0) {
    const instance = target.slice(0, hash);
    const func = target.slice(hash + 1);
    if (instance === "" || func === "") throw new UsageError(`--invoke "${text}": expected instance#function`, "INVALID_INVOKE");
    return { instance, func, args };
  }
  // `iface.fn` only when the left side is a plain name: `ns:pkg/iface@1.0.0` contains dots.
  const dot = target.lastIndexOf(".");
  if (dot > 0 && !target.includes(":") && !target.includes("/")) {
    return { instance: target.slice(0, dot), func: target.slice(dot + 1), args };
  }
  if (target.includes(":") || target.includes("/")) {
    throw new UsageError(`--invoke "${text}": name the function of an instance export as ${target}#function`, "INVALID_INVOKE");
  }
  return { func: target, args };
}

/** jco names exports in lowerCamelCase: `do-thing` becomes `doThing`. */
export function jsName(witName: string): string {
  return witName.replace(/^%/, "").replace(/-([a-z0-9])/gi, (_m, c: string) => c.toUpperCase());
}
