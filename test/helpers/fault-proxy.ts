/**
 * A loopback HTTP proxy in front of a registry that records every request and injects faults.
 * Point the client at `proxy.host` instead of the registry's host; the Host header is passed
 * through unchanged, so the registry's upload `Location`s point back at the proxy too.
 *
 *   const proxy = await startFaultProxy(reg.host);
 *   proxy.setRules([
 *     { method: "GET", path: /\/manifests\//, nth: 1, action: { kind: "status", status: 503 } },
 *     { method: "GET", path: /\/blobs\/sha256:/, action: { kind: "reset", afterBytes: 65536 } },
 *     { path: /\/blobs\//, nth: "all", action: { kind: "corrupt" } },
 *   ]);
 *   proxy.requests        // [{ seq, method, path, headers, status, fault, ... }] in arrival order
 *   proxy.clear();        // forget the log and the rules' occurrence counters
 *
 * Rules match on method (optional) and a path regex (path includes the query). `nth` picks which
 * matching occurrences get the fault: 1-based number, list of numbers, or "all"; default 1 (the
 * first match only, i.e. "fail once, then pass"). The first rule whose occurrence is selected wins.
 *
 * Actions:
 *  - status:   answer with this status (and headers/body) without contacting the registry,
 *              e.g. 503, or 429 with { "retry-after": "2" }.
 *  - reset:    forward, send the headers and `afterBytes` of the body, then a TCP reset.
 *  - truncate: forward, send the headers (with the full Content-Length) and `afterBytes` of the
 *              body, then close the connection cleanly.
 *  - corrupt:  forward with the same length but one byte changed at `offset` (default: middle).
 *  - redirect: answer `status` (default 307) with Location = `location(path)`.
 *  - delay:    wait `ms`, then forward normally.
 *  - headers:  forward normally, adding (or replacing) these response headers, e.g.
 *              { "oci-chunk-min-length": "41943040" } on an upload POST; a function gets the
 *              upstream's headers (e.g. to rewrite its Location to another host).
 *  - stream:   answer `status` with `headers` and a body of `bytes` bytes ("x"), written in
 *              64 KiB pieces as the client reads them, or `bytesPerSecond` at a time once a
 *              second; stops when the client goes away. `rec.sentBytes` is what was written:
 *              a client that bounds its read stops it early. Content-Length is `bytes`.
 *
 * `startRecordingServer()` is the "other host" for redirect tests: it records whether requests
 * carried an Authorization header and, like blob storage behind a pre-signed URL, serves them from
 * an upstream with its OWN credentials (`upstreamAuthorization`), never the client's.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect as netConnect, type Socket } from "node:net";

export type FaultAction =
  | { kind: "status"; status: number; headers?: Record<string, string> | (() => Record<string, string>); body?: string | Uint8Array }
  | { kind: "reset"; afterBytes: number }
  | { kind: "truncate"; afterBytes: number }
  | { kind: "corrupt"; offset?: number }
  | { kind: "redirect"; location: (path: string) => string; status?: 301 | 302 | 303 | 307 | 308 }
  | { kind: "delay"; ms: number }
  | { kind: "headers"; headers: Record<string, string> | ((upstream: IncomingHttpHeaders) => Record<string, string>) }
  | { kind: "stream"; status: number; headers?: Record<string, string>; bytes: number; bytesPerSecond?: number };

export interface FaultRule {
  method?: string;
  path: RegExp;
  nth?: number | number[] | "all";
  action: FaultAction;
}

export interface ProxiedRequest {
  seq: number;
  /** ms since epoch when the request arrived. */
  time: number;
  method: string;
  /** Path and query. */
  path: string;
  headers: IncomingHttpHeaders;
  hasAuthorization: boolean;
  /** Status the client received (0 when the connection was cut before headers). */
  status: number;
  /** The fault applied, if any ("status:503", "reset", ...). */
  fault?: string;
  /** Upstream response Content-Length, when known. */
  upstreamLength?: number;
  /** Body bytes written to the client by a `stream` action (updated while it runs). */
  sentBytes?: number;
}

