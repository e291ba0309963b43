import type { Command } from "commander";

/**
 * Each command module exports register(program). Add new commands to this list; keeping one
 * line per module avoids edits to the entry point.
 */
export type Register = (program: Command) => void;

export const commandModules: Array<() => Promise<{ register: Register }>> = [
];
