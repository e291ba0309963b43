import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveCredential, wkgEnvVarName, type ResolveOptions } from "../../tools/src/oci/credentials.ts";
import { runCredentialHelper } from "../../tools/src/oci/credential-helper.ts";
import { dockerConfigPaths, hostOfConfigKey, matchingKeys } from "../../tools/src/oci/docker-config.ts";
import { parseRegistryConfig, type RegistryConfigInput } from "../../tools/src/config/registry-config.ts";
import { WasmOciError } from "../../tools/src/util/errors.ts";
import { setLogLevel, setLogSink } from "../../tools/src/util/log.ts";
import type { CredentialResult } from "../../tools/src/oci/types.ts";

// Every secret used below; none may appear in tried, source, errors or logs.
const S = {
  helperGood: "helper-good-secret-1111",
  helperToken: "helper-refresh-token-2222",
  helperStore: "store-secret-3333",
  helperLeak: "helper-stderr-token-4444",
  authB64Pass: "b64-password-4444",
  plainPass: "plain-password-5555",
  identity: "identity-token-6666",
  wkg: "wkg-bearer-token-7777",
  envToken: "env-token-8888",
  envPass: "env-password-9999",
  fileToken: "file-token-aaaa",
  clientSecret: "client-secret-bbbb",
  accessToken: "oauth-access-token-cccc",
  xdgPass: "xdg-password-dddd",
};

let root: string;
let bin: string;
let logLines: string[] = [];
let restoreSink: () => void;
const seen: string[] = [];

function remember(r: CredentialResult): CredentialResult {
  seen.push(...r.tried, r.source ?? "");
  return r;
}

async function script(name: string, body: string): Promise<void> {
  const path = join(bin, `docker-credential-${name}`);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, JSON.stringify(value));
}

/** A fresh HOME (and nothing else) per test; helpers found through PATH. */
async function freshEnv(extra: Record<string, string> = {}): Promise<{ home: string; opts: ResolveOptions }> {
  const home = await mkdtemp(join(root, "home-"));
  const env: NodeJS.ProcessEnv = { HOME: home, PATH: `${bin}:${process.env["PATH"] ?? "/usr/bin:/bin"}`, ...extra };
  return { home, opts: { env, helperTimeoutMs: 2000 } };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "creds-"));
  bin = join(root, "bin");
  await mkdir(bin);
  // Answers per server URL read from stdin, logging what it was asked.
  await script(
    "good",
    `read url
echo "$url" >> "${root}/good.log"
case "$url" in
  ghcr.io|https://index.docker.io/v1/|localhost:5000) printf '{"ServerURL":"%s","Username":"gooduser","Secret":"${S.helperGood}"}' "$url" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`,
  );
  await script("tok", `cat >/dev/null; printf '{"Username":"<token>","Secret":"${S.helperToken}"}'`);
  await script(
    "store",
    `read url
echo "$url" >> "${root}/store.log"
case "$url" in
  https://store.example.com) printf '{"Username":"storeuser","Secret":"${S.helperStore}"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`,
  );
  await script("fail", `cat >/dev/null; echo "backend exploded" >&2; exit 3`);
  // A failing helper that prints its token to stderr (redaction cannot know this value).
  await script("leaky", `cat >/dev/null; echo "refresh failed for token ${S.helperLeak}" >&2; exit 2`);
  await script("garbage", `cat >/dev/null; echo "Secret: ${S.helperGood} (not json)"`);
  await script("slow", `sleep 20`);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  logLines = [];
  setLogLevel("debug");
  restoreSink = setLogSink((l) => logLines.push(l));
});

afterEach(() => {
  restoreSink();
  setLogLevel("info");
  const all = [...seen, ...logLines].join("\n");
  for (const secret of Object.values(S)) expect(all).not.toContain(secret);
  seen.length = 0;
});

async function expectUnavailable(p: Promise<unknown>, pattern: RegExp): Promise<WasmOciError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WasmOciError);
    const err = e as WasmOciError;
    expect(err.code).toBe("CREDENTIAL_UNAVAILABLE");
    expect(err.message).toMatch(pattern);
    seen.push(err.message, JSON.stringify(err.details ?? {}));
    return err;
  }
  throw new Error("expected a CREDENTIAL_UNAVAILABLE error");
}