export interface FaultProxy {
  /** "127.0.0.1:PORT" */
  host: string;
  port: number;
  url: string;
  target: string;
  requests: ProxiedRequest[];
  setRules(rules: FaultRule[]): void;
  addRule(rule: FaultRule): void;
  /** Clears the request log, the rules and their counters. */
  clear(): void;
  /** Requests whose method matches and whose path matches the regex. */
  matching(method: string | undefined, path: RegExp): ProxiedRequest[];
  stop(): Promise<void>;
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  return sockets;
}

async function listenLoopback(server: Server, port = 0, host = "127.0.0.1"): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  return typeof addr === "object" && addr !== null ? addr.port : 0;
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function hopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"].includes(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Forwards `req` to `target` ("host:port"); resolves with the upstream response. */
function forward(
  req: IncomingMessage,
  target: string,
  headers: Record<string, string | string[]>,
  onError: (e: Error) => void,
): Promise<IncomingMessage> {
  const [hostname, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
  return new Promise<IncomingMessage>((resolve) => {
    const up = httpRequest({ hostname, port, method: req.method, path: req.url, headers, timeout: 60_000 }, resolve);
    up.on("error", onError);
    up.on("timeout", () => up.destroy(new Error("upstream timeout")));
    req.pipe(up);
  });
}

const STREAM_PIECE = 64 * 1024;

/** Writes `action.bytes` of "x" as the client takes them (or throttled); bounded by `bytes`, stops on close. */
async function streamBody(res: ServerResponse, action: Extract<FaultAction, { kind: "stream" }>, sent: (n: number) => void): Promise<void> {
  res.writeHead(action.status, { "content-length": String(action.bytes), ...(action.headers ?? {}) });
  let closed = false;
  res.on("close", () => {
    closed = true;
  });
  const piece = Buffer.alloc(Math.min(STREAM_PIECE, action.bytes), "x");
  let left = action.bytes;
  while (left > 0 && !closed) {
    if (action.bytesPerSecond !== undefined) {
      const n = Math.min(action.bytesPerSecond, left);
      res.write(piece.subarray(0, n));
      sent(n);
      left -= n;
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    const n = Math.min(piece.length, left);
    const more = res.write(piece.subarray(0, n));
    sent(n);
    left -= n;
    if (!more) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
  if (!closed) res.end();
}

export interface FaultProxyOptions {
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP, as a TLS-terminating proxy. */
  tls?: { key: string; cert: string };
}

export async function startFaultProxy(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  let rules: Array<{ rule: FaultRule; seen: number }> = [];
  const requests: ProxiedRequest[] = [];
  let seq = 0;

  const pick = (method: string, path: string): FaultAction | undefined => {
    let chosen: FaultAction | undefined;
    for (const r of rules) {
      if (r.rule.method !== undefined && r.rule.method.toUpperCase() !== method) continue;
      if (!r.rule.path.test(path)) continue;
      r.seen++;
      const nth = r.rule.nth ?? 1;
      const hit = nth === "all" || (Array.isArray(nth) ? nth.includes(r.seen) : nth === r.seen);
      if (hit && chosen === undefined) chosen = r.rule.action;
    }
    return chosen;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? "GET").toUpperCase();
    const path = req.url ?? "/";
    const rec: ProxiedRequest = {
      seq: ++seq,
      time: Date.now(),
      method,
      path,
      headers: { ...req.headers },
      hasAuthorization: req.headers.authorization !== undefined,
      status: 0,
    };
    requests.push(rec);
    const action = pick(method, path);
    if (action?.kind === "status") {
      rec.fault = `status:${action.status}`;
      rec.status = action.status;
      req.resume();
      const body = action.body ?? "";
      // A function is called when the fault is served, so a header can depend on that moment.
      const headers = typeof action.headers === "function" ? action.headers() : (action.headers ?? {});
      res.writeHead(action.status, { "content-length": String(Buffer.byteLength(body)), ...headers });
      res.end(body);
      return;
    }
    if (action?.kind === "redirect") {
      const status = action.status ?? 307;
      rec.fault = `redirect:${status}`;
      rec.status = status;
      req.resume();
      res.writeHead(status, { location: action.location(path), "content-length": "0" });
      res.end();
      return;
    }
    if (action?.kind === "stream") {
      rec.fault = `stream:${action.status}`;
      rec.status = action.status;
      rec.sentBytes = 0;
      req.resume();
      await streamBody(res, action, (n) => {
        rec.sentBytes = (rec.sentBytes ?? 0) + n;
      });
      return;
    }
    if (action?.kind === "delay") {
      rec.fault = `delay:${action.ms}`;
      await new Promise((r) => setTimeout(r, action.ms));
    }
    const upstream = await forward(req, target, hopByHop(req.headers), (e) => {
      if (!res.headersSent) {
        rec.status = 502;
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`fault-proxy: upstream error: ${e.message}`);
      } else {
        res.destroy();
      }
    });
    const status = upstream.statusCode ?? 502;
    const len = upstream.headers["content-length"];
    if (len !== undefined) rec.upstreamLength = Number(len);
    const headers = hopByHop(upstream.headers);
    if (action?.kind === "headers") {
      rec.fault = "headers";
      Object.assign(headers, typeof action.headers === "function" ? action.headers(upstream.headers) : action.headers);
    }
    if (action?.kind === "reset" || action?.kind === "truncate") {
      rec.fault = action.kind;
      rec.status = status;
      res.writeHead(status, headers);
      let sent = 0;
      let cut = false;
      const socket = res.socket;
      const cutNow = (): void => {
        if (cut) return;
        cut = true;
        upstream.destroy();
        if (socket === null) return;
        if (action.kind === "reset") socket.resetAndDestroy();
        else socket.end();
      };
      upstream.on("data", (chunk: Buffer) => {
        if (cut) return;
        const room = action.afterBytes - sent;
        if (chunk.length < room) {
          sent += chunk.length;
          res.write(chunk);
          return;
        }
        if (room > 0) res.write(chunk.subarray(0, room));
        sent += room;
        // Let the partial body reach the client before the connection is cut.
        setTimeout(cutNow, 50);
      });
      upstream.on("end", () => setTimeout(cutNow, 50));
      return;
    }
    rec.status = status;
    res.writeHead(status, headers);
    if (action?.kind === "corrupt") {
      rec.fault = "corrupt";
      const total = len !== undefined ? Number(len) : undefined;
      const offset = action.offset ?? (total !== undefined ? Math.floor(total / 2) : 0);
      let pos = 0;
      upstream.on("data", (chunk: Buffer) => {
        if (offset >= pos && offset < pos + chunk.length) {
          const copy = Buffer.from(chunk);
          copy[offset - pos] = (copy[offset - pos] ?? 0) ^ 0xff;
          res.write(copy);
        } else {
          res.write(chunk);
        }
        pos += chunk.length;
      });
      upstream.on("end", () => res.end());
      upstream.on("error", () => res.destroy());
      return;
    }
    upstream.pipe(res);
    upstream.on("error", () => res.destroy());
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // A TLS-terminating proxy tells the registry the client's scheme, so its Locations say https.
    if (options.tls !== undefined) req.headers["x-forwarded-proto"] = "https";
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(`fault-proxy: ${String(e)}`);
    });
  };
  const server: Server = options.tls !== undefined ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest) : createServer(onRequest);
  const sockets = track(server);
  const port = await listenLoopback(server);
  const host = `127.0.0.1:${port}`;
  return {
    host,
    port,
    url: `${options.tls !== undefined ? "https" : "http"}://${host}`,
    target,
    requests,
    setRules(next) {
      rules = next.map((rule) => ({ rule, seen: 0 }));
    },
    addRule(rule) {
      rules.push({ rule, seen: 0 });
    },
    clear() {
      rules = [];
      requests.length = 0;
    },
    matching(method, path) {
      return requests.filter((r) => (method === undefined || r.method === method.toUpperCase()) && path.test(r.path));
    },
    async stop() {
      await closeServer(server, sockets);
    },
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  hasAuthorization: boolean;
}

