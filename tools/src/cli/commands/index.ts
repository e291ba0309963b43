import type { Command } from "commander";

/**
 * Each command module exports register(program). One line per module keeps the entry point
 * untouched when commands are added.
 */
export type Register = (program: Command) => void;

export const commandModules: Array<() => Promise<{ register: Register }>> = [
  () => import("./pull.ts"),
  () => import("./push.ts"),
  () => import("./image.ts"),
  () => import("./config.ts"),
  () => import("./sign.ts"),
  () => import("./policy.ts"),
  () => import("./compose.ts"),
  () => import("./plug.ts"),
  () => import("./run.ts"),
  () => import("./component.ts"),
];
