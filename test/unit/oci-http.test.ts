import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MockAgent } from "undici";
import { HttpClient, urlForLog } from "../../tools/src/oci/http.ts";
import { Authenticator, UnauthorizedError } from "../../tools/src/oci/token-flow.ts";
import { RegistryClient } from "../../tools/src/oci/registry-client.ts";
import { isLoopbackHost, schemeFor } from "../../tools/src/oci/transport-security.ts";
import type { CredentialResult } from "../../tools/src/oci/types.ts";

let agent: MockAgent;
const noSleep = async (): Promise<void> => {};

function client(): HttpClient {
  return new HttpClient({ timeoutMs: 5000, retry: { maxAttempts: 3, maxElapsedMs: 10_000, baseDelayMs: 1, maxDelayMs: 2 }, dispatcher: agent, sleep: noSleep });
}

function authOf(headers: unknown): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === "authorization") return String(headers[i + 1]);
    return undefined;
  }
  const h = (headers ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === "authorization") return v;
  return undefined;
}

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});
afterEach(async () => {
  await agent.close();
});

describe("redirects", () => {
  it("never forwards Authorization to another host (blob GET redirected to storage)", async () => {
    agent
      .get("https://registry.example")
      .intercept({ path: "/v2/app/blobs/sha256:abc", method: "GET" })
      .reply(307, "", { headers: { location: "https://storage.example/b/abc?X-Amz-Signature=s3cr3t" } });
    let storageAuth: string | undefined = "not called";
    agent
      .get("https://storage.example")
      .intercept({ path: "/b/abc?X-Amz-Signature=s3cr3t", method: "GET" })
      .reply((opts) => {
        storageAuth = authOf(opts.headers);
        return { statusCode: 200, data: "blob-bytes" };
      });
    const res = await client().send({
      method: "GET",
      url: new URL("https://registry.example/v2/app/blobs/sha256:abc"),
      headers: { authorization: "Bearer registry-token" },
    });
    expect(res.status).toBe(200);
    expect(await res.body.text()).toBe("blob-bytes");
    expect(storageAuth).toBeUndefined();
    expect(res.url.host).toBe("storage.example");
  });

  it("keeps Authorization on a redirect within the same host", async () => {
    agent.get("https://registry.example").intercept({ path: "/v2/a", method: "GET" }).reply(302, "", { headers: { location: "/v2/b" } });
    let seen: string | undefined;
    agent
      .get("https://registry.example")
      .intercept({ path: "/v2/b", method: "GET" })
      .reply((opts) => {
        seen = authOf(opts.headers);
        return { statusCode: 200, data: "" };
      });
    await client().send({ method: "GET", url: new URL("https://registry.example/v2/a"), headers: { authorization: "Bearer t" } });
    expect(seen).toBe("Bearer t");
  });

  it("drops Authorization on a redirect to the same host and port on another scheme", async () => {
    agent.get("http://127.0.0.1:5000").intercept({ path: "/v2/a", method: "GET" }).reply(307, "", { headers: { location: "https://127.0.0.1:5000/v2/b" } });
    let seen: string | undefined = "not called";
    agent
      .get("https://127.0.0.1:5000")
      .intercept({ path: "/v2/b", method: "GET" })
      .reply((opts) => {
        seen = authOf(opts.headers);
        return { statusCode: 200, data: "" };
      });
    await client().send({ method: "GET", url: new URL("http://127.0.0.1:5000/v2/a"), headers: { authorization: "Bearer t" } });
    expect(seen).toBeUndefined();
  });

  it("refuses a downgrade from HTTPS to plain HTTP on a public host", async () => {
    agent.get("https://registry.example").intercept({ path: "/v2/a", method: "GET" }).reply(302, "", { headers: { location: "http://evil.example/x" } });
    await expect(client().send({ method: "GET", url: new URL("https://registry.example/v2/a") })).rejects.toThrow(/HTTPS to plain HTTP/);
  });
});

describe("retries", () => {
  it("retries a 503 and returns the later success", async () => {
    const pool = agent.get("https://registry.example");
    pool.intercept({ path: "/v2/", method: "GET" }).reply(503, "busy");
    pool.intercept({ path: "/v2/", method: "GET" }).reply(200, "ok");
    const res = await client().send({ method: "GET", url: new URL("https://registry.example/v2/") });
    expect(res.status).toBe(200);
  });

  it("returns the last failure once attempts are used up", async () => {
    const pool = agent.get("https://registry.example");
    for (let i = 0; i < 3; i++) pool.intercept({ path: "/v2/", method: "GET" }).reply(500, "no");
    const res = await client().send({ method: "GET", url: new URL("https://registry.example/v2/") });
    expect(res.status).toBe(500);
  });

  it("does not retry a PATCH marked non-retryable", async () => {
    const pool = agent.get("https://registry.example");
    pool.intercept({ path: "/up", method: "PATCH" }).reply(503, "no");
    const res = await client().send({ method: "PATCH", url: new URL("https://registry.example/up"), body: "x", retry: false });
    expect(res.status).toBe(503);
  });
});