describe("docker config discovery", () => {
  it("lists candidate files in order", () => {
    expect(
      dockerConfigPaths({ HOME: "/h", DOCKER_CONFIG: "/dc", REGISTRY_AUTH_FILE: "/raf.json", XDG_RUNTIME_DIR: "/run/user/1" }),
    ).toEqual(["/dc/config.json", "/h/.docker/config.json", "/raf.json", "/run/user/1/containers/auth.json"]);
    expect(dockerConfigPaths({ HOME: "/h" })).toEqual(["/h/.docker/config.json"]);
  });

  it("normalises config keys", () => {
    expect(hostOfConfigKey("https://index.docker.io/v1/")).toBe("registry-1.docker.io");
    expect(hostOfConfigKey("http://Localhost:5000")).toBe("localhost:5000");
    expect(hostOfConfigKey("ghcr.io/v1/")).toBe("ghcr.io");
  });

  it("orders matching keys: exact host, URL forms, repository-scoped", () => {
    const record = { "quay.io/org": 1, "https://quay.io": 2, "other.io": 3, "quay.io": 4, "http://quay.io/v2/": 5 };
    expect(matchingKeys(record, "quay.io")).toEqual(["quay.io", "https://quay.io", "http://quay.io/v2/", "quay.io/org"]);
  });

  it("is anonymous when nothing is configured, listing what it looked at", async () => {
    const { home, opts } = await freshEnv();
    const r = remember(await resolveCredential("ghcr.io", undefined, opts));
    expect(r.credential).toBeUndefined();
    expect(r.source).toBeUndefined();
    expect(r.tried).toEqual(["env WKG_REGISTRY_GHCR_IO_AUTH_BEARER: not set", `docker config ${home}/.docker/config.json: absent`]);
  });

  it("decodes base64 auth, username/password and identitytoken from auths (any key spelling)", async () => {
    const { home, opts } = await freshEnv();
    await writeJson(join(home, ".docker/config.json"), {
      auths: {
        "https://ghcr.io": { auth: b64(`alice:${S.authB64Pass}`) },
        "localhost:5000": { username: "bob", password: S.plainPass },
        "https://index.docker.io/v1/": { identitytoken: S.identity },
      },
    });
    const ghcr = remember(await resolveCredential("ghcr.io", undefined, opts));
    expect(ghcr.credential).toEqual({ kind: "basic", username: "alice", password: S.authB64Pass });
    expect(ghcr.source).toBe(`docker config ${home}/.docker/config.json auths["https://ghcr.io"] (auth)`);
    const local = remember(await resolveCredential("localhost:5000", undefined, opts));
    expect(local.credential).toEqual({ kind: "basic", username: "bob", password: S.plainPass });
    const hub = remember(await resolveCredential("registry-1.docker.io", undefined, opts));
    expect(hub.credential).toEqual({ kind: "refresh", refreshToken: S.identity });
  });

  it("prefers credHelpers over auths over credsStore", async () => {
    const { home, opts } = await freshEnv();
    const cfg = join(home, ".docker/config.json");
    await writeJson(cfg, {
      credHelpers: { "ghcr.io": "good" },
      auths: { "ghcr.io": { auth: b64(`alice:${S.authB64Pass}`) }, "store.example.com": {}, "other.example.com": { username: "o", password: S.plainPass } },
      credsStore: "store",
    });
    const r = remember(await resolveCredential("ghcr.io", undefined, opts));
    expect(r.credential).toEqual({ kind: "basic", username: "gooduser", password: S.helperGood });
    expect(r.source).toBe(`docker-credential-good (credHelpers["ghcr.io"] in ${cfg})`);
    // auths beats credsStore
    const other = remember(await resolveCredential("other.example.com", undefined, opts));
    expect(other.credential).toEqual({ kind: "basic", username: "o", password: S.plainPass });
    // an empty auths entry defers to credsStore, which is asked for the stored key first
    const store = remember(await resolveCredential("store.example.com", undefined, opts));
    expect(store.credential).toEqual({ kind: "basic", username: "storeuser", password: S.helperStore });
    expect(store.tried).toContain(`docker config ${cfg} auths["store.example.com"]: empty (kept in credsStore)`);
    expect(store.source).toBe(`docker-credential-store (credsStore in ${cfg})`);
    expect((await readFile(join(root, "store.log"), "utf8")).split("\n")).toEqual(
      expect.arrayContaining(["store.example.com", "https://store.example.com"]),
    );
    // credsStore answering "not found" for everything: anonymous
    const none = remember(await resolveCredential("nothing.example.com", undefined, opts));
    expect(none.credential).toBeUndefined();
    expect(none.tried.at(-1)).toBe(`docker-credential-store (credsStore in ${cfg}): no credentials for nothing.example.com, https://nothing.example.com`);
  });

  it("sends Docker Hub's server URL to helpers and maps <token> to a refresh token", async () => {
    const { home, opts } = await freshEnv();
    await writeJson(join(home, ".docker/config.json"), { credHelpers: { "docker.io": "good", "tok.example.com": "tok" } });
    const hub = remember(await resolveCredential("registry-1.docker.io", undefined, opts));
    expect(hub.credential).toEqual({ kind: "basic", username: "gooduser", password: S.helperGood });
    expect(await readFile(join(root, "good.log"), "utf8")).toContain("https://index.docker.io/v1/\n");
    const tok = remember(await resolveCredential("tok.example.com", undefined, opts));
    expect(tok.credential).toEqual({ kind: "refresh", refreshToken: S.helperToken });
  });

  it("notes a failing, missing, garbage or slow helper in tried and falls through", async () => {
    const { home, opts } = await freshEnv();
    const cfg = join(home, ".docker/config.json");
    await writeJson(cfg, {
      credHelpers: { "a.example.com": "fail", "b.example.com": "missing-helper", "c.example.com": "garbage", "d.example.com": "slow" },
      auths: { "a.example.com": { username: "fallback", password: S.plainPass } },
    });
    const a = remember(await resolveCredential("a.example.com", undefined, opts));
    expect(a.credential).toEqual({ kind: "basic", username: "fallback", password: S.plainPass });
    expect(a.tried).toContain(`docker-credential-fail (credHelpers["a.example.com"] in ${cfg}): docker-credential-fail: failed (exit code 3); its stderr (17 bytes) is not shown because it may hold a credential: run \`docker-credential-fail get\` by hand to read it`);
    const b = remember(await resolveCredential("b.example.com", undefined, opts));
    expect(b.credential).toBeUndefined();
    expect(b.tried.join("\n")).toMatch(/docker-credential-missing-helper was not found on PATH/);
    const c = remember(await resolveCredential("c.example.com", undefined, opts));
    expect(c.tried.join("\n")).toMatch(/docker-credential-garbage: printed something that is not JSON/);
    const started = Date.now();
    const d = remember(await resolveCredential("d.example.com", undefined, { ...opts, helperTimeoutMs: 300 }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(d.tried.join("\n")).toMatch(/docker-credential-slow: did not answer within 300 ms/);
  });

  it("searches DOCKER_CONFIG, HOME, REGISTRY_AUTH_FILE and XDG_RUNTIME_DIR in order", async () => {
    const dc = await mkdtemp(join(root, "dc-"));
    const xdg = await mkdtemp(join(root, "xdg-"));
    const raf = join(await mkdtemp(join(root, "raf-")), "auth.json");
    const { home, opts } = await freshEnv({ DOCKER_CONFIG: dc, XDG_RUNTIME_DIR: xdg, REGISTRY_AUTH_FILE: raf });
    await writeFile(join(dc, "config.json"), "{ not json");
    await writeJson(join(home, ".docker/config.json"), { auths: { "other.io": { username: "x", password: S.plainPass } } });
    await writeJson(join(xdg, "containers/auth.json"), { auths: { "quay.io": { auth: b64(`q:${S.xdgPass}`) } } });
    const r = remember(await resolveCredential("quay.io", undefined, opts));
    expect(r.credential).toEqual({ kind: "basic", username: "q", password: S.xdgPass });
    expect(r.tried).toEqual([
      "env WKG_REGISTRY_QUAY_IO_AUTH_BEARER: not set",
      `docker config ${dc}/config.json: not valid JSON at line:column 1:3`,
      `docker config ${raf}: absent`,
      `docker config ${xdg}/containers/auth.json auths["quay.io"] (auth)`,
    ]);
  });

  it("reports a malformed auth entry without its value", async () => {
    const { home, opts } = await freshEnv();
    await writeJson(join(home, ".docker/config.json"), { auths: { "ghcr.io": { auth: b64(S.authB64Pass) } } });
    const r = remember(await resolveCredential("ghcr.io", undefined, opts));
    expect(r.credential).toBeUndefined();
    expect(r.tried.at(-1)).toMatch(/auths\["ghcr.io"\]: auth is not base64 of "username:password"/);
  });
});

describe("wkg env var", () => {
  it("names the variable like wkg and wins over the Docker config", async () => {
    expect(wkgEnvVarName("localhost:5000")).toBe("WKG_REGISTRY_LOCALHOST_5000_AUTH_BEARER");
    expect(wkgEnvVarName("my-reg.example.com")).toBe("WKG_REGISTRY_MY_REG_EXAMPLE_COM_AUTH_BEARER");
    const { home, opts } = await freshEnv({ WKG_REGISTRY_GHCR_IO_AUTH_BEARER: S.wkg });
    await writeJson(join(home, ".docker/config.json"), { auths: { "ghcr.io": { username: "x", password: S.plainPass } } });
    const r = remember(await resolveCredential("ghcr.io", undefined, opts));
    expect(r.credential).toEqual({ kind: "token", token: S.wkg });
    expect(r.source).toBe("env WKG_REGISTRY_GHCR_IO_AUTH_BEARER");
  });
});

describe("configured sources", () => {
  const config = (auth: unknown, extra: Partial<RegistryConfigInput> = {}) =>
    parseRegistryConfig({ registries: [{ name: "r", host: "reg.example.com", auth }], ...extra });

  it("env: a token, with the configured username; ignores discovery", async () => {
    const { opts } = await freshEnv({ MY_TOKEN: S.envToken, WKG_REGISTRY_REG_EXAMPLE_COM_AUTH_BEARER: S.wkg });
    const r = remember(await resolveCredential("reg.example.com", config({ type: "env", token_env: "MY_TOKEN", username: "ci" }), opts));
    expect(r.credential).toEqual({ kind: "token", token: S.envToken, username: "ci" });
    expect(r.source).toBe("env MY_TOKEN");
    expect(r.tried).toEqual(["env MY_TOKEN"]);
    // found by the entry's name too
    expect(remember(await resolveCredential("r", config({ type: "env", token_env: "MY_TOKEN" }), opts)).credential).toEqual({ kind: "token", token: S.envToken });
  });

  it("env: an unset variable is an error naming the entry and the variable", async () => {
    const { opts } = await freshEnv();
    await expectUnavailable(
      resolveCredential("reg.example.com", config({ type: "env", token_env: "MY_TOKEN" }), opts),
      /credentials for reg.example.com \(registry config entry "r", auth env MY_TOKEN\): environment variable MY_TOKEN is not set/,
    );
  });

  it("basic_env", async () => {
    const { opts } = await freshEnv({ U: "carol", P: S.envPass });
    const r = remember(await resolveCredential("reg.example.com", config({ type: "basic_env", username_env: "U", password_env: "P" }), opts));
    expect(r.credential).toEqual({ kind: "basic", username: "carol", password: S.envPass });
    await expectUnavailable(
      resolveCredential("reg.example.com", config({ type: "basic_env", username_env: "U", password_env: "NOPE" }), opts),
      /NOPE is not set/,
    );
  });

  it("token_file: trimmed, re-read every time; missing and empty files are errors", async () => {
    const { opts } = await freshEnv();
    const path = join(root, "sa-token");
    await writeFile(path, `${S.fileToken}\n`);
    const r = remember(await resolveCredential("reg.example.com", config({ type: "token_file", path }), opts));
    expect(r.credential).toEqual({ kind: "token", token: S.fileToken });
    expect(r.source).toBe(`token file ${path}`);
    await writeFile(path, "\n");
    await expectUnavailable(resolveCredential("reg.example.com", config({ type: "token_file", path }), opts), /token file .* is empty/);
    await expectUnavailable(
      resolveCredential("reg.example.com", config({ type: "token_file", path: join(root, "absent") }), opts),
      /token file .*absent: cannot read/,
    );
  });

  it("credential_helper: used for the host; a failing or empty helper is an error", async () => {
    const { opts } = await freshEnv();
    const ok = parseRegistryConfig({ registries: [{ name: "l", host: "localhost:5000", auth: { type: "credential_helper", helper: "good" } }] });
    const r = remember(await resolveCredential("localhost:5000", ok, opts));
    expect(r.credential).toEqual({ kind: "basic", username: "gooduser", password: S.helperGood });
    expect(r.source).toBe("docker-credential-good");
    await expectUnavailable(resolveCredential("reg.example.com", config({ type: "credential_helper", helper: "fail" }), opts), /docker-credential-fail: failed \(exit code 3\); its stderr \(17 bytes\) is not shown/);
    await expectUnavailable(resolveCredential("reg.example.com", config({ type: "credential_helper", helper: "good" }), opts), /has no credentials for reg.example.com/);
    await expectUnavailable(resolveCredential("reg.example.com", config({ type: "credential_helper", helper: "absent" }), opts), /was not found on PATH/);
  });

  it("a failing helper's stderr is never echoed (it may hold its token): the error names the helper and its exit code", async () => {
    const { opts } = await freshEnv();
    const err = await expectUnavailable(
      resolveCredential("reg.example.com", config({ type: "credential_helper", helper: "leaky" }), opts),
      /docker-credential-leaky: failed \(exit code 2\); its stderr \(\d+ bytes\) is not shown/,
    );
    expect(err.message).not.toContain(S.helperLeak);
    expect(err.message).not.toContain("refresh failed");
  });

  it("docker: discovery only (no wkg env), and a broken helper is an error", async () => {
    const { home, opts } = await freshEnv({ WKG_REGISTRY_REG_EXAMPLE_COM_AUTH_BEARER: S.wkg });
    await writeJson(join(home, ".docker/config.json"), { auths: { "reg.example.com": { username: "d", password: S.plainPass } } });
    const r = remember(await resolveCredential("reg.example.com", config({ type: "docker" }), opts));
    expect(r.credential).toEqual({ kind: "basic", username: "d", password: S.plainPass });
    expect(r.tried).toEqual([`docker config ${home}/.docker/config.json auths["reg.example.com"] (username/password)`]);
    await writeJson(join(home, ".docker/config.json"), { credHelpers: { "reg.example.com": "fail" } });
    await expectUnavailable(resolveCredential("reg.example.com", config({ type: "docker" }), opts), /docker-credential-fail: failed \(exit code 3\); its stderr/);
  });

  it("none: anonymous even when discovery would find something", async () => {
    const { opts } = await freshEnv({ WKG_REGISTRY_REG_EXAMPLE_COM_AUTH_BEARER: S.wkg });
    const r = remember(await resolveCredential("reg.example.com", config({ type: "none" }), opts));
    expect(r.credential).toBeUndefined();
    expect(r.source).toMatch(/registry config entry "r": anonymous/);
  });

  it("an entry without auth falls back to discovery", async () => {
    const { opts } = await freshEnv({ WKG_REGISTRY_REG_EXAMPLE_COM_AUTH_BEARER: S.wkg });
    const cfg = parseRegistryConfig({ registries: [{ name: "r", host: "reg.example.com" }] });
    expect(remember(await resolveCredential("reg.example.com", cfg, opts)).credential).toEqual({ kind: "token", token: S.wkg });
  });

  it("oauth2_env without token_url: client id and secret as Basic", async () => {
    const { opts } = await freshEnv({ CID: "client-1", CSECRET: S.clientSecret });
    const r = remember(await resolveCredential("reg.example.com", config({ type: "oauth2_env", client_id_env: "CID", client_secret_env: "CSECRET" }), opts));
    expect(r.credential).toEqual({ kind: "basic", username: "client-1", password: S.clientSecret });
  });
});

describe("oauth2_env with token_url (real HTTP server on 127.0.0.1)", () => {
  let server: Server;
  let base: string;
  const requests: Array<{ path: string; auth: string | undefined; body: URLSearchParams }> = [];

  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
  }

  beforeAll(async () => {
    server = createServer((req, res) => {
      void readBody(req).then((text) => {
        const body = new URLSearchParams(text);
        requests.push({ path: req.url ?? "", auth: req.headers.authorization, body });
        const json = (status: number, v: unknown) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(v));
        };
        if (req.method !== "POST" || body.get("grant_type") !== "client_credentials") return json(400, { error: "unsupported_grant_type" });
        const basicOk = req.headers.authorization === `Basic ${b64(`client-1:${S.clientSecret}`)}`;
        const postOk = body.get("client_id") === "client-1" && body.get("client_secret") === S.clientSecret;
        if (req.url === "/token" && basicOk) return json(200, { access_token: S.accessToken, token_type: "Bearer", expires_in: 300, scope: body.get("scope") });
        if (req.url === "/post-only" && postOk) return json(200, { access_token: S.accessToken });
        if (req.url === "/no-token" && basicOk) return json(200, { token_type: "Bearer" });
        return json(401, { error: "invalid_client", error_description: `bad secret ${body.get("client_secret") ?? ""}` });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new Error("no port");
    base = `http://127.0.0.1:${addr.port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const cfg = (path: string, scope?: string) =>
    parseRegistryConfig({
      registries: [
        { name: "r", host: "reg.example.com", auth: { type: "oauth2_env", client_id_env: "CID", client_secret_env: "CSECRET", token_url: `${base}${path}`, ...(scope ? { scope } : {}) } },
      ],
      timeout_seconds: 5,
    });

  it("does the client_credentials grant and returns the access token", async () => {
    const { opts } = await freshEnv({ CID: "client-1", CSECRET: S.clientSecret });
    requests.length = 0;
    const r = remember(await resolveCredential("reg.example.com", cfg("/token", "registry:pull"), opts));
    expect(r.credential).toEqual({ kind: "token", token: S.accessToken });
    expect(r.source).toBe(`OAuth2 access token from ${base}/token (client credentials from env CID / CSECRET)`);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.body.get("scope")).toBe("registry:pull");
    expect(requests[0]?.body.get("client_secret")).toBeNull();
  });

  it("falls back to credentials in the body when the header is refused", async () => {
    const { opts } = await freshEnv({ CID: "client-1", CSECRET: S.clientSecret });
    requests.length = 0;
    const r = remember(await resolveCredential("reg.example.com", cfg("/post-only"), opts));
    expect(r.credential).toEqual({ kind: "token", token: S.accessToken });
    expect(requests.map((q) => q.auth !== undefined)).toEqual([true, false]);
  });

  it("a refused client or a response without access_token is an error that shows no secret", async () => {
    const { opts } = await freshEnv({ CID: "client-1", CSECRET: S.clientSecret });
    await expectUnavailable(resolveCredential("reg.example.com", cfg("/wrong"), opts), /answered HTTP 401 \(invalid_client\)/);
    await expectUnavailable(resolveCredential("reg.example.com", cfg("/no-token"), opts), /the response has no access_token/);
  });

  it("refuses to send a client secret over plain http to a non-loopback host", async () => {
    const { opts } = await freshEnv({ CID: "client-1", CSECRET: S.clientSecret });
    const c = parseRegistryConfig({
      registries: [{ name: "r", host: "reg.example.com", auth: { type: "oauth2_env", client_id_env: "CID", client_secret_env: "CSECRET", token_url: "http://login.example.com/token" } }],
    });
    await expectUnavailable(resolveCredential("reg.example.com", c, opts), /only sent over https/);
  });
});

describe("runCredentialHelper", () => {
  it("refuses helper names with path characters", async () => {
    await expect(runCredentialHelper("../evil", "x")).rejects.toThrow(/invalid helper name/);
  });
});

describe("wasm-oci config credentials (CLI)", () => {
  it("prints the source and what was tried, never the secret", async () => {
    const { main } = await import("../../tools/src/cli/main.ts");
    const { home } = await freshEnv();
    await writeJson(join(home, ".docker/config.json"), { auths: { "ghcr.io": { auth: b64(`alice:${S.authB64Pass}`) } } });
    const saved = { HOME: process.env["HOME"], DOCKER_CONFIG: process.env["DOCKER_CONFIG"], W: process.env["WKG_REGISTRY_GHCR_IO_AUTH_BEARER"] };
    process.env["HOME"] = home;
    delete process.env["DOCKER_CONFIG"];
    delete process.env["WKG_REGISTRY_GHCR_IO_AUTH_BEARER"];
    const chunks: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((c: string | Uint8Array) => {
      chunks.push(typeof c === "string" ? c : Buffer.from(c).toString("utf8"));
      return true;
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main(["node", "wasm-oci", "config", "credentials", "ghcr.io", "--json"]);
    } finally {
      process.stdout.write = orig;
      for (const [k, v] of [["HOME", saved.HOME], ["DOCKER_CONFIG", saved.DOCKER_CONFIG], ["WKG_REGISTRY_GHCR_IO_AUTH_BEARER", saved.W]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(code).toBe(0);
    const out = chunks.join("");
    seen.push(out);
    const json = JSON.parse(out) as { host: string; source: string; kind: string; tried: string[] };
    expect(json.host).toBe("ghcr.io");
    expect(json.kind).toBe("basic");
    expect(json.source).toContain('auths["ghcr.io"] (auth)');
    expect(out).not.toContain(b64(`alice:${S.authB64Pass}`));
  });
});
