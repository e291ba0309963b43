/**
 * Every read is bounded (issue 12, findings 4 and 5):
 *  - remote: a huge error body or token response is read only up to its bound; the fault proxy's
 *    `stream` action records how much the client actually took (it writes as the client reads);
 *  - local: an OCI layout's index.json or manifest, or a cache entry, that is not a regular file
 *    (a symlink to /dev/zero, a FIFO) is refused at once instead of read forever or waited on.
 * Each CLI run has a short timeout: the old behaviour (read until memory or disk runs out, or hang
 * on the FIFO) shows up as a killed process, not as a long test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readFile, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { bytesId } from "../helpers/bytes.ts";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { runCli, hermeticEnv } from "../helpers/cli.ts";
import { makeTmp, writeJson, listFiles, type Tmp } from "../helpers/tmp.ts";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { interfaceComponent, writeFixture } from "../helpers/wasm-fixtures.ts";
import { writeRawLayout } from "../helpers/oci-layout.ts";
import { getManifest } from "../helpers/oci-http.ts";
import { runCommand } from "../helpers/processes.ts";

const HUGE = 128 * 1024 * 1024;
/** What a bounded reader may still have let through: its bound plus socket and stream buffers. */
const TAKEN_AT_MOST = 24 * 1024 * 1024;
const QUICK = 20_000;

async function mkfifo(path: string): Promise<void> {
  const r = await runCommand("mkfifo", [path], { timeoutMs: 5_000 });
  if (r.code !== 0) throw new Error(`mkfifo ${path}: ${r.stderr}`);
}

describe.skipIf(!registryAvailable())("bounded remote reads (finding 4)", () => {
  let reg: Registry;
  let proxy: FaultProxy;
  let tmp: Tmp;
  let cfg: string;
  let n = 0;

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.host);
    tmp = await makeTmp("oci-read-bounds-remote");
    cfg = await writeJson(tmp.path("registries.json"), {
      registries: [{ name: "p", host: proxy.host, type: "oci", auth: { type: "basic_env", username_env: "RB_USER", password_env: "RB_PASS" } }],
      retry: { max_attempts: 1, max_elapsed_seconds: 5 },
    });
  });

  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    await tmp?.cleanup();
  });

  const pull = (ref: string): ReturnType<typeof runCli> =>
    runCli(["pull", `${proxy.host}/${ref}`, "-o", tmp.path(`out-${++n}/app.wasm`), "--registry-config", cfg, "--cache-dir", tmp.path(`cache-${n}`)], {
      env: hermeticEnv(tmp.dir, { RB_USER: "u", RB_PASS: "p" }),
      timeoutMs: QUICK,
    });

  it("a 128 MiB error body is read only up to its bound; the error still quotes its start", async () => {
    proxy.setRules([{ method: "GET", path: /\/manifests\/v1$/, nth: "all", action: { kind: "stream", status: 404, bytes: HUGE } }]);
    const r = await pull("bounds/err:v1");
    const served = proxy.matching("GET", /\/manifests\/v1$/).reduce((a, q) => a + (q.sentBytes ?? 0), 0);
    expect(served).toBeLessThan(TAKEN_AT_MOST);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("HTTP 404");
    expect(r.stderr).toMatch(/xxxx/);
    expect(r.stderr.length).toBeLessThan(4096);
  });

  it("a 128 MiB token response is refused once it passes its bound", async () => {
    proxy.setRules([
      {
        method: "GET",
        path: /^\/v2\//,
        nth: "all",
        action: { kind: "status", status: 401, headers: { "www-authenticate": `Bearer realm="http://${proxy.host}/token",service="bounds"` } },
      },
      { method: "GET", path: /^\/token/, nth: "all", action: { kind: "stream", status: 200, bytes: HUGE, headers: { "content-type": "application/json" } } },
    ]);
    const r = await pull("bounds/token:v1");
    const served = proxy.matching("GET", /^\/token/).reduce((a, q) => a + (q.sentBytes ?? 0), 0);
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(TAKEN_AT_MOST);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/TOKEN_SERVICE/);
    expect(r.stderr).toMatch(/1 MiB/);
  });
});

