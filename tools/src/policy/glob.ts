/**
 * Globs in registry and component policies: `*` matches any run of characters (including none,
 * and including `/`, `:` and `.`), `?` matches exactly one character, every other character
 * matches itself. There is no escaping and no character classes: registry and component names
 * never contain `*` or `?`. The whole name must match.
 */
export function isGlob(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

export function globToRegExp(pattern: string): RegExp {
  let src = "";
  for (const ch of pattern) {
    if (ch === "*") src += "[\\s\\S]*";
    else if (ch === "?") src += "[\\s\\S]";
    else src += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${src}$`, "u");
}

export function globMatches(pattern: string, name: string): boolean {
  return isGlob(pattern) ? globToRegExp(pattern).test(name) : pattern === name;
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
