import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  DOCKER_HUB_REGISTRY,
  formatReference,
  isValidRegistryHost,
  normalizeRegistryHost,
  parseReference,
  parseRegistryReference,
} from "../../tools/src/oci/reference.ts";
import { UsageError } from "../../tools/src/util/errors.ts";
import type { Reference } from "../../tools/src/oci/types.ts";

const HEX = "a".repeat(64);
const DIGEST = `sha256:${HEX}` as const;

function parseError(s: string): UsageError {
  try {
    parseReference(s);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const err = e as UsageError;
    expect(err.code).toBe("INVALID_REFERENCE");
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`"${s}"`);
    return err;
  }
  throw new Error(`expected "${s}" to be rejected`);
}

describe("parseReference: registries", () => {
  it.each<[string, Reference]>([
    ["ghcr.io/acme/app:1.0", { kind: "registry", registry: "ghcr.io", repository: "acme/app", tag: "1.0" }],
    ["oci://ghcr.io/acme/app:1.0", { kind: "registry", registry: "ghcr.io", repository: "acme/app", tag: "1.0" }],
    ["localhost:5000/app", { kind: "registry", registry: "localhost:5000", repository: "app" }],
    ["localhost/app:v1", { kind: "registry", registry: "localhost", repository: "app", tag: "v1" }],
    ["127.0.0.1:5000/a/b/c:latest", { kind: "registry", registry: "127.0.0.1:5000", repository: "a/b/c", tag: "latest" }],
    ["[::1]:5000/app:1", { kind: "registry", registry: "[::1]:5000", repository: "app", tag: "1" }],
    [`ghcr.io/acme/app@${DIGEST}`, { kind: "registry", registry: "ghcr.io", repository: "acme/app", digest: DIGEST }],
    [
      `localhost:5000/app:v2@${DIGEST}`,
      { kind: "registry", registry: "localhost:5000", repository: "app", tag: "v2", digest: DIGEST },
    ],
    ["Example.COM/x", { kind: "registry", registry: "example.com", repository: "x" }],
    ["my-registry.example.com:443/ns/my_app__x.y-z:tag_1.2-3", {
      kind: "registry",
      registry: "my-registry.example.com:443",
      repository: "ns/my_app__x.y-z",
      tag: "tag_1.2-3",
    }],
  ])("%s", (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it("normalises Docker Hub names", () => {
    const hub = (repository: string, tag?: string) => ({
      kind: "registry",
      registry: DOCKER_HUB_REGISTRY,
      repository,
      ...(tag !== undefined ? { tag } : {}),
    });
    expect(parseReference("alpine")).toEqual(hub("library/alpine"));
    expect(parseReference("alpine:3.19")).toEqual(hub("library/alpine", "3.19"));
    expect(parseReference("docker.io/alpine")).toEqual(hub("library/alpine"));
    expect(parseReference("index.docker.io/library/alpine:1")).toEqual(hub("library/alpine", "1"));
    expect(parseReference("registry-1.docker.io/bitnami/redis")).toEqual(hub("bitnami/redis"));
    expect(parseReference("bitnami/redis:7")).toEqual(hub("bitnami/redis", "7"));
    expect(parseReference("oci://docker.io/foo/bar")).toEqual(hub("foo/bar"));
    // No dot, colon or "localhost": a Docker Hub user, not a host.
    expect(parseReference("myhost/app")).toEqual(hub("myhost/app"));
  });

  it("formats the canonical form, Docker Hub as docker.io", () => {
    expect(formatReference(parseReference("alpine"))).toBe("docker.io/library/alpine");
    expect(formatReference(parseReference(`oci://localhost:5000/app:v1@${DIGEST}`))).toBe(`localhost:5000/app:v1@${DIGEST}`);
    expect(formatReference(parseReference("oci-layout:/tmp/l:v1"))).toBe("oci-layout:/tmp/l:v1");
  });

  it("parseRegistryReference refuses layouts", () => {
    expect(() => parseRegistryReference("oci-layout:/tmp/x")).toThrow(/not an oci-layout/);
    expect(parseRegistryReference("ghcr.io/a").repository).toBe("a");
  });
});

describe("parseReference: OCI layouts", () => {
  it.each<[string, Reference]>([
    ["oci-layout:out/layout", { kind: "layout", dir: "out/layout" }],
    ["oci-layout:/abs/dir:v1.0", { kind: "layout", dir: "/abs/dir", tag: "v1.0" }],
    [`oci-layout:dir@${DIGEST}`, { kind: "layout", dir: "dir", digest: DIGEST }],
    [`oci-layout:./a/b:t@${DIGEST}`, { kind: "layout", dir: "./a/b", tag: "t", digest: DIGEST }],
    ["oci-layout:C:\\layouts\\x", { kind: "layout", dir: "C:\\layouts\\x" }],
    ["oci-layout:dir@host/sub", { kind: "layout", dir: "dir@host/sub" }],
  ])("%s", (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it("rejects an empty directory and bad tags or digests", () => {
    expect(parseError("oci-layout:").message).toMatch(/layout directory is empty/);
    expect(parseError("oci-layout::v1").message).toMatch(/layout directory is empty/);
    expect(parseError("oci-layout:dir:-bad").message).toMatch(/tag may contain only/);
    expect(parseError("oci-layout:dir@sha256:abc").message).toMatch(/64 hex digits/);
    expect(parseError(`oci-layout:dir@md5:${HEX}`).message).toMatch(/algorithm "md5" is not supported/);
  });
});

describe("parseReference: malformed", () => {
  it.each<[string, RegExp]>([
    ["", /reference is empty/],
    ["ghcr.io/Acme/app", /repository "Acme\/app" must be lowercase/],
    ["ghcr.io/acme/App:1", /must be lowercase/],
    ["ALPINE", /must be lowercase/],
    ["ghcr.io/acme/app:bad!tag", /tag may contain only letters, digits/],
    ["ghcr.io/acme/app:.hidden", /may not start with '.' or '-'/],
    ["ghcr.io/acme/app:-x", /may not start with '.' or '-'/],
    [`ghcr.io/acme/app:${"t".repeat(129)}`, /129 characters long; at most 128/],
    ["ghcr.io/acme/app:", /tag is empty/],
    ["ghcr.io/acme/app@sha256:1234", /64 hex digits \(got 4 characters/],
    [`ghcr.io/acme/app@sha256:${"A".repeat(64)}`, /hex must be lowercase/],
    [`ghcr.io/acme/app@sha512:${HEX}`, /algorithm "sha512" is not supported; only sha256/],
    ["ghcr.io/acme/app@", /must look like sha256:/],
    ["ghcr.io/acme/app@latest", /must look like sha256:/],
    ["ghcr.io/", /repository is missing after the registry host/],
    ["ghcr.io", /repository is missing after the registry host "ghcr.io"/],
    ["oci://localhost:5000", /repository is missing after the registry host "localhost:5000"/],
    ["localhost", /repository is missing after the registry host "localhost"/],
    ["ghcr.io/acme//app", /empty path component/],
    ["ghcr.io/acme/app/", /empty path component/],
    ["ghcr.io/acme/-app", /path component "-app"/],
    ["ghcr.io/acme/a..b", /path component "a..b"/],
    ["ghcr.io/acme/a___b", /path component "a___b"/],
    ["ghcr.io/acme/a+b", /path component "a\+b"/],
    ["localhost:99999/app", /port 99999 is out of range/],
    ["localhost:0/app", /port 0 is out of range/],
    ["bad_host.io/app", /registry host "bad_host.io"/],
    ["-bad.io/app", /registry host "-bad.io"/],
    ["https://ghcr.io/acme/app", /only the "oci:\/\/" scheme/],
    ["oci://", /repository is missing/],
    ["ghcr.io/acme/app :1", /whitespace/],
    [`ghcr.io/${"a/".repeat(124)}abc`, /at most 255 are allowed/],
  ])("%s", (input, message) => {
    expect(parseError(input).message).toMatch(message);
  });
});

describe("hosts", () => {
  it("validates and normalises registry hosts", () => {
    for (const ok of ["ghcr.io", "localhost:5000", "127.0.0.1", "[::1]:443", "a-b.c.d"]) expect(isValidRegistryHost(ok)).toBe(true);
    for (const bad of ["", "http://x.io", "x.io/path", "x_y.io", "x.io:", "x.io:abc", "x.io:70000"]) {
      expect(isValidRegistryHost(bad)).toBe(false);
    }
    expect(normalizeRegistryHost("Docker.IO")).toBe(DOCKER_HUB_REGISTRY);
    expect(normalizeRegistryHost("GHCR.io")).toBe("ghcr.io");
  });
});

describe("round trip (property)", () => {
  const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?$/);
  const host = fc.constantFrom("ghcr.io", "localhost:5000", "127.0.0.1:8080", "registry.example.com", "docker.io");
  const tag = fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,20}$/), { nil: undefined });
  const digest = fc.option(fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`), { nil: undefined });
  it("parse(format(parse(s))) equals parse(s)", () => {
    fc.assert(
      fc.property(host, fc.array(component, { minLength: 1, maxLength: 3 }), tag, digest, (h, parts, t, d) => {
        const s = `${h}/${parts.join("/")}${t !== undefined ? `:${t}` : ""}${d !== undefined ? `@${d}` : ""}`;
        const r = parseReference(s);
        expect(parseReference(formatReference(r))).toEqual(r);
        if (r.kind === "registry") {
          expect(r.tag).toBe(t);
          expect(r.digest).toBe(d);
        }
      }),
      { numRuns: 300 },
    );
  });
});
