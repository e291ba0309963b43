import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { printResult } from "../output.ts";
import { UsageError, WasmOciError } from "../../util/errors.ts";
import { writeFileAtomic } from "../../util/atomic-write.ts";
import { createHash } from "node:crypto";
import { writeChunksAtomic } from "../../compose/encoder.ts";
import { log } from "../../util/log.ts";

/**
 * `wasm-oci plug`: the `wac plug` command. Plugs' exports satisfy the socket's imports of
 * the same name; the socket's exports are exported from the result.
 */

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
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
      const socketBytes = await readInput(socket, "socket");
      const plugs = await Promise.all(o.plug.map(async (p) => ({ label: p, bytes: await readInput(p, "plug") })));
      const result = await plug({ label: socket, bytes: socketBytes }, plugs, { validate: o.validate });
      for (const p of result.plugged) {
        if (p.imports.length === 0) log.warn(`plug ${p.label} matched no import of ${socket}`);
      }
      let data: string | Uint8Array[] = result.chunks;
      if (o.wat) {
        const tools = await import("@bytecodealliance/jco-transpile/wasm-tools");
        try {
          data = await tools.print(result.bytes);
        } catch (e) {
          throw new WasmOciError("WAT_PRINT_FAILED", `failed to print the plugged component as WAT: ${(e as Error).message}`, { cause: e });
        }
      }
      if (o.output === undefined) {
        const pieces = typeof data === "string" ? [data] : data;
        for (const piece of pieces) await new Promise<void>((resolve, reject) => process.stdout.write(piece, (e) => (e ? reject(e) : resolve())));
        return;
      }
      if (typeof data === "string") await writeFileAtomic(o.output, data);
      else await writeChunksAtomic(o.output, data);
      const size = typeof data === "string" ? Buffer.byteLength(data) : data.reduce((n, c) => n + c.length, 0);
      log.info(`plugged ${o.plug.join(", ")} into ${socket} -> ${o.output} (${size} bytes)`);
      if (o.json) {
        // Hash only when the digest is asked for: it is a full pass over the output.
        const hash = createHash("sha256");
        for (const piece of typeof data === "string" ? [data] : data) hash.update(piece);
        printResult(true, { output: o.output, size, digest: `sha256:${hash.digest("hex")}`, plugged: result.plugged }, () => []);
      }
    });
}
