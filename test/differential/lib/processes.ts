/**
 * Running the two sides of an OCI differential case with one environment: the built CLI and a
 * reference client must see the same hermetic variables (test/helpers/cli.ts `hermeticEnv`).
 */
import { expect } from "vitest";
import { runCli } from "../../helpers/cli.ts";

/** The process environment with `overrides` applied; an undefined value removes the variable. */
export function withOverrides(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  return e;
}

/** `wasm-oci ARGS` that must succeed; the failure message carries the command and its stderr. */
export async function cliOk(args: string[], env: Record<string, string | undefined>): Promise<Awaited<ReturnType<typeof runCli>>> {
  const r = await runCli(args, { env });
  expect(r.code, `wasm-oci ${args.join(" ")}\n${r.stderr}`).toBe(0);
  return r;
}
