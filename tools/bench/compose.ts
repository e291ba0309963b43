/**
 * `pnpm bench:compose`: composes 10 components totalling about 100 MiB (each a jco-built
 * component that imports an interface and exports two items, padded with a pseudo-random
 * custom section) with `wasm-oci compose` (a .wac file instantiating all ten, their shared
 * import merged into one), and copies the same inputs with `cat a b ... > out` in the same run,
 * alternating who goes first. Goal: compose <= 1.5 x copy + 150 ms.
 *
 * Cases: the CLI process without validation, the CLI process with validation (wasm-tools in
 * jco, in a worker), and the in-process encoder (read + encode + write, no Node start-up).
 * `BENCH_RUNS` (default 5) and `BENCH_SIZE_MIB` (default 100) change the workload.
 */
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { median, mustSucceed, printTable, timeCommand, type Row } from "./lib/stats.ts";
import { paddedComponent } from "../../test/helpers/wasm-fixtures.ts";
import { CompositionGraph } from "../src/compose/graph.ts";
import { packageFromFile } from "../src/component/package.ts";
import { readComponentFile } from "../src/component/skeleton.ts";
import { encodeGraphChunks } from "../src/compose/encoder.ts";
import { writeChunksAtomic } from "../src/compose/chunks.ts";
import { existsSync } from "node:fs";
import { ORACLE_BIN } from "../../test/helpers/oracles.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TOTAL_MIB = Number(process.env.BENCH_SIZE_MIB ?? 100);
const COUNT = 10;
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = join(root, "tools", "dist", "wasm-oci.mjs");
const names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];

