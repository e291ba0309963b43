/**
 * Every request has a total deadline besides the idle timeout (issue 12, finding 6): a body that
 * trickles in one byte a second never trips `timeout_seconds` (the idle timer), but
 * `request_deadline_seconds` ends it. The fault proxy's `stream` action serves the trickle (a
 * bounded 120 bytes); the CLI run has its own timeout, so the old behaviour shows as a kill.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry, registryAvailable, type Registry } from "../helpers/registry.ts";
import { runCli, hermeticEnv } from "../helpers/cli.ts";
import { makeTmp, writeJson, listFiles, type Tmp } from "../helpers/tmp.ts";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { pushRawArtifact } from "../helpers/oci-http.ts";
import { paddedComponent } from "../helpers/wasm-fixtures.ts";

describe.skipIf(!registryAvailable())("request deadline (finding 6)", () => {
  let reg: Registry;
  let proxy: FaultProxy;
  let tmp: Tmp;
  let layerDigest: string;

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.host);
    tmp = await makeTmp("oci-deadline");
    layerDigest = (await pushRawArtifact(reg, "deadline/app", "v1", await paddedComponent(1, "deadline"))).layerDigest;
  });

  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    await tmp?.cleanup();
  });

  it("a layer trickling in at 1 byte/s is cut off by request_deadline_seconds though timeout_seconds never fires", async () => {
    proxy.setRules([{ method: "GET", path: new RegExp(`/blobs/${layerDigest}`), nth: "all", action: { kind: "stream", status: 200, bytes: 120, bytesPerSecond: 1 } }]);
    const cfg = await writeJson(tmp.path("registries.json"), {
      registries: [{ name: "p", host: proxy.host, type: "oci" }],
      timeout_seconds: 3,
      request_deadline_seconds: 5,
      retry: { max_attempts: 2, max_elapsed_seconds: 10 },
    });
    const outDir = tmp.path("out");
    const t0 = Date.now();
    const r = await runCli(["pull", `${proxy.host}/deadline/app:v1`, "-o", `${outDir}/app.wasm`, "--registry-config", cfg, "--cache-dir", tmp.path("cache")], {
      env: hermeticEnv(tmp.dir),
      timeoutMs: 40_000,
    });
    const took = Date.now() - t0;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/request_deadline_seconds/);
    expect(r.stderr).toContain("DEADLINE_EXCEEDED");
    // 5 s deadline, not retried; generous for a loaded 2-core machine, far below the 120 s trickle.
    expect(took).toBeLessThan(25_000);
    const served = proxy.matching("GET", new RegExp(`/blobs/${layerDigest}`));
    expect(served).toHaveLength(1);
    expect(served[0]?.sentBytes ?? 0).toBeGreaterThanOrEqual(3);
    expect(await listFiles(outDir)).toEqual([]);
  });
});
