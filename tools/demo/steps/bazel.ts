/**
 * Build the example compositions with Bazel (Debian's 4.2.3, `--config=bazel4`), as a user would
 * in this checkout, but with the demo's own output root (under its work dir), no convenience
 * symlinks, and `--//examples:registry` pointing at the registry the demo started. The Bazel
 * server is shut down at the end (and killed by its pid if shutdown does not stop it).
 *
 * Without Bazel the step says so and composes the featured app with the CLI instead, so the demo
 * still ends with an answer; without docker-registry Bazel builds only app_development, the
 * composition that needs no registry.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "node:net";
import { createInterface } from "node:readline";
import { BAZEL, bazelAvailable } from "../../../test/bazel/harness.ts";
import { killGroup, runCommand, spawnTracked } from "../../../test/helpers/processes.ts";
import { componentTests } from "../component-tests.ts";
import { shellLine, type DemoContext, type DemoStep } from "../context.ts";

const PACKAGE = "examples/wac_oci_composition";

/** Bazel's lines worth showing while it builds: what it composes, pulls and verifies. */
function shown(line: string): string | undefined {
  if (/^(ERROR|FAILED)\b/.test(line)) return line;
  const from = /^INFO: From ((?:Building component|Verifying the signature|Composing|Generating the WAC) .*?):?$/.exec(line);
  if (from) return from[1];
  const policy = /^policy \S+: ((?:allow|deny) .*)$/.exec(line);
  if (policy) return `policy: ${policy[1] ?? ""}`;
  if (/^INFO: (Analyzed|Elapsed time|\d+ process)/.test(line)) return line.slice("INFO: ".length);
  return undefined;
}

/** Environment of every bazel command: the demo's HOME, and the real node before node_modules/.bin (which holds bazelisk named `bazel`). */
function bazelEnv(ctx: DemoContext): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(ctx.env)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  env["PATH"] = (env["PATH"] ?? "").split(":").filter((p) => !p.includes("node_modules")).join(":");
  return env;
}

/** Whether something accepts connections on localhost:5000, where the example BUILD files pull from first. */
async function port5000Taken(): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: 5000 });
    const done = (taken: boolean): void => {
      socket.destroy();
      resolve(taken);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Kills the Bazel servers of this output root that `bazel shutdown` left running (by their pid files). */
async function killLeftoverServers(outputUserRoot: string): Promise<number> {
  let killed = 0;
  for (const base of await readdir(outputUserRoot).catch(() => [] as string[])) {
    const pidFile = join(outputUserRoot, base, "server", "server.pid.txt");
    const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0) continue;
    // Only a process whose command line names this output root is ours.
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes(outputUserRoot)) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed++;
    } catch {
      // Already gone.
    }
  }
  return killed;
}

/** Runs bazel, printing the interesting lines of its progress as they come; rejects on failure. */
async function streamBazel(ctx: DemoContext, startup: string[], command: string, args: string[], timeoutMs: number): Promise<string> {
  process.stdout.write(`   $ ${shellLine("bazel", [command, ...args])}\n`);
  const child = spawnTracked(BAZEL, [...startup, command, ...args], { cwd: ctx.repoRoot, env: bazelEnv(ctx), stdio: ["ignore", "pipe", "pipe"] });
  const tail: string[] = [];
  let mirrorShown = false;
  let last: string | undefined;
  const lines = createInterface({ input: child.stderr! });
  lines.on("line", (line) => {
    tail.push(line);
    if (tail.length > 60) tail.shift();
    const m = /trying mirror (\S+?)\/wasm-examples\//.exec(line);
    if (m && !mirrorShown) {
      mirrorShown = true;
      ctx.say(`bazel: nothing listens on localhost:5000, so pulls use the mirror ${m[1] ?? ""} (--//examples:registry)`);
    }
    const s = shown(line);
    // Bazel repeats some lines (the final FAILED line, for one).
    if (s !== undefined && s !== last) ctx.say(`bazel: ${s}`);
    last = s ?? last;
  });
  let stdout = "";
  child.stdout!.on("data", (b: Buffer) => (stdout += b.toString("utf8")));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void killGroup(child, 2_000);
  }, timeoutMs);
  const code = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (c) => resolve(c ?? 1));
  });
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`bazel ${command} exited ${code}${timedOut ? ` (stopped after ${timeoutMs / 1000} s)` : ""}:\n${tail.filter((l) => !/linux-sandbox/.test(l)).slice(-25).join("\n")}`);
  }
  return stdout;
}

