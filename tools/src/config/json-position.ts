/**
 * Where a JSON text stops being valid. Node 20's JSON.parse often reports no position, and its
 * message quotes the text (which may be a misplaced secret), so config loaders report the
 * line and column found here instead.
 */

/** Offset of the first syntax error, or undefined when the text is valid JSON. */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const n = text.length;
  class Stop {
    constructor(readonly at: number) {}
  }
  const ws = () => {
    while (i < n && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const expect = (lit: string) => {
    for (const ch of lit) {
      if (text[i] !== ch) throw new Stop(i);
      i++;
    }
  };
  const str = () => {
    expect('"');
    while (i < n && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) throw new Stop(i);
      if (text[i] === "\\") {
        i++;
        const e = text[i];
        if (e === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 1, i + 5))) throw new Stop(i);
          i += 5;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) throw new Stop(i);
      }
      i++;
    }
    expect('"');
  };
  const num = () => {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (m === null || m[0] === "" || m[0] === "-") throw new Stop(i);
    i += m[0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) throw new Stop(i);
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        str();
        ws();
        expect(":");
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        expect("}");
        return;
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        expect("]");
        return;
      }
    }
    if (c === '"') return str();
    if (c === "t") return expect("true");
    if (c === "f") return expect("false");
    if (c === "n") return expect("null");
    return num();
  };
  try {
    value(0);
    ws();
    return i < n ? i : undefined;
  } catch (e) {
    if (e instanceof Stop) return e.at;
    throw e;
  }
}

/** "line:column" (both from 1) of an offset. */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  return `${line}:${col}`;
}

/**
 * Offset of the first `[` or `{` nested deeper than `maxDepth`, or undefined. JSON.parse itself
 * copes with any depth, but every recursive walk over the result (validation, secret search)
 * would overflow the stack: deep documents are refused before they are parsed. One linear scan;
 * brackets inside strings do not count.
 */
export function jsonDepthExceeded(text: string, maxDepth: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

/** Nesting a user's JSON file may have: configs and policies need fewer than ten levels. */
export const MAX_JSON_DEPTH = 64;
