/**
 * A small Docker/OCI token server (the `realm` of a Bearer challenge) for tests, on loopback.
 *
 *   const ts = await startTokenServer({ users: { alice: "pw" }, anonymous: "pull", dir });
 *   // registry config: auth.token { realm: ts.realm, service: ts.service, issuer: ts.issuer,
 *   //                               rootcertbundle: ts.certPath }
 *   ts.requests   // every token request seen: method, grant, user, scopes, outcome
 *   ts.issueRefreshToken("alice")  // for Docker config `identitytoken` tests
 *   await ts.stop();
 *
 * It speaks both flavours a client may use:
 *  - GET  /token?service=S&scope=repository:NAME:pull,push[&offline_token=true] with optional
 *    Basic credentials: answers {token, access_token, expires_in, issued_at[, refresh_token]}.
 *  - POST /token (form) grant_type=password (username, password), grant_type=refresh_token
 *    (refresh_token) or grant_type=client_credentials (client_id/client_secret in the body or as
 *    Basic; users double as OAuth2 clients): answers {access_token, token, expires_in, scope[,
 *    refresh_token]}. The `scope` parameter may hold several space-separated scopes.
 * Bad credentials or an unknown refresh token get 401. Known users get every action their scope
 * asks for (unless `grant` says otherwise); anonymous requests get pull only or nothing
 * (`anonymous`).
 *
 * Tokens are ES256 JWTs signed with node:crypto, with the self-signed certificate in the `x5c`
 * header; the key and certificate are made with the `openssl` CLI into `dir`, and distribution
 * (docker-registry 2.8) verifies them against `rootcertbundle` = `certPath`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./processes.ts";

export interface TokenScope {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenRequestRecord {
  method: string;
  /** "basic" for GET with Basic auth, "anonymous" for GET without, else the POST grant_type. */
  grant: string;
  user: string | undefined;
  scopes: TokenScope[];
  service: string | undefined;
  /** HTTP status answered. */
  status: number;
  /** What was granted (empty when refused). */
  granted: TokenScope[];
}

export interface TokenServerOptions {
  /** Known users and their passwords. */
  users?: Record<string, string>;
  /** What an anonymous request may do: "pull" (default) or "none". */
  anonymous?: "pull" | "none";
  /** Directory for the key and certificate (must exist). */
  dir: string;
  service?: string;
  issuer?: string;
  /** Token lifetime; default 300 s. */
  ttlSeconds?: number;
  /** Override the default grant: return the actions granted for one scope. */
  grant?: (user: string | undefined, scope: TokenScope) => string[];
}

export interface TokenServer {
  url: string;
  /** `${url}/token` */
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  keyPath: string;
  requests: TokenRequestRecord[];
  /** Mints a refresh token for a known user, as an OAuth2 password grant with offline access would. */
  issueRefreshToken(user: string): string;
  stop(): Promise<void>;
}

