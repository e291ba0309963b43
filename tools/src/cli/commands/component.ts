import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { buildComponent, type StringEncoding } from "../../build/component-from-wat.ts";
import { loadWitSources } from "../../build/wit-source.ts";
import { writeFileAtomic } from "../../util/atomic-write.ts";
import { sha256Digest } from "../../util/digest.ts";
import { UsageError } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import { printResult } from "../output.ts";

/**
 * `wasm-oci component new`: a component from source without a language toolchain, i.e. a core
 * module written in WAT (canonical ABI by hand) plus the WIT world it implements.
 */

interface NewOptions {
  wat: string;
  wit: string[];
  world: string;
  output: string;
  stringEncoding: StringEncoding;
  printWit?: boolean;
  json?: boolean;
}

const ENCODINGS: readonly StringEncoding[] = ["utf8", "utf16", "compact-utf16"];

export function register(program: Command): void {
  const component = program.command("component").description("build components from source");
  component
    .command("new")
    .description("build a component from a core module (WAT or binary) and the WIT world it implements; the result is validated")
    .requiredOption("--wat <file>", "core module: WAT text (.wat) or a binary core module (.wasm), with canonical-ABI exports (`iface#fn`, `memory`, `cabi_realloc`)")
    .requiredOption("--wit <path>", "WIT package: a .wit file or a directory of .wit files; repeatable, all files form one package", (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .requiredOption("--world <name>", "the world of the WIT package that the module implements")
    .requiredOption("-o, --output <file>", "component to write (atomically)")
    .option("--string-encoding <enc>", "string encoding of the core module: utf8, utf16 or compact-utf16", "utf8")
    .option("--print-wit", "also print the WIT of the built component (decoded from the binary)")
    .option("--json", "print one JSON document {output, size, digest, world, wit}")
    .action(async (opts: NewOptions) => {
      if (!ENCODINGS.includes(opts.stringEncoding)) {
        throw new UsageError(`--string-encoding ${opts.stringEncoding}: expected one of ${ENCODINGS.join(", ")}`, "BAD_STRING_ENCODING");
      }
      let core: Uint8Array;
      try {
        core = await readFile(opts.wat);
      } catch (e) {
        throw new UsageError(`--wat ${opts.wat}: cannot read it (${(e as Error).message})`, "WAT_UNREADABLE");
      }
      const wit = await loadWitSources(opts.wit);
      const built = await buildComponent({
        core,
        coreName: opts.wat,
        witSource: wit.text,
        witName: wit.files.length === 1 ? wit.files[0]! : opts.wit.join(", "),
        world: opts.world,
        stringEncoding: opts.stringEncoding,
      });
      await writeFileAtomic(opts.output, built.bytes);
      const digest = sha256Digest(built.bytes);
      log.info(`built ${opts.output} from ${opts.wat} (world ${opts.world})`);
      printResult(opts.json, { output: opts.output, size: built.bytes.length, digest, world: opts.world, wit: built.wit }, () =>
        [`${opts.output} ${built.bytes.length} bytes ${digest}`, ...(opts.printWit ? [built.wit] : [])],
      );
    });
}
