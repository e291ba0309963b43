/**
 * Parses WWW-Authenticate challenges (RFC 9110 section 11.6.1). Registries send one Bearer or
 * Basic challenge; parameters are token or quoted-string, and quoted strings may contain commas
 * (scope="repository:a:pull,push"), so a naive split on "," is wrong.
 */
export interface Challenge {
  /** Lower-cased scheme: "bearer", "basic", ... */
  scheme: string;
  /** Lower-cased parameter names. */
  params: Record<string, string>;
}

const tokenChars = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = (): void => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && tokenChars.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  // Strictly a token, but some servers send unquoted URLs: take everything up to "," or space.
  const readBare = (): string => {
    const start = i;
    while (i < n && header[i] !== "," && header[i] !== " " && header[i] !== "\t") i++;
    return header.slice(start, i);
  };
  const readQuoted = (): string => {
    // at opening quote
    i++;
    let s = "";
    while (i < n && header[i] !== '"') {
      if (header[i] === "\\" && i + 1 < n) i++;
      s += header[i];
      i++;
    }
    i++; // closing quote (or end)
    return s;
  };

  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (header[i] === ",") {
      i++;
      continue;
    }
    const start = i;
    const word = readToken();
    if (word.length === 0) {
      // Unparseable character: skip it rather than loop forever.
      i++;
      continue;
    }
    skipWs();
    if (header[i] === "=" && current !== undefined) {
      // auth-param of the current challenge (a token68 with "=" padding only follows a scheme directly).
      i++;
      skipWs();
      const value = header[i] === '"' ? readQuoted() : readBare();
      current.params[word.toLowerCase()] = value;
      continue;
    }
    // A new challenge scheme.
    current = { scheme: header.slice(start, start + word.length).toLowerCase(), params: {} };
    out.push(current);
    // token68 (e.g. "Negotiate abc==") is accepted and ignored.
    const save = i;
    const t68 = /^[A-Za-z0-9\-._~+/]+=*\s*(,|$)/.exec(header.slice(i));
    if (t68 !== null && !/^[A-Za-z0-9\-._~+/]+\s*=[^=]/.test(header.slice(i))) i += t68[0].length;
    else i = save;
  }
  return out;
}

/** The challenge we act on: Bearer first (it is what registries prefer), else Basic. */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
}
