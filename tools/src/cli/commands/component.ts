import type { Command } from "commander";

// Placeholder: the owner of this command family replaces this file with its commands.
export function register(_program: Command): void {}
