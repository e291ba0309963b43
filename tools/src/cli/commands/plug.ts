import type { Command } from "commander";
import { printResult } from "../output.ts";
import { UsageError, WasmOciError } from "../../util/errors.ts";
import { writeFileAtomic } from "../../util/atomic-write.ts";
import { createHash } from "node:crypto";
import { chunksLength, concatChunks, writeChunksAtomic, writeChunksTo, type Chunk } from "../../compose/chunks.ts";
import type { PlugInput } from "../../compose/plug.ts";
import { log } from "../../util/log.ts";

/**
 * `wasm-oci plug`: the `wac plug` command. Plugs' exports satisfy the socket's imports of
 * the same name; the socket's exports are exported from the result.
 */

/** Large inputs are read as skeletons and copied from their files into the output (component/skeleton.ts). */
async function readInput(path: string, what: string, validate: boolean): Promise<PlugInput> {
  const { readComponentFile } = await import("../../component/skeleton.ts");
  try {
    const file = readComponentFile(path, { elideModules: !validate });
    return file.source === undefined ? { label: path, bytes: file.bytes } : { label: path, bytes: file.bytes, source: file.source };
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`, "PLUG_INPUT_UNREADABLE");
  }
}

export function register(program: Command): void {
  program
    .command("plug")
    .description("plug the exports of components into the matching imports of a socket component (compatible with `wac plug`)")
    .argument("<socket>", "the socket component (.wasm)")
    .requiredOption("-p, --plug <PLUG...>", "a plug component (.wasm); repeatable")
    .option("--no-validate", "do not validate the composed component with wasm-tools")
    .option("-t, --wat", "write the WebAssembly text format instead of the binary")
    .option("-o, --output <OUT>", "output file (written atomically); default stdout")
    .option("--json", "print a JSON summary (output, size, digest, plugged imports) on stdout; requires -o")
    .action(async (socket: string, o: { plug: string[]; validate: boolean; wat?: boolean; output?: string; json?: boolean }) => {
      if (o.json && o.output === undefined) throw new UsageError("--json needs -o/--output: stdout cannot carry both the component and the summary", "BAD_FLAGS");
      if (o.output === undefined && !o.wat && process.stdout.isTTY) {
        throw new UsageError("refusing to write a binary component to a terminal: use -o OUT or -t/--wat", "BAD_FLAGS");
      }
      const { plug } = await import("../../compose/plug.ts");
      // wasm-tools loads on another thread while this one reads and encodes.
      if (o.validate) (await import("../../compose/validate.ts")).prestartValidator();
      const socketInput = await readInput(socket, "socket", o.validate);
      const plugs = await Promise.all(o.plug.map((p) => readInput(p, "plug", o.validate)));
      const result = await plug(socketInput, plugs, { validate: o.validate });
      for (const p of result.plugged) {
        if (p.imports.length === 0) log.warn(`plug ${p.label} matched no import of ${socket}`);
      }
      let data: string | Chunk[] = result.chunks;
      if (o.wat) {
        const tools = await (await import("../../util/wasm-tools.ts")).wasmTools();
        try {
          data = await tools.print(concatChunks(result.chunks));
        } catch (e) {
          throw new WasmOciError("WAT_PRINT_FAILED", `failed to print the plugged component as WAT: ${(e as Error).message}`, { cause: e });
        }
      }
      if (o.output === undefined) {
        await writeChunksTo(process.stdout, typeof data === "string" ? [Buffer.from(data)] : data);
        return;
      }
      // Hash only when the digest is asked for, and while writing: the inputs are read once.
      const hash = o.json ? createHash("sha256") : undefined;
      if (typeof data === "string") {
        await writeFileAtomic(o.output, data);
        hash?.update(data);
      } else await writeChunksAtomic(o.output, data, hash === undefined ? undefined : (p) => hash.update(p));
      const size = typeof data === "string" ? Buffer.byteLength(data) : chunksLength(data);
      log.info(`plugged ${o.plug.join(", ")} into ${socket} -> ${o.output} (${size} bytes)`);
      if (hash !== undefined) {
        printResult(true, { output: o.output, size, digest: `sha256:${hash.digest("hex")}`, plugged: result.plugged }, () => []);
      }
    });
}
