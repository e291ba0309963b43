/**
 * The reference tools the differential tests run as oracles (wac, wasm-tools, wasmsign2, wkg,
 * wasmtime, oras, crane, regctl, cue), installed by `.ci/tools` (`pnpm tools`) into
 * `~/.cache/rules_wasm_oci/tools/bin`. Never used by the CLI or the rules.
 *
 *   import { oracle, oraclesMissing } from "../helpers/oracles.ts";
 *   const missing = oraclesMissing(["wac", "wasm-tools"]);
 *   describe.skipIf(missing)("compose vs wac", () => { const wac = oracle("wac"); ... });
 *
 * Under CI=true a missing oracle is a failure, not a skip: `oraclesMissing` throws there.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** `node22`, `node24`: the Node LTS binaries the CLI is tested under (test/integration/node-lts.test.ts, `pnpm test:node-lts`). */
/** `cue` is there for `cue mod registry`, the registry with the referrers API (referrers-registry.ts).
 * `bgd` is BuildGrid's, the remote-execution service of the Bazel remote tests (remote-execution.ts). */
export type OracleName = "wac" | "wasm-tools" | "wasmsign2" | "wkg" | "wasmtime" | "oras" | "crane" | "regctl" | "cue" | "componentize-py" | "componentize-js" | "node22" | "node24" | "bgd";

export const ORACLE_BIN = join(
  process.env["WASM_OCI_TOOLS_CACHE"] ?? join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "rules_wasm_oci", "tools"),
  "bin",
);

/** Absolute path of an installed oracle; throws if it is not installed. */
export function oracle(name: OracleName): string {
  const path = join(ORACLE_BIN, name);
  if (!existsSync(path)) throw new Error(`oracle ${name} is not installed in ${ORACLE_BIN}: run \`pnpm tools\``);
  return path;
}

/**
 * For `describe.skipIf(...)`: false when every named oracle is installed. On a developer's machine a
 * missing one gives true (the suite is skipped, and says which); under CI=true it throws, so the
 * suite fails instead of passing without having run.
 */
export function oraclesMissing(names: OracleName[]): boolean {
  const missing = names.filter((n) => !existsSync(join(ORACLE_BIN, n)));
  if (missing.length === 0) return false;
  const message = `oracles not installed in ${ORACLE_BIN}: ${missing.join(", ")} (run \`pnpm tools\`)`;
  if (process.env["CI"] === "true") throw new Error(message);
  console.warn(`skipping: ${message}`);
  return true;
}
