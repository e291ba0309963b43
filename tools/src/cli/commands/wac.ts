import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { printResult } from "../output.ts";
import { UsageError, WasmOciError } from "../../util/errors.ts";
import { writeFileAtomic } from "../../util/atomic-write.ts";
import { log } from "../../util/log.ts";
import { parseDepFlag } from "./compose.ts";
import type { GenComponent } from "../../wac/generate.ts";

/**
 * `wasm-oci wac generate`: writes the WAC document `wac_compose_with_oci` composes when the user
 * gives no `composition`. Starlark cannot read component binaries, so the wiring is computed here
 * from each component's real import and export names (rules: tools/src/wac/generate.ts).
 */

async function readComponentNames(pkg: string, path: string): Promise<GenComponent> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UsageError(`--dep ${pkg}=${path}: cannot read ${path}: ${(e as Error).message}`, "WAC_GENERATE_INPUT_UNREADABLE");
  }
  if (path.endsWith(".wat") && !(bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d)) {
    const tools = await (await import("../../util/wasm-tools.ts")).wasmTools();
    try {
      bytes = await tools.parse(Buffer.from(bytes).toString("utf8"));
    } catch (e) {
      throw new WasmOciError("INVALID_WAT", `--dep ${pkg}=${path}: ${(e as Error).message}`, { cause: e });
    }
  }
  const { readWasmNames } = await import("../../component/names.ts");
  const names = readWasmNames(bytes, `--dep ${pkg}=${path}`);
  if (names.kind !== "component") throw new WasmOciError("NOT_A_COMPONENT", `--dep ${pkg}=${path} is a core module, not a component: only components can be composed`);
  return { pkg, imports: names.imports, exports: names.exports };
}

function parseProvider(value: string, previous: Map<string, string> | undefined): Map<string, string> {
  // Component-model names never contain `=`; package names neither, so the last `=` splits.
  const eq = value.lastIndexOf("=");
  if (eq <= 0 || eq === value.length - 1) throw new UsageError(`--provider ${JSON.stringify(value)}: expected IMPORT=PKG, e.g. --provider wasi:logging/log=oci:logger`, "BAD_FLAGS");
  const out = new Map(previous ?? []);
  const name = value.slice(0, eq);
  if (out.has(name)) throw new UsageError(`--provider ${JSON.stringify(value)}: ${name} was given more than once`, "BAD_FLAGS");
  out.set(name, value.slice(eq + 1));
  return out;
}

const PACKAGE_NAME = /^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*(:[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*)+(@[0-9A-Za-z.+-]+)?$/;

interface GenerateFlags {
  package: string;
  dep?: Map<string, string>;
  socket?: string;
  provider?: Map<string, string>;
  output?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const wac = program.command("wac").description("WAC documents: generate a composition that wires components by name");
  wac
    .command("generate")
    .description("write a WAC document that instantiates every --dep component and wires imports to exports of the same name (like `wac plug`)")
    .requiredOption("--package <ns:name>", "package line of the document")
    .option("-d, --dep <PKG=PATH>", "a component (.wasm or .wat) and its package name; repeatable, order breaks ties", (v: string, prev: Map<string, string> | undefined) => parseDepFlag(v, prev ?? new Map()))
    .option("--socket <PKG>", "export only this component's exports (default: every component no other one consumes)")
    .option("--provider <IMPORT=PKG>", "where several components export IMPORT, satisfy it from PKG; repeatable", parseProvider)
    .option("-o, --output <OUT>", "output file (written atomically); default stdout")
    .option("--json", "print a JSON summary (output, order, wiring, imported, sockets) on stdout; requires -o")
    .action(async (o: GenerateFlags) => {
      if (o.json && o.output === undefined) throw new UsageError("--json needs -o/--output: stdout cannot carry both the document and the summary", "BAD_FLAGS");
      if (!PACKAGE_NAME.test(o.package)) throw new UsageError(`--package ${JSON.stringify(o.package)}: expected ns:name in kebab case (e.g. example:app)`, "BAD_FLAGS");
      const deps = [...(o.dep ?? new Map<string, string>())];
      if (deps.length === 0) throw new UsageError("give the components with --dep PKG=PATH (at least one)", "BAD_FLAGS");
      const components = await Promise.all(deps.map(([pkg, path]) => readComponentNames(pkg, path)));
      const { generateComposition } = await import("../../wac/generate.ts");
      const g = generateComposition(components, {
        packageName: o.package,
        ...(o.socket !== undefined ? { socket: o.socket } : {}),
        ...(o.provider !== undefined ? { providers: o.provider } : {}),
      });
      for (const w of g.wiring) log.info(`${w.consumer} imports ${w.import} from ${w.provider}`);
      for (const i of g.imported) log.info(`${i.consumer} imports ${i.import} from the composition (no component exports it)`);
      if (o.output === undefined) {
        process.stdout.write(g.text);
        return;
      }
      await writeFileAtomic(o.output, g.text);
      printResult(o.json, { output: o.output, package: o.package, order: g.order, wiring: g.wiring, imported: g.imported, sockets: g.sockets }, () =>
        `${o.output}: ${g.order.length} components, ${g.wiring.length} imports wired, ${g.imported.length} left as imports, exports of ${g.sockets.join(", ")}`,
      );
    });
}
