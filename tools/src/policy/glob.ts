/**
 * Globs in registry and component policies: `*` matches any run of characters (including none,
 * and including `/`, `:` and `.`), `?` matches exactly one character, every other character
 * matches itself. There is no escaping and no character classes: registry and component names
 * never contain `*` or `?`. The whole name must match.
 */
export function isGlob(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

/**
 * Matches without a regular expression: a glob compiled to a regex backtracks (15 stars took over
 * 30 s), and a very long one overflows the regex compiler. The pattern is split at `*` into
 * segments; the first must match at the start, the last at the end, and each middle one is taken
 * at its leftmost place after the previous one. Leftmost is always safe for `*`-separated
 * segments, so nothing is ever retried: the time is at most the pattern length times the name
 * length, with no exponential case.
 */
export function globMatches(pattern: string, name: string): boolean {
  if (!isGlob(pattern)) return pattern === name;
  const p = [...pattern];
  const s = [...name];
  const segments: string[][] = [[]];
  for (const ch of p) {
    if (ch === "*") segments.push([]);
    else segments[segments.length - 1]!.push(ch);
  }
  const first = segments[0]!;
  if (segments.length === 1) return s.length === first.length && segmentAt(first, s, 0);
  const last = segments[segments.length - 1]!;
  if (first.length + last.length > s.length) return false;
  if (!segmentAt(first, s, 0) || !segmentAt(last, s, s.length - last.length)) return false;
  let pos = first.length;
  const end = s.length - last.length;
  for (let k = 1; k < segments.length - 1; k++) {
    const seg = segments[k]!;
    let found = -1;
    for (let at = pos; at + seg.length <= end; at++) {
      if (segmentAt(seg, s, at)) {
        found = at;
        break;
      }
    }
    if (found < 0) return false;
    pos = found + seg.length;
  }
  return true;
}

/** Does `seg` (literal characters and `?`) match `s` starting at `at`? */
function segmentAt(seg: readonly string[], s: readonly string[], at: number): boolean {
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c !== "?" && c !== s[at + i]) return false;
  }
  return true;
}

/** Characters before the first wildcard: a longer literal prefix is a more specific glob. */
export function literalPrefixLength(pattern: string): number {
  const star = pattern.indexOf("*");
  const q = pattern.indexOf("?");
  const first = Math.min(star < 0 ? Infinity : star, q < 0 ? Infinity : q);
  return first === Infinity ? pattern.length : first;
}

/**
 * Index of the most specific pattern matching `name`: an exact (wildcard-free) match wins over
 * any glob; among globs the longest literal prefix wins; ties go to the first listed.
 */
export function mostSpecificMatch(patterns: readonly string[], name: string): number | undefined {
  let best: { index: number; exact: boolean; prefix: number } | undefined;
  patterns.forEach((pattern, index) => {
    if (!globMatches(pattern, name)) return;
    const cand = { index, exact: !isGlob(pattern), prefix: literalPrefixLength(pattern) };
    if (
      best === undefined ||
      (cand.exact && !best.exact) ||
      (cand.exact === best.exact && cand.prefix > best.prefix)
    ) {
      best = cand;
    }
  });
  return best?.index;
}
