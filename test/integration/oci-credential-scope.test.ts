/**
 * Credentials go only to the registry's own origin (scheme, host and port), and to the token realm
 * a challenge from that origin names (issue 12, findings 1 and 3):
 *  - an upload Location on another host gets the blob without our Authorization;
 *  - a redirect target that answers 401 does not get the token flow run against it;
 *  - over HTTPS (a test CA via NODE_EXTRA_CA_CERTS, the registry reached by a public-looking name
 *    through an HTTPS_PROXY that maps it to loopback): an upload Location downgraded to plain HTTP
 *    (a TLS-terminating proxy's mistake) is refused before anything is sent there.
 * Against a real registry (htpasswd) behind the fault proxy; the "other host" is a recording server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { runCli, hermeticEnv, freshCacheArgs } from "../helpers/cli.ts";
import { makeTmp, writeJson, type Tmp } from "../helpers/tmp.ts";
import { startFaultProxy, startForwardProxy, startRecordingServer } from "../helpers/fault-proxy.ts";
import { makeTestCa } from "../helpers/test-ca.ts";
import { interfaceComponent, writeFixture } from "../helpers/wasm-fixtures.ts";
import { getManifest } from "../helpers/oci-http.ts";

const USER = "alice";
const PASS = "scope-s3cret-pw";
const BASIC = `Basic ${Buffer.from(`${USER}:${PASS}`).toString("base64")}`;

describe.skipIf(!registryAvailable())("credentials stay with the registry's origin", () => {
  let reg: Registry;
  let tmp: Tmp;
  let input: string;
  let n = 0;

  beforeAll(async () => {
    reg = await startRegistry({ auth: "htpasswd", users: { [USER]: PASS } });
    tmp = await makeTmp("oci-credential-scope");
    input = await writeFixture(tmp.dir, "in/app.wasm", Buffer.from(await interfaceComponent()));
  });

  afterAll(async () => {
    await reg?.stop();
    await tmp?.cleanup();
  });

  const env = (extra: Record<string, string | undefined> = {}): Record<string, string | undefined> =>
    hermeticEnv(tmp.dir, { SCOPE_USER: USER, SCOPE_PASS: PASS, ...extra });

  const configFor = (host: string): Promise<string> =>
    writeJson(tmp.path(`registries-${++n}.json`), {
      registries: [{ name: "reg", host, type: "oci", auth: { type: "basic_env", username_env: "SCOPE_USER", password_env: "SCOPE_PASS" } }],
      retry: { max_attempts: 1, max_elapsed_seconds: 5 },
    });

  it("finding 1: an upload Location on another host gets the blob but not the registry's credential", async () => {
    // The other host forwards to the registry with its own credential, as storage behind a signed URL would.
    const other = await startRecordingServer({ upstream: reg.host, upstreamAuthorization: BASIC });
    const proxy = await startFaultProxy(reg.host);
    try {
      proxy.setRules([
        {
          method: "POST",
          path: /\/v2\/scope\/upload\/blobs\/uploads\/$/,
          nth: "all",
          action: { kind: "headers", headers: (up) => ({ location: new URL(String(up.location), `http://${proxy.host}`).toString().replace(proxy.host, other.host) }) },
        },
      ]);
      const r = await runCli(["push", input, `${proxy.host}/scope/upload:v1`, "--registry-config", await configFor(proxy.host)], { env: env(), timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(0);
      const puts = other.requests.filter((q) => q.method === "PUT");
      expect(puts.length).toBeGreaterThanOrEqual(1);
      expect(other.requests.filter((q) => q.hasAuthorization)).toEqual([]);
      // The registry's own requests still carry it.
      expect(proxy.matching("POST", /\/blobs\/uploads\//).some((q) => q.hasAuthorization)).toBe(true);
      expect((await getManifest(reg, "scope/upload", "v1")).status).toBe(200);
    } finally {
      await proxy.stop();
      await other.stop();
    }
  });

  it("finding 3: a redirect target answering 401 with its own Bearer realm gets no credential", async () => {
    const p = await runCli(["push", input, `${reg.host}/scope/redirect:v1`, "--registry-config", await configFor(reg.host)], { env: env(), timeoutMs: 30_000 });
    expect(p.code, p.stderr).toBe(0);
    const other = await startRecordingServer({
      respond: (req, res) => {
        req.resume();
        if ((req.url ?? "").startsWith("/token")) {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "stolen-token" }));
        } else {
          res.writeHead(401, { "www-authenticate": `Bearer realm="http://${hostOf(req)}/token",service="evil"`, "content-length": "0" }).end();
        }
        return true;
      },
    });
    const proxy = await startFaultProxy(reg.host);
    try {
      proxy.setRules([{ method: "GET", path: /\/v2\/scope\/redirect\/blobs\/sha256:/, nth: "all", action: { kind: "redirect", status: 307, location: (path) => `${other.url}${path}` } }]);
      const out = tmp.path(`out-${++n}/app.wasm`);
      const r = await runCli(["pull", `${proxy.host}/scope/redirect:v1`, "-o", out, "--registry-config", await configFor(proxy.host), ...freshCacheArgs(tmp.dir)], {
        env: env(),
        timeoutMs: 30_000,
      });
      expect(other.requests.length).toBeGreaterThanOrEqual(1);
      expect(other.requests.filter((q) => q.hasAuthorization)).toEqual([]);
      expect(other.requests.filter((q) => q.path.startsWith("/token"))).toEqual([]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/UNAUTHORIZED|authentication failed/);
      expect(r.stderr).toContain(other.host);
    } finally {
      await proxy.stop();
      await other.stop();
    }
  });

  describe("over HTTPS (test CA, registry.test through HTTPS_PROXY)", () => {
    const NAME = "registry.test";

    async function httpsSetup(): Promise<{
      tls: Awaited<ReturnType<typeof startFaultProxy>>;
      cleartext: Awaited<ReturnType<typeof startRecordingServer>>;
      fwd: Awaited<ReturnType<typeof startForwardProxy>>;
      env: Record<string, string | undefined>;
      cfg: string;
      stop(): Promise<void>;
    }> {
      const dir = tmp.path(`ca-${++n}`);
      await import("node:fs/promises").then((fs) => fs.mkdir(dir, { recursive: true }));
      const ca = await makeTestCa(dir, [NAME]);
      const tls = await startFaultProxy(reg.host, { tls: ca.server });
      // Port 80 of the name: whatever arrives there travelled in cleartext.
      const cleartext = await startRecordingServer();
      const fwd = await startForwardProxy({ hosts: { [`${NAME}:443`]: tls.host, [`${NAME}:80`]: `127.0.0.1:${cleartext.port}` } });
      const e = env({ HTTPS_PROXY: fwd.url, HTTP_PROXY: fwd.url, NODE_EXTRA_CA_CERTS: ca.caPath });
      return {
        tls,
        cleartext,
        fwd,
        env: e,
        cfg: await configFor(NAME),
        async stop() {
          await tls.stop();
          await cleartext.stop();
          await fwd.stop();
        },
      };
    }

    it("push and pull work over HTTPS, with the credential on the registry's own requests", async () => {
      const s = await httpsSetup();
      try {
        const r = await runCli(["push", input, `${NAME}/scope/https:v1`, "--registry-config", s.cfg], { env: s.env, timeoutMs: 30_000 });
        expect(r.code, r.stderr).toBe(0);
        expect(s.tls.matching("PUT", /\/blobs\/uploads\//).some((q) => q.hasAuthorization)).toBe(true);
        const out = tmp.path(`out-${++n}/app.wasm`);
        const pl = await runCli(["pull", `${NAME}/scope/https:v1`, "-o", out, "--registry-config", s.cfg, ...freshCacheArgs(tmp.dir)], { env: s.env, timeoutMs: 30_000 });
        expect(pl.code, pl.stderr).toBe(0);
        expect(s.fwd.requests.every((q) => q.method === "CONNECT" && q.url === `${NAME}:443`)).toBe(true);
        expect(s.cleartext.requests).toEqual([]);
      } finally {
        await s.stop();
      }
    });

    it("finding 1: an upload Location downgraded to http:// is refused; nothing is sent in cleartext", async () => {
      const s = await httpsSetup();
      try {
        s.tls.setRules([
          {
            method: "POST",
            path: /\/v2\/scope\/downgrade\/blobs\/uploads\/$/,
            nth: "all",
            action: { kind: "headers", headers: (up) => ({ location: String(up.location).replace(/^https:/, "http:") }) },
          },
        ]);
        const r = await runCli(["push", input, `${NAME}/scope/downgrade:v1`, "--registry-config", s.cfg], { env: s.env, timeoutMs: 30_000 });
        expect(s.cleartext.requests).toEqual([]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/plain HTTP/);
        expect(r.stderr).toContain("INSECURE_URL");
        expect(s.fwd.requests.filter((q) => !q.url.endsWith(":443"))).toEqual([]);
        expect(r.stderr + r.stdout).not.toContain(PASS);
      } finally {
        await s.stop();
      }
    });
  });
});

function hostOf(req: { headers: { host?: string } }): string {
  return req.headers.host ?? "localhost";
}
