/**
 * A second real registry, one that serves the OCI 1.1 referrers API
 * (`GET /v2/<name>/referrers/<digest>`), beside Debian's docker-registry (which has none and is
 * used through the `sha256-<hex>` tag fallback).
 *
 * It is CUE's registry: `cue mod registry ADDR` (cuelang.org/go/cmd/cue, installed as the `cue`
 * oracle by `.ci/tools`) serves cuelabs.dev/go/oci/ociregistry's `ocimem` store through its
 * `ociserver`, which answers the referrers API and the OCI-Subject header. Contents live in
 * memory; tags are immutable (a second push to the same tag with other content is refused), so
 * tests use fresh tags. zot and olareg, the usual choices, are not on the Go module proxy here;
 * distribution v3 and `crane registry serve` have no referrers API.
 *
 *   const reg = await startReferrersRegistry();   // reg.host "127.0.0.1:PORT", reg.url
 *   await reg.stop();
 */
import type { ChildProcess } from "node:child_process";
import { oracle } from "./oracles.ts";
import { killGroup, spawnTracked, waitFor } from "./processes.ts";

export interface ReferrersRegistry {
  host: string;
  port: number;
  url: string;
  /** The process's output so far (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

export async function startReferrersRegistry(timeoutMs = 20_000): Promise<ReferrersRegistry> {
  // Port 0: the registry binds a free loopback port itself and prints it, so no bind race.
  const child: ChildProcess = spawnTracked(oracle("cue"), ["mod", "registry", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (b: Buffer): void => {
    out = (out + b.toString("utf8")).slice(-64 * 1024);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  try {
    let port = 0;
    await waitFor(
      async () => {
        if (exited) throw new Error("exited");
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
        if (m === null) return false;
        port = Number(m[1]);
        const r = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(2_000) });
        await r.arrayBuffer();
        return r.status === 200;
      },
      "cue mod registry",
      timeoutMs,
    ).catch((e: unknown) => {
      if (exited) throw new Error(`cue mod registry exited before answering: ${out}`);
      throw e;
    });
    return {
      host: `127.0.0.1:${port}`,
      port,
      url: `http://127.0.0.1:${port}`,
      logs: () => out,
      stop: () => killGroup(child),
    };
  } catch (e) {
    await killGroup(child);
    throw e;
  }
}