/** Throws with an install hint when the openssl CLI is missing (`.ci/setup` installs it). */
async function makeKeyAndCert(dir: string): Promise<{ keyPath: string; certPath: string }> {
  const keyPath = join(dir, "token-key.pem");
  const certPath = join(dir, "token-cert.pem");
  const gen = await runCommand("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyPath], { timeoutMs: 20_000 }).catch(
    (e: unknown) => {
      throw new Error(`token server needs the openssl CLI (apt-get install -y openssl): ${String(e)}`);
    },
  );
  if (gen.code !== 0) throw new Error(`openssl ecparam failed: ${gen.stderr}`);
  const req = await runCommand(
    "openssl",
    [
      "req", "-x509", "-new", "-key", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=wasm-oci-test-token-issuer",
      "-addext", "keyUsage=critical,digitalSignature,keyCertSign", "-addext", "basicConstraints=critical,CA:TRUE",
    ],
    { timeoutMs: 20_000 },
  );
  if (req.code !== 0) throw new Error(`openssl req failed: ${req.stderr}`);
  return { keyPath, certPath };
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

export function parseScope(s: string): TokenScope | undefined {
  const parts = s.split(":");
  if (parts.length < 3) return undefined;
  const type = parts[0] ?? "";
  const actions = (parts[parts.length - 1] ?? "").split(",").filter((a) => a !== "");
  const name = parts.slice(1, -1).join(":");
  return { type, name, actions };
}

function signJwt(key: KeyObject, certDerB64: string, claims: Record<string, unknown>): string {
  const header = { typ: "JWT", alg: "ES256", x5c: [certDerB64] };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  // JWS wants the raw r||s form, not DER.
  const sig = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64url(sig)}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of req) {
    total += (c as Buffer).length;
    if (total > 1 << 20) throw new Error("token request body too large");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const users = opts.users ?? {};
  const service = opts.service ?? "wasm-oci-test-registry";
  const issuer = opts.issuer ?? "wasm-oci-test-token-issuer";
  const ttl = opts.ttlSeconds ?? 300;
  const { keyPath, certPath } = await makeKeyAndCert(opts.dir);
  const key = createPrivateKey(await readFile(keyPath));
  const certDerB64 = new X509Certificate(await readFile(certPath)).raw.toString("base64");
  const refreshTokens = new Map<string, string>();
  const requests: TokenRequestRecord[] = [];

  const grantFor = (user: string | undefined, scope: TokenScope): string[] => {
    if (opts.grant) return opts.grant(user, scope);
    if (user !== undefined) return scope.actions;
    return (opts.anonymous ?? "pull") === "pull" ? scope.actions.filter((a) => a === "pull") : [];
  };

  const issueRefreshToken = (user: string): string => {
    const t = `rt-${randomBytes(24).toString("hex")}`;
    refreshTokens.set(t, user);
    return t;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://token.local");
    if (url.pathname !== "/token") {
      res.writeHead(404).end();
      return;
    }
    let params: URLSearchParams;
    let grant: string;
    let user: string | undefined;
    let authOk = true;
    if (req.method === "POST") {
      params = new URLSearchParams(await readBody(req));
      grant = params.get("grant_type") ?? "";
      if (grant === "password") {
        user = params.get("username") ?? undefined;
        authOk = user !== undefined && users[user] !== undefined && users[user] === params.get("password");
      } else if (grant === "refresh_token") {
        user = refreshTokens.get(params.get("refresh_token") ?? "");
        authOk = user !== undefined;
      } else if (grant === "client_credentials") {
        // OAuth2 client credentials, in the body or as HTTP Basic (RFC 6749 section 2.3.1).
        let id = params.get("client_id") ?? undefined;
        let secret = params.get("client_secret") ?? undefined;
        const auth = req.headers.authorization;
        if (auth?.startsWith("Basic ")) {
          const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
          const i = decoded.indexOf(":");
          id = decodeURIComponent(i < 0 ? decoded : decoded.slice(0, i));
          secret = decodeURIComponent(i < 0 ? "" : decoded.slice(i + 1));
        }
        user = id;
        authOk = id !== undefined && users[id] !== undefined && users[id] === secret;
      } else {
        authOk = false;
      }
    } else if (req.method === "GET") {
      params = url.searchParams;
      const auth = req.headers.authorization;
      if (auth?.startsWith("Basic ")) {
        grant = "basic";
        const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
        const i = decoded.indexOf(":");
        user = i < 0 ? decoded : decoded.slice(0, i);
        const pass = i < 0 ? "" : decoded.slice(i + 1);
        // Clients may send a refresh token as the password of Basic auth (identity tokens).
        authOk = (users[user] !== undefined && users[user] === pass) || refreshTokens.get(pass) === user;
      } else {
        grant = "anonymous";
      }
    } else {
      res.writeHead(405).end();
      return;
    }
    const scopes = params
      .getAll("scope")
      .flatMap((s) => s.split(" "))
      .map(parseScope)
      .filter((s): s is TokenScope => s !== undefined);
    const record: TokenRequestRecord = {
      method: req.method,
      grant,
      user,
      scopes,
      service: params.get("service") ?? undefined,
      status: 0,
      granted: [],
    };
    requests.push(record);
    if (!authOk) {
      record.status = 401;
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "invalid credentials" }] }));
      return;
    }
    const granted = scopes
      .map((s) => ({ type: s.type, name: s.name, actions: grantFor(user, s) }))
      .filter((s) => s.actions.length > 0);
    record.granted = granted;
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(key, certDerB64, {
      iss: issuer,
      sub: user ?? "",
      aud: service,
      exp: now + ttl,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(12).toString("hex"),
      access: granted,
    });
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: ttl,
      issued_at: new Date(now * 1000).toISOString(),
    };
    const wantsRefresh =
      user !== undefined &&
      (params.get("offline_token") === "true" || params.get("access_type") === "offline" || grant === "refresh_token");
    if (wantsRefresh && user !== undefined) body["refresh_token"] = grant === "refresh_token" ? params.get("refresh_token") : issueRefreshToken(user);
    if (req.method === "POST") body["scope"] = params.getAll("scope").join(" ");
    record.status = 200;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    realm: `${url}/token`,
    service,
    issuer,
    certPath,
    keyPath,
    requests,
    issueRefreshToken,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