export interface RecordingServer {
  /** Port on loopback; reachable as 127.0.0.1:PORT and, when IPv6 loopback exists, [::1]:PORT. */
  port: number;
  /** "localhost:PORT": a different host name (and port) from the registry's 127.0.0.1. */
  host: string;
  url: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

/**
 * The other end of a cross-host redirect. Records every request; when `upstream` ("host:port")
 * is given, serves the request from it with `upstreamAuthorization` (the server's own credential),
 * else answers 404.
 */
export async function startRecordingServer(
  opts: {
    upstream?: string;
    upstreamAuthorization?: string;
    /** Answers a request itself (return true), e.g. a 401 challenge; else the default applies. */
    respond?: (req: IncomingMessage, res: ServerResponse) => boolean;
  } = {},
): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    requests.push({
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: { ...req.headers },
      hasAuthorization: req.headers.authorization !== undefined,
    });
    if (opts.respond?.(req, res) === true) return;
    if (opts.upstream === undefined) {
      req.resume();
      res.writeHead(404, { "content-length": "0" }).end();
      return;
    }
    const headers = hopByHop(req.headers);
    delete headers["authorization"];
    headers["host"] = opts.upstream;
    if (opts.upstreamAuthorization !== undefined) headers["authorization"] = opts.upstreamAuthorization;
    void forward(req, opts.upstream, headers, () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    }).then((up) => {
      res.writeHead(up.statusCode ?? 502, hopByHop(up.headers));
      up.pipe(res);
    });
  };
  const v4 = createServer(handler);
  const v4Sockets = track(v4);
  const port = await listenLoopback(v4);
  // "localhost" may resolve to ::1 first; answer there too when the machine has IPv6 loopback.
  const v6 = createServer(handler);
  const v6Sockets = track(v6);
  const v6Up = await listenLoopback(v6, port, "::1").then(
    () => true,
    () => false,
  );
  return {
    port,
    host: `localhost:${port}`,
    url: `http://localhost:${port}`,
    requests,
    async stop() {
      await closeServer(v4, v4Sockets);
      if (v6Up) await closeServer(v6, v6Sockets);
    },
  };
}

