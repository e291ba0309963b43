/**
 * The OCI test harness itself (test/helpers): other suites trust it, so it is checked against the
 * real registry with plain fetch, without wasm-oci. If these fail, every OCI suite's verdict is
 * suspect.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { startFaultProxy, startRecordingServer, type FaultProxy } from "../helpers/fault-proxy.ts";
import { pushRawArtifact, sha256 } from "../helpers/oci-http.ts";
import { paddedComponent, coreModule, interfaceComponent } from "../helpers/wasm-fixtures.ts";
import { bytesId } from "../helpers/bytes.ts";

const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;

describe.skipIf(!registryAvailable())("OCI test harness", () => {
  describe("registry modes", () => {
    it("htpasswd: 401 with a Basic challenge without credentials, 200 with them, 401 with a wrong password", async () => {
      const reg = await startRegistry({ auth: "htpasswd", users: { u1: "p1-secret" } });
      try {
        const anon = await fetch(`${reg.url}/v2/`);
        expect(anon.status).toBe(401);
        expect(anon.headers.get("www-authenticate")).toMatch(/^Basic /);
        expect((await fetch(`${reg.url}/v2/`, { headers: { authorization: basic("u1", "p1-secret") } })).status).toBe(200);
        expect((await fetch(`${reg.url}/v2/`, { headers: { authorization: basic("u1", "wrong") } })).status).toBe(401);
      } finally {
        await reg.stop();
      }
    });

    it("token: the realm's ES256 JWT is accepted for the granted scope only; anonymous gets nothing when configured so", async () => {
      const reg = await startRegistry({ auth: "token", users: { u2: "p2-secret" }, anonymous: "none" });
      const ts = reg.tokenServer;
      if (ts === undefined) throw new Error("no token server");
      try {
        const challenge = (await fetch(`${reg.url}/v2/`)).headers.get("www-authenticate") ?? "";
        expect(challenge).toContain(`realm="${ts.realm}"`);
        const token = async (scope: string, auth?: string): Promise<{ status: number; token?: string }> => {
          const r = await fetch(`${ts.realm}?service=${ts.service}&scope=${encodeURIComponent(scope)}`, auth ? { headers: { authorization: auth } } : {});
          return r.status === 200 ? { status: 200, token: ((await r.json()) as { token: string }).token } : { status: r.status };
        };
        const pullOnly = await token("repository:h/a:pull", basic("u2", "p2-secret"));
        const pushTok = await token("repository:h/a:pull,push", basic("u2", "p2-secret"));
        expect((await token("repository:h/a:pull", basic("u2", "bad"))).status).toBe(401);
        const anon = await token("repository:h/a:pull");
        const post = (t: string | undefined): Promise<Response> =>
          fetch(`${reg.url}/v2/h/a/blobs/uploads/`, { method: "POST", headers: { authorization: `Bearer ${t ?? ""}` } });
        expect((await post(pushTok.token)).status).toBe(202);
        expect((await post(pullOnly.token)).status).toBe(401);
        expect((await post(anon.token)).status).toBe(401);
        expect(ts.requests.find((q) => q.grant === "anonymous")?.granted).toEqual([]);
        // Refresh tokens (OAuth2 POST) work for Docker config identitytoken tests.
        const rt = ts.issueRefreshToken("u2");
        const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: rt, service: ts.service, scope: "repository:h/a:pull,push", client_id: "t" });
        const viaRefresh = await fetch(ts.realm, { method: "POST", body: form });
        expect(viaRefresh.status).toBe(200);
        expect((await post(((await viaRefresh.json()) as { access_token: string }).access_token)).status).toBe(202);
      } finally {
        await reg.stop();
      }
    });
  });

  describe("fault proxy", () => {
    let reg: Registry;
    let proxy: FaultProxy;
    let blob: Buffer;
    let layer: string;

    beforeAll(async () => {
      reg = await startRegistry();
      proxy = await startFaultProxy(reg.host);
      blob = await paddedComponent(1, "harness");
      layer = (await pushRawArtifact(reg, "h/p", "v1", blob)).layerDigest;
    });
    afterAll(async () => {
      await proxy?.stop();
      await reg?.stop();
    });

    const get = async (): Promise<{ status: number; id?: string; error?: string }> => {
      try {
        const r = await fetch(`${proxy.url}/v2/h/p/blobs/${layer}`);
        return { status: r.status, id: bytesId(Buffer.from(await r.arrayBuffer())) };
      } catch (e) {
        return { status: -1, error: String((e as Error).cause ?? e) };
      }
    };

    it("passes requests through unchanged and logs them", async () => {
      proxy.clear();
      expect(await get()).toEqual({ status: 200, id: bytesId(blob) });
      expect(proxy.requests.map((q) => [q.method, q.status])).toEqual([["GET", 200]]);
      // The registry's upload Location points back at the proxy (Host passed through).
      const post = await fetch(`${proxy.url}/v2/h/q/blobs/uploads/`, { method: "POST" });
      expect(post.headers.get("location") ?? "").toContain(proxy.host);
    });

    it("status on the nth match only, then passes", async () => {
      proxy.setRules([{ path: /\/blobs\//, nth: 2, action: { kind: "status", status: 503 } }]);
      expect((await get()).status).toBe(200);
      expect((await get()).status).toBe(503);
      expect((await get()).status).toBe(200);
      proxy.clear();
    });

    it("reset and truncate cut the body; corrupt keeps the length and changes the digest", async () => {
      proxy.setRules([{ path: /\/blobs\//, nth: "all", action: { kind: "reset", afterBytes: 1000 } }]);
      expect((await get()).status).toBe(-1);
      proxy.setRules([{ path: /\/blobs\//, nth: "all", action: { kind: "truncate", afterBytes: 1000 } }]);
      expect((await get()).status).toBe(-1);
      proxy.setRules([{ path: /\/blobs\//, nth: "all", action: { kind: "corrupt" } }]);
      const corrupt = await get();
      expect(corrupt.status).toBe(200);
      expect(corrupt.id).toMatch(new RegExp(`^${blob.length} bytes `));
      expect(corrupt.id).not.toBe(bytesId(blob));
      proxy.clear();
    });

    it("redirects to a recording server that serves from upstream with its own credential", async () => {
      const other = await startRecordingServer({ upstream: reg.host });
      try {
        proxy.setRules([{ path: /\/blobs\//, nth: "all", action: { kind: "redirect", location: (p) => `${other.url}${p}` } }]);
        const r = await fetch(`${proxy.url}/v2/h/p/blobs/${layer}`, { redirect: "manual" });
        expect(r.status).toBe(307);
        const loc = r.headers.get("location") ?? "";
        expect(loc.startsWith(other.url)).toBe(true);
        const served = await fetch(loc, { headers: { authorization: "Bearer leaked" } });
        expect(bytesId(Buffer.from(await served.arrayBuffer()))).toBe(bytesId(blob));
        expect(other.requests.map((q) => q.hasAuthorization)).toEqual([true]);
      } finally {
        proxy.clear();
        await other.stop();
      }
    });
  });

  it("fixtures are valid wasm: a core module (version 1) and components (layer 1), padded to the exact size", async () => {
    const core = Buffer.from(await coreModule());
    const comp = Buffer.from(await interfaceComponent());
    expect(core.subarray(0, 8).toString("hex")).toBe("0061736d01000000");
    expect(comp.subarray(0, 8).toString("hex")).toBe("0061736d0d000100");
    const padded = await paddedComponent(0.5, "s");
    expect(padded.length).toBe(512 * 1024);
    expect(sha256(padded)).toBe(sha256(await paddedComponent(0.5, "s")));
    expect(sha256(padded)).not.toBe(sha256(await paddedComponent(0.5, "t")));
    const { componentWit } = await import("@bytecodealliance/jco-transpile/wasm-tools");
    expect(await componentWit(padded)).toContain("export test:demo/greeter@0.1.0");
  });
});
