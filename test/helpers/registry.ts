/**
 * A real OCI registry for tests and benchmarks: Debian's `docker-registry` (CNCF distribution
 * 2.8.2, facts.md section 5) on a free loopback port, with filesystem storage in a temp dir.
 *
 *   const reg = await startRegistry();                       // no auth
 *   const reg = await startRegistry({ auth: "htpasswd" });   // bcrypt htpasswd; reg.username/password
 *   const reg = await startRegistry({ auth: "token", anonymous: "none" }); // Bearer via reg.tokenServer
 *   reg.host   // "127.0.0.1:PORT"      reg.url  // "http://127.0.0.1:PORT"
 *   await reg.stop();                     // kills the process group, removes dataDir
 *
 * Each suite starts its own registry in beforeAll and stops it in afterAll; an exit hook kills any
 * registry a crashed test process left behind. Needs /usr/bin/docker-registry (apt-get install -y
 * docker-registry) and, for htpasswd mode, `htpasswd` (apt-get install -y apache2-utils); token
 * mode needs `openssl`. `registryAvailable()` tells a suite whether to skip.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { freePort, killGroup, runCommand, spawnTracked, waitFor } from "./processes.ts";
import { startTokenServer, type TokenServer } from "./token-server.ts";

export const REGISTRY_BIN = process.env["WASM_OCI_TEST_REGISTRY_BIN"] ?? "/usr/bin/docker-registry";

export interface RegistryOptions {
  auth?: "none" | "htpasswd" | "token";
  /** htpasswd and token modes: known users. Default: one random user (`username`/`password`). */
  users?: Record<string, string>;
  /** token mode: what anonymous clients get ("pull" default, or "none"). */
  anonymous?: "pull" | "none";
  /** Milliseconds to wait for /v2/ to answer; default 20 s. */
  startTimeoutMs?: number;
}

export interface Registry {
  /** "127.0.0.1:PORT", as used in references. */
  host: string;
  port: number;
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** The first user, when auth is on. */
  username?: string;
  password?: string;
  users: Record<string, string>;
  auth: "none" | "htpasswd" | "token";
  /** Storage root and config live under here; removed by stop(). */
  dataDir: string;
  tokenServer?: TokenServer;
  /** The registry process's stderr so far (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

export function registryAvailable(): boolean {
  return existsSync(REGISTRY_BIN);
}

function randomSecret(): string {
  return `pw-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
}

async function htpasswdLines(users: Record<string, string>): Promise<string> {
  const lines: string[] = [];
  for (const [user, pass] of Object.entries(users)) {
    // -B: distribution accepts bcrypt only (facts.md section 5). -i reads the password from stdin
    // so it never appears in a process listing.
    const r = await runCommand("htpasswd", ["-niB", user], { input: `${pass}\n`, timeoutMs: 20_000 }).catch((e: unknown) => {
      throw new Error(`htpasswd mode needs the htpasswd CLI (apt-get install -y apache2-utils): ${String(e)}`);
    });
    if (r.code !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    lines.push(r.stdout.trim());
  }
  return `${lines.join("\n")}\n`;
}

function configYaml(port: number, storageDir: string, authYaml: string): string {
  // JSON strings are valid YAML scalars, which keeps paths with odd characters safe.
  const q = (s: string): string => JSON.stringify(s);
  return [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${q(storageDir)}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: ${q(`127.0.0.1:${port}`)}`,
    authYaml,
  ].join("\n");
}

async function launch(configPath: string, url: string, timeoutMs: number): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawnTracked(REGISTRY_BIN, ["serve", configPath], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr?.on("data", (b: Buffer) => {
    // Bounded: a chatty registry must not grow memory without limit.
    err = (err + b.toString("utf8")).slice(-64 * 1024);
  });
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error("exited");
        const r = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2_000) });
        await r.arrayBuffer();
        // 401 is "up" too: auth modes challenge /v2/.
        return r.status === 200 || r.status === 401;
      },
      `docker-registry at ${url}`,
      timeoutMs,
    ).catch(async (e: unknown) => {
      // Give stderr a moment to arrive when the process died.
      await new Promise((r) => setTimeout(r, 50));
      if (exited) throw new Error(`docker-registry exited before answering: ${err}`);
      throw e;
    });
  } catch (e) {
    await killGroup(child);
    throw e;
  }
  return { child, stderr: () => err };
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  if (!registryAvailable()) {
    throw new Error(`${REGISTRY_BIN} not found: apt-get install -y docker-registry (or run .ci/setup)`);
  }
  const auth = opts.auth ?? "none";
  const dataDir = await mkdtemp(join(tmpdir(), "wasm-oci-registry-"));
  const storageDir = join(dataDir, "storage");
  await mkdir(storageDir);
  const users = auth === "none" ? {} : (opts.users ?? { testuser: randomSecret() });
  let tokenServer: TokenServer | undefined;
  let authYaml = "";
  try {
    if (auth === "htpasswd") {
      const path = join(dataDir, "htpasswd");
      await writeFile(path, await htpasswdLines(users), { mode: 0o600 });
      authYaml = ["auth:", "  htpasswd:", "    realm: wasm-oci-test", `    path: ${JSON.stringify(path)}`].join("\n");
    } else if (auth === "token") {
      tokenServer = await startTokenServer({ users, anonymous: opts.anonymous ?? "pull", dir: dataDir });
      authYaml = [
        "auth:",
        "  token:",
        `    realm: ${JSON.stringify(tokenServer.realm)}`,
        `    service: ${JSON.stringify(tokenServer.service)}`,
        `    issuer: ${JSON.stringify(tokenServer.issuer)}`,
        `    rootcertbundle: ${JSON.stringify(tokenServer.certPath)}`,
      ].join("\n");
    }
    const timeoutMs = opts.startTimeoutMs ?? 20_000;
    const configPath = join(dataDir, "config.yml");
    // The port may be taken between freePort() and the registry's bind: retry a few times.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      await writeFile(configPath, `${configYaml(port, storageDir, authYaml)}\n`);
      const url = `http://127.0.0.1:${port}`;
      try {
        const { child, stderr } = await launch(configPath, url, timeoutMs);
        const [username, password] = Object.entries(users)[0] ?? [];
        const ts = tokenServer;
        return {
          host: `127.0.0.1:${port}`,
          port,
          url,
          ...(username !== undefined ? { username, password } : {}),
          users,
          auth,
          dataDir,
          ...(ts ? { tokenServer: ts } : {}),
          logs: stderr,
          async stop() {
            await killGroup(child);
            await ts?.stop();
            await rm(dataDir, { recursive: true, force: true });
          },
        };
      } catch (e) {
        if (attempt < 5 && /address already in use/i.test(String(e))) continue;
        throw e;
      }
    }
  } catch (e) {
    await tokenServer?.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}
