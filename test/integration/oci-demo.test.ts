/**
 * The main job, `pnpm demo` (tools/demo/demo.ts), end to end: it starts its own registry,
 * publishes the example services, builds the compositions with Bazel (or composes with the CLI
 * where Bazel is missing), verifies signatures, runs the apps and publishes one. It must succeed,
 * end with the composed app's answer, and leave nothing running, also when interrupted (Ctrl-C).
 */
import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { componentTests } from "../../tools/demo/component-tests.ts";
import { REPO_ROOT, cliBuilt } from "../helpers/cli.ts";
import { killGroup, runCommand, spawnTracked, waitFor } from "../helpers/processes.ts";
import { registryAvailable } from "../helpers/registry.ts";
import { bazelAvailable } from "../bazel/harness.ts";

const tsx = join(REPO_ROOT, "node_modules", ".bin", "tsx");
const demo = join(REPO_ROOT, "tools", "demo", "demo.ts");

/** Pids of live processes whose command line mentions `needle` (a directory the demo made). */
async function processesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(needle)) found.push(`${pid}: ${cmdline.replaceAll("\0", " ").slice(0, 200)}`);
  }
  return found;
}

/** The work dir and registry storage the demo printed. */
function demoDirs(stdout: string): string[] {
  return [...new Set([...stdout.matchAll(/storage in (\S+)/g), ...stdout.matchAll(/work dir (\S+?)\)/g)].map((m) => m[1] as string))];
}

/** The featured app's test, from examples/wac_oci_composition/BUILD.bazel: the demo's last line is its answer. */
async function featuredLastLine(): Promise<string> {
  const test = componentTests(await readFile(join(REPO_ROOT, "examples", "wac_oci_composition", "BUILD.bazel"), "utf8")).find(
    (t) => t.component === "secure_distributed_app",
  );
  expect(test).toBeDefined();
  return `answer of secure_distributed_app: ${test!.invoke} = ${test!.expect}`;
}

const lastLine = (stdout: string): string => (stdout.trimEnd().split("\n").at(-1) ?? "").trim();

async function expectNothingLeft(stdout: string, dirCount = 2): Promise<void> {
  const dirs = demoDirs(stdout);
  expect(dirs.length, stdout).toBe(dirCount);
  for (const d of dirs) {
    // The registry's config and the Bazel server's output root live under these directories.
    expect(await processesMentioning(d), `processes still running from ${d}`).toEqual([]);
    expect(existsSync(d), d).toBe(false);
  }
}

