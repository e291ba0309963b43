/**
 * A loopback HTTPS file server with a self-signed certificate (made with the `openssl` CLI), for
 * `https://` component references. The CLI trusts it through NODE_EXTRA_CA_CERTS=server.certPath.
 *
 *   const s = await startHttpsServer(tmpDir, { "/c/app.wasm": bytes });
 *   s.url("/c/app.wasm")   // https://127.0.0.1:PORT/c/app.wasm
 *   s.redirect("/moved.wasm", "http://127.0.0.1:1/x.wasm")
 *   s.requests            // ["GET /c/app.wasm", ...]
 */
import { createServer, type Server } from "node:https";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./processes.ts";

export interface HttpsServer {
  certPath: string;
  url(path: string): string;
  /** Serves `bytes` at `path` from now on. */
  put(path: string, bytes: Uint8Array): void;
  redirect(path: string, location: string): void;
  requests: string[];
  stop(): Promise<void>;
}

export async function startHttpsServer(dir: string, files: Record<string, Uint8Array> = {}): Promise<HttpsServer> {
  const keyPath = join(dir, "https-key.pem");
  const certPath = join(dir, "https-cert.pem");
  const gen = await runCommand(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
    { timeoutMs: 20_000 },
  );
  if (gen.code !== 0) throw new Error(`openssl req failed: ${gen.stderr}`);
  const content = new Map(Object.entries(files));
  const redirects = new Map<string, string>();
  const requests: string[] = [];
  const server: Server = createServer({ key: await readFile(keyPath), cert: await readFile(certPath) }, (req, res) => {
    const path = req.url ?? "/";
    requests.push(`${req.method} ${path}`);
    const to = redirects.get(path);
    if (to !== undefined) {
      res.writeHead(302, { location: to }).end();
      return;
    }
    const body = content.get(path);
    if (body === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "application/wasm", "content-length": String(body.length) }).end(Buffer.from(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return {
    certPath,
    url: (path) => `https://127.0.0.1:${port}${path}`,
    put: (path, bytes) => void content.set(path, bytes),
    redirect: (path, location) => void redirects.set(path, location),
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
