/**
 * Push/pull round trips against the real registry with authentication:
 *  - htpasswd (bcrypt), credentials from env vars named by a registry config (`basic_env`), from a
 *    Docker config `auths` entry in a temp DOCKER_CONFIG, and from a credential helper;
 *  - token auth (Bearer realm served by test/helpers/token-server.ts), with basic_env, an env token,
 *    a token file, a Docker config identitytoken (refresh token), and anonymous pull.
 * Wrong or missing credentials: exit 1, the message names the registry and the sources tried,
 * no secret anywhere in the output, no output file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmod, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { bytesId } from "../helpers/bytes.ts";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { runCli, hermeticEnv, freshCacheArgs } from "../helpers/cli.ts";
import { makeTmp, writeJson, listFiles, type Tmp } from "../helpers/tmp.ts";
import { startFaultProxy, startRecordingServer } from "../helpers/fault-proxy.ts";
import { coreModule, interfaceComponent, writeFixture } from "../helpers/wasm-fixtures.ts";
import { getManifest, firstDigest, sha256 } from "../helpers/oci-http.ts";

/** Asserts that no form of the secret appears in the CLI's output. */
function expectNoSecret(output: string, username: string, secret: string): void {
  expect(output).not.toContain(secret);
  expect(output).not.toContain(Buffer.from(`${username}:${secret}`).toString("base64"));
  expect(output).not.toContain(encodeURIComponent(secret));
}

