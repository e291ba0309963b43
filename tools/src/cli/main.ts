import { Command, CommanderError } from "commander";
import { modulesFor } from "./commands/index.ts";
import { WasmOciError } from "../util/errors.ts";
import { log, redact, setLogLevel } from "../util/log.ts";

export const VERSION = "0.1.0";

/** argv is the user's arguments (without node and script); only the module they name is loaded. */
export async function buildProgram(args: readonly string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name("wasm-oci")
    .description("Pull, compose, sign, verify and publish WebAssembly components with OCI registries")
    .version(VERSION)
    .option("-v, --verbose", "log every registry request (credentials redacted)")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .hook("preAction", (cmd) => {
      if (cmd.opts()["verbose"]) setLogLevel("debug");
    });
  for (const m of modulesFor(args)) (await m.load()).register(program);
  // Subcommands inherit exit override and error output.
  for (const sub of program.commands) sub.exitOverride().showHelpAfterError();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv.slice(2));
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return 2;
    }
    if (e instanceof WasmOciError) {
      log.error(`${e.message} [${e.code}]`);
      return e.exitCode;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    log.error(redact(err.stack ?? err.message));
    return 1;
  }
}

const isEntry = process.argv[1] !== undefined && /wasm-oci(\.mjs)?$|main\.ts$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`fatal: ${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
