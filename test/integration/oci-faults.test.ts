/**
 * Transfer faults injected by test/helpers/fault-proxy.ts between wasm-oci and the real registry
 * (htpasswd, so there is an Authorization header to protect): 503 then success, 429 with
 * Retry-After, a reset in the middle of a blob, a truncated body, wrong blob bytes (fatal digest
 * error, no output), a cross-host redirect (Authorization must not follow), and bounded retries.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bytesId } from "../helpers/bytes.ts";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { runCli, hermeticEnv, freshCacheArgs } from "../helpers/cli.ts";
import { makeTmp, writeJson, listFiles, type Tmp } from "../helpers/tmp.ts";
import { startFaultProxy, startRecordingServer, type FaultProxy, type RecordingServer } from "../helpers/fault-proxy.ts";
import { paddedComponent, writeFixture } from "../helpers/wasm-fixtures.ts";
import { pushRawArtifact, getManifest } from "../helpers/oci-http.ts";

const MAX_ATTEMPTS = 4;

describe.skipIf(!registryAvailable())("oci faults through a fault-injecting proxy", () => {
  let reg: Registry;
  let proxy: FaultProxy;
  let other: RecordingServer;
  let tmp: Tmp;
  let env: Record<string, string | undefined>;
  let cfg: string;
  let blob: Buffer;
  let manifestDigest: string;
  let layerDigest: string;
  let n = 0;

  beforeAll(async () => {
    reg = await startRegistry({ auth: "htpasswd", users: { faulty: "fault-pw-31337" } });
    proxy = await startFaultProxy(reg.host);
    // The "other host" answers as blob storage would: with its own credential, not the client's.
    other = await startRecordingServer({ upstream: reg.host, upstreamAuthorization: `Basic ${Buffer.from("faulty:fault-pw-31337").toString("base64")}` });
    tmp = await makeTmp("oci-faults");
    env = hermeticEnv(tmp.dir, { FAULT_USER: "faulty", FAULT_PASS: "fault-pw-31337" });
    cfg = await writeJson(tmp.path("registries.json"), {
      registries: [{ name: "proxied", host: proxy.host, type: "oci", auth: { type: "basic_env", username_env: "FAULT_USER", password_env: "FAULT_PASS" } }],
      default_registry: "proxied",
      timeout_seconds: 20,
      retry: { max_attempts: MAX_ATTEMPTS, max_elapsed_seconds: 30 },
    });
    blob = await paddedComponent(1, "faults");
    const pushed = await pushRawArtifact(reg, "faults/app", "v1", blob);
    manifestDigest = pushed.digest;
    layerDigest = pushed.layerDigest;
  });

  afterAll(async () => {
    await proxy?.stop();
    await other?.stop();
    await reg?.stop();
    await tmp?.cleanup();
  });

  beforeEach(() => proxy.clear());

  const layerPath = (): RegExp => new RegExp(`/v2/faults/app/blobs/${layerDigest}`);
  /** Pulls into a fresh directory, with --metadata into the same directory (so "nothing left" covers it). */
  const pull = async (ref = `${proxy.host}/faults/app:v1`, extra: string[] = []): Promise<{ code: number; stderr: string; out: string; outDir: string }> => {
    const outDir = tmp.path(`out-${++n}`);
    const out = `${outDir}/app.wasm`;
    extra = [...extra, "--metadata", `${outDir}/app.metadata.json`];
    const cache = extra.includes("--cache-dir") ? [] : freshCacheArgs(tmp.dir);
    const r = await runCli(["pull", ref, "-o", out, "--registry-config", cfg, ...cache, ...extra], { env, timeoutMs: 90_000 });
    return { code: r.code, stderr: r.stderr, out, outDir };
  };

  it("503 on the manifest, then success", async () => {
    proxy.setRules([{ method: "GET", path: /\/manifests\/v1$/, nth: 1, action: { kind: "status", status: 503 } }]);
    const r = await pull();
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(r.out))).toBe(bytesId(blob));
    const gets = proxy.matching("GET", /\/manifests\/v1$/).filter((q) => q.status !== 401);
    expect(gets[0]?.fault).toBe("status:503");
    expect(gets.length).toBeGreaterThanOrEqual(2);
  });

  it("503 on the blob, then success", async () => {
    proxy.setRules([{ method: "GET", path: layerPath(), nth: 1, action: { kind: "status", status: 503 } }]);
    const r = await pull();
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(r.out))).toBe(bytesId(blob));
    expect(proxy.matching("GET", layerPath()).length).toBeGreaterThanOrEqual(2);
  });

  it("429 with Retry-After: 2 is honoured before the retry", async () => {
    proxy.setRules([{ method: "GET", path: layerPath(), nth: 1, action: { kind: "status", status: 429, headers: { "retry-after": "2" } } }]);
    const r = await pull();
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(r.out))).toBe(bytesId(blob));
    const gets = proxy.matching("GET", layerPath());
    expect(gets[0]?.fault).toBe("status:429");
    const gap = (gets[1]?.time ?? 0) - (gets[0]?.time ?? 0);
    expect(gap).toBeGreaterThanOrEqual(1_900);
  });

  it("429 with Retry-After as an HTTP date is honoured too", async () => {
    // The date is taken when the 429 is served: taken earlier, a slow CLI start-up would eat it.
    const retryAt = (): Record<string, string> => ({ "retry-after": new Date(Date.now() + 3_000).toUTCString() });
    proxy.setRules([{ method: "GET", path: layerPath(), nth: 1, action: { kind: "status", status: 429, headers: retryAt } }]);
    const r = await pull();
    expect(r.code, r.stderr).toBe(0);
    const gets = proxy.matching("GET", layerPath());
    expect(gets[0]?.fault).toBe("status:429");
    // HTTP dates have one-second resolution: at least 1 s of the 2-3 s asked for.
    expect((gets[1]?.time ?? 0) - (gets[0]?.time ?? 0)).toBeGreaterThanOrEqual(1_000);
  });

  it("a connection reset in the middle of the blob is retried and the result is intact", async () => {
    proxy.setRules([{ method: "GET", path: layerPath(), nth: 1, action: { kind: "reset", afterBytes: 256 * 1024 } }]);
    const r = await pull();
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(r.out))).toBe(bytesId(blob));
    const gets = proxy.matching("GET", layerPath());
    expect(gets[0]?.fault).toBe("reset");
    expect(gets.length).toBeGreaterThanOrEqual(2);
  });

  it("a truncated body is detected and retried", async () => {
    proxy.setRules([{ method: "GET", path: layerPath(), nth: 1, action: { kind: "truncate", afterBytes: 300_000 } }]);
    const r = await pull();
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(r.out))).toBe(bytesId(blob));
    expect(proxy.matching("GET", layerPath()).length).toBeGreaterThanOrEqual(2);
  });

  it("a body truncated every time fails after a bounded number of attempts, leaving nothing", async () => {
    proxy.setRules([{ method: "GET", path: layerPath(), nth: "all", action: { kind: "truncate", afterBytes: 100_000 } }]);
    const t0 = Date.now();
    const r = await pull();
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(60_000);
    const attempts = proxy.matching("GET", layerPath()).length;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(MAX_ATTEMPTS);
    expect(await listFiles(r.outDir)).toEqual([]);
  });

  it("wrong bytes for a blob: fatal digest error, exit 1, no output file, nothing cached", async () => {
    const cache = tmp.path("cache-corrupt");
    proxy.setRules([{ method: "GET", path: layerPath(), nth: "all", action: { kind: "corrupt" } }]);
    const r = await pull(`${proxy.host}/faults/app@${manifestDigest}`, ["--cache-dir", cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/digest/i);
    expect(r.stderr).toContain(layerDigest);
    expect(existsSync(r.out)).toBe(false);
    expect(await listFiles(r.outDir)).toEqual([]);
    // The bad bytes did not poison the cache: a clean pull with the same cache gets the real blob.
    proxy.clear();
    const ok = await pull(`${proxy.host}/faults/app@${manifestDigest}`, ["--cache-dir", cache]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(bytesId(await readFile(ok.out))).toBe(bytesId(blob));
  });

  it("a blob body longer than the manifest's size for it: refused, exit 1, no output", async () => {
    const tooLong = Buffer.concat([blob, Buffer.alloc(64 * 1024, 1)]);
    proxy.setRules([{ method: "GET", path: layerPath(), nth: "all", action: { kind: "status", status: 200, headers: { "content-type": "application/octet-stream" }, body: tooLong } }]);
    const r = await pull(`${proxy.host}/faults/app@${manifestDigest}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/size|digest/i);
    expect(await listFiles(r.outDir)).toEqual([]);
  });

  it("a redirect to another host does not carry the Authorization header", async () => {
    other.requests.length = 0;
    proxy.setRules([
      { method: "GET", path: layerPath(), nth: "all", action: { kind: "redirect", status: 307, location: (path) => `${other.url}${path}` } },
    ]);
    const r = await pull();
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(r.out))).toBe(bytesId(blob));
    // The client did authenticate to the registry (so the check below can fail)...
    expect(proxy.matching("GET", layerPath()).some((q) => q.hasAuthorization)).toBe(true);
    // ...followed the redirect, and sent no credential to the other host.
    expect(other.requests.length).toBeGreaterThanOrEqual(1);
    expect(other.requests.filter((q) => q.hasAuthorization)).toEqual([]);
  });

  it("503 every time: exit 1 after a bounded number of attempts", async () => {
    proxy.setRules([{ method: "GET", path: /\/manifests\/v1$/, nth: "all", action: { kind: "status", status: 503 } }]);
    const t0 = Date.now();
    const r = await pull();
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(r.stderr).toMatch(/503/);
    const attempts = proxy.matching("GET", /\/manifests\/v1$/).filter((q) => q.fault === "status:503").length;
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(MAX_ATTEMPTS);
    expect(await listFiles(r.outDir)).toEqual([]);
  });

  it("a registry that does not answer: timeout_seconds bounds the wait, exit 1, nothing left", async () => {
    const slowCfg = await writeJson(tmp.path("registries-slow.json"), {
      registries: [{ name: "proxied", host: proxy.host, type: "oci", auth: { type: "basic_env", username_env: "FAULT_USER", password_env: "FAULT_PASS" } }],
      timeout_seconds: 2,
      retry: { max_attempts: 2, max_elapsed_seconds: 10 },
    });
    proxy.setRules([{ method: "GET", path: /\/manifests\/v1$/, nth: "all", action: { kind: "delay", ms: 15_000 } }]);
    const outDir = tmp.path(`out-${++n}`);
    const t0 = Date.now();
    const r = await runCli(["pull", `${proxy.host}/faults/app:v1`, "-o", `${outDir}/app.wasm`, "--registry-config", slowCfg, ...freshCacheArgs(tmp.dir)], { env, timeoutMs: 60_000 });
    const took = Date.now() - t0;
    expect(r.code, r.stderr).toBe(1);
    expect(took).toBeLessThan(14_000);
    expect(r.stderr).toMatch(/time(d)? ?out|timeout/i);
    expect(await listFiles(outDir)).toEqual([]);
  });

  it("push: 503 on the upload start and on the manifest PUT are retried", async () => {
    const input = await writeFixture(tmp.dir, "in/push.wasm", await paddedComponent(1, "faults-push"));
    proxy.setRules([
      { method: "POST", path: /\/v2\/faults\/pushed\/blobs\/uploads\//, nth: 1, action: { kind: "status", status: 503 } },
      { method: "PUT", path: /\/v2\/faults\/pushed\/manifests\//, nth: 1, action: { kind: "status", status: 503 } },
    ]);
    const r = await runCli(["push", input, `${proxy.host}/faults/pushed:v1`, "--registry-config", cfg], { env, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(proxy.requests.filter((q) => q.fault === "status:503")).toHaveLength(2);
    expect((await getManifest(reg, "faults/pushed", "v1")).status).toBe(200);
  });
});
