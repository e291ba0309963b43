/**
 * The two composers and the checks run on their outputs, as processes: ours is the built CLI
 * (`wasm-oci compose|plug|run`), the reference is `wac`, and the judges are `wasm-tools` and
 * `wasmtime` (test/helpers/oracles.ts). Every call is bounded and never goes through a shell.
 */
import { readFile, rm } from "node:fs/promises";
import { CLI_PATH, runCli } from "../../helpers/cli.ts";
import { oracle } from "../../helpers/oracles.ts";
import { runCommand } from "../../helpers/processes.ts";

/** What one composer did with one input: the output bytes, or why it refused. */
export type Outcome = { ok: true; bytes: Uint8Array } | { ok: false; error: string };

/** `compose` or `plug` arguments without `-o`: the same flags mean the same thing in both tools. */
export type ComposeArgs = { command: "compose" | "plug"; args: string[] };

async function collect(code: number, stderr: string, out: string): Promise<Outcome> {
  if (code !== 0) return { ok: false, error: lastLines(stderr) };
  const bytes = await readFile(out);
  await rm(out, { force: true });
  return { ok: true, bytes };
}

function lastLines(text: string, n = 4): string {
  return text.trim().split("\n").slice(-n).join("\n");
}

export async function composeOurs(c: ComposeArgs, out: string): Promise<Outcome> {
  const r = await runCli([c.command, ...c.args, "-o", out], { timeoutMs: 120_000 });
  return collect(r.code, r.stderr, out);
}

export async function composeWac(c: ComposeArgs, out: string): Promise<Outcome> {
  const r = await runCommand(oracle("wac"), [c.command, ...c.args, "-o", out], { timeoutMs: 120_000 });
  return collect(r.code, r.stderr, out);
}

/** `wasm-tools validate` (default features): undefined when valid, else its message. */
export async function validate(path: string): Promise<string | undefined> {
  const r = await runCommand(oracle("wasm-tools"), ["validate", path], { timeoutMs: 60_000 });
  return r.code === 0 ? undefined : lastLines(r.stderr);
}

/** `wasm-tools component wit`: the WIT text, or the error (a valid component may have no WIT reading). */
export async function witOf(path: string): Promise<{ wit?: string; error?: string }> {
  const r = await runCommand(oracle("wasm-tools"), ["component", "wit", path], { timeoutMs: 60_000 });
  return r.code === 0 ? { wit: r.stdout } : { error: lastLines(r.stderr).replace(/\(at offset 0x[0-9a-f]+\)/g, "") };
}

/**
 * Our invoke syntax (`ns:pkg/iface@1.0.0#fn(args)`, arguments JSON) in wasmtime's: the item name
 * `ns:pkg/iface.fn@1.0.0` and WAVE arguments (JSON strings and numbers are valid WAVE).
 */
export function wasmtimeInvoke(invoke: string): string {
  const open = invoke.indexOf("(");
  const target = invoke.slice(0, open);
  const hash = target.lastIndexOf("#");
  if (hash < 0) return invoke;
  const iface = target.slice(0, hash);
  const fn = target.slice(hash + 1);
  const at = iface.lastIndexOf("@");
  const item = at > 0 ? `${iface.slice(0, at)}.${fn}${iface.slice(at)}` : `${iface}.${fn}`;
  return item + invoke.slice(open);
}

/** A WAVE result as printed by `wasmtime run --invoke` (strings, numbers, booleans) as a JSON value. */
export function fromWave(text: string): unknown {
  const t = text.trim();
  if (t === "true" || t === "false") return t === "true";
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t.startsWith('"')) {
    // WAVE escapes a unicode scalar as \u{..}; JSON wants \uXXXX pairs.
    return JSON.parse(t.replace(/\\u\{([0-9a-fA-F]+)\}/g, (_m, h: string) => JSON.stringify(String.fromCodePoint(parseInt(h, 16))).slice(1, -1)).replace(/\\'/g, "'"));
  }
  return t;
}

export type Answer = { ok: true; value: unknown } | { ok: false; error: string };

/** `wasmtime run --invoke`, compiled without optimisation: the answers are the point, and large components compile several times faster. */
export async function runWasmtime(path: string, invoke: string): Promise<Answer> {
  const r = await runCommand(oracle("wasmtime"), ["run", "-O", "opt-level=0", "--invoke", wasmtimeInvoke(invoke), path], { timeoutMs: 300_000 });
  if (r.code !== 0) return { ok: false, error: lastLines(r.stderr) };
  return { ok: true, value: fromWave(r.stdout) };
}

/** jco: `wasm-oci run` transpiles the component and calls the export (under `node`, default this Node). */
export async function runJco(path: string, invoke: string, node?: string): Promise<Answer> {
  const args = ["run", path, "--invoke", invoke];
  const r = node === undefined ? await runCli(args, { timeoutMs: 180_000 }) : await runCommand(node, [CLI_PATH, ...args], { timeoutMs: 180_000 });
  if (r.code !== 0) return { ok: false, error: lastLines(r.stderr) };
  return { ok: true, value: JSON.parse(r.stdout) as unknown };
}
