/**
 * What the CLI leaves on disk when writing fails (issue 12, finding 7), on a real full file
 * system (a 256 KiB tmpfs, test/helpers/tmpfs.ts): every command fails with a typed error
 * ([DISK_FULL], exit 1, no stack trace) and leaves nothing behind: no temp file, no empty layout.
 * Also: a pull killed with SIGKILL leaves its temp file, and the next run writing into that
 * directory removes it; a cached layer is checked against the descriptor's size.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, readdir, utimes, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CLI_NODE, CLI_PATH, cliBuilt, freshCacheArgs, hermeticEnv, runCli } from "../helpers/cli.ts";
import { makeTmp, listFiles, type Tmp } from "../helpers/tmp.ts";
import { mountTmpfs, tmpfsMountable, type SmallFs } from "../helpers/tmpfs.ts";
import { paddedComponent, simpleComponent, writeFixture } from "../helpers/wasm-fixtures.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { pushRawArtifact, putBlob, putManifest, OCI_MANIFEST, WASM_CONFIG, WASM_LAYER } from "../helpers/oci-http.ts";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { killGroup, spawnTracked, waitFor } from "../helpers/processes.ts";

const TEMP = /\.wasm-oci-tmp-\d+-[0-9a-f]{8}$/;

function expectTypedDiskFull(r: { code: number; stderr: string }, what: string): void {
  expect(r.stderr, what).toMatch(/no space left on device \(ENOSPC\) \[DISK_FULL\]/);
  expect(r.stderr, what).not.toMatch(/\n\s+at |Unhandled|triggerUncaughtException/);
  expect(r.code, what).toBe(1);
}

describe.skipIf(!cliBuilt() || !tmpfsMountable())("writes on a full disk (a 256 KiB tmpfs)", () => {
  let small: SmallFs;
  let tmp: Tmp;
  let big: string;
  let secretKey: string;

  beforeAll(async () => {
    small = await mountTmpfs(256);
    tmp = await makeTmp("local-writes");
    // 1 MiB: larger than the file system, so the write fails half way.
    big = await writeFixture(tmp.dir, "big.wasm", await paddedComponent(1, "disk-full"));
    secretKey = tmp.path("k.sec");
    const k = await runCli(["keygen", "--secret-key", secretKey, "--public-key", tmp.path("k.pub")]);
    expect(k.code, k.stderr).toBe(0);
  });

  afterAll(async () => {
    await small?.unmount();
    await tmp?.cleanup();
  });

  const cases: Array<[string, (dir: string) => string[]]> = [
    ["image --tar", (d) => ["image", big, "--tar", join(d, "out.tar")]],
    ["image -o", (d) => ["image", big, "-o", join(d, "layout")]],
    ["sign", (d) => ["sign", "-i", big, "-o", join(d, "signed.wasm"), "-k", secretKey]],
    ["push oci-layout:", (d) => ["push", big, `oci-layout:${join(d, "pushed")}:v1`]],
  ];
  it.each(cases)("%s fails typed and leaves nothing", async (what, args) => {
    await small.clear();
    const r = await runCli(args(small.dir));
    expectTypedDiskFull(r, what);
    expect(await readdir(small.dir)).toEqual([]);
  });

  it("keygen on a file system with no byte left fails typed and leaves nothing", async () => {
    await small.clear();
    await small.fill();
    const r = await runCli(["keygen", "--secret-key", join(small.dir, "k.sec"), "--public-key", join(small.dir, "k.pub")]);
    expectTypedDiskFull(r, "keygen");
    expect(await readdir(small.dir)).toEqual(["filler"]);
  });

  describe.skipIf(!registryAvailable())("pull", () => {
    let reg: Registry;
    beforeAll(async () => {
      reg = await startRegistry({ auth: "none" });
      await pushRawArtifact(reg, "disk/full", "v1", await readFile(big));
    });
    afterAll(async () => {
      await reg?.stop();
    });

    it("pull -o onto a full disk fails typed and leaves nothing", async () => {
      await small.clear();
      const r = await runCli(["pull", `${reg.host}/disk/full:v1`, "-o", join(small.dir, "app.wasm"), "--metadata", join(small.dir, "m.json"), ...freshCacheArgs(tmp.dir)], {
        env: hermeticEnv(tmp.path("env")),
      });
      expectTypedDiskFull(r, "pull");
      expect(await readdir(small.dir)).toEqual([]);
    });
  });
});

describe.skipIf(!cliBuilt() || !registryAvailable())("temp files of a killed pull", () => {
  let reg: Registry;
  let proxy: FaultProxy;
  let tmp: Tmp;

  beforeAll(async () => {
    reg = await startRegistry({ auth: "none" });
    proxy = await startFaultProxy(reg.host);
    tmp = await makeTmp("killed-pull");
    await pushRawArtifact(reg, "killed/app", "v1", await simpleComponent());
  });
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    await tmp?.cleanup();
  });

  it("SIGKILL mid-pull leaves a recognisable temp file; the next pull into that directory removes it", async () => {
    const outDir = tmp.path("out");
    const env = hermeticEnv(tmp.path("env"));
    // The blob answer is held back, so the pull sits with its temp file open when it is killed.
    proxy.setRules([{ method: "GET", path: /\/blobs\/sha256:/, nth: "all", action: { kind: "delay", ms: 30_000 } }]);
    const child = spawnTracked(CLI_NODE, [CLI_PATH, "pull", `${proxy.host}/killed/app:v1`, "-o", join(outDir, "app.wasm"), ...freshCacheArgs(tmp.dir)], {
      env: { ...process.env, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) } as NodeJS.ProcessEnv,
      stdio: "ignore",
    });
    await waitFor(async () => existsSync(outDir) && (await readdir(outDir)).some((f) => TEMP.test(f)), "the pull's temp file", 15_000);
    await killGroup(child, 0);
    const [stale] = (await readdir(outDir)).filter((f) => TEMP.test(f));
    expect(stale).toMatch(new RegExp(`^\\.app\\.wasm\\.wasm-oci-tmp-${child.pid}-`));

    // A temp file of a live process (ours) beside it must survive the sweep.
    const live = join(outDir, `.other.wasm.wasm-oci-tmp-${process.pid}-0badc0de`);
    await writeFile(live, "in use");
    // The sweep spares files written in the last minute (a writer in another PID namespace looks
    // dead from here): age the killed pull's file as if that minute had passed.
    const old = new Date(Date.now() - 120_000);
    await utimes(join(outDir, stale!), old, old);
    await utimes(live, old, old);

    proxy.setRules([]);
    const r = await runCli(["pull", `${proxy.host}/killed/app:v1`, "-o", join(outDir, "again.wasm"), ...freshCacheArgs(tmp.dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(await listFiles(outDir)).toEqual([`.other.wasm.wasm-oci-tmp-${process.pid}-0badc0de`, "again.wasm"]);
  });
});

describe.skipIf(!cliBuilt() || !registryAvailable())("cached layers and the descriptor's size", () => {
  let reg: Registry;
  let tmp: Tmp;

  beforeAll(async () => {
    reg = await startRegistry({ auth: "none" });
    tmp = await makeTmp("cache-size");
  });
  afterAll(async () => {
    await reg?.stop();
    await tmp?.cleanup();
  });

  it("a layer served from the cache whose descriptor states another size fails SIZE_MISMATCH; no output, no metadata", async () => {
    const wasm = await simpleComponent();
    const good = await pushRawArtifact(reg, "cache/size", "good", wasm);
    // Same layer digest, a descriptor that lies about its size.
    const config = Buffer.from(JSON.stringify({ architecture: "wasm", os: "wasip2" }));
    const configDigest = await putBlob(reg, "cache/size", config);
    await putManifest(reg, "cache/size", "liar", {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: WASM_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: WASM_LAYER, digest: good.layerDigest, size: wasm.length + 1000 }],
    });
    const cache = ["--cache-dir", tmp.path("cache")];
    const env = hermeticEnv(tmp.path("env"));
    const first = await runCli(["pull", `${reg.host}/cache/size:good`, "-o", tmp.path("good.wasm"), ...cache], { env });
    expect(first.code, first.stderr).toBe(0);

    const out = tmp.path("liar", "app.wasm");
    const meta = tmp.path("liar", "meta.json");
    const r = await runCli(["pull", `${reg.host}/cache/size:liar`, "-o", out, "--metadata", meta, ...cache], { env });
    expect(r.stderr).toMatch(new RegExp(`descriptor says ${wasm.length + 1000} bytes, got ${wasm.length} \\[SIZE_MISMATCH\\]`));
    expect(r.code).toBe(1);
    expect(await listFiles(tmp.path("liar"))).toEqual([]);
  });
});