describe("token flow", () => {
  const creds = (c: CredentialResult["credential"]): (() => Promise<CredentialResult>) => async () => ({
    credential: c,
    source: c === undefined ? undefined : "env TEST",
    tried: ["env TEST"],
  });

  it("answers a Bearer challenge with a token fetched with Basic credentials, scoped per repository", async () => {
    const reg = agent.get("https://registry.example");
    reg
      .intercept({ path: "/v2/app/manifests/1", method: "GET" })
      .reply(401, "", { headers: { "www-authenticate": 'Bearer realm="https://auth.example/token",service="reg",scope="repository:app:pull"' } });
    let realmAuth: string | undefined;
    let realmPath = "";
    agent
      .get("https://auth.example")
      .intercept({ path: (p) => p.startsWith("/token"), method: "GET" })
      .reply((opts) => {
        realmAuth = authOf(opts.headers);
        realmPath = opts.path;
        return { statusCode: 200, data: JSON.stringify({ token: "tok-123", expires_in: 300 }) };
      });
    let sent: string | undefined;
    reg.intercept({ path: "/v2/app/manifests/1", method: "GET" }).reply((opts) => {
      sent = authOf(opts.headers);
      return { statusCode: 200, data: "{}" };
    });
    const auth = new Authenticator("registry.example", client(), creds({ kind: "basic", username: "u", password: "p4ss" }), false);
    const res = await auth.send({ method: "GET", url: new URL("https://registry.example/v2/app/manifests/1") }, ["repository:app:pull"]);
    expect(res.status).toBe(200);
    expect(realmAuth).toBe(`Basic ${Buffer.from("u:p4ss").toString("base64")}`);
    expect(new URL(realmPath, "https://x").searchParams.getAll("scope")).toEqual(["repository:app:pull"]);
    expect(sent).toBe("Bearer tok-123");

    // Cached per scope: the next request for the same scope goes straight to the registry.
    let again: string | undefined;
    reg.intercept({ path: "/v2/app/blobs/sha256:x", method: "HEAD" }).reply((opts) => {
      again = authOf(opts.headers);
      return { statusCode: 200, data: "" };
    });
    await auth.send({ method: "HEAD", url: new URL("https://registry.example/v2/app/blobs/sha256:x") }, ["repository:app:pull"]);
    expect(again).toBe("Bearer tok-123");
  });

  it("exchanges a refresh token with a POST grant_type=refresh_token", async () => {
    const reg = agent.get("https://registry.example");
    reg.intercept({ path: "/v2/app/tags/list", method: "GET" }).reply(401, "", { headers: { "www-authenticate": 'Bearer realm="https://auth.example/token",service="reg"' } });
    let form = "";
    agent
      .get("https://auth.example")
      .intercept({ path: "/token", method: "POST" })
      .reply((opts) => {
        form = String(opts.body);
        return { statusCode: 200, data: JSON.stringify({ access_token: "acc" }) };
      });
    reg.intercept({ path: "/v2/app/tags/list", method: "GET" }).reply(200, "{}");
    const auth = new Authenticator("registry.example", client(), creds({ kind: "refresh", refreshToken: "rt-secret" }), false);
    await auth.send({ method: "GET", url: new URL("https://registry.example/v2/app/tags/list") }, ["repository:app:pull"]);
    const params = new URLSearchParams(form);
    expect(params.get("grant_type")).toBe("refresh_token");
    expect(params.get("refresh_token")).toBe("rt-secret");
    expect(params.get("service")).toBe("reg");
    expect(params.get("scope")).toBe("repository:app:pull");
  });

  it("names the registry and the sources tried on a refused credential, without the secret", async () => {
    const reg = agent.get("https://registry.example");
    reg.intercept({ path: "/v2/app/manifests/1", method: "GET" }).reply(401, "", { headers: { "www-authenticate": 'Basic realm="r"' } });
    reg.intercept({ path: "/v2/app/manifests/1", method: "GET" }).reply(401, "", { headers: { "www-authenticate": 'Basic realm="r"' } });
    const auth = new Authenticator("registry.example", client(), creds({ kind: "basic", username: "u", password: "hunter2-secret" }), false);
    const err = await auth.send({ method: "GET", url: new URL("https://registry.example/v2/app/manifests/1") }, ["repository:app:pull"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/registry\.example/);
    expect(msg).toMatch(/tried: env TEST/);
    expect(msg).not.toMatch(/hunter2/);
  });
});

describe("credentials stay with the registry's origin", () => {
  const basic = (): (() => Promise<CredentialResult>) => async () => ({
    credential: { kind: "basic", username: "u", password: "p4ss" },
    source: "env TEST",
    tried: ["env TEST"],
  });

  /** Makes the Authenticator learn the registry's Basic challenge, so it sends credentials up front. */
  async function primed(): Promise<Authenticator> {
    const reg = agent.get("https://registry.example");
    reg.intercept({ path: "/v2/app/blobs/uploads/", method: "POST" }).reply(401, "", { headers: { "www-authenticate": 'Basic realm="r"' } });
    reg.intercept({ path: "/v2/app/blobs/uploads/", method: "POST" }).reply(202, "", { headers: { location: "/v2/app/blobs/uploads/1" } });
    const auth = new Authenticator("registry.example", client(), basic(), false);
    const res = await auth.send({ method: "POST", url: new URL("https://registry.example/v2/app/blobs/uploads/") }, ["repository:app:pull,push"]);
    expect(res.status).toBe(202);
    return auth;
  }

  for (const [what, target] of [
    ["another host", "https://storage.example/up/1"],
    ["the same host on another port", "https://registry.example:8443/up/1"],
  ] as const) {
    it(`an upload Location on ${what} gets the PUT without Authorization`, async () => {
      const auth = await primed();
      const u = new URL(target);
      let seen: string | undefined = "not called";
      agent
        .get(u.origin)
        .intercept({ path: u.pathname, method: "PUT" })
        .reply((opts) => {
          seen = authOf(opts.headers);
          return { statusCode: 201, data: "" };
        });
      const res = await auth.send({ method: "PUT", url: u, body: "x" }, ["repository:app:pull,push"]);
      expect(res.status).toBe(201);
      expect(seen).toBeUndefined();
    });
  }

  it("a plain-HTTP Location from an HTTPS registry is refused before anything is sent", async () => {
    const auth = await primed();
    await expect(auth.send({ method: "PUT", url: new URL("http://registry.example/up/1"), body: "x" }, [])).rejects.toMatchObject({ code: "INSECURE_URL" });
  });

  it("a 401 from another origin is not answered with the registry's credential", async () => {
    const auth = await primed();
    let seen: string | undefined = "not called";
    agent
      .get("https://storage.example")
      .intercept({ path: "/up/2", method: "PUT" })
      .reply((opts) => {
        seen = authOf(opts.headers);
        return { statusCode: 401, data: "", responseOptions: { headers: { "www-authenticate": 'Basic realm="give me"' } } };
      });
    await expect(auth.send({ method: "PUT", url: new URL("https://storage.example/up/2"), body: "x" }, [])).rejects.toThrow(/storage\.example.*is not the registry/);
    expect(seen).toBeUndefined();
  });
});

describe("transport security", () => {
  it("allows plain HTTP only to loopback or insecure registries", () => {
    for (const h of ["127.0.0.1:5000", "127.8.9.10", "localhost:5000", "[::1]:5000", "foo.localhost"]) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["128.0.0.1", "registry.example:5000", "localhost.example.com", "[::2]"]) expect(isLoopbackHost(h), h).toBe(false);
    expect(schemeFor("ghcr.io", false)).toBe("https");
    expect(schemeFor("ghcr.io", true)).toBe("http");
    expect(schemeFor("127.0.0.1:5000", false)).toBe("http");
  });

  it("masks signed query values in logged URLs", () => {
    expect(urlForLog(new URL("https://s.example/b?X-Amz-Signature=abc&digest=sha256:1"))).toBe("https://s.example/b?X-Amz-Signature=***&digest=sha256%3A1");
  });
});

