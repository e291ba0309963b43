/**
 * wasm-oci push / pull / image against the real registry without auth: round trips by tag and by
 * digest for a core module and a component, what lands in the registry (checked with raw HTTP),
 * --metadata, the content-addressed cache, --dry-run, tags and annotations, --mount-from, mirrors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesId } from "../helpers/bytes.ts";
import { readFile, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { runCli, hermeticEnv, CLI_PATH } from "../helpers/cli.ts";
import { makeTmp, writeJson, listFiles, type Tmp } from "../helpers/tmp.ts";
import { startFaultProxy, startForwardProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { coreModule, interfaceComponent, paddedComponent, writeFixture, INTERFACE_COMPONENT_EXPORTS, INTERFACE_COMPONENT_IMPORTS } from "../helpers/wasm-fixtures.ts";
import { getBlob, getManifest, listTags, firstDigest, jsonLeaves, pushRawArtifact, sha256, WASM_CONFIG, WASM_LAYER, OCI_MANIFEST } from "../helpers/oci-http.ts";
import { freePort, runCommand } from "../helpers/processes.ts";

const EPOCH = "1700000000"; // 2023-11-14T22:13:20Z

describe.skipIf(!registryAvailable())("oci round trips, no auth (real docker-registry)", () => {
  let reg: Registry;
  let proxy: FaultProxy;
  let tmp: Tmp;
  let env: Record<string, string | undefined>;
  let core: Buffer;
  let comp: Buffer;
  let corePath: string;
  let compPath: string;
  const pushed: Record<string, string> = {};
  let n = 0;
  /** A fresh --cache-dir, so a pull really goes to the registry instead of an earlier pull's cache. */
  const fresh = (): string[] => ["--cache-dir", tmp.path(`cache-${++n}`)];

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.host);
    tmp = await makeTmp("oci-roundtrip");
    env = hermeticEnv(tmp.dir, { SOURCE_DATE_EPOCH: EPOCH });
    core = Buffer.from(await coreModule());
    comp = Buffer.from(await interfaceComponent());
    corePath = await writeFixture(tmp.dir, "in/core.wasm", core);
    compPath = await writeFixture(tmp.dir, "in/app.wasm", comp);
  });

  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    await tmp?.cleanup();
  });

  async function push(input: string, ref: string, ...extra: string[]): Promise<string> {
    const r = await runCli(["push", input, ref, ...extra], { env });
    expect(r.code, r.stderr).toBe(0);
    const digest = firstDigest(r.stdout);
    expect(digest, `push printed no digest on stdout: ${r.stdout}`).toBeDefined();
    return digest as string;
  }

  it("pushes a core module; the registry holds a CNCF wasm artifact (os wasip1)", async () => {
    const digest = await push(corePath, `${reg.host}/rt/core:v1`);
    pushed["core"] = digest;
    const m = await getManifest(reg, "rt/core", "v1");
    expect(m.status).toBe(200);
    expect(m.digest).toBe(digest);
    const manifest = m.json as { mediaType?: string; config: { mediaType: string; digest: string }; layers: Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string> }> };
    expect(manifest.mediaType ?? m.mediaType).toBe(OCI_MANIFEST);
    expect(manifest.config.mediaType).toBe(WASM_CONFIG);
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]?.mediaType).toBe(WASM_LAYER);
    expect(manifest.layers[0]?.digest).toBe(sha256(core));
    expect(manifest.layers[0]?.size).toBe(core.length);
    expect(manifest.layers[0]?.annotations?.["org.opencontainers.image.title"]).toBe("core.wasm");
    const config = JSON.parse((await getBlob(reg, "rt/core", manifest.config.digest)).toString("utf8")) as Record<string, unknown>;
    expect(config["architecture"]).toBe("wasm");
    expect(config["os"]).toBe("wasip1");
    expect(config["layerDigests"]).toEqual([sha256(core)]);
  });

  it("pushes a component; the config lists its top-level imports and exports (os wasip2)", async () => {
    const digest = await push(compPath, `${reg.host}/rt/app:v1`);
    pushed["app"] = digest;
    const m = await getManifest(reg, "rt/app", "v1");
    expect(m.digest).toBe(digest);
    const manifest = m.json as { config: { digest: string }; layers: Array<{ digest: string }> };
    expect(manifest.layers[0]?.digest).toBe(sha256(comp));
    const config = JSON.parse((await getBlob(reg, "rt/app", manifest.config.digest)).toString("utf8")) as {
      os: string;
      created?: string;
      component: { exports: string[]; imports: string[] };
    };
    expect(config.os).toBe("wasip2");
    expect([...config.component.exports].sort()).toEqual([...INTERFACE_COMPONENT_EXPORTS].sort());
    expect([...config.component.imports].sort()).toEqual([...INTERFACE_COMPONENT_IMPORTS].sort());
    expect(Date.parse(config.created ?? "")).toBe(Number(EPOCH) * 1000);
    // The standard annotation carries the same time.
    const annotations = (m.json as { annotations?: Record<string, string> }).annotations ?? {};
    expect(Date.parse(annotations["org.opencontainers.image.created"] ?? "")).toBe(Number(EPOCH) * 1000);
  });

  for (const kind of ["core", "app"] as const) {
    it(`pulls the ${kind} back by tag and by digest, byte for byte`, async () => {
      const original = kind === "core" ? core : comp;
      const digest = pushed[kind];
      expect(digest).toBeDefined();
      const byTag = tmp.path(`out/${kind}-tag.wasm`);
      const r1 = await runCli(["pull", `${reg.host}/rt/${kind}:v1`, "-o", byTag, ...fresh()], { env });
      expect(r1.code, r1.stderr).toBe(0);
      expect(bytesId(await readFile(byTag))).toBe(bytesId(original));
      const byDigest = tmp.path(`out/${kind}-digest.wasm`);
      const r2 = await runCli(["pull", `oci://${reg.host}/rt/${kind}@${digest}`, "-o", byDigest, ...fresh()], { env });
      expect(r2.code, r2.stderr).toBe(0);
      expect(bytesId(await readFile(byDigest))).toBe(bytesId(original));
      // Tag and digest together, plus --digest: all must agree.
      const both = tmp.path(`out/${kind}-both.wasm`);
      const r3 = await runCli(["pull", `${reg.host}/rt/${kind}:v1@${digest}`, "-o", both, "--digest", digest as string, ...fresh()], { env });
      expect(r3.code, r3.stderr).toBe(0);
      expect(bytesId(await readFile(both))).toBe(bytesId(original));
    });
  }

  it("--digest naming a manifest the registry does not have: exit 1, names it, no output", async () => {
    const out = tmp.path("out/wrong-digest/app.wasm");
    const wrong = `sha256:${"0".repeat(64)}`;
    const r = await runCli(["pull", `${reg.host}/rt/app:v1`, "-o", out, "--digest", wrong, ...fresh()], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(wrong);
    expect(existsSync(out)).toBe(false);
    expect(await listFiles(tmp.path("out/wrong-digest"))).toEqual([]);
  });

  it("a registry answering other bytes than the digest asked for: fatal digest error, no output", async () => {
    // The proxy answers the app's digest with the core module's manifest (valid JSON, wrong bytes).
    const coreManifest = (await getManifest(reg, "rt/core", "v1")).bytes;
    proxy.setRules([
      {
        method: "GET",
        path: new RegExp(`/v2/rt/app/manifests/${pushed["app"] as string}`),
        nth: "all",
        action: { kind: "status", status: 200, headers: { "content-type": OCI_MANIFEST, "docker-content-digest": pushed["app"] as string }, body: coreManifest },
      },
    ]);
    try {
      for (const args of [[`${proxy.host}/rt/app@${pushed["app"] as string}`], [`${proxy.host}/rt/app:v1`, "--digest", pushed["app"] as string]]) {
        const dir = tmp.path(`out/mismatch-${++n}`);
        const r = await runCli(["pull", ...args, "-o", `${dir}/app.wasm`, ...fresh()], { env });
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/digest/i);
        expect(r.stderr).toContain(pushed["app"]);
        expect(await listFiles(dir)).toEqual([]);
      }
    } finally {
      proxy.clear();
    }
  });

  it("--metadata records reference, manifest digest, layer digest, size, media types, annotations and config", async () => {
    const out = tmp.path("out/meta/app.wasm");
    const metaPath = tmp.path("out/meta/app.json");
    const ref = `${reg.host}/rt/app:v1`;
    const r = await runCli(["pull", ref, "-o", out, "--metadata", metaPath, ...fresh()], { env });
    expect(r.code, r.stderr).toBe(0);
    const meta = JSON.parse(await readFile(metaPath, "utf8")) as unknown;
    const leaves = jsonLeaves(meta);
    const text = JSON.stringify(meta);
    expect(text).toContain(`${reg.host}/rt/app`);
    expect(leaves).toContain(pushed["app"]);
    expect(leaves).toContain(sha256(comp));
    expect(leaves).toContain(comp.length);
    expect(leaves).toContain(WASM_LAYER);
    expect(leaves).toContain(WASM_CONFIG);
    expect(leaves).toContain("app.wasm"); // the title annotation
    expect(leaves).toContain("wasip2"); // from the config
    for (const e of INTERFACE_COMPONENT_EXPORTS) expect(leaves).toContain(e);
  });

  it("pushes every --tag and the --annotation values", async () => {
    const digest = await push(compPath, `${reg.host}/rt/tags:main`, "--tag", "t1", "--tag", "t2", "--annotation", "org.opencontainers.image.version=1.2.3", "--annotation", "com.example.team=wasm", "--annotation", "com.example.eq=a=b");
    expect((await listTags(reg, "rt/tags")).sort()).toEqual(["main", "t1", "t2"]);
    for (const t of ["main", "t1", "t2"]) expect((await getManifest(reg, "rt/tags", t)).digest).toBe(digest);
    const m = (await getManifest(reg, "rt/tags", "main")).json as { annotations?: Record<string, string> };
    expect(m.annotations?.["org.opencontainers.image.version"]).toBe("1.2.3");
    expect(m.annotations?.["com.example.team"]).toBe("wasm");
    expect(m.annotations?.["com.example.eq"]).toBe("a=b"); // split at the first '=' only
  });

  it("--json prints one JSON document carrying the digest", async () => {
    const r = await runCli(["push", compPath, `${reg.host}/rt/json:v1`, "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as unknown;
    expect(jsonLeaves(doc)).toContain((await getManifest(reg, "rt/json", "v1")).digest);
    const out = tmp.path("out/json.wasm");
    const p = await runCli(["pull", `${reg.host}/rt/json:v1`, "-o", out, "--json", ...fresh()], { env });
    expect(p.code, p.stderr).toBe(0);
    expect(jsonLeaves(JSON.parse(p.stdout) as unknown)).toContain(sha256(comp));
  });

  it("second pull of the same digest with --cache-dir makes no blob request", async () => {
    const cache = tmp.path("cache");
    const ref = `${proxy.host}/rt/app@${pushed["app"]}`;
    proxy.clear();
    const r1 = await runCli(["pull", ref, "-o", tmp.path("out/c1.wasm"), "--cache-dir", cache], { env });
    expect(r1.code, r1.stderr).toBe(0);
    // The first pull did fetch the blobs through the proxy (so the check below can fail).
    expect(proxy.matching("GET", /\/blobs\/sha256:/).length).toBeGreaterThan(0);
    proxy.clear();
    const r2 = await runCli(["pull", ref, "-o", tmp.path("out/c2.wasm"), "--cache-dir", cache], { env });
    expect(r2.code, r2.stderr).toBe(0);
    expect(proxy.matching(undefined, /\/blobs\//)).toEqual([]);
    expect(bytesId(await readFile(tmp.path("out/c2.wasm")))).toBe(bytesId(comp));
  });

  it("concurrent pulls of the same digest sharing one --cache-dir all succeed (as parallel Bazel actions do)", async () => {
    const cache = tmp.path("cache-shared");
    const outs = [1, 2, 3, 4].map((i) => tmp.path(`out/concurrent-${i}.wasm`));
    const results = await Promise.all(outs.map((o) => runCli(["pull", `${reg.host}/rt/app@${pushed["app"] as string}`, "-o", o, "--cache-dir", cache], { env })));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    for (const o of outs) expect(bytesId(await readFile(o))).toBe(bytesId(comp));
    // No temp files left in the cache.
    expect((await listFiles(cache)).filter((f) => /tmp/i.test(f))).toEqual([]);
  });

  it("--dry-run sends no write request and prints the digest a real push then produces", async () => {
    proxy.clear();
    const ref = `${proxy.host}/rt/dry:v1`;
    const dry = await runCli(["push", compPath, ref, "--dry-run", "--json"], { env });
    expect(dry.code, dry.stderr).toBe(0);
    const writes = proxy.requests.filter((q) => !["GET", "HEAD"].includes(q.method));
    expect(writes.map((q) => `${q.method} ${q.path}`)).toEqual([]);
    expect((await getManifest(reg, "rt/dry", "v1")).status).toBe(404);
    const dryDoc = JSON.parse(dry.stdout) as unknown;
    const real = await push(compPath, ref);
    expect(jsonLeaves(dryDoc)).toContain(real);
  });

  it("image writes a reproducible OCI layout (SOURCE_DATE_EPOCH), and push oci-layout: keeps its digest", async () => {
    const run = async (dir: string, e: Record<string, string | undefined>): Promise<void> => {
      const r = await runCli(["image", compPath, "-o", tmp.path(dir), "--tag", "v1", "--annotation", "com.example.k=v", "--tar", tmp.path(`${dir}.tar`)], { env: e });
      expect(r.code, r.stderr).toBe(0);
    };
    await run("layout-a", env);
    await run("layout-b", env);
    const files = await listFiles(tmp.path("layout-a"));
    expect(files).toContain("oci-layout");
    expect(files).toContain("index.json");
    expect(files).toEqual(await listFiles(tmp.path("layout-b")));
    for (const f of files) expect(bytesId(await readFile(tmp.path("layout-a", f))), f).toBe(bytesId(await readFile(tmp.path("layout-b", f))));
    expect(bytesId(await readFile(tmp.path("layout-a.tar")))).toBe(bytesId(await readFile(tmp.path("layout-b.tar"))));
    expect((await stat(tmp.path("layout-a.tar"))).size).toBeGreaterThan(comp.length);

    const index = JSON.parse(await readFile(tmp.path("layout-a/index.json"), "utf8")) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
    expect(index.manifests).toHaveLength(1);
    const manifestDigest = index.manifests[0]?.digest as string;
    expect(index.manifests[0]?.annotations?.["org.opencontainers.image.ref.name"]).toBe("v1");
    const manifestBytes = await readFile(tmp.path("layout-a/blobs", ...manifestDigest.split(":")));
    expect(sha256(manifestBytes)).toBe(manifestDigest);

    // Without SOURCE_DATE_EPOCH: still reproducible (fixed epoch), but a different `created`.
    await run("layout-c", { ...env, SOURCE_DATE_EPOCH: undefined });
    await run("layout-d", { ...env, SOURCE_DATE_EPOCH: undefined });
    const idx = async (d: string): Promise<string> => readFile(tmp.path(d, "index.json"), "utf8");
    expect(await idx("layout-c")).toBe(await idx("layout-d"));
    expect(await idx("layout-c")).not.toBe(await idx("layout-a"));

    const digest = await push(`oci-layout:${tmp.path("layout-a")}:v1`, `${reg.host}/rt/fromlayout:v1`);
    expect(digest).toBe(manifestDigest);
    expect((await getManifest(reg, "rt/fromlayout", "v1")).digest).toBe(manifestDigest);
  });

  it("--mount-from mounts the blobs from another repository instead of uploading them", async () => {
    proxy.clear();
    const digest = await push(compPath, `${proxy.host}/rt/mounted:v1`, "--mount-from", "rt/app");
    const mounts = proxy.matching("POST", /\/v2\/rt\/mounted\/blobs\/uploads\/\?.*mount=sha256/);
    expect(mounts.length).toBeGreaterThan(0);
    expect(mounts.every((m) => m.path.includes("from=rt%2Fapp") || m.path.includes("from=rt/app"))).toBe(true);
    expect(proxy.matching(undefined, /\/v2\/rt\/mounted\/blobs\/uploads\/[^?]/).filter((q) => q.method === "PATCH" || q.method === "PUT")).toEqual([]);
    const out = tmp.path("out/mounted.wasm");
    const r = await runCli(["pull", `${reg.host}/rt/mounted@${digest}`, "-o", out, ...fresh()], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));
  });

  it("skips blobs the registry already has (HEAD) on a second push", async () => {
    proxy.clear();
    await push(compPath, `${proxy.host}/rt/app:again`);
    expect(proxy.matching("HEAD", /\/blobs\/sha256:/).length).toBeGreaterThan(0);
    expect(proxy.matching(undefined, /\/blobs\/uploads\//)).toEqual([]);
  });

  it("uploads a blob under the chunk threshold (default 512 MiB) in one PUT, no PATCH", async () => {
    const mid = await paddedComponent(12, "one-request");
    const midPath = await writeFixture(tmp.dir, "in/mid.wasm", mid);
    proxy.clear();
    const digest = await push(midPath, `${proxy.host}/rt/mid:v1`);
    expect(proxy.matching("PATCH", /\/blobs\/uploads\//)).toEqual([]);
    expect(proxy.matching("PUT", /\/v2\/rt\/mid\/blobs\/uploads\/.*digest=sha256/).length).toBe(2);
    const m = await getManifest(reg, "rt/mid", "v1");
    expect(m.digest).toBe(digest);
  });

  it("uploads a blob above the registry entry's chunk_threshold_mib in PATCH chunks, honouring OCI-Chunk-Min-Length", async () => {
    const big = await paddedComponent(12, "chunked");
    const bigPath = await writeFixture(tmp.dir, "in/big.wasm", big);
    // chunk_size_mib 2 is below the registry's minimum of 5 MiB, which must win.
    const minChunk = 5 * 1024 * 1024;
    const cfg = await writeFixture(
      tmp.dir,
      "chunked-config.json",
      Buffer.from(JSON.stringify({ registries: [{ name: "proxy", host: proxy.host, insecure: true, chunk_threshold_mib: 8, chunk_size_mib: 2 }] })),
    );
    proxy.clear();
    proxy.setRules([{ method: "POST", path: /\/v2\/rt\/big\/blobs\/uploads\//, nth: "all", action: { kind: "headers", headers: { "oci-chunk-min-length": String(minChunk) } } }]);
    try {
      const digest = await push(bigPath, `${proxy.host}/rt/big:v1`, "--registry-config", cfg);
      const patches = proxy.matching("PATCH", /\/v2\/rt\/big\/blobs\/uploads\//);
      expect(patches.length).toBeGreaterThanOrEqual(1);
      // [start, end] of each chunk, from Content-Range or else cumulatively from Content-Length.
      let offset = 0;
      const chunks = patches.map((q) => {
        const range = /^(\d+)-(\d+)$/.exec(String(q.headers["content-range"] ?? ""));
        const start = range ? Number(range[1]) : offset;
        const end = range ? Number(range[2]) : offset + Number(q.headers["content-length"] ?? 0) - 1;
        offset = end + 1;
        return { start, end, size: end - start + 1 };
      });
      // Every chunk except the one that ends the blob is at least the registry's minimum.
      const nonFinal = chunks.filter((c) => c.end !== big.length - 1);
      expect(chunks.length).toBe(3);
      expect(nonFinal.length).toBeGreaterThanOrEqual(1);
      for (const c of nonFinal) expect(c.size).toBeGreaterThanOrEqual(minChunk);
      const out = tmp.path("out/big.wasm");
      const r = await runCli(["pull", `${reg.host}/rt/big@${digest}`, "-o", out, ...fresh()], { env });
      expect(r.code, r.stderr).toBe(0);
      // stderr is a pipe here, not a TTY: no progress bar (carriage returns, cursor escapes).
      expect(r.stderr).not.toMatch(/\r|\x1b\[/);
      expect(bytesId(await readFile(out))).toBe(bytesId(big));
    } finally {
      proxy.clear();
    }
  });

  it.skipIf(!existsSync("/usr/bin/script"))("shows a progress bar when stderr is a terminal (run under script(1) for a pty)", async () => {
    const big = await paddedComponent(20, "tty");
    const { digest } = await pushRawArtifact(reg, "rt/tty", "v1", big);
    const out = tmp.path("out/tty.wasm");
    const [cache] = fresh().slice(1);
    const cmd = [process.execPath, CLI_PATH, "pull", `${reg.host}/rt/tty@${digest}`, "-o", out, "--cache-dir", cache as string].map((a) => `'${a}'`).join(" ");
    const r = await runCommand("script", ["-qec", cmd, "/dev/null"], { env: { ...process.env, ...(env as NodeJS.ProcessEnv) }, timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/100%/);
    expect(r.stdout).toMatch(/20(\.0)? ?MiB/);
    expect(bytesId(await readFile(out))).toBe(bytesId(big));
  });

  it("honours HTTP_PROXY, and NO_PROXY", async () => {
    const fwd = await startForwardProxy();
    try {
      const out = tmp.path("out/proxied.wasm");
      const r = await runCli(["pull", `${reg.host}/rt/app:v1`, "-o", out, ...fresh()], { env: { ...env, HTTP_PROXY: fwd.url, http_proxy: fwd.url } });
      expect(r.code, r.stderr).toBe(0);
      expect(bytesId(await readFile(out))).toBe(bytesId(comp));
      // Either an absolute-URI request or a CONNECT tunnel to the registry.
      expect(fwd.requests.some((q) => q.url.startsWith(`http://${reg.host}/v2/`) || (q.method === "CONNECT" && q.url === reg.host))).toBe(true);
      const seen = fwd.requests.length;
      const r2 = await runCli(["pull", `${reg.host}/rt/app:v1`, "-o", tmp.path("out/unproxied.wasm"), ...fresh()], {
        env: { ...env, HTTP_PROXY: fwd.url, http_proxy: fwd.url, NO_PROXY: "127.0.0.1", no_proxy: "127.0.0.1" },
      });
      expect(r2.code, r2.stderr).toBe(0);
      expect(fwd.requests.length).toBe(seen);
    } finally {
      await fwd.stop();
    }
  });

  it("falls back to a mirror when the primary is down", async () => {
    const deadPort = await freePort();
    const primary = `127.0.0.1:${deadPort}`;
    const cfg = await writeJson(tmp.path("mirrors.json"), {
      registries: [{ name: "primary", host: primary, type: "oci", insecure: true, mirrors: [reg.host], auth: { type: "none" } }],
      default_registry: "primary",
      timeout_seconds: 10,
      retry: { max_attempts: 2, max_elapsed_seconds: 10 },
      enable_mirror_fallback: true,
    });
    const out = tmp.path("out/mirror.wasm");
    const r = await runCli(["pull", `${primary}/rt/app@${pushed["app"]}`, "-o", out, "--registry-config", cfg, ...fresh()], { env, timeoutMs: 45_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(bytesId(await readFile(out))).toBe(bytesId(comp));

    // With fallback disabled the same pull fails and leaves nothing.
    const cfgOff = await writeJson(tmp.path("mirrors-off.json"), {
      registries: [{ name: "primary", host: primary, type: "oci", insecure: true, mirrors: [reg.host], auth: { type: "none" } }],
      timeout_seconds: 10,
      retry: { max_attempts: 2, max_elapsed_seconds: 10 },
      enable_mirror_fallback: false,
    });
    const out2 = tmp.path("out/mirror-off/app.wasm");
    const r2 = await runCli(["pull", `${primary}/rt/app@${pushed["app"]}`, "-o", out2, "--registry-config", cfgOff, ...fresh()], { env, timeoutMs: 45_000 });
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(primary);
    expect(existsSync(out2)).toBe(false);
  });
});
