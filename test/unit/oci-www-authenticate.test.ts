import { describe, expect, it } from "vitest";
import { parseWwwAuthenticate, pickChallenge } from "../../tools/src/oci/www-authenticate.ts";
import { mergeScopes } from "../../tools/src/oci/token-flow.ts";

describe("WWW-Authenticate parsing", () => {
  it("parses a Bearer challenge whose quoted scope contains a comma", () => {
    const c = parseWwwAuthenticate('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push"');
    expect(c).toEqual([
      {
        scheme: "bearer",
        params: { realm: "https://auth.example.com/token", service: "registry.example.com", scope: "repository:team/app:pull,push" },
      },
    ]);
  });

  it("parses Basic with a realm and is case-insensitive in scheme and parameter names", () => {
    expect(parseWwwAuthenticate('BASIC Realm="Registry Realm"')).toEqual([{ scheme: "basic", params: { realm: "Registry Realm" } }]);
  });

  it("accepts unquoted token values, spaces around '=' and escaped quotes", () => {
    const [c] = parseWwwAuthenticate('Bearer realm = https://a/token , service=svc, error="insufficient \\"scope\\""');
    expect(c?.params).toEqual({ realm: "https://a/token", service: "svc", error: 'insufficient "scope"' });
  });

  it("separates several challenges in one header and prefers Bearer", () => {
    const list = parseWwwAuthenticate('Basic realm="r1", Bearer realm="https://t/token",scope="a b"');
    expect(list.map((c) => c.scheme)).toEqual(["basic", "bearer"]);
    expect(pickChallenge(list)?.params["scope"]).toBe("a b");
  });

  it("skips a token68 challenge without confusing its padding for a parameter", () => {
    const list = parseWwwAuthenticate('Negotiate abc123==, Basic realm="x"');
    expect(list.map((c) => c.scheme)).toEqual(["negotiate", "basic"]);
    expect(list[1]?.params).toEqual({ realm: "x" });
  });

  it("returns nothing usable for garbage, without looping", () => {
    expect(pickChallenge(parseWwwAuthenticate("=,,=\"\""))).toBeUndefined();
    expect(parseWwwAuthenticate("")).toEqual([]);
  });
});

describe("token scopes", () => {
  it("merges actions per resource and sorts", () => {
    expect(mergeScopes(["repository:a:pull", "repository:b:pull", "repository:a:push", "repository:a:pull,push"])).toEqual([
      "repository:a:pull,push",
      "repository:b:pull",
    ]);
  });
});