async function inProcess(paths: string[], out: string): Promise<number> {
  const t0 = performance.now();
  const graph = new CompositionGraph();
  // As the CLI does without validation: large inputs read as skeletons, copied from their files.
  paths.forEach((p, i) => {
    const id = graph.registerPackage(packageFromFile(`bench:${names[i]}`, undefined, readComponentFile(p, { elideModules: true }), graph.types));
    const inst = graph.instantiate(id);
    graph.export(graph.aliasInstanceExport(inst, "test:demo/greeter@0.1.0"), `greeter-${names[i]}`);
  });
  await writeChunksAtomic(out, encodeGraphChunks(graph, {}));
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "wasm-oci-bench-compose-"));
  try {
    const deps = join(dir, "deps", "bench");
    await mkdir(deps, { recursive: true });
    const paths: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const p = join(deps, `${names[i]}.wasm`);
      await writeFile(p, await paddedComponent(TOTAL_MIB / COUNT, `bench-compose-${i}`));
      paths.push(p);
    }
    const totalBytes = (TOTAL_MIB / COUNT) * COUNT * 1024 * 1024;
    const wac = join(dir, "bench.wac");
    await writeFile(wac, [
      "package bench:app;",
      ...names.map((n) => `let ${n} = new bench:${n} { ... };`),
      ...names.map((n) => `export ${n}["test:demo/greeter@0.1.0"] as greeter-${n};`),
      "",
    ].join("\n"));
    const out = join(dir, "out.wasm");
    const catCmd = `cat ${paths.map((p) => `'${p}'`).join(" ")} > '${join(dir, "cat.wasm")}'`;
    const composeArgs = (validate: boolean): string[] => [cli, "compose", wac, "--deps-dir", join(dir, "deps"), "-o", out, ...(validate ? [] : ["--no-validate"])];

    // Warm-up (page cache, first jco load), and a check that the output is what we think.
    mustSucceed("wasm-oci compose", await timeCommand(process.execPath, composeArgs(true), { timeoutMs: 300_000 }));
    mustSucceed("cat", await timeCommand("sh", ["-c", catCmd]));

    const rows: Record<string, Row> = {
      cli: { name: `compose ${COUNT} components, ${TOTAL_MIB} MiB (CLI, --no-validate)`, ours: [], reference: [], referenceName: "cat", bytes: totalBytes },
      cliValidate: { name: `compose ${COUNT} components, ${TOTAL_MIB} MiB (CLI, validated)`, ours: [], reference: [], referenceName: "cat", bytes: totalBytes },
      api: { name: `compose ${COUNT} components, ${TOTAL_MIB} MiB (in-process encode)`, ours: [], reference: [], referenceName: "cat", bytes: totalBytes },
    };
    const cpuRows: Record<"cli" | "cliValidate", Row> = {
      cli: { name: `compose ${COUNT} components, ${TOTAL_MIB} MiB (CLI, --no-validate)`, ours: [], reference: [], referenceName: "cat" },
      cliValidate: { name: `compose ${COUNT} components, ${TOTAL_MIB} MiB (CLI, validated)`, ours: [], reference: [], referenceName: "cat" },
    };
    // `wac compose` (the reference implementation, when .ci/tools installed it) on the same
    // document and inputs; it validates by default, as our validated case does.
    const wacBin = existsSync(join(ORACLE_BIN, "wac")) ? join(ORACLE_BIN, "wac") : undefined;
    const wacRows = {
      wall: { name: `compose ${COUNT} components, ${TOTAL_MIB} MiB (CLI, validated)`, ours: [] as number[], reference: [] as number[], referenceName: "wac compose", bytes: totalBytes },
      cpu: { name: `compose ${COUNT} components, ${TOTAL_MIB} MiB (CLI, validated), CPU`, ours: [] as number[], reference: [] as number[], referenceName: "wac compose" },
    };
    const timeCli = async (key: "cli" | "cliValidate", validate: boolean): Promise<void> => {
      const t = mustSucceed("compose", await timeCommand(process.execPath, composeArgs(validate), { timeoutMs: 300_000, cpu: true }));
      rows[key]!.ours.push(t.ms);
      if (t.cpuMs !== undefined) cpuRows[key].ours.push(t.cpuMs);
      if (key === "cliValidate" && wacBin !== undefined) {
        const w = mustSucceed("wac compose", await timeCommand(wacBin, ["compose", wac, "--deps-dir", join(dir, "deps"), "-o", join(dir, "wac.wasm")], { timeoutMs: 300_000, cpu: true }));
        wacRows.wall.ours.push(t.ms);
        wacRows.wall.reference.push(w.ms);
        if (t.cpuMs !== undefined && w.cpuMs !== undefined) {
          wacRows.cpu.ours.push(t.cpuMs);
          wacRows.cpu.reference.push(w.cpuMs);
        }
      }
    };
    for (let run = 0; run < RUNS; run++) {
      const cat = async (row: Row): Promise<void> => {
        const t = mustSucceed("cat", await timeCommand("sh", ["-c", catCmd], { cpu: true }));
        row.reference.push(t.ms);
        const cpuRow = row === rows.cli ? cpuRows.cli : row === rows.cliValidate ? cpuRows.cliValidate : undefined;
        if (cpuRow !== undefined && t.cpuMs !== undefined) cpuRow.reference.push(t.cpuMs);
      };
      const steps: Array<() => Promise<void>> = [
        () => timeCli("cli", false),
        () => timeCli("cliValidate", true),
        async () => { rows.api!.ours.push(await inProcess(paths, out)); },
      ];
      for (const [i, key] of (["cli", "cliValidate", "api"] as const).entries()) {
        if (run % 2 === 0) { await steps[i]!(); await cat(rows[key]!); } else { await cat(rows[key]!); await steps[i]!(); }
      }
    }
    printTable(Object.values(rows));
    if (cpuRows.cli.ours.length > 0) {
      process.stdout.write("\nCPU time (user + system):\n\n");
      printTable(Object.values(cpuRows), undefined, { rates: false });
    }
    if (wacBin !== undefined) {
      process.stdout.write(`\nagainst ${wacBin} compose (same document and inputs, right after ours in each run):\n\n`);
      printTable([wacRows.wall]);
      if (wacRows.cpu.ours.length > 0) printTable([wacRows.cpu], undefined, { rates: false });
    } else process.stdout.write("\nwac not installed (pnpm tools): no reference row\n");
    process.stdout.write("\ngoal: compose <= 1.5 x copy + 150 ms\n");
    for (const r of Object.values(rows)) {
      const limit = 1.5 * median(r.reference) + 150;
      const m = median(r.ours);
      process.stdout.write(`${r.name}: ${Math.round(m)} ms vs limit ${Math.round(limit)} ms -> ${m <= limit ? "met" : "NOT met"}\n`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
