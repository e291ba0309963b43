import type { Command } from "commander";

/**
 * Each command module exports register(program). Modules are listed with the top-level command
 * names they register, so the entry point loads only the module a command line names: loading
 * every family costs ~70 ms of start-up, which dominates small transfers.
 */
export type Register = (program: Command) => void;

export interface CommandModule {
  readonly names: readonly string[];
  readonly load: () => Promise<{ register: Register }>;
}

export const commandModules: readonly CommandModule[] = [
  { names: ["pull"], load: () => import("./pull.ts") },
  { names: ["push"], load: () => import("./push.ts") },
  { names: ["image"], load: () => import("./image.ts") },
  { names: ["fetch"], load: () => import("./fetch.ts") },
  { names: ["config"], load: () => import("./config.ts") },
  { names: ["keygen", "sign", "verify", "verify_matrix", "detach", "attach", "split", "show"], load: () => import("./sign.ts") },
  { names: ["policy"], load: () => import("./policy.ts") },
  { names: ["compose"], load: () => import("./compose.ts") },
  { names: ["plug"], load: () => import("./plug.ts") },
  { names: ["wac"], load: () => import("./wac.ts") },
  { names: ["run"], load: () => import("./run.ts") },
  { names: ["component"], load: () => import("./component.ts") },
];

/** The modules to load for argv (without node and script): the named command's, or all of them. */
export function modulesFor(args: readonly string[]): readonly CommandModule[] {
  const first = args.find((a) => !a.startsWith("-"));
  const hit = first === undefined ? undefined : commandModules.find((m) => m.names.includes(first));
  return hit === undefined ? commandModules : [hit];
}