describe("bounded local reads (finding 5): non-regular files are refused", () => {
  let tmp: Tmp;
  let wasm: Buffer;
  let n = 0;

  beforeAll(async () => {
    tmp = await makeTmp("oci-read-bounds-local");
    wasm = Buffer.from(await interfaceComponent());
  });
  afterAll(async () => {
    await tmp?.cleanup();
  });

  async function layout(): Promise<{ dir: string; manifestDigest: string }> {
    const dir = tmp.path(`layout-${++n}`);
    const { manifestDigest } = await writeRawLayout(dir, "v1", wasm);
    return { dir, manifestDigest };
  }

  const pullLayout = (dir: string): ReturnType<typeof runCli> => {
    const outDir = tmp.path(`out-${++n}`);
    return runCli(["pull", `oci-layout:${dir}:v1`, "-o", join(outDir, "app.wasm"), "--cache-dir", tmp.path(`cache-${n}`)], {
      env: hermeticEnv(tmp.dir),
      timeoutMs: QUICK,
    });
  };

  it("index.json that is a symlink to /dev/zero", async () => {
    const { dir } = await layout();
    await rm(join(dir, "index.json"));
    await symlink("/dev/zero", join(dir, "index.json"));
    const r = await pullLayout(dir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("index.json");
    expect(r.stderr).toMatch(/not a regular file/);
  });

  it("index.json that is a FIFO nobody writes to", async () => {
    const { dir } = await layout();
    await rm(join(dir, "index.json"));
    await mkfifo(join(dir, "index.json"));
    const r = await pullLayout(dir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/index\.json.*not a regular file/);
  });

  it("the manifest blob is a symlink to /dev/zero", async () => {
    const { dir, manifestDigest } = await layout();
    const path = join(dir, "blobs", "sha256", manifestDigest.slice(7));
    await rm(path);
    await symlink("/dev/zero", path);
    const r = await pullLayout(dir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(manifestDigest.slice(7));
    expect(r.stderr).toMatch(/not a regular file/);
  });

  it("a file:// reference to a FIFO or /dev/zero", async () => {
    const fifo = tmp.path(`url-fifo-${++n}.wasm`);
    await mkfifo(fifo);
    const pin = `@sha256:${"0".repeat(64)}`;
    for (const path of [fifo, "/dev/zero"]) {
      const r = await runCli(["pull", `file://${path}${pin}`, "-o", tmp.path(`out-${++n}`, "app.wasm")], { env: hermeticEnv(tmp.dir), timeoutMs: QUICK });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/not a regular file/);
    }
  });

  it("a symlink to a regular file is still read (Bazel hands layouts over as symlink trees)", async () => {
    const { dir } = await layout();
    const real = join(dir, "index.real.json");
    await runCommand("mv", [join(dir, "index.json"), real], { timeoutMs: 5_000 });
    await symlink(real, join(dir, "index.json"));
    const outDir = tmp.path(`out-${++n}`);
    const r = await runCli(["pull", `oci-layout:${dir}:v1`, "-o", join(outDir, "app.wasm"), "--cache-dir", tmp.path(`cache-${n}`)], { env: hermeticEnv(tmp.dir), timeoutMs: QUICK });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(join(outDir, "app.wasm")))).toBe(bytesId(wasm));
  });
});

describe.skipIf(!registryAvailable())("bounded cache reads (finding 5)", () => {
  let reg: Registry;
  let tmp: Tmp;
  let wasm: Buffer;
  let layerHex: string;
  let configHex: string;
  let n = 0;

  beforeAll(async () => {
    reg = await startRegistry();
    tmp = await makeTmp("oci-read-bounds-cache");
    wasm = Buffer.from(await interfaceComponent());
    const input = await writeFixture(tmp.dir, "in/app.wasm", wasm);
    const p = await runCli(["push", input, `${reg.host}/bounds/cached:v1`], { env: hermeticEnv(tmp.dir) });
    if (p.code !== 0) throw new Error(p.stderr);
    const m = (await getManifest(reg, "bounds/cached", "v1")).json as { config: { digest: string }; layers: Array<{ digest: string }> };
    layerHex = (m.layers[0]?.digest ?? "").slice(7);
    configHex = m.config.digest.slice(7);
  });
  afterAll(async () => {
    await reg?.stop();
    await tmp?.cleanup();
  });

  for (const [what, kind] of [
    ["the layer's entry is a FIFO", "layer-fifo"],
    ["the layer's entry is a symlink to /dev/zero", "layer-zero"],
    ["the config's entry is a symlink to /dev/zero", "config-zero"],
    ["the config's entry is a FIFO", "config-fifo"],
  ] as const) {
    it(`${what}: the entry is skipped and the blob fetched from the registry`, async () => {
      const cache = tmp.path(`cache-${++n}`);
      const blobs = join(cache, "blobs", "sha256");
      await mkdir(blobs, { recursive: true });
      const entry = join(blobs, kind.startsWith("layer") ? layerHex : configHex);
      if (kind.endsWith("fifo")) await mkfifo(entry);
      else await symlink("/dev/zero", entry);
      const outDir = tmp.path(`out-${n}`);
      const r = await runCli(["pull", `${reg.host}/bounds/cached:v1`, "-o", join(outDir, "app.wasm"), "--cache-dir", cache], { env: hermeticEnv(tmp.dir), timeoutMs: QUICK });
      expect(r.code, r.stderr).toBe(0);
      expect(bytesId(await readFile(join(outDir, "app.wasm")))).toBe(bytesId(wasm));
      expect(await listFiles(outDir)).toEqual(["app.wasm"]);
    });
  }
});
