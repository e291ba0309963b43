/**
 * The example components at the CLI level, independent of Bazel: every component of examples/
 * builds from its WAT + WIT with `wasm-oci component new`, answers through `wasm-oci run`, and
 * composes into the example apps, which answer with the expected strings. The apps are composed
 * twice: with the component model's own nesting (WAT written here, which proves the components'
 * canonical ABI wiring whatever our composer does) and with `wasm-oci compose` and the same WAC
 * the Bazel targets use. Then examples/setup.mjs publishes the services to a real registry.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, hermeticEnv, runCli } from "../helpers/cli.ts";
import { ALONE, APPS, COMPONENTS, COMPOSITION_WIT, EX, nestComponents } from "../helpers/example-apps.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";

const ready = cliBuilt();

describe.skipIf(!ready)("example components (CLI, no Bazel)", () => {
  let tmp: Tmp;
  const wasm: Record<string, string> = {};

  beforeAll(async () => {
    tmp = await makeTmp("examples");
    const names = Object.keys(COMPONENTS);
    // Two at a time: each build is a node process running wasm-tools.
    for (let i = 0; i < names.length; i += 2) {
      await Promise.all(
        names.slice(i, i + 2).map(async (name) => {
          const src = COMPONENTS[name]!;
          const out = tmp.path(`${name}.wasm`);
          const r = await runCli(["component", "new", "--wat", join(EX, src.wat), "--wit", src.wit, "--world", src.world, "-o", out, "--json"]);
          if (r.code !== 0) throw new Error(`component new ${name} failed: ${r.stderr}`);
          const doc = JSON.parse(r.stdout) as { digest: string; size: number; wit: string };
          expect(doc.size).toBe((await readFile(out)).length);
          wasm[name] = out;
        }),
      );
    }
  }, 180_000);

  afterAll(async () => {
    await tmp?.cleanup();
  });

  it("every component builds from WAT + WIT and shows the world's imports and exports", async () => {
    expect(Object.keys(wasm).sort()).toEqual(Object.keys(COMPONENTS).sort());
    const r = await runCli(["component", "new", "--wat", join(EX, COMPONENTS["frontend"]!.wat), "--wit", COMPOSITION_WIT, "--world", "frontend", "-o", tmp.path("f2.wasm"), "--print-wit"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("import wasm-examples:services/auth;");
    expect(r.stdout).toContain("import wasm-examples:services/data;");
    expect(r.stdout).toContain("export handle: func(user: string, key: string) -> string;");
    // Reproducible: the same sources give the same bytes.
    expect(Buffer.compare(await readFile(tmp.path("f2.wasm")), await readFile(wasm["frontend"]!))).toBe(0);
  });

  it.each(ALONE)("%s answers %s", async (name, invoke, answer) => {
    const r = await runCli(["run", wasm[name]!, "--invoke", invoke, "--expect", JSON.stringify(answer)], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBe(answer);
  }, 100_000);

  it.each(Object.keys(APPS))("%s: its components wire up (component-model nesting) and it answers", async (appName) => {
    const app = APPS[appName]!;
    const out = tmp.path(`${appName}.nested.wasm`);
    await writeFile(out, await nestComponents(app, wasm));
    for (const [invoke, answer] of app.calls) {
      const r = await runCli(["run", out, "--invoke", invoke, "--expect", JSON.stringify(answer)], { timeoutMs: 90_000 });
      expect(r.code, `${appName} ${invoke}: ${r.stderr}`).toBe(0);
    }
  }, 200_000);

  it.for(Object.keys(APPS))("%s: wasm-oci compose with the example's WAC, then it answers", { timeout: 200_000 }, async (appName, ctx) => {
    const app = APPS[appName]!;
    const file = tmp.path(`${appName}.wac`);
    const out = tmp.path(`${appName}.wasm`);
    const deps = Object.entries(app.deps).flatMap(([pkg, c]) => ["--dep", `${pkg}=${wasm[c]!}`]);
    if (app.wac === "generate") {
      // What wac_compose_with_oci does without a composition.
      const gen = await runCli(["wac", "generate", "--package", `rules-wasm-oci:${appName.replaceAll("_", "-")}`, ...deps, "-o", file], { timeoutMs: 60_000 });
      expect(gen.code, gen.stderr).toBe(0);
    } else {
      await writeFile(file, await app.wac());
    }
    const r = await runCli(["compose", file, ...deps, "-o", out], { timeoutMs: 60_000 });
    if (r.code !== 0 && /NOT_IMPLEMENTED/.test(r.stderr)) {
      // The composer's encoder is another issue's work in progress; the nesting test above covers the wiring meanwhile.
      console.warn(`[examples] ${appName}: wasm-oci compose is not implemented yet: ${r.stderr.trim()}`);
      ctx.skip();
    }
    expect(r.code, r.stderr).toBe(0);
    for (const [invoke, answer] of app.calls) {
      const run = await runCli(["run", out, "--invoke", invoke, "--expect", JSON.stringify(answer)], { timeoutMs: 90_000 });
      expect(run.code, `${appName} ${invoke}: ${run.stderr}`).toBe(0);
    }
  });

  it("component new: bad WAT is a usage error at file:line:col, a module that misses the world's exports is refused, nothing is written", async () => {
    await writeFile(tmp.path("bad.wat"), "(module\n  (func $x (result i32) i32.const))\n");
    const bad = await runCli(["component", "new", "--wat", tmp.path("bad.wat"), "--wit", COMPOSITION_WIT, "--world", "auth-service", "-o", tmp.path("bad.wasm")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${tmp.path("bad.wat")}:2:`);
    expect(bad.stderr).toContain("INVALID_WAT");

    const wrong = await runCli(["component", "new", "--wat", join(EX, COMPONENTS["auth-service"]!.wat), "--wit", COMPOSITION_WIT, "--world", "gateway", "-o", tmp.path("bad.wasm")]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/does not implement world gateway.*checkout/);

    const world = await runCli(["component", "new", "--wat", join(EX, COMPONENTS["auth-service"]!.wat), "--wit", COMPOSITION_WIT, "--world", "nope", "-o", tmp.path("bad.wasm")]);
    expect(world.code).toBe(2);
    expect(world.stderr).toMatch(/World `nope` not found/);

    // A core function body that does not type-check: caught by validation, not at run time.
    await writeFile(
      tmp.path("invalid.wat"),
      (await readFile(join(EX, COMPONENTS["auth-service"]!.wat), "utf8")).replace("(call $wrap (i32.const 16)", "(call $wrap (i64.const 16)"),
    );
    const invalid = await runCli(["component", "new", "--wat", tmp.path("invalid.wat"), "--wit", COMPOSITION_WIT, "--world", "auth-service", "-o", tmp.path("bad.wasm")]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/type mismatch/);
    expect((await readdir(tmp.dir)).filter((f) => f.includes("bad.wasm"))).toEqual([]);
  }, 120_000);

  describe.skipIf(!registryAvailable())("examples/setup.mjs against a real registry", () => {
    let reg: Registry;
    beforeAll(async () => {
      reg = await startRegistry();
    }, 60_000);
    afterAll(async () => {
      await reg?.stop();
    });

    it("builds, signs where services.json says, and pushes every service; pulls give the same bytes; signatures verify", async () => {
      const run = promisify(execFile);
      const { stdout } = await run(process.execPath, [join(EX, "setup.mjs"), "--registry", reg.host, "--json"], {
        // A caller's SOURCE_DATE_EPOCH must not move the digests app_production pins.
        env: { ...process.env, ...(hermeticEnv(tmp.path("setup-env")) as Record<string, string>), SOURCE_DATE_EPOCH: "1700000000" },
        timeout: 180_000,
      });
      const doc = JSON.parse(stdout) as { services: Array<{ name: string; reference: string; digest: string; signed: boolean }> };
      const spec = JSON.parse(await readFile(join(EX, "services.json"), "utf8")) as { services: Array<{ name: string; signed: boolean }> };
      expect(doc.services.map((s) => s.name)).toEqual(spec.services.map((s) => s.name));
      for (const s of doc.services) {
        const out = tmp.path("pulled", `${s.name}.wasm`);
        const pull = await runCli(["pull", s.reference, "-o", out, "--digest", s.digest, "--cache-dir", tmp.path("cache")], { env: hermeticEnv(tmp.path("pull-env")) });
        expect(pull.code, pull.stderr).toBe(0);
        const verify = await runCli(["verify", "-i", out, "-K", join(EX, "wac_oci_composition", "keys", "example.pk")]);
        expect(verify.code, `${s.name} signed=${s.signed}: ${verify.stderr}`).toBe(s.signed ? 0 : 1);
        if (!s.signed) expect(Buffer.compare(await readFile(out), await readFile(wasm[s.name]!))).toBe(0);
      }
      // The push is reproducible (same sources, same key): the digests app_production pins.
      const build = await readFile(join(EX, "wac_oci_composition", "BUILD.bazel"), "utf8");
      for (const s of doc.services) {
        if (build.includes(`${s.name}@sha256:`)) expect(build).toContain(`${s.name}@${s.digest}`);
      }
    }, 300_000);
  });
});
