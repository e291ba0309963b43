/**
 * `pnpm dev` (tools/dev.mjs): ibazel from @bazel/ibazel builds the examples with the machine's
 * Bazel (Debian's 4.2.3 here, which needs --config=bazel4) and keeps watching. The test lets it
 * finish one build, then stops it. Bazel gets a temporary output root through a wrapper script
 * (WASM_OCI_BAZEL), so nothing lands in ~/.cache/bazel and the server is shut down afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BAZEL, bazelAvailable } from "../bazel/harness.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { killGroup, runCommand, spawnTracked, waitFor } from "../helpers/processes.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";

describe.skipIf(!bazelAvailable())("pnpm dev (ibazel over the examples)", () => {
  let tmp: Tmp;
  let wrapper: string;
  beforeAll(async () => {
    tmp = await makeTmp("dev-loop");
    wrapper = tmp.path("bazel");
    await writeFile(wrapper, `#!/bin/sh\nexec ${BAZEL} --output_user_root=${tmp.path("root")} --max_idle_secs=60 "$@"\n`);
    await chmod(wrapper, 0o755);
  });
  afterAll(async () => {
    await runCommand(wrapper, ["shutdown"], { cwd: REPO_ROOT, timeoutMs: 60_000 }).catch(() => undefined);
    await tmp.cleanup();
  });

  it("builds the watched targets with the machine's Bazel, not the npm bazelisk", async () => {
    const child = spawnTracked(process.execPath, [join(REPO_ROOT, "tools", "dev.mjs"), "--symlink_prefix=/", "//examples/wasm_signing:raw_keys"], {
      cwd: REPO_ROOT,
      env: { ...process.env, WASM_OCI_BAZEL: wrapper },
    });
    let log = "";
    child.stdout?.on("data", (b: Buffer) => (log += b.toString()));
    child.stderr?.on("data", (b: Buffer) => (log += b.toString()));
    try {
      await waitFor(async () => /Build completed successfully|FAILED|could not download/.test(log) || child.exitCode !== null, "ibazel's first build", 240_000, 500);
    } finally {
      await killGroup(child);
    }
    expect(log).toContain(`-bazel_path=${wrapper}`);
    expect(log).toContain("--config=bazel4");
    expect(log).toMatch(/Build completed successfully/);
  }, 300_000);
});
