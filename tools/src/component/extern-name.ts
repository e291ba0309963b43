/**
 * Validation of component import/export names (Explainer.md "Import and Export Definitions"):
 * plain kebab-case labels (with `[constructor]`, `[method]`, `[static]` annotations),
 * interface names `ns:pkg/iface[@ver]`, and the import-only dependency, url and hash forms.
 */
import { WasmOciError } from "../util/errors.ts";

export type ExternNameKind = "label" | "constructor" | "method" | "static" | "interface" | "dependency" | "url" | "hash";

export class ExternNameError extends WasmOciError {
  constructor(message: string) {
    super("INVALID_EXTERN_NAME", message);
    this.name = "ExternNameError";
  }
}

const WORD = /^(?:[a-z][0-9a-z]*|[A-Z][0-9A-Z]*)$/;

/** A kebab-case label: words of all-lowercase or all-uppercase, joined by single dashes. */
export function isKebab(s: string): boolean {
  if (s.length === 0) return false;
  return s.split("-").every((w) => WORD.test(w));
}

function kebab(s: string, whole: string): void {
  if (s.length === 0) throw new ExternNameError(`\`${whole}\` is not a valid extern name: empty label`);
  if (!isKebab(s)) throw new ExternNameError(`\`${s}\` is not in kebab case`);
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export function isSemver(s: string): boolean {
  return SEMVER.test(s);
}

/** Splits `ns:pkg/iface@ver` into parts; throws when it is not an interface name. */
export function parseInterfaceName(name: string): { namespace: string; package: string; interface: string; version?: string } {
  const colon = name.indexOf(":");
  const slash = name.indexOf("/", colon + 1);
  if (colon < 0 || slash < 0) throw new ExternNameError(`\`${name}\` is not a valid interface name`);
  const at = name.indexOf("@", slash);
  const namespace = name.slice(0, colon);
  const pkg = name.slice(colon + 1, slash);
  const iface = name.slice(slash + 1, at < 0 ? undefined : at);
  const version = at < 0 ? undefined : name.slice(at + 1);
  for (const part of [namespace, pkg, iface]) kebab(part, name);
  if (version !== undefined && !isSemver(version)) throw new ExternNameError(`\`${version}\` is not a valid semver`);
  return version === undefined ? { namespace, package: pkg, interface: iface } : { namespace, package: pkg, interface: iface, version };
}

/**
 * Checks an extern name and returns its kind. Throws ExternNameError with the reason, worded
 * like wasmparser's messages (e.g. "`NOT_VALID` is not in kebab case").
 */
export function validateExternName(name: string): ExternNameKind {
  if (name.startsWith("[constructor]")) {
    kebab(name.slice("[constructor]".length), name);
    return "constructor";
  }
  for (const [prefix, kind] of [["[method]", "method"], ["[static]", "static"]] as const) {
    if (name.startsWith(prefix)) {
      const rest = name.slice(prefix.length);
      const dot = rest.indexOf(".");
      if (dot < 0) throw new ExternNameError(`failed to find \`.\` character in \`${rest}\``);
      kebab(rest.slice(0, dot), name);
      kebab(rest.slice(dot + 1), name);
      return kind;
    }
  }
  if (name.startsWith("unlocked-dep=") || name.startsWith("locked-dep=")) {
    // The package query may hold a version range with `>=` inside braces: `<ns:pkg@{>=1.2.3}>`.
    const inner = /^(?:un)?locked-dep=<[a-z0-9]+(?:-[a-z0-9]+)*(?::[a-z0-9]+(?:-[a-z0-9]+)*)+(?:@(?:\*|\{[^{}<]*\}|[0-9A-Za-z.+-]+))?>(?:,integrity=<[^<>]+>)?$/.exec(name);
    if (inner === null) throw new ExternNameError(`\`${name}\` is not a valid dependency name`);
    return "dependency";
  }
  if (name.startsWith("url=")) {
    if (!/^url=<[^<>]*>(?:,integrity=<[^<>]+>)?$/.test(name)) throw new ExternNameError(`\`${name}\` is not a valid url name`);
    return "url";
  }
  if (name.startsWith("integrity=")) {
    if (!/^integrity=<[^<>]+>$/.test(name)) throw new ExternNameError(`\`${name}\` is not a valid integrity name`);
    return "hash";
  }
  if (name.includes(":")) {
    parseInterfaceName(name);
    return "interface";
  }
  kebab(name, name);
  return "label";
}