export interface ForwardProxy {
  /** "http://127.0.0.1:PORT", for HTTP_PROXY. */
  url: string;
  port: number;
  /** Absolute URLs requested through the proxy, or "host:port" for CONNECT tunnels, in order. */
  requests: Array<{ method: string; url: string }>;
  stop(): Promise<void>;
}

/**
 * A plain forward HTTP proxy (absolute-URI requests, as clients send when HTTP_PROXY is set), for
 * checking that a client honours HTTP_PROXY / NO_PROXY. Forwards to the requested host and records
 * every URL (for CONNECT tunnels: "host:port"). `hosts` maps "name:port" to a loopback
 * "127.0.0.1:port", so a test can give a loopback server a public-looking name (and so HTTPS)
 * without touching DNS: `{ "registry.test:443": proxy.host }`.
 */
export async function startForwardProxy(opts: { hosts?: Record<string, string> } = {}): Promise<ForwardProxy> {
  const mapped = (hostPort: string): string => opts.hosts?.[hostPort] ?? hostPort;
  const requests: Array<{ method: string; url: string }> = [];
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    requests.push({ method: req.method ?? "GET", url });
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      res.writeHead(400).end("forward proxy: expected an absolute URI");
      return;
    }
    const headers = hopByHop(req.headers);
    delete headers["proxy-authorization"];
    const to = mapped(`${target.hostname}:${target.port || 80}`);
    const toColon = to.lastIndexOf(":");
    const up = httpRequest({ hostname: to.slice(0, toColon).replace(/^\[|\]$/g, ""), port: Number(to.slice(toColon + 1)), method: req.method, path: `${target.pathname}${target.search}`, headers, timeout: 60_000 }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, hopByHop(upRes.headers));
      upRes.pipe(res);
    });
    up.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502).end(`forward proxy: ${e.message}`);
      else res.destroy();
    });
    req.pipe(up);
  });
  // Clients such as undici tunnel even plain-HTTP requests through CONNECT.
  server.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const target = mapped(req.url ?? "");
    requests.push({ method: "CONNECT", url: req.url ?? "" });
    const colon = target.lastIndexOf(":");
    const upstream = netConnect({ host: target.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(target.slice(colon + 1)) }, () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", () => socket.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"));
    socket.on("error", () => upstream.destroy());
    socket.on("close", () => upstream.destroy());
  });
  const sockets = track(server);
  const port = await listenLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    stop: () => closeServer(server, sockets),
  };
}
