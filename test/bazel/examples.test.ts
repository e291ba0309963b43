/**
 * The examples under real Bazel 4.2.3, hermetically: in the release archive of this repository
 * extracted to a temp dir (hermetic-copy.ts: the repository's files and the prebuilt tools/dist,
 * no node_modules in it or above it), with HOME an empty dir. A real registry on a free port,
 * `node examples/setup.mjs` publishing the services there, `bazel build` and `bazel test` of
 * //examples/... with --//examples:registry pointing at it, then every command of the example
 * READMEs, in order, with the outcome each README states (`# fails: ...` = must fail); `wkg` and
 * `wasmsign2` lines run the reference tools (test/helpers/oracles.ts). Bazel runs
 * with its own output user root and no convenience symlinks. The tests share one Bazel server and
 * run in order.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, hermeticEnv, runCli } from "../helpers/cli.ts";
import { oracle, oraclesMissing } from "../helpers/oracles.ts";
import { registryAvailable, startRegistry, type Registry } from "../helpers/registry.ts";
import { runCommand } from "../helpers/processes.ts";
import { makeTmp, type Tmp } from "../helpers/tmp.ts";
import { bazelAvailable, makeBazel, processCounts, type Bazel, type BazelResult } from "./harness.ts";
import { makeHermeticCopy } from "./hermetic-copy.ts";

const ready = bazelAvailable() && registryAvailable() && cliBuilt();

/** A command of a README: the line, and whether the README says it fails. */
interface ReadmeCommand {
  line: string;
  fails: boolean;
}

/** The command lines of the ```sh blocks of a README. */
function readmeCommands(markdown: string): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  const blocks = markdown.matchAll(/```sh\n([\s\S]*?)```/g);
  for (const b of blocks) {
    for (const raw of b[1]!.split("\n")) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const hash = line.indexOf("  # ");
      const comment = hash >= 0 ? line.slice(hash + 4) : "";
      out.push({ line: hash >= 0 ? line.slice(0, hash).trim() : line, fails: /^fails\b/.test(comment) });
    }
  }
  return out;
}