describe.skipIf(!registryAvailable() || !existsSync(tsx) || !cliBuilt())("pnpm demo", () => {
  it("runs the whole workflow against a real registry, ends with the app's answer, and stops everything", async () => {
    const r = await runCommand(tsx, [demo], { cwd: REPO_ROOT, timeoutMs: 240_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/docker-registry \(CNCF distribution\) at http:\/\/127\.0\.0\.1:\d+/);
    // The services of examples/services.json, three of them signed and verified.
    expect(r.stdout).toMatch(/auth-service +sha256:[a-f0-9]{64} +signed/);
    expect(r.stdout).toMatch(/data-service +sha256:[a-f0-9]{64}\n/);
    expect(r.stdout).toContain("signatures: auth-service, signed-service, payment-service verified");
    expect(r.stdout).toMatch(/data-service: not signed, verify refuses it/);
    if (bazelAvailable()) {
      expect(r.stdout).toMatch(/bazel build \/\/examples\/wac_oci_composition\/\.\.\.: [\d.]+ s, 9 tested components/);
      expect(r.stdout).toContain("apps: 10 invocations answered as their tests expect (built with Bazel 4.2.3)");
      expect(r.stdout).toMatch(/stopped the Bazel server \(bazel shutdown/);
    } else {
      expect(r.stdout).toContain("Bazel build is SKIPPED");
    }
    expect(r.stdout).toMatch(/published: 127\.0\.0\.1:\d+\/wasm-examples\/secure-distributed-app:v1\.0\.0 sha256:[a-f0-9]{64}/);
    if (existsSync("/usr/bin/skopeo")) expect(r.stdout).toMatch(/skopeo sees the same manifest/);
    expect(r.stdout).toMatch(/time: 6 steps in [\d.]+ s/);

    // The last line is the composed app's answer, the one its wasm_component_test expects.
    expect(lastLine(r.stdout)).toBe(await featuredLastLine());

    await expectNothingLeft(r.stdout);
  }, 300_000);

  it("Ctrl-C during the build stops the registry, the Bazel server and the temp dirs", async () => {
    // As a terminal does: SIGINT to the demo's process group (tsx and the node it runs).
    const child = spawnTracked(tsx, [demo], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (b: Buffer) => (stdout += b.toString("utf8")));
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
    const exited = new Promise<number>((resolve) => child.once("close", (c, sig) => resolve(c ?? (sig !== null ? 128 : 1))));
    try {
      // Interrupt while Bazel is running (or, without Bazel, while the CLI composes).
      const marker = bazelAvailable() ? /bazel: Analyzed/ : /wasm-oci compose/;
      await waitFor(async () => marker.test(stdout), `the demo to reach ${String(marker)}`, 180_000, 100);
      process.kill(-child.pid!, "SIGINT");
      const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-1), 120_000))]);
      expect(code, `${stdout}\n${stderr}`).toBe(130);
      expect(stderr).toContain("SIGINT: stopping what the demo started");
      expect(stdout).toContain("stopped docker-registry");
      if (bazelAvailable()) expect(stdout).toContain("stopped the Bazel server");
      await expectNothingLeft(stdout);
    } finally {
      await killGroup(child, 1_000);
    }
  }, 320_000);
});

// The fallbacks, through the test hooks of test/helpers/registry.ts and test/bazel/harness.ts.
describe.skipIf(!existsSync(tsx) || !cliBuilt())("pnpm demo without Bazel or without docker-registry", () => {
  it.skipIf(!registryAvailable())("without Bazel: says the Bazel build is skipped, composes with the CLI, ends with the same answer", async () => {
    const r = await runCommand(tsx, [demo], { cwd: REPO_ROOT, env: { ...process.env, WASM_OCI_TEST_BAZEL: "/nonexistent/bazel" }, timeoutMs: 180_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain("Bazel 4.2.3 is not installed (/nonexistent/bazel");
    expect(r.stdout).toContain("so the Bazel build is SKIPPED");
    expect(r.stdout).toContain("bazel: SKIPPED (not installed); secure_distributed_app composed with wasm-oci compose");
    expect(r.stdout).toMatch(/\$ wasm-oci compose \S+secure_distributed_app\.wac/);
    expect(lastLine(r.stdout)).toBe(await featuredLastLine());
    await expectNothingLeft(r.stdout);
  }, 200_000);

  it("without docker-registry: publishes to an OCI layout, Bazel builds app_development, ends with the answer", async () => {
    const r = await runCommand(tsx, [demo], { cwd: REPO_ROOT, env: { ...process.env, WASM_OCI_TEST_REGISTRY_BIN: "/nonexistent/docker-registry" }, timeoutMs: 240_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain("publishes to an OCI image layout directory instead");
    expect(r.stdout).toMatch(/published: oci-layout:\S+\/wasm-examples\/secure-distributed-app:v1\.0\.0 sha256:[a-f0-9]{64}/);
    if (bazelAvailable()) expect(r.stdout).toContain("app_development: handle(\"dev\", \"orders\") = \"mock-token(dev) -> mock-data(orders)\"");
    expect(lastLine(r.stdout)).toBe(await featuredLastLine());
    // No registry storage here: only the work dir.
    await expectNothingLeft(r.stdout, 1);
  }, 260_000);
});