describe("manifest size limit", () => {
  const anon = async (): Promise<CredentialResult> => ({ credential: undefined, source: undefined, tried: [] });
  const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);

  it("refuses a manifest over 4 MiB by its Content-Length", async () => {
    agent.get("https://registry.example").intercept({ path: "/v2/app/manifests/1", method: "GET" }).reply(200, big, { headers: { "content-length": String(big.length) } });
    const rc = new RegistryClient({ registry: "registry.example", insecure: false, http: client(), credentials: anon });
    await expect(rc.getManifest("app", "1")).rejects.toMatchObject({ code: "MANIFEST_TOO_LARGE" });
  });

  it("refuses a manifest over 4 MiB that arrives without a Content-Length", async () => {
    agent.get("https://registry.example").intercept({ path: "/v2/app/manifests/1", method: "GET" }).reply(200, big);
    const rc = new RegistryClient({ registry: "registry.example", insecure: false, http: client(), credentials: anon });
    await expect(rc.getManifest("app", "1")).rejects.toMatchObject({ code: "MANIFEST_TOO_LARGE" });
  });

  it("sends the full OCI and Docker Accept list on manifest GETs", async () => {
    let accept = "";
    agent
      .get("https://registry.example")
      .intercept({ path: "/v2/app/manifests/1", method: "GET" })
      .reply((opts) => {
        const h = opts.headers as Record<string, string>;
        accept = h["accept"] ?? "";
        return { statusCode: 200, data: "{}" };
      });
    const rc = new RegistryClient({ registry: "registry.example", insecure: false, http: client(), credentials: anon });
    await rc.getManifest("app", "1");
    for (const t of [
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
    ]) {
      expect(accept).toContain(t);
    }
  });
});
