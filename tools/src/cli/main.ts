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

/** Logs a command's failure the one way the CLI reports them; its exit code. */
export function reportFailure(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
    return 2;
  }
  if (e instanceof WasmOciError) {
    log.error(`${e.message} [${e.code}]`);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const errno = (err as NodeJS.ErrnoException).code;
  if (typeof errno === "string" && /^E[A-Z]+$/.test(errno) && (err as NodeJS.ErrnoException).syscall !== undefined) {
    // A file-system failure no command turned into a typed error: the message names the path;
    // a stack trace would tell the user nothing more.
    log.error(`${redact(err.message)} [${errno === "ENOSPC" || errno === "EDQUOT" ? "DISK_FULL" : "IO_ERROR"}]`);
    return 1;
  }
  log.error(redact(err.stack ?? err.message));
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv.slice(2));
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    return reportFailure(e);
  }
}

/**
 * The process entry: a persistent worker with `--persistent_worker` (Bazel adds it), else one
 * command; `@FILE` arguments and action options (cli/action.ts) only load their module when used.
 */
async function entry(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  if (args.includes("--persistent_worker")) {
    const { runPersistentWorker } = await import("../worker/persistent-worker.ts");
    return runPersistentWorker(args.filter((a) => a !== "--persistent_worker"));
  }
  if (!args.some((a) => a.startsWith("@") || a === "--stdout-file" || a === "--copy-on-success" || a === "--exit-code-file")) return main(argv);
  const { runOneShotAction } = await import("../worker/run-request.ts");
  return runOneShotAction(args);
}

const isEntry = process.argv[1] !== undefined && /wasm-oci(\.mjs)?$|main\.ts$/.test(process.argv[1]);
if (isEntry) {
  entry(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`fatal: ${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
