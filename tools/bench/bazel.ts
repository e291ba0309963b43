/**
 * `pnpm bench:bazel`: a generated workspace of N compositions (default 50), each signed and its
 * signature verified, built clean twice in the same run with the same Bazel server: once with the
 * wasm-oci persistent worker (the default) and once with one process per action
 * (`--strategy=<Mnemonic>=sandboxed` for every mnemonic, as docs/rules.md tells users). Prints
 * wall time, actions and how they ran, and per mnemonic the median action time (Bazel's profile),
 * the median in-process time of the same command (the worker log) and their difference, the
 * per-action overhead. Goals: overhead <= 10 ms with the worker; worker build >= 4 x faster.
 *
 * Env: BENCH_COMPOSITIONS (default 50), BENCH_RUNS (default 1: pairs of clean builds, alternating
 * which goes first).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadavg } from "node:os";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { bazelAvailable, makeBazel, makeWorkspace, processCounts } from "../../test/bazel/harness.ts";
import { cliBuilt } from "../../test/helpers/cli.ts";
import { makeTmp } from "../../test/helpers/tmp.ts";
import { median } from "./lib/stats.ts";

const N = Number(process.env["BENCH_COMPOSITIONS"] ?? 50);
const RUNS = Number(process.env["BENCH_RUNS"] ?? 1);
const MNEMONICS = ["WacCompose", "WasmSign", "WasmVerify", "WasmKeygen"] as const;
const COMMAND_OF: Record<string, string> = { compose: "WacCompose", sign: "WasmSign", verify: "WasmVerify", keygen: "WasmKeygen" };
const NO_WORKER = MNEMONICS.map((m) => `--strategy=${m}=sandboxed`);

const mathWat = (i: number): string => `(component
  (core module $m (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add i32.const ${i} i32.add))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (instance $ops (export "add" (func $add)))
  (export "test:math/ops" (instance $ops)))`;
const frontendWat = (i: number): string => `(component
  (import "test:math/ops" (instance $ops (export "add" (func (param "a" u32) (param "b" u32) (result u32)))))
  (alias export $ops "add" (func $add))
  (core func $add_low (canon lower (func $add)))
  (core module $m
    (import "ops" "add" (func $add (param i32 i32) (result i32)))
    (func (export "compute") (param i32) (result i32) local.get 0 i32.const ${10 + i} call $add))
  (core instance $imports (export "add" (func $add_low)))
  (core instance $i (instantiate $m (with "ops" (instance $imports))))
  (func $compute (param "x" u32) (result u32) (canon lift (core func $i "compute")))
  (export "compute" (func $compute)))`;

function buildFile(): string {
  return `load("@rules_wasm_oci//wasm:defs.bzl", "wac_compose_with_oci", "wasm_keygen", "wasm_sign", "wasm_verify")

WAC = """package bench:app%d;
let math = new local:math {};
let frontend = new local:frontend { "test:math/ops": math["test:math/ops"] };
export frontend.compute;
"""

wasm_keygen(name = "keys")

[wac_compose_with_oci(
    name = "app%d" % i,
    composition = WAC % i,
    local_components = {"frontend": "frontend%d.wasm" % i, "math": "math%d.wasm" % i},
) for i in range(${N})]

[wasm_sign(name = "app%d_signed" % i, component = ":app%d" % i, keys = ":keys") for i in range(${N})]

[wasm_verify(name = "app%d_verified" % i, signed_component = ":app%d_signed" % i, keys = ":keys") for i in range(${N})]
`;
}

interface TraceEvent {
  cat?: string;
  name?: string;
  dur?: number;
}

/**
 * Bazel 4.2.3 names an "action processing" event by the action's progress message (or, without
 * one, by mnemonic and output): the progress messages of the rules, by mnemonic.
 */
const PROGRESS: readonly [RegExp, string][] = [
  [/^Composing /, "WacCompose"],
  [/^Signing /, "WasmSign"],
  [/^Verifying the signature /, "WasmVerify"],
  [/^Generating a wasmsign2 key pair /, "WasmKeygen"],
  [/^(\w+) /, "$1"],
];

function mnemonicOf(name: string): string {
  for (const [rx, m] of PROGRESS) {
    const hit = rx.exec(name);
    if (hit) return m === "$1" ? hit[1]! : m;
  }
  return name;
}

/** Action durations (ms) by mnemonic from a Bazel JSON trace profile ("action processing" events). */
async function actionTimes(profile: string): Promise<Map<string, number[]>> {
  const raw = JSON.parse(await readFile(profile, "utf8")) as { traceEvents?: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(raw) ? raw : (raw.traceEvents ?? []);
  const out = new Map<string, number[]>();
  for (const e of events) {
    if (e.cat !== "action processing" || e.name === undefined || e.dur === undefined) continue;
    const mnemonic = mnemonicOf(e.name);
    out.set(mnemonic, [...(out.get(mnemonic) ?? []), e.dur / 1000]);
  }
  return out;
}

/** In-process times (ms) by mnemonic from the worker logs: `request N (CMD): exit C in X ms`. */
async function workerTimes(outputBase: string): Promise<Map<string, number[]>> {
  const dir = join(outputBase, "bazel-workers");
  const out = new Map<string, number[]>();
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (!f.endsWith(".log")) continue;
    for (const m of (await readFile(join(dir, f), "utf8")).matchAll(/request \d+ \(([\w-]+)\): exit 0 in ([\d.]+) ms/g)) {
      const mnemonic = COMMAND_OF[m[1]!];
      if (mnemonic !== undefined) out.set(mnemonic, [...(out.get(mnemonic) ?? []), Number(m[2])]);
    }
  }
  return out;
}

