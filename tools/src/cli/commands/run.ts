import type { Command } from "commander";
import { UsageError, WasmOciError } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import { printResult } from "../output.ts";
import { parseInvoke } from "../../run/invoke-expr.ts";
import { canonicalJson } from "../../run/json-value.ts";
import { runComponent } from "../../run/run-component.ts";

interface RunOptions {
  invoke: string;
  expect?: string;
  json?: boolean;
  componentOutput?: string;
  env: string[];
}

/** `--env NAME=VALUE` entries into the component's environment (names as wasmtime accepts them). */
function parseEnv(entries: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new UsageError(`--env ${JSON.stringify(entry)}: expected NAME=VALUE`, "INVALID_ENV");
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

export function register(program: Command): void {
  program
    .command("run")
    .description("call an exported function of a component (transpiled with jco) and print the result as JSON")
    .argument("<component>", "component .wasm file")
    .requiredOption("--invoke <call>", 'call expression: fn(1, "x"), iface.fn(...), or ns:pkg/iface@1.0.0#fn(...); arguments are JSON')
    .option("--expect <json>", "expected result (JSON); exit 1 with a diff when the result differs")
    .option("--json", "print one JSON document {invoke, result, expected?, ok}")
    .option("--env <NAME=VALUE>", "set a variable in the component's environment (repeatable); nothing else of ours is passed", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--component-output <file>", "append the component's own stdout and stderr to this file (default: our stderr; never stdout)")
    .action(async (component: string, opts: RunOptions) => {
      const expr = parseInvoke(opts.invoke);
      let expected: unknown;
      if (opts.expect !== undefined) {
        try {
          expected = JSON.parse(opts.expect);
        } catch (e) {
          throw new UsageError(`--expect: not valid JSON: ${(e as Error).message}`, "INVALID_EXPECT");
        }
      }
      const env = parseEnv(opts.env);
      const result = await runComponent(component, expr, { env, ...(opts.componentOutput !== undefined ? { componentOutput: opts.componentOutput } : {}) });
      const ok = opts.expect === undefined || canonicalJson(result) === canonicalJson(expected);
      printResult(opts.json, { invoke: opts.invoke, result, ...(opts.expect !== undefined ? { expected } : {}), ok }, () => JSON.stringify(result));
      if (!ok) {
        log.error(`${opts.invoke} returned an unexpected result\n  expected: ${canonicalJson(expected)}\n  actual:   ${canonicalJson(result)}`);
        throw new WasmOciError("UNEXPECTED_RESULT", `${component}: ${opts.invoke} did not return the expected value`);
      }
    });
}