describe.skipIf(!registryAvailable())("oci auth: htpasswd (bcrypt)", () => {
  let reg: Registry;
  let tmp: Tmp;
  let core: Buffer;
  let comp: Buffer;
  let corePath: string;
  let compPath: string;
  let basicEnvConfig: string;

  beforeAll(async () => {
    reg = await startRegistry({ auth: "htpasswd", users: { alice: "s3cret-alice-pw!", bob: "bob-pw-2" } });
    tmp = await makeTmp("oci-auth-htpasswd");
    core = Buffer.from(await coreModule());
    comp = Buffer.from(await interfaceComponent());
    corePath = await writeFixture(tmp.dir, "in/core.wasm", core);
    compPath = await writeFixture(tmp.dir, "in/app.wasm", comp);
    basicEnvConfig = await writeJson(tmp.path("registries.json"), {
      registries: [{ name: "local", host: reg.host, type: "oci", auth: { type: "basic_env", username_env: "TEST_REG_USER", password_env: "TEST_REG_PASS" } }],
      default_registry: "local",
    });
  });

  afterAll(async () => {
    await reg?.stop();
    await tmp?.cleanup();
  });

  const envWith = (user: string | undefined, pass: string | undefined): Record<string, string | undefined> =>
    hermeticEnv(tmp.dir, { TEST_REG_USER: user, TEST_REG_PASS: pass });

  for (const [kind, file] of [["core", "core.wasm"], ["app", "app.wasm"]] as const) {
    it(`basic_env: push then pull ${kind} by tag and by digest`, async () => {
      const original = kind === "core" ? core : comp;
      const env = envWith("alice", "s3cret-alice-pw!");
      const p = await runCli(["push", kind === "core" ? corePath : compPath, `${reg.host}/auth/${kind}:v1`, "--registry-config", basicEnvConfig], { env });
      expect(p.code, p.stderr).toBe(0);
      const digest = firstDigest(p.stdout) as string;
      expect(digest).toMatch(/^sha256:/);
      for (const ref of [`${reg.host}/auth/${kind}:v1`, `${reg.host}/auth/${kind}@${digest}`]) {
        const out = tmp.path("out", `${kind}-${sha256(ref).slice(7, 15)}-${file}`);
        const r = await runCli(["pull", ref, "-o", out, "--registry-config", basicEnvConfig, ...freshCacheArgs(tmp.dir)], { env });
        expect(r.code, r.stderr).toBe(0);
        expect(bytesId(await readFile(out))).toBe(bytesId(original));
      }
    });
  }

  it("Docker config auths entry (base64 auth) in DOCKER_CONFIG: push and pull without a registry config", async () => {
    const env = hermeticEnv(tmp.path("docker-auths"));
    await writeJson(`${env["DOCKER_CONFIG"]}/config.json`, {
      auths: { [reg.host]: { auth: Buffer.from("bob:bob-pw-2").toString("base64") } },
    });
    const p = await runCli(["push", compPath, `${reg.host}/auth/docker:v1`], { env });
    expect(p.code, p.stderr).toBe(0);
    const out = tmp.path("out/docker.wasm");
    const r = await runCli(["pull", `${reg.host}/auth/docker:v1`, "-o", out, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
  });

  it("Docker config auths entry with username/password fields, through a registry config auth {type: docker}", async () => {
    const env = hermeticEnv(tmp.path("docker-fields"));
    await writeJson(`${env["DOCKER_CONFIG"]}/config.json`, { auths: { [`http://${reg.host}`]: { username: "bob", password: "bob-pw-2" } } });
    const cfg = await writeJson(tmp.path("docker-fields/registries.json"), { registries: [{ name: "local", host: reg.host, auth: { type: "docker" } }] });
    const out = tmp.path("out/docker-fields.wasm");
    const r = await runCli(["pull", `${reg.host}/auth/app:v1`, "-o", out, "--registry-config", cfg, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
  });

  it("Docker config credHelpers runs docker-credential-<name> get", async () => {
    const env = hermeticEnv(tmp.path("helper"));
    const bin = tmp.path("helper/bin");
    const helper = await writeFixture(bin, "docker-credential-wasmocitest", Buffer.from(
      [
        "#!/bin/sh",
        '[ "$1" = get ] || exit 1',
        "read -r server",
        `echo "$server" >> "${tmp.path("helper/asked")}"`,
        `printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret-alice-pw!"}\\n' "$server"`,
        "",
      ].join("\n"),
    ));
    await chmod(helper, 0o755);
    await writeJson(`${env["DOCKER_CONFIG"]}/config.json`, { credHelpers: { [reg.host]: "wasmocitest" } });
    const out = tmp.path("out/helper.wasm");
    const r = await runCli(["pull", `${reg.host}/auth/core:v1`, "-o", out, ...freshCacheArgs(tmp.dir)], { env: { ...env, PATH: `${bin}:${process.env["PATH"] ?? ""}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(core));
    expect(await readFile(tmp.path("helper/asked"), "utf8")).toContain(reg.host);
    expectNoSecret(r.stdout + r.stderr, "alice", "s3cret-alice-pw!");
  });

  it("containers auth.json in $XDG_RUNTIME_DIR and $REGISTRY_AUTH_FILE are discovered", async () => {
    for (const where of ["xdg", "registry-auth-file"] as const) {
      const env = hermeticEnv(tmp.path(`authjson-${where}`));
      const file = where === "xdg" ? `${env["XDG_RUNTIME_DIR"]}/containers/auth.json` : tmp.path(`authjson-${where}/elsewhere/auth.json`);
      await writeJson(file, { auths: { [reg.host]: { auth: Buffer.from("bob:bob-pw-2").toString("base64") } } });
      const out = tmp.path(`out/authjson-${where}.wasm`);
      const r = await runCli(["pull", `${reg.host}/auth/app:v1`, "-o", out, ...freshCacheArgs(tmp.dir)], {
        env: where === "xdg" ? env : { ...env, REGISTRY_AUTH_FILE: file },
      });
      expect(r.code, `${where}: ${r.stderr}`).toBe(0);
      expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    }
  });

  it("Docker config credsStore runs the store's helper when no auths entry matches", async () => {
    const env = hermeticEnv(tmp.path("store"));
    const bin = tmp.path("store/bin");
    const helper = await writeFixture(bin, "docker-credential-wasmocistore", Buffer.from(
      ["#!/bin/sh", '[ "$1" = get ] || exit 1', "read -r server", `printf '{"ServerURL":"%s","Username":"bob","Secret":"bob-pw-2"}\\n' "$server"`, ""].join("\n"),
    ));
    await chmod(helper, 0o755);
    await writeJson(`${env["DOCKER_CONFIG"]}/config.json`, { auths: { "other.example:5000": { auth: "eDp5" } }, credsStore: "wasmocistore" });
    const out = tmp.path("out/store.wasm");
    const r = await runCli(["pull", `${reg.host}/auth/core:v1`, "-o", out, ...freshCacheArgs(tmp.dir)], { env: { ...env, PATH: `${bin}:${process.env["PATH"] ?? ""}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(core));
  });

  it("--verbose logs requests without any credential", async () => {
    const env = envWith("alice", "s3cret-alice-pw!");
    const out = tmp.path("out/verbose.wasm");
    const r = await runCli(["--verbose", "pull", `${reg.host}/auth/app:v1`, "-o", out, "--registry-config", basicEnvConfig], { env });
    expect(r.code, r.stderr).toBe(0);
    // It did log requests, with method, URL, status and timing (so the redaction check means something).
    expect(r.stderr).toMatch(/GET\s+http:\/\/\S+\/v2\/auth\/app\/manifests\/v1\s+200\s+\d+\s*ms/);
    expect(r.stderr).toMatch(new RegExp(`GET\\s+\\S+/v2/auth/app/blobs/sha256:[a-f0-9]{64}\\s+200`));
    expectNoSecret(r.stdout + r.stderr, "alice", "s3cret-alice-pw!");
    // WASM_OCI_LOG=debug does the same as --verbose.
    const viaEnv = await runCli(["pull", `${reg.host}/auth/app:v1`, "-o", tmp.path("out/verbose-env.wasm"), "--registry-config", basicEnvConfig, ...freshCacheArgs(tmp.dir)], {
      env: { ...env, WASM_OCI_LOG: "debug" },
    });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stderr).toMatch(/GET\s+http:\/\/\S+\/v2\/auth\/app\/manifests\/v1\s+200/);
    expectNoSecret(viaEnv.stdout + viaEnv.stderr, "alice", "s3cret-alice-pw!");
  });

  it("wrong password: exit 1, names the registry and the sources tried, no secret, no output file", async () => {
    const secret = "definitely-wrong-pw-123";
    const env = envWith("alice", secret);
    const outDir = tmp.path("out/wrong");
    const out = `${outDir}/app.wasm`;
    const r = await runCli(["pull", `${reg.host}/auth/app:v1`, "-o", out, "--registry-config", basicEnvConfig, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(reg.host);
    expect(r.stderr).toMatch(/TEST_REG_USER|TEST_REG_PASS|basic_env/);
    expect(r.stderr).toMatch(/401|unauthori[sz]ed|authentication|credential/i);
    expectNoSecret(r.stdout + r.stderr, "alice", secret);
    expect(existsSync(out)).toBe(false);
    expect(await listFiles(outDir)).toEqual([]);
  });

  it("no credentials anywhere: exit 1 and the message lists the sources it tried", async () => {
    const env = hermeticEnv(tmp.path("nocreds"));
    const out = tmp.path("out/nocreds.wasm");
    const r = await runCli(["pull", `${reg.host}/auth/app:v1`, "-o", out, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(reg.host);
    // Docker config discovery was consulted and is named.
    expect(r.stderr).toMatch(/docker|config\.json/i);
    expect(existsSync(out)).toBe(false);
  });
});

describe.skipIf(!registryAvailable())("oci auth: token (Bearer realm, ES256 JWT)", () => {
  let reg: Registry;
  let open: Registry;
  let tmp: Tmp;
  let comp: Buffer;
  let compPath: string;
  const user = "carol";
  const pass = "carol-token-pw-9";
  const bot = "ci-bot";
  const botToken = "bot-token-abcdef123456";

  beforeAll(async () => {
    // `reg` refuses anonymous clients entirely, so a success proves the credential worked.
    reg = await startRegistry({ auth: "token", users: { [user]: pass, [bot]: botToken }, anonymous: "none" });
    open = await startRegistry({ auth: "token", users: { [user]: pass }, anonymous: "pull" });
    tmp = await makeTmp("oci-auth-token");
    comp = Buffer.from(await interfaceComponent());
    compPath = await writeFixture(tmp.dir, "in/app.wasm", comp);
  });

  afterAll(async () => {
    await reg?.stop();
    await open?.stop();
    await tmp?.cleanup();
  });

  const cfgFor = async (name: string, r: Registry, auth: Record<string, unknown>): Promise<string> =>
    writeJson(tmp.path(`${name}.json`), { registries: [{ name: "local", host: r.host, type: "oci", auth }] });

  it("basic_env: push then pull by tag and by digest; tokens are scoped to the repository", async () => {
    const cfg = await cfgFor("basic", reg, { type: "basic_env", username_env: "TOKEN_REG_USER", password_env: "TOKEN_REG_PASS" });
    const env = hermeticEnv(tmp.dir, { TOKEN_REG_USER: user, TOKEN_REG_PASS: pass });
    const p = await runCli(["push", compPath, `${reg.host}/tok/app:v1`, "--registry-config", cfg], { env });
    expect(p.code, p.stderr).toBe(0);
    const digest = firstDigest(p.stdout) as string;
    expect((await getManifest(reg, "tok/app", "v1")).digest).toBe(digest);
    const pushScopes = reg.tokenServer?.requests.flatMap((q) => q.granted) ?? [];
    expect(pushScopes.some((s) => s.name === "tok/app" && s.actions.includes("push"))).toBe(true);

    for (const ref of [`${reg.host}/tok/app:v1`, `${reg.host}/tok/app@${digest}`]) {
      const out = tmp.path("out", `${sha256(ref).slice(7, 15)}.wasm`);
      const r = await runCli(["pull", ref, "-o", out, "--registry-config", cfg, ...freshCacheArgs(tmp.dir)], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    }
  });

  it("caches the token per scope: one pull asks the realm at most twice while making several registry requests", async () => {
    const proxy = await startFaultProxy(reg.host);
    try {
      const cfg = await writeJson(tmp.path("cache-proxy.json"), {
        registries: [{ name: "local", host: proxy.host, type: "oci", auth: { type: "basic_env", username_env: "TOKEN_REG_USER", password_env: "TOKEN_REG_PASS" } }],
      });
      const env = hermeticEnv(tmp.dir, { TOKEN_REG_USER: user, TOKEN_REG_PASS: pass });
      const before = reg.tokenServer?.requests.length ?? 0;
      const out = tmp.path("out/cached-token.wasm");
      const r = await runCli(["pull", `${proxy.host}/tok/app:v1`, "-o", out, "--registry-config", cfg, ...freshCacheArgs(tmp.dir)], { env });
      expect(r.code, r.stderr).toBe(0);
      const tokenRequests = (reg.tokenServer?.requests.length ?? 0) - before;
      const authorized = proxy.requests.filter((q) => q.hasAuthorization);
      expect(authorized.length).toBeGreaterThanOrEqual(3); // manifest, config, layer
      expect(tokenRequests).toBeGreaterThanOrEqual(1);
      expect(tokenRequests).toBeLessThanOrEqual(2);
    } finally {
      await proxy.stop();
    }
  });

  it("--mount-from under token auth: asks for pull on the source repository so the registry really mounts (201)", async () => {
    const proxy = await startFaultProxy(reg.host);
    try {
      const cfg = await writeJson(tmp.path("mount-proxy.json"), {
        registries: [{ name: "local", host: proxy.host, type: "oci", auth: { type: "basic_env", username_env: "TOKEN_REG_USER", password_env: "TOKEN_REG_PASS" } }],
      });
      const env = hermeticEnv(tmp.dir, { TOKEN_REG_USER: user, TOKEN_REG_PASS: pass });
      const p = await runCli(["push", compPath, `${proxy.host}/tok/mounted:v1`, "--mount-from", "tok/app", "--registry-config", cfg], { env });
      expect(p.code, p.stderr).toBe(0);
      const mounts = proxy.matching("POST", /\/v2\/tok\/mounted\/blobs\/uploads\/\?.*mount=/).filter((q) => q.status !== 401);
      expect(mounts.length).toBeGreaterThan(0);
      expect(mounts.every((q) => q.status === 201), JSON.stringify(mounts.map((q) => [q.path, q.status]))).toBe(true);
      const scopes = reg.tokenServer?.requests.flatMap((q) => q.granted) ?? [];
      expect(scopes.some((g) => g.name === "tok/app" && g.actions.includes("pull"))).toBe(true);
    } finally {
      await proxy.stop();
    }
  });

  it("a blob redirect to another host carries no Bearer token", async () => {
    const ts = reg.tokenServer;
    if (ts === undefined) throw new Error("no token server");
    // The other host serves the blob with its own token, as storage behind a pre-signed URL would.
    const q = new URLSearchParams({ service: ts.service, scope: "repository:tok/app:pull" });
    const tr = await fetch(`${ts.realm}?${q.toString()}`, { headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` } });
    const storageToken = ((await tr.json()) as { token: string }).token;
    const other = await startRecordingServer({ upstream: reg.host, upstreamAuthorization: `Bearer ${storageToken}` });
    const proxy = await startFaultProxy(reg.host);
    try {
      proxy.setRules([{ method: "GET", path: /\/v2\/tok\/app\/blobs\/sha256:/, nth: "all", action: { kind: "redirect", status: 307, location: (p) => `${other.url}${p}` } }]);
      const cfg = await writeJson(tmp.path("redirect-proxy.json"), {
        registries: [{ name: "local", host: proxy.host, type: "oci", auth: { type: "basic_env", username_env: "TOKEN_REG_USER", password_env: "TOKEN_REG_PASS" } }],
      });
      const out = tmp.path("out/redirected.wasm");
      const r = await runCli(["pull", `${proxy.host}/tok/app:v1`, "-o", out, "--registry-config", cfg, ...freshCacheArgs(tmp.dir)], {
        env: hermeticEnv(tmp.dir, { TOKEN_REG_USER: user, TOKEN_REG_PASS: pass }),
      });
      expect(r.code, r.stderr).toBe(0);
      expect(bytesId(await readFile(out))).toBe(bytesId(comp));
      expect(proxy.matching("GET", /\/blobs\/sha256:/).some((x) => String(x.headers.authorization ?? "").startsWith("Bearer "))).toBe(true);
      expect(other.requests.length).toBeGreaterThanOrEqual(1);
      expect(other.requests.filter((x) => x.hasAuthorization)).toEqual([]);
    } finally {
      await proxy.stop();
      await other.stop();
    }
  });

  it("env token (type env, token_env + username) is used as the realm password", async () => {
    const cfg = await cfgFor("envtoken", reg, { type: "env", token_env: "BOT_TOKEN", username: bot });
    const env = hermeticEnv(tmp.dir, { BOT_TOKEN: botToken });
    const out = tmp.path("out/envtoken.wasm");
    const r = await runCli(["pull", `${reg.host}/tok/app:v1`, "-o", out, "--registry-config", cfg, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    expect(reg.tokenServer?.requests.some((q) => q.user === bot && q.status === 200)).toBe(true);
  });

  it("token_file: a token read from a file at execution time", async () => {
    const tokenPath = tmp.path("sa/token");
    await writeFixture(tmp.dir, "sa/token", Buffer.from(`${botToken}\n`));
    const cfg = await cfgFor("tokenfile", reg, { type: "token_file", path: tokenPath, username: bot });
    const out = tmp.path("out/tokenfile.wasm");
    const r = await runCli(["pull", `${reg.host}/tok/app:v1`, "-o", out, "--registry-config", cfg, ...freshCacheArgs(tmp.dir)], { env: hermeticEnv(tmp.dir) });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    expectNoSecret(r.stdout + r.stderr, bot, botToken);
  });

  it("oauth2_env with token_url: a client-credentials access token is accepted by the registry", async () => {
    const ts = reg.tokenServer;
    if (ts === undefined) throw new Error("no token server");
    const cfg = await cfgFor("oauth2", reg, {
      type: "oauth2_env",
      client_id_env: "OAUTH_CLIENT_ID",
      client_secret_env: "OAUTH_CLIENT_SECRET",
      token_url: ts.realm,
      scope: "repository:tok/app:pull",
    });
    const before = ts.requests.length;
    const out = tmp.path("out/oauth2.wasm");
    const r = await runCli(["pull", `${reg.host}/tok/app:v1`, "-o", out, "--registry-config", cfg, ...freshCacheArgs(tmp.dir)], {
      env: hermeticEnv(tmp.dir, { OAUTH_CLIENT_ID: bot, OAUTH_CLIENT_SECRET: botToken }),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    const grants = ts.requests.slice(before);
    expect(grants.some((q) => q.grant === "client_credentials" && q.user === bot && q.status === 200)).toBe(true);
    expectNoSecret(r.stdout + r.stderr, bot, botToken);
  });

  it("Docker config identitytoken: exchanged at the realm as a refresh token", async () => {
    const env = hermeticEnv(tmp.path("identity"));
    const refresh = reg.tokenServer?.issueRefreshToken(user) as string;
    await writeJson(`${env["DOCKER_CONFIG"]}/config.json`, { auths: { [reg.host]: { auth: Buffer.from("<token>:").toString("base64"), identitytoken: refresh } } });
    const out = tmp.path("out/identity.wasm");
    const r = await runCli(["pull", `${reg.host}/tok/app:v1`, "-o", out, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    expectNoSecret(r.stdout + r.stderr, user, refresh);
  });

  it("anonymous pull works where the realm grants pull; anonymous push is refused (exit 1)", async () => {
    const cfg = await cfgFor("open", open, { type: "basic_env", username_env: "TOKEN_REG_USER", password_env: "TOKEN_REG_PASS" });
    const p = await runCli(["push", compPath, `${open.host}/pub/app:v1`, "--registry-config", cfg], { env: hermeticEnv(tmp.dir, { TOKEN_REG_USER: user, TOKEN_REG_PASS: pass }) });
    expect(p.code, p.stderr).toBe(0);
    const env = hermeticEnv(tmp.path("anon"));
    const out = tmp.path("out/anon.wasm");
    const r = await runCli(["pull", `${open.host}/pub/app:v1`, "-o", out, ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
    expect(open.tokenServer?.requests.some((q) => q.grant === "anonymous" && q.granted.length > 0)).toBe(true);
    const denied = await runCli(["push", compPath, `${open.host}/pub/app:v2`], { env });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(open.host);
    expect((await getManifest(open, "pub/app", "v2")).status).not.toBe(200);
  });

  it("wrong password: exit 1, names the registry and the sources tried, no secret, no output file", async () => {
    const cfg = await cfgFor("wrong", reg, { type: "basic_env", username_env: "TOKEN_REG_USER", password_env: "TOKEN_REG_PASS" });
    const secret = "wrong-token-pw-777";
    const outDir = tmp.path("out/wrong");
    const r = await runCli(["pull", `${reg.host}/tok/app:v1`, "-o", `${outDir}/app.wasm`, "--registry-config", cfg, ...freshCacheArgs(tmp.dir)], {
      env: hermeticEnv(tmp.dir, { TOKEN_REG_USER: user, TOKEN_REG_PASS: secret }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(reg.host);
    expect(r.stderr).toMatch(/TOKEN_REG_USER|TOKEN_REG_PASS|basic_env/);
    expectNoSecret(r.stdout + r.stderr, user, secret);
    expect(await listFiles(outDir)).toEqual([]);
  });
});