function load(): string {
  return loadavg().map((l) => l.toFixed(2)).join(", ");
}

interface BuildResult {
  label: string;
  wallMs: number;
  elapsed: string;
  counts: Record<string, number>;
  actions: Map<string, number[]>;
  load: string;
}

async function main(): Promise<void> {
  if (!bazelAvailable()) {
    process.stdout.write("bench:bazel skipped: Debian's bazel 4.2.3 is not installed (facts.md section 6)\n");
    return;
  }
  if (!cliBuilt()) throw new Error("tools/dist/wasm-oci.mjs is missing: run pnpm build");
  const tmp = await makeTmp("bench-bazel");
  try {
    const files: Record<string, string | Uint8Array> = { "BUILD.bazel": buildFile() };
    for (let i = 0; i < N; i++) {
      files[`math${i}.wasm`] = await parse(mathWat(i));
      files[`frontend${i}.wasm`] = await parse(frontendWat(i));
    }
    const ws = await makeWorkspace(tmp.dir, files, []);
    const bazel = makeBazel(ws, join(tmp.dir, "root"), {});
    const outputBase = join(tmp.dir, "base");
    const opts = { outputBase, timeoutMs: 1_800_000 };
    try {
      // Loading and analysis once, so both builds measure execution the same way.
      const warm = await bazel.run("build", ["--nobuild", "//:all"], opts);
      if (warm.code !== 0) throw new Error(`bazel build --nobuild failed:\n${warm.stderr.slice(-3000)}`);
      const results: BuildResult[] = [];
      let inProcess = new Map<string, number[]>();
      for (let run = 0; run < RUNS; run++) {
        const order = run % 2 === 0 ? ["worker", "one process per action"] : ["one process per action", "worker"];
        for (const label of order) {
          await bazel.run("clean", [], opts);
          const profile = join(tmp.dir, `profile-${run}-${label === "worker" ? "worker" : "oneshot"}.json`);
          const flags = ["//:all", `--profile=${profile}`, ...(label === "worker" ? [] : NO_WORKER)];
          const before = load();
          const t0 = performance.now();
          const r = await bazel.run("build", flags, opts);
          const wallMs = performance.now() - t0;
          if (r.code !== 0) throw new Error(`${label} build failed:\n${r.stderr.slice(-3000)}`);
          results.push({
            label,
            wallMs,
            elapsed: /Elapsed time: ([\d.]+s, Critical Path: [\d.]+s)/.exec(r.stderr)?.[1] ?? "?",
            counts: processCounts(r.stderr),
            actions: await actionTimes(profile),
            load: `${before} -> ${load()}`,
          });
          // The worker log of this server so far: the clean build's requests are its last N lines
          // per mnemonic, but every request is the same work, so all of them serve as samples.
          if (label === "worker") inProcess = await workerTimes(outputBase);
        }
      }
      const out = (l: string): void => void process.stdout.write(`${l}\n`);
      out(`\n${N} compositions, each signed and verified (${N * 3 + 1} actions); bazel 4.2.3, ${new Date().toISOString()}\n`);
      out("| build | wall (bazel build) | Bazel elapsed, critical path | processes | load (1, 5, 15 min) before -> after |");
      out("| --- | --- | --- | --- | --- |");
      for (const r of results) {
        const kinds = Object.entries(r.counts).filter(([k]) => k !== "total").map(([k, v]) => `${v} ${k}`).join(", ");
        out(`| ${r.label} | ${(r.wallMs / 1000).toFixed(1)} s | ${r.elapsed} | ${r.counts["total"] ?? "?"} (${kinds}) | ${r.load} |`);
      }
      const worker = results.filter((r) => r.label === "worker");
      const oneshot = results.filter((r) => r.label !== "worker");
      const ratio = median(oneshot.map((r) => r.wallMs)) / median(worker.map((r) => r.wallMs));
      out(`\nclean build, one process per action / worker: ${ratio.toFixed(2)} x (goal >= 4)\n`);
      out("| mnemonic | in-process (worker log, median) | action, worker (median) | overhead, worker | action, one process (median) | overhead, one process |");
      out("| --- | --- | --- | --- | --- | --- |");
      for (const m of MNEMONICS) {
        const work = median(inProcess.get(m) ?? []);
        const w = median(worker.flatMap((r) => r.actions.get(m) ?? []));
        const o = median(oneshot.flatMap((r) => r.actions.get(m) ?? []));
        const f = (x: number): string => (Number.isNaN(x) ? "-" : `${x.toFixed(1)} ms`);
        out(`| ${m} | ${f(work)} | ${f(w)} | ${f(w - work)} | ${f(o)} | ${f(o - work)} |`);
      }
      out("\noverhead = action time in Bazel's profile minus the in-process time of the same command (goal with the worker: <= 10 ms)");
    } finally {
      await bazel.shutdown(outputBase);
    }
  } finally {
    await tmp.cleanup();
  }
}

await main();
