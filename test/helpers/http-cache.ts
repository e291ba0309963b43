/**
 * A Bazel HTTP remote cache on loopback: Debian's nginx with WebDAV PUT (Bazel's HTTP cache
 * protocol is GET/PUT of /ac/<hash> and /cas/<hash>). Everything Bazel uploads lands as plain
 * files under `dir`, which the secret scans read.
 *
 *   const cache = await startHttpCache();   // cache.url for --remote_cache, cache.dir to scan
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { freePort, killGroup, spawnTracked, waitFor } from "./processes.ts";
import { makeTmp } from "./tmp.ts";

export const NGINX_BIN = process.env["WASM_OCI_TEST_NGINX_BIN"] ?? "/usr/sbin/nginx";

export function httpCacheAvailable(): boolean {
  return existsSync(NGINX_BIN);
}

export interface HttpCache {
  url: string;
  /** Where the uploaded entries are stored (ac/, cas/). */
  dir: string;
  /** Files the cache wrote besides the entries (nginx's logs). */
  logDir: string;
  stop(): Promise<void>;
}

export async function startHttpCache(): Promise<HttpCache> {
  const tmp = await makeTmp("http-cache");
  const dir = tmp.path("data");
  const logDir = tmp.path("logs");
  await mkdir(dir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  await mkdir(tmp.path("body"), { recursive: true });
  const port = await freePort();
  const conf = tmp.path("nginx.conf");
  await writeFile(
    conf,
    [
      // As root, nginx's workers would otherwise switch to nobody and not write the temp dir.
      process.getuid?.() === 0 ? "user root;" : "",
      "worker_processes 1;",
      `pid ${join(tmp.dir, "nginx.pid")};`,
      `error_log ${join(logDir, "error.log")} warn;`,
      "events { worker_connections 64; }",
      "http {",
      `  access_log ${join(logDir, "access.log")};`,
      `  client_body_temp_path ${tmp.path("body")};`,
      `  server {`,
      `    listen 127.0.0.1:${port};`,
      `    root ${dir};`,
      "    client_max_body_size 0;",
      "    dav_methods PUT;",
      "    create_full_put_path on;",
      "    dav_access user:rw;",
      "  }",
      "}",
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawnTracked(NGINX_BIN, ["-p", tmp.dir, "-c", conf, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr?.on("data", (b: Buffer) => {
    err = (err + b.toString("utf8")).slice(-16 * 1024);
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${err}`);
      return fetch(`${url}/`).then(
        () => true,
        () => false,
      );
    },
    `nginx HTTP cache on ${url}`,
    15_000,
  );
  return {
    url,
    dir,
    logDir,
    async stop() {
      await killGroup(child);
      await tmp.cleanup();
    },
  };
}
