/**
 * `pnpm bench:oci`: push and pull a 1 MiB and a 100 MiB component against a local docker-registry,
 * with wasm-oci (`node tools/dist/wasm-oci.mjs`) and with `skopeo copy` (oci: layout <-> docker://),
 * alternately in the same run, several runs each; prints medians and ours/skopeo ratios.
 *
 * Fairness: both are timed as whole processes (as users run them). Every push goes to a FRESH
 * registry, so neither tool can skip or mount a blob it pushed in an earlier run (skopeo keeps a
 * blob-info cache that would let it mount across repositories). Every pull starts cold: wasm-oci
 * gets a fresh --cache-dir, skopeo a fresh oci: layout directory. The order of the two tools
 * alternates from run to run.
 *
 * Env: BENCH_RUNS (default 5), BENCH_SIZES_MIB (default "1,100"), BENCH_MAX_SECONDS (default 600:
 * stops starting new runs after that and reports what it has).
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cpus, loadavg } from "node:os";
import { startRegistry, registryAvailable, type Registry } from "../../test/helpers/registry.ts";
import { makeTmp } from "../../test/helpers/tmp.ts";
import { paddedComponent } from "../../test/helpers/wasm-fixtures.ts";
import { writeRawLayout } from "../../test/helpers/oci-layout.ts";
import { CLI_PATH, hermeticEnv } from "../../test/helpers/cli.ts";
import { median, mustSucceed, printTable, timeCommand, type Row, type Timed } from "./lib/stats.ts";
import { ORACLE_BIN } from "../../test/helpers/oracles.ts";

const runs = Number(process.env["BENCH_RUNS"] ?? 5);
const sizes = (process.env["BENCH_SIZES_MIB"] ?? "1,100").split(",").map(Number);
const maxSeconds = Number(process.env["BENCH_MAX_SECONDS"] ?? 600);
const SKOPEO = "/usr/bin/skopeo";
// oras (installed by .ci/tools) as a second reference, when present.
const ORAS = join(ORACLE_BIN, "oras");

async function main(): Promise<void> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} missing: run pnpm build first (pnpm bench:oci does)`);
  if (!registryAvailable()) throw new Error("docker-registry missing: apt-get install -y docker-registry (or .ci/setup)");
  if (!existsSync(SKOPEO)) throw new Error("skopeo missing: apt-get install -y skopeo (or .ci/setup)");
  const tmp = await makeTmp("bench-oci");
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(hermeticEnv(tmp.dir))) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const deadline = Date.now() + maxSeconds * 1000;
  const rows: Row[] = [];
  let pullRegistry: Registry | undefined;
  let seq = 0;
  const ours = (args: string[]): Promise<Timed> => timeCommand(process.execPath, [CLI_PATH, ...args], { env, cpu: true });
  const skopeo = (args: string[]): Promise<Timed> => timeCommand(SKOPEO, ["--insecure-policy", ...args], { env, cpu: true });
  const haveOras = existsSync(ORAS);
  const oras = (args: string[]): Promise<Timed> => timeCommand(ORAS, args, { env, cpu: true });
  const cpuRows: Row[] = [];
  /** Records wall time in `row` and CPU time in its twin in cpuRows. */
  const record = (row: Row, side: "ours" | "reference", t: Timed): void => {
    row[side].push(t.ms);
    let twin = cpuRows.find((r) => r.name === `${row.name}, CPU user+sys`);
    if (twin === undefined) {
      twin = { name: `${row.name}, CPU user+sys`, ours: [], reference: [], referenceName: row.referenceName };
      cpuRows.push(twin);
    }
    if (t.cpuMs !== undefined) twin[side].push(t.cpuMs);
  };

  try {
    process.stderr.write(`bench:oci: ${runs} runs per case, sizes ${sizes.join(", ")} MiB, wasm-oci ${CLI_PATH} vs ${SKOPEO}\n`);
    for (const mib of sizes) {
      const wasm = await paddedComponent(mib, `bench-${mib}`);
      const wasmPath = join(tmp.dir, `app-${mib}.wasm`);
      await writeFile(wasmPath, wasm);
      // skopeo's source: an OCI layout with the same wasm layer.
      const layout = join(tmp.dir, `layout-${mib}`);
      await writeRawLayout(layout, "v1", wasm, { title: `app-${mib}.wasm` });

      // Content to pull, pushed once (not timed).
      pullRegistry = await startRegistry();
      const seeded = mustSucceed("seed push", await ours(["push", wasmPath, `${pullRegistry.host}/bench/pull:v1`, "--json"]));
      const pullDigest = /sha256:[a-f0-9]{64}/.exec(seeded.stdout)?.[0];
      if (pullDigest === undefined) throw new Error(`seed push printed no digest: ${seeded.stdout}`);

      const push: Row = { name: `push ${mib} MiB (ours from .wasm)`, ours: [], reference: [], referenceName: "skopeo", bytes: wasm.length };
      const pushLayout: Row = { name: `push ${mib} MiB (both from the same oci: layout)`, ours: [], reference: [], referenceName: "skopeo", bytes: wasm.length };
      const pull: Row = { name: `pull ${mib} MiB`, ours: [], reference: [], referenceName: "skopeo", bytes: wasm.length };
      // Against oras: ours measured in the same rotation (the same samples as the skopeo rows).
      const pushOras: Row = { name: `push ${mib} MiB (ours from .wasm; oras push of the same file)`, ours: push.ours, reference: [], referenceName: "oras", bytes: wasm.length };
      const pullOras: Row = { name: `pull ${mib} MiB (oras pull)`, ours: pull.ours, reference: [], referenceName: "oras", bytes: wasm.length };
      for (let i = 0; i < runs; i++) {
        if (Date.now() > deadline) {
          process.stderr.write(`bench:oci: time budget of ${maxSeconds} s reached; stopping after ${i} runs of ${mib} MiB\n`);
          break;
        }
        const tools = haveOras ? (["ours", "skopeo", "oras"] as const) : (["ours", "skopeo"] as const);
        const order = [...tools.slice(i % tools.length), ...tools.slice(0, i % tools.length)];
        for (const tool of order) {
          // Push: a fresh registry, so nothing is skipped or mounted. skopeo's one push is both
          // rows' reference; ours pushes the .wasm (packaging it: reading, hashing) and, as a
          // second case, the very layout skopeo reads.
          const reg = await startRegistry();
          try {
            if (tool === "ours") {
              record(push, "ours", mustSucceed("wasm-oci push", await ours(["push", wasmPath, `${reg.host}/bench/push:v1`])));
              record(pushLayout, "ours", mustSucceed("wasm-oci push layout", await ours(["push", `oci-layout:${layout}:v1`, `${reg.host}/bench/push-layout:v1`])));
            } else if (tool === "oras") {
              const t = mustSucceed("oras push", await oras(["push", "--plain-http", "--disable-path-validation", `${reg.host}/bench/push:v1`, `${wasmPath}:application/wasm`]));
              record(pushOras, "reference", t);
            } else {
              const t = mustSucceed("skopeo push", await skopeo(["copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${reg.host}/bench/push:v1`]));
              record(push, "reference", t);
              record(pushLayout, "reference", t);
            }
          } finally {
            await reg.stop();
          }
          // Pull: cold every time.
          const n = ++seq;
          if (tool === "ours") {
            const cache = join(tmp.dir, `cache-${n}`);
            const out = join(tmp.dir, `pulled-${n}.wasm`);
            record(pull, "ours", mustSucceed("wasm-oci pull", await ours(["pull", `${pullRegistry.host}/bench/pull@${pullDigest}`, "-o", out, "--cache-dir", cache])));
            await rm(cache, { recursive: true, force: true });
            await rm(out, { force: true });
          } else if (tool === "oras") {
            const dir = join(tmp.dir, `oras-${n}`);
            await mkdir(dir);
            record(pullOras, "reference", mustSucceed("oras pull", await oras(["pull", "--plain-http", `${pullRegistry.host}/bench/pull@${pullDigest}`, "-o", dir])));
            // oras skips layers without a title annotation: make sure it really fetched the bytes.
            if ((await readdir(dir)).length === 0) throw new Error("oras pull wrote no file (layer without a title?)");
            await rm(dir, { recursive: true, force: true });
          } else {
            const dir = join(tmp.dir, `skopeo-${n}`);
            await mkdir(dir);
            record(pull, "reference", mustSucceed("skopeo pull", await skopeo(["copy", "--quiet", "--src-tls-verify=false", `docker://${pullRegistry.host}/bench/pull@${pullDigest}`, `oci:${dir}:v1`])));
            await rm(dir, { recursive: true, force: true });
          }
        }
        process.stderr.write(`  ${mib} MiB run ${i + 1}/${runs} done\n`);
      }
      rows.push(push, pushLayout, pull, ...(haveOras ? [pushOras, pullOras] : []));
      // The oras rows' CPU twins share ours' samples with the skopeo rows' twins.
      for (const [orasRow, base] of [[pushOras, push], [pullOras, pull]] as const) {
        const twin = cpuRows.find((r) => r.name === `${orasRow.name}, CPU user+sys`);
        const baseTwin = cpuRows.find((r) => r.name === `${base.name}, CPU user+sys`);
        if (twin !== undefined && baseTwin !== undefined) twin.ours = baseTwin.ours;
      }
      await pullRegistry.stop();
      pullRegistry = undefined;
    }
    // The floor no Node.js CLI can go under: the runtime starting and exiting with no code.
    const floor: number[] = [];
    for (let i = 0; i < Math.max(runs, 5); i++) floor.push(mustSucceed("node -e 0", await timeCommand(process.execPath, ["-e", "0"], { env })).ms);
    const skopeoVersion: number[] = [];
    for (let i = 0; i < Math.max(runs, 5); i++) skopeoVersion.push(mustSucceed("skopeo --version", await timeCommand(SKOPEO, ["--version"], { env })).ms);
    process.stdout.write(`\nwall time (load average ${loadavg()[0]?.toFixed(1) ?? "?"} on ${cpus().length} cores):\n`);
    printTable(rows);
    if (cpuRows.some((r) => r.ours.length > 0)) {
      process.stdout.write("\nCPU time of the client process (user + system; the registry is a separate process):\n");
      printTable(cpuRows, undefined, { rates: false });
    }
    process.stdout.write(
      `\nstart-up floors: node -e 0 ${Math.round(median(floor))} ms; skopeo --version ${Math.round(median(skopeoVersion))} ms (medians of ${floor.length})\n`,
    );
    process.stdout.write("\nours = node tools/dist/wasm-oci.mjs push|pull; reference = skopeo copy (oci: layout <-> docker://); whole-process wall time, cold, local docker-registry.\n");
  } finally {
    await pullRegistry?.stop();
    await tmp.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:oci failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