/** Splits a README command line into words (single quotes group, as in a shell). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = "";
  let quoted = false;
  let inWord = false;
  for (const ch of line) {
    if (ch === "'") {
      quoted = !quoted;
      inWord = true;
    } else if (ch === " " && !quoted) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quoted) throw new Error(`unbalanced quote in: ${line}`);
  if (inWord) words.push(cur);
  return words;
}

describe.skipIf(!ready)("examples (Bazel 4.2.3, real registry)", () => {
  let tmp: Tmp;
  /** The repository copy everything runs in. */
  let root: string;
  let reg: Registry;
  let bazel: Bazel;
  let bin: string;
  let flag: string;
  const digests: Record<string, string> = {};

  /** `bazel <command> ... --//examples:registry=HOST ...` (the harness adds --config=bazel4). */
  const bz = (command: string, args: string[], timeoutMs = 600_000): Promise<BazelResult> => {
    const sep = args.indexOf("--");
    const before = sep >= 0 ? args.slice(0, sep) : args;
    const after = sep >= 0 ? args.slice(sep) : [];
    const opts = before.filter((a) => a !== "--config=bazel4");
    // `bazel fetch` takes no build options: fetch-time pulls get their mirror from WASM_OCI_MIRRORS.
    if (command === "fetch") return bazel.run(command, [...opts, ...after], { timeoutMs });
    if (!opts.some((a) => a.startsWith("--//examples:registry="))) opts.unshift(flag);
    return bazel.run(command, ["--symlink_prefix=/", ...opts, ...after], { timeoutMs });
  };

  const manifest = async (ref: string) => runCommand("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/${ref}`], { timeoutMs: 30_000 });

  beforeAll(async () => {
    tmp = await makeTmp("bazel-examples");
    root = await makeHermeticCopy(tmp.path("hermetic"));
    reg = await startRegistry();
    flag = `--//examples:registry=${reg.host}`;
    await mkdir(tmp.path("home"), { recursive: true });
    // Fetch-time pulls of localhost:5000 (WORKSPACE.bazel) are served by this registry as a mirror.
    bazel = makeBazel(root, tmp.path("bazel-root"), { HOME: tmp.path("home"), WASM_OCI_MIRRORS: `localhost:5000=${reg.host}` });
  }, 180_000);

  afterAll(async () => {
    await bazel?.shutdown();
    await reg?.stop();
    await tmp?.cleanup();
  }, 120_000);

  it("setup.mjs publishes the example services (reproducibly: the digests app_production pins)", async () => {
    const r = await runCommand(process.execPath, [join(root, "examples", "setup.mjs"), "--registry", reg.host, "--json"], {
      env: { ...process.env, ...(hermeticEnv(tmp.path("setup")) as Record<string, string>) },
      timeoutMs: 240_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { services: Array<{ name: string; digest: string }> };
    for (const s of doc.services) digests[s.name] = s.digest;
    const build = await readFile(join(root, "examples", "wac_oci_composition", "BUILD.bazel"), "utf8");
    expect(build).toContain(`auth-service@${digests["auth-service"]}`);
    expect(build).toContain(`signed-service@${digests["signed-service"]}`);
    // The fetch-time repositories pin the same digests.
    const workspace = await readFile(join(root, "WORKSPACE.bazel"), "utf8");
    const module = await readFile(join(root, "MODULE.bazel"), "utf8");
    for (const d of [digests["auth-service"]!, digests["signed-service"]!]) {
      expect(workspace).toContain(`digest = "${d}"`);
      expect(module).toContain(`digest = "${d}"`);
    }
  }, 260_000);

  it("bazel build //examples/... passes", async () => {
    const r = await bz("build", ["//examples/..."]);
    expect(r.code, r.stderr.slice(-8000)).toBe(0);
    bin = await bazel.info("bazel-bin");
    console.log(`[examples] bazel build //examples/...: ${JSON.stringify(processCounts(r.stderr))}`);
    // The override is visible: pulls of localhost:5000 went to the mirror.
    expect(r.stderr).toMatch(/trying mirror 127\.0\.0\.1:\d+\/wasm-examples\//);
  }, 620_000);

  it("bazel test //examples/...: every composed app answers", async () => {
    const r = await bz("test", ["//examples/..."]);
    const out = r.stdout + r.stderr;
    expect(r.code, out.slice(-8000)).toBe(0);
    for (const t of [
      "wac_oci_composition:auth_service_from_oci_test",
      "wac_oci_composition:basic_distributed_app_test",
      "wac_oci_composition:secure_distributed_app_test",
      "wac_oci_composition:ecommerce_app_test",
      "wac_oci_composition:iot_platform_test",
      "wac_oci_composition:enterprise_system_handle_test",
      "wac_oci_composition:enterprise_system_checkout_test",
      "wac_oci_composition:app_development_test",
      "wac_oci_composition:app_production_test",
      "wac_oci_composition:app_production_fetched_test",
      "oci_publishing:hello_component_test",
      "wasm_signing:signed_embedded_runs_test",
    ]) {
      expect(out).toMatch(new RegExp(`//examples/${t}\\s+(\\(cached\\) )?PASSED`));
    }
  }, 620_000);

  it("a wasm_component_test of an example fails when the answer differs (the tests can fail)", async () => {
    // The same target with a wrong expectation, through the command line only: no file is written.
    const wrong = await runCli(["run", join(bin, "examples", "wac_oci_composition", "basic_distributed_app.wasm"), "--invoke", 'handle("alice", "orders")', "--expect", '"token(bob) -> data(orders)"']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('"token(alice) -> data(orders)"');
  }, 120_000);

  it("app_production pulled exactly the pinned services and verified them", async () => {
    const meta = await readFile(join(bin, "examples", "wac_oci_composition", "app_production_oci", "auth.oci.json"), "utf8");
    expect(meta).toContain(digests["auth-service"]!);
    const verify = await runCli(["verify", "-i", join(bin, "examples", "wac_oci_composition", "app_production_oci", "auth.wasm"), "-K", join(root, "examples", "wac_oci_composition", "keys", "example.pk")]);
    expect(verify.code, verify.stderr).toBe(0);
  }, 120_000);

  /**
   * A manifest file of the examples that names the example port (examples/wassette_fetch) is used
   * through a copy with this test's registry, its relative paths made absolute.
   */
  const withTestRegistry = async (word: string): Promise<string> => {
    if (!/^examples\/.*\.ya?ml$/.test(word)) return word;
    const original = join(root, word);
    const text = await readFile(original, "utf8");
    if (!text.includes("127.0.0.1:5123")) return word;
    const copy = tmp.path("readme-manifests", word);
    await mkdir(dirname(copy), { recursive: true });
    await writeFile(copy, text.replaceAll("127.0.0.1:5123", reg.host).replace(/(public_key: )(\S+)/g, (_m, k: string, p: string) => `${k}${resolve(dirname(original), p)}`));
    return copy;
  };

  for (const pkg of ["", "wac_oci_composition", "oci_publishing", "wasm_signing", "wassette_fetch"]) {
    it(`every command of examples/${pkg ? `${pkg}/` : ""}README.md does what the README says`, async () => {
      const readme = await readFile(join(root, "examples", pkg, "README.md"), "utf8");
      const commands = readmeCommands(readme);
      expect(commands.length).toBeGreaterThan(0);
      for (const { line, fails } of commands) {
        // The README's example paths, port and bazel-bin symlink become this test's.
        bin ??= await bazel.info("bazel-bin");
        const words = shellWords(
          line.replaceAll("/tmp/", `${tmp.path("readme")}/`).replaceAll("127.0.0.1:5123", reg.host).replaceAll("bazel-bin/", `${bin}/`),
        );
        let r: { code: number; stdout: string; stderr: string };
        if (words[0] === "pnpm" && words[1] === "build") {
          // CI and `pnpm test` build before testing; rebuilding here would race other suites.
          expect(existsSync(join(root, "tools", "dist", "wasm-oci.mjs"))).toBe(true);
          continue;
        } else if (words[0] === "bazel") {
          r = await bz(words[1]!, words.slice(2));
        } else if (words[0] === "node" && words[1] === "examples/setup.mjs") {
          const args = words.slice(2);
          if (!args.includes("--registry")) args.push("--registry", reg.host);
          r = await runCommand(process.execPath, [join(root, "examples", "setup.mjs"), ...args], { timeoutMs: 240_000 });
        } else if (words[0] === "node" && words[1] === "tools/dist/wasm-oci.mjs") {
          await runCommand("mkdir", ["-p", tmp.path("readme")], { timeoutMs: 10_000 });
          const args = await Promise.all(words.slice(2).map(withTestRegistry));
          // The copy's own CLI, as the README runs it.
          const c = await runCommand(process.execPath, [join(root, "tools", "dist", "wasm-oci.mjs"), ...args], {
            cwd: root,
            env: { ...process.env, ...(hermeticEnv(tmp.path("readme-env")) as Record<string, string>) },
            timeoutMs: 120_000,
          });
          r = c;
        } else if (words[0] === "wkg" || words[0] === "wasmsign2") {
          // The reference tools a README uses to check our output (test oracles, .ci/tools); the
          // lines using them go together, so without both none of them runs (under CI=true: fails).
          if (oraclesMissing(["wkg", "wasmsign2"])) continue;
          r = await runCommand(oracle(words[0]), words.slice(1), {
            cwd: root,
            env: { ...process.env, ...(hermeticEnv(tmp.path("readme-env")) as Record<string, string>) },
            timeoutMs: 120_000,
          });
        } else {
          throw new Error(`README command the test does not know how to run: ${line}`);
        }
        if (fails) expect(r.code, `${line} must fail`).not.toBe(0);
        else expect(r.code, `${line}\n${r.stderr.slice(-6000)}`).toBe(0);
        if (fails) console.log(`[examples] expected failure: ${line}\n${r.stderr.split("\n").filter((l) => /ERROR|REFUSED|verif|denied/i.test(l)).slice(0, 4).join("\n")}`);
      }
    }, 1_500_000);
  }

  it("publish targets pushed what they built: annotations, signatures, tags, dry run", async () => {
    const d = (name: string) => readFile(join(bin, "examples", "oci_publishing", `${name}.digest`), "utf8").then((s) => s.trim());
    const unsigned = await manifest("wasm-examples/hello-oci:1.0.0");
    expect(unsigned.code, unsigned.stderr).toBe(0);
    expect(`sha256:${createHash("sha256").update(unsigned.stdout).digest("hex")}`).toBe(await d("hello_oci_unsigned_image"));
    const m = JSON.parse(unsigned.stdout) as { annotations: Record<string, string> };
    expect(m.annotations["org.opencontainers.image.description"]).toBe("Hello component published from Bazel");
    expect(m.annotations["com.wasm.component.security"]).toBe("unsigned");

    const signed = JSON.parse((await manifest("wasm-examples/hello-oci-signed:1.0.0")).stdout) as { annotations: Record<string, string> };
    expect(signed.annotations["com.wasm.component.security"]).toBe("signed");
    expect(signed.annotations["com.wasmsign2.signature.type"]).toBe("embedded");
    expect((await manifest("wasm-examples/hello-oci-signed:latest")).code).toBe(0);
    expect((await manifest("wasm-examples/hello-oci-complete:1.0.0")).code).toBe(0);

    // The signed image's component verifies with the key it was signed with.
    const out = tmp.path("pulled-signed.wasm");
    const pull = await runCli(["pull", `${reg.host}/wasm-examples/hello-oci-signed:1.0.0`, "-o", out, "--cache-dir", tmp.path("cache")], { env: hermeticEnv(tmp.path("pull")) });
    expect(pull.code, pull.stderr).toBe(0);
    const verify = await runCli(["verify", "-i", out, "-K", join(bin, "examples", "oci_publishing", "publishing_keys.pk")]);
    expect(verify.code, verify.stderr).toBe(0);

    // Both registry names of publish_to_all_registries reach this registry.
    expect((await manifest("hello-oci-everywhere:1.0.0")).code).toBe(0);
  }, 300_000);

  it("the strict policy refused the unsigned component: nothing pushed, a deny in the audit log", async () => {
    expect((await manifest("wasm-examples/hello-oci-strict-unsigned:1.0.0")).code).not.toBe(0);
    expect((await manifest("wasm-examples/hello-oci-strict:1.0.0")).code).toBe(0);
    expect((await manifest("wasm-examples/prod-hello-oci:1.0.0")).code).toBe(0);
    const audit = (await readFile(tmp.path("readme", "wasm-oci-audit.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { component: string; decision: string; registry: string });
    expect(audit.find((a) => a.component === "hello-oci-strict-unsigned")?.decision).toBe("deny");
    expect(audit.find((a) => a.component === "hello-oci-strict")?.decision).toBe("allow");
    expect(audit.filter((a) => a.component === "prod-hello-oci").map((a) => a.registry).sort()).toEqual(["backup", "local"]);
  });

  it("the tampered component failed verification and the error names it", async () => {
    const r = await bz("build", ["//examples/wasm_signing:verify_tampered"], 300_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/tampered/);
    expect(r.stderr).toMatch(/verif/i);
  }, 320_000);

  it("a malformed --//examples:registry fails analysis with a message naming the flag", async () => {
    const r = await bz("build", ["--//examples:registry=no-port-here", "//examples:mirrored_registries"], 120_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--//examples:registry=no-port-here: expected HOST:PORT");
  }, 140_000);

  it("the dry run pushed nothing", async () => {
    // publish_dry_run and publish_unsigned share an image; the dry run of README ran first,
    // so the only evidence is its output: the digest and no write. Run it again with a new tag.
    const r = await bz("run", ["//examples/oci_publishing:publish_dry_run", "--", "--tag", "dry-run-only"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await manifest("wasm-examples/hello-oci:dry-run-only")).code).not.toBe(0);
  }, 300_000);
});
