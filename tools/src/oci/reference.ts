/**
 * Image references as users type them, parsed into the shapes of types.ts.
 *
 * Grammar (OCI distribution spec and the Docker reference grammar it comes from):
 *   [oci://]host[:port]/repo[:tag][@sha256:<hex>]
 *   oci-layout:<dir>[:tag][@sha256:<hex>]
 * A first path component without ".", ":" and other than "localhost" is a Docker Hub repository,
 * and a single-component Docker Hub name lives under "library/".
 */
import { UsageError } from "../util/errors.ts";
import type { Digest } from "../util/digest.ts";
import type { LayoutReference, Reference, RegistryReference } from "./types.ts";

/** The host Docker Hub answers the registry API on. */
export const DOCKER_HUB_REGISTRY = "registry-1.docker.io";
/** The names people write for Docker Hub; all normalise to DOCKER_HUB_REGISTRY. */
export const DOCKER_HUB_ALIASES: readonly string[] = ["docker.io", "index.docker.io", "registry-1.docker.io"];
const LAYOUT_PREFIX = "oci-layout:";
const MAX_NAME_LENGTH = 255;
const MAX_TAG_LENGTH = 128;

const pathComponentRe = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const domainComponent = "(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])";
const hostRe = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9A-Fa-f:.]+\\])(?::([0-9]+))?$`);

export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_ALIASES.includes(registry.toLowerCase());
}

/**
 * Lower-cases the host part and maps Docker Hub aliases to DOCKER_HUB_REGISTRY, so that
 * "Docker.io" in a config and "registry-1.docker.io" from a reference compare equal.
 */
export function normalizeRegistryHost(host: string): string {
  const lower = host.toLowerCase();
  return isDockerHub(lower) ? DOCKER_HUB_REGISTRY : lower;
}

/** Why `host` is not a registry host[:port], or undefined when it is one. */
export function registryHostProblem(host: string): string | undefined {
  if (host.length === 0) return "the registry host is empty";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) return "a registry host has no scheme (write host[:port], without http:// or https://)";
  if (host.includes("/")) return "a registry host has no path (write host[:port])";
  const m = hostRe.exec(host);
  if (m === null) return "expected a host name, IPv4 address or [IPv6] address, optionally followed by :port";
  const port = m[1];
  if (port !== undefined && (port.length > 5 || Number(port) < 1 || Number(port) > 65535)) {
    return `port ${port} is out of range (1-65535)`;
  }
  return undefined;
}

export function isValidRegistryHost(host: string): boolean {
  return registryHostProblem(host) === undefined;
}

/** Why `tag` is not a valid tag, or undefined. */
export function tagProblem(tag: string): string | undefined {
  if (tag.length === 0) return "the tag is empty";
  if (tag.length > MAX_TAG_LENGTH) return `the tag is ${tag.length} characters long; at most ${MAX_TAG_LENGTH} are allowed`;
  if (!tagRe.test(tag)) {
    return "a tag may contain only letters, digits, '_', '.' and '-', and may not start with '.' or '-'";
  }
  return undefined;
}

function fail(input: string, problem: string): never {
  throw new UsageError(`invalid reference "${input}": ${problem}`, "INVALID_REFERENCE", { reference: input });
}

function checkDigest(input: string, d: string): Digest {
  const colon = d.indexOf(":");
  if (colon <= 0) fail(input, `digest "${d}" must look like sha256:<64 hex digits>`);
  const algorithm = d.slice(0, colon);
  const hex = d.slice(colon + 1);
  if (algorithm !== "sha256") fail(input, `digest algorithm "${algorithm}" is not supported; only sha256 is`);
  if (!/^[a-f0-9]{64}$/.test(hex)) {
    if (/^[A-Fa-f0-9]{64}$/.test(hex)) fail(input, "the digest's hex must be lowercase");
    fail(input, `the digest must be sha256: followed by 64 hex digits (got ${hex.length} characters after "sha256:")`);
  }
  return d as Digest;
}

function checkTag(input: string, tag: string): string {
  const problem = tagProblem(tag);
  if (problem !== undefined) fail(input, problem);
  return tag;
}

/** Splits "name[:tag][@digest]", where a ":" followed by a "/" belongs to the name (host:port). */
function splitTagDigest(input: string, s: string): { name: string; tag?: string; digest?: Digest } {
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = checkDigest(input, rest.slice(at + 1));
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon >= 0 && !rest.slice(colon + 1).includes("/")) {
    tag = checkTag(input, rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  return { name: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

function parseLayout(input: string): LayoutReference {
  const body = input.slice(LAYOUT_PREFIX.length);
  let rest = body;
  let digest: Digest | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0 && rest.slice(at + 1).startsWith("sha256:")) {
    digest = checkDigest(input, rest.slice(at + 1));
    rest = rest.slice(0, at);
  } else if (at >= 0 && /^[A-Za-z0-9+._-]+:/.test(rest.slice(at + 1)) && !rest.slice(at + 1).includes("/")) {
    checkDigest(input, rest.slice(at + 1));
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  // A ":" that is followed by a path separator is part of the directory (a Windows drive, say).
  if (colon >= 0 && !/[/\\]/.test(rest.slice(colon + 1))) {
    tag = checkTag(input, rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  if (rest.length === 0) fail(input, 'the layout directory is empty (expected oci-layout:<dir>[:tag|@digest])');
  return { kind: "layout", dir: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Parses a reference; throws UsageError (code INVALID_REFERENCE) naming the reference and the bad part. */
export function parseReference(s: string): Reference {
  const input = s;
  if (input.length === 0) fail(input, "the reference is empty");
  if (/\s/.test(input)) fail(input, "a reference may not contain whitespace");
  if (input.startsWith(LAYOUT_PREFIX)) return parseLayout(input);

  let body = input;
  if (body.startsWith("oci://")) body = body.slice("oci://".length);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(body)) {
    fail(input, 'only the "oci://" scheme is accepted (write host[:port]/repo[:tag][@digest])');
  }
  if (body.length === 0) fail(input, "the repository is missing");

  const { name, tag, digest } = splitTagDigest(input, body);
  if (name.length === 0) fail(input, "the repository is missing");

  let registry: string;
  let repository: string;
  const slash = name.indexOf("/");
  const first = slash >= 0 ? name.slice(0, slash) : undefined;
  if (first !== undefined && (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["))) {
    const problem = registryHostProblem(first);
    if (problem !== undefined) fail(input, `registry host "${first}": ${problem}`);
    registry = normalizeRegistryHost(first);
    repository = name.slice(slash + 1);
  } else if (first === undefined && (name.includes(".") || name === "localhost")) {
    // "ghcr.io" or "localhost:5000" alone: Docker would read a Docker Hub repository, but nobody means that.
    const host = body.split("@")[0] ?? name;
    fail(input, `the repository is missing after the registry host "${host}" (expected host[:port]/repo)`);
  } else {
    registry = DOCKER_HUB_REGISTRY;
    repository = name;
  }
  if (repository.length === 0) fail(input, "the repository is missing after the registry host");
  if (registry === DOCKER_HUB_REGISTRY && !repository.includes("/")) repository = `library/${repository}`;

  for (const component of repository.split("/")) {
    if (component.length === 0) fail(input, `repository "${repository}" has an empty path component`);
    if (!pathComponentRe.test(component)) {
      if (pathComponentRe.test(component.toLowerCase())) fail(input, `repository "${repository}" must be lowercase`);
      fail(
        input,
        `repository path component "${component}" may contain only lowercase letters, digits and single separators ('.', '_', '__', '-') between them`,
      );
    }
  }
  const fullName = `${registry}/${repository}`;
  if (fullName.length > MAX_NAME_LENGTH) {
    fail(input, `the name "${fullName}" is ${fullName.length} characters long; at most ${MAX_NAME_LENGTH} are allowed`);
  }
  const ref: RegistryReference = { kind: "registry", registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Parses a reference that must name a registry (not an OCI layout). */
export function parseRegistryReference(s: string): RegistryReference {
  const r = parseReference(s);
  if (r.kind !== "registry") fail(s, "expected a registry reference host[:port]/repo[:tag][@digest], not an oci-layout: reference");
  return r;
}

/**
 * The canonical text form. Docker Hub is written as "docker.io" (what people recognise);
 * parseReference() maps it back, so parse(format(r)) equals r.
 */
export function formatReference(r: Reference): string {
  const suffix = `${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
  if (r.kind === "layout") return `${LAYOUT_PREFIX}${r.dir}${suffix}`;
  const host = r.registry === DOCKER_HUB_REGISTRY ? "docker.io" : r.registry;
  return `${host}/${r.repository}${suffix}`;
}
