/**
 * The main job, `pnpm demo` (tools/demo/demo.ts), end to end: it starts its own registry, builds,
 * packages, pushes, pulls by digest, compares and runs; it must succeed and stop what it started.
 */
import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, cliBuilt } from "../helpers/cli.ts";
import { runCommand } from "../helpers/processes.ts";
import { registryAvailable } from "../helpers/registry.ts";

const tsx = join(REPO_ROOT, "node_modules", ".bin", "tsx");

describe.skipIf(!registryAvailable() || !existsSync(tsx))("pnpm demo", () => {
  it("runs every step against a real registry, round trips identical, and stops the registry", async () => {
    expect(cliBuilt()).toBe(true);
    const r = await runCommand(tsx, [join(REPO_ROOT, "tools", "demo", "demo.ts")], { cwd: REPO_ROOT, timeoutMs: 120_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/docker-registry \(CNCF distribution\) at http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stdout).toMatch(/adder: sha256:[a-f0-9]{64} \(\d+ bytes, round trip identical\)/);
    expect(r.stdout).toMatch(/greeter: sha256:[a-f0-9]{64} \(\d+ bytes, round trip identical\)/);
    expect(r.stdout).toContain("add(2, 40) = 42");
    // The registry's storage and the demo's work dir are gone.
    const dirs = [...new Set([...r.stdout.matchAll(/storage in (\S+)/g), ...r.stdout.matchAll(/work dir (\S+?)\)/g)].map((m) => m[1] as string))];
    expect(dirs.length).toBe(2);
    for (const d of dirs) expect(existsSync(d), d).toBe(false);
  });
});