/** Without Bazel: the featured composition with the CLI, as the Bazel rule's actions do it. */
async function composeWithCli(ctx: DemoContext): Promise<void> {
  const target = ctx.target;
  const auth = ctx.services.find((s) => s.name === "auth-service");
  const data = ctx.services.find((s) => s.name === "signed-service");
  if (target === undefined || auth === undefined || data === undefined) throw new Error("the services were not published");
  const dir = join(ctx.workDir, "compose");
  const src = join(ctx.repoRoot, PACKAGE);
  const frontend = join(dir, "frontend.wasm");
  await mkdir(dir, { recursive: true });
  await ctx.cli(["component", "new", "--wat", join(src, "src", "frontend.wat"), "--wit", join(src, "wit"), "--world", "frontend", "-o", frontend]);
  const deps: string[] = [];
  for (const [key, s] of [["auth", auth], ["data", data]] as const) {
    const out = join(dir, `${key}.wasm`);
    await ctx.cli(["pull", target.pullRef(`wasm-examples/${s.name}`, s.digest), "-o", out, "--cache-dir", join(ctx.workDir, "cache")]);
    await ctx.cli(["verify", "-i", out, "-K", join(src, "keys", "example.pk")]);
    deps.push("--dep", `oci:${key}=${out}`);
  }
  // FRONTEND_APP of examples/wac_oci_composition/BUILD.bazel, as secure_distributed_app uses it.
  const wac = join(dir, "secure_distributed_app.wac");
  await writeFile(
    wac,
    "package wasm-examples:frontend-app;\n\nlet auth = new oci:auth {};\nlet data = new oci:data {};\nlet frontend = new local:frontend { ...auth, ...data };\n\nexport frontend.handle;\n",
  );
  const app = join(dir, "secure_distributed_app.wasm");
  await ctx.cli(["compose", wac, ...deps, "--dep", `local:frontend=${frontend}`, "-o", app]);
  ctx.apps.push({ name: "secure_distributed_app", wasm: app });
  ctx.builtWith = "wasm-oci compose (Bazel not installed)";
}

export const bazelSteps: DemoStep[] = [
  {
    title: "Build the example compositions with Bazel",
    async run(ctx) {
      if (!bazelAvailable()) {
        ctx.say(`Bazel 4.2.3 is not installed (${BAZEL}, /usr/share/bazel/rules/java, /usr/share/bazel/platforms), so the Bazel build is SKIPPED.`);
        ctx.say("To get it: sudo apt-get install -y bazel-bootstrap bazel-rules-java bazel-platforms (or bash .ci/setup);");
        ctx.say("with network, npx @bazel/bazelisk runs the Bazel named in .bazelversion.");
        ctx.say("Composing secure_distributed_app with the CLI instead (the same actions the Bazel rule runs):");
        ctx.summary("bazel: SKIPPED (not installed); secure_distributed_app composed with wasm-oci compose");
        await composeWithCli(ctx);
        return;
      }
      const target = ctx.target;
      if (target === undefined) throw new Error("no registry: the registry step did not run");
      const outputUserRoot = join(ctx.workDir, "bazel-root");
      // --max_idle_secs: a demo killed with SIGKILL must not leave a server behind for long.
      const startup = [`--output_user_root=${outputUserRoot}`, "--max_idle_secs=300"];
      ctx.onCleanup(async () => {
        // Let the exit hook of test/helpers/processes.ts kill a running client first (Ctrl-C).
        await new Promise((r) => setTimeout(r, 0));
        await runCommand(BAZEL, [...startup, "shutdown"], { cwd: ctx.repoRoot, env: bazelEnv(ctx), timeoutMs: 60_000 }).catch(() => undefined);
        const killed = await killLeftoverServers(outputUserRoot);
        ctx.say(`stopped the Bazel server (bazel shutdown, output root ${outputUserRoot})${killed > 0 ? `; killed ${killed} server(s) shutdown left running` : ""}`);
      });
      ctx.say(`Bazel: ${BAZEL} with --config=bazel4, output root ${outputUserRoot}`);
      const common = ["--config=bazel4"];
      let patterns: string[];
      if (target.kind === "docker-registry" && target.host !== undefined) {
        common.push(`--//examples:registry=${target.host}`);
        // Fetch-time pulls (app_production_fetched) of localhost:5000 use the demo's registry as a mirror.
        ctx.env["WASM_OCI_MIRRORS"] = `localhost:5000=${target.host}`;
        if (await port5000Taken()) {
          ctx.say("note: something listens on localhost:5000. The examples pull from it first and use this demo's registry");
          ctx.say("only as a mirror when it lacks a service (examples/README.md, \"Another registry port\").");
        }
        patterns = [`//${PACKAGE}/...`];
      } else {
        ctx.say("Bazel pulls from a registry, and none runs here: building app_development (local mock services) only.");
        patterns = [`//${PACKAGE}:app_development`];
      }
      const t0 = performance.now();
      await streamBazel(ctx, startup, "build", [...common, "--symlink_prefix=/", ...patterns], 360_000);
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      const infoOut = await streamBazel(ctx, startup, "info", [...common, "bazel-bin"], 60_000);
      const bin = join(infoOut.trim(), PACKAGE);
      ctx.alias(infoOut.trim(), "bazel-bin");
      // The components the package's wasm_component_tests call: the apps the run step calls the same way.
      const tests = componentTests(await readFile(join(ctx.repoRoot, PACKAGE, "BUILD.bazel"), "utf8"));
      for (const name of new Set(tests.map((t) => t.component))) {
        const wasm = join(bin, `${name}.wasm`);
        if (existsSync(wasm)) ctx.apps.push({ name, wasm });
      }
      ctx.builtWith = "Bazel 4.2.3";
      ctx.say(`built ${ctx.apps.length} tested components in ${bin}: ${ctx.apps.map((a) => a.name).join(", ")}`);
      ctx.summary(`bazel build ${patterns.join(" ")}: ${seconds} s, ${ctx.apps.length} tested components`);
      if (target.kind === "oci-layout") {
        // The composition of signed services too, with the CLI pulling from the layout.
        ctx.say("Composing secure_distributed_app with the CLI from the layout (the same actions the Bazel rule runs):");
        await composeWithCli(ctx);
        ctx.builtWith = "Bazel 4.2.3 (app_development) and wasm-oci compose (secure_distributed_app)";
      }
    },
  },
];
